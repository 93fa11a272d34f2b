#include "server/common/tls_files.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/regular_file.h"

namespace evbus::common {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Bio MemoryBio(absl::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// OpenSSL's reason for the last failure, and the thread's error queue
// cleared.
std::string OpenSslReason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "";
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? absl::StrCat(" (", reason, ")") : "";
}

// The whole of `path`, a regular file of at most kMaxPemFileBytes.
absl::StatusOr<std::string> ReadPemFile(const std::string& path,
                                        absl::string_view field) {
  absl::StatusOr<std::string> text =
      ReadRegularFile(path, field, kMaxPemFileBytes + 1);
  if (!text.ok()) return text.status();
  if (text->size() > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", path, " is larger than ", kMaxPemFileBytes,
                     " bytes: not a PEM file"));
  }
  return text;
}

// The certificates of `pem`, in order; InvalidArgument naming `field` and
// `path` when there is none or one does not parse.
absl::StatusOr<std::vector<Cert>> ParseCertificates(absl::string_view pem,
                                                    absl::string_view field,
                                                    const std::string& path) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  std::vector<Cert> certs;
  size_t at = pem.find(kBegin);
  while (at != absl::string_view::npos) {
    Bio bio = MemoryBio(pem.substr(at));
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", path, ": certificate ", certs.size() + 1,
                       " is not a valid PEM certificate", OpenSslReason()));
    }
    certs.push_back(std::move(cert));
    at = pem.find(kBegin, at + kBegin.size());
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", path,
        ": holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  return certs;
}

}  // namespace

absl::StatusOr<std::string> LoadPemCertificates(const std::string& path,
                                                absl::string_view field) {
  absl::StatusOr<std::string> text = ReadPemFile(path, field);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<Cert>> certs =
      ParseCertificates(*text, field, path);
  if (!certs.ok()) return certs.status();
  return text;
}

absl::StatusOr<TlsKeyPair> LoadTlsKeyPair(const std::string& cert_path,
                                          absl::string_view cert_field,
                                          const std::string& key_path,
                                          absl::string_view key_field) {
  absl::StatusOr<std::string> chain = ReadPemFile(cert_path, cert_field);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::vector<Cert>> certs =
      ParseCertificates(*chain, cert_field, cert_path);
  if (!certs.ok()) return certs.status();
  absl::StatusOr<std::string> key = ReadPemFile(key_path, key_field);
  if (!key.ok()) return key.status();
  Bio bio = MemoryBio(*key);
  // A passphrase-protected key cannot be used unattended: the callback
  // refuses to prompt.
  Pkey pkey(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return -1; }, nullptr));
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        key_field, ": ", key_path, ": holds no unencrypted PEM private key",
        OpenSslReason()));
  }
  if (X509_check_private_key(certs->front().get(), pkey.get()) != 1) {
    ERR_clear_error();
    for (size_t i = 1; i < certs->size(); ++i) {
      if (X509_check_private_key((*certs)[i].get(), pkey.get()) == 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            cert_field, ": ", cert_path,
            ": the chain must begin with the certificate of the key of ",
            key_field, " (it is certificate ", i + 1, " of ", certs->size(),
            ")"));
      }
    }
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(key_field, ": ", key_path,
                     ": the key does not belong to the certificate of ",
                     cert_field, " (", cert_path, ")"));
  }
  return TlsKeyPair{*std::move(chain), *std::move(key)};
}

std::vector<CertificateValidity> CertificateValidities(absl::string_view pem) {
  std::vector<CertificateValidity> out;
  Bio bio = MemoryBio(pem);
  auto to_time = [](const ASN1_TIME* t) {
    struct tm parts {};
    if (ASN1_TIME_to_tm(t, &parts) != 1) return absl::InfinitePast();
    return absl::FromUnixSeconds(static_cast<int64_t>(timegm(&parts)));
  };
  while (true) {
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    out.push_back({to_time(X509_get0_notBefore(cert.get())),
                   to_time(X509_get0_notAfter(cert.get()))});
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

absl::Status ConfigureServerContext(SSL_CTX* ctx, const TlsKeyPair& pair) {
  auto refused = [](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("OpenSSL refuses ", what, OpenSslReason()));
  };
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return refused("TLS 1.2 as the least version");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
                               SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return refused("the cipher suites");
  }
  Bio chain = MemoryBio(pair.cert_chain);
  Cert leaf(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
  if (leaf == nullptr) return refused("the certificate");
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return refused("the certificate");
  }
  for (int n = 2;; ++n) {
    Cert next(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
    if (next == nullptr) break;
    if (SSL_CTX_add1_chain_cert(ctx, next.get()) != 1) {
      return refused(absl::StrCat("certificate ", n, " of the chain"));
    }
  }
  ERR_clear_error();  // the end of the chain reads as an error
  Bio key_bio = MemoryBio(pair.private_key);
  Pkey key(PEM_read_bio_PrivateKey(
      key_bio.get(), nullptr, [](char*, int, int, void*) { return -1; },
      nullptr));
  if (key == nullptr) return refused("the private key");
  if (EVP_PKEY_base_id(key.get()) == EVP_PKEY_EC) {
    char curve[64] = {};
    size_t size = 0;
    if (EVP_PKEY_get_group_name(key.get(), curve, sizeof(curve), &size) != 1) {
      return refused("the key's elliptic curve");
    }
    const absl::string_view name(curve, size);
    if (name != "prime256v1" && name != "secp384r1" && name != "secp521r1") {
      return absl::InvalidArgumentError(absl::StrCat(
          "the key is on elliptic curve ", name,
          ", which TLS clients do not offer: use P-256, P-384 or P-521 "
          "(or RSA)"));
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return refused("the private key");
  }
  return absl::OkStatus();
}

absl::Status CheckTrustedCertificates(absl::string_view pem) {
  Bio bio = MemoryBio(pem);
  for (int n = 1;; ++n) {
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    const int bits = key == nullptr ? 0 : EVP_PKEY_get_security_bits(key);
    if (bits < 112) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate ", n, " has a key of ", bits,
          " bits of security, and OpenSSL verifies nothing it signed (112 "
          "or more: RSA of 2048 bits or more, or an elliptic curve)"));
    }
  }
  ERR_clear_error();  // the end of the text reads as an error
  return absl::OkStatus();
}

absl::Status CheckServerKeyPair(const TlsKeyPair& pair) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("OpenSSL cannot make a TLS context", OpenSslReason()));
  }
  absl::Status s = ConfigureServerContext(ctx, pair);
  SSL_CTX_free(ctx);
  return s;
}

}  // namespace evbus::common
