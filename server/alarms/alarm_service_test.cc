#include "server/alarms/alarm_service.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/common/json.h"
#include "server/metrics/registry.h"
#include "server/storage/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::alarms {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kAlarmTopic[] = "arn:aws:sns:us-east-1:000000000000:alarm";
constexpr char kOkTopic[] = "arn:aws:sns:us-east-1:000000000000:ok";
constexpr char kMissingTopic[] = "arn:aws:sns:us-east-1:000000000000:missing";

// 2024-07-16 13:00:00 UTC plus `minutes`.
absl::Time Minute(int minutes) {
  return absl::FromUnixSeconds(1721134800) + absl::Minutes(minutes);
}

// Per-minute data of the series AWS/Lambda Errors {FunctionName=f} (and of
// other AWS/Lambda metrics of f, for metric math); other series have none.
// Records every query.
class FakeMetricSource final : public MetricSource {
 public:
  struct Recorded {
    absl::Time start;
    absl::Time end;
  };

  void Add(absl::Time minute, double value, double count = 1) {
    AddTo("Errors", minute, value, count);
  }
  void AddTo(const std::string& metric, absl::Time minute, double value,
             double count = 1) {
    absl::MutexLock lock(&mu_);
    ASSERT_THAT(data_[metric][minute].Add(value, count), IsOk());
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    data_.clear();
  }
  void FailQueries(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_ = fail;
  }
  std::vector<Recorded> queries() const {
    absl::MutexLock lock(&mu_);
    return queries_;
  }

  absl::StatusOr<std::vector<std::pair<absl::Time, metricstore::Aggregate>>>
  Query(const std::string& ns, const std::string& metric,
        const std::vector<evbus::v1::Dimension>& dims, absl::Time start,
        absl::Time end) override {
    absl::MutexLock lock(&mu_);
    queries_.push_back({start, end});
    if (fail_) return absl::UnavailableError("metric store down");
    std::vector<std::pair<absl::Time, metricstore::Aggregate>> out;
    if (ns != "AWS/Lambda" || dims.size() != 1 ||
        dims[0].name() != "FunctionName" || dims[0].value() != "f") {
      return out;
    }
    const std::map<absl::Time, metricstore::Aggregate>& series = data_[metric];
    // Newest first, as GetMetricData's default order.
    for (auto it = series.rbegin(); it != series.rend(); ++it) {
      if (it->first >= start && it->first < end) out.push_back(*it);
    }
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::map<absl::Time, metricstore::Aggregate>> data_
      ABSL_GUARDED_BY(mu_);
  std::vector<Recorded> queries_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
};

class RecordingNotifier final : public AlarmNotifier {
 public:
  struct Call {
    std::string alarm;
    std::string old_state;
    std::string new_state;
    std::string reason;
    std::vector<std::string> actions;
    std::string old_suppressed_by;  // what held the actions back before
  };

  // Actions with this ARN fail with `message`.
  void FailAction(const std::string& arn, const std::string& message) {
    absl::MutexLock lock(&mu_);
    failures_[arn] = message;
  }
  std::vector<Call> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  std::vector<std::string> StateChanged(
      const evbus::v1::MetricAlarm& alarm, const evbus::v1::MetricAlarm& before,
      const std::vector<std::string>& actions) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back({alarm.alarm_name(), before.state_value(),
                      alarm.state_value(), alarm.state_reason(), actions,
                      before.actions_suppressed_by()});
    std::vector<std::string> results;
    for (const std::string& arn : actions) {
      auto it = failures_.find(arn);
      results.push_back(it == failures_.end() ? "" : it->second);
    }
    return results;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> failures_ ABSL_GUARDED_BY(mu_);
};

// Sum of AWS/Lambda Errors {FunctionName=f} > 0 over one 60 s period.
evbus::v1::PutMetricAlarmRequest ErrorsAlarm(const std::string& name) {
  evbus::v1::PutMetricAlarmRequest r;
  evbus::v1::MetricAlarm* a = r.mutable_alarm();
  a->set_alarm_name(name);
  a->set_namespace_("AWS/Lambda");
  a->set_metric_name("Errors");
  evbus::v1::Dimension* d = a->add_dimensions();
  d->set_name("FunctionName");
  d->set_value("f");
  a->set_statistic("Sum");
  a->set_period(60);
  a->set_evaluation_periods(1);
  a->set_threshold(0);
  r.add_present("threshold");
  a->set_comparison_operator("GreaterThanThreshold");
  a->add_alarm_actions(kAlarmTopic);
  a->add_ok_actions(kOkTopic);
  a->add_insufficient_data_actions(kMissingTopic);
  return r;
}

evbus::v1::PutMetricAlarmRequest WithTreatment(
    evbus::v1::PutMetricAlarmRequest r, const std::string& treatment) {
  r.mutable_alarm()->set_treat_missing_data(treatment);
  r.add_present("treat_missing_data");
  return r;
}

class AlarmServiceTest : public ::testing::Test {
 protected:
  AlarmServiceTest() : clock_(Minute(0) + absl::Seconds(30)) { Open(); }
  ~AlarmServiceTest() override { Close(); }

  void Open() {
    absl::StatusOr<std::unique_ptr<storage::Store>> store =
        storage::Store::Open({.path = dir_.Join("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    service_ = std::make_unique<AlarmService>(*store_, clock_, registry_,
                                              source_, notifier_, options_);
    ASSERT_THAT(service_->Load(), IsOk());
  }
  void Close() {
    service_.reset();
    store_.reset();
  }

  evbus::v1::MetricAlarm Describe(const std::string& name) {
    evbus::v1::DescribeAlarmsRequest r;
    r.add_alarm_names(name);
    absl::StatusOr<evbus::v1::DescribeAlarmsResponse> out =
        service_->DescribeAlarms(r);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok() || out->metric_alarms_size() != 1) {
      ADD_FAILURE() << "alarm " << name << " not found";
      return {};
    }
    return out->metric_alarms(0);
  }

  std::vector<evbus::v1::AlarmHistoryItem> History(
      const std::string& name, const std::string& type = "") {
    evbus::v1::DescribeAlarmHistoryRequest r;
    r.set_alarm_name(name);
    r.set_history_item_type(type);
    r.add_alarm_types("MetricAlarm");
    r.add_alarm_types("CompositeAlarm");
    absl::StatusOr<evbus::v1::DescribeAlarmHistoryResponse> out =
        service_->DescribeAlarmHistory(r);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return {};
    return {out->alarm_history_items().begin(),
            out->alarm_history_items().end()};
  }

  double StateGauge(const std::string& alarm, const std::string& state) {
    return registry_
        .GetGauge("evbus_alarm_state", "", {{"alarm", alarm}, {"state", state}})
        .Value();
  }

  // Evaluates minute `minute` a few seconds after it ends, as the loop would
  // (the clock only moves forward).
  void Evaluate(int minute) {
    if (clock_.Now() < Minute(minute)) {
      clock_.Set(Minute(minute) + absl::Seconds(5));
    }
    service_->EvaluateForTesting(Minute(minute));
  }

  // Polls (real time) until `done` holds or 10 s passed.
  template <typename Fn>
  bool WaitFor(Fn done) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return done();
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_;
  metrics::Registry registry_;
  FakeMetricSource source_;
  RecordingNotifier notifier_;
  AlarmServiceOptions options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AlarmService> service_;
};

TEST_F(AlarmServiceTest, CreateStartsInInsufficientData) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.alarm_arn(),
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:errors");
  EXPECT_EQ(a.state_value(), "INSUFFICIENT_DATA");
  EXPECT_EQ(a.state_reason(), "Unchecked: Initial alarm creation");
  EXPECT_TRUE(a.actions_enabled());
  EXPECT_EQ(a.datapoints_to_alarm(), 1);
  EXPECT_EQ(a.treat_missing_data(), "missing");
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  EXPECT_EQ(a.configuration_updated_ms(), now_ms);
  EXPECT_EQ(a.state_updated_ms(), now_ms);
  EXPECT_EQ(a.state_transitioned_ms(), now_ms);
  EXPECT_EQ(StateGauge("errors", "INSUFFICIENT_DATA"), 1);
  EXPECT_EQ(StateGauge("errors", "ALARM"), 0);
  EXPECT_EQ(StateGauge("errors", "OK"), 0);

  std::vector<evbus::v1::AlarmHistoryItem> h = History("errors");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].history_item_type(), "ConfigurationUpdate");
  EXPECT_EQ(h[0].history_summary(), "Alarm \"errors\" created");
  EXPECT_EQ(h[0].alarm_type(), "MetricAlarm");
  EXPECT_EQ(h[0].timestamp_ms(), now_ms);
  absl::StatusOr<common::Json> data = common::ParseJson(h[0].history_data());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ((*data)["type"], "Create");
  EXPECT_EQ((*data)["createdAlarm"]["metricName"], "Errors");
  EXPECT_EQ((*data)["createdAlarm"]["period"], 60);
  EXPECT_TRUE(notifier_.calls().empty());
}

TEST_F(AlarmServiceTest, UpdateKeepsStateAndRecordsChangedFields) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 3);
  Evaluate(1);
  ASSERT_EQ(Describe("errors").state_value(), "ALARM");
  clock_.Advance(absl::Minutes(1));
  evbus::v1::PutMetricAlarmRequest r = ErrorsAlarm("errors");
  r.mutable_alarm()->set_threshold(10);
  ASSERT_THAT(service_->PutMetricAlarm(r), IsOk());
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "ALARM");
  EXPECT_EQ(a.threshold(), 10);
  EXPECT_EQ(a.configuration_updated_ms(), absl::ToUnixMillis(clock_.Now()));
  std::vector<evbus::v1::AlarmHistoryItem> h =
      History("errors", "ConfigurationUpdate");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].history_summary(), "Alarm \"errors\" updated");
  absl::StatusOr<common::Json> data = common::ParseJson(h[0].history_data());
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(common::DumpJson((*data)["originalUpdatedFields"]),
            "{\"threshold\":0.0}");
  EXPECT_EQ((*data)["updatedAlarm"]["threshold"], 10.0);
  // The next evaluation uses the new threshold.
  Evaluate(2);
  EXPECT_EQ(Describe("errors").state_value(), "OK");
}

TEST_F(AlarmServiceTest, BreachingSumAlarmsOnceWithCloudWatchReason) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 1, 3);  // Sum 3 in minute 13:00
  Evaluate(1);
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "ALARM");
  EXPECT_EQ(a.state_reason(),
            "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (16/07/24 "
            "13:00:00)] was greater than the threshold (0.0) (minimum 1 "
            "datapoint for OK -> ALARM transition).");
  EXPECT_THAT(a.state_reason_data(), HasSubstr("\"statistic\":\"Sum\""));
  EXPECT_THAT(a.state_reason_data(),
              HasSubstr("\"evaluatedDatapoints\":[{\"timestamp\":\"2024-07-16T"
                        "13:00:00.000+0000\",\"sampleCount\":3.0,\"value\":3."
                        "0}]"));
  EXPECT_EQ(a.last_evaluated_ms(), absl::ToUnixMillis(Minute(1)));
  EXPECT_EQ(StateGauge("errors", "ALARM"), 1);
  EXPECT_EQ(StateGauge("errors", "INSUFFICIENT_DATA"), 0);

  std::vector<RecordingNotifier::Call> calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].alarm, "errors");
  EXPECT_EQ(calls[0].old_state, "INSUFFICIENT_DATA");
  EXPECT_EQ(calls[0].new_state, "ALARM");
  EXPECT_THAT(calls[0].actions, ElementsAre(kAlarmTopic));

  // The query covered the evaluation range: 3 one-minute buckets.
  ASSERT_FALSE(source_.queries().empty());
  EXPECT_EQ(source_.queries().back().start, Minute(-2));
  EXPECT_EQ(source_.queries().back().end, Minute(1));

  // While the datapoint stays in the range the state holds: no repeat.
  Evaluate(2);
  Evaluate(3);
  EXPECT_EQ(Describe("errors").state_value(), "ALARM");
  EXPECT_EQ(notifier_.calls().size(), 1u);

  std::vector<evbus::v1::AlarmHistoryItem> h = History("errors");
  ASSERT_EQ(h.size(), 3u);  // newest first
  EXPECT_EQ(h[0].history_item_type(), "Action");
  EXPECT_EQ(h[0].history_summary(),
            absl::StrCat("Successfully executed action ", kAlarmTopic));
  EXPECT_EQ(h[1].history_item_type(), "StateUpdate");
  EXPECT_EQ(h[1].history_summary(),
            "Alarm updated from INSUFFICIENT_DATA to ALARM");
  absl::StatusOr<common::Json> data = common::ParseJson(h[1].history_data());
  ASSERT_TRUE(data.ok());
  EXPECT_EQ((*data)["version"], "1.0");
  EXPECT_EQ((*data)["oldState"]["stateValue"], "INSUFFICIENT_DATA");
  EXPECT_EQ((*data)["oldState"]["stateReason"],
            "Unchecked: Initial alarm creation");
  EXPECT_EQ((*data)["newState"]["stateValue"], "ALARM");
  EXPECT_EQ((*data)["newState"]["stateReason"], a.state_reason());
  EXPECT_EQ((*data)["newState"]["stateReasonData"]["period"], 60);
  EXPECT_EQ(h[2].history_item_type(), "ConfigurationUpdate");

  std::string text = registry_.Serialize();
  EXPECT_THAT(text,
              HasSubstr("evbus_alarm_state_changes_total{alarm=\"errors\"} 1"));
  EXPECT_THAT(text, HasSubstr("evbus_alarm_actions_total{result=\"ok\"} 1"));
}

TEST_F(AlarmServiceTest, NotBreachingMissingDataGoesOkAfterTheRange) {
  ASSERT_THAT(service_->PutMetricAlarm(
                  WithTreatment(ErrorsAlarm("errors"), "notBreaching")),
              IsOk());
  source_.Add(Minute(0), 5);
  Evaluate(1);
  ASSERT_EQ(Describe("errors").state_value(), "ALARM");
  // The datapoint is re-evaluated while it is in the 3-bucket range.
  Evaluate(2);
  Evaluate(3);
  EXPECT_EQ(Describe("errors").state_value(), "ALARM");
  Evaluate(4);
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "OK");
  EXPECT_EQ(a.state_reason(),
            "Threshold Crossed: no datapoints were received for 1 period and 1 "
            "missing datapoint was treated as [NonBreaching].");
  std::vector<RecordingNotifier::Call> calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].old_state, "ALARM");
  EXPECT_EQ(calls[1].new_state, "OK");
  EXPECT_THAT(calls[1].actions, ElementsAre(kOkTopic));
}

TEST_F(AlarmServiceTest, MissingDataGoesInsufficientAfterTheRange) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 0);  // not breaching: OK
  Evaluate(1);
  ASSERT_EQ(Describe("errors").state_value(), "OK");
  Evaluate(3);
  EXPECT_EQ(Describe("errors").state_value(), "OK");
  Evaluate(4);
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "INSUFFICIENT_DATA");
  EXPECT_EQ(a.state_reason(), "Insufficient Data: 1 datapoint was unknown.");
  std::vector<RecordingNotifier::Call> calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0].actions, ElementsAre(kOkTopic));
  EXPECT_THAT(calls[1].actions, ElementsAre(kMissingTopic));
}

TEST_F(AlarmServiceTest, FiveMinutePeriodSlidesEveryMinute) {
  evbus::v1::PutMetricAlarmRequest r = ErrorsAlarm("errors");
  r.mutable_alarm()->set_period(300);
  r.mutable_alarm()->set_threshold(2);
  r.mutable_alarm()->set_comparison_operator("GreaterThanOrEqualToThreshold");
  ASSERT_THAT(service_->PutMetricAlarm(r), IsOk());
  source_.Add(Minute(0), 1);
  source_.Add(Minute(4), 1);
  // At 13:04 the window [12:59, 13:04) holds 1.
  Evaluate(4);
  EXPECT_EQ(Describe("errors").state_value(), "OK");
  EXPECT_EQ(source_.queries().back().start, Minute(4) - absl::Minutes(15));
  EXPECT_EQ(source_.queries().back().end, Minute(4));
  // At 13:05 the window [13:00, 13:05) holds both minutes: 2.
  Evaluate(5);
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "ALARM");
  EXPECT_EQ(a.state_reason(),
            "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (16/07/24 "
            "13:00:00)] was greater than or equal to the threshold (2.0) "
            "(minimum 1 datapoint for OK -> ALARM transition).");
  EXPECT_THAT(a.state_reason_data(), HasSubstr("\"period\":300"));
  // At 13:06 the window [13:01, 13:06) holds 1 again.
  Evaluate(6);
  EXPECT_EQ(Describe("errors").state_value(), "OK");
  EXPECT_THAT(Describe("errors").state_reason(),
              HasSubstr("[1.0 (16/07/24 13:01:00)]"));
}

TEST_F(AlarmServiceTest, PercentileAlarm) {
  evbus::v1::PutMetricAlarmRequest high = ErrorsAlarm("p90-high");
  high.mutable_alarm()->clear_statistic();
  high.mutable_alarm()->set_extended_statistic("p90");
  high.mutable_alarm()->set_threshold(85);
  evbus::v1::PutMetricAlarmRequest low = high;
  low.mutable_alarm()->set_alarm_name("p90-low");
  low.mutable_alarm()->set_threshold(95);
  ASSERT_THAT(service_->PutMetricAlarm(high), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(low), IsOk());
  for (int v = 1; v <= 100; ++v) source_.Add(Minute(0), v);
  Evaluate(1);
  evbus::v1::MetricAlarm a = Describe("p90-high");
  EXPECT_EQ(a.state_value(), "ALARM");
  EXPECT_EQ(a.extended_statistic(), "p90");
  EXPECT_THAT(a.state_reason_data(), HasSubstr("\"statistic\":\"p90\""));
  EXPECT_THAT(a.state_reason_data(), HasSubstr("\"sampleCount\":100.0"));
  EXPECT_EQ(Describe("p90-low").state_value(), "OK");
}

TEST_F(AlarmServiceTest, SetAlarmStateForcesUntilNextEvaluation) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 0);
  source_.Add(Minute(1), 0);
  Evaluate(1);
  ASSERT_EQ(Describe("errors").state_value(), "OK");
  ASSERT_EQ(notifier_.calls().size(), 1u);

  evbus::v1::SetAlarmStateRequest set;
  set.set_alarm_name("errors");
  set.set_state_value("ALARM");
  set.set_state_reason("testing purposes");
  set.set_state_reason_data("{\"k\":1}");
  ASSERT_THAT(service_->SetAlarmState(set), IsOk());
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "ALARM");
  EXPECT_EQ(a.state_reason(), "testing purposes");
  EXPECT_EQ(a.state_reason_data(), "{\"k\":1}");
  std::vector<RecordingNotifier::Call> calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].old_state, "OK");
  EXPECT_EQ(calls[1].reason, "testing purposes");
  EXPECT_THAT(calls[1].actions, ElementsAre(kAlarmTopic));
  std::vector<evbus::v1::AlarmHistoryItem> updates =
      History("errors", "StateUpdate");
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].history_summary(), "Alarm updated from OK to ALARM");
  EXPECT_THAT(updates[0].history_data(),
              HasSubstr("\"stateReason\":\"testing purposes\","
                        "\"stateReasonData\":{\"k\":1}"));

  // The same state again: nothing happens.
  ASSERT_THAT(service_->SetAlarmState(set), IsOk());
  EXPECT_EQ(notifier_.calls().size(), 2u);
  EXPECT_EQ(History("errors", "StateUpdate").size(), 2u);

  // The next evaluation decides from the data again.
  Evaluate(2);
  EXPECT_EQ(Describe("errors").state_value(), "OK");
  calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].old_state, "ALARM");
  EXPECT_THAT(calls[2].actions, ElementsAre(kOkTopic));
}

TEST_F(AlarmServiceTest, DisabledActionsStillChangeState) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  ASSERT_THAT(service_->SetActionsEnabled({"errors", "unknown"}, false),
              IsOk());
  EXPECT_FALSE(Describe("errors").actions_enabled());
  std::vector<evbus::v1::AlarmHistoryItem> config =
      History("errors", "ConfigurationUpdate");
  ASSERT_EQ(config.size(), 2u);
  EXPECT_EQ(config[0].history_summary(), "Alarm \"errors\" updated");
  EXPECT_THAT(config[0].history_data(),
              HasSubstr("\"originalUpdatedFields\":{\"actionsEnabled\":true}"));

  source_.Add(Minute(0), 4);
  Evaluate(1);
  EXPECT_EQ(Describe("errors").state_value(), "ALARM");
  std::vector<RecordingNotifier::Call> calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 1u);  // the state change is still announced
  EXPECT_THAT(calls[0].actions, IsEmpty());
  EXPECT_THAT(History("errors", "Action"), IsEmpty());

  // Enabling again does not replay anything; the next transition fires.
  ASSERT_THAT(service_->SetActionsEnabled({"errors"}, true), IsOk());
  EXPECT_TRUE(Describe("errors").actions_enabled());
  EXPECT_EQ(notifier_.calls().size(), 1u);
  Evaluate(4);  // no data: INSUFFICIENT_DATA
  calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[1].actions, ElementsAre(kMissingTopic));
}

TEST_F(AlarmServiceTest, FailedActionIsRecorded) {
  notifier_.FailAction(kAlarmTopic, "topic does not exist");
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 4);
  Evaluate(1);
  std::vector<evbus::v1::AlarmHistoryItem> actions =
      History("errors", "Action");
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].history_summary(),
            absl::StrCat("Failed to execute action ", kAlarmTopic,
                         ". Received error: \"topic does not exist\""));
  EXPECT_THAT(actions[0].history_data(),
              HasSubstr("\"actionState\":\"Failed\""));
  EXPECT_THAT(registry_.Serialize(),
              HasSubstr("evbus_alarm_actions_total{result=\"failed\"} 1"));
}

TEST_F(AlarmServiceTest, MetricQueryErrorKeepsState) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 4);
  source_.FailQueries(true);
  Evaluate(1);
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "INSUFFICIENT_DATA");
  EXPECT_EQ(a.last_evaluated_ms(), 0);
  source_.FailQueries(false);
  Evaluate(1);
  EXPECT_EQ(Describe("errors").state_value(), "ALARM");
}

TEST_F(AlarmServiceTest, HistoryFiltersAndPaging) {
  ASSERT_THAT(service_->PutMetricAlarm(
                  WithTreatment(ErrorsAlarm("errors"), "notBreaching")),
              IsOk());
  clock_.Set(Minute(1) + absl::Seconds(10));
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("other")), IsOk());
  source_.Add(Minute(0), 4);
  Evaluate(1);  // errors, other: ALARM (+ one action each)
  Evaluate(4);  // errors: OK (+ action); other: INSUFFICIENT_DATA (+ action)
  // errors: created, ALARM, action, OK, action.
  std::vector<evbus::v1::AlarmHistoryItem> all = History("errors");
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i - 1].timestamp_ms(), all[i].timestamp_ms());
  }
  EXPECT_EQ(all[4].history_summary(), "Alarm \"errors\" created");
  EXPECT_EQ(all[1].history_summary(), "Alarm updated from ALARM to OK");

  // Pages of 2, newest first, then oldest first.
  for (const std::string& scan_by :
       std::vector<std::string>{"", "TimestampAscending"}) {
    evbus::v1::DescribeAlarmHistoryRequest r;
    r.set_alarm_name("errors");
    r.set_max_records(2);
    r.set_scan_by(scan_by);
    std::vector<std::string> summaries;
    int pages = 0;
    for (;;) {
      absl::StatusOr<evbus::v1::DescribeAlarmHistoryResponse> page =
          service_->DescribeAlarmHistory(r);
      ASSERT_TRUE(page.ok()) << page.status();
      ++pages;
      EXPECT_LE(page->alarm_history_items_size(), 2);
      for (const auto& item : page->alarm_history_items()) {
        summaries.push_back(item.history_summary());
      }
      if (page->next_token().empty()) break;
      r.set_next_token(page->next_token());
    }
    EXPECT_EQ(pages, 3);
    ASSERT_EQ(summaries.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(summaries[i],
                all[scan_by.empty() ? i : 4 - i].history_summary());
    }
  }

  // Type and date filters.
  EXPECT_EQ(History("errors", "StateUpdate").size(), 2u);
  EXPECT_EQ(History("errors", "Action").size(), 2u);
  evbus::v1::DescribeAlarmHistoryRequest dated;
  dated.set_alarm_name("errors");
  dated.set_start_date_ms(absl::ToUnixMillis(Minute(1)));
  dated.set_end_date_ms(absl::ToUnixMillis(Minute(2)));
  absl::StatusOr<evbus::v1::DescribeAlarmHistoryResponse> d =
      service_->DescribeAlarmHistory(dated);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->alarm_history_items_size(), 2);  // the ALARM change + action
  EXPECT_EQ(d->alarm_history_items(1).history_summary(),
            "Alarm updated from INSUFFICIENT_DATA to ALARM");

  // Every alarm: 5 + 5, merged newest first.
  evbus::v1::DescribeAlarmHistoryRequest every;
  absl::StatusOr<evbus::v1::DescribeAlarmHistoryResponse> e =
      service_->DescribeAlarmHistory(every);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->alarm_history_items_size(), 10);
  std::set<std::string> names;
  for (int i = 0; i < 10; ++i) {
    names.insert(e->alarm_history_items(i).alarm_name());
    if (i > 0) {
      EXPECT_GE(e->alarm_history_items(i - 1).timestamp_ms(),
                e->alarm_history_items(i).timestamp_ms());
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"errors", "other"}));
  EXPECT_EQ(e->alarm_history_items(9).history_summary(),
            "Alarm \"errors\" created");

  // Bad inputs.
  evbus::v1::DescribeAlarmHistoryRequest bad;
  bad.set_history_item_type("Bogus");
  EXPECT_THAT(service_->DescribeAlarmHistory(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: 1 validation error detected: Value "
                       "'Bogus' at 'historyItemType' failed to satisfy "
                       "constraint: Member must satisfy enum value set: "
                       "[ConfigurationUpdate, StateUpdate, Action]"));
  bad.Clear();
  bad.set_max_records(101);
  EXPECT_THAT(service_->DescribeAlarmHistory(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Member must have value less than or equal "
                                 "to 100")));
  bad.Clear();
  bad.set_next_token("garbage");
  EXPECT_THAT(service_->DescribeAlarmHistory(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("InvalidNextToken")));
}

TEST_F(AlarmServiceTest, DescribeAlarmsFiltersAndPages) {
  evbus::v1::PutMetricAlarmRequest r = ErrorsAlarm("b-1");
  r.mutable_alarm()->clear_alarm_actions();
  r.mutable_alarm()->add_alarm_actions(
      "arn:aws:lambda:us-east-1:000000000000:function:pager");
  ASSERT_THAT(service_->PutMetricAlarm(r), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("a-2")), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("a-1")), IsOk());
  evbus::v1::SetAlarmStateRequest set;
  set.set_alarm_name("a-2");
  set.set_state_value("OK");
  set.set_state_reason("r");
  ASSERT_THAT(service_->SetAlarmState(set), IsOk());

  auto names = [&](const evbus::v1::DescribeAlarmsRequest& req) {
    std::vector<std::string> out;
    absl::StatusOr<evbus::v1::DescribeAlarmsResponse> resp =
        service_->DescribeAlarms(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (resp.ok()) {
      for (const auto& a : resp->metric_alarms()) out.push_back(a.alarm_name());
    }
    return out;
  };
  evbus::v1::DescribeAlarmsRequest req;
  EXPECT_THAT(names(req), ElementsAre("a-1", "a-2", "b-1"));
  req.set_alarm_name_prefix("a-");
  EXPECT_THAT(names(req), ElementsAre("a-1", "a-2"));
  req.Clear();
  req.add_alarm_names("b-1");
  req.add_alarm_names("zzz");
  EXPECT_THAT(names(req), ElementsAre("b-1"));
  req.Clear();
  req.set_state_value("OK");
  EXPECT_THAT(names(req), ElementsAre("a-2"));
  req.Clear();
  req.set_action_prefix("arn:aws:lambda:");
  EXPECT_THAT(names(req), ElementsAre("b-1"));

  // Paging: the token is the last name.
  req.Clear();
  req.set_max_records(2);
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> page =
      service_->DescribeAlarms(req);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->metric_alarms_size(), 2);
  EXPECT_EQ(page->next_token(), "a-2");
  req.set_next_token(page->next_token());
  page = service_->DescribeAlarms(req);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->metric_alarms_size(), 1);
  EXPECT_EQ(page->metric_alarms(0).alarm_name(), "b-1");
  EXPECT_EQ(page->next_token(), "");

  req.Clear();
  req.set_max_records(101);
  EXPECT_THAT(service_->DescribeAlarms(req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: 1 validation error detected: Value "
                       "'101' at 'maxRecords' failed to satisfy constraint: "
                       "Member must have value less than or equal to 100"));
  req.Clear();
  req.set_state_value("BROKEN");
  EXPECT_THAT(service_->DescribeAlarms(req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at 'stateValue'")));
}

TEST_F(AlarmServiceTest, DeleteRemovesAlarmAndHistory) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("gone")), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("kept")), IsOk());
  ASSERT_THAT(service_->DeleteAlarms({"gone", "never-existed"}), IsOk());
  evbus::v1::DescribeAlarmsRequest req;
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> resp =
      service_->DescribeAlarms(req);
  ASSERT_TRUE(resp.ok());
  ASSERT_EQ(resp->metric_alarms_size(), 1);
  EXPECT_EQ(resp->metric_alarms(0).alarm_name(), "kept");
  EXPECT_THAT(History("gone"), IsEmpty());
  EXPECT_EQ(History("kept").size(), 1u);
  EXPECT_EQ(StateGauge("gone", "INSUFFICIENT_DATA"), 0);
  // Deleted alarms are not evaluated.
  source_.Add(Minute(0), 4);
  Evaluate(1);
  for (const auto& c : notifier_.calls()) EXPECT_EQ(c.alarm, "kept");
  // Gone after a restart too.
  Close();
  Open();
  resp = service_->DescribeAlarms(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->metric_alarms_size(), 1);
}

TEST_F(AlarmServiceTest, AlarmsAndHistorySurviveReopen) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 4);
  Evaluate(1);
  evbus::v1::MetricAlarm before = Describe("errors");
  ASSERT_EQ(before.state_value(), "ALARM");
  const size_t history = History("errors").size();

  Close();
  Open();
  evbus::v1::MetricAlarm after = Describe("errors");
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(History("errors").size(), history);
  EXPECT_EQ(StateGauge("errors", "ALARM"), 1);
  // An update after the restart gets a history key of its own.
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  EXPECT_EQ(History("errors").size(), history + 1);
  // And evaluation continues from the stored state: no repeated action.
  Evaluate(2);
  EXPECT_EQ(Describe("errors").state_value(), "ALARM");
  EXPECT_EQ(notifier_.calls().size(), 1u);
}

// 100 * Errors / Invocations of AWS/Lambda {FunctionName=f}, each a Sum
// over 60 s, > 10 (percent) over one period.
evbus::v1::PutMetricAlarmRequest ErrorRateAlarm(const std::string& name) {
  evbus::v1::PutMetricAlarmRequest r;
  evbus::v1::MetricAlarm* a = r.mutable_alarm();
  a->set_alarm_name(name);
  auto metric = [a](const char* id, const char* metric_name) {
    evbus::v1::MetricDataQuery* q = a->add_metrics();
    q->set_id(id);
    q->set_return_data(false);
    evbus::v1::MetricStat* stat = q->mutable_metric_stat();
    stat->mutable_metric()->set_namespace_("AWS/Lambda");
    stat->mutable_metric()->set_metric_name(metric_name);
    evbus::v1::Dimension* d = stat->mutable_metric()->add_dimensions();
    d->set_name("FunctionName");
    d->set_value("f");
    stat->set_period(60);
    stat->set_stat("Sum");
  };
  metric("e", "Errors");
  metric("i", "Invocations");
  evbus::v1::MetricDataQuery* rate = a->add_metrics();
  rate->set_id("rate");
  rate->set_expression("100*e/i");
  rate->set_label("Error rate");
  rate->set_return_data(true);
  a->set_evaluation_periods(1);
  a->set_threshold(10);
  r.add_present("threshold");
  a->set_comparison_operator("GreaterThanThreshold");
  a->add_alarm_actions(kAlarmTopic);
  return r;
}

TEST_F(AlarmServiceTest, MetricMathAlarmComparesItsExpression) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorRateAlarm("rate")), IsOk());
  evbus::v1::MetricAlarm a = Describe("rate");
  ASSERT_EQ(a.metrics_size(), 3);
  EXPECT_EQ(a.metrics(2).expression(), "100*e/i");
  EXPECT_EQ(a.period(), 0);  // the queries carry it
  EXPECT_EQ(a.metric_name(), "");
  // 1 error in 20 calls: 5 %, not above 10.
  source_.AddTo("Errors", Minute(0), 1);
  source_.AddTo("Invocations", Minute(0), 1, 20);
  Evaluate(1);
  a = Describe("rate");
  EXPECT_EQ(a.state_value(), "OK");
  // 5 errors in 20 calls: 25 %.
  source_.AddTo("Errors", Minute(1), 1, 5);
  source_.AddTo("Invocations", Minute(1), 1, 20);
  Evaluate(2);
  a = Describe("rate");
  EXPECT_EQ(a.state_value(), "ALARM");
  EXPECT_EQ(a.state_reason(),
            "Threshold Crossed: 1 out of the last 1 datapoints [25.0 "
            "(16/07/24 13:01:00)] was greater than the threshold (10.0) "
            "(minimum 1 datapoint for OK -> ALARM transition).");
  EXPECT_THAT(a.state_reason_data(), Not(HasSubstr("statistic")));
  std::vector<RecordingNotifier::Call> calls = notifier_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[1].actions, ElementsAre(kAlarmTopic));
  // Errors but no invocations: no datapoint for the rate (missing), so
  // once minute 1 leaves the range (minutes 2..4) nothing is left.
  source_.AddTo("Errors", Minute(2), 1, 5);
  source_.Add(Minute(3), 1);
  Evaluate(5);
  EXPECT_EQ(Describe("rate").state_value(), "INSUFFICIENT_DATA");

  std::vector<evbus::v1::AlarmHistoryItem> h =
      History("rate", "ConfigurationUpdate");
  ASSERT_EQ(h.size(), 1u);
  absl::StatusOr<common::Json> data = common::ParseJson(h[0].history_data());
  ASSERT_TRUE(data.ok());
  const common::Json& created = (*data)["createdAlarm"];
  EXPECT_FALSE(created.contains("metricName"));
  ASSERT_EQ(created["metrics"].size(), 3u);
  EXPECT_EQ(created["metrics"][2]["expression"], "100*e/i");
  EXPECT_EQ(created["metrics"][0]["metricStat"]["metric"]["metricName"],
            "Errors");

  // Survives a restart, and is still evaluated.
  Close();
  Open();
  EXPECT_EQ(Describe("rate").metrics_size(), 3);
  source_.AddTo("Errors", Minute(5), 1, 9);
  source_.AddTo("Invocations", Minute(5), 1, 10);
  Evaluate(6);
  EXPECT_EQ(Describe("rate").state_value(), "ALARM");
}

TEST_F(AlarmServiceTest, MetricMathAlarmValidation) {
  auto refused = [this](const evbus::v1::PutMetricAlarmRequest& r) {
    absl::Status s = service_->PutMetricAlarm(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  evbus::v1::PutMetricAlarmRequest r = ErrorRateAlarm("bad");
  r.mutable_alarm()->set_statistic("Sum");
  EXPECT_EQ(refused(r),
            "ValidationError: Statistic should not be set if list of Metrics "
            "is set.");
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->set_period(60);
  r.add_present("period");
  EXPECT_EQ(refused(r),
            "ValidationError: Period should not be set if list of Metrics is "
            "set.");
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(0)->set_return_data(true);
  EXPECT_EQ(refused(r),
            "ValidationError: Exactly one element of the metrics list should "
            "return data.");
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(2)->set_return_data(false);
  EXPECT_EQ(refused(r),
            "ValidationError: Exactly one element of the metrics list should "
            "return data.");
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(2)->set_expression("100*e/calls");
  EXPECT_THAT(refused(r), HasSubstr("refers to unknown id 'calls'"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(2)->set_expression("100*e/");
  EXPECT_THAT(refused(r), HasSubstr("Error in the expression of "
                                    "Metrics.member.3 (rate): Syntax error"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(2)->set_expression("METRICS()");
  EXPECT_THAT(refused(r), HasSubstr("gives an array of time series"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(1)->mutable_metric_stat()->set_period(300);
  EXPECT_THAT(refused(r), HasSubstr("the same Period"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(1)->mutable_metric_stat()->set_stat(
      "Total");
  EXPECT_THAT(refused(r), HasSubstr("Invalid metrics list: the Stat 'Total' "
                                    "of Metrics.member.2 (i)"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(1)->set_expression("e");
  EXPECT_THAT(refused(r), HasSubstr("exactly one of MetricStat and "
                                    "Expression"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(1)->set_id("I");
  EXPECT_THAT(refused(r), HasSubstr("Invalid id 'I'"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(0)->set_id("rate");
  EXPECT_THAT(refused(r), HasSubstr("Duplicate id 'rate'"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(2)->set_expression("rate + 1");
  EXPECT_THAT(refused(r), HasSubstr("Circular dependency"));
  // At most 10 MetricStat and 10 Expression queries (the SDK model).
  r = ErrorRateAlarm("bad");
  for (int i = 0; i < 9; ++i) {
    *r.mutable_alarm()->add_metrics() = r.alarm().metrics(0);
    r.mutable_alarm()->mutable_metrics(3 + i)->set_id(absl::StrCat("x", i));
  }
  EXPECT_EQ(refused(r),
            "ValidationError: The list of Metrics may hold at most 10 "
            "MetricStat and 10 Expression elements; it has 11 and 1.");
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(1)->set_id("E");
  EXPECT_THAT(refused(r), HasSubstr("Invalid id 'E' of Metrics.member.2"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(1)->mutable_metric_stat()->set_stat("IQM");
  EXPECT_THAT(refused(r), HasSubstr("is not supported by evbus"));
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->mutable_metrics(1)->mutable_metric_stat()->clear_stat();
  EXPECT_THAT(refused(r), HasSubstr("Metrics.member.2 (i) needs a Stat"));
  // QA pass F: nested arrays (100^3 series) over 1,440 periods were
  // accepted, then killed evbusd at every evaluation. Refused at put time.
  r = ErrorRateAlarm("bad");
  r.mutable_alarm()->set_evaluation_periods(1440);
  std::string hundred = "[e";
  for (int i = 1; i < 100; ++i) hundred += ",e";
  hundred += "]";
  r.mutable_alarm()->mutable_metrics(2)->set_expression(
      absl::StrCat("SUM(", hundred, ")"));
  r.mutable_alarm()->mutable_metrics(2)->set_return_data(false);
  evbus::v1::MetricDataQuery* wide = r.mutable_alarm()->add_metrics();
  wide->set_id("wide");
  wide->set_expression(absl::StrCat("SUM(", hundred, ") + SUM(", hundred,
                                    ") + SUM(", hundred, ")"));
  wide->set_return_data(true);
  EXPECT_THAT(refused(r), HasSubstr("values (time series x periods)"));
  // Nothing was stored.
  evbus::v1::DescribeAlarmsRequest req;
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> resp =
      service_->DescribeAlarms(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->metric_alarms_size(), 0);
}

TEST_F(AlarmServiceTest, PutMetricAlarmValidationErrors) {
  evbus::v1::PutMetricAlarmRequest r = ErrorsAlarm("bad");
  r.mutable_alarm()->set_period(45);
  EXPECT_THAT(service_->PutMetricAlarm(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: Period must be 10, 20, 30 or a "
                       "multiple of 60"));

  r = ErrorsAlarm("bad");
  r.mutable_alarm()->set_comparison_operator("Bigger");
  EXPECT_THAT(
      service_->PutMetricAlarm(r),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "ValidationError: 1 validation error detected: Value 'Bigger' "
               "at 'comparisonOperator' failed to satisfy constraint: Member "
               "must satisfy enum value set: [GreaterThanOrEqualToThreshold, "
               "GreaterThanThreshold, LessThanThreshold, "
               "LessThanOrEqualToThreshold, "
               "LessThanLowerOrGreaterThanUpperThreshold, "
               "LessThanLowerThreshold, GreaterThanUpperThreshold]"));

  r = ErrorsAlarm("bad");
  r.mutable_alarm()->set_extended_statistic("p90");
  EXPECT_THAT(service_->PutMetricAlarm(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "InvalidParameterCombination: Exactly one of Statistic "
                       "or ExtendedStatistic must be specified."));

  r = ErrorsAlarm("bad");
  r.mutable_alarm()->clear_statistic();
  r.mutable_alarm()->set_extended_statistic("p101");
  EXPECT_THAT(service_->PutMetricAlarm(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "InvalidParameterValue: The value p101 for parameter "
                       "ExtendedStatistic is not supported."));

  // Threshold 0 without "present" is absent.
  r = ErrorsAlarm("bad");
  r.clear_present();
  EXPECT_THAT(service_->PutMetricAlarm(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("The parameter Threshold must be specified")));

  r = ErrorsAlarm("bad");
  r.mutable_alarm()->set_evaluation_periods(0);
  EXPECT_THAT(service_->PutMetricAlarm(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: 1 validation error detected: Value "
                       "null at 'evaluationPeriods' failed to satisfy "
                       "constraint: Member must not be null"));

  r = WithTreatment(ErrorsAlarm("bad"), "sometimes");
  EXPECT_THAT(service_->PutMetricAlarm(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("InvalidParameterValue: The value sometimes "
                                 "is not supported for TreatMissingData")));

  evbus::v1::DescribeAlarmsRequest req;
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> resp =
      service_->DescribeAlarms(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->metric_alarms_size(), 0);
  EXPECT_THAT(History(""), IsEmpty());
}

TEST_F(AlarmServiceTest, SetAlarmStateValidation) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  evbus::v1::SetAlarmStateRequest set;
  set.set_alarm_name("nope");
  set.set_state_value("ALARM");
  set.set_state_reason("x");
  EXPECT_THAT(service_->SetAlarmState(set),
              StatusIs(absl::StatusCode::kNotFound,
                       "ResourceNotFound: Alarm nope not found"));

  set.set_alarm_name("errors");
  set.set_state_value("BROKEN");
  EXPECT_THAT(service_->SetAlarmState(set),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: 1 validation error detected: Value "
                       "'BROKEN' at 'stateValue' failed to satisfy "
                       "constraint: Member must satisfy enum value set: "
                       "[INSUFFICIENT_DATA, ALARM, OK]"));

  set.set_state_value("ALARM");
  set.clear_state_reason();
  EXPECT_THAT(service_->SetAlarmState(set),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: 1 validation error detected: Value "
                       "null at 'stateReason' failed to satisfy constraint: "
                       "Member must not be null"));
  set.set_state_reason(std::string(1024, 'r'));
  EXPECT_THAT(service_->SetAlarmState(set),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Member must have length less than or equal "
                                 "to 1023")));
  set.set_state_reason("x");
  set.set_state_reason_data("{not json");
  EXPECT_THAT(
      service_->SetAlarmState(set),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("InvalidFormat")));
  EXPECT_EQ(Describe("errors").state_value(), "INSUFFICIENT_DATA");
  EXPECT_TRUE(notifier_.calls().empty());
}

TEST_F(AlarmServiceTest, PokeEvaluatesEveryCrossedMinuteInOrder) {
  ASSERT_THAT(service_->Start(), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  source_.Add(Minute(0), 1);
  source_.Add(Minute(1), 1);
  source_.Add(Minute(2), 1);
  clock_.Advance(absl::Minutes(3));  // 13:03:30
  // Created before the loop catches up: first evaluated at 13:04.
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("late")), IsOk());
  service_->Poke();
  ASSERT_TRUE(WaitFor([&] {
    return Describe("errors").last_evaluated_ms() ==
           absl::ToUnixMillis(Minute(3));
  }));
  std::vector<absl::Time> ends;
  for (const auto& q : source_.queries()) ends.push_back(q.end);
  EXPECT_THAT(ends, ElementsAre(Minute(1), Minute(2), Minute(3)));
  evbus::v1::MetricAlarm a = Describe("errors");
  EXPECT_EQ(a.state_value(), "ALARM");
  // The transition happened in a catch-up minute: queried at its end.
  EXPECT_THAT(a.state_reason_data(),
              HasSubstr("\"queryDate\":\"2024-07-16T13:01:00.000+0000\""));
  EXPECT_EQ(notifier_.calls().size(), 1u);  // only the first transition

  // Without a clock move nothing more is evaluated.
  service_->Poke();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(source_.queries().size(), 3u);

  // The next minute evaluates both alarms.
  clock_.Advance(absl::Minutes(1));
  service_->Poke();
  ASSERT_TRUE(WaitFor([&] {
    return Describe("late").last_evaluated_ms() ==
           absl::ToUnixMillis(Minute(4));
  }));
  EXPECT_EQ(source_.queries().size(), 5u);
  EXPECT_EQ(Describe("late").state_value(), "ALARM");
  service_->Stop();
  // Stopped: Poke does nothing, Start is refused.
  clock_.Advance(absl::Minutes(1));
  service_->Poke();
  EXPECT_THAT(service_->Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(source_.queries().size(), 5u);
}

TEST_F(AlarmServiceTest, LoopTrimsHistoryPastRetention) {
  Close();
  options_.history_retention = absl::Hours(1);
  Open();
  ASSERT_THAT(service_->Start(), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  ASSERT_EQ(History("errors").size(), 1u);
  clock_.Advance(absl::Hours(2));
  service_->Poke();
  EXPECT_TRUE(WaitFor([&] { return History("errors").empty(); }));
  // 120 minutes were evaluated (no data: no transition).
  EXPECT_EQ(source_.queries().size(), 120u);
  service_->Stop();
}

// Composite alarms (PutCompositeAlarm).

evbus::v1::PutCompositeAlarmRequest Composite(const std::string& name,
                                              const std::string& rule) {
  evbus::v1::PutCompositeAlarmRequest r;
  r.mutable_alarm()->set_alarm_name(name);
  r.mutable_alarm()->set_alarm_rule(rule);
  r.mutable_alarm()->add_alarm_actions(kAlarmTopic);
  r.mutable_alarm()->add_ok_actions(kOkTopic);
  return r;
}

evbus::v1::SetAlarmStateRequest SetState(const std::string& name,
                                         const std::string& state) {
  evbus::v1::SetAlarmStateRequest r;
  r.set_alarm_name(name);
  r.set_state_value(state);
  r.set_state_reason("test");
  return r;
}

class CompositeAlarmTest : public AlarmServiceTest {
 protected:
  evbus::v1::MetricAlarm DescribeComposite(const std::string& name) {
    evbus::v1::DescribeAlarmsRequest r;
    r.add_alarm_names(name);
    r.add_alarm_types("CompositeAlarm");
    absl::StatusOr<evbus::v1::DescribeAlarmsResponse> out =
        service_->DescribeAlarms(r);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok() || out->composite_alarms_size() != 1) {
      ADD_FAILURE() << "composite alarm " << name << " not found";
      return {};
    }
    return out->composite_alarms(0);
  }
  std::vector<std::string> CallsFor(const std::string& alarm) {
    std::vector<std::string> out;
    for (const RecordingNotifier::Call& c : notifier_.calls()) {
      if (c.alarm == alarm) out.push_back(c.old_state + "->" + c.new_state);
    }
    return out;
  }
};

TEST_F(CompositeAlarmTest, FollowsItsRuleOnEveryChildChange) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  evbus::v1::PutMetricAlarmRequest deploying = ErrorsAlarm("deploying");
  deploying.mutable_alarm()->mutable_dimensions(0)->set_value("g");  // no data
  ASSERT_THAT(service_->PutMetricAlarm(deploying), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(Composite(
                  "page", "ALARM(errors) AND NOT ALARM(\"deploying\")")),
              IsOk());
  // Evaluated at once: both children are INSUFFICIENT_DATA, so the rule
  // does not hold.
  evbus::v1::MetricAlarm page = DescribeComposite("page");
  EXPECT_EQ(page.state_value(), "OK");
  EXPECT_EQ(page.alarm_arn(),
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:page");
  EXPECT_TRUE(page.actions_enabled());
  // A metric alarm breaching turns it to ALARM, in the same evaluation.
  source_.Add(Minute(0), 1);
  Evaluate(1);
  EXPECT_EQ(Describe("errors").state_value(), "ALARM");
  page = DescribeComposite("page");
  EXPECT_EQ(page.state_value(), "ALARM");
  const evbus::v1::MetricAlarm errors = Describe("errors");
  EXPECT_EQ(page.state_reason(),
            absl::StrCat(errors.alarm_arn(), " transitioned to ALARM at ",
                         absl::FormatTime(
                             "%A %d %B, %Y %H:%M:%S UTC",
                             absl::FromUnixMillis(errors.state_updated_ms()),
                             absl::UTCTimeZone())));
  absl::StatusOr<common::Json> data =
      common::ParseJson(page.state_reason_data(), "data");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ((*data)["triggeringAlarms"][0]["arn"], errors.alarm_arn());
  EXPECT_EQ((*data)["triggeringAlarms"][0]["state"]["value"], "ALARM");
  // The other child in ALARM suppresses it (SetAlarmState counts too).
  ASSERT_THAT(service_->SetAlarmState(SetState("deploying", "ALARM")), IsOk());
  EXPECT_EQ(DescribeComposite("page").state_value(), "OK");
  EXPECT_THAT(CallsFor("page"),
              ElementsAre("INSUFFICIENT_DATA->OK", "OK->ALARM", "ALARM->OK"));
  // Its actions are its own lists.
  std::vector<RecordingNotifier::Call> calls = notifier_.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().alarm, "page");
  EXPECT_THAT(calls.back().actions, ElementsAre(kOkTopic));
  // History is typed.
  std::vector<evbus::v1::AlarmHistoryItem> history = History("page");
  ASSERT_FALSE(history.empty());
  for (const evbus::v1::AlarmHistoryItem& h : history) {
    EXPECT_EQ(h.alarm_type(), "CompositeAlarm");
  }
  EXPECT_EQ(StateGauge("page", "OK"), 1);
}

TEST_F(CompositeAlarmTest, CompositesOfCompositesUpdateInOneCall) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("a")), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("b")), IsOk());
  ASSERT_THAT(
      service_->PutCompositeAlarm(Composite("any", "ALARM(a) OR ALARM(b)")),
      IsOk());
  // Named by ARN.
  ASSERT_THAT(
      service_->PutCompositeAlarm(Composite(
          "top",
          "ALARM(\"arn:aws:cloudwatch:us-east-1:000000000000:alarm:any\")")),
      IsOk());
  EXPECT_EQ(DescribeComposite("top").state_value(), "OK");
  ASSERT_THAT(service_->SetAlarmState(SetState("b", "ALARM")), IsOk());
  EXPECT_EQ(DescribeComposite("any").state_value(), "ALARM");
  EXPECT_EQ(DescribeComposite("top").state_value(), "ALARM");
  EXPECT_THAT(DescribeComposite("top").state_reason(),
              HasSubstr(":alarm:any transitioned to ALARM at "));
  // A composite alarm set by hand keeps that state until a child changes;
  // the ones above it follow at once.
  ASSERT_THAT(service_->SetAlarmState(SetState("any", "OK")), IsOk());
  EXPECT_EQ(DescribeComposite("any").state_value(), "OK");
  EXPECT_EQ(DescribeComposite("top").state_value(), "OK");
  ASSERT_THAT(service_->SetAlarmState(SetState("a", "ALARM")), IsOk());
  EXPECT_EQ(DescribeComposite("any").state_value(), "ALARM");
  EXPECT_EQ(DescribeComposite("top").state_value(), "ALARM");
}

TEST_F(CompositeAlarmTest, CyclesAreNotEvaluated) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("m")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("x", "ALARM(m)")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("y", "ALARM(x)")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("z", "OK(y)")), IsOk());
  // x now names y: x and y form a cycle; z, above it, is still evaluated.
  ASSERT_THAT(
      service_->PutCompositeAlarm(Composite("x", "ALARM(m) OR ALARM(y)")),
      IsOk());
  EXPECT_EQ(DescribeComposite("x").state_value(), "OK");
  ASSERT_THAT(service_->SetAlarmState(SetState("m", "ALARM")), IsOk());
  EXPECT_EQ(DescribeComposite("x").state_value(), "OK");  // not evaluated
  EXPECT_EQ(DescribeComposite("y").state_value(), "OK");
  EXPECT_EQ(DescribeComposite("z").state_value(), "ALARM");  // OK(y) holds
  ASSERT_THAT(service_->SetAlarmState(SetState("y", "ALARM")), IsOk());
  EXPECT_EQ(DescribeComposite("z").state_value(), "OK");  // and no longer
  EXPECT_EQ(DescribeComposite("x").state_value(), "OK");
  // Breaking the cycle lets it be evaluated again.
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("x", "ALARM(m)")), IsOk());
  EXPECT_EQ(DescribeComposite("x").state_value(), "ALARM");
}

TEST_F(CompositeAlarmTest, RulesNamingMissingAlarmsAndBadRulesAreRefused) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("a")), IsOk());
  EXPECT_THAT(
      service_->PutCompositeAlarm(
          Composite("c", "ALARM(a) OR ALARM(nope) OR OK(\"also nope\")")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "ValidationError: Could not save the composite alarm as alarms "
               "[nope, also nope] in the alarm rule do not exist"));
  EXPECT_THAT(service_->PutCompositeAlarm(Composite("c", "ALARM(a) XOR")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: Error in AlarmRule [Unsupported "
                       "token 'XOR' at char 9]"));
  EXPECT_THAT(service_->PutCompositeAlarm(Composite("c", "")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ValidationError: 1 validation error detected: Value "
                       "null at 'alarmRule' failed to satisfy constraint: "
                       "Member must not be null"));
  evbus::v1::PutCompositeAlarmRequest with_metric = Composite("c", "ALARM(a)");
  with_metric.mutable_alarm()->set_metric_name("Errors");
  EXPECT_THAT(service_->PutCompositeAlarm(with_metric),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("InvalidParameterCombination: A composite "
                                 "alarm takes no metric fields")));
  // One name space for both kinds.
  EXPECT_THAT(service_->PutCompositeAlarm(Composite("a", "TRUE")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is a metric alarm")));
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("c", "TRUE")), IsOk());
  EXPECT_THAT(service_->PutMetricAlarm(ErrorsAlarm("c")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is a composite alarm")));
  EXPECT_EQ(DescribeComposite("c").state_value(), "ALARM");
  EXPECT_EQ(DescribeComposite("c").state_reason(),
            "The alarm rule evaluated to TRUE");
}

TEST_F(CompositeAlarmTest, NamedAlarmsCannotBeDeletedAlone) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("a")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("c", "ALARM(a)")), IsOk());
  EXPECT_THAT(service_->DeleteAlarms({"a"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Could not delete alarms [a]: the alarm rules "
                                 "or actions suppressors of composite alarms "
                                 "[c] name them")));
  EXPECT_EQ(Describe("a").alarm_name(), "a");
  ASSERT_THAT(service_->DeleteAlarms({"a", "c"}), IsOk());
  evbus::v1::DescribeAlarmsRequest all;
  all.add_alarm_types("MetricAlarm");
  all.add_alarm_types("CompositeAlarm");
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> out =
      service_->DescribeAlarms(all);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->metric_alarms_size() + out->composite_alarms_size(), 0);
  EXPECT_THAT(History("c"), IsEmpty());
}

TEST_F(CompositeAlarmTest, DescribeAlarmsByTypeChildrenAndParents) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("a")), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("b")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("c1", "ALARM(a)")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(
                  Composite("c2", "ALARM(a) AND ALARM(c1) OR OK(b)")),
              IsOk());
  auto names = [this](evbus::v1::DescribeAlarmsRequest r) {
    std::vector<std::string> out;
    absl::StatusOr<evbus::v1::DescribeAlarmsResponse> got =
        service_->DescribeAlarms(r);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return out;
    for (const auto& a : got->metric_alarms()) out.push_back(a.alarm_name());
    for (const auto& a : got->composite_alarms()) {
      out.push_back("composite:" + a.alarm_name());
    }
    if (!got->next_token().empty()) out.push_back("next:" + got->next_token());
    return out;
  };
  evbus::v1::DescribeAlarmsRequest r;
  EXPECT_THAT(names(r), ElementsAre("a", "b"));  // metric alarms only
  r.add_alarm_types("CompositeAlarm");
  EXPECT_THAT(names(r), ElementsAre("composite:c1", "composite:c2"));
  r.add_alarm_types("MetricAlarm");
  r.set_max_records(3);
  EXPECT_THAT(names(r), ElementsAre("a", "b", "composite:c1", "next:c1"));
  r.set_next_token("c1");
  EXPECT_THAT(names(r), ElementsAre("composite:c2"));

  evbus::v1::DescribeAlarmsRequest children;
  children.set_children_of_alarm_name("c2");
  EXPECT_THAT(names(children), ElementsAre("a", "b", "composite:c1"));
  evbus::v1::DescribeAlarmsRequest parents;
  parents.set_parents_of_alarm_name("a");
  EXPECT_THAT(names(parents), ElementsAre("composite:c1", "composite:c2"));
  // Only the name, ARN, state and its time, as CloudWatch returns them.
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> summaries =
      service_->DescribeAlarms(parents);
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  EXPECT_TRUE(summaries->summaries());
  const evbus::v1::MetricAlarm& c1 = summaries->composite_alarms(0);
  EXPECT_EQ(c1.alarm_arn(),
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:c1");
  EXPECT_FALSE(c1.state_value().empty());
  EXPECT_NE(c1.state_updated_ms(), 0);
  EXPECT_TRUE(c1.alarm_rule().empty());
  EXPECT_EQ(c1.alarm_actions_size(), 0);
  EXPECT_FALSE(service_->DescribeAlarms(r)->summaries());
  parents.set_state_value("OK");
  EXPECT_THAT(service_->DescribeAlarms(parents),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("InvalidParameterCombination")));
  evbus::v1::DescribeAlarmsRequest bad;
  bad.add_alarm_types("Composite");
  EXPECT_THAT(service_->DescribeAlarms(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Value 'Composite' at 'alarmTypes'")));
}

TEST_F(CompositeAlarmTest, SurvivesReopenAndUpdateKeepsState) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("a")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("c", "ALARM(a)")), IsOk());
  ASSERT_THAT(service_->SetAlarmState(SetState("a", "ALARM")), IsOk());
  ASSERT_EQ(DescribeComposite("c").state_value(), "ALARM");
  Close();
  Open();
  evbus::v1::MetricAlarm c = DescribeComposite("c");
  EXPECT_EQ(c.state_value(), "ALARM");
  EXPECT_EQ(c.alarm_rule(), "ALARM(a)");
  // Still wired to its child after the reopen.
  ASSERT_THAT(service_->SetAlarmState(SetState("a", "OK")), IsOk());
  EXPECT_EQ(DescribeComposite("c").state_value(), "OK");
  // An update keeps the state, then evaluates the new rule.
  evbus::v1::PutCompositeAlarmRequest update = Composite("c", "OK(a)");
  update.mutable_alarm()->set_alarm_description("now inverted");
  update.mutable_alarm()->set_actions_enabled(false);
  update.add_present("actions_enabled");
  ASSERT_THAT(service_->PutCompositeAlarm(update), IsOk());
  c = DescribeComposite("c");
  EXPECT_EQ(c.state_value(), "ALARM");
  EXPECT_FALSE(c.actions_enabled());
  EXPECT_EQ(c.alarm_description(), "now inverted");
  std::vector<evbus::v1::AlarmHistoryItem> updates =
      History("c", "ConfigurationUpdate");
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].history_summary(), "Alarm \"c\" updated");
  EXPECT_THAT(updates[0].history_data(), HasSubstr("\"alarmRule\":\"OK(a)\""));
  // Actions disabled: the state changed, nothing ran.
  EXPECT_TRUE(notifier_.calls().back().actions.empty());
}

// The suppressed composite alarm `page` over metric alarm `errors`, with
// suppressor `maintenance` (both start INSUFFICIENT_DATA).
evbus::v1::PutCompositeAlarmRequest SuppressedComposite(int wait_seconds,
                                                        int extension_seconds) {
  evbus::v1::PutCompositeAlarmRequest r = Composite("page", "ALARM(errors)");
  r.mutable_alarm()->set_actions_suppressor("maintenance");
  r.mutable_alarm()->set_actions_suppressor_wait_period(wait_seconds);
  r.mutable_alarm()->set_actions_suppressor_extension_period(extension_seconds);
  r.add_present("actions_suppressor_wait_period");
  r.add_present("actions_suppressor_extension_period");
  return r;
}

TEST_F(CompositeAlarmTest, SuppressorInAlarmHoldsActionsUntilExtensionEnds) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("maintenance")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(SuppressedComposite(60, 120)),
              IsOk());
  ASSERT_THAT(service_->SetAlarmState(SetState("maintenance", "ALARM")),
              IsOk());
  ASSERT_THAT(service_->SetAlarmState(SetState("errors", "ALARM")), IsOk());
  evbus::v1::MetricAlarm page = DescribeComposite("page");
  EXPECT_EQ(page.state_value(), "ALARM");
  EXPECT_EQ(page.actions_suppressed_by(), "Alarm");
  EXPECT_EQ(page.actions_suppressed_reason(), "Actions suppressed by Alarm");
  // The state change is still announced, without its actions.
  ASSERT_FALSE(notifier_.calls().empty());
  EXPECT_EQ(notifier_.calls().back().alarm, "page");
  EXPECT_TRUE(notifier_.calls().back().actions.empty());
  // The suppressor leaves ALARM: the extension period starts.
  const absl::Time left = clock_.Now();
  ASSERT_THAT(service_->SetAlarmState(SetState("maintenance", "OK")), IsOk());
  page = DescribeComposite("page");
  EXPECT_EQ(page.actions_suppressed_by(), "ExtensionPeriod");
  EXPECT_EQ(page.actions_suppressed_until_ms(),
            absl::ToUnixMillis(left + absl::Seconds(120)));
  const size_t calls = notifier_.calls().size();
  clock_.Set(left + absl::Seconds(119));
  service_->ExpireSuppressionsForTesting();
  EXPECT_EQ(notifier_.calls().size(), calls);
  // It ends with the alarm still in ALARM: the ALARM actions run.
  clock_.Set(left + absl::Seconds(120));
  service_->ExpireSuppressionsForTesting();
  ASSERT_EQ(notifier_.calls().size(), calls + 1);
  EXPECT_EQ(notifier_.calls().back().alarm, "page");
  EXPECT_EQ(notifier_.calls().back().old_state, "ALARM");
  EXPECT_EQ(notifier_.calls().back().old_suppressed_by, "ExtensionPeriod");
  EXPECT_THAT(notifier_.calls().back().actions, ElementsAre(kAlarmTopic));
  page = DescribeComposite("page");
  EXPECT_EQ(page.actions_suppressed_by(), "");
  EXPECT_EQ(page.actions_suppressed_until_ms(), 0);
  // (The first: the OK action at creation.)
  EXPECT_EQ(History("page", "Action").size(), 2u);
}

TEST_F(CompositeAlarmTest, WaitPeriodEndsInActionsOrInSuppression) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("maintenance")), IsOk());
  ASSERT_THAT(service_->PutCompositeAlarm(SuppressedComposite(60, 0)), IsOk());
  // Into ALARM with the suppressor not in ALARM: the wait period starts.
  const absl::Time start = clock_.Now();
  ASSERT_THAT(service_->SetAlarmState(SetState("errors", "ALARM")), IsOk());
  evbus::v1::MetricAlarm page = DescribeComposite("page");
  EXPECT_EQ(page.actions_suppressed_by(), "WaitPeriod");
  EXPECT_EQ(page.actions_suppressed_until_ms(),
            absl::ToUnixMillis(start + absl::Seconds(60)));
  EXPECT_TRUE(notifier_.calls().back().actions.empty());
  // The suppressor goes into ALARM within it: suppressed by the alarm.
  clock_.Set(start + absl::Seconds(30));
  ASSERT_THAT(service_->SetAlarmState(SetState("maintenance", "ALARM")),
              IsOk());
  EXPECT_EQ(DescribeComposite("page").actions_suppressed_by(), "Alarm");
  clock_.Set(start + absl::Seconds(90));
  service_->ExpireSuppressionsForTesting();
  // (The one action so far: OK at creation.)
  EXPECT_EQ(History("page", "Action").size(), 1u);
  // It leaves ALARM with no extension period: the actions run at once.
  ASSERT_THAT(service_->SetAlarmState(SetState("maintenance", "OK")), IsOk());
  EXPECT_EQ(DescribeComposite("page").actions_suppressed_by(), "");
  EXPECT_EQ(History("page", "Action").size(), 2u);
  EXPECT_THAT(notifier_.calls().back().actions, ElementsAre(kAlarmTopic));

  // Back to OK (actions run: the suppressor is not in ALARM), then into
  // ALARM again, and the wait period runs out: the actions run then.
  ASSERT_THAT(service_->SetAlarmState(SetState("errors", "OK")), IsOk());
  EXPECT_THAT(notifier_.calls().back().actions, ElementsAre(kOkTopic));
  const absl::Time again = start + absl::Seconds(200);
  clock_.Set(again);
  ASSERT_THAT(service_->SetAlarmState(SetState("errors", "ALARM")), IsOk());
  EXPECT_EQ(DescribeComposite("page").actions_suppressed_by(), "WaitPeriod");
  // Survives a restart.
  Close();
  Open();
  EXPECT_EQ(DescribeComposite("page").actions_suppressed_by(), "WaitPeriod");
  clock_.Set(again + absl::Seconds(60));
  service_->ExpireSuppressionsForTesting();
  EXPECT_EQ(DescribeComposite("page").actions_suppressed_by(), "");
  EXPECT_THAT(notifier_.calls().back().actions, ElementsAre(kAlarmTopic));
}

TEST_F(CompositeAlarmTest, SuppressorsAreCheckedAndKeptFromDeletion) {
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("errors")), IsOk());
  // The suppressor must exist.
  absl::Status missing = service_->PutCompositeAlarm(SuppressedComposite(1, 1));
  EXPECT_THAT(missing.message(),
              HasSubstr("actions suppressor [maintenance] does not exist"));
  ASSERT_THAT(service_->PutMetricAlarm(ErrorsAlarm("maintenance")), IsOk());
  // Both periods go with it.
  evbus::v1::PutCompositeAlarmRequest no_wait = SuppressedComposite(1, 1);
  no_wait.clear_present();
  no_wait.add_present("actions_suppressor_extension_period");
  EXPECT_THAT(service_->PutCompositeAlarm(no_wait).message(),
              HasSubstr("ActionsSuppressorWaitPeriod is required when "
                        "ActionsSuppressor is specified."));
  EXPECT_THAT(service_->PutCompositeAlarm(SuppressedComposite(-1, 1)).message(),
              HasSubstr("Value '-1' at 'actionsSuppressorWaitPeriod' failed to "
                        "satisfy constraint: Member must have value greater "
                        "than or equal to 0"));
  evbus::v1::PutCompositeAlarmRequest self = SuppressedComposite(1, 1);
  self.mutable_alarm()->set_actions_suppressor("page");
  ASSERT_THAT(service_->PutCompositeAlarm(Composite("page", "ALARM(errors)")),
              IsOk());
  EXPECT_THAT(service_->PutCompositeAlarm(self).message(),
              HasSubstr("cannot be its own actions suppressor"));
  // By ARN, then kept from deletion while the composite alarm names it.
  evbus::v1::PutCompositeAlarmRequest by_arn = SuppressedComposite(1, 1);
  by_arn.mutable_alarm()->set_actions_suppressor(
      "arn:aws:cloudwatch:us-east-1:000000000000:alarm:maintenance");
  ASSERT_THAT(service_->PutCompositeAlarm(by_arn), IsOk());
  EXPECT_EQ(DescribeComposite("page").actions_suppressor_wait_period(), 1);
  EXPECT_THAT(service_->DeleteAlarms({"maintenance"}).message(),
              HasSubstr("Could not delete alarms [maintenance]"));
  EXPECT_THAT(service_->DeleteAlarms({"maintenance", "page"}), IsOk());
}

}  // namespace
}  // namespace evbus::alarms
