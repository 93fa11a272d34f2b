#include "server/common/thread_priority.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::common {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;

TEST(ThreadPriorityTest, SetsOnlyTheCallingThread) {
  const int before = CurrentThreadNice();
  int inside = -1;
  absl::Status set;
  std::thread t([&] {
    set = SetCurrentThreadNice(std::max(before, 7));
    inside = CurrentThreadNice();
  });
  t.join();
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(inside, std::max(before, 7));
  EXPECT_EQ(CurrentThreadNice(), before);  // this thread is unchanged
}

TEST(ThreadPriorityTest, RefusesValuesOutsideZeroToNineteen) {
  EXPECT_THAT(
      SetCurrentThreadNice(-1),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("-1")));
  EXPECT_THAT(SetCurrentThreadNice(20),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace evbus::common
