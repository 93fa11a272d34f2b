#include "server/storage/group_commit.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::storage {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;

TEST(GroupCommitTest, EveryCommittedBatchIsDurableBeforeItsCallback) {
  evbus::testing::TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  {
    EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
    GroupCommitter committer(*store);
    absl::BlockingCounter done(kThreads * kPerThread);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          WriteBatch batch;
          const std::string key = absl::StrCat("k", t, "-", i);
          batch.Put(Family::kEvents, key, "event");
          batch.Put(Family::kQueue, key, "task");
          committer.Commit(std::move(batch), [&, key](absl::Status s) {
            EXPECT_THAT(s, IsOk());
            // Visible (and synced) by the time the caller hears of it.
            EXPECT_EQ(store->Get(Family::kQueue, key).value().value_or(""),
                      "task");
            done.DecrementCount();
          });
        }
      });
    }
    for (std::thread& t : threads) t.join();
    done.Wait();
    // Calls that arrive while a group is synced share the next write.
    EXPECT_EQ(committer.batches(), uint64_t{kThreads * kPerThread});
    EXPECT_LE(committer.groups(), committer.batches());
    EXPECT_GE(committer.groups(), 1u);
  }
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string key = absl::StrCat("k", t, "-", i);
      EXPECT_EQ(store->Get(Family::kEvents, key).value().value_or(""), "event")
          << key;
    }
  }
}

TEST(GroupCommitTest, StopCommitsWhatIsQueuedAndRefusesLaterCalls) {
  evbus::testing::TempDir dir;
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
  GroupCommitter committer(*store);
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    WriteBatch batch;
    batch.Put(Family::kEvents, absl::StrCat("k", i), "v");
    committer.Commit(std::move(batch), [&](absl::Status s) {
      if (s.ok()) ++ok;  // the commit thread only: no race
    });
  }
  committer.Stop();
  EXPECT_EQ(ok, 50);
  absl::Status late;
  WriteBatch batch;
  batch.Put(Family::kEvents, "late", "v");
  committer.Commit(std::move(batch), [&](absl::Status s) { late = s; });
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kUnavailable,
                             HasSubstr("shutting down")));
  EXPECT_FALSE(store->Get(Family::kEvents, "late").value().has_value());
  committer.Stop();  // idempotent
}

TEST(GroupCommitTest, AFailedWriteFailsEveryBatchOfItsGroup) {
  evbus::testing::TempDir dir;
  StoreOptions options{.path = dir.path()};
  options.enable_fault_injection_for_testing = true;
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(options));
  store->FailWritesForTesting();
  GroupCommitter committer(*store);
  absl::BlockingCounter done(10);
  std::vector<absl::Status> results(10);
  for (int i = 0; i < 10; ++i) {
    WriteBatch batch;
    batch.Put(Family::kEvents, absl::StrCat("k", i), "v");
    committer.Commit(std::move(batch), [&, i](absl::Status s) {
      results[i] = s;
      done.DecrementCount();
    });
  }
  done.Wait();
  for (const absl::Status& s : results) {
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  }
}

}  // namespace
}  // namespace evbus::storage
