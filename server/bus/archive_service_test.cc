#include "server/bus/archive_service.h"

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/bus/bus_service.h"
#include "server/bus/rule_registry.h"
#include "server/storage/keys.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::bus {
namespace {

using ::evbus::testing::IsOk;

constexpr char kBusArn[] =
    "arn:aws:events:us-east-1:000000000000:event-bus/default";
constexpr char kArchiveArn[] =
    "arn:aws:events:us-east-1:000000000000:archive/keep";

// A store with the default bus (its clock does not move: events put share
// one millisecond), and what every test below does with it.
class ArchiveServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::Open({.path = dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    rules_ =
        std::make_unique<RuleRegistry>(*store_, clock_, RuleRegistryOptions{});
    ASSERT_THAT(rules_->Load(), IsOk());
    auto buses = BusService::Create(*store_, clock_, registry_, {},
                                    rules_.get(), /*dispatcher=*/nullptr);
    ASSERT_TRUE(buses.ok()) << buses.status();
    buses_ = *std::move(buses);
  }

  std::unique_ptr<ArchiveService> Service(const ArchiveOptions& options) {
    auto archives = std::make_unique<ArchiveService>(*store_, clock_, *rules_,
                                                     *buses_, options);
    EXPECT_THAT(archives->Load(), IsOk());
    return archives;
  }

  // Archive "keep" of the default bus, then `events` events on it.
  void ArchiveEvents(ArchiveService& archives, int events) {
    evbus::v1::CreateArchiveRequest create;
    create.set_archive_name("keep");
    create.set_event_source_arn(kBusArn);
    ASSERT_TRUE(archives.CreateArchive(create).ok());
    for (int i = 0; i < events; ++i) {
      common::EventEntry e;
      e.source = "com.example";
      e.detail_type = "Thing";
      e.detail = absl::StrCat(R"({"n":)", i, "}");
      ASSERT_TRUE(buses_->PutEvents({e}).ok());
    }
  }

  // Replay "again" of archive "keep" onto the default bus, a minute either
  // side of now.
  void StartReplay(ArchiveService& archives) {
    evbus::v1::StartReplayRequest start;
    start.set_replay_name("again");
    start.set_event_source_arn(kArchiveArn);
    start.set_event_start_time_ms(absl::ToUnixMillis(clock_.Now()) - 60000);
    start.set_event_end_time_ms(absl::ToUnixMillis(clock_.Now()) + 60000);
    start.mutable_destination()->set_arn(kBusArn);
    ASSERT_TRUE(archives.StartReplay(start).ok());
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_{absl::FromUnixSeconds(1767323045)};
  metrics::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<RuleRegistry> rules_;
  std::unique_ptr<BusService> buses_;
};

// Waits (bounded) until replay `name` has left STARTING and RUNNING.
evbus::v1::Replay WaitForReplayEnd(ArchiveService& archives,
                                   const std::string& name) {
  evbus::v1::Replay replay;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    absl::StatusOr<evbus::v1::Replay> r = archives.DescribeReplay(name);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    replay = *r;
    if (replay.state() != "STARTING" && replay.state() != "RUNNING") break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return replay;
}

// RetentionDays counts from when an event was archived, not from its own
// time (QA Q M3: events sent with a time years back were trimmed within a
// minute); events archived before arrival times were recorded still go by
// their time.
TEST_F(ArchiveServiceTest, RetentionCountsFromArrival) {
  std::unique_ptr<ArchiveService> archives = Service({});
  evbus::v1::CreateArchiveRequest create;
  create.set_archive_name("keep");
  create.set_event_source_arn(kBusArn);
  create.set_retention_days(3);
  ASSERT_TRUE(archives->CreateArchive(create).ok());
  auto put = [&](absl::Time time, const char* n) {
    common::EventEntry e;
    e.source = "com.example";
    e.detail_type = "Thing";
    e.detail = absl::StrCat(R"({"n":")", n, R"("})");
    e.time = absl::StrCat(absl::ToUnixSeconds(time));
    ASSERT_TRUE(buses_->PutEvents({e}).ok());
  };
  put(clock_.Now() - absl::Hours(24 * 300), "backdated");
  put(clock_.Now(), "now");
  // An event archived before arrival times were kept: no arrival record.
  storage::WriteBatch legacy;
  legacy.Put(
      storage::Family::kArchive,
      storage::keys::ArchiveKey("keep",
                                static_cast<uint64_t>(absl::ToUnixMillis(
                                    clock_.Now() - absl::Hours(24 * 10))),
                                "legacy-id"),
      R"({"id":"legacy-id"})");
  ASSERT_THAT(store_->Write(legacy), IsOk());
  auto count = [&] {
    absl::StatusOr<evbus::v1::Archive> a = archives->DescribeArchive("keep");
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? a->event_count() : -1;
  };
  EXPECT_EQ(count(), 3);

  clock_.Advance(absl::Minutes(2));
  ASSERT_THAT(archives->TrimArchives(), IsOk());
  // The back-dated event arrived two minutes ago: kept. The legacy one is
  // 10 days old by its time: trimmed, as before.
  EXPECT_EQ(count(), 2);

  clock_.Advance(absl::Hours(24 * 3));
  ASSERT_THAT(archives->TrimArchives(), IsOk());
  EXPECT_EQ(count(), 0);
  // Their arrival records went with them.
  int left = 0;
  ASSERT_THAT(store_->Scan(storage::Family::kArchive, "", "",
                           [&](absl::string_view, absl::string_view) {
                             ++left;
                             return true;
                           }),
              IsOk());
  EXPECT_EQ(left, 0);
}

// An archive deleted while a replay of it runs: the replay ends FAILED,
// not COMPLETED with part of the window put back.
TEST_F(ArchiveServiceTest, DeletingTheArchiveFailsItsRunningReplay) {
  absl::Notification first_batch;
  absl::Notification deleted;
  ArchiveOptions options;
  options.replay_batch = 1;
  options.after_replay_batch = [&](const std::string&) {
    if (first_batch.HasBeenNotified()) return;
    first_batch.Notify();
    deleted.WaitForNotificationWithTimeout(absl::Seconds(30));
  };
  std::unique_ptr<ArchiveService> archives = Service(options);
  ArchiveEvents(*archives, 3);
  StartReplay(*archives);
  ASSERT_TRUE(first_batch.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_THAT(archives->DeleteArchive("keep"), IsOk());
  deleted.Notify();

  evbus::v1::Replay replay = WaitForReplayEnd(*archives, "again");
  EXPECT_EQ(replay.state(), "FAILED");
  EXPECT_EQ(replay.state_reason(), "The archive no longer exists.");
  EXPECT_EQ(replay.events_replayed(), 1);
  archives->Stop();
}

// A replay stopped between batches (a restart) resumes after the last event
// it put back, also when the events share its millisecond: every event of
// the window comes back once.
TEST_F(ArchiveServiceTest, AStoppedReplayResumesAfterItsLastEvent) {
  ArchiveOptions options;
  options.replay_batch = 2;
  options.stop_after_batches_for_testing = 1;
  {
    std::unique_ptr<ArchiveService> archives = Service(options);
    // What the replay puts back lands here (keyed by event id).
    evbus::v1::CreateArchiveRequest copies;
    copies.set_archive_name("copies");
    copies.set_event_source_arn(kBusArn);
    copies.set_event_pattern(R"({"replay-name":["again"]})");
    ASSERT_TRUE(archives->CreateArchive(copies).ok());
    ArchiveEvents(*archives, 7);  // in one millisecond
    StartReplay(*archives);
    // One batch, then the thread returns as at shutdown.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline &&
           archives->DescribeReplay("again")->events_replayed() < 2) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    archives->Stop();
    EXPECT_EQ(archives->DescribeReplay("again")->events_replayed(), 2);
  }
  options.stop_after_batches_for_testing = 0;
  std::unique_ptr<ArchiveService> archives = Service(options);  // resumes it
  evbus::v1::Replay replay = WaitForReplayEnd(*archives, "again");
  EXPECT_EQ(replay.state(), "COMPLETED");
  EXPECT_EQ(replay.events_replayed(), 7);
  std::set<std::string> replayed;
  const std::string prefix = storage::keys::ArchivePrefix("copies");
  ASSERT_THAT(store_->Scan(storage::Family::kArchive, prefix,
                           storage::keys::PrefixEnd(prefix),
                           [&](absl::string_view key, absl::string_view) {
                             replayed.insert(std::string(key));
                             return true;
                           }),
              IsOk());
  EXPECT_EQ(replayed.size(), 7u);
  archives->Stop();
}

}  // namespace
}  // namespace evbus::bus
