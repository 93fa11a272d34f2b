#include "server/common/log_rate_limiter.h"

#include "gtest/gtest.h"

namespace evbus::common {
namespace {

TEST(LogRateLimiterTest, AdmitsPerWindowAndCountsTheRest) {
  LogRateLimiter limiter(3, absl::Minutes(1));
  const absl::Time t0 = absl::FromUnixSeconds(1000000);
  uint64_t dropped = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit(t0 + absl::Seconds(i), &dropped));
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(limiter.Admit(t0 + absl::Seconds(10 + i), &dropped));
  }
  EXPECT_EQ(dropped, 0u);
  // The next window admits again and says how many were dropped, once.
  EXPECT_TRUE(limiter.Admit(t0 + absl::Seconds(61), &dropped));
  EXPECT_EQ(dropped, 5u);
  dropped = 0;
  EXPECT_TRUE(limiter.Admit(t0 + absl::Seconds(62), &dropped));
  EXPECT_EQ(dropped, 0u);
}

TEST(LogRateLimiterTest, AWindowStartsWithTheFirstLineAfterTheLast) {
  LogRateLimiter limiter(1, absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(5000);
  uint64_t dropped = 0;
  EXPECT_TRUE(limiter.Admit(t0, &dropped));
  EXPECT_FALSE(limiter.Admit(t0 + absl::Seconds(9), &dropped));
  EXPECT_TRUE(limiter.Admit(t0 + absl::Seconds(100), &dropped));
  EXPECT_EQ(dropped, 1u);
  EXPECT_FALSE(limiter.Admit(t0 + absl::Seconds(105), &dropped));
}

}  // namespace
}  // namespace evbus::common
