#include "server/common/thread_priority.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::common {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;

TEST(ThreadPriorityTest, LowersOnlyTheCallingThreadRelatively) {
  const int before = CurrentThreadNice();
  int inside = -1;
  int capped = -1;
  absl::Status lowered;
  absl::Status again;
  std::thread t([&] {
    lowered = LowerCurrentThreadPriority(7);
    inside = CurrentThreadNice();
    again = LowerCurrentThreadPriority(19);  // capped at 19
    capped = CurrentThreadNice();
  });
  t.join();
  ASSERT_THAT(lowered, IsOk());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(inside, std::min(19, before + 7));
  EXPECT_EQ(capped, 19);
  EXPECT_EQ(CurrentThreadNice(), before);  // this thread is unchanged
}

TEST(ThreadPriorityTest, RefusesStepsOutsideZeroToNineteen) {
  EXPECT_THAT(
      LowerCurrentThreadPriority(-1),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("-1")));
  EXPECT_THAT(LowerCurrentThreadPriority(20),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace evbus::common
