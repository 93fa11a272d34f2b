// File: server/alarms/alarm_config.h
//
// PutMetricAlarm validation (shared/spec/lambda-cloudwatch-sns.md §4.1): a
// request as received (PutMetricAlarmRequest, members absent or present)
// becomes a validated MetricAlarmConfig with defaults applied, or an
// InvalidArgument status whose message is CloudWatch's error text. The API
// layer maps that status to a ValidationError / InvalidParameterValue reply;
// the daemon maps the plain structs to and from protobuf.
//
// Single-metric threshold alarms and metric math alarms (`Metrics`: up to
// ten MetricStat and ten Expression queries, exactly one returning the series
// the threshold applies to) are modelled; anomaly detection
// (`ThresholdMetricId`) is not supported.
//
// Thread safety: plain structs and pure functions; thread-safe.
//
// Example:
//   PutMetricAlarmRequest r;
//   r.alarm_name = "lambda-canary-alarm";
//   r.metric_namespace = "AWS/Lambda";
//   r.metric_name = "Errors";
//   r.dimensions = {{"FunctionName", "lambda-canary"}};
//   r.statistic = "Sum";
//   r.period = 60;
//   r.evaluation_periods = 1;
//   r.threshold = 1;
//   r.comparison_operator = "GreaterThanOrEqualToThreshold";
//   r.alarm_actions = {"arn:aws:sns:us-east-1:123456789012:notify"};
//   absl::StatusOr<MetricAlarmConfig> config = ValidatePutMetricAlarm(r);
//   if (!config.ok()) return config.status();  // AWS text in the message
//   EvaluationConfig e = config->ToEvaluationConfig();
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/alarms/alarm_rule.h"
#include "server/alarms/evaluation.h"

namespace evbus::alarms {

// Limits (the API model and §4.1).
inline constexpr size_t kMaxAlarmNameLength = 255;
inline constexpr size_t kMaxAlarmDescriptionLength = 1024;
inline constexpr size_t kMaxActionsSuppressorLength = 1600;
inline constexpr size_t kMaxActionsPerList = 5;
inline constexpr size_t kMaxActionArnLength = 1024;
inline constexpr size_t kMaxDimensions = 30;
inline constexpr size_t kMaxDimensionNameLength = 255;
inline constexpr size_t kMaxDimensionValueLength = 1024;
inline constexpr size_t kMaxNamespaceLength = 255;
inline constexpr size_t kMaxMetricNameLength = 255;
// EvaluationPeriods × Period limits.
inline constexpr int64_t kMaxWindowSecondsShortPeriod = 86400;  // Period < 1h
inline constexpr int64_t kMaxWindowSecondsLongPeriod = 604800;  // Period >= 1h

struct Dimension {
  std::string name;
  std::string value;

  bool operator==(const Dimension& other) const = default;
};

// Metric math alarms: at most this many MetricStat queries, and as many
// Expression queries, in Metrics (the SDK model: 20 in all).
inline constexpr size_t kMaxMetricQueries = 10;

// One element of PutMetricAlarm's Metrics: a MetricStat (metric_name set)
// or an Expression over the other elements' ids.
struct MetricQuery {
  std::string id;
  std::string label;                // empty when not given
  std::optional<bool> return_data;  // validated: always set
  std::string expression;           // empty for a MetricStat
  bool has_metric_stat = false;
  std::string metric_namespace;
  std::string metric_name;
  std::vector<Dimension> dimensions;
  std::optional<int64_t> period;
  std::string stat;  // Sum, Average, ..., pNN
  std::string unit;  // empty when not given

  bool operator==(const MetricQuery& other) const = default;
};

// PutMetricAlarm input as received; nullopt / empty means the member was
// absent. Lengths are counted in Unicode code points of the UTF-8 strings.
struct PutMetricAlarmRequest {
  std::optional<std::string> alarm_name;
  std::optional<std::string> alarm_description;
  std::optional<bool> actions_enabled;
  std::vector<std::string> ok_actions;
  std::vector<std::string> alarm_actions;
  std::vector<std::string> insufficient_data_actions;
  std::optional<std::string> metric_namespace;
  std::optional<std::string> metric_name;
  std::vector<Dimension> dimensions;
  std::optional<std::string> statistic;
  std::optional<std::string> extended_statistic;
  std::optional<int64_t> period;
  std::optional<std::string> unit;
  std::optional<int64_t> evaluation_periods;
  std::optional<int64_t> datapoints_to_alarm;
  std::optional<double> threshold;
  std::optional<std::string> comparison_operator;
  std::optional<std::string> treat_missing_data;
  std::optional<std::string> evaluate_low_sample_count_percentile;
  std::vector<MetricQuery> metrics;  // metric math; empty: a single metric
};

// A validated metric alarm: every field is set and consistent.
struct MetricAlarmConfig {
  std::string alarm_name;
  std::string alarm_description;  // empty when not given
  bool actions_enabled = true;    // Default: true
  std::vector<std::string> ok_actions;
  std::vector<std::string> alarm_actions;
  std::vector<std::string> insufficient_data_actions;
  std::string metric_namespace;
  std::string metric_name;
  std::vector<Dimension> dimensions;
  // Exactly one of the two is non-empty.
  std::string statistic;           // SampleCount|Average|Sum|Minimum|Maximum
  std::string extended_statistic;  // p0 .. p100 (pNN, pNN.N, pNN.NN)
  int period = 60;                 // seconds: 10, 20, 30 or a multiple of 60
  std::string unit;                // empty when not given
  int evaluation_periods = 1;      // N >= 1
  int datapoints_to_alarm = 1;     // M in 1..N. Default: N
  double threshold = 0;
  ComparisonOperator comparison_operator =
      ComparisonOperator::kGreaterThanOrEqualToThreshold;
  TreatMissingData treat_missing_data =
      TreatMissingData::kMissing;  // Default: missing
  // "", "evaluate" or "ignore" (percentile alarms only; empty when not given).
  std::string evaluate_low_sample_count_percentile;
  // Metric math alarms: the queries (each return_data set, exactly one
  // true); then metric_namespace, metric_name, dimensions, statistic,
  // extended_statistic and unit are empty, and `period` is the queries'
  // common period.
  std::vector<MetricQuery> metrics;

  // The statistic as a name: `statistic` or else `extended_statistic`.
  const std::string& statistic_name() const {
    return statistic.empty() ? extended_statistic : statistic;
  }
  // The evaluation inputs (operator, threshold, N, M, treatment, statistic,
  // period, unit).
  EvaluationConfig ToEvaluationConfig() const;

  bool operator==(const MetricAlarmConfig& other) const = default;
};

// Validates a PutMetricAlarm request and applies defaults (ActionsEnabled
// true, DatapointsToAlarm = EvaluationPeriods, TreatMissingData missing).
//
// Errors, all InvalidArgument, in this order:
//  1. Model constraints, all reported together as CloudWatch does:
//     "1 validation error detected: Value 'x' at 'alarmName' failed to
//     satisfy constraint: Member must have length less than or equal to 255"
//     or "N validation errors detected: <clause>; <clause>". Checked:
//     alarmName (required, 1..255), alarmDescription (<= 1024), oKActions /
//     alarmActions / insufficientDataActions (<= 5 items of 1..1024),
//     dimensions (<= 30; name 1..255, value 1..1024), namespace (1..255,
//     pattern [^:].*), metricName (1..255), statistic (enum), period (>= 1),
//     unit (enum), evaluationPeriods (required, >= 1), datapointsToAlarm
//     (>= 1), comparisonOperator (required, enum), treatMissingData and
//     evaluateLowSampleCountPercentile (1..255).
//  2. Then the first failing semantic rule; see README.md for the texts and
//     how sure we are of each: AlarmName control characters, Statistic vs
//     ExtendedStatistic, ExtendedStatistic syntax, MetricName / Namespace /
//     Period / Threshold present, Period 10|20|30|k×60, DatapointsToAlarm
//     <= EvaluationPeriods, EvaluationPeriods × Period <= 86,400 (Period <
//     3,600) or 604,800, TreatMissingData value,
//     EvaluateLowSampleCountPercentile value, anomaly-band operators.
//  With Metrics (metric math), step 2 checks instead of the single metric:
//  "<Member> should not be set if list of Metrics is set." for Statistic,
//  ExtendedStatistic, MetricName, Namespace, Dimensions, Period and Unit;
//  at most ten MetricStat and ten Expression queries; each query an Id and
//  exactly one of MetricStat and Expression; a MetricStat's metric, period and
//  stat ("Invalid metrics list: ..."); one period for every MetricStat;
//  "Exactly one element of the metrics list should return data."; expressions
//  that parse, name existing ids without a cycle, and give the returned query
//  one time series.
absl::StatusOr<MetricAlarmConfig> ValidatePutMetricAlarm(
    const PutMetricAlarmRequest& request);

// PutCompositeAlarm input as received (nullopt: absent).
struct PutCompositeAlarmRequest {
  std::optional<std::string> alarm_name;
  std::optional<std::string> alarm_description;
  std::optional<std::string> alarm_rule;
  std::vector<std::string> ok_actions;
  std::vector<std::string> alarm_actions;
  std::vector<std::string> insufficient_data_actions;
  std::optional<std::string> actions_suppressor;
  std::optional<int64_t> actions_suppressor_wait_period;
  std::optional<int64_t> actions_suppressor_extension_period;
};

// Validates a PutCompositeAlarm request and parses its rule. Errors, all
// InvalidArgument: the model constraints together (alarmName required,
// 1..255; alarmDescription <= 1024; alarmRule required, 1..10240; the
// action lists as for PutMetricAlarm; actionsSuppressor 1..1600 and both
// periods >= 0), then AlarmName control characters, then a suppressor
// without both periods or periods without a suppressor, then the rule's
// syntax ("Error in AlarmRule [...]"). Whether the alarms the rule and the
// suppressor name exist is the service's to check.
absl::StatusOr<AlarmRule> ValidatePutCompositeAlarm(
    const PutCompositeAlarmRequest& request);

}  // namespace evbus::alarms
