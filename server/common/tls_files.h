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

#include <optional>
#include <string>

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

// When the first certificate of `pem` stops being valid; nullopt when it
// holds none.
std::optional<absl::Time> CertificateNotAfter(absl::string_view pem);

// Sets up `ctx` (an OpenSSL SSL_CTX of a server) to present `pair` (its
// chain: the leaf, then the intermediates) and to speak TLS 1.2 or later.
// False when OpenSSL refuses any of it.
bool ConfigureServerContext(ssl_ctx_st* ctx, const TlsKeyPair& pair);

}  // namespace evbus::common
