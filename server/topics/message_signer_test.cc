#include "server/topics/message_signer.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::topics {
namespace {

TEST(MessageSignerTest, LinkTokensFollowTheKeyAndTheSubject) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<MessageSigner>> first =
      MessageSigner::LoadOrCreate(dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string token = (*first)->LinkToken("unsubscribe\narn:a:1");
  EXPECT_EQ(token.size(), 32u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE((*first)->LinkToken("unsubscribe\narn:a:2"), token);
  // The same key, loaded again (a restart), makes the same tokens: links
  // in messages already sent keep working.
  absl::StatusOr<std::unique_ptr<MessageSigner>> again =
      MessageSigner::LoadOrCreate(dir.path());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->LinkToken("unsubscribe\narn:a:1"), token);
  // Another key, other tokens.
  testing::TempDir other_dir;
  absl::StatusOr<std::unique_ptr<MessageSigner>> other =
      MessageSigner::LoadOrCreate(other_dir.path());
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE((*other)->LinkToken("unsubscribe\narn:a:1"), token);
}

// Whether `signature_b64` is `text` signed with `digest` by the key of
// `cert_pem`.
bool Verifies(const std::string& cert_pem, const EVP_MD* digest,
              const std::string& text, const std::string& signature_b64) {
  std::string signature;
  if (!absl::Base64Unescape(signature_b64, &signature)) return false;
  BIO* bio =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, digest, nullptr,
                           X509_get0_pubkey(cert)) == 1 &&
      EVP_DigestVerify(
          ctx, reinterpret_cast<const unsigned char*>(signature.data()),
          signature.size(), reinterpret_cast<const unsigned char*>(text.data()),
          text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  X509_free(cert);
  return ok;
}

TEST(MessageSignerTest, SignatureVersionsOneAndTwo) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<MessageSigner>> signer =
      MessageSigner::LoadOrCreate(dir.path());
  ASSERT_TRUE(signer.ok()) << signer.status();
  const std::string text = "Message\nhello\nType\nNotification\n";
  const std::string& cert = (*signer)->certificate_pem();
  const std::string v1 = (*signer)->Sign(text, "1");
  const std::string v2 = (*signer)->Sign(text, "2");
  EXPECT_TRUE(Verifies(cert, EVP_sha1(), text, v1));
  EXPECT_FALSE(Verifies(cert, EVP_sha256(), text, v1));
  EXPECT_TRUE(Verifies(cert, EVP_sha256(), text, v2));
  EXPECT_FALSE(Verifies(cert, EVP_sha1(), text, v2));
  EXPECT_EQ((*signer)->Sign(text), v1);
}

}  // namespace
}  // namespace evbus::topics
