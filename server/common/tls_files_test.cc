#include "server/common/tls_files.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::common {
namespace {

using ::testing::HasSubstr;

// A fresh P-256 key and a self-signed certificate for it, valid for
// `days`, in PEM.
struct Generated {
  std::string cert;
  std::string key;
};

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Generated SelfSigned(const char* name, long days) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), days * 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name), -1,
                             -1, 0);
  X509_set_issuer_name(cert, subject);
  X509_sign(cert, key, EVP_sha256());
  Generated out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  out.cert = BioText(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key = BioText(bio);
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

class TlsFilesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.Join(name);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(TlsFilesTest, ReadsAKeyPairThatBelongsTogether) {
  const Generated a = SelfSigned("evbus-a", 30);
  absl::StatusOr<TlsKeyPair> pair =
      LoadTlsKeyPair(Write("a.crt", a.cert), "grpc_tls_cert",
                     Write("a.key", a.key), "grpc_tls_key");
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->cert_chain, a.cert);
  EXPECT_EQ(pair->private_key, a.key);
}

TEST_F(TlsFilesTest, AKeyOfAnotherCertificateIsRefused) {
  const Generated a = SelfSigned("evbus-a", 30);
  const Generated b = SelfSigned("evbus-b", 30);
  const std::string cert = Write("a.crt", a.cert);
  const std::string key = Write("b.key", b.key);
  absl::StatusOr<TlsKeyPair> pair =
      LoadTlsKeyPair(cert, "grpc_tls_cert", key, "grpc_tls_key");
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pair.status().message(),
            "grpc_tls_key: " + key +
                ": the key does not belong to the certificate of "
                "grpc_tls_cert (" +
                cert + ")");
}

TEST_F(TlsFilesTest, ErrorsNameTheFieldAndTheFile) {
  const Generated a = SelfSigned("evbus-a", 30);
  const std::string cert = Write("a.crt", a.cert);
  const std::string key = Write("a.key", a.key);
  // The files swapped: no certificate in the first, no key in the second.
  absl::StatusOr<TlsKeyPair> swapped =
      LoadTlsKeyPair(key, "--tls-cert", cert, "--tls-key");
  ASSERT_FALSE(swapped.ok());
  EXPECT_THAT(swapped.status().message(),
              HasSubstr("--tls-cert: " + key + ": holds no PEM certificate"));
  swapped = LoadTlsKeyPair(cert, "--tls-cert", cert, "--tls-key");
  ASSERT_FALSE(swapped.ok());
  EXPECT_THAT(swapped.status().message(),
              HasSubstr("--tls-key: " + cert +
                        ": holds no unencrypted PEM private key"));
  // Missing, a directory, a broken certificate body.
  absl::StatusOr<std::string> missing =
      LoadPemCertificates(dir_.Join("none"), "--tls-ca");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("--tls-ca: cannot read " + dir_.Join("none")));
  absl::StatusOr<std::string> dir = LoadPemCertificates(dir_.path(), "f");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(), HasSubstr("is not a regular file"));
  std::string broken = a.cert;
  broken[broken.size() / 2] = '!';
  const std::string both = Write("both.pem", a.cert + broken);
  absl::StatusOr<std::string> second = LoadPemCertificates(both, "--tls-ca");
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(),
              HasSubstr("--tls-ca: " + both +
                        ": certificate 2 is not a valid PEM certificate"));
}

TEST_F(TlsFilesTest, ABundleOfCertificatesIsRead) {
  const std::string bundle =
      SelfSigned("ca-1", 30).cert + "\n" + SelfSigned("ca-2", 30).cert;
  absl::StatusOr<std::string> read =
      LoadPemCertificates(Write("bundle.pem", bundle), "--tls-ca");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bundle);
}

TEST_F(TlsFilesTest, NotAfterOfTheFirstCertificate) {
  const absl::Time now = absl::Now();
  std::optional<absl::Time> t =
      CertificateNotAfter(SelfSigned("evbus-a", 10).cert);
  ASSERT_TRUE(t.has_value());
  EXPECT_LT(absl::AbsDuration(*t - (now + absl::Hours(240))), absl::Minutes(5));
  EXPECT_FALSE(CertificateNotAfter("not a certificate").has_value());
}

TEST_F(TlsFilesTest, ServerContextPresentsThePair) {
  const Generated a = SelfSigned("evbus-a", 30);
  const Generated b = SelfSigned("evbus-b", 30);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_NE(ctx, nullptr);
  EXPECT_TRUE(ConfigureServerContext(ctx, {a.cert, a.key}));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  SSL_CTX_free(ctx);
  // A key of another certificate, or no certificate at all.
  ctx = SSL_CTX_new(TLS_server_method());
  EXPECT_FALSE(ConfigureServerContext(ctx, {a.cert, b.key}));
  SSL_CTX_free(ctx);
  ctx = SSL_CTX_new(TLS_server_method());
  EXPECT_FALSE(ConfigureServerContext(ctx, {"", a.key}));
  SSL_CTX_free(ctx);
}

}  // namespace
}  // namespace evbus::common
