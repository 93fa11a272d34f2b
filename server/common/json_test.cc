#include "server/common/json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::common {
namespace {

TEST(JsonTest, ParsesAndKeepsKeyOrder) {
  absl::StatusOr<Json> doc = ParseJson(R"({"b":1,"a":[true,null],"c":"x"})");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(DumpJson(*doc), R"({"b":1,"a":[true,null],"c":"x"})");
}

TEST(JsonTest, MalformedIsInvalidArgumentNamingWhat) {
  absl::StatusOr<Json> doc = ParseJson("{\"a\":", "Detail");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(doc.status().message()),
              ::testing::StartsWith("Detail: "));
}

TEST(JsonTest, TrailingGarbageIsAnError) {
  EXPECT_FALSE(ParseJson("{} x").ok());
  EXPECT_FALSE(ParseJson("").ok());
}

TEST(JsonTest, DuplicateKeysLastWins) {
  absl::StatusOr<Json> doc = ParseJson(R"({"a":1,"a":2})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["a"], 2);
}

TEST(JsonTest, InvalidUtf8DoesNotThrowOnDump) {
  Json v = std::string("\xff\xfe");
  EXPECT_NO_THROW((void)DumpJson(v));
}

TEST(JsonTest, Depth) {
  EXPECT_EQ(JsonDepth(Json(1)), 1);
  EXPECT_EQ(JsonDepth(*ParseJson(R"({"a":{"b":[1]}})")), 4);
}

}  // namespace
}  // namespace evbus::common
