#include "server/api/http/connection_threads.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace evbus::api {
namespace {

// Tasks that block (as idle connections do) do not keep a later task from
// running: each gets its own thread.
TEST(ConnectionThreadsTest, BlockedTasksDoNotHoldUpTheNext) {
  constexpr int kBlocked = 64;
  ConnectionThreads threads({.min_threads = 2, .max_threads = 128});
  absl::Notification release;
  absl::BlockingCounter started(kBlocked);
  for (int i = 0; i < kBlocked; ++i) {
    threads.enqueue([&] {
      started.DecrementCount();
      release.WaitForNotification();
    });
  }
  started.Wait();
  absl::Notification ran;
  threads.enqueue([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(threads.ThreadCountForTesting(), kBlocked + 1u);
  release.Notify();
  threads.shutdown();
}

// Beyond max_threads, tasks wait for a free thread and all still run.
TEST(ConnectionThreadsTest, AtMostMaxThreadsAndQueuedTasksRun) {
  ConnectionThreads threads({.min_threads = 1, .max_threads = 3});
  absl::Notification release;
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    threads.enqueue([&] {
      release.WaitForNotification();
      ++done;
    });
  }
  EXPECT_EQ(threads.ThreadCountForTesting(), 3u);
  release.Notify();
  threads.shutdown();  // runs what is queued, then joins
  EXPECT_EQ(done.load(), 10);
}

// Idle threads beyond min_threads exit; the next task joins them and runs.
TEST(ConnectionThreadsTest, IdleThreadsExitDownToTheMinimum) {
  ConnectionThreads threads({.min_threads = 1,
                             .max_threads = 8,
                             .idle_exit = absl::Milliseconds(20)});
  absl::Notification release;
  absl::BlockingCounter finished(4);
  for (int i = 0; i < 4; ++i) {
    threads.enqueue([&] {
      release.WaitForNotification();
      finished.DecrementCount();
    });
  }
  EXPECT_EQ(threads.ThreadCountForTesting(), 4u);
  release.Notify();
  finished.Wait();
  // Bounded wait for the idle exits (20 ms each).
  for (int i = 0; i < 500 && threads.ThreadCountForTesting() > 1; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(threads.ThreadCountForTesting(), 1u);
  absl::Notification ran;
  threads.enqueue([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  threads.shutdown();
}

}  // namespace
}  // namespace evbus::api
