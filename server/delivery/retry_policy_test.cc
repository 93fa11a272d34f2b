#include "server/delivery/retry_policy.h"

#include <vector>

#include "gtest/gtest.h"

namespace evbus::delivery {
namespace {

const absl::Time kIngest = absl::FromUnixSeconds(1700000000);

TEST(RetryPolicyTest, BackoffGrowsWithJitterAndCap) {
  absl::BitGen rng;
  BackoffOptions backoff;  // 1 s base, 5 min cap
  for (int attempts = 1; attempts <= 20; ++attempts) {
    absl::Duration full = std::min(
        backoff.base * (1LL << std::min(attempts - 1, 20)), backoff.cap);
    for (int i = 0; i < 50; ++i) {
      RetryPlan p = PlanRetry({}, backoff, attempts, kIngest, kIngest, {}, rng);
      ASSERT_TRUE(p.retry);
      absl::Duration delay = p.due - kIngest;
      EXPECT_GE(delay, full / 2) << attempts;
      EXPECT_LE(delay, full) << attempts;
    }
  }
}

TEST(RetryPolicyTest, MaximumRetryAttempts) {
  absl::BitGen rng;
  RetryLimits limits;
  limits.max_retry_attempts = 2;
  EXPECT_TRUE(PlanRetry(limits, {}, 1, kIngest, kIngest, {}, rng).retry);
  EXPECT_TRUE(PlanRetry(limits, {}, 2, kIngest, kIngest, {}, rng).retry);
  RetryPlan p = PlanRetry(limits, {}, 3, kIngest, kIngest, {}, rng);
  EXPECT_FALSE(p.retry);
  EXPECT_EQ(p.exhausted_condition, "MaximumRetryAttempts");
  limits.max_retry_attempts = 0;  // a single try
  EXPECT_FALSE(PlanRetry(limits, {}, 1, kIngest, kIngest, {}, rng).retry);
}

// A target's own schedule (SNS delivery policies): one retry per delay,
// each after its delay exactly.
TEST(RetryPolicyTest, ExplicitDelays) {
  absl::BitGen rng;
  const std::vector<int32_t> delays = {0, 20, 45};
  for (int attempts = 1; attempts <= 3; ++attempts) {
    RetryPlan p =
        PlanRetry({}, {}, attempts, kIngest, kIngest, {}, rng, delays);
    ASSERT_TRUE(p.retry) << attempts;
    EXPECT_EQ(p.due - kIngest, absl::Seconds(delays[attempts - 1]));
  }
  RetryPlan done = PlanRetry({}, {}, 4, kIngest, kIngest, {}, rng, delays);
  EXPECT_FALSE(done.retry);
  EXPECT_EQ(done.exhausted_condition, "MaximumRetryAttempts");
  // Retry-After still wins when later.
  RetryPlan later =
      PlanRetry({}, {}, 2, kIngest, kIngest, absl::Seconds(60), rng, delays);
  EXPECT_EQ(later.due - kIngest, absl::Seconds(60));
}

TEST(RetryPolicyTest, MaximumEventAge) {
  absl::BitGen rng;
  RetryLimits limits;
  limits.max_event_age = absl::Seconds(60);
  RetryPlan p =
      PlanRetry(limits, {}, 1, kIngest, kIngest + absl::Seconds(60), {}, rng);
  EXPECT_FALSE(p.retry);
  EXPECT_EQ(p.exhausted_condition, "MaximumEventAgeInSeconds");
}

TEST(RetryPolicyTest, RetryAfterIsALowerBound) {
  absl::BitGen rng;
  RetryPlan p = PlanRetry({}, {}, 1, kIngest, kIngest, absl::Seconds(30), rng);
  ASSERT_TRUE(p.retry);
  EXPECT_EQ(p.due, kIngest + absl::Seconds(30));
  // The policy wins when it is later.
  p = PlanRetry({}, {}, 10, kIngest, kIngest, absl::Seconds(1), rng);
  EXPECT_GE(p.due - kIngest, absl::Seconds(128));
}

}  // namespace
}  // namespace evbus::delivery
