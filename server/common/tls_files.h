// File: server/common/tls_files.h
//
// Reads the PEM files of a TLS listener or client and checks them before
// they are handed to gRPC: certificates OpenSSL can parse, a private key
// that belongs to the first certificate of its chain. evbusd reads its
// gRPC listener's files this way (`--grpc-tls-cert`, `--grpc-tls-key`,
// `--grpc-tls-client-ca`) and the CLI the files it connects with
// (`--tls-ca`, `--tls-cert`, `--tls-key`), so that a wrong file is an
// error naming the option and the file, not a failed handshake later.
//
// Thread safety: the functions are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace evbus::common {

// A certificate chain (the leaf first) and its private key, in PEM.
struct TlsKeyPair {
  std::string cert_chain;
  std::string private_key;
};

// Largest PEM file read (a CA bundle such as Debian's is ~200 KB).
inline constexpr size_t kMaxPemFileBytes = 4 << 20;

// The PEM text of `path` when it holds at least one certificate, all of
// them parseable. InvalidArgument naming `field` and the file otherwise.
absl::StatusOr<std::string> LoadPemCertificates(const std::string& path,
                                                absl::string_view field);

// The chain of `cert_path` and the key of `key_path`, when the key is a
// private key that belongs to the chain's first certificate.
// InvalidArgument naming the field of the file at fault otherwise.
absl::StatusOr<TlsKeyPair> LoadTlsKeyPair(const std::string& cert_path,
                                          absl::string_view cert_field,
                                          const std::string& key_path,
                                          absl::string_view key_field);

// When each certificate of a PEM chain is valid, in the chain's order.
struct CertificateValidity {
  absl::Time not_before;
  absl::Time not_after;
};
std::vector<CertificateValidity> CertificateValidities(absl::string_view pem);

// Sets up `ctx` (an OpenSSL SSL_CTX of a server) to present `pair` (its
// chain: the leaf, then the intermediates) with TLS 1.2 or later and, for
// TLS 1.2, only forward-secret AEAD cipher suites (ECDHE with AES-GCM or
// ChaCha20-Poly1305, the server's order), as gRPC's listener offers.
// InvalidArgument with OpenSSL's reason when it refuses any of it (at its
// default security level: RSA keys under 2048 bits, SHA-1 signatures), or
// when the key is on an elliptic curve TLS clients do not offer (only
// P-256, P-384 and P-521 are).
absl::Status ConfigureServerContext(ssl_ctx_st* ctx, const TlsKeyPair& pair);

// Whether OpenSSL, at its default security level, will verify chains that
// end in the certificates of `pem` (CA certificates a server trusts for
// client certificates): InvalidArgument naming the first whose key is too
// weak (under 112 bits of security: RSA under 2048 bits).
absl::Status CheckTrustedCertificates(absl::string_view pem);

// Whether a TLS server can present `pair`: ConfigureServerContext on a
// context of its own. evbusd checks its listeners' pairs with it before it
// writes anything, as gRPC and cpp-httplib refuse them only when they
// start listening.
absl::Status CheckServerKeyPair(const TlsKeyPair& pair);

}  // namespace evbus::common
