// The dispatcher over a real RocksDB store, with a scripted in-process
// executor standing in for a target (the unit under test is the dispatcher;
// real webhooks are exercised by the integration tests).
#include "server/delivery/dispatcher.h"

#include <atomic>
#include <deque>
#include <limits>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/ids.h"
#include "server/storage/event_log.h"
#include "server/storage/keys.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::delivery {
namespace {

using ::evbus::testing::IsOk;

// Answers deliveries with scripted results (then success), recording them.
// While holding, a delivery's answer waits for Release().
class ScriptedExecutor final : public targets::Executor {
 public:
  void Deliver(targets::DeliveryRequest request,
               targets::DeliveryCallback done) override {
    targets::DeliveryResult result;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      if (!script_.empty()) {
        result = script_.front();
        script_.pop_front();
      }
      if (holding_) {
        held_.emplace_back(std::move(done), std::move(result));
        return;
      }
    }
    std::move(done)(std::move(result));
  }
  void Hold() {
    absl::MutexLock lock(&mu_);
    holding_ = true;
  }
  // Answers the held deliveries, and stops holding.
  void Release() {
    std::vector<std::pair<targets::DeliveryCallback, targets::DeliveryResult>>
        held;
    {
      absl::MutexLock lock(&mu_);
      holding_ = false;
      held.swap(held_);
    }
    for (auto& [done, result] : held) std::move(done)(std::move(result));
  }
  void Script(std::vector<targets::DeliveryResult> results) {
    absl::MutexLock lock(&mu_);
    script_.assign(results.begin(), results.end());
  }
  std::vector<targets::DeliveryRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  absl::Mutex mu_;
  std::deque<targets::DeliveryResult> script_ ABSL_GUARDED_BY(mu_);
  std::vector<targets::DeliveryRequest> requests_ ABSL_GUARDED_BY(mu_);
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<targets::DeliveryCallback, targets::DeliveryResult>>
      held_ ABSL_GUARDED_BY(mu_);
};

class OneTarget final : public TargetDirectory {
 public:
  std::optional<ResolvedTarget> FindTarget(
      const std::string&, const std::string& rule,
      const std::string& id) const override {
    if (removed || (rule != "r1" && !(also_r2 && rule == "r2")) || id != "t1") {
      return std::nullopt;
    }
    return ResolvedTarget{
        target, "arn:aws:events:us-east-1:000000000000:rule/" + rule, "", http};
  }
  evbus::v1::Target target;
  std::optional<HttpEndpoint> http;  // set: an API destination
  bool also_r2 = false;              // rule r2 has the same target t1
  std::atomic<bool> removed{false};
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(storage::Store::Open({.path = dir_.path()}).value());
    directory_.target.set_id("t1");
    directory_.target.set_arn("http://127.0.0.1:9/hook");
    directory_.target.mutable_retry_policy()->set_maximum_retry_attempts(2);
    Executors executors;
    executors.webhook = &executor_;
    DispatcherOptions options;
    options.backoff.base = absl::Seconds(1);
    options.idle_poll = absl::Milliseconds(20);
    dispatcher_ = std::make_unique<Dispatcher>(*store_, clock_, registry_,
                                               directory_, executors, options);
    ASSERT_THAT(dispatcher_->Start(), IsOk());
  }

  // Task `i` for target r1/t1, due now.
  evbus::v1::DeliveryTask Task(int i) {
    evbus::v1::DeliveryTask task;
    task.set_task_id(common::NewUuidV4());
    task.set_event_bus_name("default");
    task.set_rule_name("r1");
    task.set_target_id("t1");
    task.set_event_id("e" + std::to_string(i));
    task.set_envelope_json(R"({"id":"e","detail":{"n":)" + std::to_string(i) +
                           "}}");
    task.set_ingest_time_ms(absl::ToUnixMillis(clock_.Now()));
    task.set_due_ms(absl::ToUnixMillis(clock_.Now()));
    return task;
  }

  void Enqueue(int n, const std::string& rule = "r1") {
    storage::WriteBatch batch;
    std::vector<QueueEntry> entries;
    for (int i = 0; i < n; ++i) {
      evbus::v1::DeliveryTask task = Task(i);
      task.set_rule_name(rule);
      entries.push_back(Dispatcher::AddTo(batch, task));
    }
    ASSERT_THAT(store_->Write(batch), IsOk());
    dispatcher_->Enqueued(entries);
  }

  // Every task in the queue family, parsed.
  std::vector<evbus::v1::DeliveryTask> StoredTasks() {
    std::vector<evbus::v1::DeliveryTask> tasks;
    EXPECT_THAT(
        store_->Scan(storage::Family::kQueue, "", "",
                     [&](absl::string_view, absl::string_view value) {
                       EXPECT_TRUE(tasks.emplace_back().ParseFromArray(
                           value.data(), static_cast<int>(value.size())));
                       return true;
                     }),
        IsOk());
    return tasks;
  }

  // Advances the manual clock step by step until the queue drains.
  bool DrainAdvancing(absl::Duration step, int max_steps) {
    for (int i = 0; i < max_steps; ++i) {
      if (dispatcher_->WaitIdleForTesting(absl::Milliseconds(50))) return true;
      clock_.Advance(step);
      dispatcher_->Poke();
    }
    return dispatcher_->WaitIdleForTesting(absl::Milliseconds(50));
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_{absl::FromUnixSeconds(1767323045)};
  metrics::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  OneTarget directory_;
  ScriptedExecutor executor_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, DeliversEachTaskOnceAndEmptiesTheQueue) {
  Enqueue(25);
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(executor_.requests().size(), 25u);
  EXPECT_EQ(executor_.requests()[0].url, "http://127.0.0.1:9/hook");
  int left = 0;
  ASSERT_THAT(store_->Scan(storage::Family::kQueue, "", "",
                           [&](absl::string_view, absl::string_view) {
                             ++left;
                             return true;
                           }),
              IsOk());
  EXPECT_EQ(left, 0);
  EXPECT_THAT(registry_.Serialize(),
              ::testing::HasSubstr("evbus_invocations_total{bus=\"default\","
                                   "rule=\"r1\",target=\"t1\"} 25"));
}

TEST_F(DispatcherTest, RetriesWithBackoffThenSucceeds) {
  executor_.Script(
      {targets::DeliveryResult::Failure(targets::Outcome::kRetryable,
                                        "ERROR_FROM_TARGET", "500"),
       targets::DeliveryResult::Failure(targets::Outcome::kRetryable,
                                        "ERROR_FROM_TARGET", "500")});
  Enqueue(1);
  // Not retried before the backoff elapses on the (manual) clock.
  ASSERT_FALSE(dispatcher_->WaitIdleForTesting(absl::Milliseconds(200)));
  EXPECT_EQ(executor_.requests().size(), 1u);
  ASSERT_TRUE(DrainAdvancing(absl::Seconds(1), 20));
  EXPECT_EQ(executor_.requests().size(), 3u);
  std::string metrics = registry_.Serialize();
  EXPECT_THAT(metrics,
              ::testing::HasSubstr(
                  "evbus_retry_invocation_attempts_total{bus=\"default\","
                  "rule=\"r1\",target=\"t1\"} 2"));
}

// Calls cut short by evbusd stopping (the function pool stops before the
// dispatcher) are not attempts: with 2 retries allowed, three interrupted
// calls and two failures still leave a third, successful attempt.
TEST_F(DispatcherTest, InterruptedCallsAreNotAttempts) {
  auto cut = targets::DeliveryResult::Interrupted("evbusd is stopping");
  auto fail = targets::DeliveryResult::Failure(targets::Outcome::kRetryable,
                                               "ERROR_FROM_TARGET", "500");
  executor_.Script({cut, cut, cut, fail, fail});
  Enqueue(1);
  ASSERT_TRUE(DrainAdvancing(absl::Seconds(1), 40));
  EXPECT_EQ(executor_.requests().size(), 6u);
  EXPECT_TRUE(dispatcher_->ListDeadLetters("default", "r1", "", 10, "")
                  ->dead_letters.empty());
  const std::string metrics = registry_.Serialize();
  EXPECT_THAT(metrics,
              ::testing::HasSubstr(
                  "evbus_retry_invocation_attempts_total{bus=\"default\","
                  "rule=\"r1\",target=\"t1\"} 2"));
  EXPECT_THAT(metrics,
              ::testing::HasSubstr("evbus_invocations_total{bus=\"default\","
                                   "rule=\"r1\",target=\"t1\"} 1"));
}

TEST_F(DispatcherTest, ExhaustedRetriesGoToTheDeadLetterStoreAndRedrive) {
  auto fail = targets::DeliveryResult::Failure(targets::Outcome::kRetryable,
                                               "TIMEOUT", "slow");
  executor_.Script({fail, fail, fail});
  Enqueue(1);
  ASSERT_TRUE(DrainAdvancing(absl::Seconds(1), 30));
  EXPECT_EQ(executor_.requests().size(), 3u);  // 1 try + 2 retries
  auto page = dispatcher_->ListDeadLetters("default", "r1", "", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->dead_letters.size(), 1u);
  const evbus::v1::DeadLetter& dl = page->dead_letters[0];
  EXPECT_EQ(dl.error_code(), "TIMEOUT");
  EXPECT_EQ(dl.exhausted_retry_condition(), "MaximumRetryAttempts");
  EXPECT_EQ(dl.retry_attempts(), 2);
  EXPECT_EQ(dl.task().rule_name(), "r1");
  EXPECT_EQ(dl.target_arn(), "http://127.0.0.1:9/hook");

  auto n = dispatcher_->Redrive("default", "r1", "t1", 100);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(executor_.requests().size(), 4u);
  EXPECT_TRUE(dispatcher_->ListDeadLetters("default", "r1", "", 10, "")
                  ->dead_letters.empty());
}

// Events that wait behind the rate limit longer than the target's
// MaximumEventAgeInSeconds are dead-lettered unsent (spec §6, §9), and give
// their tokens back to the ones behind them.
TEST_F(DispatcherTest, EventsOlderThanTheirMaximumAgeAreNotSent) {
  directory_.target.set_invocation_rate_limit_per_second(1);
  directory_.target.mutable_retry_policy()->set_maximum_event_age_in_seconds(
      60);
  Enqueue(5);
  ASSERT_FALSE(dispatcher_->WaitIdleForTesting(absl::Milliseconds(200)));
  EXPECT_EQ(executor_.requests().size(), 1u);
  clock_.Advance(absl::Seconds(61));
  dispatcher_->Poke();
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(executor_.requests().size(), 1u);
  auto page = dispatcher_->ListDeadLetters("default", "r1", "t1", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->dead_letters.size(), 4u);
  for (const evbus::v1::DeadLetter& dl : page->dead_letters) {
    EXPECT_EQ(dl.exhausted_retry_condition(), "MaximumEventAgeInSeconds");
    EXPECT_EQ(dl.error_code(), "THROTTLING");
    EXPECT_EQ(dl.retry_attempts(), 0);
  }
  // A new event goes out at once: the expired ones took no token.
  Enqueue(1);
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(executor_.requests().size(), 2u);
}

// An API destination's InvocationRateLimitPerSecond bounds the endpoint,
// whatever the rules that send to it, from the first request on.
TEST_F(DispatcherTest, AnApiDestinationsRateLimitIsSharedByItsTargets) {
  directory_.target.set_arn(
      "arn:aws:events:us-east-1:000000000000:api-destination/d/1");
  HttpEndpoint http;
  http.url = "http://127.0.0.1:9/api";
  http.rate_per_second = 1;
  directory_.http = http;
  directory_.also_r2 = true;
  Enqueue(3, "r1");
  Enqueue(3, "r2");
  for (int second = 1; second <= 6; ++second) {
    // One request a second (the last leaves the queue idle).
    EXPECT_EQ(dispatcher_->WaitIdleForTesting(absl::Milliseconds(150)),
              second == 6);
    EXPECT_EQ(executor_.requests().size(), static_cast<size_t>(second));
    clock_.Advance(absl::Seconds(1));
    dispatcher_->Poke();
  }
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(executor_.requests().size(), 6u);
}

TEST_F(DispatcherTest, PermanentFailureDeadLettersAtOnce) {
  targets::DeliveryResult bad = targets::DeliveryResult::Failure(
      targets::Outcome::kPermanent, "ERROR_FROM_TARGET", "HTTP 400");
  executor_.Script({bad});
  Enqueue(1);
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  auto page = dispatcher_->ListDeadLetters("default", "r1", "t1", 10, "");
  ASSERT_EQ(page->dead_letters.size(), 1u);
  EXPECT_EQ(page->dead_letters[0].exhausted_retry_condition(), "");
  EXPECT_EQ(page->dead_letters[0].retry_attempts(), 0);
}

// A target removed while a call to it ran: its failure is dropped, not
// dead-lettered under a rule that no longer exists.
TEST_F(DispatcherTest, TargetRemovedDuringTheCallIsNotDeadLettered) {
  executor_.Script({targets::DeliveryResult::Failure(
      targets::Outcome::kPermanent, "ERROR_FROM_TARGET", "HTTP 400")});
  executor_.Hold();
  Enqueue(1);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (executor_.requests().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(executor_.requests().size(), 1u);
  directory_.removed = true;
  executor_.Release();
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_TRUE(dispatcher_->ListDeadLetters("default", "r1", "", 10, "")
                  ->dead_letters.empty());
  EXPECT_THAT(registry_.Serialize(),
              ::testing::HasSubstr("evbus_deliveries_dropped_total 1"));
}

TEST_F(DispatcherTest, RemovedTargetDropsItsTasks) {
  directory_.removed = true;
  Enqueue(3);
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_TRUE(executor_.requests().empty());
  EXPECT_THAT(registry_.Serialize(),
              ::testing::HasSubstr("evbus_deliveries_dropped_total 3"));
}

// Tasks handed over with their serialized value are delivered from memory:
// here the batch is never written, so only the cache can supply them. With a
// zero budget the dispatcher reads the store and finds nothing.
TEST_F(DispatcherTest, EnqueuedTasksAreDeliveredFromMemory) {
  auto entries_not_stored = [&](int n) {
    storage::WriteBatch unused;
    std::vector<QueueEntry> entries;
    for (int i = 0; i < n; ++i) {
      entries.push_back(Dispatcher::AddTo(unused, Task(i)));
    }
    return entries;
  };
  dispatcher_->Enqueued(entries_not_stored(3));
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(executor_.requests().size(), 3u);

  ScriptedExecutor other;
  Executors executors;
  executors.webhook = &other;
  DispatcherOptions options;
  options.idle_poll = absl::Milliseconds(20);
  options.task_cache_bytes = 0;
  Dispatcher uncached(*store_, clock_, registry_, directory_, executors,
                      options);
  ASSERT_THAT(uncached.Start(), IsOk());
  uncached.Enqueued(entries_not_stored(3));
  ASSERT_TRUE(uncached.WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_TRUE(other.requests().empty());
  uncached.Stop();
}

TEST_F(DispatcherTest, QueueSurvivesRestart) {
  dispatcher_->Stop();
  dispatcher_.reset();
  Executors none;  // nothing can be delivered now
  auto paused = std::make_unique<Dispatcher>(
      *store_, clock_, registry_, directory_, none, DispatcherOptions{});
  ASSERT_THAT(paused->Start(), IsOk());
  paused->Stop();
  // Write tasks while no dispatcher runs, then start one: it finds them.
  storage::WriteBatch batch;
  for (int i = 0; i < 5; ++i) {
    evbus::v1::DeliveryTask task;
    task.set_task_id(common::NewUuidV4());
    task.set_event_bus_name("default");
    task.set_rule_name("r1");
    task.set_target_id("t1");
    task.set_envelope_json("{}");
    task.set_ingest_time_ms(absl::ToUnixMillis(clock_.Now()));
    task.set_due_ms(absl::ToUnixMillis(clock_.Now()));
    Dispatcher::AddTo(batch, task);
  }
  ASSERT_THAT(store_->Write(batch), IsOk());
  paused.reset();
  Executors executors;
  executors.webhook = &executor_;
  dispatcher_ = std::make_unique<Dispatcher>(
      *store_, clock_, registry_, directory_, executors, DispatcherOptions{});
  ASSERT_THAT(dispatcher_->Start(), IsOk());
  EXPECT_EQ(dispatcher_->Depth(), 5);
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(executor_.requests().size(), 5u);
}

// Task `i` stored by reference to an event log record written in the same
// batch (unless `write_event` is false); returns its entry without the
// in-memory copy, so that the dispatcher must read both back.
QueueEntry AddReferringTask(storage::WriteBatch& batch,
                            evbus::v1::DeliveryTask task, bool write_event) {
  evbus::v1::StoredEvent event;
  event.set_event_bus_name(task.event_bus_name());
  event.set_event_id(task.event_id());
  event.set_ingest_time_ms(task.ingest_time_ms());
  event.set_sequence(7);
  event.set_envelope_json(task.envelope_json());
  const std::string key = storage::keys::EventKey(
      event.event_bus_name(), static_cast<uint64_t>(event.ingest_time_ms()),
      event.sequence(), event.event_id());
  if (write_event) storage::EventLog::AddTo(batch, event);
  QueueEntry e = Dispatcher::AddReferringTo(batch, std::move(task), key);
  e.value.clear();
  return e;
}

TEST_F(DispatcherTest, TasksReferringToTheEventLogAreDeliveredWithTheEvent) {
  storage::WriteBatch batch;
  std::vector<QueueEntry> entries;
  for (int i = 0; i < 3; ++i) {
    entries.push_back(AddReferringTask(batch, Task(i), /*write_event=*/true));
  }
  ASSERT_THAT(store_->Write(batch), IsOk());
  const std::vector<evbus::v1::DeliveryTask> stored = StoredTasks();
  ASSERT_EQ(stored.size(), 3u);
  for (const evbus::v1::DeliveryTask& task : stored) {
    EXPECT_EQ(task.envelope_json(), "");
    EXPECT_FALSE(task.event_key().empty());
  }
  dispatcher_->Enqueued(entries);
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  ASSERT_EQ(executor_.requests().size(), 3u);
  std::vector<std::string> payloads;
  for (const auto& r : executor_.requests()) payloads.push_back(r.payload);
  EXPECT_THAT(payloads, ::testing::UnorderedElementsAre(
                            R"({"id":"e","detail":{"n":0}})",
                            R"({"id":"e","detail":{"n":1}})",
                            R"({"id":"e","detail":{"n":2}})"));
}

// The in-memory copy AddReferringTo returns is the whole task.
// A retry of it is written whole, without the reference.
TEST_F(DispatcherTest, ReferringTasksAreDeliveredFromMemoryWithTheEnvelope) {
  executor_.Script({targets::DeliveryResult::Failure(
      targets::Outcome::kRetryable, "ERROR_FROM_TARGET", "500")});
  storage::WriteBatch unused;  // never written: only memory has the task
  QueueEntry e = Dispatcher::AddReferringTo(unused, Task(4), "no-such-key");
  dispatcher_->Enqueued({e});
  ASSERT_FALSE(dispatcher_->WaitIdleForTesting(absl::Milliseconds(200)));
  ASSERT_EQ(executor_.requests().size(), 1u);
  EXPECT_EQ(executor_.requests()[0].payload, R"({"id":"e","detail":{"n":4}})");
  const std::vector<evbus::v1::DeliveryTask> queued = StoredTasks();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].envelope_json(), R"({"id":"e","detail":{"n":4}})");
  EXPECT_EQ(queued[0].event_key(), "");
  ASSERT_TRUE(DrainAdvancing(absl::Seconds(1), 20));
  EXPECT_EQ(executor_.requests().size(), 2u);
}

TEST_F(DispatcherTest, ARetriedReferringTaskCarriesItsEnvelope) {
  executor_.Script({targets::DeliveryResult::Failure(
      targets::Outcome::kRetryable, "ERROR_FROM_TARGET", "500")});
  storage::WriteBatch batch;
  QueueEntry e = AddReferringTask(batch, Task(5), /*write_event=*/true);
  ASSERT_THAT(store_->Write(batch), IsOk());
  dispatcher_->Enqueued({e});
  // Not retried before the backoff elapses on the (manual) clock; by then
  // the task was written again, whole.
  ASSERT_FALSE(dispatcher_->WaitIdleForTesting(absl::Milliseconds(200)));
  const std::vector<evbus::v1::DeliveryTask> queued = StoredTasks();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].attempts(), 1);
  EXPECT_EQ(queued[0].envelope_json(), R"({"id":"e","detail":{"n":5}})");
  EXPECT_EQ(queued[0].event_key(), "");
  ASSERT_TRUE(DrainAdvancing(absl::Seconds(1), 20));
  EXPECT_EQ(executor_.requests().size(), 2u);
}

TEST_F(DispatcherTest, AReferringTaskWhoseEventIsGoneIsDeadLettered) {
  storage::WriteBatch batch;
  QueueEntry e = AddReferringTask(batch, Task(6), /*write_event=*/false);
  ASSERT_THAT(store_->Write(batch), IsOk());
  dispatcher_->Enqueued({e});
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_TRUE(executor_.requests().empty());
  auto page = dispatcher_->ListDeadLetters("default", "r1", "t1", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->dead_letters.size(), 1u);
  EXPECT_EQ(page->dead_letters[0].error_code(), "EVENT_NOT_FOUND");
  EXPECT_THAT(page->dead_letters[0].error_message(),
              ::testing::HasSubstr("no longer in the event log"));
}

// A task referring to the event log keeps its event held (OldestDueMs)
// from dispatch until its outcome is written: the stored task refers to the
// event until then, so trimming it after the read and a crash before the
// write would lose the event.
TEST_F(DispatcherTest, AnEventStaysHeldUntilItsTasksOutcomeIsWritten) {
  executor_.Hold();
  storage::WriteBatch batch;
  QueueEntry e = AddReferringTask(batch, Task(7), /*write_event=*/true);
  ASSERT_THAT(store_->Write(batch), IsOk());
  dispatcher_->Enqueued({e});
  for (int i = 0; i < 500 && executor_.requests().empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(executor_.requests().size(), 1u);  // the envelope was read
  EXPECT_EQ(dispatcher_->OldestDueMs("default"), e.due_ms);
  executor_.Release();
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(dispatcher_->OldestDueMs("default"),
            std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(StoredTasks().empty());
}

// A task whose event is gone is dead-lettered, and with no event to send
// the dead letter is not forwarded to DeadLetterConfig.
TEST_F(DispatcherTest, ADeadLetterWithoutAnEventIsNotForwarded) {
  directory_.target.mutable_dead_letter_config()->set_arn(
      "http://127.0.0.1:9/dlq");
  storage::WriteBatch batch;
  QueueEntry e = AddReferringTask(batch, Task(8), /*write_event=*/false);
  ASSERT_THAT(store_->Write(batch), IsOk());
  dispatcher_->Enqueued({e});
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  auto page = dispatcher_->ListDeadLetters("default", "r1", "t1", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->dead_letters.size(), 1u);
  EXPECT_EQ(page->dead_letters[0].error_code(), "EVENT_NOT_FOUND");
  EXPECT_TRUE(executor_.requests().empty());
  EXPECT_EQ(dispatcher_->OldestDueMs("default"),
            std::numeric_limits<uint64_t>::max());
}

TEST_F(DispatcherTest, OldestDueMsIsTheEarliestQueuedTask) {
  Executors none;
  DispatcherOptions options;
  options.idle_poll = absl::Milliseconds(20);
  Dispatcher idle(*store_, clock_, registry_, directory_, none, options);
  EXPECT_EQ(idle.OldestDueMs("default"), 0u);  // not loaded: nothing known
  ASSERT_THAT(idle.Start(), IsOk());
  EXPECT_EQ(idle.OldestDueMs("default"), std::numeric_limits<uint64_t>::max());
  idle.Stop();
  // Stopped, it still indexes what it is told about (nothing is delivered).
  evbus::v1::DeliveryTask later = Task(1);
  later.set_due_ms(later.due_ms() + 5000);
  evbus::v1::DeliveryTask sooner = Task(2);
  sooner.set_due_ms(sooner.due_ms() + 1000);
  storage::WriteBatch unused;
  idle.Enqueued(
      {Dispatcher::AddTo(unused, later), Dispatcher::AddTo(unused, sooner)});
  EXPECT_EQ(idle.OldestDueMs("default"),
            static_cast<uint64_t>(sooner.due_ms()));
  // Per bus: another bus's tasks (or a bus whose name extends this one's)
  // do not count.
  EXPECT_EQ(idle.OldestDueMs("other"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(idle.OldestDueMs("defaul"), std::numeric_limits<uint64_t>::max());
  evbus::v1::DeliveryTask elsewhere = Task(3);
  elsewhere.set_event_bus_name("default-2");
  elsewhere.set_due_ms(sooner.due_ms() - 500);
  idle.Enqueued({Dispatcher::AddTo(unused, elsewhere)});
  EXPECT_EQ(idle.OldestDueMs("default"),
            static_cast<uint64_t>(sooner.due_ms()));
  EXPECT_EQ(idle.OldestDueMs("default-2"),
            static_cast<uint64_t>(elsewhere.due_ms()));
}

}  // namespace
}  // namespace evbus::delivery
