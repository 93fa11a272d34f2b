#include "server/api/aws/cloudwatch_json.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/alarms/alarm_service.h"
#include "server/api/grpc/cloudwatch_service.h"
#include "server/common/clock.h"
#include "server/common/json.h"
#include "server/metrics/registry.h"
#include "server/metricstore/metric_store.h"
#include "server/storage/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::api::aws {
namespace {

using common::Json;
using ::evbus::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// 2024-07-16 13:00:30.250 UTC.
constexpr int64_t kNowMs = 1721134830250;

// Test inputs and outputs are valid JSON; a parse failure fails the test.
Json Parse(const std::string& text) {
  absl::StatusOr<Json> j = common::ParseJson(text);
  if (!j.ok()) {
    ADD_FAILURE() << j.status();
    return Json();
  }
  return *std::move(j);
}

// The alarms are never evaluated here (the loop is not started).
class NoMetrics final : public alarms::MetricSource {
 public:
  absl::StatusOr<std::vector<std::pair<absl::Time, metricstore::Aggregate>>>
  Query(const std::string&, const std::string&,
        const std::vector<evbus::v1::Dimension>&, absl::Time,
        absl::Time) override {
    return std::vector<std::pair<absl::Time, metricstore::Aggregate>>();
  }
};

class NoActions final : public alarms::AlarmNotifier {
 public:
  std::vector<std::string> StateChanged(
      const evbus::v1::MetricAlarm&, const evbus::v1::MetricAlarm&,
      const std::vector<std::string>&) override {
    return {};
  }
};

class CloudWatchJsonTest : public ::testing::Test {
 protected:
  CloudWatchJsonTest() : clock_(absl::FromUnixMillis(kNowMs)) {
    absl::StatusOr<std::unique_ptr<storage::Store>> store =
        storage::Store::Open({.path = dir_.Join("db")});
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    metrics_ = std::make_unique<metricstore::MetricStore>(
        *store_, clock_, metricstore::MetricStoreOptions{});
    EXPECT_THAT(metrics_->Load(), IsOk());
    alarms_ = std::make_unique<alarms::AlarmService>(
        *store_, clock_, registry_, source_, notifier_,
        alarms::AlarmServiceOptions{});
    EXPECT_THAT(alarms_->Load(), IsOk());
    cw_ = std::make_unique<api::CloudWatchServiceImpl>(*metrics_, *alarms_);
    tags_ = std::make_unique<TagStore>(*store_);
  }

  AwsHttpResponse Call(absl::string_view op, const std::string& body) {
    AwsHttpRequest request;
    request.method = "POST";
    request.path = "/";
    request.headers["content-type"] = "application/x-amz-json-1.0";
    request.headers["x-amz-target"] = absl::StrCat(kCloudWatchTargetPrefix, op);
    request.body = body;
    return HandleCloudWatchJson(op, request, caller_, *cw_, *tags_);
  }

  // Calls and parses a successful answer.
  Json Ok(absl::string_view op, const Json& body) {
    AwsHttpResponse r = Call(op, common::DumpJson(body));
    EXPECT_EQ(r.status, 200) << op << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/x-amz-json-1.0");
    absl::StatusOr<Json> out = common::ParseJson(r.body);
    EXPECT_TRUE(out.ok()) << r.body;
    return out.ok() ? *out : Json();
  }

  static std::string Header(const AwsHttpResponse& r, absl::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  static Json ErrorsAlarm(const std::string& name) {
    return Parse(R"({
      "AlarmName": ")" +
                 name + R"(",
      "AlarmDescription": "Errors of f",
      "ActionsEnabled": true,
      "AlarmActions": ["arn:aws:sns:us-east-1:000000000000:alarm"],
      "OKActions": [],
      "Namespace": "AWS/Lambda",
      "MetricName": "Errors",
      "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
      "Statistic": "Sum",
      "Period": 60,
      "EvaluationPeriods": 3,
      "DatapointsToAlarm": 2,
      "Threshold": 1.5,
      "ComparisonOperator": "GreaterThanOrEqualToThreshold",
      "TreatMissingData": "notBreaching",
      "Tags": [{"Key": "team", "Value": "a"}]
    })");
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_;
  metrics::Registry registry_;
  NoMetrics source_;
  NoActions notifier_;
  AwsCaller caller_{.access_key_id = "AKID",
                    .region = "us-east-1",
                    .account = "000000000000"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<metricstore::MetricStore> metrics_;
  std::unique_ptr<alarms::AlarmService> alarms_;
  std::unique_ptr<api::CloudWatchServiceImpl> cw_;
  std::unique_ptr<TagStore> tags_;
};

TEST_F(CloudWatchJsonTest, PutMetricAlarmThenDescribeAlarms) {
  EXPECT_EQ(Ok("PutMetricAlarm", ErrorsAlarm("errors")), Json::object());

  Json out = Ok("DescribeAlarms", Json{{"AlarmNames", {"errors"}}});
  ASSERT_EQ(out["MetricAlarms"].size(), 1u) << out;
  EXPECT_EQ(out["CompositeAlarms"], Json::array());
  const Json& a = out["MetricAlarms"][0];
  EXPECT_EQ(a["AlarmName"], "errors");
  EXPECT_EQ(a["AlarmArn"],
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:errors");
  EXPECT_EQ(a["AlarmDescription"], "Errors of f");
  EXPECT_EQ(a["ActionsEnabled"], true);
  EXPECT_EQ(a["AlarmActions"],
            Json::array({"arn:aws:sns:us-east-1:000000000000:alarm"}));
  EXPECT_EQ(a["OKActions"], Json::array());
  EXPECT_EQ(a["InsufficientDataActions"], Json::array());
  EXPECT_EQ(a["StateValue"], "INSUFFICIENT_DATA");
  EXPECT_EQ(a["StateReason"], "Unchecked: Initial alarm creation");
  // Timestamps are epoch seconds (numbers), with the milliseconds.
  ASSERT_TRUE(a["StateUpdatedTimestamp"].is_number()) << a;
  EXPECT_DOUBLE_EQ(a["StateUpdatedTimestamp"].get<double>(), 1721134830.25);
  EXPECT_DOUBLE_EQ(a["AlarmConfigurationUpdatedTimestamp"].get<double>(),
                   1721134830.25);
  EXPECT_DOUBLE_EQ(a["StateTransitionedTimestamp"].get<double>(),
                   1721134830.25);
  EXPECT_EQ(a["Namespace"], "AWS/Lambda");
  EXPECT_EQ(a["MetricName"], "Errors");
  EXPECT_EQ(a["Dimensions"], Parse(R"([{"Name":"FunctionName","Value":"f"}])"));
  EXPECT_EQ(a["Statistic"], "Sum");
  EXPECT_EQ(a["Period"], 60);
  EXPECT_EQ(a["EvaluationPeriods"], 3);
  EXPECT_EQ(a["DatapointsToAlarm"], 2);
  EXPECT_EQ(a["Threshold"], 1.5);
  EXPECT_EQ(a["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
  EXPECT_EQ(a["TreatMissingData"], "notBreaching");
  EXPECT_FALSE(a.contains("ExtendedStatistic"));

  // Composite alarms only: none (and no metric alarms).
  out = Ok("DescribeAlarms", Json{{"AlarmTypes", {"CompositeAlarm"}}});
  EXPECT_EQ(out["MetricAlarms"], Json::array());
  EXPECT_EQ(out["CompositeAlarms"], Json::array());
  // An empty body is an empty input.
  AwsHttpResponse r = Call("DescribeAlarms", "");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"AlarmName\":\"errors\""));
}

TEST_F(CloudWatchJsonTest, ActionsEnabledAndDeleteAlarms) {
  Ok("PutMetricAlarm", ErrorsAlarm("errors"));
  EXPECT_EQ(Ok("DisableAlarmActions", Json{{"AlarmNames", {"errors"}}}),
            Json::object());
  Json out = Ok("DescribeAlarms", Json::object());
  EXPECT_EQ(out["MetricAlarms"][0]["ActionsEnabled"], false);
  Ok("EnableAlarmActions", Json{{"AlarmNames", {"errors"}}});
  out = Ok("DescribeAlarms", Json::object());
  EXPECT_EQ(out["MetricAlarms"][0]["ActionsEnabled"], true);
  Ok("DeleteAlarms", Json{{"AlarmNames", {"errors"}}});
  EXPECT_EQ(Ok("DescribeAlarms", Json::object())["MetricAlarms"],
            Json::array());
}

TEST_F(CloudWatchJsonTest, SetAlarmStateAndHistory) {
  Ok("PutMetricAlarm", ErrorsAlarm("errors"));
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Ok("SetAlarmState", Json{{"AlarmName", "errors"},
                                     {"StateValue", "ALARM"},
                                     {"StateReason", "testing purposes"}}),
            Json::object());
  const Json a = Ok("DescribeAlarms", Json::object())["MetricAlarms"][0];
  EXPECT_EQ(a["StateValue"], "ALARM");
  EXPECT_EQ(a["StateReason"], "testing purposes");
  EXPECT_DOUBLE_EQ(a["StateUpdatedTimestamp"].get<double>(), 1721134835.25);

  Json history =
      Ok("DescribeAlarmHistory", Json{{"AlarmName", "errors"},
                                      {"HistoryItemType", "StateUpdate"},
                                      {"StartDate", 1721134800},
                                      {"EndDate", 1721138400}});
  ASSERT_EQ(history["AlarmHistoryItems"].size(), 1u) << history;
  const Json& h = history["AlarmHistoryItems"][0];
  EXPECT_EQ(h["AlarmName"], "errors");
  EXPECT_EQ(h["AlarmType"], "MetricAlarm");
  EXPECT_EQ(h["HistoryItemType"], "StateUpdate");
  EXPECT_EQ(h["HistorySummary"],
            "Alarm updated from INSUFFICIENT_DATA to ALARM");
  EXPECT_DOUBLE_EQ(h["Timestamp"].get<double>(), 1721134835.25);
  EXPECT_TRUE(h["HistoryData"].is_string());
}

TEST_F(CloudWatchJsonTest, SetAlarmStateBadEnumIsAQueryCompatibleError) {
  Ok("PutMetricAlarm", ErrorsAlarm("errors"));
  AwsHttpResponse r = Call("SetAlarmState", R"({"AlarmName":"errors",
      "StateValue":"BROKEN","StateReason":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/x-amz-json-1.0");
  EXPECT_EQ(Header(r, "x-amzn-query-error"), "ValidationError;Sender");
  Json body = Parse(r.body);
  EXPECT_EQ(body["__type"], "ValidationError");
  EXPECT_THAT(body["message"].get<std::string>(),
              HasSubstr("Value 'BROKEN' at 'stateValue' failed to satisfy "
                        "constraint: Member must satisfy enum value set: "
                        "[INSUFFICIENT_DATA, ALARM, OK]"));

  r = Call("SetAlarmState", R"({"AlarmName":"nope","StateValue":"OK",
      "StateReason":"x"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Header(r, "x-amzn-query-error"), "ResourceNotFound;Sender");
  EXPECT_EQ(Parse(r.body)["message"], "Alarm nope not found");
}

TEST_F(CloudWatchJsonTest, TypeErrorsNameTheMember) {
  Json alarm = ErrorsAlarm("errors");
  alarm["Period"] = "60";
  AwsHttpResponse r = Call("PutMetricAlarm", common::DumpJson(alarm));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Header(r, "x-amzn-query-error"), "InvalidParameterValue;Sender");
  EXPECT_EQ(Parse(r.body)["message"],
            "The parameter Period must be an integer.");

  r = Call("PutMetricData", R"({"Namespace":"App","MetricData":[
      {"MetricName":"m","Value":1},
      {"MetricName":"m","Dimensions":[{"Name":"a","Value":7}]}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["message"],
            "The parameter MetricData.member.2.Dimensions.member.1.Value must "
            "be a string.");

  r = Call("DeleteAlarms", R"({"AlarmNames":"errors"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("AlarmNames must be a list of strings"));

  r = Call("PutMetricAlarm", R"({"AlarmName":"x","Period":1e12})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("Period must be a 32-bit integer"));

  r = Call("GetMetricStatistics", R"({"StartTime":true})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("StartTime must be a timestamp"));

  // Metrics with the single metric's members: refused, naming the member.
  Json math = ErrorsAlarm("math");
  math["Metrics"] = Parse(R"([{"Id":"e","Expression":"1"}])");
  r = Call("PutMetricAlarm", common::DumpJson(math));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["message"],
            "Statistic should not be set if list of Metrics is set.");
  r = Call("GetMetricData", R"({"StartTime":1,"EndTime":2,
      "MetricDataQueries":[{"Id":"e","Expression":"1","AccountId":"111111111111"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("MetricDataQueries.member.1.AccountId is not "
                                "supported"));
  r = Call("PutMetricAlarm", R"({"AlarmName":"x","Metrics":[{"Id":7}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("Metrics.member.1.Id must be a string"));
}

TEST_F(CloudWatchJsonTest, DescribeAlarmsForMetricFiltersByMetric) {
  Ok("PutMetricAlarm", ErrorsAlarm("a-sum"));
  Json p90 = ErrorsAlarm("b-p90");
  p90.erase("Statistic");
  p90["ExtendedStatistic"] = "p90";
  Ok("PutMetricAlarm", p90);
  Json other = ErrorsAlarm("c-other-fn");
  other["Dimensions"] = Parse(R"([{"Name": "FunctionName", "Value": "g"}])");
  Ok("PutMetricAlarm", other);
  auto names = [this](const Json& request) {
    std::vector<std::string> out;
    const Json response = Ok("DescribeAlarmsForMetric", request);
    for (const Json& a : response["MetricAlarms"]) {
      out.push_back(a["AlarmName"].get<std::string>());
    }
    return out;
  };
  EXPECT_THAT(names(Parse(R"({"Namespace": "AWS/Lambda",
                              "MetricName": "Errors"})")),
              ElementsAre("a-sum", "b-p90", "c-other-fn"));
  EXPECT_THAT(names(Parse(R"({"Namespace": "AWS/Lambda", "MetricName": "Errors",
      "Dimensions": [{"Name": "FunctionName", "Value": "f"}]})")),
              ElementsAre("a-sum", "b-p90"));
  EXPECT_THAT(names(Parse(R"({"Namespace": "AWS/Lambda", "MetricName": "Errors",
      "ExtendedStatistic": "p90", "Period": 60})")),
              ElementsAre("b-p90"));
  EXPECT_THAT(names(Parse(R"({"Namespace": "AWS/Lambda",
                              "MetricName": "Throttles"})")),
              ElementsAre());
  AwsHttpResponse r = Call("DescribeAlarmsForMetric", R"({"Namespace":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["message"],
            "1 validation error detected: Value null at 'metricName' failed "
            "to satisfy constraint: Member must not be null");
}

TEST_F(CloudWatchJsonTest, MetricMathAlarmRoundTrips) {
  Json alarm = Parse(R"({
      "AlarmName": "error-rate",
      "AlarmActions": ["arn:aws:sns:us-east-1:000000000000:alarm"],
      "EvaluationPeriods": 2,
      "Threshold": 5,
      "ComparisonOperator": "GreaterThanThreshold",
      "Metrics": [
        {"Id": "e",
         "MetricStat": {"Metric": {"Namespace": "AWS/Lambda",
                                   "MetricName": "Errors",
                                   "Dimensions": [{"Name": "FunctionName",
                                                   "Value": "f"}]},
                        "Period": 300, "Stat": "Sum"},
         "ReturnData": false},
        {"Id": "i",
         "MetricStat": {"Metric": {"Namespace": "AWS/Lambda",
                                   "MetricName": "Invocations",
                                   "Dimensions": []},
                        "Period": 300, "Stat": "Sum"},
         "ReturnData": false},
        {"Id": "rate", "Expression": "100*e/i", "Label": "Error rate",
         "ReturnData": true}]
    })");
  Ok("PutMetricAlarm", alarm);
  Json described = Ok("DescribeAlarms",
                      Json{{"AlarmNames", {"error-rate"}}})["MetricAlarms"];
  ASSERT_EQ(described.size(), 1u);
  const Json& a = described[0];
  EXPECT_FALSE(a.contains("MetricName"));
  EXPECT_FALSE(a.contains("Period"));
  EXPECT_FALSE(a.contains("Statistic"));
  EXPECT_EQ(a["Metrics"], alarm["Metrics"]);
  EXPECT_EQ(a["EvaluationPeriods"], 2);

  // Two queries returning data: CloudWatch's text.
  Json bad = alarm;
  bad["Metrics"][0]["ReturnData"] = true;
  AwsHttpResponse r = Call("PutMetricAlarm", common::DumpJson(bad));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["__type"], "ValidationError");
  EXPECT_EQ(Parse(r.body)["message"],
            "Exactly one element of the metrics list should return data.");
}

TEST_F(CloudWatchJsonTest, MalformedBodiesAndUnknownOperations) {
  AwsHttpResponse r = Call("DescribeAlarms", "{\"AlarmNames\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["__type"], "SerializationException");
  EXPECT_EQ(Header(r, "x-amzn-query-error"), "SerializationException;Sender");

  r = Call("DescribeAlarms", "[1,2]");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["__type"], "SerializationException");

  r = Call("PutMetricData", std::string("\x1f\x8b\x08\x00", 4));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["__type"], "SerializationException");

  r = Call("PutDashboard", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r.body)["__type"], "UnknownOperationException");
  EXPECT_EQ(Header(r, "x-amzn-query-error"),
            "UnknownOperationException;Sender");
  EXPECT_THAT(r.body, HasSubstr("PutDashboard"));
}

TEST_F(CloudWatchJsonTest, PutMetricDataThenStatisticsDataAndList) {
  // Two minutes: 13:00 (1 + 3) and 13:01 (values 2, 2, 2 and a set).
  EXPECT_EQ(Ok("PutMetricData", Parse(R"({
      "Namespace": "App",
      "MetricData": [
        {"MetricName": "Latency", "Timestamp": 1721134800,
         "Dimensions": [{"Name": "Service", "Value": "api"}],
         "Value": 1, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Timestamp": 1721134810.5,
         "Dimensions": [{"Name": "Service", "Value": "api"}],
         "Value": 3, "Unit": "Milliseconds", "StorageResolution": 60},
        {"MetricName": "Latency", "Timestamp": 1721134860,
         "Dimensions": [{"Name": "Service", "Value": "api"}],
         "Values": [2], "Counts": [3], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Timestamp": 1721134870,
         "Dimensions": [{"Name": "Service", "Value": "api"}],
         "StatisticValues": {"SampleCount": 2, "Sum": 10, "Minimum": 4,
                             "Maximum": 6},
         "Unit": "Milliseconds"}
      ]})")),
            Json::object());

  Json stats = Ok("GetMetricStatistics", Parse(R"({
      "Namespace": "App", "MetricName": "Latency",
      "Dimensions": [{"Name": "Service", "Value": "api"}],
      "StartTime": 1721134200, "EndTime": 1721135000, "Period": 60,
      "Statistics": ["Sum", "SampleCount", "Maximum"]})"));
  EXPECT_EQ(stats["Label"], "Latency");
  ASSERT_EQ(stats["Datapoints"].size(), 2u) << stats;
  const Json& p0 = stats["Datapoints"][0];
  EXPECT_EQ(p0["Timestamp"], 1721134800);
  EXPECT_EQ(p0["Sum"], 4.0);
  EXPECT_EQ(p0["SampleCount"], 2.0);
  EXPECT_EQ(p0["Maximum"], 3.0);
  // The service reports the requested unit ("None" when not given).
  EXPECT_TRUE(p0["Unit"].is_string()) << p0;
  EXPECT_FALSE(p0.contains("Average"));
  const Json& p1 = stats["Datapoints"][1];
  EXPECT_EQ(p1["Timestamp"], 1721134860);
  EXPECT_EQ(p1["Sum"], 16.0);
  EXPECT_EQ(p1["SampleCount"], 5.0);
  EXPECT_EQ(p1["Maximum"], 6.0);

  Json data = Ok("GetMetricData", Parse(R"({
      "StartTime": 1721134200, "EndTime": 1721135000,
      "MetricDataQueries": [{"Id": "m1", "ReturnData": true,
        "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Latency",
          "Dimensions": [{"Name": "Service", "Value": "api"}]},
          "Period": 60, "Stat": "Sum"}}]})"));
  ASSERT_EQ(data["MetricDataResults"].size(), 1u) << data;
  const Json& result = data["MetricDataResults"][0];
  EXPECT_EQ(result["Id"], "m1");
  EXPECT_EQ(result["Label"], "Latency");
  EXPECT_EQ(result["StatusCode"], "Complete");
  // TimestampDescending by default.
  EXPECT_EQ(result["Timestamps"], Json::array({1721134860, 1721134800}));
  EXPECT_EQ(result["Values"], Json::array({16.0, 4.0}));
  EXPECT_EQ(data["Messages"], Json::array());

  Json list = Ok("ListMetrics", Json{{"Namespace", "App"}});
  EXPECT_EQ(list["Metrics"], Parse(R"([{"Namespace":"App",
      "MetricName":"Latency",
      "Dimensions":[{"Name":"Service","Value":"api"}]}])"));
  EXPECT_EQ(Ok("ListMetrics", Json{{"Namespace", "Other"}})["Metrics"],
            Json::array());
}

TEST_F(CloudWatchJsonTest, ServiceValidationErrorsPassThrough) {
  AwsHttpResponse r = Call("PutMetricData", R"({"Namespace":"AWS/Lambda",
      "MetricData":[{"MetricName":"m","Value":1}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(Header(r, "x-amzn-query-error"), HasSubstr(";Sender"));

  // NaN arrives as the string "NaN" and is refused by the store.
  r = Call("PutMetricData", R"({"Namespace":"App",
      "MetricData":[{"MetricName":"m","Value":"NaN"}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Header(r, "x-amzn-query-error"), "InvalidParameterValue;Sender");

  r = Call("GetMetricStatistics", R"({"Namespace":"App","MetricName":"m",
      "StartTime":1721134200,"EndTime":1721135000,"Period":60})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Header(r, "x-amzn-query-error"),
            "InvalidParameterCombination;Sender");
  EXPECT_THAT(r.headers, Contains(Pair("x-amzn-RequestId", ::testing::_)));
}

TEST_F(CloudWatchJsonTest, PutCompositeAlarmThenDescribeAlarms) {
  Ok("PutMetricAlarm", ErrorsAlarm("errors"));
  EXPECT_EQ(Ok("PutCompositeAlarm", Parse(R"j({
      "AlarmName": "page",
      "AlarmDescription": "errors, unless deploying",
      "AlarmRule": "ALARM(\"errors\") AND NOT ALARM(\"arn:aws:cloudwatch:us-east-1:000000000000:alarm:errors\")",
      "AlarmActions": ["arn:aws:sns:us-east-1:000000000000:page"],
      "Tags": [{"Key": "team", "Value": "a"}]})j")),
            Json::object());
  Json out = Ok("DescribeAlarms", Json{{"AlarmTypes", {"CompositeAlarm"}}});
  EXPECT_EQ(out["MetricAlarms"], Json::array());
  ASSERT_EQ(out["CompositeAlarms"].size(), 1u) << out;
  const Json& c = out["CompositeAlarms"][0];
  EXPECT_EQ(c["AlarmName"], "page");
  EXPECT_EQ(c["AlarmArn"],
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:page");
  EXPECT_EQ(c["AlarmDescription"], "errors, unless deploying");
  EXPECT_EQ(c["ActionsEnabled"], true);
  EXPECT_EQ(c["AlarmActions"],
            Json::array({"arn:aws:sns:us-east-1:000000000000:page"}));
  EXPECT_THAT(c["AlarmRule"].get<std::string>(), HasSubstr("NOT ALARM"));
  EXPECT_EQ(c["StateValue"], "OK");  // evaluated at once
  EXPECT_TRUE(c["StateUpdatedTimestamp"].is_number()) << c;
  EXPECT_FALSE(c.contains("MetricName"));
  // Without AlarmTypes: metric alarms only, as CloudWatch.
  out = Ok("DescribeAlarms", Json::object());
  EXPECT_EQ(out["MetricAlarms"].size(), 1u);
  EXPECT_EQ(out["CompositeAlarms"], Json::array());
  out = Ok("DescribeAlarms", Json{{"ParentsOfAlarmName", "errors"}});
  ASSERT_EQ(out["CompositeAlarms"].size(), 1u) << out;
  out = Ok("DescribeAlarms", Json{{"ChildrenOfAlarmName", "page"}});
  ASSERT_EQ(out["MetricAlarms"].size(), 1u) << out;
  // Four members only, as CloudWatch returns them for this parameter.
  EXPECT_EQ(out["MetricAlarms"][0].size(), 4u) << out;
  EXPECT_EQ(out["MetricAlarms"][0]["AlarmName"], "errors");
  EXPECT_TRUE(out["MetricAlarms"][0].contains("StateUpdatedTimestamp"));
  // History items are typed.
  out = Ok("DescribeAlarmHistory", Json{{"AlarmName", "page"}});
  EXPECT_EQ(out["AlarmHistoryItems"], Json::array());  // metric alarms only
  out = Ok("DescribeAlarmHistory",
           Json{{"AlarmName", "page"}, {"AlarmTypes", {"CompositeAlarm"}}});
  ASSERT_FALSE(out["AlarmHistoryItems"].empty()) << out;
  EXPECT_EQ(out["AlarmHistoryItems"][0]["AlarmType"], "CompositeAlarm");

  AwsHttpResponse r = Call("PutCompositeAlarm",
                           R"j({"AlarmName":"c","AlarmRule":"ALARM(nope)"})j");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Header(r, "x-amzn-query-error"), "ValidationError;Sender");
  EXPECT_THAT(r.body, HasSubstr("Could not save the composite alarm as alarms "
                                "[nope] in the alarm rule do not exist"));
  // Action suppression: the suppressor must exist and needs both periods.
  r = Call("PutCompositeAlarm",
           R"({"AlarmName":"c","AlarmRule":"TRUE","ActionsSuppressor":"x",
               "ActionsSuppressorWaitPeriod":60,
               "ActionsSuppressorExtensionPeriod":60})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("actions suppressor [x] does not exist"));
  r = Call("PutCompositeAlarm",
           R"({"AlarmName":"c","AlarmRule":"TRUE",
               "ActionsSuppressor":"errors"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("ActionsSuppressorWaitPeriod is required when "
                                "ActionsSuppressor is specified."));
  Ok("PutCompositeAlarm", Json{{"AlarmName", "c"},
                               {"AlarmRule", "TRUE"},
                               {"ActionsSuppressor", "errors"},
                               {"ActionsSuppressorWaitPeriod", 60},
                               {"ActionsSuppressorExtensionPeriod", 0}});
  out = Ok("DescribeAlarms",
           Json{{"AlarmNames", {"c"}}, {"AlarmTypes", {"CompositeAlarm"}}});
  ASSERT_EQ(out["CompositeAlarms"].size(), 1u) << out;
  const Json& suppressed = out["CompositeAlarms"][0];
  EXPECT_EQ(suppressed["ActionsSuppressor"], "errors");
  EXPECT_EQ(suppressed["ActionsSuppressorWaitPeriod"], 60);
  EXPECT_EQ(suppressed["ActionsSuppressorExtensionPeriod"], 0);
  // TRUE holds at once: ALARM, its actions waiting for the suppressor.
  EXPECT_EQ(suppressed["StateValue"], "ALARM");
  EXPECT_EQ(suppressed["ActionsSuppressedBy"], "WaitPeriod");
  EXPECT_EQ(suppressed["ActionsSuppressedReason"],
            "Actions suppressed by WaitPeriod");
  Ok("DeleteAlarms", Json{{"AlarmNames", {"c"}}});
  r = Call("DeleteAlarms", R"({"AlarmNames":["errors"]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("composite alarms [page] name them"));
}

TEST_F(CloudWatchJsonTest, ZeroAndEmptyMembersArePresentNotMissing) {
  Json alarm = ErrorsAlarm("zeros");
  alarm["EvaluationPeriods"] = 0;
  AwsHttpResponse r = Call("PutMetricAlarm", alarm.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("Value '0' at 'evaluationPeriods' failed to "
                                "satisfy constraint: Member must have value "
                                "greater than or equal to 1"));
  alarm = ErrorsAlarm("");
  r = Call("PutMetricAlarm", alarm.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("Value '' at 'alarmName' failed to satisfy "
                                "constraint: Member must have length greater "
                                "than or equal to 1"));
  alarm = ErrorsAlarm("zeros");
  alarm["Period"] = 0;
  r = Call("PutMetricAlarm", alarm.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("Value '0' at 'period' failed to satisfy "
                                "constraint: Member must have value greater "
                                "than or equal to 1"));
  alarm.erase("Period");
  r = Call("PutMetricAlarm", alarm.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("Period"));
}

}  // namespace
}  // namespace evbus::api::aws
