#include "server/daemon/tls_reloader.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/logging.h"
#include "server/common/regular_file.h"

namespace evbus::daemon {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// "grpc" → "gRPC", "http" → "HTTP": as the start-up lines name them.
std::string LogName(absl::string_view listener) {
  if (listener == "grpc") return "gRPC";
  std::string s(listener);
  for (char& c : s) c = static_cast<char>(std::toupper(c));
  return s;
}

constexpr absl::string_view kReloads = "evbus_tls_reloads_total";
constexpr absl::string_view kReloadsHelp =
    "Times a TLS listener's changed files were read: taken (ok) or refused "
    "(the listener kept its certificate).";

}  // namespace

absl::StatusOr<common::TlsKeyPair> LoadListenerKeyPair(
    const std::string& cert_path, absl::string_view cert_field,
    const std::string& key_path, absl::string_view key_field) {
  absl::StatusOr<common::TlsKeyPair> pair =
      common::LoadTlsKeyPair(cert_path, cert_field, key_path, key_field);
  if (!pair.ok()) return pair.status();
  absl::Status usable = common::CheckServerKeyPair(*pair);
  if (!usable.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_field, ": ", cert_path, " with ", key_field, " ",
                     key_path, ": ", usable.message()));
  }
  common::WarnIfReadableByOthers(key_path, key_field);
  const absl::Time now = absl::Now();
  const std::vector<common::CertificateValidity> validity =
      common::CertificateValidities(pair->cert_chain);
  for (size_t i = 0; i < validity.size(); ++i) {
    const std::string which = i == 0
                                  ? absl::StrCat(cert_field, " ", cert_path)
                                  : absl::StrCat("certificate ", i + 1, " of ",
                                                 cert_field, " ", cert_path);
    if (validity[i].not_after < now) {
      EVBUS_LOG(WARNING) << which << " expired at "
                         << Rfc3339(validity[i].not_after)
                         << ": clients will refuse it";
    } else if (validity[i].not_before > now) {
      EVBUS_LOG(WARNING) << which << " is not valid before "
                         << Rfc3339(validity[i].not_before)
                         << ": clients will refuse it until then";
    } else if (validity[i].not_after < now + absl::Hours(30 * 24)) {
      EVBUS_LOG(WARNING) << which << " expires at "
                         << Rfc3339(validity[i].not_after)
                         << " (replace the file before then: evbusd takes "
                            "the new one as it serves)";
    }
  }
  return pair;
}

absl::StatusOr<std::string> LoadClientCa(const std::string& path,
                                         absl::string_view field) {
  absl::StatusOr<std::string> ca = common::LoadPemCertificates(path, field);
  if (!ca.ok()) return ca.status();
  if (absl::Status usable = common::CheckTrustedCertificates(*ca);
      !usable.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", path, ": ", usable.message()));
  }
  return ca;
}

FileStamp FileStamp::Of(const std::string& path) {
  FileStamp s;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    s.error = errno;
    return s;
  }
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

void TlsReloader::SetExpiry(const std::string& listener, absl::Time not_after) {
  registry_
      .GetGauge("evbus_tls_certificate_expiry_timestamp_seconds",
                "When the certificate a TLS listener presents expires "
                "(its notAfter), in Unix seconds.",
                {{"listener", listener}})
      .Set(static_cast<double>(absl::ToUnixSeconds(not_after)));
}

void TlsReloader::Add(Listener listener, const common::TlsKeyPair& pair) {
  Watched w;
  w.paths = {listener.cert_path, listener.key_path};
  if (!listener.client_ca_path.empty()) {
    w.paths.push_back(listener.client_ca_path);
  }
  for (const std::string& path : w.paths) {
    w.loaded.push_back(FileStamp::Of(path));
  }
  w.seen = w.loaded;
  const std::vector<common::CertificateValidity> validity =
      common::CertificateValidities(pair.cert_chain);
  if (!validity.empty()) SetExpiry(listener.name, validity[0].not_after);
  for (const char* result : {"ok", "refused"}) {
    registry_.GetCounter(kReloads, kReloadsHelp,
                         {{"listener", listener.name}, {"result", result}});
  }
  w.listener = std::move(listener);
  watched_.push_back(std::move(w));
}

int TlsReloader::Check(bool force) {
  int reloaded = 0;
  for (Watched& w : watched_) {
    std::vector<FileStamp> now;
    now.reserve(w.paths.size());
    for (const std::string& path : w.paths) {
      now.push_back(FileStamp::Of(path));
    }
    // Read once the files changed and then held still for one Check, so
    // that a file being copied is not read half-written.
    const bool settled = now == w.seen;
    w.seen = now;
    if (!force && (!settled || now == w.loaded)) continue;
    w.loaded = std::move(now);
    if (Reload(w)) ++reloaded;
  }
  return reloaded;
}

bool TlsReloader::Reload(Watched& w) {
  const Listener& l = w.listener;
  const std::string name = LogName(l.name);
  auto refused = [&](const absl::Status& why) {
    EVBUS_LOG(ERROR) << name
                     << ": kept the current certificate: " << why.message();
    registry_
        .GetCounter(kReloads, kReloadsHelp,
                    {{"listener", l.name}, {"result", "refused"}})
        .Increment();
    return false;
  };
  absl::StatusOr<common::TlsKeyPair> pair =
      LoadListenerKeyPair(l.cert_path, l.cert_field, l.key_path, l.key_field);
  if (!pair.ok()) return refused(pair.status());
  std::optional<std::string> ca;
  if (!l.client_ca_path.empty()) {
    absl::StatusOr<std::string> loaded =
        LoadClientCa(l.client_ca_path, l.client_ca_field);
    if (!loaded.ok()) return refused(loaded.status());
    ca = *std::move(loaded);
  }
  if (ca.has_value()) {
    absl::Status set = l.set_client_ca(*ca);
    if (!set.ok()) return refused(set);
  }
  absl::Status set = l.set_key_pair(*pair);
  if (!set.ok()) return refused(set);
  registry_
      .GetCounter(kReloads, kReloadsHelp,
                  {{"listener", l.name}, {"result", "ok"}})
      .Increment();
  const std::vector<common::CertificateValidity> validity =
      common::CertificateValidities(pair->cert_chain);
  if (!validity.empty()) SetExpiry(l.name, validity[0].not_after);
  EVBUS_LOG(INFO) << name << ": serving the certificate of " << l.cert_path
                  << (validity.empty()
                          ? std::string()
                          : absl::StrCat(" (expires ",
                                         Rfc3339(validity[0].not_after), ")"))
                  << (ca.has_value()
                          ? absl::StrCat("; client CAs of ", l.client_ca_path)
                          : std::string())
                  << " to new connections";
  return true;
}

}  // namespace evbus::daemon
