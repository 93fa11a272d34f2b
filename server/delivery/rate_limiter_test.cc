#include "server/delivery/rate_limiter.h"

#include "gtest/gtest.h"

namespace evbus::delivery {
namespace {

TEST(TokenBucketTest, BurstThenRate) {
  common::ManualClock clock(absl::FromUnixSeconds(1000));
  TokenBucket bucket(clock, /*rate=*/2, /*burst=*/2);
  EXPECT_TRUE(bucket.TryAcquire());
  EXPECT_TRUE(bucket.TryAcquire());
  EXPECT_FALSE(bucket.TryAcquire());
  EXPECT_EQ(bucket.NextToken(), clock.Now() + absl::Milliseconds(500));
  clock.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(bucket.TryAcquire());
  EXPECT_FALSE(bucket.TryAcquire());
  clock.Advance(absl::Seconds(10));  // refills to the burst, no more
  EXPECT_TRUE(bucket.TryAcquire());
  EXPECT_TRUE(bucket.TryAcquire());
  EXPECT_FALSE(bucket.TryAcquire());
}

TEST(TokenBucketTest, AverageRateOverTime) {
  common::ManualClock clock(absl::FromUnixSeconds(1000));
  TokenBucket bucket(clock, /*rate=*/10, /*burst=*/1);
  int granted = 0;
  for (int ms = 0; ms < 10000; ++ms) {
    if (bucket.TryAcquire()) ++granted;
    clock.Advance(absl::Milliseconds(1));
  }
  EXPECT_NEAR(granted, 100, 2);
}

}  // namespace
}  // namespace evbus::delivery
