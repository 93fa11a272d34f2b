// The scheduler over a real RocksDB store and a manual clock: ticks fire as
// the clock moves, exactly once, and produce delivery tasks in the queue.
#include "server/scheduler/scheduler.h"

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/ids.h"
#include "server/storage/keys.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::scheduler {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;

// Records rule ticks (and writes nothing else into the batch).
class RecordingTicks final : public RuleTickSink {
 public:
  std::vector<delivery::QueueEntry> AddRuleTick(const evbus::v1::Rule& rule,
                                                absl::Time when,
                                                storage::WriteBatch&) override {
    absl::MutexLock lock(&mu);
    ticks.emplace_back(rule.name(), when);
    return {};
  }
  size_t Count() {
    absl::MutexLock lock(&mu);
    return ticks.size();
  }
  absl::Mutex mu;
  std::vector<std::pair<std::string, absl::Time>> ticks ABSL_GUARDED_BY(mu);
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    scheduler_.reset();
    store_.reset();
    store_ = std::move(storage::Store::Open({.path = dir_.path()}).value());
    SchedulerOptions options;
    options.idle_poll = absl::Milliseconds(10);
    scheduler_ = std::make_unique<Scheduler>(*store_, clock_, registry_, ticks_,
                                             nullptr, options);
  }
  evbus::v1::Rule RateRule(const std::string& expr) {
    evbus::v1::Rule r;
    r.set_name("every");
    r.set_event_bus_name("default");
    r.set_schedule_expression(expr);
    r.set_state("ENABLED");
    r.set_creation_time_ms(absl::ToUnixMillis(clock_.Now()));
    return r;
  }
  // Advances the clock one minute at a time (as a user stepping through an
  // hour would see it) and waits until `want` ticks fired, bounded.
  bool AdvanceAndWait(absl::Duration by, size_t want) {
    clock_.Advance(by);
    scheduler_->Poke();
    for (int i = 0; i < 500 && ticks_.Count() < want; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return ticks_.Count() == want;
  }
  size_t QueueSize() {
    size_t n = 0;
    EXPECT_THAT(store_->Scan(storage::Family::kQueue, "", "",
                             [&](absl::string_view, absl::string_view) {
                               ++n;
                               return true;
                             }),
                IsOk());
    return n;
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01
  metrics::Registry registry_;
  RecordingTicks ticks_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, RateFiveMinutesOverAnHourFiresTwelveTimes) {
  scheduler_->SyncRule(RateRule("rate(5 minutes)"), false);
  ASSERT_THAT(scheduler_->Start(), IsOk());
  EXPECT_TRUE(AdvanceAndWait(absl::Minutes(60), 12));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ticks_.Count(), 12u);
  absl::MutexLock lock(&ticks_.mu);
  EXPECT_EQ(ticks_.ticks.front().second,
            absl::FromUnixSeconds(1767225600) + absl::Minutes(5));
  EXPECT_EQ(ticks_.ticks.back().second,
            absl::FromUnixSeconds(1767225600) + absl::Minutes(60));
}

// Ticks due together are recorded together: fifty rules due in the same
// instant cost one synced write, not fifty in a row (which made the last of
// a thousand schedules due in one second fire a second late).
TEST_F(SchedulerTest, TicksDueTogetherShareOneSyncedWrite) {
  for (int i = 0; i < 50; ++i) {
    evbus::v1::Rule r = RateRule("rate(1 hour)");
    r.set_name(absl::StrCat("every-", i));
    scheduler_->SyncRule(r, false);
  }
  ASSERT_THAT(scheduler_->Start(), IsOk());
  const uint64_t before = store_->synced_writes();
  EXPECT_TRUE(AdvanceAndWait(absl::Hours(1), 50));
  // The sink sees the ticks before their write is made: wait for it.
  for (int i = 0; i < 500 && store_->synced_writes() == before; ++i) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(store_->synced_writes() - before, 1u);
  // Each one's next tick is recorded: an hour later all fire again, once.
  EXPECT_TRUE(AdvanceAndWait(absl::Hours(1), 100));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ticks_.Count(), 100u);
}

TEST_F(SchedulerTest, DisabledAndDeletedRulesDoNotFire) {
  evbus::v1::Rule r = RateRule("rate(1 minute)");
  r.set_state("DISABLED");
  scheduler_->SyncRule(r, false);
  ASSERT_THAT(scheduler_->Start(), IsOk());
  EXPECT_TRUE(AdvanceAndWait(absl::Minutes(10), 0));
  r.set_state("ENABLED");
  scheduler_->SyncRule(r, false);
  EXPECT_TRUE(AdvanceAndWait(absl::Minutes(2), 2));
  scheduler_->SyncRule(r, true);
  EXPECT_TRUE(AdvanceAndWait(absl::Minutes(10), 2));
}

TEST_F(SchedulerTest, TicksFireOnceAcrossRestartAndLatestMissedTickFires) {
  scheduler_->SyncRule(RateRule("rate(1 hour)"), false);
  ASSERT_THAT(scheduler_->Start(), IsOk());
  EXPECT_TRUE(AdvanceAndWait(absl::Hours(1), 1));
  // "Crash" and come back 5 hours later: only the latest missed tick fires.
  scheduler_->Stop();
  clock_.Advance(absl::Hours(5));
  Open();
  evbus::v1::Rule r = RateRule("rate(1 hour)");
  r.set_creation_time_ms(absl::ToUnixMillis(absl::FromUnixSeconds(1767225600)));
  scheduler_->SyncRule(r, false);
  ASSERT_THAT(scheduler_->Start(), IsOk());
  EXPECT_TRUE(AdvanceAndWait(absl::ZeroDuration(), 2));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ticks_.Count(), 2u);
  {
    absl::MutexLock lock(&ticks_.mu);
    EXPECT_EQ(ticks_.ticks.back().second,
              absl::FromUnixSeconds(1767225600) + absl::Hours(6));
  }
  // The next tick is the following hour, not a replay.
  EXPECT_TRUE(AdvanceAndWait(absl::Minutes(59), 2));
  EXPECT_TRUE(AdvanceAndWait(absl::Minutes(1), 3));
}

TEST_F(SchedulerTest, AtScheduleWithDeleteFiresOnceAndDisappears) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  evbus::v1::Schedule s;
  s.set_name("once");
  s.set_schedule_expression("at(2026-01-01T00:30:00)");
  s.mutable_flexible_time_window()->set_mode("OFF");
  s.set_action_after_completion("DELETE");
  s.mutable_target()->set_arn("http://127.0.0.1:9/hook");
  s.mutable_target()->set_input(R"({"hello":"world"})");
  EVBUS_ASSERT_OK_AND_ASSIGN(evbus::v1::Schedule created,
                             scheduler_->CreateSchedule(s));
  EXPECT_EQ(created.arn(),
            "arn:aws:scheduler:us-east-1:000000000000:schedule/default/once");
  clock_.Advance(absl::Minutes(31));
  scheduler_->Poke();
  for (int i = 0; i < 500 && scheduler_->GetSchedule("", "once").ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_THAT(scheduler_->GetSchedule("", "once"),
              StatusIs(absl::StatusCode::kNotFound));
  // The tick's delivery task is in the queue, carrying its target and input.
  std::vector<evbus::v1::DeliveryTask> tasks;
  ASSERT_THAT(store_->Scan(storage::Family::kQueue, "", "",
                           [&](absl::string_view, absl::string_view v) {
                             evbus::v1::DeliveryTask t;
                             t.ParseFromArray(v.data(),
                                              static_cast<int>(v.size()));
                             tasks.push_back(t);
                             return true;
                           }),
              IsOk());
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].envelope_json(), R"({"hello":"world"})");
  EXPECT_EQ(tasks[0].inline_target().arn(), "http://127.0.0.1:9/hook");
}

evbus::v1::Schedule DailySchedule(const std::string& group,
                                  const std::string& name) {
  evbus::v1::Schedule s;
  s.set_group_name(group);
  s.set_name(name);
  s.set_schedule_expression("rate(1 day)");
  s.mutable_flexible_time_window()->set_mode("OFF");
  s.mutable_target()->set_arn("log:daily");
  return s;
}

// Creates write outside the scheduler's lock (so that concurrent ones share
// an fsync): racing creates of one name still make exactly one schedule,
// and what a restart loads is what was acknowledged.
TEST_F(SchedulerTest, RacingCreatesOfOneNameMakeOneSchedule) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  constexpr int kThreads = 8;
  constexpr int kNames = 40;
  std::atomic<int> created{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kNames; ++i) {
        absl::StatusOr<evbus::v1::Schedule> r = scheduler_->CreateSchedule(
            DailySchedule("default", absl::StrCat("s-", i)));
        if (r.ok()) {
          ++created;
        } else if (r.status().code() == absl::StatusCode::kAlreadyExists) {
          ++conflicts;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load(), kNames);
  EXPECT_EQ(conflicts.load(), kNames * (kThreads - 1));
  EXPECT_EQ(scheduler_->ListSchedules("default", "", "").size(),
            static_cast<size_t>(kNames));
  scheduler_->Stop();
  Open();
  ASSERT_THAT(scheduler_->Start(), IsOk());
  EXPECT_EQ(scheduler_->ListSchedules("default", "", "").size(),
            static_cast<size_t>(kNames));
}

// A group deleted while creates are writing into it: those creates finish
// first and go with the group, later ones find no group, and nothing of the
// group is left in memory or (after a restart) in the store.
TEST_F(SchedulerTest, DeletingAGroupDuringCreatesLeavesNothingBehind) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  ASSERT_THAT(scheduler_->CreateScheduleGroup("team").status(), IsOk());
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000 && !stop.load(); ++i) {
        if (scheduler_
                ->CreateSchedule(
                    DailySchedule("team", absl::StrCat("s-", t, "-", i)))
                .ok()) {
          ++created;
        }
      }
    });
  }
  for (int i = 0; i < 500 && created.load() < 20; ++i) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_THAT(scheduler_->DeleteScheduleGroup("team"), IsOk());
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_GT(created.load(), 0);
  EXPECT_TRUE(scheduler_->ListSchedules("team", "", "").empty());
  scheduler_->Stop();
  Open();
  ASSERT_THAT(scheduler_->Start(), IsOk());
  EXPECT_TRUE(scheduler_->ListSchedules("team", "", "").empty());
  EXPECT_THAT(scheduler_->GetScheduleGroup("team"),
              StatusIs(absl::StatusCode::kNotFound));
  size_t stored = 0;
  ASSERT_THAT(store_->Scan(storage::Family::kCatalog, "", "",
                           [&](absl::string_view k, absl::string_view) {
                             stored += absl::StrContains(k, "team") ? 1 : 0;
                             return true;
                           }),
              IsOk());
  EXPECT_EQ(stored, 0u);
}

// Updates and deletes write outside the scheduler's lock too. Racing
// updates, deletes and a group delete, with schedules firing meanwhile:
// every call either takes effect or fails cleanly, the last acknowledged
// update is what is kept, and a restart loads exactly what memory had (no
// schedule written back into a deleted group).
TEST_F(SchedulerTest, RacingUpdatesAndDeletesKeepMemoryAndStoreTheSame) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  ASSERT_THAT(scheduler_->CreateScheduleGroup("team").status(), IsOk());
  constexpr int kNames = 24;
  for (const char* group : {"default", "team"}) {
    for (int i = 0; i < kNames; ++i) {
      evbus::v1::Schedule s = DailySchedule(group, absl::StrCat("s-", i));
      s.set_schedule_expression("rate(1 minute)");  // fires as time moves
      ASSERT_THAT(scheduler_->CreateSchedule(s).status(), IsOk());
    }
  }
  std::atomic<bool> stop{false};
  // Each name is updated by one thread: its last acknowledged update is the
  // description that must be kept.
  absl::Mutex acked_mu;
  std::map<std::string, std::string> acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 30 && !stop.load(); ++round) {
        for (int i = t; i < kNames; i += 4) {
          for (const char* group : {"default", "team"}) {
            evbus::v1::Schedule s = DailySchedule(group, absl::StrCat("s-", i));
            s.set_description(absl::StrCat("round ", round));
            absl::StatusOr<evbus::v1::Schedule> r =
                scheduler_->UpdateSchedule(s);
            EXPECT_TRUE(r.ok() || absl::IsNotFound(r.status())) << r.status();
            if (r.ok()) {
              absl::MutexLock lock(&acked_mu);
              acked[absl::StrCat(group, "/s-", i)] = s.description();
            }
          }
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < kNames; i += 3) {
      EXPECT_THAT(scheduler_->DeleteSchedule("default", absl::StrCat("s-", i)),
                  IsOk());
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i) {
      clock_.Advance(absl::Minutes(1));
      scheduler_->Poke();
      absl::SleepFor(absl::Milliseconds(1));
    }
  });
  absl::SleepFor(absl::Milliseconds(5));
  EXPECT_THAT(scheduler_->DeleteScheduleGroup("team"), IsOk());
  stop = true;
  for (std::thread& t : threads) t.join();

  auto snapshot = [&] {
    std::map<std::string, std::string> out;
    for (const evbus::v1::Schedule& s : scheduler_->ListSchedules("", "", "")) {
      out[absl::StrCat(s.group_name(), "/", s.name())] = s.description();
    }
    return out;
  };
  const std::map<std::string, std::string> before = snapshot();
  EXPECT_EQ(before.size(), static_cast<size_t>(kNames - (kNames + 2) / 3));
  for (const auto& [id, description] : before) {
    EXPECT_TRUE(absl::StartsWith(id, "default/")) << id;
    auto it = acked.find(id);
    EXPECT_EQ(description, it == acked.end() ? "" : it->second) << id;
  }
  scheduler_->Stop();
  Open();
  ASSERT_THAT(scheduler_->Start(), IsOk());
  EXPECT_EQ(snapshot(), before);
  EXPECT_THAT(scheduler_->GetScheduleGroup("team"),
              StatusIs(absl::StatusCode::kNotFound));
}

// QA J F9: Target.Input is 1..8192 characters, and well-formed JSON for a
// function or bus target (text is fine for others).
TEST_F(SchedulerTest, TargetInputIsBoundedAndJsonForFunctions) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  evbus::v1::Schedule s = DailySchedule("default", "in");
  s.mutable_target()->set_input(std::string(8193, 'x'));
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("target.input")));
  s.mutable_target()->set_arn("function:f");
  s.mutable_target()->set_input("[[[");
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("well-formed JSON")));
  s.mutable_target()->set_input(R"({"ok": true})");
  EXPECT_THAT(scheduler_->CreateSchedule(s).status(), IsOk());
  evbus::v1::Schedule text = DailySchedule("default", "text");
  text.mutable_target()->set_input("plain text for a log");
  EXPECT_THAT(scheduler_->CreateSchedule(text).status(), IsOk());
}

TEST_F(SchedulerTest, FlexibleWindowLandsInsideTheWindow) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  for (int i = 0; i < 20; ++i) {
    evbus::v1::Schedule s;
    s.set_name("flex" + std::to_string(i));
    s.set_schedule_expression("cron(0 1 * * ? *)");
    s.mutable_flexible_time_window()->set_mode("FLEXIBLE");
    s.mutable_flexible_time_window()->set_maximum_window_in_minutes(15);
    s.mutable_target()->set_arn("log:flex");
    ASSERT_THAT(scheduler_->CreateSchedule(s), IsOk());
    std::optional<absl::Time> next =
        scheduler_->NextFireForTesting(storage::keys::CatalogKey(
            "schedule", storage::keys::RuleName("default", s.name())));
    ASSERT_TRUE(next.has_value());
    absl::Time nominal = absl::FromUnixSeconds(1767225600) + absl::Hours(1);
    EXPECT_GE(*next, nominal);
    EXPECT_LT(*next, nominal + absl::Minutes(15));
  }
}

TEST_F(SchedulerTest, EndDateStopsFiringAndValidation) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  evbus::v1::Schedule s;
  s.set_name("bounded");
  s.set_schedule_expression("rate(10 minutes)");
  // EndDate at a tick: the tick at EndDate does not run ("before which").
  s.set_end_date_ms(absl::ToUnixMillis(clock_.Now() + absl::Minutes(30)));
  s.mutable_flexible_time_window()->set_mode("OFF");
  s.mutable_target()->set_arn("log:bounded");
  ASSERT_THAT(scheduler_->CreateSchedule(s), IsOk());
  clock_.Advance(absl::Hours(1));
  scheduler_->Poke();
  for (int i = 0; i < 200 && QueueSize() < 2; ++i)
    absl::SleepFor(absl::Milliseconds(5));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(QueueSize(), 2u);  // at +10 and +20 minutes only
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       ::testing::HasSubstr("ConflictException")));
  s.set_name("bad");
  s.set_schedule_expression("rate(1 minutes)");
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationException: Invalid Schedule Expression "
                       "rate(1 minutes)."));
  s.set_schedule_expression("rate(1 minute)");
  evbus::v1::Schedule no_target = s;
  no_target.clear_target();
  EXPECT_THAT(scheduler_->CreateSchedule(no_target),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationException: 1 validation error detected: "
                       "Value null at 'target' failed to satisfy constraint: "
                       "Member must not be null"));
  s.set_group_name("nogroup");
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kNotFound));
}

// Names are 1–64 characters of ^[0-9a-zA-Z-_.]+$; a name too long is
// reported as too long (AWS checks the length before the pattern).
// Model constraints name the value they refuse (the Coral form).
TEST_F(SchedulerTest, EnumErrorsNameTheRefusedValue) {
  evbus::v1::Schedule s;
  s.set_name("enums");
  s.set_schedule_expression("rate(10 minutes)");
  s.mutable_target()->set_arn("log:enums");
  // Absent: "Value null", as the model's required member.
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationException: 1 validation error detected: "
                       "Value null at 'flexibleTimeWindow' failed to satisfy "
                       "constraint: Member must not be null"));
  s.mutable_flexible_time_window();
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr(
                           "Value null at 'flexibleTimeWindow.mode'")));
  s.mutable_flexible_time_window()->set_mode("off");
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationException: 1 validation error detected: "
                       "Value 'off' at 'flexibleTimeWindow.mode' failed to "
                       "satisfy constraint: Member must satisfy enum value "
                       "set: [OFF, FLEXIBLE]"));
  s.mutable_flexible_time_window()->set_mode("OFF");
  s.set_state("bogus");
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("Value 'bogus' at 'state'")));
  s.set_state("ENABLED");
  s.set_action_after_completion("delete");
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr(
                           "Value 'delete' at 'actionAfterCompletion'")));
}

TEST_F(SchedulerTest, NameLengthIsCheckedBeforeThePattern) {
  ASSERT_THAT(scheduler_->Start(), IsOk());
  evbus::v1::Schedule s;
  s.set_schedule_expression("rate(10 minutes)");
  s.mutable_flexible_time_window()->set_mode("OFF");
  s.mutable_target()->set_arn("log:named");
  s.set_name(std::string(64, 'a'));
  EXPECT_THAT(scheduler_->CreateSchedule(s), IsOk());
  s.set_name(std::string(65, 'a'));
  EXPECT_THAT(
      scheduler_->CreateSchedule(s),
      StatusIs(absl::StatusCode::kInvalidArgument,
               absl::StrCat("ValidationException: 1 validation error "
                            "detected: Value '",
                            std::string(65, 'a'),
                            "' at 'name' failed to satisfy constraint: Member "
                            "must have length less than or equal to 64")));
  s.set_name(std::string(65, '!'));  // both wrong: the length is reported
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("Member must have length less "
                                            "than or equal to 64")));
  s.set_name("a b");
  EXPECT_THAT(scheduler_->CreateSchedule(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("Member must satisfy regular "
                                            "expression pattern: "
                                            "^[0-9a-zA-Z-_.]+$")));
  EXPECT_THAT(scheduler_->CreateScheduleGroup(std::string(65, 'g')).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("Member must have length less "
                                            "than or equal to 64")));
}

}  // namespace
}  // namespace evbus::scheduler
