#include "server/common/tls_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
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
#include "server/common/server_certificate.h"
#include "tests/testing/certificates.h"
#include "tests/testing/temp_dir.h"

namespace evbus::common {
namespace {

using ::evbus::testing::Generated;
using ::evbus::testing::Issue;
using ::evbus::testing::SelfSigned;
using ::testing::HasSubstr;

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

TEST_F(TlsFilesTest, ValiditiesOfEachCertificate) {
  const absl::Time now = absl::Now();
  const std::string chain =
      SelfSigned("evbus-a", 10).cert + SelfSigned("evbus-b", 20).cert;
  std::vector<CertificateValidity> v = CertificateValidities(chain);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_LT(absl::AbsDuration(v[0].not_before - now), absl::Minutes(5));
  EXPECT_LT(absl::AbsDuration(v[0].not_after - (now + absl::Hours(240))),
            absl::Minutes(5));
  EXPECT_LT(absl::AbsDuration(v[1].not_after - (now + absl::Hours(480))),
            absl::Minutes(5));
  EXPECT_TRUE(CertificateValidities("not a certificate").empty());
}

TEST_F(TlsFilesTest, AChainInTheWrongOrderIsNamed) {
  EVP_PKEY* ca_key = EVP_EC_gen("P-256");
  EVP_PKEY* leaf_key = EVP_EC_gen("P-256");
  EVP_PKEY_up_ref(ca_key);
  EVP_PKEY_up_ref(leaf_key);
  const Generated ca = Issue(ca_key, "evbus-ca", 30);
  const Generated leaf = Issue(leaf_key, "evbusd", 30, ca_key, "evbus-ca");
  const std::string cert = Write("chain.crt", ca.cert + leaf.cert);
  const std::string key = Write("leaf.key", leaf.key);
  absl::StatusOr<TlsKeyPair> pair =
      LoadTlsKeyPair(cert, "grpc_tls_cert", key, "grpc_tls_key");
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().message(),
            "grpc_tls_cert: " + cert +
                ": the chain must begin with the certificate of the key of "
                "grpc_tls_key (it is certificate 2 of 2)");
  // The right order is taken, and presented whole.
  pair = LoadTlsKeyPair(Write("ok.crt", leaf.cert + ca.cert), "grpc_tls_cert",
                        key, "grpc_tls_key");
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_TRUE(CheckServerKeyPair(*pair).ok());
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(leaf_key);
}

TEST_F(TlsFilesTest, ServerContextPresentsThePair) {
  const Generated a = SelfSigned("evbus-a", 30);
  const Generated b = SelfSigned("evbus-b", 30);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_NE(ctx, nullptr);
  absl::Status s = ConfigureServerContext(ctx, {a.cert, a.key});
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  // TLS 1.2 suites: forward-secret AEAD only (TLS 1.3's are all AEAD).
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  ASSERT_GT(sk_SSL_CIPHER_num(ciphers), 0);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if (std::string(SSL_CIPHER_get_version(c)) == "TLSv1.3") continue;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
  }
  SSL_CTX_free(ctx);
  // A key of another certificate, or no certificate at all.
  EXPECT_FALSE(CheckServerKeyPair({a.cert, b.key}).ok());
  EXPECT_FALSE(CheckServerKeyPair({"", a.key}).ok());
}

TEST_F(TlsFilesTest, KeysClientsCannotUseAreRefusedWithTheReason) {
  // RSA under 2048 bits: below OpenSSL's default security level.
  const Generated weak = Issue(EVP_RSA_gen(1024), "evbus-weak", 30);
  absl::Status s = CheckServerKeyPair({weak.cert, weak.key});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("OpenSSL refuses the certificate (ee "
                                     "key too small)"));
  // A curve TLS does not negotiate.
  const Generated k1 = Issue(EVP_EC_gen("secp256k1"), "evbus-k1", 30);
  s = CheckServerKeyPair({k1.cert, k1.key});
  EXPECT_EQ(s.message(),
            "the key is on elliptic curve secp256k1, which TLS clients do "
            "not offer: use P-256, P-384 or P-521 (or RSA)");
  const Generated rsa = Issue(EVP_RSA_gen(2048), "evbus-rsa", 30);
  EXPECT_TRUE(CheckServerKeyPair({rsa.cert, rsa.key}).ok());
  // As CA certificates for client certificates: the weak one is named.
  EXPECT_TRUE(CheckTrustedCertificates(rsa.cert + k1.cert).ok());
  s = CheckTrustedCertificates(rsa.cert + weak.cert);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("certificate 2 has a key of 80 bits"));
  const Generated p384 = Issue(EVP_EC_gen("P-384"), "evbus-384", 30);
  EXPECT_TRUE(CheckServerKeyPair({p384.cert, p384.key}).ok());
}

// The subject CN a client is shown when it connects to a server on
// `server_ctx` (in memory, through a BIO pair); empty when the handshake
// fails.
std::string PresentedName(SSL_CTX* server_ctx) {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);
  SSL* server = SSL_new(server_ctx);
  SSL* client = SSL_new(client_ctx);
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  BIO_new_bio_pair(&client_end, 0, &server_end, 0);
  SSL_set_bio(client, client_end, client_end);
  SSL_set_bio(server, server_end, server_end);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  auto step = [](SSL* ssl, bool* done) {
    if (*done) return true;
    const int r = SSL_do_handshake(ssl);
    if (r == 1) *done = true;
    const int e = SSL_get_error(ssl, r);
    return r == 1 || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
  };
  bool client_done = false;
  bool server_done = false;
  for (int i = 0; i < 50 && !(client_done && server_done); ++i) {
    if (!step(client, &client_done) || !step(server, &server_done)) break;
  }
  std::string name;
  if (client_done && server_done) {
    X509* peer = SSL_get1_peer_certificate(client);
    char cn[256] = {};
    if (peer != nullptr &&
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
                                  cn, sizeof(cn)) > 0) {
      name = cn;
    }
    X509_free(peer);
  }
  SSL_free(server);
  SSL_free(client);
  SSL_CTX_free(client_ctx);
  ERR_clear_error();
  return name;
}

TEST_F(TlsFilesTest, ServerCertificateIsReplacedForNewHandshakes) {
  const Generated a = SelfSigned("evbus-a", 30);
  const Generated b = SelfSigned("evbus-b", 30);
  absl::StatusOr<std::unique_ptr<ServerCertificate>> certificate =
      ServerCertificate::Create({a.cert, a.key});
  ASSERT_TRUE(certificate.ok()) << certificate.status();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_TRUE((*certificate)->Serve(ctx).ok());
  EXPECT_EQ(PresentedName(ctx), "evbus-a");
  EXPECT_EQ(PresentedName(ctx), "evbus-a");

  ASSERT_TRUE((*certificate)->Replace({b.cert, b.key}).ok());
  EXPECT_EQ(PresentedName(ctx), "evbus-b");

  // A pair OpenSSL refuses is not taken: the last good one stays.
  absl::Status refused = (*certificate)->Replace({a.cert, b.key});
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  const Generated weak = Issue(EVP_RSA_gen(1024), "evbus-weak", 30);
  EXPECT_FALSE((*certificate)->Replace({weak.cert, weak.key}).ok());
  EXPECT_EQ(PresentedName(ctx), "evbus-b");
  SSL_CTX_free(ctx);

  // A context set up after a replacement starts with the current pair.
  ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_TRUE((*certificate)->Serve(ctx).ok());
  EXPECT_EQ(PresentedName(ctx), "evbus-b");
  SSL_CTX_free(ctx);

  EXPECT_FALSE(ServerCertificate::Create({a.cert, b.key}).ok());
}

}  // namespace
}  // namespace evbus::common
