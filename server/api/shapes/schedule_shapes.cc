#include "server/api/shapes/schedule_shapes.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/common/aws_error.h"

namespace evbus::api::shapes {
namespace {

using common::Json;

absl::Status TypeError(absl::string_view member, absl::string_view what) {
  return common::ValidationError(
      absl::StrCat("Member ", member, " must be ", what, "."));
}

absl::Status UnknownMember(absl::string_view where, absl::string_view key,
                           const std::vector<std::string>& known) {
  return common::ValidationError(
      absl::StrCat("Unknown member ", key, " in ", where, " (expected one of ",
                   absl::StrJoin(known, ", "), ")."));
}

absl::StatusOr<int32_t> Int32(const Json& v, absl::string_view member) {
  if (!v.is_number_integer()) return TypeError(member, "an integer");
  int64_t n = v.get<int64_t>();
  if (n < INT32_MIN || n > INT32_MAX) return TypeError(member, "an int32");
  return static_cast<int32_t>(n);
}

absl::StatusOr<std::string> String(const Json& v, absl::string_view member) {
  if (!v.is_string()) return TypeError(member, "a string");
  return v.get<std::string>();
}

}  // namespace

Json TimeValue(int64_t ms, TimeStyle style) {
  if (style == TimeStyle::kEpochSeconds) {
    return Json(static_cast<double>(ms) / 1000.0);
  }
  return Json(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                               absl::UTCTimeZone()));
}

absl::StatusOr<int64_t> ParseTimeValue(const Json& v,
                                       absl::string_view member) {
  if (v.is_number()) {
    double s = v.get<double>();
    if (!std::isfinite(s)) return TypeError(member, "a timestamp");
    return static_cast<int64_t>(std::llround(s * 1000));
  }
  if (v.is_string()) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, v.get<std::string>(), &t, &err)) {
      return absl::ToUnixMillis(t);
    }
  }
  return TypeError(member, "a timestamp (epoch seconds or RFC 3339)");
}

absl::StatusOr<evbus::v1::ScheduleTarget> ScheduleTargetFromJson(
    const Json& j) {
  static const std::vector<std::string> kMembers = {
      "Arn",         "RoleArn",          "Input",
      "RetryPolicy", "DeadLetterConfig", "EventBridgeParameters"};
  if (!j.is_object()) return TypeError("Target", "an object");
  evbus::v1::ScheduleTarget t;
  for (const auto& [k, v] : j.items()) {
    if (k == "Arn" || k == "RoleArn" || k == "Input") {
      absl::StatusOr<std::string> s = String(v, "Target." + k);
      if (!s.ok()) return s.status();
      if (k == "Arn") t.set_arn(*s);
      if (k == "RoleArn") t.set_role_arn(*s);
      if (k == "Input") t.set_input(*s);
    } else if (k == "RetryPolicy") {
      if (!v.is_object()) return TypeError("Target.RetryPolicy", "an object");
      if (v.contains("MaximumRetryAttempts")) {
        absl::StatusOr<int32_t> n =
            Int32(v["MaximumRetryAttempts"],
                  "Target.RetryPolicy.MaximumRetryAttempts");
        if (!n.ok()) return n.status();
        t.mutable_retry_policy()->set_maximum_retry_attempts(*n);
      }
      if (v.contains("MaximumEventAgeInSeconds")) {
        absl::StatusOr<int32_t> n =
            Int32(v["MaximumEventAgeInSeconds"],
                  "Target.RetryPolicy.MaximumEventAgeInSeconds");
        if (!n.ok()) return n.status();
        t.mutable_retry_policy()->set_maximum_event_age_in_seconds(*n);
      }
    } else if (k == "DeadLetterConfig") {
      if (!v.is_object() || !v.contains("Arn") || !v["Arn"].is_string()) {
        return TypeError("Target.DeadLetterConfig", "{\"Arn\": ...}");
      }
      t.mutable_dead_letter_config()->set_arn(v["Arn"].get<std::string>());
    } else if (k == "EventBridgeParameters") {
      if (!v.is_object()) return TypeError("Target." + k, "an object");
      if (v.contains("DetailType")) {
        absl::StatusOr<std::string> s =
            String(v["DetailType"], "Target.EventBridgeParameters.DetailType");
        if (!s.ok()) return s.status();
        t.mutable_eventbridge_parameters()->set_detail_type(*s);
      }
      if (v.contains("Source")) {
        absl::StatusOr<std::string> s =
            String(v["Source"], "Target.EventBridgeParameters.Source");
        if (!s.ok()) return s.status();
        t.mutable_eventbridge_parameters()->set_source(*s);
      }
    } else {
      return UnknownMember("Target", k, kMembers);
    }
  }
  return t;
}

absl::StatusOr<evbus::v1::Schedule> ScheduleFromJson(const Json& j) {
  if (!j.is_object()) return TypeError("the request body", "a JSON object");
  evbus::v1::Schedule s;
  for (const auto& [k, v] : j.items()) {
    if (k == "GroupName" || k == "ScheduleExpression" ||
        k == "ScheduleExpressionTimezone" || k == "Description" ||
        k == "State" || k == "ActionAfterCompletion" || k == "ClientToken" ||
        k == "KmsKeyArn" || k == "Name") {
      absl::StatusOr<std::string> str = String(v, k);
      if (!str.ok()) return str.status();
      if (k == "GroupName") s.set_group_name(*str);
      if (k == "ScheduleExpression") s.set_schedule_expression(*str);
      if (k == "ScheduleExpressionTimezone") {
        s.set_schedule_expression_timezone(*str);
      }
      if (k == "Description") s.set_description(*str);
      if (k == "State") s.set_state(*str);
      if (k == "ActionAfterCompletion") s.set_action_after_completion(*str);
      if (k == "Name") s.set_name(*str);
    } else if (k == "StartDate" || k == "EndDate") {
      absl::StatusOr<int64_t> ms = ParseTimeValue(v, k);
      if (!ms.ok()) return ms.status();
      if (k == "StartDate") s.set_start_date_ms(*ms);
      if (k == "EndDate") s.set_end_date_ms(*ms);
    } else if (k == "FlexibleTimeWindow") {
      if (!v.is_object()) return TypeError(k, "an object");
      if (v.contains("Mode")) {
        absl::StatusOr<std::string> mode =
            String(v["Mode"], "FlexibleTimeWindow.Mode");
        if (!mode.ok()) return mode.status();
        s.mutable_flexible_time_window()->set_mode(*mode);
      }
      if (v.contains("MaximumWindowInMinutes")) {
        absl::StatusOr<int32_t> n =
            Int32(v["MaximumWindowInMinutes"],
                  "FlexibleTimeWindow.MaximumWindowInMinutes");
        if (!n.ok()) return n.status();
        s.mutable_flexible_time_window()->set_maximum_window_in_minutes(*n);
      }
    } else if (k == "Target") {
      absl::StatusOr<evbus::v1::ScheduleTarget> t = ScheduleTargetFromJson(v);
      if (!t.ok()) return t.status();
      *s.mutable_target() = *std::move(t);
    } else {
      return UnknownMember(
          "the schedule", k,
          {"GroupName", "ScheduleExpression", "ScheduleExpressionTimezone",
           "StartDate", "EndDate", "Description", "State", "FlexibleTimeWindow",
           "Target", "ActionAfterCompletion", "ClientToken", "KmsKeyArn"});
    }
  }
  return s;
}

Json ScheduleToJson(const evbus::v1::Schedule& s, TimeStyle style) {
  Json out = Json::object();
  out["Name"] = s.name();
  out["GroupName"] = s.group_name();
  out["Arn"] = s.arn();
  if (!s.description().empty()) out["Description"] = s.description();
  out["ScheduleExpression"] = s.schedule_expression();
  if (!s.schedule_expression_timezone().empty()) {
    out["ScheduleExpressionTimezone"] = s.schedule_expression_timezone();
  }
  if (s.start_date_ms() > 0) {
    out["StartDate"] = TimeValue(s.start_date_ms(), style);
  }
  if (s.end_date_ms() > 0) out["EndDate"] = TimeValue(s.end_date_ms(), style);
  Json window = Json::object();
  window["Mode"] = s.flexible_time_window().mode();
  if (s.flexible_time_window().maximum_window_in_minutes() > 0) {
    window["MaximumWindowInMinutes"] =
        s.flexible_time_window().maximum_window_in_minutes();
  }
  out["FlexibleTimeWindow"] = window;
  out["State"] = s.state();
  out["ActionAfterCompletion"] = s.action_after_completion();
  Json target = Json::object();
  target["Arn"] = s.target().arn();
  if (!s.target().role_arn().empty()) target["RoleArn"] = s.target().role_arn();
  if (!s.target().input().empty()) target["Input"] = s.target().input();
  if (s.target().has_retry_policy()) {
    Json rp = Json::object();
    if (s.target().retry_policy().has_maximum_retry_attempts()) {
      rp["MaximumRetryAttempts"] =
          s.target().retry_policy().maximum_retry_attempts();
    }
    if (s.target().retry_policy().has_maximum_event_age_in_seconds()) {
      rp["MaximumEventAgeInSeconds"] =
          s.target().retry_policy().maximum_event_age_in_seconds();
    }
    target["RetryPolicy"] = rp;
  }
  if (!s.target().dead_letter_config().arn().empty()) {
    target["DeadLetterConfig"] =
        Json{{"Arn", s.target().dead_letter_config().arn()}};
  }
  if (s.target().has_eventbridge_parameters()) {
    Json p = Json::object();
    p["DetailType"] = s.target().eventbridge_parameters().detail_type();
    p["Source"] = s.target().eventbridge_parameters().source();
    target["EventBridgeParameters"] = p;
  }
  out["Target"] = target;
  out["CreationDate"] = TimeValue(s.creation_date_ms(), style);
  out["LastModificationDate"] = TimeValue(s.last_modification_date_ms(), style);
  return out;
}

Json ScheduleSummaryToJson(const evbus::v1::Schedule& s, TimeStyle style) {
  Json out = Json::object();
  out["Name"] = s.name();
  out["GroupName"] = s.group_name();
  out["Arn"] = s.arn();
  out["State"] = s.state();
  out["CreationDate"] = TimeValue(s.creation_date_ms(), style);
  out["LastModificationDate"] = TimeValue(s.last_modification_date_ms(), style);
  out["Target"] = Json{{"Arn", s.target().arn()}};
  return out;
}

Json ScheduleGroupToJson(const evbus::v1::ScheduleGroup& g, TimeStyle style) {
  Json out = Json::object();
  out["Name"] = g.name();
  out["Arn"] = g.arn();
  out["State"] = g.state();
  out["CreationDate"] = TimeValue(g.creation_date_ms(), style);
  out["LastModificationDate"] = TimeValue(g.last_modification_date_ms(), style);
  return out;
}

}  // namespace evbus::api::shapes
