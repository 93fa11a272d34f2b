#include "server/topics/delivery_policy.h"

#include <numeric>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::topics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DeliveryPolicyTest, DefaultIsThreeRetriesTwentySecondsApart) {
  EXPECT_THAT(RetryDelays(HttpRetryPolicy{}), ElementsAre(20, 20, 20));
  absl::StatusOr<HttpRetryPolicy> empty = ParseHttpDeliveryPolicy("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(RetryDelays(*empty), ElementsAre(20, 20, 20));
}

TEST(DeliveryPolicyTest, PhasesAndFunctions) {
  absl::StatusOr<HttpRetryPolicy> p = ParseHttpDeliveryPolicy(R"({"http":{
      "defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":60,
      "numRetries":8,"numNoDelayRetries":1,"numMinDelayRetries":2,
      "numMaxDelayRetries":1,"backoffFunction":"linear"}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  // 1 without delay, 2 at the minimum, 4 backing off, 1 at the maximum.
  EXPECT_THAT(RetryDelays(*p), ElementsAre(0, 1, 1, 16, 31, 45, 60, 60));
  for (const char* f : {"arithmetic", "geometric", "exponential"}) {
    p->backoff_function = f;
    std::vector<int32_t> d = RetryDelays(*p);
    ASSERT_EQ(d.size(), 8u) << f;
    // Backoff phase: rising to the maximum, below linear on the way.
    EXPECT_LT(d[3], 16) << f;
    EXPECT_EQ(d[6], 60) << f;
    EXPECT_TRUE(std::is_sorted(d.begin(), d.end())) << f;
  }
  // numRetries 0: no retry at all.
  p = ParseHttpDeliveryPolicy(
      R"({"http":{"defaultHealthyRetryPolicy":{"numRetries":0}}})");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(RetryDelays(*p).empty());
}

TEST(DeliveryPolicyTest, RetriesEndWithinAnHour) {
  absl::StatusOr<HttpRetryPolicy> p = ParseHttpDeliveryPolicy(R"({"http":{
      "defaultHealthyRetryPolicy":{"minDelayTarget":600,
      "maxDelayTarget":600,"numRetries":100}}})");
  ASSERT_TRUE(p.ok());
  std::vector<int32_t> d = RetryDelays(*p);
  EXPECT_EQ(d.size(), 6u);
  EXPECT_LE(std::accumulate(d.begin(), d.end(), 0), 3600);
}

TEST(DeliveryPolicyTest, InvalidPoliciesNameTheMember) {
  for (
      const auto& [json, what] :
      std::vector<std::pair<const char*, const char*>>{
          {"[]", "not a JSON object"},
          {R"({"http":{"defaultHealthyRetryPolicy":{"numRetries":101}}})",
           "numRetries must be an integer from 0 to 100"},
          {R"({"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":0}}})",
           "minDelayTarget must be an integer from 1 to 3600"},
          {R"({"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":30,
                "maxDelayTarget":20}}})",
           "minDelayTarget must not be more than maxDelayTarget"},
          {R"({"http":{"defaultHealthyRetryPolicy":{"numRetries":2,
                "numNoDelayRetries":3}}})",
           "add up to more than numRetries"},
          {R"({"http":{"defaultHealthyRetryPolicy":{"backoffFunction":"cubic"}}})",
           "backoffFunction must be linear"}}) {
    absl::StatusOr<HttpRetryPolicy> p = ParseHttpDeliveryPolicy(json);
    ASSERT_FALSE(p.ok()) << json;
    EXPECT_THAT(p.status().message(), HasSubstr(what)) << json;
    EXPECT_THAT(p.status().message(), HasSubstr("DeliveryPolicy: "));
  }
}

TEST(DeliveryPolicyTest, EmailIsFiftyRetriesOverHours) {
  std::vector<int32_t> d = EmailRetryDelays();
  EXPECT_EQ(d.size(), 50u);
  EXPECT_EQ(d[0], 10);
  EXPECT_EQ(d[1], 10);
  EXPECT_EQ(d.back(), 600);
  EXPECT_TRUE(std::is_sorted(d.begin(), d.end()));
}

}  // namespace
}  // namespace evbus::topics
