#include "server/targets/target_arn.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::targets {
namespace {

TEST(TargetArnTest, Shorthands) {
  EXPECT_EQ(ParseTargetArn("http://127.0.0.1:8080/x", "t")->kind,
            TargetKind::kWebhook);
  EXPECT_EQ(ParseTargetArn("https://example.test/hook", "t")->name,
            "https://example.test/hook");
  EXPECT_EQ(ParseTargetArn("function:check", "t")->kind, TargetKind::kFunction);
  EXPECT_EQ(ParseTargetArn("topic:ops", "t")->name, "ops");
  EXPECT_EQ(ParseTargetArn("bus:orders", "t")->kind, TargetKind::kBus);
  EXPECT_EQ(ParseTargetArn("log:audit", "t")->kind, TargetKind::kLog);
}

TEST(TargetArnTest, AwsArns) {
  auto f = ParseTargetArn(
      "arn:aws:lambda:us-east-1:123456789012:function:check:PROD", "t");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, TargetKind::kFunction);
  EXPECT_EQ(f->name, "check");
  EXPECT_EQ(ParseTargetArn("arn:aws:sns:us-east-1:123456789012:ops", "t")->name,
            "ops");
  EXPECT_EQ(ParseTargetArn(
                "arn:aws:events:us-east-1:123456789012:event-bus/orders", "t")
                ->name,
            "orders");
  auto d = ParseTargetArn(
      "arn:aws:events:us-east-1:123456789012:api-destination/hook/abc-123",
      "t");
  EXPECT_EQ(d->kind, TargetKind::kApiDestination);
  EXPECT_EQ(d->name, "hook");
  auto l = ParseTargetArn(
      "arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/x:*", "t");
  EXPECT_EQ(l->kind, TargetKind::kLog);
  EXPECT_EQ(l->name, "/aws/events/x");
}

TEST(TargetArnTest, RejectsWithTargetId) {
  for (const char* bad : {"", "ftp://x", "http://", "http:// space", "sqs:q",
                          "arn:aws:sqs:us-east-1:123456789012:queue",
                          "function:", "function:bad name",
                          "arn:aws:lambda:us-east-1:1:function"}) {
    auto r = ParseTargetArn(bad, "target-7");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()),
                ::testing::HasSubstr("target-7"));
  }
}

}  // namespace
}  // namespace evbus::targets
