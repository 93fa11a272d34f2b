#include "server/api/aws/cloudwatch_json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "evbus/v1/cloudwatch.pb.h"
#include "grpcpp/server_context.h"
#include "server/api/shapes/alarm_shapes.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/status_macros.h"

namespace evbus::api::aws {
namespace {

using common::Json;

constexpr char kContentType[] = "application/x-amz-json-1.0";

// Epoch seconds beyond this are not timestamps (year ~5138).
constexpr double kMaxEpochSeconds = 1e11;

absl::Status InvalidParameterValue(absl::string_view message) {
  return common::AwsError(absl::StatusCode::kInvalidArgument,
                          "InvalidParameterValue", message);
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// Reads the members of one JSON object, checking each member's JSON type
// before converting it. The first type error is latched in the status shared
// by the readers of the nested objects (leveldb's error-latch idea); reads
// after it return nothing. A member that is absent or null reads as absent.
// Paths in messages use the awsQuery form CloudWatch's own messages use
// ("MetricData.member.1.Dimensions.member.2.Name"). Thread-compatible; the
// object and the status must outlive the reader.
class JsonReader {
 public:
  JsonReader(const Json* object, std::string path, absl::Status* error)
      : object_(object), path_(std::move(path)), error_(error) {}

  const absl::Status& status() const { return *error_; }

  bool Has(absl::string_view key) const { return Get(key) != nullptr; }

  std::optional<std::string> String(absl::string_view key) {
    const Json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Fail(key, "a string");
      return std::nullopt;
    }
    return v->get<std::string>();
  }

  // A number, or the strings "NaN", "Infinity" and "-Infinity" (how the AWS
  // JSON protocols send non-finite doubles).
  std::optional<double> Double(absl::string_view key) {
    const Json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    std::optional<double> d = DoubleOf(*v);
    if (!d.has_value()) Fail(key, "a number");
    return d;
  }

  std::optional<int32_t> Int32(absl::string_view key) {
    const Json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) {
      Fail(key, "an integer");
      return std::nullopt;
    }
    double d = v->get<double>();
    if (std::trunc(d) != d || d < std::numeric_limits<int32_t>::min() ||
        d > std::numeric_limits<int32_t>::max()) {
      Fail(key, "a 32-bit integer");
      return std::nullopt;
    }
    return static_cast<int32_t>(d);
  }

  std::optional<bool> Bool(absl::string_view key) {
    const Json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      Fail(key, "a boolean");
      return std::nullopt;
    }
    return v->get<bool>();
  }

  // Epoch seconds (a number, possibly fractional) or an RFC 3339 string;
  // returns ms since the epoch.
  std::optional<int64_t> TimestampMs(absl::string_view key) {
    const Json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number()) {
      double s = v->get<double>();
      if (std::isfinite(s) && std::fabs(s) < kMaxEpochSeconds) {
        return static_cast<int64_t>(std::llround(s * 1000));
      }
    } else if (v->is_string()) {
      absl::Time t;
      std::string err;
      if (absl::ParseTime(absl::RFC3339_full, v->get<std::string>(), &t,
                          &err)) {
        return absl::ToUnixMillis(t);
      }
    }
    Fail(key, "a timestamp (epoch seconds)");
    return std::nullopt;
  }

  std::vector<std::string> StringList(absl::string_view key) {
    std::vector<std::string> out;
    const Json* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Fail(key, "a list of strings");
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& e = (*v)[i];
      if (!e.is_string()) {
        Fail(Member(key, i), "a string");
        return {};
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }

  std::vector<double> DoubleList(absl::string_view key) {
    std::vector<double> out;
    const Json* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Fail(key, "a list of numbers");
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      std::optional<double> d = DoubleOf((*v)[i]);
      if (!d.has_value()) {
        Fail(Member(key, i), "a number");
        return {};
      }
      out.push_back(*d);
    }
    return out;
  }

  std::optional<JsonReader> Object(absl::string_view key) {
    const Json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) {
      Fail(key, "a structure");
      return std::nullopt;
    }
    return JsonReader(v, PathOf(key), error_);
  }

  std::vector<JsonReader> ObjectList(absl::string_view key) {
    std::vector<JsonReader> out;
    const Json* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Fail(key, "a list of structures");
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& e = (*v)[i];
      std::string member = Member(key, i);
      if (!e.is_object()) {
        Fail(member, "a structure");
        return {};
      }
      out.emplace_back(&e, PathOf(member), error_);
    }
    return out;
  }

  // The member as JSON, or nullptr when absent, null, or after an error.
  const Json* Raw(absl::string_view key) const { return Get(key); }

  // Records an error about this object's member `key` (first one wins).
  void Invalid(absl::string_view key, absl::string_view message) {
    if (error_->ok()) {
      *error_ = InvalidParameterValue(
          absl::StrCat("The parameter ", PathOf(key), " ", message));
    }
  }

 private:
  // The member, or nullptr when absent, null, or after an error.
  const Json* Get(absl::string_view key) const {
    if (!error_->ok()) return nullptr;
    auto it = object_->find(std::string(key));
    if (it == object_->end() || it->is_null()) return nullptr;
    return &*it;
  }

  static std::optional<double> DoubleOf(const Json& v) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
      if (s == "Infinity") return std::numeric_limits<double>::infinity();
      if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    }
    return std::nullopt;
  }

  static std::string Member(absl::string_view key, size_t index) {
    return absl::StrCat(key, ".member.", index + 1);
  }

  std::string PathOf(absl::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  }

  void Fail(absl::string_view key, absl::string_view expected) {
    Invalid(key, absl::StrCat("must be ", expected, "."));
  }

  const Json* object_;
  std::string path_;
  absl::Status* error_;
};

// ---- Conversions -----------------------------------------------------------

Json EpochSeconds(int64_t ms) {
  if (ms % 1000 == 0) return Json(ms / 1000);
  return Json(static_cast<double>(ms) / 1000.0);
}

// Dimensions: [{Name, Value}] (ListMetrics' DimensionFilter may omit Value:
// any value).
void ReadDimensions(
    JsonReader& in, absl::string_view key,
    google::protobuf::RepeatedPtrField<evbus::v1::Dimension>* out) {
  for (JsonReader& d : in.ObjectList(key)) {
    evbus::v1::Dimension* dim = out->Add();
    dim->set_name(d.String("Name").value_or(""));
    dim->set_value(d.String("Value").value_or(""));
  }
}

// Metric: {Namespace, MetricName, Dimensions}.
void ReadMetric(JsonReader& in, evbus::v1::Metric* out) {
  out->set_namespace_(in.String("Namespace").value_or(""));
  out->set_metric_name(in.String("MetricName").value_or(""));
  ReadDimensions(in, "Dimensions", out->mutable_dimensions());
}

// MetricDataQuery: {Id, MetricStat{Metric, Period, Stat, Unit} |
// Expression, Label, ReturnData, Period}.
void ReadMetricDataQuery(JsonReader& q, evbus::v1::MetricDataQuery* out) {
  out->set_id(q.String("Id").value_or(""));
  out->set_label(q.String("Label").value_or(""));
  if (std::optional<bool> r = q.Bool("ReturnData")) out->set_return_data(*r);
  out->set_expression(q.String("Expression").value_or(""));
  out->set_period(q.Int32("Period").value_or(0));
  // Cross-account queries would read another account's metrics; evbus has
  // one account, so it refuses them rather than answer from its own.
  if (q.String("AccountId").has_value()) {
    q.Invalid("AccountId",
              "is not supported: evbus keeps one account's metrics (no "
              "cross-account metric math).");
  }
  if (std::optional<JsonReader> ms = q.Object("MetricStat")) {
    evbus::v1::MetricStat* stat = out->mutable_metric_stat();
    if (std::optional<JsonReader> m = ms->Object("Metric")) {
      ReadMetric(*m, stat->mutable_metric());
    }
    stat->set_period(ms->Int32("Period").value_or(0));
    stat->set_stat(ms->String("Stat").value_or(""));
    stat->set_unit(ms->String("Unit").value_or(""));
  }
}

Json AlarmJson(const evbus::v1::MetricAlarm& a) {
  return shapes::MetricAlarmToJson(a, shapes::TimeStyle::kEpochSeconds);
}

// ActionsEnabled and the three action lists, of either kind of alarm.
void ReadActions(JsonReader& in, evbus::v1::MetricAlarm* a,
                 google::protobuf::RepeatedPtrField<std::string>* present) {
  if (std::optional<bool> enabled = in.Bool("ActionsEnabled")) {
    a->set_actions_enabled(*enabled);
    present->Add("actions_enabled");
  }
  for (std::string& s : in.StringList("OKActions")) a->add_ok_actions(s);
  for (std::string& s : in.StringList("AlarmActions")) a->add_alarm_actions(s);
  for (std::string& s : in.StringList("InsufficientDataActions")) {
    a->add_insufficient_data_actions(s);
  }
}

// ---- Operations ------------------------------------------------------------

absl::StatusOr<Json> PutMetricAlarm(JsonReader& in,
                                    api::CloudWatchServiceImpl& cw) {
  evbus::v1::PutMetricAlarmRequest request;
  evbus::v1::MetricAlarm* a = request.mutable_alarm();
  // Members sent as "" or 0 are present (and refused with the model's
  // constraint on the value), not missing.
  if (std::optional<std::string> name = in.String("AlarmName")) {
    a->set_alarm_name(*name);
    request.add_present("alarm_name");
  }
  a->set_alarm_description(in.String("AlarmDescription").value_or(""));
  ReadActions(in, a, request.mutable_present());
  a->set_metric_name(in.String("MetricName").value_or(""));
  a->set_namespace_(in.String("Namespace").value_or(""));
  a->set_statistic(in.String("Statistic").value_or(""));
  a->set_extended_statistic(in.String("ExtendedStatistic").value_or(""));
  ReadDimensions(in, "Dimensions", a->mutable_dimensions());
  if (std::optional<int32_t> period = in.Int32("Period")) {
    a->set_period(*period);
    request.add_present("period");
  }
  a->set_unit(in.String("Unit").value_or(""));
  if (std::optional<int32_t> n = in.Int32("EvaluationPeriods")) {
    a->set_evaluation_periods(*n);
    request.add_present("evaluation_periods");
  }
  if (std::optional<int32_t> m = in.Int32("DatapointsToAlarm")) {
    a->set_datapoints_to_alarm(*m);
    request.add_present("datapoints_to_alarm");
  }
  if (std::optional<double> t = in.Double("Threshold")) {
    a->set_threshold(*t);
    request.add_present("threshold");
  }
  a->set_comparison_operator(in.String("ComparisonOperator").value_or(""));
  if (std::optional<std::string> t = in.String("TreatMissingData")) {
    a->set_treat_missing_data(*t);
    request.add_present("treat_missing_data");
  }
  a->set_evaluate_low_sample_count_percentile(
      in.String("EvaluateLowSampleCountPercentile").value_or(""));
  for (JsonReader& q : in.ObjectList("Metrics")) {
    ReadMetricDataQuery(q, a->add_metrics());
  }
  // Anomaly-detection alarms are not implemented; refuse them rather than
  // store a different alarm than asked for.
  if (in.String("ThresholdMetricId").has_value()) {
    in.Invalid("ThresholdMetricId",
               "is not supported: evbus has no anomaly detection alarms.");
  }
  EVBUS_RETURN_IF_ERROR(in.status());  // Tags: see AlarmTags.
  grpc::ServerContext ctx;
  evbus::v1::PutMetricAlarmResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(cw.PutMetricAlarm(&ctx, &request, &response)));
  return Json::object();
}

absl::StatusOr<Json> PutCompositeAlarm(JsonReader& in,
                                       api::CloudWatchServiceImpl& cw) {
  evbus::v1::PutCompositeAlarmRequest request;
  evbus::v1::MetricAlarm* a = request.mutable_alarm();
  a->set_alarm_name(in.String("AlarmName").value_or(""));
  a->set_alarm_description(in.String("AlarmDescription").value_or(""));
  a->set_alarm_rule(in.String("AlarmRule").value_or(""));
  ReadActions(in, a, request.mutable_present());
  a->set_actions_suppressor(in.String("ActionsSuppressor").value_or(""));
  if (std::optional<int32_t> wait = in.Int32("ActionsSuppressorWaitPeriod")) {
    a->set_actions_suppressor_wait_period(*wait);
    request.add_present("actions_suppressor_wait_period");
  }
  if (std::optional<int32_t> extension =
          in.Int32("ActionsSuppressorExtensionPeriod")) {
    a->set_actions_suppressor_extension_period(*extension);
    request.add_present("actions_suppressor_extension_period");
  }
  EVBUS_RETURN_IF_ERROR(in.status());  // Tags: see AlarmTags.
  grpc::ServerContext ctx;
  evbus::v1::PutCompositeAlarmResponse response;
  EVBUS_RETURN_IF_ERROR(
      FromGrpc(cw.PutCompositeAlarm(&ctx, &request, &response)));
  return Json::object();
}

absl::StatusOr<Json> DescribeAlarms(JsonReader& in,
                                    api::CloudWatchServiceImpl& cw) {
  evbus::v1::DescribeAlarmsRequest request;
  for (std::string& n : in.StringList("AlarmNames")) request.add_alarm_names(n);
  request.set_alarm_name_prefix(in.String("AlarmNamePrefix").value_or(""));
  request.set_state_value(in.String("StateValue").value_or(""));
  request.set_action_prefix(in.String("ActionPrefix").value_or(""));
  request.set_max_records(in.Int32("MaxRecords").value_or(0));
  request.set_next_token(in.String("NextToken").value_or(""));
  for (std::string& t : in.StringList("AlarmTypes")) {
    request.add_alarm_types(t);
  }
  request.set_children_of_alarm_name(
      in.String("ChildrenOfAlarmName").value_or(""));
  request.set_parents_of_alarm_name(
      in.String("ParentsOfAlarmName").value_or(""));
  EVBUS_RETURN_IF_ERROR(in.status());
  grpc::ServerContext ctx;
  evbus::v1::DescribeAlarmsResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(cw.DescribeAlarms(&ctx, &request, &response)));
  Json out = Json::object();
  Json metric = Json::array();
  constexpr shapes::TimeStyle kStyle = shapes::TimeStyle::kEpochSeconds;
  for (const evbus::v1::MetricAlarm& a : response.metric_alarms()) {
    metric.push_back(response.summaries()
                         ? shapes::AlarmSummaryToJson(a, kStyle)
                         : AlarmJson(a));
  }
  Json composite = Json::array();
  for (const evbus::v1::MetricAlarm& a : response.composite_alarms()) {
    composite.push_back(response.summaries()
                            ? shapes::AlarmSummaryToJson(a, kStyle)
                            : shapes::CompositeAlarmToJson(a, kStyle));
  }
  if (!response.next_token().empty()) {
    out["NextToken"] = response.next_token();
  }
  out["MetricAlarms"] = std::move(metric);
  out["CompositeAlarms"] = std::move(composite);
  return out;
}

// The metric alarms on one metric: MetricName and Namespace (required),
// and, when given, Statistic or ExtendedStatistic, the exact Dimensions,
// Period and Unit. Metric math alarms are not listed. Not paged, as in
// CloudWatch.
absl::StatusOr<Json> DescribeAlarmsForMetric(JsonReader& in,
                                             api::CloudWatchServiceImpl& cw) {
  std::optional<std::string> metric_name = in.String("MetricName");
  std::optional<std::string> ns = in.String("Namespace");
  std::optional<std::string> statistic = in.String("Statistic");
  std::optional<std::string> extended = in.String("ExtendedStatistic");
  std::optional<int32_t> period = in.Int32("Period");
  std::optional<std::string> unit = in.String("Unit");
  const bool filter_dimensions = in.Has("Dimensions");
  google::protobuf::RepeatedPtrField<evbus::v1::Dimension> dimensions;
  ReadDimensions(in, "Dimensions", &dimensions);
  EVBUS_RETURN_IF_ERROR(in.status());
  std::vector<std::string> missing;
  if (!metric_name.has_value()) missing.push_back("metricName");
  if (!ns.has_value()) missing.push_back("namespace");
  if (!missing.empty()) {
    std::vector<std::string> clauses;
    for (const std::string& m : missing) {
      clauses.push_back(absl::StrCat(
          "Value null at '", m,
          "' failed to satisfy constraint: Member must not be null"));
    }
    return common::AwsError(
        absl::StatusCode::kInvalidArgument, "ValidationError",
        absl::StrCat(clauses.size(), " validation error",
                     clauses.size() == 1 ? "" : "s",
                     " detected: ", absl::StrJoin(clauses, "; ")));
  }
  using DimensionSet = std::set<std::pair<std::string, std::string>>;
  auto set_of = [](const auto& dims) {
    DimensionSet out;
    for (const evbus::v1::Dimension& d : dims) {
      out.emplace(d.name(), d.value());
    }
    return out;
  };
  const DimensionSet wanted = set_of(dimensions);
  Json alarms = Json::array();
  std::string token;
  // Every page of DescribeAlarms (each at most 100 alarms).
  for (int page = 0; page < 1000000; ++page) {
    evbus::v1::DescribeAlarmsRequest request;
    request.set_max_records(100);
    request.set_next_token(token);
    grpc::ServerContext ctx;
    evbus::v1::DescribeAlarmsResponse response;
    EVBUS_RETURN_IF_ERROR(
        FromGrpc(cw.DescribeAlarms(&ctx, &request, &response)));
    for (const evbus::v1::MetricAlarm& a : response.metric_alarms()) {
      if (a.metric_name() != *metric_name || a.namespace_() != *ns) continue;
      if (statistic.has_value() && a.statistic() != *statistic) continue;
      if (extended.has_value() && a.extended_statistic() != *extended) {
        continue;
      }
      if (period.has_value() && a.period() != *period) continue;
      if (unit.has_value() && a.unit() != *unit) continue;
      if (filter_dimensions && set_of(a.dimensions()) != wanted) continue;
      alarms.push_back(AlarmJson(a));
    }
    token = response.next_token();
    if (token.empty()) break;
  }
  Json out = Json::object();
  out["MetricAlarms"] = std::move(alarms);
  return out;
}

absl::StatusOr<Json> DescribeAlarmHistory(JsonReader& in,
                                          api::CloudWatchServiceImpl& cw) {
  evbus::v1::DescribeAlarmHistoryRequest request;
  request.set_alarm_name(in.String("AlarmName").value_or(""));
  request.set_history_item_type(in.String("HistoryItemType").value_or(""));
  request.set_start_date_ms(in.TimestampMs("StartDate").value_or(0));
  request.set_end_date_ms(in.TimestampMs("EndDate").value_or(0));
  request.set_max_records(in.Int32("MaxRecords").value_or(0));
  request.set_next_token(in.String("NextToken").value_or(""));
  request.set_scan_by(in.String("ScanBy").value_or(""));
  for (std::string& t : in.StringList("AlarmTypes")) {
    request.add_alarm_types(t);
  }
  EVBUS_RETURN_IF_ERROR(in.status());
  Json out = Json::object();
  Json items = Json::array();
  {
    grpc::ServerContext ctx;
    evbus::v1::DescribeAlarmHistoryResponse response;
    EVBUS_RETURN_IF_ERROR(
        FromGrpc(cw.DescribeAlarmHistory(&ctx, &request, &response)));
    for (const evbus::v1::AlarmHistoryItem& h :
         response.alarm_history_items()) {
      items.push_back(Json{{"AlarmName", h.alarm_name()},
                           {"AlarmType", h.alarm_type()},
                           {"Timestamp", EpochSeconds(h.timestamp_ms())},
                           {"HistoryItemType", h.history_item_type()},
                           {"HistorySummary", h.history_summary()},
                           {"HistoryData", h.history_data()}});
    }
    if (!response.next_token().empty()) {
      out["NextToken"] = response.next_token();
    }
  }
  out["AlarmHistoryItems"] = std::move(items);
  return out;
}

absl::StatusOr<Json> SetAlarmState(JsonReader& in,
                                   api::CloudWatchServiceImpl& cw) {
  evbus::v1::SetAlarmStateRequest request;
  request.set_alarm_name(in.String("AlarmName").value_or(""));
  request.set_state_value(in.String("StateValue").value_or(""));
  request.set_state_reason(in.String("StateReason").value_or(""));
  request.set_state_reason_data(in.String("StateReasonData").value_or(""));
  EVBUS_RETURN_IF_ERROR(in.status());
  grpc::ServerContext ctx;
  evbus::v1::SetAlarmStateResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(cw.SetAlarmState(&ctx, &request, &response)));
  return Json::object();
}

enum class AlarmNamesOp { kDelete, kEnable, kDisable };

absl::StatusOr<Json> AlarmNamesCall(JsonReader& in,
                                    api::CloudWatchServiceImpl& cw,
                                    AlarmNamesOp op) {
  evbus::v1::AlarmNamesRequest request;
  for (std::string& n : in.StringList("AlarmNames")) request.add_alarm_names(n);
  EVBUS_RETURN_IF_ERROR(in.status());
  grpc::ServerContext ctx;
  evbus::v1::AlarmNamesResponse response;
  grpc::Status s;
  switch (op) {
    case AlarmNamesOp::kDelete:
      s = cw.DeleteAlarms(&ctx, &request, &response);
      break;
    case AlarmNamesOp::kEnable:
      s = cw.EnableAlarmActions(&ctx, &request, &response);
      break;
    case AlarmNamesOp::kDisable:
      s = cw.DisableAlarmActions(&ctx, &request, &response);
      break;
  }
  EVBUS_RETURN_IF_ERROR(FromGrpc(s));
  return Json::object();
}

absl::StatusOr<Json> PutMetricData(JsonReader& in,
                                   api::CloudWatchServiceImpl& cw) {
  evbus::v1::PutMetricDataRequest request;
  request.set_namespace_(in.String("Namespace").value_or(""));
  for (JsonReader& m : in.ObjectList("MetricData")) {
    evbus::v1::MetricDatum* d = request.add_metric_data();
    d->set_metric_name(m.String("MetricName").value_or(""));
    ReadDimensions(m, "Dimensions", d->mutable_dimensions());
    d->set_timestamp_ms(m.TimestampMs("Timestamp").value_or(0));
    if (std::optional<double> v = m.Double("Value")) d->set_value(*v);
    for (double v : m.DoubleList("Values")) d->add_values(v);
    for (double c : m.DoubleList("Counts")) d->add_counts(c);
    if (std::optional<JsonReader> s = m.Object("StatisticValues")) {
      evbus::v1::StatisticSet* set = d->mutable_statistic_values();
      set->set_sample_count(s->Double("SampleCount").value_or(0));
      set->set_sum(s->Double("Sum").value_or(0));
      set->set_minimum(s->Double("Minimum").value_or(0));
      set->set_maximum(s->Double("Maximum").value_or(0));
    }
    d->set_unit(m.String("Unit").value_or(""));
    // Stored at one-minute resolution whatever StorageResolution says, but
    // only 1 and 60 are StorageResolutions.
    std::optional<int32_t> resolution = m.Int32("StorageResolution");
    if (resolution.has_value() && *resolution != 1 && *resolution != 60) {
      return common::AwsError(
          absl::StatusCode::kInvalidArgument, "InvalidParameterValue",
          absl::StrCat("The value ", *resolution, " for parameter MetricData.",
                       "member.", request.metric_data_size(),
                       ".StorageResolution is invalid. Valid values are 1 "
                       "and 60."));
    }
  }
  EVBUS_RETURN_IF_ERROR(in.status());
  grpc::ServerContext ctx;
  evbus::v1::PutMetricDataResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(cw.PutMetricData(&ctx, &request, &response)));
  return Json::object();
}

absl::StatusOr<Json> GetMetricData(JsonReader& in,
                                   api::CloudWatchServiceImpl& cw) {
  evbus::v1::GetMetricDataRequest request;
  for (JsonReader& q : in.ObjectList("MetricDataQueries")) {
    ReadMetricDataQuery(q, request.add_metric_data_queries());
  }
  request.set_start_time_ms(in.TimestampMs("StartTime").value_or(0));
  request.set_end_time_ms(in.TimestampMs("EndTime").value_or(0));
  request.set_next_token(in.String("NextToken").value_or(""));
  request.set_scan_by(in.String("ScanBy").value_or(""));
  request.set_max_datapoints(in.Int32("MaxDatapoints").value_or(0));
  EVBUS_RETURN_IF_ERROR(in.status());
  grpc::ServerContext ctx;
  evbus::v1::GetMetricDataResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(cw.GetMetricData(&ctx, &request, &response)));
  Json results = Json::array();
  for (const evbus::v1::MetricDataResult& r : response.metric_data_results()) {
    Json timestamps = Json::array();
    for (int64_t t : r.timestamps_ms()) timestamps.push_back(EpochSeconds(t));
    Json values = Json::array();
    for (double v : r.values()) values.push_back(v);
    results.push_back(Json{{"Id", r.id()},
                           {"Label", r.label()},
                           {"Timestamps", std::move(timestamps)},
                           {"Values", std::move(values)},
                           {"StatusCode", r.status_code()}});
  }
  Json out = Json::object();
  out["MetricDataResults"] = std::move(results);
  out["Messages"] = Json::array();
  if (!response.next_token().empty()) out["NextToken"] = response.next_token();
  return out;
}

absl::StatusOr<Json> GetMetricStatistics(JsonReader& in,
                                         api::CloudWatchServiceImpl& cw) {
  evbus::v1::GetMetricStatisticsRequest request;
  request.set_namespace_(in.String("Namespace").value_or(""));
  request.set_metric_name(in.String("MetricName").value_or(""));
  ReadDimensions(in, "Dimensions", request.mutable_dimensions());
  request.set_start_time_ms(in.TimestampMs("StartTime").value_or(0));
  request.set_end_time_ms(in.TimestampMs("EndTime").value_or(0));
  request.set_period(in.Int32("Period").value_or(0));
  for (std::string& s : in.StringList("Statistics")) request.add_statistics(s);
  for (std::string& s : in.StringList("ExtendedStatistics")) {
    request.add_extended_statistics(s);
  }
  request.set_unit(in.String("Unit").value_or(""));
  EVBUS_RETURN_IF_ERROR(in.status());
  grpc::ServerContext ctx;
  evbus::v1::GetMetricStatisticsResponse response;
  EVBUS_RETURN_IF_ERROR(
      FromGrpc(cw.GetMetricStatistics(&ctx, &request, &response)));
  Json points = Json::array();
  for (const evbus::v1::Datapoint& d : response.datapoints()) {
    Json p = Json::object();
    p["Timestamp"] = EpochSeconds(d.timestamp_ms());
    if (d.has_sample_count()) p["SampleCount"] = d.sample_count();
    if (d.has_average()) p["Average"] = d.average();
    if (d.has_sum()) p["Sum"] = d.sum();
    if (d.has_minimum()) p["Minimum"] = d.minimum();
    if (d.has_maximum()) p["Maximum"] = d.maximum();
    if (!d.unit().empty()) p["Unit"] = d.unit();
    if (d.extended_statistics_size() > 0) {
      // protobuf maps are unordered; sort for a stable body.
      std::map<std::string, double> sorted(d.extended_statistics().begin(),
                                           d.extended_statistics().end());
      Json e = Json::object();
      for (const auto& [k, v] : sorted) e[k] = v;
      p["ExtendedStatistics"] = std::move(e);
    }
    points.push_back(std::move(p));
  }
  Json out = Json::object();
  out["Label"] = response.label();
  out["Datapoints"] = std::move(points);
  return out;
}

absl::StatusOr<Json> ListMetrics(JsonReader& in,
                                 api::CloudWatchServiceImpl& cw) {
  evbus::v1::ListMetricsRequest request;
  request.set_namespace_(in.String("Namespace").value_or(""));
  request.set_metric_name(in.String("MetricName").value_or(""));
  ReadDimensions(in, "Dimensions", request.mutable_dimensions());
  request.set_next_token(in.String("NextToken").value_or(""));
  // RecentlyActive (PT3H) is not applied: every stored series is listed.
  (void)in.String("RecentlyActive");
  EVBUS_RETURN_IF_ERROR(in.status());
  grpc::ServerContext ctx;
  evbus::v1::ListMetricsResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(cw.ListMetrics(&ctx, &request, &response)));
  Json metrics = Json::array();
  for (const evbus::v1::Metric& m : response.metrics()) {
    metrics.push_back(
        Json{{"Namespace", m.namespace_()},
             {"MetricName", m.metric_name()},
             {"Dimensions", shapes::DimensionsToJson(m.dimensions())}});
  }
  Json out = Json::object();
  out["Metrics"] = std::move(metrics);
  if (!response.next_token().empty()) out["NextToken"] = response.next_token();
  return out;
}

absl::StatusOr<Json> DeleteAlarms(JsonReader& in,
                                  api::CloudWatchServiceImpl& cw) {
  return AlarmNamesCall(in, cw, AlarmNamesOp::kDelete);
}

absl::StatusOr<Json> EnableAlarmActions(JsonReader& in,
                                        api::CloudWatchServiceImpl& cw) {
  return AlarmNamesCall(in, cw, AlarmNamesOp::kEnable);
}

absl::StatusOr<Json> DisableAlarmActions(JsonReader& in,
                                         api::CloudWatchServiceImpl& cw) {
  return AlarmNamesCall(in, cw, AlarmNamesOp::kDisable);
}

using Operation = absl::StatusOr<Json> (*)(JsonReader&,
                                           api::CloudWatchServiceImpl&);

// The operation named `op`, or nullptr.
Operation FindOperation(absl::string_view op) {
  if (op == "PutMetricAlarm") return PutMetricAlarm;
  if (op == "PutCompositeAlarm") return PutCompositeAlarm;
  if (op == "DescribeAlarms") return DescribeAlarms;
  if (op == "DescribeAlarmsForMetric") return DescribeAlarmsForMetric;
  if (op == "DescribeAlarmHistory") return DescribeAlarmHistory;
  if (op == "SetAlarmState") return SetAlarmState;
  if (op == "DeleteAlarms") return DeleteAlarms;
  if (op == "EnableAlarmActions") return EnableAlarmActions;
  if (op == "DisableAlarmActions") return DisableAlarmActions;
  if (op == "PutMetricData") return PutMetricData;
  if (op == "GetMetricData") return GetMetricData;
  if (op == "GetMetricStatistics") return GetMetricStatistics;
  if (op == "ListMetrics") return ListMetrics;
  return nullptr;
}

// The metric or composite alarm named `name`, if there is one.
absl::StatusOr<std::optional<evbus::v1::MetricAlarm>> AlarmNamed(
    api::CloudWatchServiceImpl& cw, const std::string& name) {
  evbus::v1::DescribeAlarmsRequest request;
  request.add_alarm_names(name);
  request.add_alarm_types("MetricAlarm");
  request.add_alarm_types("CompositeAlarm");
  grpc::ServerContext ctx;
  evbus::v1::DescribeAlarmsResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(cw.DescribeAlarms(&ctx, &request, &response)));
  for (const auto* list :
       {&response.metric_alarms(), &response.composite_alarms()}) {
    for (const evbus::v1::MetricAlarm& a : *list) return a;
  }
  return std::nullopt;
}

// The alarm an ARN names (arn:aws:cloudwatch:<region>:<account>:alarm:<name>),
// if it exists: its ARN as evbus writes it. ResourceNotFoundException
// otherwise (Contributor Insights rules, the other taggable CloudWatch
// resource, do not exist in evbus).
absl::StatusOr<std::string> TaggableAlarm(api::CloudWatchServiceImpl& cw,
                                          const std::string& arn) {
  std::vector<std::string> parts = absl::StrSplit(arn, absl::MaxSplits(':', 6));
  if (parts.size() != 7 || parts[0] != "arn" || parts[2] != "cloudwatch" ||
      parts[5] != "alarm" || parts[6].empty()) {
    return common::AwsError(
        absl::StatusCode::kInvalidArgument, "InvalidParameterValue",
        absl::StrCat("The value ", arn,
                     " for parameter ResourceARN is not an alarm ARN."));
  }
  EVBUS_ASSIGN_OR_RETURN(std::optional<evbus::v1::MetricAlarm> alarm,
                         AlarmNamed(cw, parts[6]));
  // Another account, region or partition names another alarm.
  if (alarm.has_value() && alarm->alarm_arn() == arn) return alarm->alarm_arn();
  return common::AwsError(absl::StatusCode::kNotFound,
                          "ResourceNotFoundException",
                          absl::StrCat("Alarm ", parts[6], " does not exist."));
}

// A TagStore error as CloudWatch names it: its awsQuery code for a
// constraint is ValidationError, not the JSON services' ValidationException.
absl::Status CloudWatchTagError(const absl::Status& status) {
  if (status.ok()) return status;
  AwsErrorInfo info = ErrorInfoOf(status);
  if (info.code != "ValidationException") return status;
  return common::AwsError(status.code(), "ValidationError", info.message);
}

// TagResource, UntagResource and ListTagsForResource (alarms only).
absl::StatusOr<Json> TagsCall(absl::string_view op, JsonReader& in,
                              api::CloudWatchServiceImpl& cw, TagStore& tags) {
  const std::optional<std::string> arn = in.String("ResourceARN");
  if (!arn.has_value()) in.Invalid("ResourceARN", "is required.");
  EVBUS_RETURN_IF_ERROR(in.status());
  EVBUS_ASSIGN_OR_RETURN(std::string resource, TaggableAlarm(cw, *arn));
  if (op == "ListTagsForResource") {
    EVBUS_ASSIGN_OR_RETURN(auto current, tags.List(resource));
    return Json{{"Tags", TagStore::ToJsonList(current)}};
  }
  if (op == "TagResource") {
    if (!in.Has("Tags")) in.Invalid("Tags", "is required.");
    EVBUS_RETURN_IF_ERROR(in.status());
    absl::StatusOr<std::map<std::string, std::string>> added =
        TagStore::FromJsonList(*in.Raw("Tags"), "Tags");
    if (!added.ok()) return CloudWatchTagError(added.status());
    EVBUS_RETURN_IF_ERROR(CloudWatchTagError(tags.Tag(resource, *added)));
    return Json::object();
  }
  std::vector<std::string> keys = in.StringList("TagKeys");
  if (!in.Has("TagKeys")) in.Invalid("TagKeys", "is required.");
  EVBUS_RETURN_IF_ERROR(in.status());
  EVBUS_RETURN_IF_ERROR(CloudWatchTagError(tags.Untag(resource, keys)));
  return Json::object();
}

// PutMetricAlarm and PutCompositeAlarm with Tags: the tags of an alarm the
// call creates. As CloudWatch, Tags given when the call updates an existing
// alarm are ignored (TagResource changes those).
class AlarmTags {
 public:
  // Reads and checks Tags, and whether the alarm exists, before the call.
  static absl::StatusOr<AlarmTags> Before(JsonReader& in,
                                          api::CloudWatchServiceImpl& cw) {
    AlarmTags t;
    if (in.Has("Tags")) {
      absl::StatusOr<std::map<std::string, std::string>> given =
          TagStore::FromJsonList(*in.Raw("Tags"), "Tags");
      if (!given.ok()) return CloudWatchTagError(given.status());
      EVBUS_RETURN_IF_ERROR(CloudWatchTagError(TagStore::Validate(*given)));
      t.tags_ = *std::move(given);
    }
    const std::optional<std::string> name = in.String("AlarmName");
    if (!name.has_value() || name->empty()) return t;  // the call refuses it
    EVBUS_ASSIGN_OR_RETURN(std::optional<evbus::v1::MetricAlarm> alarm,
                           AlarmNamed(cw, *name));
    t.existed_ = alarm.has_value();
    t.name_ = *name;
    return t;
  }
  // After a successful call: a new alarm gets exactly the tags given.
  absl::Status After(api::CloudWatchServiceImpl& cw, TagStore& tags) const {
    if (existed_ || name_.empty()) return absl::OkStatus();
    EVBUS_ASSIGN_OR_RETURN(std::optional<evbus::v1::MetricAlarm> alarm,
                           AlarmNamed(cw, name_));
    if (alarm.has_value()) return tags.Reset(alarm->alarm_arn(), tags_);
    return absl::OkStatus();
  }

 private:
  std::map<std::string, std::string> tags_;
  std::string name_;
  bool existed_ = false;
};

// A service error as CloudWatch's JSON error. Errors that carry an exception
// name keep it; others get CloudWatch's code for their kind.
AwsHttpResponse CloudWatchError(const absl::Status& status) {
  AwsErrorInfo info = ErrorInfoOf(status);
  bool named = absl::StartsWith(status.message(), info.code + ": ");
  if (!named) {
    switch (status.code()) {
      case absl::StatusCode::kNotFound:
        info.code = "ResourceNotFound";
        break;
      case absl::StatusCode::kResourceExhausted:
        info.code = "LimitExceeded";
        break;
      default:
        info.code = info.status >= 500 ? "InternalServiceError"
                                       : "InvalidParameterValue";
    }
  }
  if (status.code() == absl::StatusCode::kNotFound) info.status = 404;
  return JsonError(info.status, info.code, info.message, kContentType,
                   /*query_compatible=*/true);
}

}  // namespace

AwsHttpResponse HandleCloudWatchJson(absl::string_view op,
                                     const AwsHttpRequest& request,
                                     const AwsCaller& /*caller*/,
                                     api::CloudWatchServiceImpl& cw,
                                     TagStore& tags) {
  const bool tags_op = op == "TagResource" || op == "UntagResource" ||
                       op == "ListTagsForResource";
  Operation operation = FindOperation(op);
  if (operation == nullptr && !tags_op) {
    return JsonError(400, "UnknownOperationException",
                     absl::StrCat("The operation ", op,
                                  " is not supported by evbus's CloudWatch "
                                  "endpoint."),
                     kContentType, /*query_compatible=*/true);
  }
  if (absl::StartsWith(request.body, "\x1f\x8b")) {
    return JsonError(400, "SerializationException",
                     "The request body is gzip-compressed but was not decoded.",
                     kContentType, /*query_compatible=*/true);
  }
  Json body = Json::object();
  if (!request.body.empty()) {
    absl::StatusOr<Json> parsed = common::ParseJson(request.body, "body");
    if (!parsed.ok() || !parsed->is_object()) {
      return JsonError(400, "SerializationException",
                       parsed.ok() ? "The request body must be a JSON object."
                                   : std::string(parsed.status().message()),
                       kContentType, /*query_compatible=*/true);
    }
    body = *std::move(parsed);
  }
  absl::Status error;
  JsonReader in(&body, "", &error);
  absl::StatusOr<Json> out;
  if (tags_op) {
    out = TagsCall(op, in, cw, tags);
  } else if (op == "PutMetricAlarm" || op == "PutCompositeAlarm") {
    absl::StatusOr<AlarmTags> alarm_tags = AlarmTags::Before(in, cw);
    if (!alarm_tags.ok()) return CloudWatchError(alarm_tags.status());
    out = operation(in, cw);
    if (out.ok()) {
      absl::Status tagged = alarm_tags->After(cw, tags);
      if (!tagged.ok()) out = tagged;
    }
  } else {
    out = operation(in, cw);
  }
  if (!out.ok()) return CloudWatchError(out.status());
  AwsHttpResponse r;
  r.status = 200;
  r.content_type = kContentType;
  r.headers.emplace_back("x-amzn-RequestId", common::NewUuidV4());
  r.body = common::DumpJson(*out);
  return r;
}

}  // namespace evbus::api::aws
