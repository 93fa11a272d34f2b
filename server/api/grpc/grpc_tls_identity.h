// File: server/api/grpc/grpc_tls_identity.h
//
// The gRPC listener's TLS credentials, whose certificate chain, key and
// client CAs can be replaced while it serves (daemon/tls_reloader).
//
// gRPC 1.51 lets a listener change certificates only through its
// file-watcher certificate provider: a thread that re-reads files every
// second and serves whatever it read, without checking that the key fits
// the certificate, and telling a torn read only by a modification time in
// whole seconds. So evbusd does not point it at the user's files. It gives
// gRPC files of its own that hold only what evbusd has checked: memory
// files (memfd_create, never on disk), one with the chain and the key
// (gRPC reads it as both: OpenSSL skips the other kind of PEM block), one
// with the client CAs. A new pair is written to a new memory file that is
// then moved onto the same descriptor number (dup3), which gRPC reads
// through /proc/self/fd/N: it sees the old file or the new one, never a
// mix, and the new file's time is set past the old one's so that a read
// spanning the move is retried.
//
// Thread safety: thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/tls_files.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace evbus::api {

class GrpcTlsIdentity {
 public:
  // Credentials presenting `pair` (already checked: common::LoadTlsKeyPair
  // and CheckServerKeyPair) and, with `client_ca` (PEM, checked with
  // CheckTrustedCertificates), requiring client certificates those CAs
  // signed. Internal when memory files cannot be made.
  static absl::StatusOr<std::unique_ptr<GrpcTlsIdentity>> Create(
      const common::TlsKeyPair& pair, std::optional<std::string> client_ca);

  GrpcTlsIdentity(const GrpcTlsIdentity&) = delete;
  GrpcTlsIdentity& operator=(const GrpcTlsIdentity&) = delete;
  ~GrpcTlsIdentity();

  // For ServerBuilder::AddListeningPort. They read this object's files:
  // keep it alive as long as the server.
  std::shared_ptr<grpc::ServerCredentials> credentials() const {
    return credentials_;
  }

  // Serves `pair` (checked as for Create) to new connections within about
  // a second (gRPC's refresh interval).
  absl::Status SetKeyPair(const common::TlsKeyPair& pair);
  // Requires client certificates of `client_ca` (checked as for Create)
  // from new connections within about a second. FailedPrecondition when
  // the identity was made without client CAs.
  absl::Status SetClientCa(const std::string& client_ca);

  // How often gRPC re-reads the files.
  static constexpr unsigned kRefreshSeconds = 1;

 private:
  // A memory file at a fixed descriptor number, its content replaceable.
  class MemoryFile {
   public:
    static absl::StatusOr<MemoryFile> Create(const char* name,
                                             const std::string& content);
    MemoryFile(MemoryFile&& other) noexcept;
    MemoryFile& operator=(MemoryFile&&) = delete;
    ~MemoryFile();
    // Where gRPC reads it.
    std::string path() const;
    absl::Status Replace(const std::string& content);

   private:
    MemoryFile(const char* name, int fd, int64_t seconds)
        : name_(name), fd_(fd), seconds_(seconds) {}
    // A new memory file holding `content`, its times set to `seconds`.
    static absl::StatusOr<int> Write(const char* name,
                                     const std::string& content,
                                     int64_t seconds);
    const char* name_;
    int fd_;
    int64_t seconds_;  // its modification time, in whole seconds
  };

  GrpcTlsIdentity(MemoryFile identity, std::optional<MemoryFile> client_ca);

  mutable absl::Mutex mu_;
  MemoryFile identity_ ABSL_GUARDED_BY(mu_);
  std::optional<MemoryFile> client_ca_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<grpc::ServerCredentials> credentials_;
};

}  // namespace evbus::api
