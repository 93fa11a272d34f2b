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

TEST(JsonTest, DeepNestingIsRefusedBeforeParsing) {
  // 100,000 levels: walking such a document would overflow the stack.
  constexpr int kLevels = 100000;
  std::string deep = std::string(kLevels, '[') + std::string(kLevels, ']');
  absl::StatusOr<Json> doc = ParseJson(deep, "Detail");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(doc.status().message(), "Detail: nesting deeper than 2000 levels");
  std::string objects;
  for (int i = 0; i < kLevels; ++i) objects += "{\"a\":";
  objects += "1" + std::string(kLevels, '}');
  EXPECT_FALSE(ParseJson(objects).ok());
}

TEST(JsonTest, NestingLimitCountsContainersOutsideStrings) {
  EXPECT_TRUE(ParseJson("[[1]]", "x", 2).ok());
  EXPECT_THAT(std::string(ParseJson("[[[1]]]", "x", 2).status().message()),
              ::testing::HasSubstr("nesting deeper than 2 levels"));
  EXPECT_TRUE(ParseJson(R"({"a":"[[[{{{\"[["})", "x", 1).ok());
  EXPECT_TRUE(ParseJson(std::string(kMaxJsonNesting, '[') +
                        std::string(kMaxJsonNesting, ']'))
                  .ok());
  EXPECT_FALSE(ParseJson(std::string(kMaxJsonNesting + 1, '[') +
                         std::string(kMaxJsonNesting + 1, ']'))
                   .ok());
  // An unbalanced closer does not hide later nesting from the count.
  EXPECT_FALSE(JsonNestingWithin("]]]][[[", 2));
}

TEST(JsonTest, JsonDepthOfADeepDocumentDoesNotRecurse) {
  absl::StatusOr<Json> doc = ParseJson(std::string(kMaxJsonNesting, '[') +
                                       std::string(kMaxJsonNesting, ']'));
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(JsonDepth(*doc), kMaxJsonNesting);
  EXPECT_EQ(JsonDepth(*ParseJson("{}")), 1);
  EXPECT_EQ(JsonDepth(*ParseJson("[[]]")), 2);
}

}  // namespace
}  // namespace evbus::common
