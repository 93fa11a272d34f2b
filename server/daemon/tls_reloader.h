// File: server/daemon/tls_reloader.h
//
// Loads the TLS listeners' files and takes renewed ones while evbusd
// serves. At start, LoadListenerKeyPair reads and checks a listener's
// chain and key (refusing what its TLS server would refuse later) and
// warns about what clients will refuse. Afterwards the TlsReloader looks
// at the files every second (Check, from the daemon's one-second tick) and
// on SIGHUP (Check with force): files that changed, and then stayed as
// they are for a second (a copy in progress is not read half-written), are
// read and checked as at start; a pair that passes is handed to its
// listener (new connections present it), one that does not is logged and
// the listener keeps serving the one it has. A certificate replaced by
// cert-manager, certbot or a Kubernetes secret is thus taken within about
// two seconds, without a restart.
//
// Metrics: evbus_tls_certificate_expiry_timestamp_seconds{listener} (the
// leaf certificate's notAfter, Unix seconds: alert on it) and
// evbus_tls_reloads_total{listener,result} (result "ok" or "refused").
//
// Thread safety: Add before the first Check; Check from one thread at a
// time.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/tls_files.h"
#include "server/metrics/registry.h"

namespace evbus::daemon {

// A listener's certificate chain and key, checked as its TLS server will
// (gRPC and cpp-httplib refuse a pair OpenSSL will not present only when
// they start listening, after the store is open), with warnings for a key
// others may read and for certificates that are not valid now or will not
// be in 30 days. InvalidArgument naming the field of the file at fault.
absl::StatusOr<common::TlsKeyPair> LoadListenerKeyPair(
    const std::string& cert_path, absl::string_view cert_field,
    const std::string& key_path, absl::string_view key_field);

// CA certificates that client certificates must chain to, checked with
// common::CheckTrustedCertificates. InvalidArgument naming `field`.
absl::StatusOr<std::string> LoadClientCa(const std::string& path,
                                         absl::string_view field);

// What identifies a file's content without reading it: an inode, its
// size and its change times (a replaced file or symlink has another inode;
// one rewritten in place, other times). A file that cannot be stat'ed has
// its errno.
struct FileStamp {
  int error = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  static FileStamp Of(const std::string& path);
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

class TlsReloader {
 public:
  struct Listener {
    // "grpc" or "http": the metrics' label and, capitalised, the log's.
    std::string name;
    std::string cert_path;
    std::string cert_field;  // the setting's name, for messages
    std::string key_path;
    std::string key_field;
    // Client CAs (mutual TLS), when the listener has them.
    std::string client_ca_path;
    std::string client_ca_field;
    // Hand the listener a checked pair / CA bundle; an error keeps the
    // old one (and is logged).
    std::function<absl::Status(const common::TlsKeyPair&)> set_key_pair;
    std::function<absl::Status(const std::string&)> set_client_ca;
  };

  explicit TlsReloader(metrics::Registry& registry) : registry_(registry) {}

  // Watches `listener`, now serving `pair` (as loaded at start).
  void Add(Listener listener, const common::TlsKeyPair& pair);

  // Reloads the files that changed and have not changed since the last
  // Check; with `force` (SIGHUP), every listener's files, at once. Returns
  // how many listeners took new files.
  int Check(bool force);

 private:
  struct Watched {
    Listener listener;
    std::vector<std::string> paths;  // cert, key[, client CA]
    std::vector<FileStamp> loaded;   // as last read (or failed)
    std::vector<FileStamp> seen;     // at the last Check
  };

  // Reads and hands over `w`'s files; false when refused.
  bool Reload(Watched& w);
  void SetExpiry(const std::string& listener, absl::Time not_after);

  metrics::Registry& registry_;
  std::vector<Watched> watched_;
};

}  // namespace evbus::daemon
