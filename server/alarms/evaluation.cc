#include "server/alarms/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/alarms/format.h"

namespace evbus::alarms {

namespace {

constexpr absl::string_view kComparisonOperatorEnumSet =
    "[GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
    "LessThanOrEqualToThreshold, LessThanLowerOrGreaterThanUpperThreshold, "
    "LessThanLowerThreshold, GreaterThanUpperThreshold]";

struct NamedOperator {
  absl::string_view name;
  ComparisonOperator op;
};

constexpr NamedOperator kOperators[] = {
    {"GreaterThanOrEqualToThreshold",
     ComparisonOperator::kGreaterThanOrEqualToThreshold},
    {"GreaterThanThreshold", ComparisonOperator::kGreaterThanThreshold},
    {"LessThanThreshold", ComparisonOperator::kLessThanThreshold},
    {"LessThanOrEqualToThreshold",
     ComparisonOperator::kLessThanOrEqualToThreshold},
};

constexpr absl::string_view kBandOperators[] = {
    "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold",
    "GreaterThanUpperThreshold"};

struct NamedTreatment {
  absl::string_view name;
  TreatMissingData treatment;
};

constexpr NamedTreatment kTreatments[] = {
    {"missing", TreatMissingData::kMissing},
    {"notBreaching", TreatMissingData::kNotBreaching},
    {"breaching", TreatMissingData::kBreaching},
    {"ignore", TreatMissingData::kIgnore},
};

// "1 datapoint" / "3 datapoints".
std::string Count(int n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

absl::string_view WasWere(int n) { return n == 1 ? "was" : "were"; }

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// What an evaluation looked at, for the reason texts and StateReasonData.
struct Evaluated {
  std::vector<size_t> real;  // bucket indices of evaluated real datapoints,
                             // newest first
  size_t window = 0;         // buckets [0, window) are the evaluated slots
};

Evaluated MakeEvaluated(std::vector<size_t> real, size_t n,
                        size_t bucket_count) {
  Evaluated e;
  e.window = std::min(n, bucket_count);
  if (!real.empty()) e.window = std::max(e.window, real.back() + 1);
  e.real = std::move(real);
  return e;
}

// StateReasonData (§4.3): version, queryDate, startDate (oldest evaluated
// real datapoint; omitted when there is none), statistic (not for metric
// math alarms), unit (when set),
// period, recentDatapoints (evaluated real values, oldest first), threshold,
// evaluatedDatapoints (the evaluated slots, newest first; a missing slot has
// only its timestamp).
std::string ReasonData(const EvaluationConfig& config,
                       absl::Span<const Bucket> buckets, const Evaluated& e,
                       absl::Time query_time) {
  std::string out = "{\"version\":\"1.0\",\"queryDate\":";
  AppendJsonString(&out, FormatAwsTimestamp(query_time));
  if (!e.real.empty()) {
    out += ",\"startDate\":";
    AppendJsonString(&out, FormatAwsTimestamp(buckets[e.real.back()].start));
  }
  if (!config.statistic.empty()) {  // metric math alarms have none
    out += ",\"statistic\":";
    AppendJsonString(&out, config.statistic);
  }
  if (!config.unit.empty()) {
    out += ",\"unit\":";
    AppendJsonString(&out, config.unit);
  }
  absl::StrAppend(&out, ",\"period\":", config.period_seconds,
                  ",\"recentDatapoints\":[");
  for (auto it = e.real.rbegin(); it != e.real.rend(); ++it) {
    if (it != e.real.rbegin()) out.push_back(',');
    out += FormatJavaDouble(*buckets[*it].value);
  }
  absl::StrAppend(&out, "],\"threshold\":", FormatJavaDouble(config.threshold));
  if (e.window > 0) {
    out += ",\"evaluatedDatapoints\":[";
    for (size_t i = 0; i < e.window; ++i) {
      const Bucket& b = buckets[i];
      if (i > 0) out.push_back(',');
      out += "{\"timestamp\":";
      AppendJsonString(&out, FormatAwsTimestamp(b.start));
      if (b.value.has_value()) {
        if (b.sample_count.has_value()) {
          absl::StrAppend(
              &out, ",\"sampleCount\":", FormatJavaDouble(*b.sample_count));
        }
        absl::StrAppend(&out, ",\"value\":", FormatJavaDouble(*b.value));
      }
      out.push_back('}');
    }
    out.push_back(']');
  }
  out.push_back('}');
  return out;
}

// "Threshold Crossed: K out of the last L datapoints [v (t), ...] was|were
// [not ]<op> the threshold (T) (minimum X datapoint(s) for A -> B
// transition)."
//
// For ALARM, K counts the breaching datapoints (real ones plus
// `filled_breaching` missing slots) and the list shows the real breaching
// ones; for OK, the same for non-breaching datapoints. The list is omitted
// when no real datapoint is counted.
std::string ThresholdReason(const EvaluationConfig& config,
                            absl::Span<const Bucket> buckets,
                            const Evaluated& e, AlarmState to, int last,
                            int filled_breaching, int filled_non_breaching) {
  const bool alarm = to == AlarmState::kAlarm;
  std::vector<std::string> listed;
  for (size_t i : e.real) {
    bool breaching = IsBreaching(config.comparison_operator, *buckets[i].value,
                                 config.threshold);
    if (breaching == alarm) {
      listed.push_back(absl::StrCat(FormatJavaDouble(*buckets[i].value), " (",
                                    FormatReasonTime(buckets[i].start), ")"));
    }
  }
  const int counted = static_cast<int>(listed.size()) +
                      (alarm ? filled_breaching : filled_non_breaching);
  const int minimum =
      alarm ? config.datapoints_to_alarm
            : config.evaluation_periods - config.datapoints_to_alarm + 1;
  std::string out = absl::StrCat("Threshold Crossed: ", counted,
                                 " out of the last ", last, " datapoints");
  if (!listed.empty()) {
    absl::StrAppend(&out, " [", absl::StrJoin(listed, ", "), "]");
  }
  absl::StrAppend(&out, " ", WasWere(counted), " ", alarm ? "" : "not ",
                  ComparisonOperatorPhrase(config.comparison_operator),
                  " the threshold (", FormatJavaDouble(config.threshold),
                  ") (minimum ", Count(minimum, "datapoint"), " for ",
                  alarm ? "OK -> ALARM" : "ALARM -> OK", " transition).");
  return out;
}

// The premature-alarm rule for missing/ignore with 1..N-1 real datapoints.
bool IsPrematureAlarm(const EvaluationConfig& config,
                      absl::Span<const Bucket> buckets,
                      const std::vector<size_t>& real) {
  for (size_t i : real) {
    if (!IsBreaching(config.comparison_operator, *buckets[i].value,
                     config.threshold)) {
      return false;  // a non-breaching real datapoint anywhere in the range
    }
  }
  // The oldest (breaching) real datapoint among the last N slots.
  const size_t n = static_cast<size_t>(config.evaluation_periods);
  size_t oldest = 0;
  bool found = false;
  for (size_t i : real) {
    if (i < n) {
      oldest = i;
      found = true;
    }
  }
  return found && oldest + 1 >= static_cast<size_t>(config.datapoints_to_alarm);
}

}  // namespace

absl::StatusOr<ComparisonOperator> ParseComparisonOperator(
    absl::string_view name) {
  for (const NamedOperator& o : kOperators) {
    if (o.name == name) return o.op;
  }
  for (absl::string_view band : kBandOperators) {
    if (band == name) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Comparison operator ", name,
          " is only valid for anomaly detection alarms (ThresholdMetricId), "
          "which are not supported"));
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "1 validation error detected: Value '", name,
      "' at 'comparisonOperator' failed to satisfy constraint: Member must "
      "satisfy enum value set: ",
      kComparisonOperatorEnumSet));
}

absl::string_view ComparisonOperatorName(ComparisonOperator op) {
  for (const NamedOperator& o : kOperators) {
    if (o.op == op) return o.name;
  }
  return "";
}

absl::string_view ComparisonOperatorPhrase(ComparisonOperator op) {
  switch (op) {
    case ComparisonOperator::kGreaterThanOrEqualToThreshold:
      return "greater than or equal to";
    case ComparisonOperator::kGreaterThanThreshold:
      return "greater than";
    case ComparisonOperator::kLessThanThreshold:
      return "less than";
    case ComparisonOperator::kLessThanOrEqualToThreshold:
      return "less than or equal to";
  }
  return "";
}

bool IsBreaching(ComparisonOperator op, double value, double threshold) {
  switch (op) {
    case ComparisonOperator::kGreaterThanOrEqualToThreshold:
      return value >= threshold;
    case ComparisonOperator::kGreaterThanThreshold:
      return value > threshold;
    case ComparisonOperator::kLessThanThreshold:
      return value < threshold;
    case ComparisonOperator::kLessThanOrEqualToThreshold:
      return value <= threshold;
  }
  return false;
}

absl::StatusOr<TreatMissingData> ParseTreatMissingData(absl::string_view name) {
  for (const NamedTreatment& t : kTreatments) {
    if (t.name == name) return t.treatment;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "The value ", name,
      " is not supported for TreatMissingData parameter. Supported values "
      "are [breaching, notBreaching, ignore, missing]."));
}

absl::string_view TreatMissingDataName(TreatMissingData t) {
  for (const NamedTreatment& n : kTreatments) {
    if (n.treatment == t) return n.name;
  }
  return "";
}

absl::StatusOr<AlarmState> ParseAlarmState(absl::string_view name) {
  if (name == "OK") return AlarmState::kOk;
  if (name == "ALARM") return AlarmState::kAlarm;
  if (name == "INSUFFICIENT_DATA") return AlarmState::kInsufficientData;
  return absl::InvalidArgumentError(
      absl::StrCat("1 validation error detected: Value '", name,
                   "' at 'stateValue' failed to satisfy constraint: Member "
                   "must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, "
                   "OK]"));
}

absl::string_view AlarmStateName(AlarmState state) {
  switch (state) {
    case AlarmState::kOk:
      return "OK";
    case AlarmState::kAlarm:
      return "ALARM";
    case AlarmState::kInsufficientData:
      return "INSUFFICIENT_DATA";
  }
  return "";
}

int EvaluationRange(int evaluation_periods) {
  return evaluation_periods + std::max(evaluation_periods / 3, 2);
}

absl::StatusOr<Decision> Evaluate(const EvaluationConfig& config,
                                  absl::Span<const Bucket> newest_first,
                                  AlarmState current_state,
                                  absl::Time query_time) {
  const int n = config.evaluation_periods;
  const int m = config.datapoints_to_alarm;
  if (n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("EvaluationPeriods must be >= 1, got ", n));
  }
  if (m < 1 || m > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("DatapointsToAlarm must be in 1..EvaluationPeriods (", n,
                     "), got ", m));
  }
  if (!std::isfinite(config.threshold)) {
    return absl::InvalidArgumentError("Threshold must be a finite number");
  }
  std::vector<size_t> real;  // newest first
  for (size_t i = 0; i < newest_first.size(); ++i) {
    const Bucket& b = newest_first[i];
    if (i > 0 && !(b.start < newest_first[i - 1].start)) {
      return absl::InvalidArgumentError(
          absl::StrCat("evaluation range bucket ", i,
                       " is not older than the bucket before it"));
    }
    if (b.value.has_value()) {
      if (!std::isfinite(*b.value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("evaluation range bucket ", i, " is not finite"));
      }
      real.push_back(i);
    }
  }
  auto breaching = [&](size_t i) {
    return IsBreaching(config.comparison_operator, *newest_first[i].value,
                       config.threshold);
  };
  const auto un = static_cast<size_t>(n);
  Decision d;

  // 1. At least N real datapoints: the N most recent ones decide.
  if (real.size() >= un) {
    real.resize(un);
    const auto breach =
        static_cast<int>(std::count_if(real.begin(), real.end(), breaching));
    Evaluated e = MakeEvaluated(std::move(real), un, newest_first.size());
    d.state = breach >= m ? AlarmState::kAlarm : AlarmState::kOk;
    d.reason = ThresholdReason(config, newest_first, e, d.state, n, 0, 0);
    d.reason_data_json = ReasonData(config, newest_first, e, query_time);
    return d;
  }

  // 2. No real datapoint: TreatMissingData alone decides.
  if (real.empty()) {
    Evaluated e = MakeEvaluated({}, un, newest_first.size());
    switch (config.treat_missing_data) {
      case TreatMissingData::kIgnore:
        d.state = current_state;
        d.no_change = true;
        return d;
      case TreatMissingData::kMissing:
        d.state = AlarmState::kInsufficientData;
        d.reason = absl::StrCat("Insufficient Data: ", Count(n, "datapoint"),
                                " ", WasWere(n), " unknown.");
        break;
      case TreatMissingData::kBreaching:
      case TreatMissingData::kNotBreaching: {
        const bool breach =
            config.treat_missing_data == TreatMissingData::kBreaching;
        d.state = breach ? AlarmState::kAlarm : AlarmState::kOk;
        d.reason = absl::StrCat(
            "Threshold Crossed: no datapoints were received for ",
            Count(n, "period"), " and ", Count(n, "missing datapoint"), " ",
            WasWere(n), " treated as [", breach ? "Breaching" : "NonBreaching",
            "].");
        break;
      }
    }
    d.reason_data_json = ReasonData(config, newest_first, e, query_time);
    return d;
  }

  // 3. 1..N-1 real datapoints: fill the N - real missing slots.
  const int fill = n - static_cast<int>(real.size());
  const auto real_breach =
      static_cast<int>(std::count_if(real.begin(), real.end(), breaching));
  Evaluated e = MakeEvaluated(real, un, newest_first.size());
  const int last = static_cast<int>(real.size());
  switch (config.treat_missing_data) {
    case TreatMissingData::kBreaching:
      d.state = real_breach + fill >= m ? AlarmState::kAlarm : AlarmState::kOk;
      d.reason = ThresholdReason(config, newest_first, e, d.state, n, fill, 0);
      break;
    case TreatMissingData::kNotBreaching:
      d.state = real_breach >= m ? AlarmState::kAlarm : AlarmState::kOk;
      d.reason = ThresholdReason(config, newest_first, e, d.state, n, 0, fill);
      break;
    case TreatMissingData::kMissing:
    case TreatMissingData::kIgnore:
      if (IsPrematureAlarm(config, newest_first, real)) {
        if (config.treat_missing_data == TreatMissingData::kIgnore) {
          d.state = current_state;
          d.no_change = true;
          return d;
        }
        d.state = AlarmState::kAlarm;
      } else {
        d.state = real_breach >= m ? AlarmState::kAlarm : AlarmState::kOk;
      }
      // OK while every real datapoint breaches (too few to alarm): the
      // OK text would count "0 ... were not" beside a breaching value, so
      // the reason counts the breaching ones against the alarm's minimum.
      d.reason = ThresholdReason(
          config, newest_first, e,
          d.state == AlarmState::kOk && real_breach == last ? AlarmState::kAlarm
                                                            : d.state,
          last, 0, 0);
      break;
  }
  d.reason_data_json = ReasonData(config, newest_first, e, query_time);
  return d;
}

}  // namespace evbus::alarms
