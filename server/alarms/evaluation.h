// File: server/alarms/evaluation.h
//
// CloudWatch's M-out-of-N alarm decision (shared/spec/lambda-cloudwatch-sns.md
// §4.2) and the state reason it reports (§4.3). Pure: the caller fetches the
// evaluation range from the metric store, calls Evaluate once per evaluation
// tick, and records a state change (and runs actions) only when the decided
// state differs from the current one.
//
// Inputs: the alarm's comparison operator, threshold, EvaluationPeriods N,
// DatapointsToAlarm M and TreatMissingData, plus the evaluation range: the
// last EvaluationRange(N) = N + max(N/3, 2) period buckets, newest first,
// each with the statistic's value or nullopt when the bucket had no data.
//
// Decision (§4.2):
//  1. At least N real datapoints in the range: the N most recent ones are
//     evaluated (reaching back past gaps); ALARM if >= M breach, else OK.
//     TreatMissingData plays no part.
//  2. No real datapoint: missing → INSUFFICIENT_DATA, ignore → no change,
//     breaching → ALARM, notBreaching → OK.
//  3. 1..N−1 real datapoints: the N − real missing slots are filled.
//     breaching / notBreaching: the filled slots count as breaching / not
//     breaching; ALARM if breaching >= M, else OK.
//     missing / ignore: premature-alarm rule first — if the oldest breaching
//     real datapoint among the last N slots is at least M slots old, every
//     newer slot is breaching or missing, and no real datapoint in the range
//     is non-breaching, the result is ALARM (missing) or no change (ignore).
//     Otherwise ALARM if the real breaching datapoints are >= M, else OK.
//
// Thread safety: pure functions, thread-safe.
//
// Example:
//   EvaluationConfig config{
//       .comparison_operator =
//       ComparisonOperator::kGreaterThanOrEqualToThreshold, .threshold = 1,
//       .evaluation_periods = 1, .datapoints_to_alarm = 1, .treat_missing_data
//       = TreatMissingData::kMissing, .statistic = "Sum", .period_seconds =
//       60};
//   std::vector<Bucket> range = ...;  // EvaluationRange(1) buckets, newest
//   first absl::StatusOr<Decision> d =
//       Evaluate(config, range, AlarmState::kOk, clock.Now());
//   if (d.ok() && !d->no_change && d->state != current) { /* transition */ }
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace evbus::alarms {

// The statistic is the first operand: value <op> threshold breaches.
enum class ComparisonOperator {
  kGreaterThanOrEqualToThreshold,
  kGreaterThanThreshold,
  kLessThanThreshold,
  kLessThanOrEqualToThreshold,
};

// Parses the API name ("GreaterThanOrEqualToThreshold", ...). Errors
// (InvalidArgument):
//   unknown name: "1 validation error detected: Value 'X' at
//     'comparisonOperator' failed to satisfy constraint: Member must satisfy
//     enum value set: [GreaterThanOrEqualToThreshold, GreaterThanThreshold,
//     LessThanThreshold, LessThanOrEqualToThreshold,
//     LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold,
//     GreaterThanUpperThreshold]"
//   one of the three anomaly-band operators: "Comparison operator X is only
//     valid for anomaly detection alarms (ThresholdMetricId), which are not
//     supported"
absl::StatusOr<ComparisonOperator> ParseComparisonOperator(
    absl::string_view name);
absl::string_view ComparisonOperatorName(ComparisonOperator op);
// "greater than or equal to", "greater than", "less than",
// "less than or equal to" (as in state reasons).
absl::string_view ComparisonOperatorPhrase(ComparisonOperator op);
bool IsBreaching(ComparisonOperator op, double value, double threshold);

enum class TreatMissingData { kMissing, kNotBreaching, kBreaching, kIgnore };

// Parses "missing", "notBreaching", "breaching", "ignore" (case-sensitive).
// InvalidArgument: "The value X is not supported for TreatMissingData
// parameter. Supported values are [breaching, notBreaching, ignore,
// missing]." (TreatMissingData is a plain string in the API model, so AWS
// reports it with this text rather than as an enum constraint.)
absl::StatusOr<TreatMissingData> ParseTreatMissingData(absl::string_view name);
absl::string_view TreatMissingDataName(TreatMissingData t);

enum class AlarmState { kOk, kAlarm, kInsufficientData };

// Parses "OK", "ALARM", "INSUFFICIENT_DATA" (SetAlarmState, DescribeAlarms).
// InvalidArgument: "1 validation error detected: Value 'X' at 'stateValue'
// failed to satisfy constraint: Member must satisfy enum value set:
// [INSUFFICIENT_DATA, ALARM, OK]".
absl::StatusOr<AlarmState> ParseAlarmState(absl::string_view name);
absl::string_view AlarmStateName(AlarmState state);

// The number of buckets an evaluation looks at: N + max(N/3, 2) (LocalStack's
// reading of "CloudWatch retrieves more datapoints than N"; 5 for N = 3, as in
// the documentation's examples). REQUIRES: evaluation_periods >= 1.
int EvaluationRange(int evaluation_periods);

// One period bucket of the evaluation range.
struct Bucket {
  absl::Time start;                    // the bucket's start (its timestamp)
  std::optional<double> value;         // the statistic; nullopt: no data
  std::optional<double> sample_count;  // for StateReasonData; optional
};

struct EvaluationConfig {
  ComparisonOperator comparison_operator =
      ComparisonOperator::kGreaterThanOrEqualToThreshold;
  double threshold = 0;
  int evaluation_periods = 1;   // N >= 1
  int datapoints_to_alarm = 1;  // M in 1..N
  TreatMissingData treat_missing_data = TreatMissingData::kMissing;
  // Used only for StateReasonData:
  std::string statistic;  // "Sum", "p99", ... (Statistic or ExtendedStatistic)
  int period_seconds = 60;
  std::string unit;  // empty: omitted
};

struct Decision {
  // The decided state; equals the current state when no_change.
  AlarmState state = AlarmState::kInsufficientData;
  // TreatMissingData "ignore" kept the current state: record nothing.
  bool no_change = false;
  // The StateReason, e.g. "Threshold Crossed: 3 out of the last 3 datapoints
  // [...] were greater than or equal to the threshold (30.0) (minimum 3
  // datapoints for OK -> ALARM transition)." Empty when no_change.
  std::string reason;
  // The StateReasonData JSON document (§4.3). Empty when no_change.
  std::string reason_data_json;
};

// Decides the alarm state for one evaluation.
//
// `newest_first`: the evaluation range, normally EvaluationRange(N) buckets,
// newest first with strictly decreasing start times. Fewer buckets are
// accepted; absent slots count as missing.
// `current_state`: the alarm's state before this evaluation (kept when the
// decision is "no change").
// `query_time`: when the evaluation ran (StateReasonData queryDate).
//
// The reason names the transition by its direction, as CloudWatch does:
// "OK -> ALARM" with minimum M for a decision of ALARM (also when coming
// from INSUFFICIENT_DATA), "ALARM -> OK" with minimum N − M + 1 for OK. It
// lists, newest first, the real datapoints that the count refers to
// (breaching ones for ALARM, non-breaching ones for OK).
//
// Errors (InvalidArgument): evaluation_periods < 1, datapoints_to_alarm not
// in 1..N, a non-finite threshold or bucket value, or bucket start times not
// strictly decreasing.
absl::StatusOr<Decision> Evaluate(const EvaluationConfig& config,
                                  absl::Span<const Bucket> newest_first,
                                  AlarmState current_state,
                                  absl::Time query_time);

}  // namespace evbus::alarms
