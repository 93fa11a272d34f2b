#include "server/alarms/alarm_config.h"

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/common/aws_error.h"
#include "server/metricmath/evaluate.h"
#include "server/metricstore/datapoint.h"

namespace evbus::alarms {

namespace {

constexpr absl::string_view kStatisticEnumSet =
    "[Maximum, SampleCount, Sum, Minimum, Average]";

constexpr absl::string_view kComparisonOperatorEnumSet =
    "[GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
    "LessThanOrEqualToThreshold, LessThanLowerOrGreaterThanUpperThreshold, "
    "LessThanLowerThreshold, GreaterThanUpperThreshold]";

constexpr absl::string_view kComparisonOperators[] = {
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold"};

// Unicode code points in a UTF-8 string (continuation bytes not counted).
size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

bool IsOneOf(absl::string_view value, absl::Span<const absl::string_view> set) {
  for (absl::string_view v : set) {
    if (v == value) return true;
  }
  return false;
}

// Collects Coral model-constraint violations.
class Violations {
 public:
  void Null(absl::string_view path) {
    clauses_.push_back(absl::StrCat(
        "Value null at '", path,
        "' failed to satisfy constraint: Member must not be null"));
  }

  void Length(absl::string_view value, absl::string_view path, size_t min,
              size_t max) {
    size_t n = CodePoints(value);
    if (n < min) {
      Add(value, path,
          absl::StrCat("have length greater than or equal to ", min));
    } else if (n > max) {
      Add(value, path, absl::StrCat("have length less than or equal to ", max));
    }
  }

  void ListSize(const std::vector<std::string>& rendered,
                absl::string_view path, size_t max) {
    if (rendered.size() > max) {
      Add(absl::StrCat("[", absl::StrJoin(rendered, ", "), "]"), path,
          absl::StrCat("have length less than or equal to ", max));
    }
  }

  void Min(int64_t value, absl::string_view path, int64_t min) {
    if (value < min) {
      Add(absl::StrCat(value), path,
          absl::StrCat("have value greater than or equal to ", min));
    }
  }

  void Enum(absl::string_view value, absl::string_view path,
            absl::string_view set) {
    Add(value, path, absl::StrCat("satisfy enum value set: ", set));
  }

  void Add(absl::string_view value, absl::string_view path,
           absl::string_view rule) {
    clauses_.push_back(common::ConstraintClause(value, path, rule));
  }

  absl::Status ToStatus() const {
    if (clauses_.empty()) return absl::OkStatus();
    if (clauses_.size() == 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("1 validation error detected: ", clauses_[0]));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        clauses_.size(),
        " validation errors detected: ", absl::StrJoin(clauses_, "; ")));
  }

 private:
  std::vector<std::string> clauses_;
};

void CheckActions(const std::vector<std::string>& actions,
                  absl::string_view path, Violations& v) {
  v.ListSize(actions, path, kMaxActionsPerList);
  for (size_t i = 0; i < actions.size(); ++i) {
    v.Length(actions[i], absl::StrCat(path, ".", i + 1, ".member"), 1,
             kMaxActionArnLength);
  }
}

// The members both kinds of alarm have: AlarmName (required, 1..255) and
// AlarmDescription (<= 1024).
void CheckNameAndDescription(const std::optional<std::string>& name,
                             const std::optional<std::string>& description,
                             Violations& v) {
  if (!name.has_value()) {
    v.Null("alarmName");
  } else {
    v.Length(*name, "alarmName", 1, kMaxAlarmNameLength);
  }
  if (description.has_value()) {
    v.Length(*description, "alarmDescription", 0, kMaxAlarmDescriptionLength);
  }
}

// The three action lists of either kind of request.
template <typename Request>
void CheckActionLists(const Request& r, Violations& v) {
  CheckActions(r.ok_actions, "oKActions", v);
  CheckActions(r.alarm_actions, "alarmActions", v);
  CheckActions(r.insufficient_data_actions, "insufficientDataActions", v);
}

// Model constraints (phase 1), all collected.
absl::Status CheckModel(const PutMetricAlarmRequest& r) {
  Violations v;
  CheckNameAndDescription(r.alarm_name, r.alarm_description, v);
  CheckActionLists(r, v);
  if (r.metric_name.has_value()) {
    v.Length(*r.metric_name, "metricName", 1, kMaxMetricNameLength);
  }
  if (r.metric_namespace.has_value()) {
    const std::string& ns = *r.metric_namespace;
    v.Length(ns, "namespace", 1, kMaxNamespaceLength);
    if (!ns.empty() && ns[0] == ':') {
      v.Add(ns, "namespace", "satisfy regular expression pattern: [^:].*");
    }
  }
  if (r.statistic.has_value() &&
      !metricstore::IsSimpleStatistic(*r.statistic)) {
    v.Enum(*r.statistic, "statistic", kStatisticEnumSet);
  }
  if (r.dimensions.size() > kMaxDimensions) {
    std::vector<std::string> rendered;
    rendered.reserve(r.dimensions.size());
    for (const Dimension& d : r.dimensions) {
      rendered.push_back(
          absl::StrCat("Dimension(Name=", d.name, ", Value=", d.value, ")"));
    }
    v.ListSize(rendered, "dimensions", kMaxDimensions);
  }
  for (size_t i = 0; i < r.dimensions.size(); ++i) {
    std::string base = absl::StrCat("dimensions.", i + 1, ".member.");
    v.Length(r.dimensions[i].name, base + "name", 1, kMaxDimensionNameLength);
    v.Length(r.dimensions[i].value, base + "value", 1,
             kMaxDimensionValueLength);
  }
  if (r.period.has_value()) v.Min(*r.period, "period", 1);
  if (r.unit.has_value() && !IsOneOf(*r.unit, metricstore::kStandardUnits)) {
    v.Enum(*r.unit, "unit",
           absl::StrCat("[", absl::StrJoin(metricstore::kStandardUnits, ", "),
                        "]"));
  }
  if (!r.evaluation_periods.has_value()) {
    v.Null("evaluationPeriods");
  } else {
    v.Min(*r.evaluation_periods, "evaluationPeriods", 1);
  }
  if (r.datapoints_to_alarm.has_value()) {
    v.Min(*r.datapoints_to_alarm, "datapointsToAlarm", 1);
  }
  if (!r.comparison_operator.has_value()) {
    v.Null("comparisonOperator");
  } else if (!IsOneOf(*r.comparison_operator, kComparisonOperators)) {
    v.Enum(*r.comparison_operator, "comparisonOperator",
           kComparisonOperatorEnumSet);
  }
  if (r.treat_missing_data.has_value()) {
    v.Length(*r.treat_missing_data, "treatMissingData", 1, 255);
  }
  if (r.evaluate_low_sample_count_percentile.has_value()) {
    v.Length(*r.evaluate_low_sample_count_percentile,
             "evaluateLowSampleCountPercentile", 1, 255);
  }
  return v.ToStatus();
}

bool HasControlCharacter(absl::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool IsValidPeriod(int64_t period) {
  return period == 10 || period == 20 || period == 30 ||
         (period > 0 && period % 60 == 0);
}

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// Metric math: the checks that replace the single metric's (see the
// header). On success, `*period` is the MetricStat queries' period and
// every query's return_data is set.
absl::Status CheckMetrics(const PutMetricAlarmRequest& r,
                          std::vector<MetricQuery>* queries, int64_t* period,
                          std::vector<metricmath::QueryInput>* inputs) {
  const std::pair<bool, const char*> single[] = {
      {r.statistic.has_value(), "Statistic"},
      {r.extended_statistic.has_value(), "ExtendedStatistic"},
      {r.metric_name.has_value(), "MetricName"},
      {r.metric_namespace.has_value(), "Namespace"},
      {!r.dimensions.empty(), "Dimensions"},
      {r.period.has_value(), "Period"},
      {r.unit.has_value(), "Unit"}};
  for (const auto& [given, member] : single) {
    if (given) {
      return Invalid(absl::StrCat(
          member, " should not be set if list of Metrics is set."));
    }
  }
  size_t stats = 0;
  for (const MetricQuery& q : r.metrics) stats += q.has_metric_stat ? 1 : 0;
  const size_t expressions = r.metrics.size() - stats;
  if (stats > kMaxMetricQueries || expressions > kMaxMetricQueries) {
    return Invalid(absl::StrCat(
        "The list of Metrics may hold at most ", kMaxMetricQueries,
        " MetricStat and ", kMaxMetricQueries, " Expression elements; it has ",
        stats, " and ", expressions, "."));
  }
  *queries = r.metrics;
  // Ids first: a bad id is named as such, not as a syntax error in an
  // expression that refers to it.
  for (size_t i = 0; i < queries->size(); ++i) {
    const std::string& id = (*queries)[i].id;
    if (!id.empty() && !metricmath::IsValidId(id)) {
      return Invalid(absl::StrCat(
          "Invalid id '", id, "' of Metrics.member.", i + 1,
          ": ids are 1 to 255 characters, start with a lower-case letter "
          "and hold only letters, digits and '_'."));
    }
  }
  inputs->clear();
  int returned = 0;
  *period = 0;
  for (size_t i = 0; i < queries->size(); ++i) {
    MetricQuery& q = (*queries)[i];
    const std::string where =
        absl::StrCat("Metrics.member.", i + 1, q.id.empty() ? "" : " (", q.id,
                     q.id.empty() ? "" : ")");
    if (q.id.empty()) {
      return Invalid(absl::StrCat("The parameter ", where, ".Id is required."));
    }
    if (q.has_metric_stat == !q.expression.empty()) {
      return Invalid(absl::StrCat(
          where, " must have exactly one of MetricStat and Expression."));
    }
    if (!q.return_data.has_value()) q.return_data = true;
    if (*q.return_data) ++returned;
    metricmath::QueryInput in;
    in.id = q.id;
    in.label = q.label;
    if (q.has_metric_stat) {
      if (q.metric_name.empty() || q.metric_namespace.empty()) {
        return Invalid(absl::StrCat("Invalid metrics list: ", where,
                                    " needs a Metric with a MetricName and a "
                                    "Namespace."));
      }
      if (!q.period.has_value() || !IsValidPeriod(*q.period)) {
        return Invalid(
            absl::StrCat("Invalid metrics list: the Period of ", where,
                         " must be 10, 20, 30 or a multiple of 60."));
      }
      if (q.stat.empty()) {
        return Invalid(
            absl::StrCat("Invalid metrics list: ", where, " needs a Stat."));
      }
      absl::StatusOr<metricstore::StatisticSpec> spec =
          metricstore::ParseStatisticName(q.stat);
      if (!spec.ok() &&
          spec.status().code() == absl::StatusCode::kUnimplemented) {
        return Invalid(absl::StrCat(
            "Invalid metrics list: the Stat '", q.stat, "' of ", where,
            " is not supported by evbus: only SampleCount, Average, Sum, "
            "Minimum, Maximum and percentiles p0 to p100 are implemented."));
      }
      if (!spec.ok()) {
        return Invalid(absl::StrCat("Invalid metrics list: the Stat '", q.stat,
                                    "' of ", where, " is not a statistic."));
      }
      if (!q.unit.empty() && !IsOneOf(q.unit, metricstore::kStandardUnits)) {
        return Invalid(absl::StrCat("Invalid metrics list: the Unit '", q.unit,
                                    "' of ", where, " is not a unit."));
      }
      if (*period == 0) {
        *period = *q.period;
      } else if (*q.period != *period) {
        return Invalid(
            "Invalid metrics list: every MetricStat of an alarm must have "
            "the same Period.");
      }
      in.series.emplace();
    } else {
      if (q.period.has_value()) {
        return Invalid(
            absl::StrCat("Period should not be set on the expression ", where,
                         " of an alarm's Metrics."));
      }
      absl::StatusOr<metricmath::Expression> e =
          metricmath::Expression::Parse(q.expression);
      if (!e.ok()) {
        return Invalid(absl::StrCat("Error in the expression of ", where, ": ",
                                    e.status().message()));
      }
      in.expression = *std::move(e);
    }
    inputs->push_back(std::move(in));
  }
  if (returned != 1) {
    return Invalid(
        "Exactly one element of the metrics list should return "
        "data.");
  }
  if (*period == 0) {
    return Invalid(
        "Invalid metrics list: an alarm's Metrics need at least one "
        "MetricStat.");
  }
  absl::Status ids = metricmath::CheckQueries(*inputs);
  return ids.ok() ? absl::OkStatus() : Invalid(ids.message());
}

// Evaluates the queries over the alarm's evaluation range without
// datapoints: finds the kinds of values (the returned query must give one
// time series or a scalar) and what an evaluation costs (within
// metricmath's budget), so that nothing accepted here can fail or blow up
// when it is evaluated.
absl::Status CheckMetricsEvaluate(const std::vector<MetricQuery>& queries,
                                  std::vector<metricmath::QueryInput> inputs,
                                  int64_t period, int evaluation_periods) {
  const int range = EvaluationRange(evaluation_periods);
  metricmath::Grid grid{.start = absl::UnixEpoch(),
                        .period = absl::Seconds(period),
                        .count = range};
  for (metricmath::QueryInput& in : inputs) {
    if (in.series.has_value()) {
      in.series->assign(static_cast<size_t>(range), std::nullopt);
    }
  }
  absl::StatusOr<std::vector<metricmath::Value>> values =
      metricmath::EvaluateQueries(grid, inputs);
  if (!values.ok()) return Invalid(values.status().message());
  for (size_t i = 0; i < queries.size(); ++i) {
    if (*queries[i].return_data &&
        (*values)[i].kind == metricmath::Value::Kind::kArray) {
      return Invalid(
          absl::StrCat("The expression of ", queries[i].id,
                       " gives an array of time series; an alarm needs one."));
    }
  }
  return absl::OkStatus();
}

}  // namespace

EvaluationConfig MetricAlarmConfig::ToEvaluationConfig() const {
  EvaluationConfig e;
  e.comparison_operator = comparison_operator;
  e.threshold = threshold;
  e.evaluation_periods = evaluation_periods;
  e.datapoints_to_alarm = datapoints_to_alarm;
  e.treat_missing_data = treat_missing_data;
  e.statistic = statistic_name();
  e.period_seconds = period;
  e.unit = unit;
  return e;
}

absl::StatusOr<MetricAlarmConfig> ValidatePutMetricAlarm(
    const PutMetricAlarmRequest& r) {
  if (absl::Status s = CheckModel(r); !s.ok()) return s;

  // Phase 2: semantic rules, first failure wins.
  if (HasControlCharacter(*r.alarm_name)) {
    return Invalid("AlarmName must not contain ASCII control characters.");
  }
  const bool has_statistic = r.statistic.has_value();
  const bool has_extended = r.extended_statistic.has_value();
  std::vector<MetricQuery> metrics;
  std::vector<metricmath::QueryInput> math_inputs;
  int64_t math_period = 0;
  if (!r.metrics.empty()) {
    if (absl::Status m = CheckMetrics(r, &metrics, &math_period, &math_inputs);
        !m.ok()) {
      return m;
    }
  } else if (has_statistic == has_extended) {
    return Invalid(
        "Exactly one of Statistic or ExtendedStatistic must be specified.");
  }
  if (has_extended && metrics.empty()) {
    absl::StatusOr<metricstore::StatisticSpec> spec =
        metricstore::ParseStatisticName(*r.extended_statistic);
    if (!spec.ok() || !spec->is_percentile()) {
      if (spec.status().code() == absl::StatusCode::kUnimplemented) {
        return Invalid(absl::StrCat(
            "The value ", *r.extended_statistic,
            " for parameter ExtendedStatistic is not supported by evbus: only "
            "percentiles p0 to p100 are implemented."));
      }
      return Invalid(absl::StrCat("The value ", *r.extended_statistic,
                                  " for parameter ExtendedStatistic is not "
                                  "supported."));
    }
  }
  if (metrics.empty() &&
      (!r.metric_name.has_value() || !r.metric_namespace.has_value())) {
    return Invalid(
        "The parameters MetricName and Namespace must be specified, or "
        "Metrics.");
  }
  if (metrics.empty() && !r.period.has_value()) {
    return Invalid("The parameter Period must be specified.");
  }
  const int64_t period = metrics.empty() ? *r.period : math_period;
  if (!IsValidPeriod(period)) {
    return Invalid("Period must be 10, 20, 30 or a multiple of 60");
  }
  if (!r.threshold.has_value()) {
    return Invalid(
        "The parameter Threshold must be specified: anomaly detection alarms "
        "(ThresholdMetricId) are not supported.");
  }
  if (!std::isfinite(*r.threshold)) {
    return Invalid("The parameter Threshold must be a finite number.");
  }
  const int64_t n = *r.evaluation_periods;
  const int64_t m = r.datapoints_to_alarm.value_or(n);
  if (m > n) {
    return Invalid(
        "DatapointsToAlarm must be less than or equal to EvaluationPeriods.");
  }
  // Bounds first so that the product cannot overflow.
  if (period < 3600) {
    if (n > kMaxWindowSecondsShortPeriod ||
        n * period > kMaxWindowSecondsShortPeriod) {
      return Invalid(
          "Metrics cannot be checked across more than a day (EvaluationPeriods "
          "* Period must be <= 86400).");
    }
  } else if (period > kMaxWindowSecondsLongPeriod ||
             n > kMaxWindowSecondsLongPeriod ||
             n * period > kMaxWindowSecondsLongPeriod) {
    return Invalid(
        "Metrics cannot be checked across more than a week (EvaluationPeriods "
        "* Period must be <= 604800) for alarms using period >= 3600");
  }
  if (!metrics.empty()) {
    absl::Status evaluated = CheckMetricsEvaluate(
        metrics, std::move(math_inputs), period, static_cast<int>(n));
    if (!evaluated.ok()) return evaluated;
  }
  TreatMissingData treatment = TreatMissingData::kMissing;
  if (r.treat_missing_data.has_value()) {
    absl::StatusOr<TreatMissingData> t =
        ParseTreatMissingData(*r.treat_missing_data);
    if (!t.ok()) return t.status();
    treatment = *t;
  }
  if (r.evaluate_low_sample_count_percentile.has_value() &&
      *r.evaluate_low_sample_count_percentile != "evaluate" &&
      *r.evaluate_low_sample_count_percentile != "ignore") {
    return Invalid(absl::StrCat(
        "Option ", *r.evaluate_low_sample_count_percentile,
        " is not supported. Supported options for parameter "
        "EvaluateLowSampleCountPercentile are evaluate and ignore."));
  }
  absl::StatusOr<ComparisonOperator> op =
      ParseComparisonOperator(*r.comparison_operator);
  if (!op.ok()) return op.status();  // an anomaly-band operator

  MetricAlarmConfig c;
  c.alarm_name = *r.alarm_name;
  c.alarm_description = r.alarm_description.value_or("");
  c.actions_enabled = r.actions_enabled.value_or(true);
  c.ok_actions = r.ok_actions;
  c.alarm_actions = r.alarm_actions;
  c.insufficient_data_actions = r.insufficient_data_actions;
  c.metric_namespace = r.metric_namespace.value_or("");
  c.metric_name = r.metric_name.value_or("");
  c.metrics = std::move(metrics);
  c.dimensions = r.dimensions;
  c.statistic = r.statistic.value_or("");
  c.extended_statistic = r.extended_statistic.value_or("");
  c.period = static_cast<int>(period);
  c.unit = r.unit.value_or("");
  c.evaluation_periods = static_cast<int>(n);
  c.datapoints_to_alarm = static_cast<int>(m);
  c.threshold = *r.threshold;
  c.comparison_operator = *op;
  c.treat_missing_data = treatment;
  c.evaluate_low_sample_count_percentile =
      r.evaluate_low_sample_count_percentile.value_or("");
  return c;
}

absl::StatusOr<AlarmRule> ValidatePutCompositeAlarm(
    const PutCompositeAlarmRequest& r) {
  Violations v;
  CheckNameAndDescription(r.alarm_name, r.alarm_description, v);
  if (!r.alarm_rule.has_value()) {
    v.Null("alarmRule");
  } else {
    v.Length(*r.alarm_rule, "alarmRule", 1, AlarmRule::kMaxLength);
  }
  CheckActionLists(r, v);
  if (r.actions_suppressor.has_value()) {
    v.Length(*r.actions_suppressor, "actionsSuppressor", 1,
             kMaxActionsSuppressorLength);
  }
  if (r.actions_suppressor_wait_period.has_value()) {
    v.Min(*r.actions_suppressor_wait_period, "actionsSuppressorWaitPeriod", 0);
  }
  if (r.actions_suppressor_extension_period.has_value()) {
    v.Min(*r.actions_suppressor_extension_period,
          "actionsSuppressorExtensionPeriod", 0);
  }
  if (absl::Status s = v.ToStatus(); !s.ok()) return s;
  if (HasControlCharacter(*r.alarm_name)) {
    return Invalid("AlarmName must not contain ASCII control characters.");
  }
  // The two periods go with a suppressor, and it needs both.
  const bool wait = r.actions_suppressor_wait_period.has_value();
  const bool extension = r.actions_suppressor_extension_period.has_value();
  if (r.actions_suppressor.has_value() && (!wait || !extension)) {
    return Invalid(
        absl::StrCat(!wait ? "ActionsSuppressorWaitPeriod"
                           : "ActionsSuppressorExtensionPeriod",
                     " is required when ActionsSuppressor is specified."));
  }
  if (!r.actions_suppressor.has_value() && (wait || extension)) {
    return Invalid(absl::StrCat(wait ? "ActionsSuppressorWaitPeriod"
                                     : "ActionsSuppressorExtensionPeriod",
                                " is only valid with ActionsSuppressor."));
  }
  return AlarmRule::Parse(*r.alarm_rule);
}

}  // namespace evbus::alarms
