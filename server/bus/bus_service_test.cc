#include "server/bus/bus_service.h"

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/bus/rule_registry.h"
#include "server/common/aws_error.h"
#include "server/delivery/dispatcher.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::bus {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;

common::EventEntry Entry(const std::string& bus = "") {
  common::EventEntry e;
  e.source = "com.example";
  e.detail_type = "Thing";
  e.detail = R"({"n":1})";
  if (!bus.empty()) e.event_bus_name = bus;
  return e;
}

class BusServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open(BusOptions options = {}) {
    service_.reset();
    store_.reset();
    auto store = storage::Store::Open({.path = dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto service =
        BusService::Create(*store_, clock_, registry_, std::move(options));
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }

  // Reopens with a store whose writes can be made to fail.
  void OpenWithFaultInjection() {
    service_.reset();
    store_.reset();
    storage::StoreOptions options{.path = dir_.path()};
    options.enable_fault_injection_for_testing = true;
    store_ = std::move(storage::Store::Open(options).value());
    service_ =
        std::move(BusService::Create(*store_, clock_, registry_, {}).value());
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_{absl::FromUnixSeconds(1767323045)};
  metrics::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<BusService> service_;
};

TEST_F(BusServiceTest, DefaultBusExistsAndCannotBeDeleted) {
  EVBUS_ASSERT_OK_AND_ASSIGN(auto bus, service_->DescribeEventBus(""));
  EXPECT_EQ(bus.name(), "default");
  EXPECT_EQ(bus.arn(),
            "arn:aws:events:us-east-1:000000000000:event-bus/default");
  EXPECT_THAT(
      service_->DeleteEventBus("default"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "ValidationException: Cannot delete event bus default."));
}

TEST_F(BusServiceTest, BusCrudSurvivesRestart) {
  ASSERT_THAT(service_->CreateEventBus("orders", "the orders"), IsOk());
  EXPECT_THAT(service_->CreateEventBus("orders", ""),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "ResourceAlreadyExistsException: Event bus orders "
                       "already exists."));
  Open();
  EVBUS_ASSERT_OK_AND_ASSIGN(auto bus, service_->DescribeEventBus("orders"));
  EXPECT_EQ(bus.description(), "the orders");
  EVBUS_ASSERT_OK_AND_ASSIGN(auto list, service_->ListEventBuses("", 0, ""));
  ASSERT_EQ(list.buses.size(), 2u);
  ASSERT_THAT(service_->DeleteEventBus("orders"), IsOk());
  EXPECT_THAT(service_->DescribeEventBus("orders"),
              StatusIs(absl::StatusCode::kNotFound,
                       "ResourceNotFoundException: Event bus orders does not "
                       "exist."));
  EXPECT_THAT(service_->DeleteEventBus("orders"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(BusServiceTest, ListBusesPagesAndFiltersByPrefix) {
  for (const char* n : {"a1", "a2", "a3", "b1"}) {
    ASSERT_THAT(service_->CreateEventBus(n, ""), IsOk());
  }
  EVBUS_ASSERT_OK_AND_ASSIGN(auto p1, service_->ListEventBuses("a", 2, ""));
  ASSERT_EQ(p1.buses.size(), 2u);
  ASSERT_FALSE(p1.next_token.empty());
  EVBUS_ASSERT_OK_AND_ASSIGN(auto p2,
                             service_->ListEventBuses("a", 2, p1.next_token));
  ASSERT_EQ(p2.buses.size(), 1u);
  EXPECT_EQ(p2.buses[0].name(), "a3");
  EXPECT_TRUE(p2.next_token.empty());
  EXPECT_THAT(service_->ListEventBuses("", 101, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(BusServiceTest, PutEventsStoresEnvelopesInTheEventLog) {
  ASSERT_THAT(service_->CreateEventBus("orders", ""), IsOk());
  common::EventEntry bad = Entry();
  bad.detail = "[1]";
  EVBUS_ASSERT_OK_AND_ASSIGN(
      PutEventsResult r, service_->PutEvents({Entry(), bad, Entry("orders")}));
  EXPECT_EQ(r.failed_entry_count, 1);
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_FALSE(r.entries[0].event_id.empty());
  EXPECT_TRUE(r.entries[1].event_id.empty());
  EXPECT_EQ(r.entries[1].error_code, "MalformedDetail");
  EXPECT_FALSE(r.entries[2].event_id.empty());

  EVBUS_ASSERT_OK_AND_ASSIGN(auto page, service_->ListEvents("", {}));
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].event_id(), r.entries[0].event_id);
  common::Json env = *common::ParseJson(page.events[0].envelope_json());
  EXPECT_EQ(env["id"], r.entries[0].event_id);
  EXPECT_EQ(env["time"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(env["detail"]["n"], 1);
  EVBUS_ASSERT_OK_AND_ASSIGN(auto orders, service_->ListEvents("orders", {}));
  ASSERT_EQ(orders.events.size(), 1u);
  EXPECT_EQ(orders.events[0].event_id(), r.entries[2].event_id);
}

TEST_F(BusServiceTest, UnknownBusIsAcknowledgedAndDropped) {
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult r,
                             service_->PutEvents({Entry("nope")}));
  EXPECT_EQ(r.failed_entry_count, 0);
  EXPECT_FALSE(r.entries[0].event_id.empty());
  EXPECT_THAT(registry_.Serialize(),
              HasSubstr("evbus_put_events_unknown_bus_total 1"));
  EXPECT_THAT(service_->ListEvents("nope", {}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(BusServiceTest, WholeRequestErrorsStoreNothing) {
  std::vector<common::EventEntry> eleven(11, Entry());
  EXPECT_THAT(service_->PutEvents(eleven),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ValidationException")));
  EVBUS_ASSERT_OK_AND_ASSIGN(auto page, service_->ListEvents("", {}));
  EXPECT_TRUE(page.events.empty());
}

TEST_F(BusServiceTest, LatchedStoreFailsPutEventsAndKeepsWhatWasStored) {
  OpenWithFaultInjection();
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult before,
                             service_->PutEvents({Entry()}));
  store_->FailWritesForTesting();
  EXPECT_THAT(
      service_->PutEvents({Entry()}),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("InternalFailure")));
  EXPECT_THAT(service_->PutEvents({Entry()}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("latched")));
  EVBUS_ASSERT_OK_AND_ASSIGN(auto page, service_->ListEvents("", {}));
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].event_id(), before.entries[0].event_id);
}

// PutEventsAsync (the gRPC handler's path) answers as PutEvents does, and
// only once the events are in the store.
absl::StatusOr<PutEventsResult> PutAsync(BusService& service,
                                         std::vector<common::EventEntry> in) {
  absl::Notification done;
  absl::StatusOr<PutEventsResult> out;
  service.PutEventsAsync(in, [&](absl::StatusOr<PutEventsResult> r) {
    out = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

TEST_F(BusServiceTest, PutEventsAsyncStoresBeforeItAnswers) {
  common::EventEntry bad = Entry();
  bad.detail = "[1]";
  EVBUS_ASSERT_OK_AND_ASSIGN(
      PutEventsResult r, PutAsync(*service_, {Entry(), bad, Entry("nope")}));
  EXPECT_EQ(r.failed_entry_count, 1);
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[1].error_code, "MalformedDetail");
  EXPECT_FALSE(r.entries[2].event_id.empty());  // unknown bus: acknowledged
  EVBUS_ASSERT_OK_AND_ASSIGN(auto page, service_->ListEvents("", {}));
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].event_id(), r.entries[0].event_id);

  std::vector<common::EventEntry> eleven(11, Entry());
  EXPECT_THAT(PutAsync(*service_, eleven),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ValidationException")));
  // Only unknown buses: nothing to write, answered at once.
  EXPECT_THAT(PutAsync(*service_, {Entry("nope")}), IsOk());
  EXPECT_THAT(registry_.Serialize(),
              HasSubstr("evbus_put_events_unknown_bus_total 2"));
}

TEST_F(BusServiceTest, PutEventsAsyncReportsAFailedCommit) {
  OpenWithFaultInjection();
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult before,
                             PutAsync(*service_, {Entry()}));
  store_->FailWritesForTesting();
  EXPECT_THAT(
      PutAsync(*service_, {Entry()}),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("InternalFailure")));
  EVBUS_ASSERT_OK_AND_ASSIGN(auto page, service_->ListEvents("", {}));
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].event_id(), before.entries[0].event_id);
}

TEST_F(BusServiceTest, RetentionTrimsOldEvents) {
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult old,
                             service_->PutEvents({Entry()}));
  clock_.Advance(absl::Hours(23));
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult fresh,
                             service_->PutEvents({Entry()}));
  clock_.Advance(absl::Hours(2));  // the first is now 25 h old
  ASSERT_THAT(service_->TrimEventLog(), IsOk());
  EVBUS_ASSERT_OK_AND_ASSIGN(auto page, service_->ListEvents("", {}));
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].event_id(), fresh.entries[0].event_id);
}

// Holds every delivery until released (then answers success).
class HeldExecutor final : public targets::Executor {
 public:
  void Deliver(targets::DeliveryRequest request,
               targets::DeliveryCallback done) override {
    absl::MutexLock lock(&mu_);
    payloads_.push_back(request.payload);
    held_.push_back(std::move(done));
  }
  void ReleaseAll() {
    std::vector<targets::DeliveryCallback> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (targets::DeliveryCallback& done : held) {
      std::move(done)(targets::DeliveryResult{});
    }
  }
  // Waits (up to 10 s) until `n` deliveries have started.
  bool WaitForDeliveries(size_t n) {
    absl::MutexLock lock(&mu_);
    auto started = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return payloads_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&started), absl::Seconds(10));
  }
  std::vector<std::string> payloads() {
    absl::MutexLock lock(&mu_);
    return payloads_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> payloads_ ABSL_GUARDED_BY(mu_);
  std::vector<targets::DeliveryCallback> held_ ABSL_GUARDED_BY(mu_);
};

// One delivery at a time to every rule's target.
class SerialTargets final : public delivery::TargetDirectory {
 public:
  std::optional<delivery::ResolvedTarget> FindTarget(
      const std::string&, const std::string& rule,
      const std::string& id) const override {
    evbus::v1::Target target;
    target.set_id(id);
    target.set_arn("http://127.0.0.1:9/hook");
    target.set_max_concurrency(1);
    return delivery::ResolvedTarget{
        target, "arn:aws:events:us-east-1:000000000000:rule/" + rule};
  }
};

// The default bus's rule r1 ({"source":["com.example"]}) routes to a
// webhook whose deliveries are held until released, one at a time.
class HeldRoutingTest : public BusServiceTest {
 protected:
  void SetUp() override {
    BusServiceTest::SetUp();
    rules_ =
        std::make_unique<RuleRegistry>(*store_, clock_, RuleRegistryOptions{});
    ASSERT_THAT(rules_->Load(), IsOk());
    evbus::v1::Rule rule;
    rule.set_name("r1");
    rule.set_event_bus_name("default");
    rule.set_event_pattern(R"({"source":["com.example"]})");
    ASSERT_TRUE(rules_->PutRule(rule).ok());
    evbus::v1::Target target;
    target.set_id("t1");
    target.set_arn("http://127.0.0.1:9/hook");
    ASSERT_TRUE(rules_->PutTargets("default", "r1", {target}).ok());
    delivery::Executors executors;
    executors.webhook = &held_;
    delivery::DispatcherOptions dispatcher_options;
    dispatcher_options.idle_poll = absl::Milliseconds(20);
    dispatcher_ = std::make_unique<delivery::Dispatcher>(
        *store_, clock_, registry_, directory_, executors, dispatcher_options);
    ASSERT_THAT(dispatcher_->Start(), IsOk());
    service_ = std::move(BusService::Create(*store_, clock_, registry_, {},
                                            rules_.get(), dispatcher_.get())
                             .value());
  }
  void TearDown() override {
    service_.reset();
    if (dispatcher_ != nullptr) dispatcher_->Stop();
  }

  HeldExecutor held_;
  SerialTargets directory_;
  std::unique_ptr<RuleRegistry> rules_;
  std::unique_ptr<delivery::Dispatcher> dispatcher_;
};

// A routed event is written once: its tasks refer to the event log record,
// and the event log keeps every event a queued task still refers to.
TEST_F(HeldRoutingTest, QueuedTasksReferToTheEventLogAndKeepItFromTrimming) {
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult put,
                             service_->PutEvents({Entry(), Entry()}));
  ASSERT_TRUE(held_.WaitForDeliveries(1));
  // The delivery got the whole envelope although the stored tasks hold none
  // (both are due in the same millisecond: either may go first).
  const std::string first = held_.payloads()[0];
  const int first_index =
      absl::StrContains(first, put.entries[0].event_id) ? 0 : 1;
  EXPECT_THAT(first, HasSubstr(put.entries[first_index].event_id));
  EXPECT_THAT(first, HasSubstr(R"("detail":{"n":1})"));
  int stored_tasks = 0;
  ASSERT_THAT(store_->Scan(storage::Family::kQueue, "", "",
                           [&](absl::string_view, absl::string_view value) {
                             evbus::v1::DeliveryTask task;
                             EXPECT_TRUE(task.ParseFromArray(
                                 value.data(), static_cast<int>(value.size())));
                             EXPECT_EQ(task.envelope_json(), "");
                             EXPECT_THAT(task.event_key(),
                                         HasSubstr(task.event_id()));
                             ++stored_tasks;
                             return true;
                           }),
              IsOk());
  EXPECT_EQ(stored_tasks, 2);

  // Past the retention, the second event's task is still queued (the first
  // is in flight): the trim keeps what it refers to.
  clock_.Advance(absl::Hours(25));
  ASSERT_THAT(service_->TrimEventLog(), IsOk());
  EXPECT_EQ(service_->ListEvents("", {})->events.size(), 2u);

  // The queued task, 25 hours old by now, is past its target's maximum
  // event age (24 h): dead-lettered unsent, with the event it referred to.
  held_.ReleaseAll();
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
  EXPECT_EQ(held_.payloads().size(), 1u);
  auto letters = dispatcher_->ListDeadLetters("default", "r1", "", 10, "");
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->dead_letters.size(), 1u);
  EXPECT_EQ(letters->dead_letters[0].exhausted_retry_condition(),
            "MaximumEventAgeInSeconds");
  EXPECT_THAT(letters->dead_letters[0].task().envelope_json(),
              HasSubstr(put.entries[1 - first_index].event_id));
  ASSERT_THAT(service_->TrimEventLog(), IsOk());
  EXPECT_TRUE(service_->ListEvents("", {})->events.empty());
}

// The trim guard is per bus: a bus whose deliveries are stuck keeps its own
// events past the retention, not every bus's.
TEST_F(HeldRoutingTest, AStuckBusKeepsOnlyItsOwnEventsFromTrimming) {
  ASSERT_THAT(service_->CreateEventBus("orders", ""), IsOk());

  // The default bus's two deliveries are stuck (one in flight, one queued
  // behind it); the orders bus has no rule, so nothing refers to its events.
  ASSERT_TRUE(service_->PutEvents({Entry(), Entry()}).ok());
  ASSERT_TRUE(service_->PutEvents({Entry("orders"), Entry("orders")}).ok());
  ASSERT_TRUE(held_.WaitForDeliveries(1));
  clock_.Advance(absl::Hours(25));
  ASSERT_THAT(service_->TrimEventLog(), IsOk());
  EXPECT_EQ(service_->ListEvents("", {})->events.size(), 2u);
  EXPECT_TRUE(service_->ListEvents("orders", {})->events.empty());

  // (The queued one is past its maximum age by now: dead-lettered.)
  held_.ReleaseAll();
  ASSERT_TRUE(dispatcher_->WaitIdleForTesting(absl::Seconds(10)));
}

TEST_F(BusServiceTest, ZeroRetentionKeepsNoLog) {
  BusOptions options;
  options.event_retention = absl::ZeroDuration();
  Open(options);
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult r, service_->PutEvents({Entry()}));
  EXPECT_FALSE(r.entries[0].event_id.empty());
  EXPECT_TRUE(service_->ListEvents("", {})->events.empty());
}

TEST_F(BusServiceTest, PublishAllowsReservedSources) {
  common::EventEntry e = Entry();
  e.source = "aws.events";
  EXPECT_THAT(service_->Publish({e}), IsOk());
  EVBUS_ASSERT_OK_AND_ASSIGN(PutEventsResult r, service_->PutEvents({e}));
  EXPECT_EQ(r.entries[0].error_code, "NotAuthorizedForSourceException");
}

}  // namespace
}  // namespace evbus::bus
