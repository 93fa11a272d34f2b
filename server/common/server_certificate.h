// File: server/common/server_certificate.h
//
// The certificate chain and key a TLS server presents, replaceable while
// it serves: each new handshake presents the pair set last, connections
// already open keep theirs. evbusd's HTTPS listener uses it so that a
// renewed certificate is taken without a restart (daemon/tls_reloader).
//
// Thread safety: thread-safe. Replace() may run while handshakes read.
#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/tls_files.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace evbus::common {

class ServerCertificate {
 public:
  // A certificate presenting `pair`, when ConfigureServerContext accepts
  // it (its InvalidArgument otherwise).
  static absl::StatusOr<std::unique_ptr<ServerCertificate>> Create(
      const TlsKeyPair& pair);

  ServerCertificate(const ServerCertificate&) = delete;
  ServerCertificate& operator=(const ServerCertificate&) = delete;
  ~ServerCertificate();

  // Presents `pair` from the next handshake on, when ConfigureServerContext
  // accepts it; else keeps the current pair and returns why.
  absl::Status Replace(const TlsKeyPair& pair);

  // Sets up `ctx`, a server's context (ConfigureServerContext with the
  // current pair), and makes every handshake on it present the pair current
  // at that moment. `*this` must outlive `ctx`.
  absl::Status Serve(ssl_ctx_st* ctx) const;

 private:
  struct CtxFree {
    void operator()(ssl_ctx_st* ctx) const;
  };
  using Ctx = std::shared_ptr<ssl_ctx_st>;

  explicit ServerCertificate(Ctx ctx, TlsKeyPair pair);

  // A context set up for `pair`, or why OpenSSL refuses it.
  static absl::StatusOr<Ctx> NewContext(const TlsKeyPair& pair);
  // OpenSSL's certificate callback (SSL_CTX_set_cert_cb): puts the current
  // pair on `ssl`. 1 when it did, 0 to fail the handshake.
  static int Present(ssl_st* ssl, void* self);

  Ctx current() const;

  mutable absl::Mutex mu_;
  // A context holding the pair (only its certificates and key are read).
  Ctx ctx_ ABSL_GUARDED_BY(mu_);
  TlsKeyPair pair_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::common
