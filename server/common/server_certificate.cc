#include "server/common/server_certificate.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace evbus::common {

void ServerCertificate::CtxFree::operator()(SSL_CTX* ctx) const {
  SSL_CTX_free(ctx);
}

absl::StatusOr<ServerCertificate::Ctx> ServerCertificate::NewContext(
    const TlsKeyPair& pair) {
  Ctx ctx(SSL_CTX_new(TLS_server_method()), CtxFree());
  if (ctx == nullptr) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL cannot make a TLS context");
  }
  absl::Status configured = ConfigureServerContext(ctx.get(), pair);
  if (!configured.ok()) return configured;
  return ctx;
}

absl::StatusOr<std::unique_ptr<ServerCertificate>> ServerCertificate::Create(
    const TlsKeyPair& pair) {
  absl::StatusOr<Ctx> ctx = NewContext(pair);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<ServerCertificate>(
      new ServerCertificate(*std::move(ctx), pair));
}

ServerCertificate::ServerCertificate(Ctx ctx, TlsKeyPair pair)
    : ctx_(std::move(ctx)), pair_(std::move(pair)) {}

ServerCertificate::~ServerCertificate() = default;

absl::Status ServerCertificate::Replace(const TlsKeyPair& pair) {
  absl::StatusOr<Ctx> ctx = NewContext(pair);
  if (!ctx.ok()) return ctx.status();
  absl::MutexLock lock(&mu_);
  ctx_ = *std::move(ctx);
  pair_ = pair;
  return absl::OkStatus();
}

ServerCertificate::Ctx ServerCertificate::current() const {
  absl::MutexLock lock(&mu_);
  return ctx_;
}

absl::Status ServerCertificate::Serve(SSL_CTX* ctx) const {
  TlsKeyPair pair;
  {
    absl::MutexLock lock(&mu_);
    pair = pair_;
  }
  absl::Status configured = ConfigureServerContext(ctx, pair);
  if (!configured.ok()) return configured;
  SSL_CTX_set_cert_cb(ctx, &ServerCertificate::Present,
                      const_cast<ServerCertificate*>(this));
  return absl::OkStatus();
}

int ServerCertificate::Present(SSL* ssl, void* self) {
  const Ctx ctx = static_cast<const ServerCertificate*>(self)->current();
  X509* leaf = SSL_CTX_get0_certificate(ctx.get());
  EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx.get());
  STACK_OF(X509)* chain = nullptr;
  if (leaf == nullptr || key == nullptr ||
      SSL_CTX_get0_chain_certs(ctx.get(), &chain) != 1) {
    return 0;
  }
  // Copies the chain and takes references on the certificate and the key:
  // the context may be replaced and freed while this connection lives.
  if (SSL_use_cert_and_key(ssl, leaf, key, chain, /*override=*/1) != 1) {
    ERR_clear_error();
    return 0;
  }
  return 1;
}

}  // namespace evbus::common
