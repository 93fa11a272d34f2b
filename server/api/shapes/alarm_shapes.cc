#include "server/api/shapes/alarm_shapes.h"

#include <string>
#include <vector>

namespace evbus::api::shapes {

using common::Json;

Json DimensionsToJson(
    const google::protobuf::RepeatedPtrField<evbus::v1::Dimension>& dims) {
  Json out = Json::array();
  for (const evbus::v1::Dimension& d : dims) {
    out.push_back(Json{{"Name", d.name()}, {"Value", d.value()}});
  }
  return out;
}

Json MetricDataQueryToJson(const evbus::v1::MetricDataQuery& q) {
  Json j = Json::object();
  j["Id"] = q.id();
  if (q.has_metric_stat()) {
    const evbus::v1::MetricStat& s = q.metric_stat();
    Json stat = Json::object();
    stat["Metric"] =
        Json{{"Namespace", s.metric().namespace_()},
             {"MetricName", s.metric().metric_name()},
             {"Dimensions", DimensionsToJson(s.metric().dimensions())}};
    stat["Period"] = s.period();
    stat["Stat"] = s.stat();
    if (!s.unit().empty()) stat["Unit"] = s.unit();
    j["MetricStat"] = std::move(stat);
  }
  if (!q.expression().empty()) j["Expression"] = q.expression();
  if (!q.label().empty()) j["Label"] = q.label();
  j["ReturnData"] = !q.has_return_data() || q.return_data();
  if (q.period() != 0) j["Period"] = q.period();
  return j;
}

namespace {

// The members both kinds of alarm start with.
Json AlarmHeadToJson(const evbus::v1::MetricAlarm& a, TimeStyle style) {
  Json j = Json::object();
  j["AlarmName"] = a.alarm_name();
  j["AlarmArn"] = a.alarm_arn();
  if (!a.alarm_description().empty()) {
    j["AlarmDescription"] = a.alarm_description();
  }
  j["AlarmConfigurationUpdatedTimestamp"] =
      TimeValue(a.configuration_updated_ms(), style);
  j["ActionsEnabled"] = a.actions_enabled();
  j["OKActions"] = Json(
      std::vector<std::string>(a.ok_actions().begin(), a.ok_actions().end()));
  j["AlarmActions"] = Json(std::vector<std::string>(a.alarm_actions().begin(),
                                                    a.alarm_actions().end()));
  j["InsufficientDataActions"] =
      Json(std::vector<std::string>(a.insufficient_data_actions().begin(),
                                    a.insufficient_data_actions().end()));
  return j;
}

}  // namespace

Json MetricAlarmToJson(const evbus::v1::MetricAlarm& a, TimeStyle style) {
  Json j = AlarmHeadToJson(a, style);
  j["StateValue"] = a.state_value();
  j["StateReason"] = a.state_reason();
  if (!a.state_reason_data().empty()) {
    j["StateReasonData"] = a.state_reason_data();
  }
  j["StateUpdatedTimestamp"] = TimeValue(a.state_updated_ms(), style);
  if (a.metrics_size() > 0) {
    // A metric math alarm: Metrics in place of the single metric.
    Json metrics = Json::array();
    for (const evbus::v1::MetricDataQuery& q : a.metrics()) {
      metrics.push_back(MetricDataQueryToJson(q));
    }
    j["Metrics"] = std::move(metrics);
  } else {
    j["MetricName"] = a.metric_name();
    j["Namespace"] = a.namespace_();
    if (!a.statistic().empty()) j["Statistic"] = a.statistic();
    if (!a.extended_statistic().empty()) {
      j["ExtendedStatistic"] = a.extended_statistic();
    }
    j["Dimensions"] = DimensionsToJson(a.dimensions());
    j["Period"] = a.period();
    if (!a.unit().empty()) j["Unit"] = a.unit();
  }
  j["EvaluationPeriods"] = a.evaluation_periods();
  if (a.datapoints_to_alarm() > 0) {
    j["DatapointsToAlarm"] = a.datapoints_to_alarm();
  }
  j["Threshold"] = a.threshold();
  j["ComparisonOperator"] = a.comparison_operator();
  if (!a.treat_missing_data().empty()) {
    j["TreatMissingData"] = a.treat_missing_data();
  }
  if (!a.evaluate_low_sample_count_percentile().empty()) {
    j["EvaluateLowSampleCountPercentile"] =
        a.evaluate_low_sample_count_percentile();
  }
  j["StateTransitionedTimestamp"] = TimeValue(a.state_transitioned_ms(), style);
  return j;
}

Json CompositeAlarmToJson(const evbus::v1::MetricAlarm& a, TimeStyle style) {
  Json j = AlarmHeadToJson(a, style);
  j["AlarmRule"] = a.alarm_rule();
  if (!a.actions_suppressor().empty()) {
    j["ActionsSuppressor"] = a.actions_suppressor();
    j["ActionsSuppressorWaitPeriod"] = a.actions_suppressor_wait_period();
    j["ActionsSuppressorExtensionPeriod"] =
        a.actions_suppressor_extension_period();
  }
  if (!a.actions_suppressed_by().empty()) {
    j["ActionsSuppressedBy"] = a.actions_suppressed_by();
    j["ActionsSuppressedReason"] = a.actions_suppressed_reason();
  }
  j["StateValue"] = a.state_value();
  j["StateReason"] = a.state_reason();
  if (!a.state_reason_data().empty()) {
    j["StateReasonData"] = a.state_reason_data();
  }
  j["StateUpdatedTimestamp"] = TimeValue(a.state_updated_ms(), style);
  j["StateTransitionedTimestamp"] = TimeValue(a.state_transitioned_ms(), style);
  return j;
}

Json AlarmSummaryToJson(const evbus::v1::MetricAlarm& a, TimeStyle style) {
  Json j = Json::object();
  j["AlarmName"] = a.alarm_name();
  j["AlarmArn"] = a.alarm_arn();
  j["StateValue"] = a.state_value();
  j["StateUpdatedTimestamp"] = TimeValue(a.state_updated_ms(), style);
  return j;
}

}  // namespace evbus::api::shapes
