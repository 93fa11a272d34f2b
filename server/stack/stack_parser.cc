#include "server/stack/stack_parser.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/alarms/alarm_rule.h"
#include "server/alarms/alarm_service.h"
#include "server/api/shapes/eventbridge_shapes.h"
#include "server/bus/rule_validation.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/functions/code_package.h"
#include "server/functions/function_config.h"
#include "server/scheduler/scheduler.h"
#include "server/stack/sam_template.h"
#include "yaml-cpp/yaml.h"

namespace evbus::stack {
namespace {

namespace fs = std::filesystem;
using common::Json;

// Where we are in the file, for messages.
class Walker {
 public:
  Walker(std::string file, std::string dir)
      : file_(std::move(file)), dir_(std::move(dir)) {}

  // "<file>:<line>: <path>" (without the line when `n` has none).
  std::string Where(const YAML::Node& n, const std::string& path) const {
    int line = n.IsDefined() ? n.Mark().line + 1 : 0;
    return line > 0 ? absl::StrCat(file_, ":", line, ": ", path)
                    : absl::StrCat(file_, ": ", path);
  }

  absl::Status Error(const YAML::Node& n, const std::string& path,
                     absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(n, path), ": ", problem));
  }

  absl::Status CheckKeys(const YAML::Node& n, const std::string& path,
                         const std::set<std::string>& known) const {
    if (!n.IsMap()) return Error(n, path, "must be a mapping");
    for (const auto& kv : n) {
      std::string key = kv.first.as<std::string>();
      if (known.count(key) == 0) {
        return Error(kv.first, path.empty() ? key : path + "." + key,
                     absl::StrCat("unknown field (expected one of: ",
                                  absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Str(const YAML::Node& n,
                                  const std::string& path) const {
    if (!n.IsScalar()) return Error(n, path, "must be a string");
    return n.as<std::string>();
  }

  absl::StatusOr<int> Int(const YAML::Node& n, const std::string& path) const {
    int v = 0;
    if (!n.IsScalar() || !absl::SimpleAtoi(n.as<std::string>(), &v)) {
      return Error(n, path, "must be an integer");
    }
    return v;
  }

  absl::StatusOr<double> Double(const YAML::Node& n,
                                const std::string& path) const {
    double v = 0;
    if (!n.IsScalar() || !absl::SimpleAtod(n.as<std::string>(), &v)) {
      return Error(n, path, "must be a number");
    }
    return v;
  }

  absl::StatusOr<bool> Bool(const YAML::Node& n,
                            const std::string& path) const {
    if (n.IsScalar()) {
      std::string s = absl::AsciiStrToLower(n.as<std::string>());
      if (s == "true" || s == "yes") return true;
      if (s == "false" || s == "no") return false;
    }
    return Error(n, path, "must be true or false");
  }

  // YAML → JSON with YAML 1.2 core-schema scalars (plain 12 is a number,
  // quoted "12" a string).
  Json ToJson(const YAML::Node& n) const {
    if (n.IsMap()) {
      Json o = Json::object();
      for (const auto& kv : n)
        o[kv.first.as<std::string>()] = ToJson(kv.second);
      return o;
    }
    if (n.IsSequence()) {
      Json a = Json::array();
      for (const auto& x : n) a.push_back(ToJson(x));
      return a;
    }
    if (!n.IsScalar()) return Json();
    std::string s = n.as<std::string>();
    if (n.Tag() == "!") return Json(s);  // quoted
    if (s == "null" || s == "~" || s.empty()) return Json();
    if (s == "true") return Json(true);
    if (s == "false") return Json(false);
    int64_t i = 0;
    if (absl::SimpleAtoi(s, &i)) return Json(i);
    double d = 0;
    if (absl::SimpleAtod(s, &d) && s.find_first_of("0123456789") == 0) {
      return Json(d);
    }
    if (absl::SimpleAtod(s, &d) && (s[0] == '-' || s[0] == '.')) return Json(d);
    return Json(s);
  }

  // A JSON-valued field: a mapping (converted) or a JSON string.
  absl::StatusOr<std::string> JsonText(const YAML::Node& n,
                                       const std::string& path) const {
    if (n.IsScalar()) {
      std::string s = n.as<std::string>();
      absl::StatusOr<Json> j = common::ParseJson(s, path);
      if (!j.ok()) return Error(n, path, "must be a mapping or JSON text");
      return common::DumpJson(*j);
    }
    return common::DumpJson(ToJson(n));
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string file_;
  std::string dir_;
};

std::string Item(const std::string& section, size_t i) {
  return absl::StrCat(section, "[", i, "]");
}

absl::Status ParseTarget(const Walker& w, const YAML::Node& t,
                         const std::string& at, evbus::v1::Target* out) {
  absl::Status keys = w.CheckKeys(
      t, at,
      {"id", "arn", "input", "input_path", "input_transformer", "retry_policy",
       "dead_letter_arn", "max_concurrency", "rate_limit_per_second"});
  if (!keys.ok()) return keys;
  if (!t["id"] || !t["arn"]) return w.Error(t, at, "needs id and arn");
  absl::StatusOr<std::string> id = w.Str(t["id"], at + ".id");
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> arn = w.Str(t["arn"], at + ".arn");
  if (!arn.ok()) return arn.status();
  out->set_id(*id);
  out->set_arn(*arn);
  if (t["input"]) {
    absl::StatusOr<std::string> v = w.JsonText(t["input"], at + ".input");
    if (!v.ok()) return v.status();
    out->set_input(*v);
  }
  if (t["input_path"]) {
    absl::StatusOr<std::string> v = w.Str(t["input_path"], at + ".input_path");
    if (!v.ok()) return v.status();
    out->set_input_path(*v);
  }
  if (t["input_transformer"]) {
    const YAML::Node& x = t["input_transformer"];
    std::string p = at + ".input_transformer";
    absl::Status k = w.CheckKeys(x, p, {"input_paths_map", "input_template"});
    if (!k.ok()) return k;
    if (x["input_paths_map"]) {
      if (!x["input_paths_map"].IsMap()) {
        return w.Error(x["input_paths_map"], p + ".input_paths_map",
                       "must be a mapping");
      }
      for (const auto& kv : x["input_paths_map"]) {
        (*out->mutable_input_transformer()
              ->mutable_input_paths_map())[kv.first.as<std::string>()] =
            kv.second.as<std::string>();
      }
    }
    absl::StatusOr<std::string> tpl =
        w.Str(x["input_template"], p + ".input_template");
    if (!tpl.ok()) return tpl.status();
    out->mutable_input_transformer()->set_input_template(*tpl);
  }
  if (t["retry_policy"]) {
    const YAML::Node& r = t["retry_policy"];
    std::string p = at + ".retry_policy";
    absl::Status k = w.CheckKeys(
        r, p, {"maximum_retry_attempts", "maximum_event_age_in_seconds"});
    if (!k.ok()) return k;
    if (r["maximum_retry_attempts"]) {
      absl::StatusOr<int> n =
          w.Int(r["maximum_retry_attempts"], p + ".maximum_retry_attempts");
      if (!n.ok()) return n.status();
      out->mutable_retry_policy()->set_maximum_retry_attempts(*n);
    }
    if (r["maximum_event_age_in_seconds"]) {
      absl::StatusOr<int> n = w.Int(r["maximum_event_age_in_seconds"],
                                    p + ".maximum_event_age_in_seconds");
      if (!n.ok()) return n.status();
      out->mutable_retry_policy()->set_maximum_event_age_in_seconds(*n);
    }
  }
  if (t["dead_letter_arn"]) {
    absl::StatusOr<std::string> v =
        w.Str(t["dead_letter_arn"], at + ".dead_letter_arn");
    if (!v.ok()) return v.status();
    out->mutable_dead_letter_config()->set_arn(*v);
  }
  if (t["max_concurrency"]) {
    absl::StatusOr<int> n =
        w.Int(t["max_concurrency"], at + ".max_concurrency");
    if (!n.ok()) return n.status();
    out->set_max_concurrency(*n);
  }
  if (t["rate_limit_per_second"]) {
    absl::StatusOr<int> n =
        w.Int(t["rate_limit_per_second"], at + ".rate_limit_per_second");
    if (!n.ok()) return n.status();
    out->set_invocation_rate_limit_per_second(*n);
  }
  return absl::OkStatus();
}

// Which declared field of a target a PutTargets error is about (the first
// marker the message contains), or "" for the target itself.
std::string TargetField(absl::string_view message, const YAML::Node& t) {
  if (absl::StrContains(message, "Only one of Input")) {
    return t["input_transformer"] ? "input_transformer" : "input_path";
  }
  static const std::pair<const char*, const char*> kMarkers[] = {
      {"DeadLetterConfig", "dead_letter_arn"},
      {"Parameter Arn", "arn"},
      {"member.arn'", "arn"},
      {"member.id'", "id"},
      {"retryPolicy", "retry_policy"},
      {"maxConcurrency", "max_concurrency"},
      {"InputTemplate", "input_transformer"},
      {"inputTransformer", "input_transformer"},
      {"InputPath", "input_path"},
      {"member.inputPath'", "input_path"},
      {"in input for target", "input"},
      {"member.input'", "input"},
  };
  for (const auto& [marker, field] : kMarkers) {
    if (absl::StrContains(message, marker)) return field;
  }
  return "";
}

// Which declared field of a rule a PutRule error is about, or "".
std::string RuleField(const common::AwsErrorParts& e) {
  if (e.exception == "InvalidEventPatternException") return "pattern";
  if (absl::StrContains(e.message, "ScheduleExpression") ||
      absl::StrContains(e.message, "scheduleExpression") ||
      absl::StrContains(e.message, "schedule expressions")) {
    return "schedule";
  }
  for (const char* field : {"name", "description", "state"}) {
    if (absl::StrContains(e.message, absl::StrCat("at '", field, "'"))) {
      return field;
    }
  }
  return "";
}

// The daemon's own PutRule and PutTargets checks
// (server/bus/rule_validation.h), run while parsing so that a rule the
// daemon would refuse stops the stack before anything changes (and fails
// --dry-run), with the file, line and field.
absl::Status CheckRule(const Walker& w, const YAML::Node& r,
                       const std::string& at, const RuleSpec& spec) {
  evbus::v1::Rule rule;
  rule.set_name(spec.rule.name());
  rule.set_event_bus_name(spec.rule.event_bus_name());
  rule.set_event_pattern(spec.rule.event_pattern());
  rule.set_schedule_expression(spec.rule.schedule_expression());
  rule.set_state(spec.rule.state());
  rule.set_description(spec.rule.description());
  std::optional<pattern::Pattern> compiled;
  absl::Status s = bus::ValidateRuleDefinition(rule, {}, &compiled);
  if (!s.ok()) {
    common::AwsErrorParts e = common::SplitAwsError(s);
    std::string field = RuleField(e);
    if (field.empty()) return w.Error(r, at, e.message);
    return w.Error(r[field] ? r[field] : r, at + "." + field,
                   e.exception == "ValidationException"
                       ? e.message
                       : absl::StrCat(e.exception, ": ", e.message));
  }
  // PutTargets' limits on the whole set: target ids once each, and at
  // most as many targets as a rule may have.
  std::set<std::string> ids;
  for (size_t j = 0; j < spec.targets.size(); ++j) {
    if (!ids.insert(spec.targets[j].id()).second) {
      const YAML::Node& t = r["targets"][j];
      return w.Error(t["id"] ? t["id"] : t,
                     absl::StrCat(at, ".targets[", j, "].id"),
                     absl::StrCat("target id ", spec.targets[j].id(),
                                  " is declared twice in this rule"));
    }
  }
  const size_t max_targets = bus::kMaxTargetsPerRule;
  if (spec.targets.size() > max_targets) {
    return w.Error(
        r["targets"], at + ".targets",
        absl::StrCat("a rule has at most ", max_targets, " targets, this one ",
                     spec.targets.size(), " (LimitExceededException)"));
  }
  for (size_t j = 0; j < spec.targets.size(); ++j) {
    s = bus::ValidateTargets({spec.targets[j]}, nullptr);
    if (s.ok()) continue;
    const YAML::Node& t = r["targets"][j];
    std::string message = common::SplitAwsError(s).message;
    std::string field = TargetField(message, t);
    std::string path = absl::StrCat(at, ".targets[", j, "]");
    if (field.empty() || !t[field]) return w.Error(t, path, message);
    return w.Error(t[field], path + "." + field, message);
  }
  return absl::OkStatus();
}

absl::Status ParseFunction(const Walker& w, const YAML::Node& f,
                           const std::string& at,
                           evbus::v1::CreateFunctionRequest* out) {
  absl::Status keys =
      w.CheckKeys(f, at,
                  {"name", "runtime", "handler", "code", "timeout",
                   "memory_size", "reserved_concurrency", "environment",
                   "description", "maximum_retry_attempts",
                   "maximum_event_age_in_seconds", "dead_letter_arn"});
  if (!keys.ok()) return keys;
  evbus::v1::Function* fn = out->mutable_function();
  for (const char* required : {"name", "runtime", "code"}) {
    if (!f[required]) {
      return w.Error(f, at, absl::StrCat("needs ", required));
    }
  }
  absl::StatusOr<std::string> s = w.Str(f["name"], at + ".name");
  if (!s.ok()) return s.status();
  fn->set_function_name(*s);
  s = w.Str(f["runtime"], at + ".runtime");
  if (!s.ok()) return s.status();
  fn->set_runtime(*s);
  if (f["handler"]) {
    s = w.Str(f["handler"], at + ".handler");
    if (!s.ok()) return s.status();
    fn->set_handler(*s);
  }
  if (f["description"]) {
    s = w.Str(f["description"], at + ".description");
    if (!s.ok()) return s.status();
    fn->set_description(*s);
  }
  struct IntField {
    const char* key;
    void (*set)(evbus::v1::Function*, int);
  };
  for (const IntField& i : std::initializer_list<IntField>{
           {"timeout",
            [](evbus::v1::Function*fn_, int v) { fn_->set_timeout(v); }},
           {"memory_size",
            [](evbus::v1::Function*fn_, int v) { fn_->set_memory_size(v); }},
           {"reserved_concurrency",
            [](evbus::v1::Function*fn_, int v) {
              fn_->set_reserved_concurrent_executions(v);
            }},
           {"maximum_retry_attempts",
            [](evbus::v1::Function*fn_, int v) {
              fn_->mutable_event_invoke_config()->set_maximum_retry_attempts(v);
            }},
           {"maximum_event_age_in_seconds", [](evbus::v1::Function*fn_, int v) {
              fn_->mutable_event_invoke_config()
                  ->set_maximum_event_age_in_seconds(v);
            }}}) {
    if (!f[i.key]) continue;
    absl::StatusOr<int> n = w.Int(f[i.key], at + "." + i.key);
    if (!n.ok()) return n.status();
    i.set(fn, *n);
  }
  if (f["dead_letter_arn"]) {
    s = w.Str(f["dead_letter_arn"], at + ".dead_letter_arn");
    if (!s.ok()) return s.status();
    fn->set_dead_letter_target_arn(*s);
  }
  if (f["environment"]) {
    if (!f["environment"].IsMap()) {
      return w.Error(f["environment"], at + ".environment",
                     "must be a mapping of names to values");
    }
    for (const auto& kv : f["environment"]) {
      (*fn->mutable_environment())[kv.first.as<std::string>()] =
          kv.second.IsScalar() ? kv.second.as<std::string>()
                               : common::DumpJson(w.ToJson(kv.second));
    }
  }
  s = w.Str(f["code"], at + ".code");
  if (!s.ok()) return s.status();
  fs::path code =
      fs::path(*s).is_absolute() ? fs::path(*s) : fs::path(w.dir()) / *s;
  std::error_code ec;
  if (fs::is_directory(code, ec)) {
    absl::StatusOr<std::vector<evbus::v1::CodeFile>> files =
        functions::ReadCodeDirectory(code.string());
    if (!files.ok())
      return w.Error(f["code"], at + ".code", files.status().message());
    if (files->empty())
      return w.Error(f["code"], at + ".code", "the directory is empty");
    for (auto& file : *files)
      *out->mutable_code()->add_files() = std::move(file);
  } else if (fs::is_regular_file(code, ec)) {
    std::ifstream in(code, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    out->mutable_code()->set_zip_file(buf.str());
  } else {
    return w.Error(
        f["code"], at + ".code",
        absl::StrCat(code.lexically_normal().string(), " does not exist"));
  }
  // What CreateFunction would refuse stops the stack here, before any
  // change: the settings, and a ZIP that does not unpack.
  evbus::v1::Function normalized = *fn;
  absl::Status settings = functions::NormalizeFunction(normalized);
  if (!settings.ok()) {
    return w.Error(f, at, common::SplitAwsError(settings).message);
  }
  if (!out->code().zip_file().empty()) {
    absl::StatusOr<std::vector<evbus::v1::CodeFile>> unpacked =
        functions::UnpackZip(out->code().zip_file());
    if (!unpacked.ok()) {
      return w.Error(f["code"], at + ".code",
                     common::SplitAwsError(unpacked.status()).message);
    }
  }
  return absl::OkStatus();
}

// An alarm's or a query's `dimensions`: a mapping of names to values
// (nothing when absent).
absl::Status ParseDimensions(
    const Walker& w, const YAML::Node& node, const std::string& at,
    google::protobuf::RepeatedPtrField<evbus::v1::Dimension>* out) {
  if (!node) return absl::OkStatus();
  if (!node.IsMap()) {
    return w.Error(node, at, "must be a mapping of names to values");
  }
  for (const auto& kv : node) {
    evbus::v1::Dimension* d = out->Add();
    d->set_name(kv.first.as<std::string>());
    d->set_value(kv.second.as<std::string>());
  }
  return absl::OkStatus();
}

// A metric math alarm's queries: a list of {id, label?, return_data?,
// expression} or {id, label?, return_data?, namespace, metric, dimensions?,
// period, stat, unit?}. When no query says return_data, the last one is the
// alarm's series (PutMetricAlarm itself reads an omitted ReturnData as
// true).
absl::Status ParseAlarmMetrics(const Walker& w, const YAML::Node& list,
                               const std::string& at,
                               evbus::v1::MetricAlarm* m) {
  if (!list.IsSequence() || list.size() == 0) {
    return w.Error(list, at, "must be a non-empty list of queries");
  }
  bool any_return_data = false;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& q = list[i];
    const std::string where = absl::StrCat(at, "[", i, "]");
    absl::Status keys =
        w.CheckKeys(q, where,
                    {"id", "label", "return_data", "expression", "namespace",
                     "metric", "dimensions", "period", "stat", "unit"});
    if (!keys.ok()) return keys;
    evbus::v1::MetricDataQuery* out = m->add_metrics();
    for (const char* key : {"id", "label", "expression"}) {
      if (!q[key]) continue;
      absl::StatusOr<std::string> v = w.Str(q[key], where + "." + key);
      if (!v.ok()) return v.status();
      if (std::string(key) == "id") out->set_id(*v);
      if (std::string(key) == "label") out->set_label(*v);
      if (std::string(key) == "expression") out->set_expression(*v);
    }
    if (q["return_data"]) {
      absl::StatusOr<bool> b = w.Bool(q["return_data"], where + ".return_data");
      if (!b.ok()) return b.status();
      out->set_return_data(*b);
      any_return_data = true;
    }
    if (q["expression"]) {
      for (const char* key :
           {"namespace", "metric", "stat", "period", "dimensions", "unit"}) {
        if (q[key]) {
          return w.Error(q[key], where + "." + key,
                         "an expression query takes no metric fields");
        }
      }
      continue;
    }
    evbus::v1::MetricStat* stat = out->mutable_metric_stat();
    for (const char* key : {"namespace", "metric", "stat", "unit"}) {
      if (!q[key]) continue;
      absl::StatusOr<std::string> v = w.Str(q[key], where + "." + key);
      if (!v.ok()) return v.status();
      if (std::string(key) == "namespace") {
        stat->mutable_metric()->set_namespace_(*v);
      }
      if (std::string(key) == "metric") {
        stat->mutable_metric()->set_metric_name(*v);
      }
      if (std::string(key) == "stat") stat->set_stat(*v);
      if (std::string(key) == "unit") stat->set_unit(*v);
    }
    if (q["period"]) {
      absl::StatusOr<int> n = w.Int(q["period"], where + ".period");
      if (!n.ok()) return n.status();
      stat->set_period(*n);
    }
    absl::Status dimensions =
        ParseDimensions(w, q["dimensions"], where + ".dimensions",
                        stat->mutable_metric()->mutable_dimensions());
    if (!dimensions.ok()) return dimensions;
  }
  for (int i = 0; i < m->metrics_size(); ++i) {
    evbus::v1::MetricDataQuery* q = m->mutable_metrics(i);
    if (!any_return_data) {
      q->set_return_data(i + 1 == m->metrics_size());
    } else if (!q->has_return_data()) {
      q->set_return_data(true);  // as PutMetricAlarm reads it
    }
  }
  return absl::OkStatus();
}

absl::Status ParseAlarm(const Walker& w, const YAML::Node& a,
                        const std::string& at,
                        evbus::v1::PutMetricAlarmRequest* out) {
  absl::Status keys = w.CheckKeys(a, at,
                                  {"name",
                                   "namespace",
                                   "metric",
                                   "dimensions",
                                   "statistic",
                                   "extended_statistic",
                                   "period",
                                   "evaluation_periods",
                                   "datapoints_to_alarm",
                                   "threshold",
                                   "comparison",
                                   "treat_missing_data",
                                   "alarm_actions",
                                   "ok_actions",
                                   "insufficient_data_actions",
                                   "actions_enabled",
                                   "description",
                                   "unit",
                                   "rule",
                                   "actions_suppressor",
                                   "actions_suppressor_wait_period",
                                   "actions_suppressor_extension_period",
                                   "metrics"});
  if (!keys.ok()) return keys;
  evbus::v1::MetricAlarm* m = out->mutable_alarm();
  if (a["metrics"]) {
    absl::Status metrics =
        ParseAlarmMetrics(w, a["metrics"], at + ".metrics", m);
    if (!metrics.ok()) return metrics;
  }
  if (!a["rule"]) {
    for (const char* composite_key :
         {"actions_suppressor", "actions_suppressor_wait_period",
          "actions_suppressor_extension_period"}) {
      if (a[composite_key]) {
        return w.Error(a[composite_key], at + "." + composite_key,
                       "only a composite alarm (with a rule) takes it");
      }
    }
  }
  if (a["rule"]) {
    // A composite alarm: its rule decides its state; no metric fields.
    for (const char* metric_key :
         {"namespace", "metric", "dimensions", "statistic",
          "extended_statistic", "period", "evaluation_periods",
          "datapoints_to_alarm", "threshold", "comparison",
          "treat_missing_data", "unit", "metrics"}) {
      if (a[metric_key]) {
        return w.Error(a[metric_key], at + "." + metric_key,
                       "a composite alarm (with a rule) takes no metric "
                       "fields");
      }
    }
    absl::StatusOr<std::string> rule = w.Str(a["rule"], at + ".rule");
    if (!rule.ok()) return rule.status();
    absl::StatusOr<alarms::AlarmRule> parsed = alarms::AlarmRule::Parse(*rule);
    if (!parsed.ok()) {
      return w.Error(a["rule"], at + ".rule", parsed.status().message());
    }
    m->set_alarm_rule(*rule);
    if (a["actions_suppressor"]) {
      absl::StatusOr<std::string> sup =
          w.Str(a["actions_suppressor"], at + ".actions_suppressor");
      if (!sup.ok()) return sup.status();
      m->set_actions_suppressor(*sup);
    }
    if (a["actions_suppressor_wait_period"]) {
      absl::StatusOr<int> n = w.Int(a["actions_suppressor_wait_period"],
                                    at + ".actions_suppressor_wait_period");
      if (!n.ok()) return n.status();
      m->set_actions_suppressor_wait_period(*n);
      out->add_present("actions_suppressor_wait_period");
    }
    if (a["actions_suppressor_extension_period"]) {
      absl::StatusOr<int> n =
          w.Int(a["actions_suppressor_extension_period"],
                at + ".actions_suppressor_extension_period");
      if (!n.ok()) return n.status();
      m->set_actions_suppressor_extension_period(*n);
      out->add_present("actions_suppressor_extension_period");
    }
  }
  struct StrField {
    const char* key;
    void (*set)(evbus::v1::MetricAlarm*, const std::string&);
  };
  for (const StrField& f : std::initializer_list<StrField>{
           {"name", [](evbus::v1::MetricAlarm*ma,
                       const std::string&v) { ma->set_alarm_name(v); }},
           {"namespace", [](evbus::v1::MetricAlarm*ma,
                            const std::string&v) { ma->set_namespace_(v); }},
           {"metric", [](evbus::v1::MetricAlarm*ma,
                         const std::string&v) { ma->set_metric_name(v); }},
           {"statistic", [](evbus::v1::MetricAlarm*ma,
                            const std::string&v) { ma->set_statistic(v); }},
           {"extended_statistic",
            [](evbus::v1::MetricAlarm*ma, const std::string&v) {
              ma->set_extended_statistic(v);
            }},
           {"comparison",
            [](evbus::v1::MetricAlarm*ma,
               const std::string&v) { ma->set_comparison_operator(v); }},
           {"treat_missing_data",
            [](evbus::v1::MetricAlarm*ma, const std::string&v) {
              ma->set_treat_missing_data(v);
            }},
           {"description",
            [](evbus::v1::MetricAlarm*ma,
               const std::string&v) { ma->set_alarm_description(v); }},
           {"unit", [](evbus::v1::MetricAlarm*ma, const std::string&v) {
              ma->set_unit(v);
            }}}) {
    if (!a[f.key]) continue;
    absl::StatusOr<std::string> s = w.Str(a[f.key], at + "." + f.key);
    if (!s.ok()) return s.status();
    f.set(m, *s);
  }
  if (a["treat_missing_data"]) out->add_present("treat_missing_data");
  if (a["period"]) {
    absl::StatusOr<int> n = w.Int(a["period"], at + ".period");
    if (!n.ok()) return n.status();
    m->set_period(*n);
  }
  if (a["evaluation_periods"]) {
    absl::StatusOr<int> n =
        w.Int(a["evaluation_periods"], at + ".evaluation_periods");
    if (!n.ok()) return n.status();
    m->set_evaluation_periods(*n);
  }
  if (a["datapoints_to_alarm"]) {
    absl::StatusOr<int> n =
        w.Int(a["datapoints_to_alarm"], at + ".datapoints_to_alarm");
    if (!n.ok()) return n.status();
    m->set_datapoints_to_alarm(*n);
    out->add_present("datapoints_to_alarm");
  }
  if (a["threshold"]) {
    absl::StatusOr<double> d = w.Double(a["threshold"], at + ".threshold");
    if (!d.ok()) return d.status();
    m->set_threshold(*d);
    out->add_present("threshold");
  }
  if (a["actions_enabled"]) {
    absl::StatusOr<bool> b =
        w.Bool(a["actions_enabled"], at + ".actions_enabled");
    if (!b.ok()) return b.status();
    m->set_actions_enabled(*b);
    out->add_present("actions_enabled");
  }
  absl::Status dimensions = ParseDimensions(
      w, a["dimensions"], at + ".dimensions", m->mutable_dimensions());
  if (!dimensions.ok()) return dimensions;
  for (const char* list :
       {"alarm_actions", "ok_actions", "insufficient_data_actions"}) {
    if (!a[list]) continue;
    if (!a[list].IsSequence()) {
      return w.Error(a[list], at + "." + list, "must be a list of ARNs");
    }
    for (const auto& x : a[list]) {
      std::string v = x.as<std::string>();
      if (std::string(list) == "alarm_actions") m->add_alarm_actions(v);
      if (std::string(list) == "ok_actions") m->add_ok_actions(v);
      if (std::string(list) == "insufficient_data_actions") {
        m->add_insufficient_data_actions(v);
      }
    }
  }
  // What PutMetricAlarm or PutCompositeAlarm would refuse stops the stack
  // here, before any change.
  absl::Status valid;
  if (m->alarm_rule().empty()) {
    valid = alarms::AlarmService::CheckPutMetricAlarm(*out);
  } else {
    evbus::v1::PutCompositeAlarmRequest composite;
    *composite.mutable_alarm() = *m;
    *composite.mutable_present() = out->present();
    valid = alarms::AlarmService::CheckPutCompositeAlarm(composite).status();
  }
  if (!valid.ok()) {
    common::AwsErrorParts e = common::SplitAwsError(valid);
    // A metric math error names its query the API's way
    // ("Metrics.member.3"): point at that query in the file instead.
    size_t index = 0;
    const size_t found = e.message.find("Metrics.member.");
    if (found != std::string::npos && a["metrics"] &&
        a["metrics"].IsSequence()) {
      for (size_t k = found + 15;
           k < e.message.size() && absl::ascii_isdigit(e.message[k]); ++k) {
        index = index * 10 + static_cast<size_t>(e.message[k] - '0');
      }
      if (index > a["metrics"].size()) index = 0;
    }
    // Or by its id ("query 'rate'").
    const size_t quoted = e.message.find("query '");
    if (index == 0 && quoted != std::string::npos && a["metrics"] &&
        a["metrics"].IsSequence()) {
      const size_t begin = quoted + 7;
      const size_t end = e.message.find('\'', begin);
      const std::string id = e.message.substr(begin, end - begin);
      for (size_t k = 0; k < a["metrics"].size(); ++k) {
        const YAML::Node q = a["metrics"][k];
        if (q.IsMap() && q["id"] && q["id"].IsScalar() &&
            q["id"].Scalar() == id) {
          index = k + 1;
          break;
        }
      }
    }
    // (Constructed, never assigned: assigning a YAML::Node writes into the
    // document.)
    const YAML::Node node = index == 0 ? a : a["metrics"][index - 1];
    const std::string where =
        index == 0 ? at : absl::StrCat(at, ".metrics[", index - 1, "]");
    return w.Error(node, where, absl::StrCat(e.exception, ": ", e.message));
  }
  return absl::OkStatus();
}

absl::StatusOr<StackSpec> ParseRoot(const Walker& w, const YAML::Node& root) {
  StackSpec spec;
  absl::Status keys =
      w.CheckKeys(root, "",
                  {"stack", "buses", "connections", "api_destinations",
                   "functions", "topics", "rules", "schedules", "alarms"});
  if (!keys.ok()) return keys;
  if (!root["stack"]) return w.Error(root, "stack", "the stack needs a name");
  absl::StatusOr<std::string> name = w.Str(root["stack"], "stack");
  if (!name.ok()) return name.status();
  spec.name = *name;
  auto seq = [&](const char* key) -> absl::StatusOr<YAML::Node> {
    YAML::Node n = root[key];
    if (n && !n.IsSequence()) return w.Error(n, key, "must be a list");
    return n;
  };

  absl::StatusOr<YAML::Node> buses = seq("buses");
  if (!buses.ok()) return buses.status();
  for (size_t i = 0; *buses && i < buses->size(); ++i) {
    const YAML::Node& b = (*buses)[i];
    std::string at = Item("buses", i);
    absl::Status k = w.CheckKeys(b, at, {"name", "description"});
    if (!k.ok()) return k;
    evbus::v1::CreateEventBusRequest req;
    absl::StatusOr<std::string> s = w.Str(b["name"], at + ".name");
    if (!s.ok()) return s.status();
    req.set_name(*s);
    if (b["description"]) {
      s = w.Str(b["description"], at + ".description");
      if (!s.ok()) return s.status();
      req.set_description(*s);
    }
    spec.buses.push_back(std::move(req));
  }

  absl::StatusOr<YAML::Node> connections = seq("connections");
  if (!connections.ok()) return connections.status();
  for (size_t i = 0; *connections && i < connections->size(); ++i) {
    const YAML::Node& c = (*connections)[i];
    std::string at = Item("connections", i);
    absl::Status k = w.CheckKeys(
        c, at,
        {"name", "authorization_type", "auth_parameters", "description"});
    if (!k.ok()) return k;
    evbus::v1::Connection conn;
    absl::StatusOr<std::string> s = w.Str(c["name"], at + ".name");
    if (!s.ok()) return s.status();
    conn.set_name(*s);
    s = w.Str(c["authorization_type"], at + ".authorization_type");
    if (!s.ok()) return s.status();
    conn.set_authorization_type(*s);
    if (c["description"]) {
      s = w.Str(c["description"], at + ".description");
      if (!s.ok()) return s.status();
      conn.set_description(*s);
    }
    if (!c["auth_parameters"] || !c["auth_parameters"].IsMap()) {
      return w.Error(
          c, at + ".auth_parameters",
          "needs the AWS AuthParameters mapping (e.g. "
          "ApiKeyAuthParameters: {ApiKeyName: ..., ApiKeyValue: ...})");
    }
    absl::Status auth = api::shapes::ConnectionAuthFromJson(
        w.ToJson(c["auth_parameters"]), api::shapes::UnknownMembers::kReject,
        conn.mutable_auth_parameters());
    if (!auth.ok()) {
      return w.Error(c["auth_parameters"], at + ".auth_parameters",
                     auth.message());
    }
    spec.connections.push_back(std::move(conn));
  }

  absl::StatusOr<YAML::Node> dests = seq("api_destinations");
  if (!dests.ok()) return dests.status();
  for (size_t i = 0; *dests && i < dests->size(); ++i) {
    const YAML::Node& d = (*dests)[i];
    std::string at = Item("api_destinations", i);
    absl::Status k = w.CheckKeys(d, at,
                                 {"name", "connection", "endpoint", "method",
                                  "rate_limit_per_second", "description"});
    if (!k.ok()) return k;
    ApiDestinationSpec dest;
    absl::StatusOr<std::string> s = w.Str(d["name"], at + ".name");
    if (!s.ok()) return s.status();
    dest.destination.set_name(*s);
    s = w.Str(d["connection"], at + ".connection");
    if (!s.ok()) return s.status();
    dest.connection = *s;
    s = w.Str(d["endpoint"], at + ".endpoint");
    if (!s.ok()) return s.status();
    dest.destination.set_invocation_endpoint(*s);
    dest.destination.set_http_method("POST");
    if (d["method"]) {
      s = w.Str(d["method"], at + ".method");
      if (!s.ok()) return s.status();
      dest.destination.set_http_method(*s);
    }
    if (d["description"]) {
      s = w.Str(d["description"], at + ".description");
      if (!s.ok()) return s.status();
      dest.destination.set_description(*s);
    }
    if (d["rate_limit_per_second"]) {
      absl::StatusOr<int> n =
          w.Int(d["rate_limit_per_second"], at + ".rate_limit_per_second");
      if (!n.ok()) return n.status();
      dest.destination.set_invocation_rate_limit_per_second(*n);
    }
    spec.api_destinations.push_back(std::move(dest));
  }

  absl::StatusOr<YAML::Node> fns = seq("functions");
  if (!fns.ok()) return fns.status();
  for (size_t i = 0; *fns && i < fns->size(); ++i) {
    evbus::v1::CreateFunctionRequest req;
    absl::Status s = ParseFunction(w, (*fns)[i], Item("functions", i), &req);
    if (!s.ok()) return s;
    spec.functions.push_back(std::move(req));
  }

  absl::StatusOr<YAML::Node> topics = seq("topics");
  if (!topics.ok()) return topics.status();
  for (size_t i = 0; *topics && i < topics->size(); ++i) {
    const YAML::Node& t = (*topics)[i];
    std::string at = Item("topics", i);
    absl::Status k =
        w.CheckKeys(t, at, {"name", "display_name", "subscriptions"});
    if (!k.ok()) return k;
    TopicSpec topic;
    absl::StatusOr<std::string> s = w.Str(t["name"], at + ".name");
    if (!s.ok()) return s.status();
    topic.topic.set_name(*s);
    if (t["display_name"]) {
      s = w.Str(t["display_name"], at + ".display_name");
      if (!s.ok()) return s.status();
      (*topic.topic.mutable_attributes())["DisplayName"] = *s;
    }
    if (t["subscriptions"]) {
      if (!t["subscriptions"].IsSequence()) {
        return w.Error(t["subscriptions"], at + ".subscriptions",
                       "must be a list");
      }
      for (size_t j = 0; j < t["subscriptions"].size(); ++j) {
        const YAML::Node& sub = t["subscriptions"][j];
        std::string sat = absl::StrCat(at, ".subscriptions[", j, "]");
        k = w.CheckKeys(sub, sat,
                        {"protocol", "endpoint", "filter_policy",
                         "filter_policy_scope", "raw_message_delivery"});
        if (!k.ok()) return k;
        evbus::v1::SubscribeRequest req;
        req.set_topic_arn(topic.topic.name());
        s = w.Str(sub["protocol"], sat + ".protocol");
        if (!s.ok()) return s.status();
        req.set_protocol(*s);
        s = w.Str(sub["endpoint"], sat + ".endpoint");
        if (!s.ok()) return s.status();
        req.set_endpoint(*s);
        if (sub["filter_policy"]) {
          s = w.JsonText(sub["filter_policy"], sat + ".filter_policy");
          if (!s.ok()) return s.status();
          (*req.mutable_attributes())["FilterPolicy"] = *s;
        }
        if (sub["filter_policy_scope"]) {
          s = w.Str(sub["filter_policy_scope"], sat + ".filter_policy_scope");
          if (!s.ok()) return s.status();
          (*req.mutable_attributes())["FilterPolicyScope"] = *s;
        }
        if (sub["raw_message_delivery"]) {
          absl::StatusOr<bool> b = w.Bool(sub["raw_message_delivery"],
                                          sat + ".raw_message_delivery");
          if (!b.ok()) return b.status();
          (*req.mutable_attributes())["RawMessageDelivery"] =
              *b ? "true" : "false";
        }
        topic.subscriptions.push_back(std::move(req));
      }
    }
    spec.topics.push_back(std::move(topic));
  }

  absl::StatusOr<YAML::Node> rules = seq("rules");
  if (!rules.ok()) return rules.status();
  for (size_t i = 0; *rules && i < rules->size(); ++i) {
    const YAML::Node& r = (*rules)[i];
    std::string at = Item("rules", i);
    absl::Status k = w.CheckKeys(r, at,
                                 {"name", "bus", "pattern", "schedule", "state",
                                  "description", "targets"});
    if (!k.ok()) return k;
    RuleSpec rule;
    absl::StatusOr<std::string> s = w.Str(r["name"], at + ".name");
    if (!s.ok()) return s.status();
    rule.rule.set_name(*s);
    rule.rule.set_event_bus_name("default");
    rule.bus_at = w.Where(r, at);
    if (r["bus"]) {
      s = w.Str(r["bus"], at + ".bus");
      if (!s.ok()) return s.status();
      rule.rule.set_event_bus_name(*s);
      rule.bus_at = w.Where(r["bus"], at + ".bus");
    }
    if (!r["pattern"] && !r["schedule"]) {
      return w.Error(r, at, "needs a pattern or a schedule");
    }
    if (r["pattern"]) {
      s = w.JsonText(r["pattern"], at + ".pattern");
      if (!s.ok()) return s.status();
      rule.rule.set_event_pattern(*s);
    }
    if (r["schedule"]) {
      s = w.Str(r["schedule"], at + ".schedule");
      if (!s.ok()) return s.status();
      rule.rule.set_schedule_expression(*s);
    }
    rule.rule.set_state("ENABLED");
    if (r["state"]) {
      s = w.Str(r["state"], at + ".state");
      if (!s.ok()) return s.status();
      if (*s != "ENABLED" && *s != "DISABLED") {
        return w.Error(r["state"], at + ".state",
                       "must be ENABLED or DISABLED");
      }
      rule.rule.set_state(*s);
    }
    if (r["description"]) {
      s = w.Str(r["description"], at + ".description");
      if (!s.ok()) return s.status();
      rule.rule.set_description(*s);
    }
    if (r["targets"]) {
      if (!r["targets"].IsSequence()) {
        return w.Error(r["targets"], at + ".targets", "must be a list");
      }
      for (size_t j = 0; j < r["targets"].size(); ++j) {
        evbus::v1::Target t;
        absl::Status ts = ParseTarget(
            w, r["targets"][j], absl::StrCat(at, ".targets[", j, "]"), &t);
        if (!ts.ok()) return ts;
        rule.targets.push_back(std::move(t));
        rule.target_arn_at.push_back(w.Where(
            r["targets"][j]["arn"], absl::StrCat(at, ".targets[", j, "].arn")));
      }
    }
    absl::Status valid = CheckRule(w, r, at, rule);
    if (!valid.ok()) return valid;
    spec.rules.push_back(std::move(rule));
  }

  absl::StatusOr<YAML::Node> schedules = seq("schedules");
  if (!schedules.ok()) return schedules.status();
  for (size_t i = 0; *schedules && i < schedules->size(); ++i) {
    const YAML::Node& n = (*schedules)[i];
    std::string at = Item("schedules", i);
    absl::Status k = w.CheckKeys(
        n, at,
        {"name", "group", "expression", "timezone", "flexible_time_window",
         "target", "description", "state", "action_after_completion"});
    if (!k.ok()) return k;
    evbus::v1::Schedule s;
    absl::StatusOr<std::string> v = w.Str(n["name"], at + ".name");
    if (!v.ok()) return v.status();
    s.set_name(*v);
    if (n["group"]) {
      v = w.Str(n["group"], at + ".group");
      if (!v.ok()) return v.status();
      s.set_group_name(*v);
    }
    v = w.Str(n["expression"], at + ".expression");
    if (!v.ok()) return v.status();
    s.set_schedule_expression(*v);
    if (n["timezone"]) {
      v = w.Str(n["timezone"], at + ".timezone");
      if (!v.ok()) return v.status();
      s.set_schedule_expression_timezone(*v);
    }
    for (const char* key :
         {"description", "state", "action_after_completion"}) {
      if (!n[key]) continue;
      v = w.Str(n[key], at + "." + key);
      if (!v.ok()) return v.status();
      std::string sk = key;
      if (sk == "description") s.set_description(*v);
      if (sk == "state") s.set_state(*v);
      if (sk == "action_after_completion") s.set_action_after_completion(*v);
    }
    s.mutable_flexible_time_window()->set_mode("OFF");
    if (n["flexible_time_window"]) {
      const YAML::Node& fw = n["flexible_time_window"];
      k = w.CheckKeys(fw, at + ".flexible_time_window",
                      {"mode", "maximum_window_in_minutes"});
      if (!k.ok()) return k;
      if (fw["mode"]) {
        v = w.Str(fw["mode"], at + ".flexible_time_window.mode");
        if (!v.ok()) return v.status();
        s.mutable_flexible_time_window()->set_mode(*v);
      }
      if (fw["maximum_window_in_minutes"]) {
        absl::StatusOr<int> m =
            w.Int(fw["maximum_window_in_minutes"],
                  at + ".flexible_time_window.maximum_window_in_minutes");
        if (!m.ok()) return m.status();
        s.mutable_flexible_time_window()->set_maximum_window_in_minutes(*m);
      }
    }
    const YAML::Node& t = n["target"];
    if (!t) return w.Error(n, at, "needs a target");
    k = w.CheckKeys(t, at + ".target", {"arn", "input", "role_arn"});
    if (!k.ok()) return k;
    v = w.Str(t["arn"], at + ".target.arn");
    if (!v.ok()) return v.status();
    s.mutable_target()->set_arn(*v);
    if (t["input"]) {
      v = w.JsonText(t["input"], at + ".target.input");
      if (!v.ok()) return v.status();
      s.mutable_target()->set_input(*v);
    }
    // What CreateSchedule would refuse stops the stack here, before any
    // change.
    absl::Status valid = scheduler::Scheduler::CheckSchedule(s);
    if (!valid.ok()) {
      return w.Error(n, at, common::SplitAwsError(valid).message);
    }
    spec.schedules.push_back(std::move(s));
  }

  absl::StatusOr<YAML::Node> alarms = seq("alarms");
  if (!alarms.ok()) return alarms.status();
  for (size_t i = 0; *alarms && i < alarms->size(); ++i) {
    evbus::v1::PutMetricAlarmRequest req;
    absl::Status s = ParseAlarm(w, (*alarms)[i], Item("alarms", i), &req);
    if (!s.ok()) return s;
    spec.alarms.push_back(std::move(req));
    // Read through a const node: operator[] on a non-const one adds the key.
    const YAML::Node item = (*alarms)[i];
    const YAML::Node& alarm = item;
    spec.alarm_rule_at.push_back(
        alarm["rule"].IsDefined()
            ? w.Where(alarm["rule"], Item("alarms", i) + ".rule")
            : w.Where(alarm, Item("alarms", i)));
  }
  return spec;
}

// ${NAME} and ${NAME:-default} from the environment (NAME upper-case
// letters, digits and '_'); anything else (e.g. SAM's ${AWS::Region}) is
// left as written. An unset variable without a default is an error.
absl::StatusOr<std::string> ExpandEnvironment(const std::string& text,
                                              const std::string& path) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("${", i);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    // A comment line (first non-blank character '#') is left as it is.
    const size_t line_start = text.rfind('\n', open) == std::string::npos
                                  ? 0
                                  : text.rfind('\n', open) + 1;
    const size_t first = text.find_first_not_of(" \t", line_start);
    if (first < open && text[first] == '#') {
      // Up to the end of the comment line only: a "${" without its "}"
      // there must not swallow the lines after it.
      const size_t line_end = std::min(text.find('\n', open), text.size());
      out.append(text, i, line_end - i);
      i = line_end;
      continue;
    }
    std::string inner = text.substr(open + 2, close - open - 2);
    std::string name = inner, fallback;
    bool has_default = false;
    size_t dash = inner.find(":-");
    if (dash != std::string::npos) {
      name = inner.substr(0, dash);
      fallback = inner.substr(dash + 2);
      has_default = true;
    }
    bool valid =
        !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        });
    out.append(text, i, open - i);
    if (!valid) {
      out.append(text, open, close + 1 - open);
    } else if (const char* v = std::getenv(name.c_str()); v != nullptr) {
      out += v;
    } else if (has_default) {
      out += fallback;
    } else {
      int line = 1 + static_cast<int>(
                         std::count(text.begin(), text.begin() + open, '\n'));
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line, ": ${", name,
                       "} is not set in the environment (use ${", name,
                       ":-default} for a default)"));
    }
    i = close + 1;
  }
  out.append(text, i, std::string::npos);
  return out;
}

}  // namespace

namespace {

// Member `key` of `map` (undefined when absent or not a map), looked up
// without operator[] on a non-const node, which would add the key to the
// document.
YAML::Node MemberOf(const YAML::Node& map, absl::string_view key) {
  if (!map.IsDefined() || !map.IsMap())
    return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// The line (1-based) of what a SAM conversion error names: its message
// starts with a dotted path, "<LogicalId>.Properties.X[2].Y" below
// Resources, or "Parameters.<Name>.Default" / "Globals..." from the top.
// The deepest node of `root` along that path gives the line; 0 when not
// even the first segment is found.
int SamErrorLine(const YAML::Node& root, absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos) return 0;
  std::vector<std::string> segments;
  for (absl::string_view part : absl::StrSplit(message.substr(0, colon), '.')) {
    // "Events[1]" is the member Events, then item 1.
    size_t bracket = part.find('[');
    segments.emplace_back(part.substr(0, bracket));
    while (bracket != absl::string_view::npos) {
      const size_t close = part.find(']', bracket);
      if (close == absl::string_view::npos) break;
      segments.emplace_back(part.substr(bracket, close - bracket + 1));
      bracket = part.find('[', close);
    }
  }
  if (segments.empty()) return 0;
  const bool top = segments[0] == "Parameters" || segments[0] == "Globals" ||
                   segments[0] == "Resources" || segments[0] == "Outputs";
  YAML::Node node = top ? YAML::Node(root) : MemberOf(root, "Resources");
  int line = 0;
  for (const std::string& seg : segments) {
    // Copies share the document's nodes; assigning to a node that refers
    // to one would write into the document, so nothing is assigned.
    YAML::Node next(YAML::NodeType::Undefined);
    if (seg.empty()) break;
    if (seg.front() == '[') {
      size_t index = 0;
      if (!node.IsSequence() ||
          !absl::SimpleAtoi(absl::string_view(seg).substr(1, seg.size() - 2),
                            &index) ||
          index >= node.size()) {
        break;
      }
      const YAML::Node& items = node;
      next.reset(items[index]);
    } else {
      // Paths leave out a resource's "Properties" ("F.Timeout" is
      // Resources.F.Properties.Timeout): look there too.
      next.reset(MemberOf(node, seg));
      if (!next.IsDefined()) {
        next.reset(MemberOf(MemberOf(node, "Properties"), seg));
      }
      if (!next.IsDefined()) break;
    }
    node.reset(next);
    line = node.Mark().line + 1;
  }
  return line;
}

}  // namespace

absl::StatusOr<StackSpec> ParseStackText(const std::string& text,
                                         const std::string& path,
                                         const ParseOptions& options) {
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Walker w(path, dir);
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsMap() && !IsSamTemplate(root)) {
      absl::StatusOr<std::string> expanded = ExpandEnvironment(text, path);
      if (!expanded.ok()) return expanded.status();
      root = YAML::Load(*expanded);
    }
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a stack file is a YAML mapping"));
    }
    std::vector<std::string> skipped;
    if (IsSamTemplate(root)) {
      SamOptions sam;
      sam.stack_name = fs::path(path).stem().string();
      sam.strict = options.strict;
      absl::StatusOr<YAML::Node> converted =
          ConvertSamTemplate(root, sam, &skipped);
      if (!converted.ok()) {
        const int line = SamErrorLine(root, converted.status().message());
        return absl::InvalidArgumentError(
            absl::StrCat(path, line > 0 ? absl::StrCat(":", line) : "", ": ",
                         converted.status().message()));
      }
      root = *converted;
    }
    absl::StatusOr<StackSpec> spec = ParseRoot(w, root);
    if (!spec.ok()) return spec.status();
    spec->file = path;
    spec->skipped = std::move(skipped);
    return spec;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
}

absl::StatusOr<StackSpec> ParseStackFile(const std::string& path,
                                         const ParseOptions& options) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseStackText(buf.str(), path, options);
}

}  // namespace evbus::stack
