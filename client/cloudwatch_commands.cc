#include "client/cloudwatch_commands.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/command_support.h"
#include "evbus/v1/cloudwatch.grpc.pb.h"
#include "server/api/shapes/alarm_shapes.h"

namespace evbus::cli {
namespace {

using common::Json;

std::unique_ptr<evbus::v1::CloudWatchService::Stub> CloudWatch(Context& ctx) {
  return evbus::v1::CloudWatchService::NewStub(ctx.Channel());
}

// A list flag as the aws CLI takes it: `--flag a b c` (the words after the
// flag arrive as positional words) or `--flag a,b`.
std::vector<std::string> ListOf(const Args& args, const std::string& flag) {
  std::vector<std::string> out;
  std::optional<std::string> v = args.Get(flag);
  if (!v.has_value()) return out;
  for (absl::string_view w :
       absl::StrSplit(*v, absl::ByAnyChar(", "), absl::SkipEmpty())) {
    out.emplace_back(w);
  }
  for (const std::string& p : args.WordsAfter(flag)) {
    for (absl::string_view w :
         absl::StrSplit(p, absl::ByAnyChar(", "), absl::SkipEmpty())) {
      out.emplace_back(w);
    }
  }
  return out;
}

// --dimensions Name=a,Value=b [Name=c,Value=d ...] or a JSON array.
absl::Status DimensionsOf(
    const Args& args,
    google::protobuf::RepeatedPtrField<evbus::v1::Dimension>* out) {
  std::optional<std::string> raw = args.Get("dimensions");
  if (!raw.has_value()) return absl::OkStatus();
  if (!raw->empty() && (*raw)[0] == '[') {
    absl::StatusOr<Json> doc = common::ParseJson(*raw, "--dimensions");
    if (!doc.ok() || !doc->is_array()) {
      return absl::InvalidArgumentError(
          "Error parsing parameter '--dimensions': expected "
          "[{\"Name\":..,\"Value\":..}]");
    }
    MemberReader r("--dimensions");
    for (const Json& d : *doc) {
      if (!d.is_object()) {
        return absl::InvalidArgumentError(
            "Error parsing parameter '--dimensions': each dimension is an "
            "object");
      }
      evbus::v1::Dimension* dim = out->Add();
      dim->set_name(r.Str(d, "Name"));
      dim->set_value(r.Str(d, "Value"));
    }
    return r.status();
  }
  std::vector<std::string> words = {*raw};
  for (const std::string& p : args.WordsAfter("dimensions")) {
    words.push_back(p);
  }
  for (const std::string& w : words) {
    evbus::v1::Dimension* dim = out->Add();
    for (absl::string_view kv : absl::StrSplit(w, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> p =
          absl::StrSplit(kv, absl::MaxSplits('=', 1));
      if (p.first == "Name") {
        dim->set_name(p.second);
      } else if (p.first == "Value") {
        dim->set_value(p.second);
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("Error parsing parameter '--dimensions': expected "
                         "Name=N,Value=V, got ",
                         w));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TimeFlag(const Args& args, const std::string& flag) {
  absl::StatusOr<std::string> v = args.Required(flag);
  if (!v.ok()) return v.status();
  return ParseTimeArg(flag, *v);
}

absl::StatusOr<double> DoubleFlag(const Args& args, const std::string& flag) {
  absl::StatusOr<std::string> v = args.Required(flag);
  if (!v.ok()) return v.status();
  double d = 0;
  if (!absl::SimpleAtod(*v, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument --", flag, ": must be a number"));
  }
  return d;
}

absl::StatusOr<Json> PutMetricData(const Args& args, Context& ctx) {
  evbus::v1::PutMetricDataRequest request;
  absl::StatusOr<std::string> ns = args.Required("namespace");
  if (!ns.ok()) return ns.status();
  request.set_namespace_(*ns);
  if (args.Has("metric-data")) {
    absl::StatusOr<Json> doc = ParseJsonArg(args, "metric-data");
    if (!doc.ok()) return doc.status();
    if (!doc->is_array()) {
      return absl::InvalidArgumentError(
          "Error parsing parameter '--metric-data': expected a JSON array");
    }
    MemberReader r("--metric-data");
    for (const Json& m : *doc) {
      if (!m.is_object()) {
        return absl::InvalidArgumentError(
            "Error parsing parameter '--metric-data': each datum is an "
            "object");
      }
      evbus::v1::MetricDatum* d = request.add_metric_data();
      d->set_metric_name(r.Str(m, "MetricName"));
      d->set_unit(r.Str(m, "Unit"));
      if (m.contains("Value")) d->set_value(r.Num(m, "Value"));
      if (m.contains("Values") && m["Values"].is_array()) {
        for (const Json& v : m["Values"]) {
          if (v.is_number()) d->add_values(v.get<double>());
        }
      }
      if (m.contains("Counts") && m["Counts"].is_array()) {
        for (const Json& v : m["Counts"]) {
          if (v.is_number()) d->add_counts(v.get<double>());
        }
      }
      if (m.contains("StatisticValues") && m["StatisticValues"].is_object()) {
        const Json& s = m["StatisticValues"];
        evbus::v1::StatisticSet* set = d->mutable_statistic_values();
        set->set_sample_count(r.Num(s, "SampleCount"));
        set->set_sum(r.Num(s, "Sum"));
        set->set_minimum(r.Num(s, "Minimum"));
        set->set_maximum(r.Num(s, "Maximum"));
      }
      if (m.contains("Timestamp")) {
        absl::StatusOr<int64_t> t =
            ParseTimeArg("metric-data", r.Str(m, "Timestamp"));
        if (!r.status().ok()) return r.status();
        if (!t.ok()) return t.status();
        d->set_timestamp_ms(*t);
      }
      if (m.contains("Dimensions") && m["Dimensions"].is_array()) {
        for (const Json& dim : m["Dimensions"]) {
          if (!dim.is_object()) continue;
          evbus::v1::Dimension* x = d->add_dimensions();
          x->set_name(r.Str(dim, "Name"));
          x->set_value(r.Str(dim, "Value"));
        }
      }
    }
    if (!r.status().ok()) return r.status();
  } else {
    evbus::v1::MetricDatum* d = request.add_metric_data();
    absl::StatusOr<std::string> name = args.Required("metric-name");
    if (!name.ok()) return name.status();
    d->set_metric_name(*name);
    absl::StatusOr<double> value = DoubleFlag(args, "value");
    if (!value.ok()) return value.status();
    d->set_value(*value);
    d->set_unit(args.Get("unit").value_or(""));
    if (args.Has("timestamp")) {
      absl::StatusOr<int64_t> t = TimeFlag(args, "timestamp");
      if (!t.ok()) return t.status();
      d->set_timestamp_ms(*t);
    }
    absl::Status s = DimensionsOf(args, d->mutable_dimensions());
    if (!s.ok()) return s;
  }
  evbus::v1::PutMetricDataResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      CloudWatch(ctx)->PutMetricData(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "PutMetricData", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> GetMetricStatistics(const Args& args, Context& ctx) {
  evbus::v1::GetMetricStatisticsRequest request;
  absl::StatusOr<std::string> ns = args.Required("namespace");
  if (!ns.ok()) return ns.status();
  absl::StatusOr<std::string> name = args.Required("metric-name");
  if (!name.ok()) return name.status();
  request.set_namespace_(*ns);
  request.set_metric_name(*name);
  absl::Status s = DimensionsOf(args, request.mutable_dimensions());
  if (!s.ok()) return s;
  absl::StatusOr<int64_t> start = TimeFlag(args, "start-time");
  if (!start.ok()) return start.status();
  absl::StatusOr<int64_t> end = TimeFlag(args, "end-time");
  if (!end.ok()) return end.status();
  request.set_start_time_ms(*start);
  request.set_end_time_ms(*end);
  absl::StatusOr<int> period = ParseIntArg(args, "period", 0, 1, 86400 * 455);
  if (!period.ok()) return period.status();
  request.set_period(*period);
  // Each list takes the words that follow its own flag.
  for (const std::string& st : ListOf(args, "statistics")) {
    request.add_statistics(st);
  }
  for (const std::string& st : ListOf(args, "extended-statistics")) {
    request.add_extended_statistics(st);
  }
  request.set_unit(args.Get("unit").value_or(""));
  evbus::v1::GetMetricStatisticsResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      CloudWatch(ctx)->GetMetricStatistics(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "GetMetricStatistics", ctx.endpoint);
  Json points = Json::array();
  for (const auto& d : response.datapoints()) {
    Json p = Json::object();
    p["Timestamp"] = IsoMillis(d.timestamp_ms());
    if (d.has_sample_count()) p["SampleCount"] = d.sample_count();
    if (d.has_average()) p["Average"] = d.average();
    if (d.has_sum()) p["Sum"] = d.sum();
    if (d.has_minimum()) p["Minimum"] = d.minimum();
    if (d.has_maximum()) p["Maximum"] = d.maximum();
    if (d.extended_statistics_size() > 0) {
      Json e = Json::object();
      for (const auto& [k, v] : d.extended_statistics()) e[k] = v;
      p["ExtendedStatistics"] = e;
    }
    p["Unit"] = d.unit();
    points.push_back(std::move(p));
  }
  return Json{{"Label", response.label()}, {"Datapoints", points}};
}

// Reads a JSON array of MetricDataQuery objects (AWS member names) from
// the flag `flag` (--metric-data-queries, --metrics) into `out`.
absl::Status ReadMetricDataQueries(
    const Args& args, const std::string& flag,
    google::protobuf::RepeatedPtrField<evbus::v1::MetricDataQuery>* out) {
  absl::StatusOr<Json> doc = ParseJsonArg(args, flag);
  if (!doc.ok()) return doc.status();
  if (!doc->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Error parsing parameter '--", flag, "': expected a JSON array"));
  }
  MemberReader r("--" + flag);
  for (const Json& q : *doc) {
    if (!q.is_object()) continue;
    evbus::v1::MetricDataQuery* query = out->Add();
    query->set_id(r.Str(q, "Id"));
    query->set_label(r.Str(q, "Label"));
    query->set_expression(r.Str(q, "Expression"));
    if (q.contains("Period")) query->set_period(r.Int(q, "Period"));
    if (q.contains("ReturnData")) {
      query->set_return_data(r.Bool(q, "ReturnData"));
    }
    if (q.contains("MetricStat") && q["MetricStat"].is_object()) {
      const Json& ms = q["MetricStat"];
      evbus::v1::MetricStat* stat = query->mutable_metric_stat();
      stat->set_period(r.Int(ms, "Period"));
      stat->set_stat(r.Str(ms, "Stat"));
      stat->set_unit(r.Str(ms, "Unit"));
      if (ms.contains("Metric") && ms["Metric"].is_object()) {
        const Json& m = ms["Metric"];
        stat->mutable_metric()->set_namespace_(r.Str(m, "Namespace"));
        stat->mutable_metric()->set_metric_name(r.Str(m, "MetricName"));
        if (m.contains("Dimensions") && m["Dimensions"].is_array()) {
          for (const Json& d : m["Dimensions"]) {
            if (!d.is_object()) continue;
            evbus::v1::Dimension* x = stat->mutable_metric()->add_dimensions();
            x->set_name(r.Str(d, "Name"));
            x->set_value(r.Str(d, "Value"));
          }
        }
      }
    }
  }
  return r.status();
}

absl::StatusOr<Json> GetMetricData(const Args& args, Context& ctx) {
  evbus::v1::GetMetricDataRequest request;
  absl::Status queries = ReadMetricDataQueries(
      args, "metric-data-queries", request.mutable_metric_data_queries());
  if (!queries.ok()) return queries;
  absl::StatusOr<int64_t> start = TimeFlag(args, "start-time");
  if (!start.ok()) return start.status();
  absl::StatusOr<int64_t> end = TimeFlag(args, "end-time");
  if (!end.ok()) return end.status();
  request.set_start_time_ms(*start);
  request.set_end_time_ms(*end);
  request.set_scan_by(args.Get("scan-by").value_or(""));
  evbus::v1::GetMetricDataResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      CloudWatch(ctx)->GetMetricData(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "GetMetricData", ctx.endpoint);
  Json results = Json::array();
  for (const auto& result : response.metric_data_results()) {
    Json j = Json::object();
    j["Id"] = result.id();
    j["Label"] = result.label();
    Json ts = Json::array();
    for (int64_t t : result.timestamps_ms()) ts.push_back(IsoMillis(t));
    j["Timestamps"] = ts;
    j["Values"] = Json(
        std::vector<double>(result.values().begin(), result.values().end()));
    j["StatusCode"] = result.status_code();
    results.push_back(std::move(j));
  }
  return Json{{"MetricDataResults", results}, {"Messages", Json::array()}};
}

absl::StatusOr<Json> ListMetrics(const Args& args, Context& ctx) {
  evbus::v1::ListMetricsRequest request;
  request.set_namespace_(args.Get("namespace").value_or(""));
  request.set_metric_name(args.Get("metric-name").value_or(""));
  absl::Status s = DimensionsOf(args, request.mutable_dimensions());
  if (!s.ok()) return s;
  Json metrics = Json::array();
  for (int page = 0; page < 10000; ++page) {
    evbus::v1::ListMetricsResponse response;
    auto c = NewContext(ctx);
    grpc::Status rpc =
        CloudWatch(ctx)->ListMetrics(c.get(), request, &response);
    if (!rpc.ok()) return RpcError(rpc, "ListMetrics", ctx.endpoint);
    for (const auto& m : response.metrics()) {
      Json dims = Json::array();
      for (const auto& d : m.dimensions()) {
        dims.push_back(Json{{"Name", d.name()}, {"Value", d.value()}});
      }
      metrics.push_back(Json{{"Namespace", m.namespace_()},
                             {"MetricName", m.metric_name()},
                             {"Dimensions", dims}});
    }
    if (response.next_token().empty()) break;
    request.set_next_token(response.next_token());
  }
  return Json{{"Metrics", metrics}};
}

// --actions-enabled / --no-actions-enabled and the three action lists, of
// either kind of alarm.
void ActionsOf(const Args& args, evbus::v1::MetricAlarm* a,
               google::protobuf::RepeatedPtrField<std::string>* present) {
  if (args.Has("actions-enabled") || args.Has("no-actions-enabled")) {
    a->set_actions_enabled(args.Has("actions-enabled"));
    present->Add("actions_enabled");
  }
  for (const std::string& x : ListOf(args, "alarm-actions")) {
    a->add_alarm_actions(x);
  }
  for (const std::string& x : ListOf(args, "ok-actions")) a->add_ok_actions(x);
  for (const std::string& x : ListOf(args, "insufficient-data-actions")) {
    a->add_insufficient_data_actions(x);
  }
}

absl::StatusOr<Json> PutMetricAlarm(const Args& args, Context& ctx) {
  evbus::v1::PutMetricAlarmRequest request;
  evbus::v1::MetricAlarm* a = request.mutable_alarm();
  a->set_alarm_name(args.Get("alarm-name").value_or(""));
  a->set_alarm_description(args.Get("alarm-description").value_or(""));
  a->set_namespace_(args.Get("namespace").value_or(""));
  a->set_metric_name(args.Get("metric-name").value_or(""));
  a->set_statistic(args.Get("statistic").value_or(""));
  a->set_extended_statistic(args.Get("extended-statistic").value_or(""));
  a->set_unit(args.Get("unit").value_or(""));
  a->set_comparison_operator(args.Get("comparison-operator").value_or(""));
  if (args.Has("treat-missing-data")) {
    a->set_treat_missing_data(*args.Get("treat-missing-data"));
    request.add_present("treat_missing_data");
  }
  if (args.Has("evaluate-low-sample-count-percentile")) {
    a->set_evaluate_low_sample_count_percentile(
        *args.Get("evaluate-low-sample-count-percentile"));
  }
  absl::Status s = DimensionsOf(args, a->mutable_dimensions());
  if (!s.ok()) return s;
  absl::StatusOr<int> period = ParseIntArg(args, "period", 0, 0, 86400 * 7);
  if (!period.ok()) return period.status();
  a->set_period(*period);
  absl::StatusOr<int> n = ParseIntArg(args, "evaluation-periods", 0, 0, 100000);
  if (!n.ok()) return n.status();
  a->set_evaluation_periods(*n);
  // Given as "" or 0: present, and refused for its value.
  if (args.Has("alarm-name")) request.add_present("alarm_name");
  if (args.Has("period")) request.add_present("period");
  if (args.Has("evaluation-periods")) request.add_present("evaluation_periods");
  if (args.Has("datapoints-to-alarm")) {
    absl::StatusOr<int> m =
        ParseIntArg(args, "datapoints-to-alarm", 0, 0, 100000);
    if (!m.ok()) return m.status();
    a->set_datapoints_to_alarm(*m);
    request.add_present("datapoints_to_alarm");
  }
  if (args.Has("threshold")) {
    absl::StatusOr<double> t = DoubleFlag(args, "threshold");
    if (!t.ok()) return t.status();
    a->set_threshold(*t);
    request.add_present("threshold");
  }
  ActionsOf(args, a, request.mutable_present());
  if (args.Has("metrics")) {
    absl::Status m =
        ReadMetricDataQueries(args, "metrics", a->mutable_metrics());
    if (!m.ok()) return m;
  }
  evbus::v1::PutMetricAlarmResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      CloudWatch(ctx)->PutMetricAlarm(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "PutMetricAlarm", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> PutCompositeAlarm(const Args& args, Context& ctx) {
  evbus::v1::PutCompositeAlarmRequest request;
  evbus::v1::MetricAlarm* a = request.mutable_alarm();
  a->set_alarm_name(args.Get("alarm-name").value_or(""));
  a->set_alarm_description(args.Get("alarm-description").value_or(""));
  if (args.Has("alarm-rule")) {
    absl::StatusOr<std::string> rule = ReadValue(*args.Get("alarm-rule"));
    if (!rule.ok()) return rule.status();
    a->set_alarm_rule(*rule);
  }
  ActionsOf(args, a, request.mutable_present());
  a->set_actions_suppressor(args.Get("actions-suppressor").value_or(""));
  // Range checks are the server's (it names the refused value).
  if (args.Has("actions-suppressor-wait-period")) {
    absl::StatusOr<int> wait = ParseIntArg(
        args, "actions-suppressor-wait-period", 0, INT32_MIN, INT32_MAX);
    if (!wait.ok()) return wait.status();
    a->set_actions_suppressor_wait_period(*wait);
    request.add_present("actions_suppressor_wait_period");
  }
  if (args.Has("actions-suppressor-extension-period")) {
    absl::StatusOr<int> extension = ParseIntArg(
        args, "actions-suppressor-extension-period", 0, INT32_MIN, INT32_MAX);
    if (!extension.ok()) return extension.status();
    a->set_actions_suppressor_extension_period(*extension);
    request.add_present("actions_suppressor_extension_period");
  }
  evbus::v1::PutCompositeAlarmResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      CloudWatch(ctx)->PutCompositeAlarm(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "PutCompositeAlarm", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> DescribeAlarms(const Args& args, Context& ctx) {
  evbus::v1::DescribeAlarmsRequest request;
  for (const std::string& n : ListOf(args, "alarm-names")) {
    request.add_alarm_names(n);
  }
  request.set_alarm_name_prefix(args.Get("alarm-name-prefix").value_or(""));
  request.set_state_value(args.Get("state-value").value_or(""));
  request.set_action_prefix(args.Get("action-prefix").value_or(""));
  for (const std::string& t : ListOf(args, "alarm-types")) {
    request.add_alarm_types(t);
  }
  request.set_children_of_alarm_name(
      args.Get("children-of-alarm-name").value_or(""));
  request.set_parents_of_alarm_name(
      args.Get("parents-of-alarm-name").value_or(""));
  Json alarms = Json::array();
  Json composites = Json::array();
  for (int page = 0; page < 10000; ++page) {
    evbus::v1::DescribeAlarmsResponse response;
    auto c = NewContext(ctx);
    grpc::Status rpc =
        CloudWatch(ctx)->DescribeAlarms(c.get(), request, &response);
    if (!rpc.ok()) return RpcError(rpc, "DescribeAlarms", ctx.endpoint);
    constexpr api::shapes::TimeStyle kIso = api::shapes::TimeStyle::kIso;
    for (const auto& a : response.metric_alarms()) {
      alarms.push_back(response.summaries()
                           ? api::shapes::AlarmSummaryToJson(a, kIso)
                           : api::shapes::MetricAlarmToJson(a, kIso));
    }
    for (const auto& a : response.composite_alarms()) {
      composites.push_back(response.summaries()
                               ? api::shapes::AlarmSummaryToJson(a, kIso)
                               : api::shapes::CompositeAlarmToJson(a, kIso));
    }
    if (response.next_token().empty()) break;
    request.set_next_token(response.next_token());
  }
  return Json{{"MetricAlarms", alarms}, {"CompositeAlarms", composites}};
}

absl::StatusOr<Json> DescribeAlarmHistory(const Args& args, Context& ctx) {
  evbus::v1::DescribeAlarmHistoryRequest request;
  request.set_alarm_name(args.Get("alarm-name").value_or(""));
  request.set_history_item_type(args.Get("history-item-type").value_or(""));
  request.set_scan_by(args.Get("scan-by").value_or(""));
  for (const std::string& t : ListOf(args, "alarm-types")) {
    request.add_alarm_types(t);
  }
  if (args.Has("start-date")) {
    absl::StatusOr<int64_t> t = TimeFlag(args, "start-date");
    if (!t.ok()) return t.status();
    request.set_start_date_ms(*t);
  }
  if (args.Has("end-date")) {
    absl::StatusOr<int64_t> t = TimeFlag(args, "end-date");
    if (!t.ok()) return t.status();
    request.set_end_date_ms(*t);
  }
  absl::StatusOr<int> max = ParseIntArg(args, "max-records", 0, 1, 100);
  if (!max.ok()) return max.status();
  request.set_max_records(*max);
  evbus::v1::DescribeAlarmHistoryResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      CloudWatch(ctx)->DescribeAlarmHistory(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "DescribeAlarmHistory", ctx.endpoint);
  Json items = Json::array();
  for (const auto& h : response.alarm_history_items()) {
    items.push_back(Json{{"AlarmName", h.alarm_name()},
                         {"AlarmType", h.alarm_type()},
                         {"Timestamp", IsoMillis(h.timestamp_ms())},
                         {"HistoryItemType", h.history_item_type()},
                         {"HistorySummary", h.history_summary()},
                         {"HistoryData", h.history_data()}});
  }
  Json out = Json{{"AlarmHistoryItems", items}};
  if (!response.next_token().empty()) out["NextToken"] = response.next_token();
  return out;
}

absl::StatusOr<Json> SetAlarmState(const Args& args, Context& ctx) {
  evbus::v1::SetAlarmStateRequest request;
  absl::StatusOr<std::string> name = args.Required("alarm-name");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> value = args.Required("state-value");
  if (!value.ok()) return value.status();
  absl::StatusOr<std::string> reason = args.Required("state-reason");
  if (!reason.ok()) return reason.status();
  request.set_alarm_name(*name);
  request.set_state_value(*value);
  request.set_state_reason(*reason);
  request.set_state_reason_data(args.Get("state-reason-data").value_or(""));
  evbus::v1::SetAlarmStateResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      CloudWatch(ctx)->SetAlarmState(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "SetAlarmState", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> AlarmNamesCall(const Args& args, Context& ctx,
                                    const char* op) {
  evbus::v1::AlarmNamesRequest request;
  std::vector<std::string> names = ListOf(args, "alarm-names");
  if (names.empty()) {
    return absl::InvalidArgumentError(
        "the following arguments are required: --alarm-names");
  }
  for (const std::string& n : names) request.add_alarm_names(n);
  evbus::v1::AlarmNamesResponse response;
  auto c = NewContext(ctx);
  std::string which = op;
  grpc::Status rpc =
      which == "DeleteAlarms"
          ? CloudWatch(ctx)->DeleteAlarms(c.get(), request, &response)
      : which == "EnableAlarmActions"
          ? CloudWatch(ctx)->EnableAlarmActions(c.get(), request, &response)
          : CloudWatch(ctx)->DisableAlarmActions(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, op, ctx.endpoint);
  return Json();
}

}  // namespace

std::vector<Command> CloudWatchCommands() {
  return {
      {"put-metric-data",
       "--namespace NS (--metric-name M --value V [--unit U] [--dimensions "
       "Name=a,Value=b ...] [--timestamp T] | --metric-data JSON)",
       {"namespace", "metric-name", "value", "unit", "dimensions", "timestamp",
        "metric-data"},
       {},
       PutMetricData},
      {"get-metric-statistics",
       "--namespace NS --metric-name M [--dimensions ...] --start-time T "
       "--end-time T --period S --statistics Sum,Average [--extended-"
       "statistics p99]",
       {"namespace", "metric-name", "dimensions", "start-time", "end-time",
        "period", "statistics", "extended-statistics", "unit"},
       {},
       GetMetricStatistics},
      {"get-metric-data",
       "--metric-data-queries JSON --start-time T --end-time T [--scan-by "
       "TimestampAscending]",
       {"metric-data-queries", "start-time", "end-time", "scan-by"},
       {},
       GetMetricData},
      {"list-metrics",
       "[--namespace NS] [--metric-name M] [--dimensions Name=a[,Value=b]]",
       {"namespace", "metric-name", "dimensions"},
       {},
       ListMetrics},
      {"put-metric-alarm",
       "--alarm-name N (--namespace NS --metric-name M [--dimensions ...] "
       "--statistic S|--extended-statistic pNN --period S | --metrics "
       "JSON|file://F) --evaluation-periods N [--datapoints-to-alarm M] "
       "--threshold T "
       "--comparison-operator OP [--treat-missing-data T] [--alarm-actions "
       "ARN ...] [--ok-actions ARN ...] [--insufficient-data-actions ARN]",
       {"alarm-name",
        "alarm-description",
        "namespace",
        "metric-name",
        "dimensions",
        "statistic",
        "extended-statistic",
        "period",
        "unit",
        "evaluation-periods",
        "datapoints-to-alarm",
        "threshold",
        "comparison-operator",
        "treat-missing-data",
        "evaluate-low-sample-count-percentile",
        "alarm-actions",
        "ok-actions",
        "insufficient-data-actions",
        "actions-enabled",
        "no-actions-enabled",
        "metrics"},
       {"actions-enabled", "no-actions-enabled"},
       PutMetricAlarm},
      {"put-composite-alarm",
       "--alarm-name N --alarm-rule RULE|file://F [--alarm-description D] "
       "[--alarm-actions ARN ...] [--ok-actions ARN ...] "
       "[--insufficient-data-actions ARN ...] [--no-actions-enabled] "
       "[--actions-suppressor A --actions-suppressor-wait-period S "
       "--actions-suppressor-extension-period S]   "
       "ALARM while RULE holds, e.g. 'ALARM(errors) AND NOT ALARM(deploying)'; "
       "no actions while alarm A is in ALARM",
       {"alarm-name", "alarm-rule", "alarm-description", "alarm-actions",
        "ok-actions", "insufficient-data-actions", "actions-enabled",
        "no-actions-enabled", "actions-suppressor",
        "actions-suppressor-wait-period",
        "actions-suppressor-extension-period"},
       {"actions-enabled", "no-actions-enabled"},
       PutCompositeAlarm},
      {"describe-alarms",
       "[--alarm-names N ...] [--alarm-name-prefix P] [--state-value S] "
       "[--action-prefix P] [--alarm-types MetricAlarm CompositeAlarm] "
       "[--children-of-alarm-name N | --parents-of-alarm-name N]",
       {"alarm-names", "alarm-name-prefix", "state-value", "action-prefix",
        "alarm-types", "children-of-alarm-name", "parents-of-alarm-name"},
       {},
       DescribeAlarms},
      {"describe-alarm-history",
       "[--alarm-name N] [--history-item-type T] [--start-date T] "
       "[--end-date T] [--max-records N] [--alarm-types MetricAlarm "
       "CompositeAlarm]",
       {"alarm-name", "history-item-type", "start-date", "end-date",
        "max-records", "scan-by", "alarm-types"},
       {},
       DescribeAlarmHistory},
      {"set-alarm-state",
       "--alarm-name N --state-value OK|ALARM|INSUFFICIENT_DATA "
       "--state-reason R",
       {"alarm-name", "state-value", "state-reason", "state-reason-data"},
       {},
       SetAlarmState},
      {"delete-alarms",
       "--alarm-names N ...",
       {"alarm-names"},
       {},
       [](const Args& a, Context& c) {
         return AlarmNamesCall(a, c, "DeleteAlarms");
       }},
      {"enable-alarm-actions",
       "--alarm-names N ...",
       {"alarm-names"},
       {},
       [](const Args& a, Context& c) {
         return AlarmNamesCall(a, c, "EnableAlarmActions");
       }},
      {"disable-alarm-actions",
       "--alarm-names N ...",
       {"alarm-names"},
       {},
       [](const Args& a, Context& c) {
         return AlarmNamesCall(a, c, "DisableAlarmActions");
       }},
  };
}

}  // namespace evbus::cli
