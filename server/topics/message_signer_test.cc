#include "server/topics/message_signer.h"

#include <memory>
#include <string>

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

}  // namespace
}  // namespace evbus::topics
