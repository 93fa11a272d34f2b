#include "server/bus/rule_registry.h"

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/pattern/flat_event.h"
#include "server/storage/keys.h"
#include "server/storage/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::bus {
namespace {

using ::evbus::testing::IsOk;
using ::testing::ElementsAre;

class RuleRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    rules_.reset();
    store_.reset();
    store_ = std::move(storage::Store::Open({.path = dir_.path()}).value());
    rules_ = std::make_unique<RuleRegistry>(
        *store_, clock_, RuleRegistryOptions{.max_rules_per_bus = 1000});
    ASSERT_THAT(rules_->Load(), IsOk());
  }
  void Put(const std::string& name, const std::string& source,
           const std::string& bus = "default") {
    evbus::v1::Rule rule;
    rule.set_name(name);
    rule.set_event_bus_name(bus);
    rule.set_event_pattern(absl::StrCat(R"({"source":[")", source, R"("]})"));
    ASSERT_TRUE(rules_->PutRule(rule).ok());
  }
  // Names of the rules an event from `source` matches now.
  std::vector<std::string> Matching(const std::string& source) {
    std::shared_ptr<const BusRules> s = rules_->Snapshot("default");
    pattern::FlatEventParser parser;
    pattern::FlatEvent event;
    EXPECT_TRUE(parser
                    .Parse(absl::StrCat(R"({"source":")", source, R"("})"),
                           &s->matcher->path_filter(), &event)
                    .ok());
    std::vector<uint32_t> ids;
    s->matcher->Match(event, &ids);
    std::vector<std::string> names;
    for (uint32_t id : ids) names.push_back(s->by_id[id]->name());
    return names;
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_{absl::FromUnixSeconds(1767323045)};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<RuleRegistry> rules_;
};

// A caller of the gRPC API cannot give a rule's target the retry schedule
// evbus keeps for topic deliveries.
TEST_F(RuleRegistryTest, RetryDelaysAreNotForRuleTargets) {
  Put("r", "com.example");
  evbus::v1::Target target;
  target.set_id("t");
  target.set_arn("http://127.0.0.1:9/hook");
  target.add_retry_delay_seconds(1);
  absl::StatusOr<PutTargetsResult> put =
      rules_->PutTargets("default", "r", {target});
  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(put.status().message()),
              ::testing::HasSubstr("retry_delay_seconds is set by evbus"));
  // A `$.` HttpParameters value must be a path evbus can read.
  evbus::v1::Target dynamic;
  dynamic.set_id("d");
  dynamic.set_arn("http://127.0.0.1:9/hook");
  (*dynamic.mutable_http_parameters()->mutable_header_parameters())["X-A"] =
      "$.detail[";
  put = rules_->PutTargets("default", "r", {dynamic});
  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(put.status().message()),
              ::testing::HasSubstr("HttpParameters of target d: "));
}

// Putting 200 rules re-indexes the bus once, when it is next read, and that
// read already sees every rule; a later change is seen by the next read.
TEST_F(RuleRegistryTest, ABurstOfChangesIsIndexedOnceAndSeenAtOnce) {
  for (int i = 0; i < 200; ++i) Put(absl::StrCat("r", i), absl::StrCat("s", i));
  EXPECT_EQ(rules_->matcher_builds(), 0u);
  EXPECT_THAT(Matching("s150"), ElementsAre("r150"));
  EXPECT_EQ(rules_->matcher_builds(), 1u);
  EXPECT_EQ(rules_->Snapshot("default")->matcher->rule_count(), 200u);
  Put("late", "s150");
  EXPECT_THAT(Matching("s150"), ElementsAre("r150", "late"));
  EXPECT_EQ(rules_->matcher_builds(), 2u);
  ASSERT_THAT(rules_->DeleteRule("default", "late", false), IsOk());
  EXPECT_THAT(Matching("s150"), ElementsAre("r150"));
}

// Target changes do not touch matching: the new snapshot keeps the matcher
// and carries the new targets.
TEST_F(RuleRegistryTest, TargetChangesKeepTheMatcher) {
  Put("r", "s");
  std::shared_ptr<const BusRules> before = rules_->Snapshot("default");
  evbus::v1::Target target;
  target.set_id("t1");
  target.set_arn("http://127.0.0.1:9/hook");
  ASSERT_TRUE(rules_->PutTargets("default", "r", {target}).ok());
  std::shared_ptr<const BusRules> after = rules_->Snapshot("default");
  EXPECT_NE(before, after);
  EXPECT_EQ(before->matcher, after->matcher);
  EXPECT_EQ(after->by_id[0]->targets_size(), 1);
  EXPECT_EQ(rules_->matcher_builds(), 1u);
}

// Disabling and enabling a rule changes matching: each rebuilds the matcher.
TEST_F(RuleRegistryTest, DisablingAndEnablingRebuildTheMatcher) {
  Put("r", "s");
  EXPECT_THAT(Matching("s"), ElementsAre("r"));
  ASSERT_THAT(rules_->SetRuleState("default", "r", false), IsOk());
  EXPECT_TRUE(Matching("s").empty());
  ASSERT_THAT(rules_->SetRuleState("default", "r", true), IsOk());
  EXPECT_THAT(Matching("s"), ElementsAre("r"));
  EXPECT_EQ(rules_->matcher_builds(), 3u);
}

// A restart reads every stored rule back and indexes each bus once.
TEST_F(RuleRegistryTest, RestartIndexesOnce) {
  for (int i = 0; i < 100; ++i) Put(absl::StrCat("r", i), absl::StrCat("s", i));
  Open();
  EXPECT_THAT(Matching("s42"), ElementsAre("r42"));
  EXPECT_EQ(rules_->matcher_builds(), 1u);
  EXPECT_EQ(rules_->Snapshot("default")->matcher->rule_count(), 100u);
}

// Ids of deleted rules are given to new ones, so the snapshot's by_id
// follows the number of rules, not how many were ever created; each
// snapshot still maps its matcher's ids to its own rules.
TEST_F(RuleRegistryTest, DeletedRuleIdsAreReused) {
  Put("keep", "k");
  for (int i = 0; i < 500; ++i) {
    Put(absl::StrCat("churn", i), "c");
    ASSERT_THAT(Matching("c"), ElementsAre(absl::StrCat("churn", i)));
    ASSERT_THAT(rules_->DeleteRule("default", absl::StrCat("churn", i), false),
                IsOk());
  }
  EXPECT_LE(rules_->Snapshot("default")->by_id.size(), 2u);
  Put("old", "x");
  std::shared_ptr<const BusRules> before = rules_->Snapshot("default");
  ASSERT_THAT(rules_->DeleteRule("default", "old", false), IsOk());
  Put("new", "x");  // takes the id "old" had
  EXPECT_THAT(Matching("x"), ElementsAre("new"));
  EXPECT_THAT(Matching("k"), ElementsAre("keep"));
  // The earlier snapshot still names the rule it matched with.
  pattern::FlatEventParser parser;
  pattern::FlatEvent event;
  ASSERT_TRUE(
      parser.Parse(R"({"source":"x"})", &before->matcher->path_filter(), &event)
          .ok());
  std::vector<uint32_t> ids;
  before->matcher->Match(event, &ids);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(before->by_id[ids[0]]->name(), "old");
}

// Deleting a rule deletes its dead letters in the same write, and deleting
// a bus's rules deletes every dead letter of the bus: a new rule of the same
// name starts with none.
TEST_F(RuleRegistryTest, DeletingARuleOrBusDeletesItsDeadLetters) {
  auto count = [this](const std::string& prefix) {
    int n = 0;
    EXPECT_THAT(store_->Scan(storage::Family::kDlq, prefix,
                             storage::keys::PrefixEnd(prefix),
                             [&n](absl::string_view, absl::string_view) {
                               ++n;
                               return true;
                             }),
                IsOk());
    return n;
  };
  Put("r", "a", "b1");
  Put("other", "a", "b1");
  Put("r", "a", "b2");
  storage::WriteBatch batch;
  for (const char* bus : {"b1", "b2"}) {
    for (const char* rule : {"r", "other", "gone-earlier"}) {
      batch.Put(storage::Family::kDlq,
                storage::keys::DeadLetterKey(bus, rule, "t", 1, "task"), "x");
    }
  }
  ASSERT_THAT(store_->Write(batch, /*sync=*/true), IsOk());

  ASSERT_THAT(rules_->DeleteRule("b1", "r", false), IsOk());
  EXPECT_EQ(count(storage::keys::DeadLetterRulePrefix("b1", "r")), 0);
  EXPECT_EQ(count(storage::keys::DeadLetterRulePrefix("b1", "other")), 1);
  EXPECT_EQ(count(storage::keys::DeadLetterRulePrefix("b2", "r")), 1);

  storage::WriteBatch drop;
  rules_->DeleteBusRulesTo(drop, "b1");
  ASSERT_THAT(store_->Write(drop, /*sync=*/true), IsOk());
  rules_->ForgetBus("b1");
  EXPECT_EQ(count(storage::keys::DeadLetterBusPrefix("b1")), 0);
  EXPECT_EQ(count(storage::keys::DeadLetterBusPrefix("b2")), 3);
}

// A bus's matcher is built outside the registry's lock: while one reader
// builds it, rule changes and other buses' reads go on, and the bus's other
// readers wait for the build. A change made during the build is not lost:
// the builder's caller gets the rules as they were when it asked, and the
// next reader builds again.
TEST_F(RuleRegistryTest, MatcherIsBuiltOutsideTheLock) {
  absl::Notification entered;
  absl::Notification release;
  std::atomic<int> builds_of_a{0};
  RuleRegistryOptions options{.max_rules_per_bus = 1000};
  options.before_matcher_build = [&](const std::string& bus) {
    if (bus != "a" || builds_of_a.fetch_add(1) != 0) return;
    entered.Notify();  // the first build of "a" waits to be released
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
  };
  rules_.reset();
  rules_ = std::make_unique<RuleRegistry>(*store_, clock_, options);
  ASSERT_THAT(rules_->Load(), IsOk());
  Put("other", "s", "b");
  Put("first", "s", "a");

  std::future<std::shared_ptr<const BusRules>> building =
      std::async(std::launch::async, [&] { return rules_->Snapshot("a"); });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Another bus is read and a rule is changed while "a" is being built.
  std::future<size_t> other = std::async(std::launch::async, [&] {
    return rules_->Snapshot("b")->matcher->rule_count();
  });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(other.get(), 1u);
  std::future<bool> change = std::async(std::launch::async, [&] {
    evbus::v1::Rule rule;
    rule.set_name("second");
    rule.set_event_bus_name("a");
    rule.set_event_pattern(R"({"source":["s"]})");
    return rules_->PutRule(rule).ok();
  });
  ASSERT_EQ(change.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_TRUE(change.get());
  // A second reader of "a" waits for the build in progress.
  std::future<size_t> waiting = std::async(std::launch::async, [&] {
    return rules_->Snapshot("a")->matcher->rule_count();
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(200)),
            std::future_status::timeout);
  release.Notify();
  ASSERT_EQ(building.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(building.get()->matcher->rule_count(), 1u);  // as when it asked
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(waiting.get(), 2u);  // built again, with the change
  EXPECT_EQ(rules_->Snapshot("a")->matcher->rule_count(), 2u);
  EXPECT_EQ(builds_of_a.load(), 2);
}

// Rules keep changing while the bus is being built: each build is
// installed when it ends, and the readers that asked before it started use
// it instead of building again one by one (which would queue a bus's
// routing behind one build per reader).
TEST_F(RuleRegistryTest, ReadersThatAskedBeforeABuildShareIt) {
  absl::Notification entered[2];
  absl::Notification release[2];
  std::atomic<int> builds_of_a{0};
  RuleRegistryOptions options{.max_rules_per_bus = 1000};
  options.before_matcher_build = [&](const std::string& bus) {
    if (bus != "a") return;
    const int build = builds_of_a.fetch_add(1);
    if (build >= 2) return;
    entered[build].Notify();  // the first two builds wait to be released
    release[build].WaitForNotificationWithTimeout(absl::Seconds(30));
  };
  rules_.reset();
  rules_ = std::make_unique<RuleRegistry>(*store_, clock_, options);
  ASSERT_THAT(rules_->Load(), IsOk());
  auto put = [&](const std::string& name) {
    evbus::v1::Rule rule;
    rule.set_name(name);
    rule.set_event_bus_name("a");
    rule.set_event_pattern(R"({"source":["s"]})");
    return rules_->PutRule(rule).ok();
  };
  auto rule_count = [&] {
    return rules_->Snapshot("a")->matcher->rule_count();
  };
  ASSERT_TRUE(put("first"));
  std::future<size_t> first = std::async(std::launch::async, rule_count);
  ASSERT_TRUE(entered[0].WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(put("second"));
  std::vector<std::future<size_t>> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(std::async(std::launch::async, rule_count));
  }
  // The three have asked (they wait for the first build) before it ends and
  // before the third rule comes: on a loaded machine a reader's thread can
  // start late, and would then rightly want the third rule.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (rules_->snapshot_waiters() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(rules_->snapshot_waiters(), 3u);
  release[0].Notify();
  ASSERT_EQ(first.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(first.get(), 1u);
  // One of the three builds again; a rule changes during that build too.
  ASSERT_TRUE(entered[1].WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(put("third"));
  release[1].Notify();
  for (std::future<size_t>& reader : readers) {
    ASSERT_EQ(reader.wait_for(std::chrono::seconds(10)),
              std::future_status::ready);
    EXPECT_EQ(reader.get(), 2u);  // the rules when they asked
  }
  EXPECT_EQ(builds_of_a.load(), 2);
  // A reader that asks after the third rule gets it.
  EXPECT_EQ(rule_count(), 3u);
  EXPECT_EQ(builds_of_a.load(), 3);
  EXPECT_EQ(rule_count(), 3u);
  EXPECT_EQ(builds_of_a.load(), 3);
}

}  // namespace
}  // namespace evbus::bus
