#include "server/topics/message_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"

namespace evbus::topics {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

MessageSigner::~MessageSigner() { EVP_PKEY_free(static_cast<EVP_PKEY*>(key_)); }

namespace {

// SHA-256 of `key`'s private key in DER: the HMAC key of link tokens,
// stable as long as the signing key is.
std::string KeyDigest(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PrivateKey(key, &der);
  if (n <= 0) return "";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(n), digest);
  OPENSSL_clear_free(der, static_cast<size_t>(n));
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MessageSigner>> MessageSigner::LoadOrCreate(
    const std::string& dir) {
  auto signer = std::unique_ptr<MessageSigner>(new MessageSigner());
  std::string key_path = dir + "/sns-signing-key.pem";
  std::string cert_path = dir + "/sns-signing-cert.pem";
  std::error_code ec;
  if (std::filesystem::exists(key_path, ec) &&
      std::filesystem::exists(cert_path, ec)) {
    std::string key_pem = ReadFile(key_path);
    BIO* bio =
        BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) {
      return absl::DataLossError(absl::StrCat("cannot read ", key_path));
    }
    signer->key_ = key;
    signer->cert_pem_ = ReadFile(cert_path);
    signer->link_key_ = KeyDigest(key);
    return signer;
  }
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) return absl::InternalError("cannot create an RSA key");
  signer->key_ = key;
  signer->link_key_ = KeyDigest(key);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("evbus SNS message signing"), -1,
      -1, 0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    X509_free(cert);
    return absl::InternalError("cannot sign the certificate");
  }
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  signer->cert_pem_ = BioString(cert_bio);
  BIO_free(cert_bio);
  X509_free(cert);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::string key_pem = BioString(key_bio);
  BIO_free(key_bio);
  std::filesystem::create_directories(dir, ec);
  {
    std::ofstream out(key_path, std::ios::binary | std::ios::trunc);
    out << key_pem;
    if (!out)
      return absl::UnavailableError(absl::StrCat("cannot write ", key_path));
  }
  ::chmod(key_path.c_str(), 0600);
  std::ofstream out(cert_path, std::ios::binary | std::ios::trunc);
  out << signer->cert_pem_;
  if (!out)
    return absl::UnavailableError(absl::StrCat("cannot write ", cert_path));
  return signer;
}

std::string MessageSigner::LinkToken(absl::string_view subject) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (link_key_.empty() ||
      HMAC(EVP_sha256(), link_key_.data(), static_cast<int>(link_key_.size()),
           reinterpret_cast<const unsigned char*>(subject.data()),
           subject.size(), mac, &len) == nullptr) {
    return "";
  }
  return absl::BytesToHexString(
             absl::string_view(reinterpret_cast<const char*>(mac), len))
      .substr(0, 32);
}

std::string MessageSigner::Sign(const std::string& string_to_sign,
                                absl::string_view signature_version) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig;
  size_t len = 0;
  const EVP_MD* digest = signature_version == "2" ? EVP_sha256() : EVP_sha1();
  if (EVP_DigestSignInit(ctx, nullptr, digest, nullptr,
                         static_cast<EVP_PKEY*>(key_)) == 1 &&
      EVP_DigestSignUpdate(ctx, string_to_sign.data(), string_to_sign.size()) ==
          1 &&
      EVP_DigestSignFinal(ctx, nullptr, &len) == 1) {
    sig.resize(len);
    if (EVP_DigestSignFinal(ctx, reinterpret_cast<unsigned char*>(sig.data()),
                            &len) == 1) {
      sig.resize(len);
    } else {
      sig.clear();
    }
  }
  EVP_MD_CTX_free(ctx);
  return absl::Base64Escape(sig);
}

const MessageSigner* LazyMessageSigner::Get() {
  absl::call_once(once_, [this] {
    absl::StatusOr<std::unique_ptr<MessageSigner>> loaded =
        MessageSigner::LoadOrCreate(dir_);
    if (!loaded.ok()) {
      EVBUS_LOG(ERROR) << "SNS signing key: " << loaded.status();
      return;
    }
    signer_ = *std::move(loaded);
  });
  return signer_.get();
}

std::string LazyMessageSigner::Sign(const std::string& string_to_sign,
                                    absl::string_view signature_version) {
  const MessageSigner* signer = Get();
  return signer == nullptr ? std::string()
                           : signer->Sign(string_to_sign, signature_version);
}

std::string LazyMessageSigner::LinkToken(absl::string_view subject) {
  const MessageSigner* signer = Get();
  return signer == nullptr ? std::string() : signer->LinkToken(subject);
}

std::string LazyMessageSigner::certificate_pem() {
  const MessageSigner* signer = Get();
  return signer == nullptr ? std::string() : signer->certificate_pem();
}

}  // namespace evbus::topics
