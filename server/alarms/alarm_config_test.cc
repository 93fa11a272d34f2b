#include "server/alarms/alarm_config.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::alarms {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The lambda-canary alarm of the tutorial (spec §4.4).
PutMetricAlarmRequest Valid() {
  PutMetricAlarmRequest r;
  r.alarm_name = "lambda-canary-alarm";
  r.alarm_description = "Lambda canary alarm";
  r.metric_namespace = "AWS/Lambda";
  r.metric_name = "Errors";
  r.dimensions = {{"FunctionName", "lambda-canary"}};
  r.statistic = "Sum";
  r.period = 60;
  r.evaluation_periods = 1;
  r.threshold = 1;
  r.comparison_operator = "GreaterThanOrEqualToThreshold";
  r.alarm_actions = {
      "arn:aws:sns:us-east-1:123456789012:lambda-canary-notifications"};
  return r;
}

absl::Status Check(const PutMetricAlarmRequest& r) {
  return ValidatePutMetricAlarm(r).status();
}

// "1 validation error detected: Value '<value>' at '<path>' failed to
// satisfy constraint: Member must <rule>"
std::string OneViolation(const std::string& value, const std::string& path,
                         const std::string& rule) {
  return absl::StrCat("1 validation error detected: Value '", value, "' at '",
                      path, "' failed to satisfy constraint: Member must ",
                      rule);
}

auto Invalid(const std::string& message) {
  return StatusIs(absl::StatusCode::kInvalidArgument, message);
}

TEST(AlarmConfigTest, ValidRequestGetsDefaults) {
  absl::StatusOr<MetricAlarmConfig> c = ValidatePutMetricAlarm(Valid());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->alarm_name, "lambda-canary-alarm");
  EXPECT_EQ(c->alarm_description, "Lambda canary alarm");
  EXPECT_TRUE(c->actions_enabled);
  EXPECT_EQ(c->metric_namespace, "AWS/Lambda");
  EXPECT_EQ(c->metric_name, "Errors");
  EXPECT_EQ(c->dimensions,
            (std::vector<Dimension>{{"FunctionName", "lambda-canary"}}));
  EXPECT_EQ(c->statistic, "Sum");
  EXPECT_EQ(c->extended_statistic, "");
  EXPECT_EQ(c->statistic_name(), "Sum");
  EXPECT_EQ(c->period, 60);
  EXPECT_EQ(c->evaluation_periods, 1);
  EXPECT_EQ(c->datapoints_to_alarm, 1);  // defaults to N
  EXPECT_EQ(c->threshold, 1);
  EXPECT_EQ(c->comparison_operator,
            ComparisonOperator::kGreaterThanOrEqualToThreshold);
  EXPECT_EQ(c->treat_missing_data, TreatMissingData::kMissing);
  EXPECT_EQ(c->alarm_actions.size(), 1u);

  EvaluationConfig e = c->ToEvaluationConfig();
  EXPECT_EQ(e.statistic, "Sum");
  EXPECT_EQ(e.period_seconds, 60);
  EXPECT_EQ(e.evaluation_periods, 1);
  EXPECT_EQ(e.datapoints_to_alarm, 1);
  EXPECT_EQ(e.threshold, 1);
}

TEST(AlarmConfigTest, FullRequest) {
  PutMetricAlarmRequest r = Valid();
  r.actions_enabled = false;
  r.statistic.reset();
  r.extended_statistic = "p99.9";
  r.unit = "Milliseconds";
  r.period = 300;
  r.evaluation_periods = 5;
  r.datapoints_to_alarm = 3;
  r.comparison_operator = "LessThanOrEqualToThreshold";
  r.treat_missing_data = "notBreaching";
  r.evaluate_low_sample_count_percentile = "ignore";
  absl::StatusOr<MetricAlarmConfig> c = ValidatePutMetricAlarm(r);
  ASSERT_THAT(c, IsOk());
  EXPECT_FALSE(c->actions_enabled);
  EXPECT_EQ(c->statistic_name(), "p99.9");
  EXPECT_EQ(c->evaluation_periods, 5);
  EXPECT_EQ(c->datapoints_to_alarm, 3);
  EXPECT_EQ(c->treat_missing_data, TreatMissingData::kNotBreaching);
  EXPECT_EQ(c->comparison_operator,
            ComparisonOperator::kLessThanOrEqualToThreshold);
  EXPECT_EQ(c->evaluate_low_sample_count_percentile, "ignore");
  EvaluationConfig e = c->ToEvaluationConfig();
  EXPECT_EQ(e.statistic, "p99.9");
  EXPECT_EQ(e.unit, "Milliseconds");
  EXPECT_EQ(e.treat_missing_data, TreatMissingData::kNotBreaching);
}

// ---- AlarmName 1..255 ----

TEST(AlarmConfigTest, AlarmName) {
  PutMetricAlarmRequest r = Valid();
  r.alarm_name.reset();
  EXPECT_THAT(Check(r),
              Invalid("1 validation error detected: Value null at 'alarmName' "
                      "failed to satisfy constraint: Member must not be null"));
  r.alarm_name = "";
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("", "alarmName",
                                   "have length greater than or equal to 1")));
  r.alarm_name = std::string(255, 'a');
  EXPECT_THAT(Check(r), IsOk());
  r.alarm_name = std::string(256, 'a');
  EXPECT_THAT(Check(r),
              Invalid(OneViolation(std::string(256, 'a'), "alarmName",
                                   "have length less than or equal to 255")));
  // Characters, not bytes: 255 two-byte characters are fine.
  std::string accents;
  for (int i = 0; i < 255; ++i) accents += "\xc3\xa9";  // é
  r.alarm_name = accents;
  EXPECT_THAT(Check(r), IsOk());
  r.alarm_name = "bad\nname";
  EXPECT_THAT(Check(r),
              Invalid("AlarmName must not contain ASCII control characters."));
}

TEST(AlarmConfigTest, AlarmDescription) {
  PutMetricAlarmRequest r = Valid();
  r.alarm_description = std::string(1024, 'd');
  EXPECT_THAT(Check(r), IsOk());
  r.alarm_description = std::string(1025, 'd');
  EXPECT_THAT(Check(r),
              Invalid(OneViolation(std::string(1025, 'd'), "alarmDescription",
                                   "have length less than or equal to 1024")));
}

// ---- At most 5 actions per list ----

TEST(AlarmConfigTest, AtMostFiveActionsPerList) {
  std::vector<std::string> five;
  for (int i = 1; i <= 5; ++i) five.push_back(absl::StrCat("arn:", i));
  std::vector<std::string> six = five;
  six.push_back("arn:6");
  PutMetricAlarmRequest r = Valid();
  r.ok_actions = five;
  r.alarm_actions = five;
  r.insufficient_data_actions = five;
  EXPECT_THAT(Check(r), IsOk());
  const std::string rendered = "[arn:1, arn:2, arn:3, arn:4, arn:5, arn:6]";
  for (auto [field, path] :
       std::vector<std::pair<std::vector<std::string> PutMetricAlarmRequest::*,
                             std::string>>{
           {&PutMetricAlarmRequest::ok_actions, "oKActions"},
           {&PutMetricAlarmRequest::alarm_actions, "alarmActions"},
           {&PutMetricAlarmRequest::insufficient_data_actions,
            "insufficientDataActions"}}) {
    PutMetricAlarmRequest bad = Valid();
    bad.*field = six;
    EXPECT_THAT(Check(bad),
                Invalid(OneViolation(rendered, path,
                                     "have length less than or equal to 5")));
  }
  r = Valid();
  r.alarm_actions = {"arn:ok", ""};
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("", "alarmActions.2.member",
                                   "have length greater than or equal to 1")));
}

// ---- At most 30 dimensions ----

TEST(AlarmConfigTest, AtMostThirtyDimensions) {
  PutMetricAlarmRequest r = Valid();
  r.dimensions.clear();
  for (int i = 0; i < 30; ++i) {
    r.dimensions.push_back({absl::StrCat("d", i), "v"});
  }
  EXPECT_THAT(Check(r), IsOk());
  r.dimensions.push_back({"d30", "v"});
  EXPECT_THAT(Check(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(
                           StartsWith("1 validation error detected: Value "
                                      "'[Dimension(Name=d0, Value=v), "),
                           HasSubstr("' at 'dimensions' failed to satisfy "
                                     "constraint: Member must have length less "
                                     "than or equal to 30"))));
  r = Valid();
  r.dimensions = {{"", "v"}, {"n", std::string(1025, 'v')}};
  EXPECT_THAT(
      Check(r),
      Invalid(absl::StrCat(
          "2 validation errors detected: Value '' at "
          "'dimensions.1.member.name' failed to satisfy constraint: Member "
          "must have length greater than or equal to 1; Value '",
          std::string(1025, 'v'),
          "' at 'dimensions.2.member.value' failed to satisfy constraint: "
          "Member must have length less than or equal to 1024")));
}

TEST(AlarmConfigTest, NamespaceAndMetricName) {
  PutMetricAlarmRequest r = Valid();
  r.metric_namespace = ":bad";
  EXPECT_THAT(Check(r), Invalid(OneViolation(
                            ":bad", "namespace",
                            "satisfy regular expression pattern: [^:].*")));
  r.metric_namespace = std::string(256, 'n');
  EXPECT_THAT(Check(r),
              Invalid(OneViolation(std::string(256, 'n'), "namespace",
                                   "have length less than or equal to 255")));
  r = Valid();
  r.metric_name = "";
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("", "metricName",
                                   "have length greater than or equal to 1")));
  r.metric_name.reset();
  EXPECT_THAT(Check(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("MetricName and Namespace")));
  r = Valid();
  r.metric_namespace.reset();
  EXPECT_THAT(Check(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("MetricName and Namespace")));
}

// ---- Statistic vs ExtendedStatistic: exactly one ----

TEST(AlarmConfigTest, StatisticEnum) {
  PutMetricAlarmRequest r = Valid();
  r.statistic = "sum";
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("sum", "statistic",
                                   "satisfy enum value set: [Maximum, "
                                   "SampleCount, Sum, Minimum, Average]")));
  for (const char* s :
       {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}) {
    r.statistic = s;
    EXPECT_THAT(Check(r), IsOk()) << s;
  }
}

TEST(AlarmConfigTest, ExactlyOneOfStatisticAndExtendedStatistic) {
  PutMetricAlarmRequest r = Valid();
  r.extended_statistic = "p90";
  EXPECT_THAT(Check(r), Invalid("Exactly one of Statistic or "
                                "ExtendedStatistic must be specified."));
  r.statistic.reset();
  EXPECT_THAT(Check(r), IsOk());
  r.extended_statistic.reset();
  EXPECT_THAT(Check(r), Invalid("Exactly one of Statistic or "
                                "ExtendedStatistic must be specified."));
}

TEST(AlarmConfigTest, ExtendedStatisticSyntax) {
  PutMetricAlarmRequest r = Valid();
  r.statistic.reset();
  for (const char* ok : {"p0", "p50", "p99", "p99.9", "p99.99", "p100"}) {
    r.extended_statistic = ok;
    EXPECT_THAT(Check(r), IsOk()) << ok;
  }
  for (const char* bad : {"90", "p101", "p99.999", "Sum", ""}) {
    r.extended_statistic = bad;
    EXPECT_THAT(Check(r),
                Invalid(absl::StrCat("The value ", bad,
                                     " for parameter ExtendedStatistic is not "
                                     "supported.")))
        << bad;
  }
  r.extended_statistic = "tm90";
  EXPECT_THAT(Check(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("not supported by evbus")));
}

// ---- Period: 10, 20, 30 or a multiple of 60 ----

TEST(AlarmConfigTest, Period) {
  PutMetricAlarmRequest r = Valid();
  for (int64_t ok : {10, 20, 30, 60, 120, 300, 3600, 86400}) {
    r.period = ok;
    EXPECT_THAT(Check(r), IsOk()) << ok;
  }
  for (int64_t bad : {1, 5, 15, 45, 59, 61, 90, 3601}) {
    r.period = bad;
    EXPECT_THAT(Check(r),
                Invalid("Period must be 10, 20, 30 or a multiple of 60"))
        << bad;
  }
  r.period = 0;
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("0", "period",
                                   "have value greater than or equal to 1")));
  r.period.reset();
  EXPECT_THAT(Check(r), Invalid("The parameter Period must be specified."));
}

// ---- EvaluationPeriods >= 1, DatapointsToAlarm 1..N ----

TEST(AlarmConfigTest, EvaluationPeriods) {
  PutMetricAlarmRequest r = Valid();
  r.evaluation_periods.reset();
  EXPECT_THAT(Check(r), Invalid("1 validation error detected: Value null at "
                                "'evaluationPeriods' failed to satisfy "
                                "constraint: Member must not be null"));
  r.evaluation_periods = 0;
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("0", "evaluationPeriods",
                                   "have value greater than or equal to 1")));
  r.evaluation_periods = -3;
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("-3", "evaluationPeriods",
                                   "have value greater than or equal to 1")));
}

TEST(AlarmConfigTest, DatapointsToAlarm) {
  PutMetricAlarmRequest r = Valid();
  r.evaluation_periods = 3;
  r.datapoints_to_alarm = 0;
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("0", "datapointsToAlarm",
                                   "have value greater than or equal to 1")));
  r.datapoints_to_alarm = 4;
  EXPECT_THAT(Check(r), Invalid("DatapointsToAlarm must be less than or equal "
                                "to EvaluationPeriods."));
  for (int64_t m : {1, 2, 3}) {
    r.datapoints_to_alarm = m;
    absl::StatusOr<MetricAlarmConfig> c = ValidatePutMetricAlarm(r);
    ASSERT_THAT(c, IsOk());
    EXPECT_EQ(c->datapoints_to_alarm, m);
  }
  r.datapoints_to_alarm.reset();
  EXPECT_EQ(ValidatePutMetricAlarm(r)->datapoints_to_alarm, 3);
}

// ---- N × Period <= 86,400 (Period < 3,600) else <= 604,800 ----

TEST(AlarmConfigTest, EvaluationWindowLimits) {
  constexpr char kDay[] =
      "Metrics cannot be checked across more than a day (EvaluationPeriods * "
      "Period must be <= 86400).";
  constexpr char kWeek[] =
      "Metrics cannot be checked across more than a week (EvaluationPeriods * "
      "Period must be <= 604800) for alarms using period >= 3600";
  struct Case {
    int64_t period;
    int64_t n;
    const char* error;  // nullptr: valid
  };
  for (const Case& c : {
           Case{60, 1440, nullptr}, Case{60, 1441, kDay},
           Case{10, 8640, nullptr}, Case{10, 8641, kDay},
           Case{1800, 48, nullptr}, Case{1800, 49, kDay},
           Case{3600, 168, nullptr}, Case{3600, 169, kWeek},
           Case{86400, 7, nullptr}, Case{86400, 8, kWeek},
           Case{604800, 1, nullptr}, Case{604860, 1, kWeek},
           Case{60, int64_t{1} << 40, kDay},         // no overflow
           Case{int64_t{60} << 40, 1 << 30, kWeek},  // no overflow
       }) {
    PutMetricAlarmRequest r = Valid();
    r.period = c.period;
    r.evaluation_periods = c.n;
    if (c.error == nullptr) {
      EXPECT_THAT(Check(r), IsOk()) << c.period << " x " << c.n;
    } else {
      EXPECT_THAT(Check(r), Invalid(c.error)) << c.period << " x " << c.n;
    }
  }
}

TEST(AlarmConfigTest, Threshold) {
  PutMetricAlarmRequest r = Valid();
  r.threshold.reset();
  EXPECT_THAT(Check(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                 StartsWith("The parameter Threshold must be "
                                            "specified")));
  r.threshold = std::nan("");
  EXPECT_THAT(Check(r), Invalid("The parameter Threshold must be a finite "
                                "number."));
  r.threshold = -1e300;
  EXPECT_THAT(Check(r), IsOk());
}

// ---- Enums ----

TEST(AlarmConfigTest, ComparisonOperator) {
  PutMetricAlarmRequest r = Valid();
  r.comparison_operator.reset();
  EXPECT_THAT(Check(r), Invalid("1 validation error detected: Value null at "
                                "'comparisonOperator' failed to satisfy "
                                "constraint: Member must not be null"));
  r.comparison_operator = "GreaterOrEqual";
  EXPECT_THAT(
      Check(r),
      Invalid(OneViolation(
          "GreaterOrEqual", "comparisonOperator",
          "satisfy enum value set: [GreaterThanOrEqualToThreshold, "
          "GreaterThanThreshold, LessThanThreshold, "
          "LessThanOrEqualToThreshold, "
          "LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, "
          "GreaterThanUpperThreshold]")));
  for (const char* band :
       {"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold",
        "GreaterThanUpperThreshold"}) {
    r.comparison_operator = band;
    EXPECT_THAT(Check(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("anomaly detection")))
        << band;
  }
  for (const char* op :
       {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
        "LessThanThreshold", "LessThanOrEqualToThreshold"}) {
    r.comparison_operator = op;
    absl::StatusOr<MetricAlarmConfig> c = ValidatePutMetricAlarm(r);
    ASSERT_THAT(c, IsOk()) << op;
    EXPECT_EQ(ComparisonOperatorName(c->comparison_operator), op);
  }
}

TEST(AlarmConfigTest, TreatMissingData) {
  PutMetricAlarmRequest r = Valid();
  for (const char* t : {"missing", "notBreaching", "breaching", "ignore"}) {
    r.treat_missing_data = t;
    absl::StatusOr<MetricAlarmConfig> c = ValidatePutMetricAlarm(r);
    ASSERT_THAT(c, IsOk()) << t;
    EXPECT_EQ(TreatMissingDataName(c->treat_missing_data), t);
  }
  r.treat_missing_data = "Breaching";
  EXPECT_THAT(Check(r), Invalid("The value Breaching is not supported for "
                                "TreatMissingData parameter. Supported values "
                                "are [breaching, notBreaching, ignore, "
                                "missing]."));
  r.treat_missing_data = "";
  EXPECT_THAT(Check(r),
              Invalid(OneViolation("", "treatMissingData",
                                   "have length greater than or equal to 1")));
}

TEST(AlarmConfigTest, EvaluateLowSampleCountPercentile) {
  PutMetricAlarmRequest r = Valid();
  r.statistic.reset();
  r.extended_statistic = "p90";
  for (const char* ok : {"evaluate", "ignore"}) {
    r.evaluate_low_sample_count_percentile = ok;
    EXPECT_THAT(Check(r), IsOk());
  }
  r.evaluate_low_sample_count_percentile = "always";
  EXPECT_THAT(Check(r), Invalid("Option always is not supported. Supported "
                                "options for parameter "
                                "EvaluateLowSampleCountPercentile are "
                                "evaluate and ignore."));
}

TEST(AlarmConfigTest, Unit) {
  PutMetricAlarmRequest r = Valid();
  for (const char* ok : {"Count", "Milliseconds", "Bytes/Second", "None"}) {
    r.unit = ok;
    EXPECT_THAT(Check(r), IsOk()) << ok;
  }
  r.unit = "ms";
  EXPECT_THAT(Check(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("1 validation error detected: Value 'ms' at "
                                  "'unit' failed to satisfy constraint: Member "
                                  "must satisfy enum value set: [Seconds, "
                                  "Microseconds, Milliseconds, ")));
}

TEST(AlarmConfigTest, ModelViolationsAreReportedTogetherBeforeOtherRules) {
  PutMetricAlarmRequest r = Valid();
  r.alarm_name = "";
  r.evaluation_periods = 0;
  r.comparison_operator = "Bigger";
  r.period = 45;  // a semantic error: not reported while the model fails
  EXPECT_THAT(
      Check(r),
      Invalid("3 validation errors detected: Value '' at 'alarmName' failed "
              "to satisfy constraint: Member must have length greater than or "
              "equal to 1; Value '0' at 'evaluationPeriods' failed to satisfy "
              "constraint: Member must have value greater than or equal to 1; "
              "Value 'Bigger' at 'comparisonOperator' failed to satisfy "
              "constraint: Member must satisfy enum value set: "
              "[GreaterThanOrEqualToThreshold, GreaterThanThreshold, "
              "LessThanThreshold, LessThanOrEqualToThreshold, "
              "LessThanLowerOrGreaterThanUpperThreshold, "
              "LessThanLowerThreshold, GreaterThanUpperThreshold]"));
}

}  // namespace
}  // namespace evbus::alarms
