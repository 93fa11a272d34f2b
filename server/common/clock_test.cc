#include "server/common/clock.h"

#include "gtest/gtest.h"

namespace evbus::common {
namespace {

TEST(ManualClockTest, MovesOnlyWhenTold) {
  absl::Time start = absl::FromUnixSeconds(1700000000);
  ManualClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Minutes(5));
  EXPECT_EQ(clock.Now(), start + absl::Minutes(5));
  clock.Set(start);
  EXPECT_EQ(clock.Now(), start);
}

TEST(RealClockTest, IsNearSystemTime) {
  RealClock clock;
  EXPECT_LT(absl::AbsDuration(clock.Now() - absl::Now()), absl::Seconds(5));
}

}  // namespace
}  // namespace evbus::common
