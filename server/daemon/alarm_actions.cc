#include "server/daemon/alarm_actions.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/logging.h"
#include "server/topics/sns_messages.h"

namespace evbus::daemon {
namespace {

using common::Json;

topics::AlarmStateChange ChangeOf(const evbus::v1::MetricAlarm& a,
                                  const std::string& old_state,
                                  const std::string& account,
                                  const std::string& region) {
  topics::AlarmStateChange c;
  c.alarm_name = a.alarm_name();
  if (!a.alarm_description().empty()) {
    c.alarm_description = a.alarm_description();
  }
  c.account_id = account;
  c.region = region;
  c.alarm_arn = a.alarm_arn();
  c.old_state = old_state;
  c.new_state = a.state_value();
  c.new_state_reason = a.state_reason();
  c.new_state_reason_data = a.state_reason_data();
  c.state_change_time = absl::FromUnixMillis(a.state_updated_ms());
  c.configuration_updated_time =
      absl::FromUnixMillis(a.configuration_updated_ms());
  c.ok_actions = {a.ok_actions().begin(), a.ok_actions().end()};
  c.alarm_actions = {a.alarm_actions().begin(), a.alarm_actions().end()};
  c.insufficient_data_actions = {a.insufficient_data_actions().begin(),
                                 a.insufficient_data_actions().end()};
  if (!a.alarm_rule().empty()) {
    c.alarm_rule = a.alarm_rule();
    return c;
  }
  for (const evbus::v1::MetricDataQuery& q : a.metrics()) {
    topics::AlarmMetricQuery m;
    m.id = q.id();
    m.label = q.label();
    m.return_data = !q.has_return_data() || q.return_data();
    m.expression = q.expression();
    m.metric_namespace = q.metric_stat().metric().namespace_();
    m.metric_name = q.metric_stat().metric().metric_name();
    for (const auto& d : q.metric_stat().metric().dimensions()) {
      m.dimensions.push_back({d.name(), d.value()});
    }
    m.period_seconds = q.metric_stat().period();
    m.stat = q.metric_stat().stat();
    if (m.expression.empty()) c.trigger.period_seconds = m.period_seconds;
    c.trigger.metrics.push_back(std::move(m));
  }
  c.trigger.metric_name = a.metric_name();
  c.trigger.metric_namespace = a.namespace_();
  c.trigger.statistic = a.statistic();
  c.trigger.extended_statistic = a.extended_statistic();
  if (!a.unit().empty()) c.trigger.unit = a.unit();
  for (const auto& d : a.dimensions()) {
    c.trigger.dimensions.push_back({d.name(), d.value()});
  }
  if (a.metrics_size() == 0) c.trigger.period_seconds = a.period();
  c.trigger.evaluation_periods = a.evaluation_periods();
  c.trigger.datapoints_to_alarm = a.datapoints_to_alarm();
  c.trigger.comparison_operator = a.comparison_operator();
  c.trigger.threshold = a.threshold();
  c.trigger.treat_missing_data = a.treat_missing_data();
  c.trigger.evaluate_low_sample_count_percentile =
      a.evaluate_low_sample_count_percentile();
  return c;
}

Json StateJson(const std::string& value, const std::string& reason,
               const std::string& reason_data, int64_t ms) {
  Json s = Json::object();
  s["value"] = value;
  s["reason"] = reason;
  if (!reason_data.empty()) s["reasonData"] = reason_data;
  s["timestamp"] = topics::FormatCloudWatchTimestamp(absl::FromUnixMillis(ms));
  return s;
}

Json ConfigurationJson(const evbus::v1::MetricAlarm& a) {
  if (!a.alarm_rule().empty()) {
    // A composite alarm's configuration, as CloudWatch's event has it.
    Json c = Json::object();
    c["alarmRule"] = a.alarm_rule();
    if (!a.actions_suppressor().empty()) {
      c["actionsSuppressor"] = a.actions_suppressor();
      c["actionsSuppressorWaitPeriod"] = a.actions_suppressor_wait_period();
      c["actionsSuppressorExtensionPeriod"] =
          a.actions_suppressor_extension_period();
    }
    if (!a.alarm_description().empty()) {
      c["description"] = a.alarm_description();
    }
    return c;
  }
  // {"metric": {...}, "period", "stat"}, as the event's metricStat has it.
  auto metric_stat = [](const std::string& ns, const std::string& name,
                        const auto& dimensions, int period,
                        const std::string& statistic) {
    Json dims = Json::object();
    for (const auto& d : dimensions) dims[d.name()] = d.value();
    Json metric = Json::object();
    metric["namespace"] = ns;
    metric["name"] = name;
    metric["dimensions"] = dims;
    Json stat = Json::object();
    stat["metric"] = metric;
    stat["period"] = period;
    stat["stat"] = statistic;
    return stat;
  };
  Json metrics = Json::array();
  if (a.metrics_size() == 0) {
    Json m = Json::object();
    m["id"] = "m1";
    m["metricStat"] = metric_stat(
        a.namespace_(), a.metric_name(), a.dimensions(), a.period(),
        a.statistic().empty() ? a.extended_statistic() : a.statistic());
    m["returnData"] = true;
    metrics.push_back(std::move(m));
  }
  for (const evbus::v1::MetricDataQuery& q : a.metrics()) {
    Json m = Json::object();
    m["id"] = q.id();
    if (!q.expression().empty()) {
      m["expression"] = q.expression();
    } else {
      const evbus::v1::MetricStat& s = q.metric_stat();
      m["metricStat"] =
          metric_stat(s.metric().namespace_(), s.metric().metric_name(),
                      s.metric().dimensions(), s.period(), s.stat());
    }
    if (!q.label().empty()) m["label"] = q.label();
    m["returnData"] = !q.has_return_data() || q.return_data();
    metrics.push_back(std::move(m));
  }
  Json c = Json::object();
  if (!a.alarm_description().empty()) c["description"] = a.alarm_description();
  c["metrics"] = std::move(metrics);
  return c;
}

}  // namespace

std::vector<std::string> AlarmActions::StateChanged(
    const evbus::v1::MetricAlarm& alarm, const evbus::v1::MetricAlarm& before,
    const std::vector<std::string>& actions) {
  topics::AlarmStateChange change =
      ChangeOf(alarm, before.state_value(), account_, region_);
  Json detail = Json::object();
  detail["alarmName"] = alarm.alarm_name();
  detail["state"] =
      StateJson(alarm.state_value(), alarm.state_reason(),
                alarm.state_reason_data(), alarm.state_updated_ms());
  if (!alarm.actions_suppressed_by().empty()) {
    detail["state"]["actionsSuppressedBy"] = alarm.actions_suppressed_by();
    detail["state"]["actionsSuppressedReason"] =
        alarm.actions_suppressed_reason();
  }
  Json previous =
      StateJson(before.state_value(), before.state_reason(),
                before.state_reason_data(), before.state_updated_ms());
  if (!before.actions_suppressed_by().empty()) {
    previous["actionsSuppressedBy"] = before.actions_suppressed_by();
    previous["actionsSuppressedReason"] = before.actions_suppressed_reason();
  }
  detail["previousState"] = previous;
  detail["configuration"] = ConfigurationJson(alarm);

  std::vector<std::string> results;
  for (const std::string& arn : actions) {
    absl::Status s;
    if (absl::StartsWith(arn, "topic:") ||
        absl::StartsWith(arn, "arn:aws:sns:")) {
      evbus::v1::PublishRequest publish;
      publish.set_topic_arn(arn);
      publish.set_subject(topics::AlarmEmailSubject(change));
      publish.set_message(topics::AlarmPublishMessage(change));
      publish.set_message_structure("json");
      s = topics_.Publish(publish).status();
    } else if (absl::StartsWith(arn, "function:") ||
               absl::StrContains(arn, ":lambda:")) {
      // CloudWatch's event for Lambda alarm actions.
      Json event = Json::object();
      event["source"] = "aws.cloudwatch";
      event["alarmArn"] = alarm.alarm_arn();
      event["accountId"] = account_;
      event["time"] = topics::FormatCloudWatchTimestamp(
          absl::FromUnixMillis(alarm.state_updated_ms()));
      event["region"] = region_;
      Json data = detail;
      event["alarmData"] = data;
      std::string name = arn;
      size_t at = name.rfind("function:");
      if (at != std::string::npos) name = name.substr(at + 9);
      s = invoker_.Enqueue(name, common::DumpJson(event)).status();
    } else {
      s = absl::InvalidArgumentError(
          "evbus runs topic and function alarm actions only");
    }
    results.push_back(s.ok() ? "" : std::string(s.message()));
  }

  // The EventBridge event, whatever the actions.
  Json envelope = Json::object();
  envelope["version"] = "0";
  envelope["id"] = common::NewUuidV4();
  envelope["detail-type"] = "CloudWatch Alarm State Change";
  envelope["source"] = "aws.cloudwatch";
  envelope["account"] = account_;
  envelope["time"] = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(alarm.state_updated_ms()),
      absl::UTCTimeZone());
  envelope["region"] = region_;
  envelope["resources"] = Json::array({alarm.alarm_arn()});
  envelope["detail"] = detail;
  absl::Status put =
      buses_.PublishEnvelope("default", common::DumpJson(envelope),
                             /*from_bus=*/false);
  if (!put.ok()) EVBUS_LOG(WARNING) << "alarm state change event: " << put;
  return results;
}

}  // namespace evbus::daemon
