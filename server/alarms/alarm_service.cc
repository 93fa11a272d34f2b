#include "server/alarms/alarm_service.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/alarms/alarm_config.h"
#include "server/alarms/format.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/common/logging.h"
#include "server/storage/keys.h"

namespace evbus::alarms {
namespace {

constexpr char kAlarmKind[] = "alarm";
constexpr char kAlarmType[] = "MetricAlarm";
constexpr char kCompositeType[] = "CompositeAlarm";
constexpr char kConfigurationUpdate[] = "ConfigurationUpdate";
constexpr char kStateUpdate[] = "StateUpdate";
constexpr char kAction[] = "Action";
constexpr char kCreationReason[] = "Unchecked: Initial alarm creation";
constexpr char kStateGauge[] = "evbus_alarm_state";
constexpr char kStateChanges[] = "evbus_alarm_state_changes_total";
constexpr size_t kMaxNamesPerCall = 100;
constexpr int kDefaultDescribeAlarmsRecords = 50;
constexpr int kDefaultHistoryRecords = 100;
constexpr int kMaxRecords = 100;
constexpr size_t kMaxStateReasonLength = 1023;
constexpr size_t kMaxStateReasonDataLength = 4000;

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

bool IsComposite(const evbus::v1::MetricAlarm& a) {
  return !a.alarm_rule().empty();
}

// ActionsSuppressedBy values.
constexpr char kSuppressedByWait[] = "WaitPeriod";
constexpr char kSuppressedByExtension[] = "ExtensionPeriod";
constexpr char kSuppressedByAlarm[] = "Alarm";

// Sets what suppresses `a`'s actions ("" = nothing) and until when (ms; 0
// for the suppressor's ALARM state, which has no set end).
void SetSuppression(evbus::v1::MetricAlarm& a, absl::string_view by,
                    int64_t until_ms) {
  a.set_actions_suppressed_by(std::string(by));
  a.set_actions_suppressed_reason(
      by.empty() ? "" : absl::StrCat("Actions suppressed by ", by));
  a.set_actions_suppressed_until_ms(until_ms);
}

absl::Status Validation(absl::string_view message) {
  return common::AwsError(absl::StatusCode::kInvalidArgument, "ValidationError",
                          message);
}

absl::Time FloorMinute(absl::Time t) {
  int64_t s = absl::ToUnixSeconds(t);
  int64_t m = s / 60;
  if (s % 60 < 0) --m;
  return absl::FromUnixSeconds(m * 60);
}

// "h" 0x00 alarm 0x00: every history item of one alarm.
std::string HistoryPrefix(absl::string_view alarm) {
  std::string key = "h";
  key.push_back(storage::keys::kSeparator);
  key.append(alarm.data(), alarm.size());
  key.push_back(storage::keys::kSeparator);
  return key;
}

std::string AllHistoryPrefix() {
  std::string key = "h";
  key.push_back(storage::keys::kSeparator);
  return key;
}

std::string HistoryKey(absl::string_view alarm, int64_t ms, uint64_t seq) {
  std::string key = HistoryPrefix(alarm);
  storage::keys::AppendBigEndian64(&key, static_cast<uint64_t>(ms));
  storage::keys::AppendBigEndian64(&key, seq);
  return key;
}

// Common "ValidationError" from Coral constraint clauses.
absl::Status ConstraintError(const std::vector<std::string>& clauses) {
  std::string message =
      clauses.size() == 1
          ? absl::StrCat("1 validation error detected: ", clauses[0])
          : absl::StrCat(clauses.size(), " validation errors detected: ",
                         absl::StrJoin(clauses, "; "));
  return common::AwsError(absl::StatusCode::kInvalidArgument, "ValidationError",
                          message);
}

std::string NullClause(absl::string_view path) {
  return absl::StrCat("Value null at '", path,
                      "' failed to satisfy constraint: Member must not be "
                      "null");
}

void CheckMaxRecords(int32_t max_records, std::vector<std::string>& clauses) {
  if (max_records < 0) {
    clauses.push_back(
        common::ConstraintClause(absl::StrCat(max_records), "maxRecords",
                                 "have value greater than or equal to 1"));
  } else if (max_records > kMaxRecords) {
    clauses.push_back(common::ConstraintClause(
        absl::StrCat(max_records), "maxRecords",
        absl::StrCat("have value less than or equal to ", kMaxRecords)));
  }
}

void CheckNameCount(const std::vector<std::string>& names,
                    std::vector<std::string>& clauses) {
  if (names.size() > kMaxNamesPerCall) {
    clauses.push_back(common::ConstraintClause(
        absl::StrCat("[", absl::StrJoin(names, ", "), "]"), "alarmNames",
        absl::StrCat("have length less than or equal to ", kMaxNamesPerCall)));
  }
}

// ValidatePutMetricAlarm's plain InvalidArgument → CloudWatch's exception.
absl::Status PutAlarmError(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kInvalidArgument) return s;
  absl::string_view m = s.message();
  absl::string_view exception = "ValidationError";
  if (absl::StartsWith(m, "Exactly one of Statistic or ExtendedStatistic") ||
      absl::StartsWith(m, "The parameters MetricName and Namespace") ||
      absl::StrContains(m, "(ThresholdMetricId)")) {
    exception = "InvalidParameterCombination";
  } else if (absl::StartsWith(m, "The value ") ||
             absl::StartsWith(m, "Option ") ||
             absl::StartsWith(m, "The parameter Threshold must be a finite")) {
    exception = "InvalidParameterValue";
  }
  return common::AwsError(absl::StatusCode::kInvalidArgument, exception, m);
}

// Whether a Put*AlarmRequest names `field` among the optional fields given.
template <typename Request>
bool IsPresent(const Request& request, absl::string_view field) {
  return std::find(request.present().begin(), request.present().end(), field) !=
         request.present().end();
}

std::vector<std::string> ToVector(
    const google::protobuf::RepeatedPtrField<std::string>& list) {
  return {list.begin(), list.end()};
}

MetricQuery QueryFromProto(const evbus::v1::MetricDataQuery& q) {
  MetricQuery out;
  out.id = q.id();
  out.label = q.label();
  if (q.has_return_data()) out.return_data = q.return_data();
  out.expression = q.expression();
  if (q.period() != 0) out.period = q.period();
  if (q.has_metric_stat()) {
    const evbus::v1::MetricStat& m = q.metric_stat();
    out.has_metric_stat = true;
    out.metric_namespace = m.metric().namespace_();
    out.metric_name = m.metric().metric_name();
    for (const evbus::v1::Dimension& d : m.metric().dimensions()) {
      out.dimensions.push_back({d.name(), d.value()});
    }
    if (m.period() != 0) out.period = m.period();
    out.stat = m.stat();
    out.unit = m.unit();
  }
  return out;
}

void QueryToProto(const MetricQuery& q, evbus::v1::MetricDataQuery* out) {
  out->set_id(q.id);
  out->set_label(q.label);
  if (q.return_data.has_value()) out->set_return_data(*q.return_data);
  out->set_expression(q.expression);
  if (!q.has_metric_stat) return;
  evbus::v1::MetricStat* m = out->mutable_metric_stat();
  m->mutable_metric()->set_namespace_(q.metric_namespace);
  m->mutable_metric()->set_metric_name(q.metric_name);
  for (const Dimension& d : q.dimensions) {
    evbus::v1::Dimension* dim = m->mutable_metric()->add_dimensions();
    dim->set_name(d.name);
    dim->set_value(d.value);
  }
  m->set_period(static_cast<int32_t>(q.period.value_or(0)));
  m->set_stat(q.stat);
  m->set_unit(q.unit);
}

// The proto as a validation request. With `all_present` (a stored alarm)
// every optional field counts as given.
PutMetricAlarmRequest ToRequest(const evbus::v1::MetricAlarm& a,
                                const evbus::v1::PutMetricAlarmRequest* put) {
  auto given = [&](absl::string_view field) {
    return put == nullptr || IsPresent(*put, field);
  };
  PutMetricAlarmRequest r;
  if (given("alarm_name") || !a.alarm_name().empty()) {
    r.alarm_name = a.alarm_name();
  }
  if (!a.alarm_description().empty()) {
    r.alarm_description = a.alarm_description();
  }
  if (given("actions_enabled")) r.actions_enabled = a.actions_enabled();
  r.ok_actions = ToVector(a.ok_actions());
  r.alarm_actions = ToVector(a.alarm_actions());
  r.insufficient_data_actions = ToVector(a.insufficient_data_actions());
  if (!a.namespace_().empty()) r.metric_namespace = a.namespace_();
  if (!a.metric_name().empty()) r.metric_name = a.metric_name();
  for (const evbus::v1::Dimension& d : a.dimensions()) {
    r.dimensions.push_back({d.name(), d.value()});
  }
  if (!a.statistic().empty()) r.statistic = a.statistic();
  if (!a.extended_statistic().empty()) {
    r.extended_statistic = a.extended_statistic();
  }
  // A metric math alarm keeps no period of its own (its queries have it).
  const bool math = a.metrics_size() > 0;
  if ((given("period") && !math) || a.period() != 0) r.period = a.period();
  for (const evbus::v1::MetricDataQuery& q : a.metrics()) {
    r.metrics.push_back(QueryFromProto(q));
  }
  if (!a.unit().empty()) r.unit = a.unit();
  if (given("evaluation_periods") || a.evaluation_periods() != 0) {
    r.evaluation_periods = a.evaluation_periods();
  }
  if (given("datapoints_to_alarm") || a.datapoints_to_alarm() != 0) {
    r.datapoints_to_alarm = a.datapoints_to_alarm();
  }
  if (given("threshold") || a.threshold() != 0) r.threshold = a.threshold();
  if (!a.comparison_operator().empty()) {
    r.comparison_operator = a.comparison_operator();
  }
  if (given("treat_missing_data") || !a.treat_missing_data().empty()) {
    r.treat_missing_data = a.treat_missing_data();
  }
  if (!a.evaluate_low_sample_count_percentile().empty()) {
    r.evaluate_low_sample_count_percentile =
        a.evaluate_low_sample_count_percentile();
  }
  return r;
}

// The configuration fields of a MetricAlarm (defaults applied).
evbus::v1::MetricAlarm ToProto(const MetricAlarmConfig& c) {
  evbus::v1::MetricAlarm a;
  a.set_alarm_name(c.alarm_name);
  a.set_alarm_description(c.alarm_description);
  a.set_actions_enabled(c.actions_enabled);
  for (const std::string& s : c.ok_actions) a.add_ok_actions(s);
  for (const std::string& s : c.alarm_actions) a.add_alarm_actions(s);
  for (const std::string& s : c.insufficient_data_actions) {
    a.add_insufficient_data_actions(s);
  }
  a.set_namespace_(c.metric_namespace);
  a.set_metric_name(c.metric_name);
  for (const Dimension& d : c.dimensions) {
    evbus::v1::Dimension* out = a.add_dimensions();
    out->set_name(d.name);
    out->set_value(d.value);
  }
  a.set_statistic(c.statistic);
  a.set_extended_statistic(c.extended_statistic);
  if (c.metrics.empty()) a.set_period(c.period);
  for (const MetricQuery& q : c.metrics) QueryToProto(q, a.add_metrics());
  a.set_unit(c.unit);
  a.set_evaluation_periods(c.evaluation_periods);
  a.set_datapoints_to_alarm(c.datapoints_to_alarm);
  a.set_threshold(c.threshold);
  a.set_comparison_operator(
      std::string(ComparisonOperatorName(c.comparison_operator)));
  a.set_treat_missing_data(
      std::string(TreatMissingDataName(c.treat_missing_data)));
  a.set_evaluate_low_sample_count_percentile(
      c.evaluate_low_sample_count_percentile);
  return a;
}

// The alarm's configuration as CloudWatch's history documents show it.
common::Json ConfigJson(const evbus::v1::MetricAlarm& a) {
  auto list = [](const google::protobuf::RepeatedPtrField<std::string>& l) {
    common::Json out = common::Json::array();
    for (const std::string& s : l) out.push_back(s);
    return out;
  };
  common::Json j = common::Json::object();
  j["alarmName"] = a.alarm_name();
  j["alarmArn"] = a.alarm_arn();
  if (!a.alarm_description().empty()) {
    j["alarmDescription"] = a.alarm_description();
  }
  j["actionsEnabled"] = a.actions_enabled();
  j["okActions"] = list(a.ok_actions());
  j["alarmActions"] = list(a.alarm_actions());
  j["insufficientDataActions"] = list(a.insufficient_data_actions());
  if (IsComposite(a)) {
    j["alarmRule"] = a.alarm_rule();
    return j;
  }
  auto dimensions = [](const auto& given) {
    common::Json dims = common::Json::array();
    for (const evbus::v1::Dimension& d : given) {
      dims.push_back({{"name", d.name()}, {"value", d.value()}});
    }
    return dims;
  };
  if (a.metrics_size() > 0) {
    common::Json metrics = common::Json::array();
    for (const evbus::v1::MetricDataQuery& q : a.metrics()) {
      common::Json m = common::Json::object();
      m["id"] = q.id();
      if (!q.expression().empty()) {
        m["expression"] = q.expression();
      } else {
        const evbus::v1::MetricStat& stat = q.metric_stat();
        m["metricStat"] = {
            {"metric",
             {{"namespace", stat.metric().namespace_()},
              {"metricName", stat.metric().metric_name()},
              {"dimensions", dimensions(stat.metric().dimensions())}}},
            {"period", stat.period()},
            {"stat", stat.stat()}};
        if (!stat.unit().empty()) m["metricStat"]["unit"] = stat.unit();
      }
      if (!q.label().empty()) m["label"] = q.label();
      m["returnData"] = !q.has_return_data() || q.return_data();
      metrics.push_back(std::move(m));
    }
    j["metrics"] = std::move(metrics);
  } else {
    j["namespace"] = a.namespace_();
    j["metricName"] = a.metric_name();
    j["dimensions"] = dimensions(a.dimensions());
    if (!a.statistic().empty()) {
      j["statistic"] = a.statistic();
    } else {
      j["extendedStatistic"] = a.extended_statistic();
    }
    j["period"] = a.period();
    if (!a.unit().empty()) j["unit"] = a.unit();
  }
  j["evaluationPeriods"] = a.evaluation_periods();
  j["datapointsToAlarm"] = a.datapoints_to_alarm();
  j["threshold"] = a.threshold();
  j["comparisonOperator"] = a.comparison_operator();
  j["treatMissingData"] = a.treat_missing_data();
  if (!a.evaluate_low_sample_count_percentile().empty()) {
    j["evaluateLowSampleCountPercentile"] =
        a.evaluate_low_sample_count_percentile();
  }
  return j;
}

std::string CreatedData(const evbus::v1::MetricAlarm& a) {
  common::Json j = common::Json::object();
  j["type"] = "Create";
  j["version"] = "1.0";
  j["createdAlarm"] = ConfigJson(a);
  return common::DumpJson(j);
}

// {"type":"Update","version":"1.0","originalUpdatedFields":{old values of
// the changed fields},"updatedAlarm":{...}}.
std::string UpdatedData(const evbus::v1::MetricAlarm& before,
                        const evbus::v1::MetricAlarm& after) {
  common::Json old_json = ConfigJson(before);
  common::Json new_json = ConfigJson(after);
  common::Json changed = common::Json::object();
  for (auto it = old_json.begin(); it != old_json.end(); ++it) {
    if (!new_json.contains(it.key()) || new_json[it.key()] != it.value()) {
      changed[it.key()] = it.value();
    }
  }
  common::Json j = common::Json::object();
  j["type"] = "Update";
  j["version"] = "1.0";
  j["originalUpdatedFields"] = std::move(changed);
  j["updatedAlarm"] = std::move(new_json);
  return common::DumpJson(j);
}

std::string StateUpdateData(const std::string& old_state,
                            const std::string& old_reason,
                            const std::string& new_state,
                            const std::string& new_reason,
                            const std::string& new_reason_data) {
  common::Json j = common::Json::object();
  j["version"] = "1.0";
  j["oldState"] = {{"stateValue", old_state}, {"stateReason", old_reason}};
  common::Json n = common::Json::object();
  n["stateValue"] = new_state;
  n["stateReason"] = new_reason;
  if (!new_reason_data.empty()) {
    absl::StatusOr<common::Json> data =
        common::ParseJson(new_reason_data, "StateReasonData");
    if (data.ok()) n["stateReasonData"] = *std::move(data);
  }
  j["newState"] = std::move(n);
  return common::DumpJson(j);
}

std::vector<std::string> ActionsOf(const evbus::v1::MetricAlarm& a,
                                   AlarmState state) {
  switch (state) {
    case AlarmState::kOk:
      return ToVector(a.ok_actions());
    case AlarmState::kAlarm:
      return ToVector(a.alarm_actions());
    case AlarmState::kInsufficientData:
      return ToVector(a.insufficient_data_actions());
  }
  return {};
}

bool HasActionWithPrefix(const evbus::v1::MetricAlarm& a,
                         absl::string_view prefix) {
  for (const auto* list :
       {&a.ok_actions(), &a.alarm_actions(), &a.insufficient_data_actions()}) {
    for (const std::string& s : *list) {
      if (absl::StartsWith(s, prefix)) return true;
    }
  }
  return false;
}

absl::StatusOr<AlarmState> CurrentState(const evbus::v1::MetricAlarm& a) {
  return ParseAlarmState(a.state_value());
}

// Validates a stored or requested configuration into evaluation inputs.
absl::Status Derive(const MetricAlarmConfig& config,
                    EvaluationConfig* evaluation,
                    metricstore::StatisticSpec* statistic,
                    std::vector<AlarmService::MathQuery>* math) {
  *evaluation = config.ToEvaluationConfig();
  math->clear();
  if (config.metrics.empty()) {
    absl::StatusOr<metricstore::StatisticSpec> spec =
        metricstore::ParseStatisticName(config.statistic_name());
    if (!spec.ok()) return spec.status();
    *statistic = *std::move(spec);
    return absl::OkStatus();
  }
  for (const MetricQuery& q : config.metrics) {
    AlarmService::MathQuery m;
    m.input.id = q.id;
    m.input.label = q.label;
    m.return_data = q.return_data.value_or(true);
    if (q.has_metric_stat) {
      absl::StatusOr<metricstore::StatisticSpec> spec =
          metricstore::ParseStatisticName(q.stat);
      if (!spec.ok()) return spec.status();
      m.statistic = *std::move(spec);
      m.input.series.emplace();
      m.metric_namespace = q.metric_namespace;
      m.metric_name = q.metric_name;
      for (const Dimension& d : q.dimensions) {
        evbus::v1::Dimension& dim = m.dimensions.emplace_back();
        dim.set_name(d.name);
        dim.set_value(d.value);
      }
    } else {
      absl::StatusOr<metricmath::Expression> e =
          metricmath::Expression::Parse(q.expression);
      if (!e.ok()) return e.status();
      m.input.expression = *std::move(e);
    }
    math->push_back(std::move(m));
  }
  return absl::OkStatus();
}

// History paging position: (ms, seq) of the last item returned.
struct HistoryPosition {
  int64_t ms = 0;
  uint64_t seq = 0;
  bool operator<(const HistoryPosition& o) const {
    return std::tie(ms, seq) < std::tie(o.ms, o.seq);
  }
};

std::optional<HistoryPosition> ParseHistoryToken(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '-');
  HistoryPosition p;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &p.ms) ||
      !absl::SimpleAtoi(parts[1], &p.seq)) {
    return std::nullopt;
  }
  return p;
}

}  // namespace

AlarmService::AlarmService(storage::Store& store, common::Clock& clock,
                           metrics::Registry& registry, MetricSource& source,
                           AlarmNotifier& notifier, AlarmServiceOptions options)
    : store_(store),
      clock_(clock),
      registry_(registry),
      source_(source),
      notifier_(notifier),
      options_(std::move(options)) {
  // History keys of one millisecond are ordered by this sequence. Seeded from
  // the system clock (an ordering seed, not a time) so that it keeps
  // increasing across restarts even with a manual clock.
  history_seq_ = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  actions_ok_ =
      registry_.GetCounter("evbus_alarm_actions_total",
                           "Alarm actions run, by result.", {{"result", "ok"}});
  actions_failed_ = registry_.GetCounter("evbus_alarm_actions_total",
                                         "Alarm actions run, by result.",
                                         {{"result", "failed"}});
}

AlarmService::~AlarmService() { Stop(); }

std::string AlarmService::AlarmArn(const std::string& name) const {
  return absl::StrCat("arn:aws:cloudwatch:", options_.region, ":",
                      options_.account, ":alarm:", name);
}

void AlarmService::SetStateGauges(const std::string& alarm,
                                  const std::string& state) {
  for (absl::string_view s : {"OK", "ALARM", "INSUFFICIENT_DATA"}) {
    registry_
        .GetGauge(kStateGauge,
                  "1 for the alarm's current state, 0 for the other two.",
                  {{"alarm", alarm}, {"state", std::string(s)}})
        .Set(s == state ? 1 : 0);
  }
}

absl::Status AlarmService::Load() {
  std::vector<evbus::v1::MetricAlarm> stored;
  std::string prefix = storage::keys::CatalogPrefix(kAlarmKind);
  absl::Status s = store_.Scan(
      storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
      [&](absl::string_view key, absl::string_view value) {
        evbus::v1::MetricAlarm a;
        if (!a.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          EVBUS_LOG(WARNING)
              << "alarm record " << absl::CHexEscape(key.substr(prefix.size()))
              << " does not parse; skipped";
          return true;
        }
        stored.push_back(std::move(a));
        return true;
      });
  if (!s.ok()) return s;
  std::map<std::string, Entry> loaded;
  for (evbus::v1::MetricAlarm& a : stored) {
    Entry e;
    absl::Status d;
    if (IsComposite(a)) {
      absl::StatusOr<AlarmRule> rule = AlarmRule::Parse(a.alarm_rule());
      d = rule.status();
      if (rule.ok()) {
        for (const std::string& c : rule->children()) {
          e.children.push_back(ChildName(c));
        }
        e.rule = *std::move(rule);
      }
    } else {
      absl::StatusOr<MetricAlarmConfig> config =
          ValidatePutMetricAlarm(ToRequest(a, nullptr));
      d = config.ok() ? Derive(*config, &e.evaluation, &e.statistic, &e.math)
                      : config.status();
    }
    if (d.ok()) d = CurrentState(a).status();
    if (!d.ok()) {
      EVBUS_LOG(WARNING) << "alarm " << a.alarm_name() << " skipped: " << d;
      continue;
    }
    e.alarm = std::move(a);
    std::string name = e.alarm.alarm_name();
    loaded.emplace(std::move(name), std::move(e));
  }
  absl::MutexLock lock(&mu_);
  alarms_.clear();
  for (auto& [name, e] : loaded) {
    e.generation = next_generation_++;
    SetStateGauges(name, e.alarm.state_value());
    alarms_.emplace(name, std::move(e));
  }
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status AlarmService::Start() {
  bool need_load = false;
  {
    absl::MutexLock lock(&mu_);
    if (started_ || stopping_) {
      return absl::FailedPreconditionError(
          "alarm service already started or stopped");
    }
    need_load = !loaded_;
  }
  if (need_load) {
    absl::Status s = Load();
    if (!s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  started_ = true;
  cursor_ = FloorMinute(clock_.Now());
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void AlarmService::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AlarmService::Poke() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void AlarmService::Loop() {
  absl::Time next_trim = absl::InfinitePast();
  for (;;) {
    absl::Time now = clock_.Now();
    absl::Time minute = FloorMinute(now);
    absl::Time cursor;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      cursor = cursor_;
    }
    if (minute > cursor) {
      absl::Time first = cursor + absl::Minutes(1);
      const int64_t crossed = (minute - cursor) / absl::Minutes(1);
      const int64_t cap = std::max(options_.max_catch_up_minutes, 1);
      if (crossed > cap) {
        EVBUS_LOG(WARNING) << "alarm evaluation skips " << crossed - cap
                           << " minutes after a clock jump";
        first = minute - absl::Minutes(cap - 1);
      }
      for (absl::Time m = first; m <= minute; m += absl::Minutes(1)) {
        {
          absl::MutexLock lock(&mu_);
          if (stopping_) return;
        }
        EvaluateMinute(m, /*all=*/false);
        absl::MutexLock lock(&mu_);
        cursor_ = m;
      }
    }
    if (now >= next_trim) {
      TrimHistory(now);
      next_trim = now + absl::Hours(1);
    }
    ExpireSuppressions(clock_.Now());
    // Wake at the next minute boundary or the end of a suppression period
    // (a real clock), on Poke or Stop, or after idle_poll at the latest.
    absl::Time next_end;
    {
      absl::MutexLock lock(&mu_);
      next_end = NextSuppressionEndLocked();
    }
    absl::Duration wait =
        std::min({options_.idle_poll, minute + absl::Minutes(1) - clock_.Now(),
                  next_end - clock_.Now()});
    wait = std::max(wait, absl::Milliseconds(1));
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return wake_ || stopping_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
    if (stopping_) return;
    wake_ = false;
  }
}

void AlarmService::EvaluateForTesting(absl::Time minute_end) {
  EvaluateMinute(FloorMinute(minute_end), /*all=*/true);
}

absl::StatusOr<std::vector<Bucket>> AlarmService::MetricBuckets(
    const std::string& ns, const std::string& name,
    const std::vector<evbus::v1::Dimension>& dims,
    const metricstore::StatisticSpec& statistic, absl::Time minute_end,
    absl::Duration width, int range) {
  const absl::Time start = minute_end - width * range;
  absl::StatusOr<std::vector<std::pair<absl::Time, metricstore::Aggregate>>>
      minutes = source_.Query(ns, name, dims, start, minute_end);
  if (!minutes.ok()) return minutes.status();
  std::vector<std::optional<metricstore::Aggregate>> merged(
      static_cast<size_t>(range));
  for (const auto& [t, aggregate] : *minutes) {
    if (t < start || t >= minute_end) continue;
    // Bucket k covers [M-(k+1)·P, M-k·P).
    const int64_t k = (minute_end - t - absl::Nanoseconds(1)) / width;
    if (k < 0 || k >= range) continue;
    std::optional<metricstore::Aggregate>& slot =
        merged[static_cast<size_t>(k)];
    if (!slot.has_value()) {
      slot = aggregate;
    } else {
      slot->Merge(aggregate);
    }
  }
  std::vector<Bucket> buckets(static_cast<size_t>(range));
  for (int k = 0; k < range; ++k) {
    Bucket& b = buckets[static_cast<size_t>(k)];
    b.start = minute_end - width * (k + 1);
    const std::optional<metricstore::Aggregate>& a =
        merged[static_cast<size_t>(k)];
    if (!a.has_value() || a->empty()) continue;
    b.value = metricstore::StatisticValue(*a, statistic);
    if (b.value.has_value()) b.sample_count = a->sample_count;
  }
  return buckets;
}

absl::StatusOr<std::vector<Bucket>> AlarmService::MathBuckets(
    const std::vector<MathQuery>& math, absl::Time minute_end,
    absl::Duration width, int range) {
  // The grid runs oldest first; buckets are newest first.
  metricmath::Grid grid{
      .start = minute_end - width * range, .period = width, .count = range};
  std::vector<metricmath::QueryInput> inputs;
  size_t returned = 0;
  for (size_t i = 0; i < math.size(); ++i) {
    const MathQuery& q = math[i];
    metricmath::QueryInput in = q.input;
    if (q.return_data) returned = i;
    if (in.series.has_value()) {
      absl::StatusOr<std::vector<Bucket>> b =
          MetricBuckets(q.metric_namespace, q.metric_name, q.dimensions,
                        q.statistic, minute_end, width, range);
      if (!b.ok()) return b.status();
      in.series->assign(static_cast<size_t>(range), std::nullopt);
      for (int k = 0; k < range; ++k) {
        (*in.series)[static_cast<size_t>(range - 1 - k)] =
            (*b)[static_cast<size_t>(k)].value;
      }
    }
    inputs.push_back(std::move(in));
  }
  absl::StatusOr<std::vector<metricmath::Value>> values =
      metricmath::EvaluateQueries(grid, inputs);
  if (!values.ok()) return values.status();
  absl::StatusOr<metricmath::Series> series =
      (*values)[returned].AsSeries(grid);
  if (!series.ok()) return series.status();
  std::vector<Bucket> buckets(static_cast<size_t>(range));
  for (int k = 0; k < range; ++k) {
    Bucket& b = buckets[static_cast<size_t>(k)];
    b.start = minute_end - width * (k + 1);
    b.value = (*series)[static_cast<size_t>(range - 1 - k)];
  }
  return buckets;
}

void AlarmService::EvaluateMinute(absl::Time minute_end, bool all) {
  struct Work {
    std::string name;
    uint64_t generation;
    evbus::v1::MetricAlarm alarm;
    EvaluationConfig evaluation;
    metricstore::StatisticSpec statistic;
    std::vector<MathQuery> math;
  };
  std::vector<Work> work;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, e] : alarms_) {
      if (e.rule.has_value()) continue;  // composites: PropagateLocked
      if (!all && minute_end < e.not_before) continue;
      work.push_back(
          {name, e.generation, e.alarm, e.evaluation, e.statistic, e.math});
    }
  }
  if (work.empty()) return;
  // The query time: now when evaluating the current minute, else the minute
  // end (catching up after a clock jump, or a test).
  const absl::Time now = clock_.Now();
  const absl::Time query_time =
      now >= minute_end && now < minute_end + absl::Minutes(1) ? now
                                                               : minute_end;

  struct Outcome {
    std::string name;
    uint64_t generation;
    Decision decision;
  };
  std::vector<Outcome> outcomes;
  for (Work& w : work) {
    const int range = EvaluationRange(w.evaluation.evaluation_periods);
    // Buckets are at least a minute wide: the metric store keeps minutes.
    const absl::Duration width =
        absl::Seconds(std::max(w.evaluation.period_seconds, 60));
    absl::StatusOr<std::vector<Bucket>> buckets =
        w.math.empty()
            ? MetricBuckets(
                  w.alarm.namespace_(), w.alarm.metric_name(),
                  {w.alarm.dimensions().begin(), w.alarm.dimensions().end()},
                  w.statistic, minute_end, width, range)
            : MathBuckets(w.math, minute_end, width, range);
    if (!buckets.ok()) {
      EVBUS_LOG(WARNING) << "alarm " << w.name
                         << ": metric query failed: " << buckets.status();
      continue;
    }
    absl::StatusOr<AlarmState> current = CurrentState(w.alarm);
    absl::StatusOr<Decision> decision = Evaluate(
        w.evaluation, *buckets,
        current.ok() ? *current : AlarmState::kInsufficientData, query_time);
    if (!decision.ok()) {
      EVBUS_LOG(WARNING) << "alarm " << w.name
                         << ": evaluation failed: " << decision.status();
      continue;
    }
    outcomes.push_back({w.name, w.generation, *std::move(decision)});
  }

  std::vector<PendingActions> pending;
  {
    absl::MutexLock lock(&mu_);
    storage::WriteBatch batch;
    bool transitions = false;
    std::vector<std::pair<std::string, evbus::v1::MetricAlarm>> updated;
    std::vector<PendingActions> candidates;
    for (Outcome& o : outcomes) {
      auto it = alarms_.find(o.name);
      // Deleted or reconfigured meanwhile: the next minute decides.
      if (it == alarms_.end() || it->second.generation != o.generation) {
        continue;
      }
      evbus::v1::MetricAlarm a = it->second.alarm;
      a.set_last_evaluated_ms(Ms(minute_end));
      const Decision& d = o.decision;
      // Compare with the state now: a SetAlarmState may have run meanwhile.
      if (!d.no_change && AlarmStateName(d.state) != a.state_value()) {
        candidates.push_back(TransitionLocked(
            a, d.state, d.reason, d.reason_data_json, Ms(query_time), batch));
        candidates.back().generation = o.generation;
        transitions = true;
      }
      batch.Put(storage::Family::kCatalog,
                storage::keys::CatalogKey(kAlarmKind, o.name),
                a.SerializeAsString());
      updated.emplace_back(o.name, std::move(a));
    }
    if (batch.Empty()) return;
    absl::Status w = store_.Write(batch, /*sync=*/transitions);
    if (!w.ok()) {
      // Memory is unchanged; the next minute tries again.
      EVBUS_LOG(ERROR) << "alarm evaluation at " << Ms(minute_end)
                       << " not recorded: " << w;
      return;
    }
    for (auto& [name, a] : updated) CommitLocked(alarms_[name], std::move(a));
    pending = std::move(candidates);
    std::vector<std::string> changed;
    for (const PendingActions& p : pending) {
      changed.push_back(p.alarm.alarm_name());
    }
    if (!changed.empty()) {
      std::vector<PendingActions> above =
          PropagateLocked(std::move(changed), {}, Ms(query_time));
      std::move(above.begin(), above.end(), std::back_inserter(pending));
    }
  }
  RunActions(std::move(pending));
}

AlarmService::PendingActions AlarmService::TransitionLocked(
    evbus::v1::MetricAlarm& alarm, AlarmState state, const std::string& reason,
    const std::string& reason_data, int64_t ms, storage::WriteBatch& batch) {
  PendingActions p;
  p.before = alarm;
  const std::string old_state = alarm.state_value();
  const std::string old_reason = alarm.state_reason();
  const std::string new_state(AlarmStateName(state));
  alarm.set_state_value(new_state);
  alarm.set_state_reason(reason);
  alarm.set_state_reason_data(reason_data);
  alarm.set_state_updated_ms(ms);
  alarm.set_state_transitioned_ms(ms);
  AddHistoryLocked(
      batch, alarm, ms, kStateUpdate,
      absl::StrCat("Alarm updated from ", old_state, " to ", new_state),
      StateUpdateData(old_state, old_reason, new_state, reason, reason_data));
  p.alarm = alarm;
  if (alarm.actions_enabled()) p.actions = ActionsOf(alarm, state);
  p.ms = ms;
  return p;
}

void AlarmService::CommitLocked(Entry& entry, evbus::v1::MetricAlarm alarm) {
  const bool changed = entry.alarm.state_value() != alarm.state_value();
  entry.alarm = std::move(alarm);
  if (changed) {
    SetStateGauges(entry.alarm.alarm_name(), entry.alarm.state_value());
    registry_
        .GetCounter(kStateChanges, "Alarm state transitions.",
                    {{"alarm", entry.alarm.alarm_name()}})
        .Increment();
  }
}

void AlarmService::AddHistoryLocked(storage::WriteBatch& batch,
                                    const evbus::v1::MetricAlarm& alarm,
                                    int64_t ms, const std::string& type,
                                    const std::string& summary,
                                    const std::string& data) {
  evbus::v1::AlarmHistoryItem item;
  item.set_alarm_name(alarm.alarm_name());
  item.set_alarm_type(IsComposite(alarm) ? kCompositeType : kAlarmType);
  item.set_timestamp_ms(ms);
  item.set_history_item_type(type);
  item.set_history_summary(summary);
  item.set_history_data(data);
  batch.Put(storage::Family::kMetrics,
            HistoryKey(alarm.alarm_name(), ms, history_seq_++),
            item.SerializeAsString());
}

void AlarmService::RunActions(std::vector<PendingActions> pending) {
  for (PendingActions& p : pending) {
    std::vector<std::string> results =
        notifier_.StateChanged(p.alarm, p.before, p.actions);
    if (p.actions.empty()) continue;
    absl::MutexLock lock(&mu_);
    auto it = alarms_.find(p.alarm.alarm_name());
    const bool exists =
        it != alarms_.end() && it->second.generation == p.generation;
    storage::WriteBatch batch;
    for (size_t i = 0; i < p.actions.size(); ++i) {
      const std::string& arn = p.actions[i];
      const std::string error = i < results.size() ? results[i] : "";
      common::Json data = common::Json::object();
      if (error.empty()) {
        actions_ok_.Increment();
        data["actionState"] = "Succeeded";
        data["stateUpdateTimestamp"] = p.ms;
        data["notificationResource"] = arn;
      } else {
        actions_failed_.Increment();
        data["actionState"] = "Failed";
        data["stateUpdateTimestamp"] = p.ms;
        data["notificationResource"] = arn;
        data["error"] = error;
      }
      if (!exists) continue;  // deleted meanwhile: its history is gone
      AddHistoryLocked(batch, p.alarm, p.ms, kAction,
                       error.empty()
                           ? absl::StrCat("Successfully executed action ", arn)
                           : absl::StrCat("Failed to execute action ", arn,
                                          ". Received error: \"", error, "\""),
                       common::DumpJson(data));
    }
    if (batch.Empty()) continue;
    absl::Status w = store_.Write(batch, /*sync=*/false);
    if (!w.ok()) {
      EVBUS_LOG(ERROR) << "alarm " << p.alarm.alarm_name()
                       << ": action history not recorded: " << w;
    }
  }
}

void AlarmService::TrimHistory(absl::Time now) {
  const int64_t cutoff = Ms(now - options_.history_retention);
  if (cutoff <= 0) return;
  storage::WriteBatch batch;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, e] : alarms_) {
      std::string begin = HistoryPrefix(name);
      std::string end = begin;
      storage::keys::AppendBigEndian64(&end, static_cast<uint64_t>(cutoff));
      batch.DeleteRange(storage::Family::kMetrics, begin, end);
    }
  }
  if (batch.Empty()) return;
  absl::Status w = store_.Write(batch, /*sync=*/false);
  if (!w.ok()) EVBUS_LOG(ERROR) << "alarm history trim failed: " << w;
}

void AlarmService::ConfigureLocked(evbus::v1::MetricAlarm& a,
                                   const evbus::v1::MetricAlarm* old,
                                   int64_t ms, storage::WriteBatch& batch) {
  const std::string& name = a.alarm_name();
  if (old == nullptr) {
    a.set_state_value(
        std::string(AlarmStateName(AlarmState::kInsufficientData)));
    a.set_state_reason(kCreationReason);
    a.set_state_updated_ms(ms);
    a.set_state_transitioned_ms(ms);
    AddHistoryLocked(batch, a, ms, kConfigurationUpdate,
                     absl::StrCat("Alarm \"", name, "\" created"),
                     CreatedData(a));
    return;
  }
  a.set_state_value(old->state_value());
  a.set_state_reason(old->state_reason());
  a.set_state_reason_data(old->state_reason_data());
  a.set_state_updated_ms(old->state_updated_ms());
  a.set_state_transitioned_ms(old->state_transitioned_ms());
  a.set_last_evaluated_ms(old->last_evaluated_ms());
  AddHistoryLocked(batch, a, ms, kConfigurationUpdate,
                   absl::StrCat("Alarm \"", name, "\" updated"),
                   UpdatedData(*old, a));
}

absl::Status AlarmService::CheckPutMetricAlarm(
    const evbus::v1::PutMetricAlarmRequest& request) {
  absl::StatusOr<MetricAlarmConfig> config =
      ValidatePutMetricAlarm(ToRequest(request.alarm(), &request));
  if (!config.ok()) return PutAlarmError(config.status());
  EvaluationConfig evaluation;
  metricstore::StatisticSpec statistic;
  std::vector<MathQuery> math;
  absl::Status d = Derive(*config, &evaluation, &statistic, &math);
  return d.ok() ? absl::OkStatus() : PutAlarmError(d);
}

absl::Status AlarmService::PutMetricAlarm(
    const evbus::v1::PutMetricAlarmRequest& request) {
  absl::StatusOr<MetricAlarmConfig> config =
      ValidatePutMetricAlarm(ToRequest(request.alarm(), &request));
  if (!config.ok()) return PutAlarmError(config.status());
  Entry fresh;
  absl::Status d =
      Derive(*config, &fresh.evaluation, &fresh.statistic, &fresh.math);
  if (!d.ok()) return PutAlarmError(d);

  const absl::Time now = clock_.Now();
  const int64_t ms = Ms(now);
  const std::string& name = config->alarm_name;
  evbus::v1::MetricAlarm a = ToProto(*config);
  a.set_alarm_arn(AlarmArn(name));
  a.set_configuration_updated_ms(ms);

  absl::MutexLock lock(&mu_);
  auto it = alarms_.find(name);
  if (it != alarms_.end() && it->second.rule.has_value()) {
    return Validation(absl::StrCat(
        "Alarm ", name,
        " is a composite alarm; PutMetricAlarm cannot replace it."));
  }
  storage::WriteBatch batch;
  ConfigureLocked(a, it == alarms_.end() ? nullptr : &it->second.alarm, ms,
                  batch);
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kAlarmKind, name), a.SerializeAsString());
  // A new alarm starts without tags (see BusService::CreateEventBus).
  if (it == alarms_.end()) {
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::TagKey(a.alarm_arn()));
  }
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  fresh.generation = next_generation_++;
  fresh.alarm = std::move(a);
  if (it == alarms_.end()) {
    fresh.not_before = FloorMinute(now) + absl::Minutes(1);
    SetStateGauges(name, fresh.alarm.state_value());
    alarms_.emplace(name, std::move(fresh));
  } else {
    fresh.not_before = it->second.not_before;
    it->second = std::move(fresh);
  }
  return absl::OkStatus();
}

bool AlarmService::SuppressTransition(evbus::v1::MetricAlarm& a,
                                      AlarmState target,
                                      bool suppressor_in_alarm, int64_t ms) {
  if (a.actions_suppressor().empty()) return false;
  if (suppressor_in_alarm) {
    SetSuppression(a, kSuppressedByAlarm, 0);
    return true;
  }
  if (target == AlarmState::kAlarm && a.actions_suppressor_wait_period() > 0) {
    SetSuppression(a, kSuppressedByWait,
                   ms + int64_t{a.actions_suppressor_wait_period()} * 1000);
    return true;
  }
  SetSuppression(a, "", 0);
  return false;
}

AlarmService::PendingActions AlarmService::HeldBackActions(
    const evbus::v1::MetricAlarm& before, evbus::v1::MetricAlarm& a,
    uint64_t generation, int64_t ms) {
  // With a state-change event ALARM -> ALARM stamped now, as CloudWatch
  // sends one when a WaitPeriod ends (its previous state says what held
  // the actions back).
  a.set_state_updated_ms(ms);
  PendingActions p;
  p.before = before;
  p.alarm = a;
  if (a.actions_enabled()) p.actions = ActionsOf(a, AlarmState::kAlarm);
  p.ms = ms;
  p.generation = generation;
  return p;
}

absl::Time AlarmService::NextSuppressionEndLocked() const {
  int64_t next = 0;
  for (const auto& [name, e] : alarms_) {
    const int64_t until = e.alarm.actions_suppressed_until_ms();
    if (until != 0 && (next == 0 || until < next)) next = until;
  }
  return next == 0 ? absl::InfiniteFuture() : absl::FromUnixMillis(next);
}

void AlarmService::ExpireSuppressionsForTesting() {
  ExpireSuppressions(clock_.Now());
}

void AlarmService::ExpireSuppressions(absl::Time now) {
  const int64_t ms = Ms(now);
  std::vector<PendingActions> pending;
  {
    absl::MutexLock lock(&mu_);
    storage::WriteBatch batch;
    std::map<std::string, evbus::v1::MetricAlarm> updated;
    for (const auto& [name, e] : alarms_) {
      const int64_t until = e.alarm.actions_suppressed_until_ms();
      if (until == 0 || until > ms) continue;
      evbus::v1::MetricAlarm a = e.alarm;
      SetSuppression(a, "", 0);
      // The period ran out with the alarm still in ALARM: its actions run.
      if (a.state_value() == AlarmStateName(AlarmState::kAlarm)) {
        pending.push_back(HeldBackActions(e.alarm, a, e.generation, ms));
      }
      batch.Put(storage::Family::kCatalog,
                storage::keys::CatalogKey(kAlarmKind, name),
                a.SerializeAsString());
      updated[name] = std::move(a);
    }
    if (batch.Empty()) return;
    absl::Status w = store_.Write(batch, /*sync=*/true);
    if (!w.ok()) {
      EVBUS_LOG(ERROR) << "alarm suppression ends not recorded: " << w;
      return;
    }
    for (auto& [name, a] : updated) CommitLocked(alarms_[name], std::move(a));
  }
  RunActions(std::move(pending));
}

std::string AlarmService::ChildName(const std::string& child) const {
  const std::string prefix = AlarmArn("");
  if (absl::StartsWith(child, prefix) && child.size() > prefix.size()) {
    return child.substr(prefix.size());
  }
  return child;
}

absl::StatusOr<AlarmRule> AlarmService::CheckPutCompositeAlarm(
    const evbus::v1::PutCompositeAlarmRequest& request) {
  const evbus::v1::MetricAlarm& in = request.alarm();
  PutCompositeAlarmRequest r;
  if (!in.alarm_name().empty()) r.alarm_name = in.alarm_name();
  if (!in.alarm_description().empty()) {
    r.alarm_description = in.alarm_description();
  }
  if (!in.alarm_rule().empty()) r.alarm_rule = in.alarm_rule();
  r.ok_actions = ToVector(in.ok_actions());
  r.alarm_actions = ToVector(in.alarm_actions());
  r.insufficient_data_actions = ToVector(in.insufficient_data_actions());
  if (!in.actions_suppressor().empty()) {
    r.actions_suppressor = in.actions_suppressor();
  }
  if (IsPresent(request, "actions_suppressor_wait_period")) {
    r.actions_suppressor_wait_period = in.actions_suppressor_wait_period();
  }
  if (IsPresent(request, "actions_suppressor_extension_period")) {
    r.actions_suppressor_extension_period =
        in.actions_suppressor_extension_period();
  }
  absl::StatusOr<AlarmRule> rule = ValidatePutCompositeAlarm(r);
  if (!rule.ok()) return Validation(rule.status().message());
  if (!in.namespace_().empty() || !in.metric_name().empty() ||
      in.dimensions_size() > 0 || !in.statistic().empty() ||
      !in.extended_statistic().empty() || in.period() != 0 ||
      !in.unit().empty() || in.evaluation_periods() != 0 ||
      in.datapoints_to_alarm() != 0 || in.threshold() != 0 ||
      !in.comparison_operator().empty() || !in.treat_missing_data().empty() ||
      !in.evaluate_low_sample_count_percentile().empty()) {
    return common::AwsError(
        absl::StatusCode::kInvalidArgument, "InvalidParameterCombination",
        "A composite alarm takes no metric fields (Namespace, MetricName, "
        "Dimensions, Statistic, Period, Threshold, ...); its AlarmRule "
        "decides its state.");
  }
  return rule;
}

absl::Status AlarmService::PutCompositeAlarm(
    const evbus::v1::PutCompositeAlarmRequest& request) {
  absl::StatusOr<AlarmRule> rule = CheckPutCompositeAlarm(request);
  if (!rule.ok()) return rule.status();
  const evbus::v1::MetricAlarm& in = request.alarm();
  const std::string& name = in.alarm_name();
  std::vector<std::string> children;
  for (const std::string& c : rule->children()) {
    children.push_back(ChildName(c));
  }
  const int64_t ms = Ms(clock_.Now());
  evbus::v1::MetricAlarm a;
  a.set_alarm_name(name);
  a.set_alarm_arn(AlarmArn(name));
  a.set_alarm_description(in.alarm_description());
  a.set_actions_enabled(!IsPresent(request, "actions_enabled") ||
                        in.actions_enabled());
  *a.mutable_ok_actions() = in.ok_actions();
  *a.mutable_alarm_actions() = in.alarm_actions();
  *a.mutable_insufficient_data_actions() = in.insufficient_data_actions();
  a.set_alarm_rule(in.alarm_rule());
  a.set_actions_suppressor(in.actions_suppressor());
  a.set_actions_suppressor_wait_period(in.actions_suppressor_wait_period());
  a.set_actions_suppressor_extension_period(
      in.actions_suppressor_extension_period());
  a.set_configuration_updated_ms(ms);
  const std::string suppressor = ChildName(in.actions_suppressor());

  std::vector<PendingActions> pending;
  {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> missing;
    for (size_t i = 0; i < children.size(); ++i) {
      if (alarms_.count(children[i]) == 0) {
        missing.push_back(rule->children()[i]);
      }
    }
    if (!missing.empty()) {
      return Validation(absl::StrCat(
          "Could not save the composite alarm as alarms [",
          absl::StrJoin(missing, ", "), "] in the alarm rule do not exist"));
    }
    if (!suppressor.empty() && alarms_.count(suppressor) == 0) {
      return Validation(absl::StrCat(
          "Could not save the composite alarm as the actions suppressor [",
          in.actions_suppressor(), "] does not exist"));
    }
    if (suppressor == name) {
      return Validation(
          "A composite alarm cannot be its own actions suppressor.");
    }
    auto it = alarms_.find(name);
    if (it != alarms_.end() && !it->second.rule.has_value()) {
      return Validation(absl::StrCat(
          "Alarm ", name,
          " is a metric alarm; PutCompositeAlarm cannot replace it."));
    }
    storage::WriteBatch batch;
    ConfigureLocked(a, it == alarms_.end() ? nullptr : &it->second.alarm, ms,
                    batch);
    // A running suppression goes on under the same suppressor; another
    // suppressor (or none) ends it.
    if (it != alarms_.end() &&
        ChildName(it->second.alarm.actions_suppressor()) == suppressor) {
      const evbus::v1::MetricAlarm& old = it->second.alarm;
      a.set_actions_suppressed_by(old.actions_suppressed_by());
      a.set_actions_suppressed_reason(old.actions_suppressed_reason());
      a.set_actions_suppressed_until_ms(old.actions_suppressed_until_ms());
    }
    batch.Put(storage::Family::kCatalog,
              storage::keys::CatalogKey(kAlarmKind, name),
              a.SerializeAsString());
    if (it == alarms_.end()) {
      batch.Delete(storage::Family::kCatalog,
                   storage::keys::TagKey(a.alarm_arn()));
    }
    absl::Status w = store_.Write(batch, /*sync=*/true);
    if (!w.ok()) return w;
    Entry fresh;
    fresh.generation = next_generation_++;
    fresh.alarm = std::move(a);
    fresh.rule = *std::move(rule);
    fresh.children = std::move(children);
    if (it == alarms_.end()) {
      SetStateGauges(name, fresh.alarm.state_value());
      alarms_.emplace(name, std::move(fresh));
    } else {
      it->second = std::move(fresh);
    }
    pending = PropagateLocked({}, {name}, ms);
  }
  RunActions(std::move(pending));
  return absl::OkStatus();
}

std::vector<AlarmService::PendingActions> AlarmService::PropagateLocked(
    std::vector<std::string> changed, std::vector<std::string> evaluate,
    int64_t ms) {
  // The composite alarms naming each alarm (in their rules, or as their
  // actions suppressor: a change of the suppressor's state may end or start
  // a suppression).
  std::map<std::string, std::vector<std::string>> parents;
  for (const auto& [name, e] : alarms_) {
    if (!e.rule.has_value()) continue;
    for (const std::string& c : e.children) parents[c].push_back(name);
    if (!e.alarm.actions_suppressor().empty()) {
      parents[ChildName(e.alarm.actions_suppressor())].push_back(name);
    }
  }
  // What to evaluate: `evaluate`, and every composite alarm above it or
  // above a changed alarm.
  std::set<std::string> affected;
  std::vector<std::string> stack = evaluate;
  for (const std::string& c : changed) {
    auto p = parents.find(c);
    if (p != parents.end()) {
      stack.insert(stack.end(), p->second.begin(), p->second.end());
    }
  }
  while (!stack.empty()) {
    std::string n = std::move(stack.back());
    stack.pop_back();
    if (alarms_.count(n) == 0 || !affected.insert(n).second) continue;
    auto p = parents.find(n);
    if (p != parents.end()) {
      stack.insert(stack.end(), p->second.begin(), p->second.end());
    }
  }
  if (affected.empty()) return {};
  // The composite children of a composite alarm.
  auto composite_children = [this](const std::string& n) {
    std::vector<std::string> out;
    for (const std::string& c : alarms_.at(n).children) {
      auto it = alarms_.find(c);
      if (it != alarms_.end() && it->second.rule.has_value()) out.push_back(c);
    }
    return out;
  };
  // CloudWatch stops evaluating composite alarms on a cycle: those that can
  // reach themselves through their rules.
  std::set<std::string> cyclic;
  for (const std::string& n : affected) {
    std::set<std::string> seen;
    std::vector<std::string> to_visit = composite_children(n);
    while (!to_visit.empty()) {
      std::string c = std::move(to_visit.back());
      to_visit.pop_back();
      if (c == n) {
        cyclic.insert(n);
        break;
      }
      if (!seen.insert(c).second) continue;
      std::vector<std::string> below = composite_children(c);
      to_visit.insert(to_visit.end(), below.begin(), below.end());
    }
  }
  // Children before parents (the rest has no cycle), each once.
  std::vector<std::string> order;
  std::set<std::string> placed;
  std::vector<std::pair<std::string, bool>> walk;  // (name, children done)
  for (const std::string& n : affected) walk.emplace_back(n, false);
  while (!walk.empty()) {
    auto [n, done] = walk.back();
    walk.pop_back();
    if (cyclic.count(n) > 0 || placed.count(n) > 0) continue;
    if (done) {
      placed.insert(n);
      if (affected.count(n) > 0) order.push_back(n);
      continue;
    }
    walk.emplace_back(n, true);
    for (const std::string& c : composite_children(n)) {
      if (placed.count(c) == 0) walk.emplace_back(c, false);
    }
  }

  std::map<std::string, evbus::v1::MetricAlarm> updated;
  auto current = [&](const std::string& n) -> const evbus::v1::MetricAlarm* {
    auto u = updated.find(n);
    if (u != updated.end()) return &u->second;
    auto it = alarms_.find(n);
    return it == alarms_.end() ? nullptr : &it->second.alarm;
  };
  auto state_of = [&](absl::string_view child) {
    const evbus::v1::MetricAlarm* a = current(ChildName(std::string(child)));
    if (a == nullptr) return AlarmState::kInsufficientData;
    absl::StatusOr<AlarmState> s = ParseAlarmState(a->state_value());
    return s.ok() ? *s : AlarmState::kInsufficientData;
  };
  std::vector<std::string> changes = std::move(changed);  // in order
  storage::WriteBatch batch;
  std::vector<PendingActions> pending;
  std::set<std::string> transitioned;
  for (const std::string& n : order) {
    const Entry& e = alarms_.at(n);
    const bool holds = e.rule->Evaluate(state_of);
    const AlarmState target = holds ? AlarmState::kAlarm : AlarmState::kOk;
    evbus::v1::MetricAlarm a = *current(n);
    if (a.state_value() == AlarmStateName(target)) continue;
    // The triggering child: the last of its children to change here, else
    // the one whose state changed last.
    const evbus::v1::MetricAlarm* trigger = nullptr;
    for (auto c = changes.rbegin(); c != changes.rend() && trigger == nullptr;
         ++c) {
      if (std::find(e.children.begin(), e.children.end(), *c) !=
          e.children.end()) {
        trigger = current(*c);
      }
    }
    if (trigger == nullptr) {
      for (const std::string& c : e.children) {
        const evbus::v1::MetricAlarm* x = current(c);
        if (x != nullptr &&
            (trigger == nullptr ||
             x->state_updated_ms() > trigger->state_updated_ms())) {
          trigger = x;
        }
      }
    }
    std::string reason;
    common::Json triggering = common::Json::array();
    if (trigger != nullptr) {
      const absl::Time at = absl::FromUnixMillis(trigger->state_updated_ms());
      reason = absl::StrCat(trigger->alarm_arn(), " transitioned to ",
                            trigger->state_value(), " at ",
                            absl::FormatTime("%A %d %B, %Y %H:%M:%S UTC", at,
                                             absl::UTCTimeZone()));
      common::Json state = common::Json::object();
      state["value"] = trigger->state_value();
      state["timestamp"] = FormatAwsTimestamp(at);
      common::Json t = common::Json::object();
      t["arn"] = trigger->alarm_arn();
      t["state"] = std::move(state);
      triggering.push_back(std::move(t));
    } else {
      reason = absl::StrCat("The alarm rule evaluated to ",
                            holds ? "TRUE" : "FALSE");
    }
    common::Json data = common::Json::object();
    data["triggeringAlarms"] = std::move(triggering);
    pending.push_back(
        TransitionLocked(a, target, reason, common::DumpJson(data), ms, batch));
    pending.back().generation = e.generation;
    if (SuppressTransition(
            a, target,
            !a.actions_suppressor().empty() &&
                state_of(a.actions_suppressor()) == AlarmState::kAlarm,
            ms)) {
      pending.back().actions.clear();
    }
    pending.back().alarm = a;  // with what suppresses its actions
    transitioned.insert(n);
    batch.Put(storage::Family::kCatalog,
              storage::keys::CatalogKey(kAlarmKind, n), a.SerializeAsString());
    updated[n] = std::move(a);
    changes.push_back(n);
  }
  // Composite alarms whose suppressor changed state (and that did not
  // change state themselves here): a suppressor going into ALARM turns a
  // running WaitPeriod or ExtensionPeriod into suppression by the alarm; one
  // leaving ALARM starts the ExtensionPeriod of actions it held back (or
  // runs them, with no ExtensionPeriod).
  for (const auto& [n, e] : alarms_) {
    if (!e.rule.has_value() || transitioned.count(n) > 0) continue;
    const evbus::v1::MetricAlarm* cur = current(n);
    if (cur->actions_suppressor().empty()) continue;
    const std::string sup = ChildName(cur->actions_suppressor());
    if (std::find(changes.begin(), changes.end(), sup) == changes.end()) {
      continue;
    }
    evbus::v1::MetricAlarm a = *cur;
    const bool in_alarm = a.state_value() == AlarmStateName(AlarmState::kAlarm);
    const std::string by = a.actions_suppressed_by();
    if (state_of(sup) == AlarmState::kAlarm) {
      if (!in_alarm ||
          (by != kSuppressedByWait && by != kSuppressedByExtension)) {
        continue;
      }
      SetSuppression(a, kSuppressedByAlarm, 0);
    } else {
      if (by != kSuppressedByAlarm) continue;
      if (in_alarm && a.actions_suppressor_extension_period() > 0) {
        SetSuppression(
            a, kSuppressedByExtension,
            ms + int64_t{a.actions_suppressor_extension_period()} * 1000);
      } else {
        SetSuppression(a, "", 0);
        if (in_alarm) {
          pending.push_back(HeldBackActions(*cur, a, e.generation, ms));
        }
      }
    }
    batch.Put(storage::Family::kCatalog,
              storage::keys::CatalogKey(kAlarmKind, n), a.SerializeAsString());
    updated[n] = std::move(a);
  }
  if (batch.Empty()) return {};
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) {
    // Memory is unchanged; the next change of a child decides again.
    EVBUS_LOG(ERROR) << "composite alarm transitions not recorded: " << w;
    return {};
  }
  for (auto& [n, a] : updated) CommitLocked(alarms_[n], std::move(a));
  return pending;
}

absl::StatusOr<evbus::v1::DescribeAlarmsResponse> AlarmService::DescribeAlarms(
    const evbus::v1::DescribeAlarmsRequest& request) const {
  std::vector<std::string> clauses;
  std::vector<std::string> names = ToVector(request.alarm_names());
  CheckNameCount(names, clauses);
  CheckMaxRecords(request.max_records(), clauses);
  if (!request.state_value().empty() &&
      !ParseAlarmState(request.state_value()).ok()) {
    clauses.push_back(common::ConstraintClause(
        request.state_value(), "stateValue",
        "satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"));
  }
  bool metric = request.alarm_types().empty();
  bool composite = false;
  for (const std::string& t : request.alarm_types()) {
    if (t == kAlarmType) {
      metric = true;
    } else if (t == kCompositeType) {
      composite = true;
    } else {
      clauses.push_back(common::ConstraintClause(
          t, "alarmTypes",
          "satisfy enum value set: [CompositeAlarm, MetricAlarm]"));
    }
  }
  if (!clauses.empty()) return ConstraintError(clauses);
  if (!names.empty() && !request.alarm_name_prefix().empty()) {
    return common::AwsError(
        absl::StatusCode::kInvalidArgument, "InvalidParameterCombination",
        "AlarmNames and AlarmNamePrefix cannot be specified together.");
  }
  const std::string& children_of = request.children_of_alarm_name();
  const std::string& parents_of = request.parents_of_alarm_name();
  if ((!children_of.empty() || !parents_of.empty()) &&
      (!names.empty() || !request.alarm_name_prefix().empty() ||
       !request.state_value().empty() || !request.action_prefix().empty() ||
       (!children_of.empty() && !parents_of.empty()))) {
    return common::AwsError(
        absl::StatusCode::kInvalidArgument, "InvalidParameterCombination",
        "ChildrenOfAlarmName and ParentsOfAlarmName take no other filter "
        "(only MaxRecords and NextToken).");
  }
  const size_t limit = static_cast<size_t>(request.max_records() == 0
                                               ? kDefaultDescribeAlarmsRecords
                                               : request.max_records());
  std::set<std::string> wanted(names.begin(), names.end());
  evbus::v1::DescribeAlarmsResponse response;
  absl::ReaderMutexLock lock(&mu_);
  if (!children_of.empty() || !parents_of.empty()) {
    // Both kinds, whatever AlarmTypes says: the relation is the filter.
    metric = composite = true;
    wanted.clear();
    if (!children_of.empty()) {
      auto c = alarms_.find(children_of);
      if (c != alarms_.end()) {
        wanted.insert(c->second.children.begin(), c->second.children.end());
      }
    } else {
      for (const auto& [name, e] : alarms_) {
        if (std::find(e.children.begin(), e.children.end(), parents_of) !=
            e.children.end()) {
          wanted.insert(name);
        }
      }
    }
    response.set_summaries(true);
    if (wanted.empty()) return response;
  }
  auto it = request.next_token().empty()
                ? alarms_.begin()
                : alarms_.upper_bound(request.next_token());
  size_t listed = 0;
  std::string last_listed;
  for (; it != alarms_.end(); ++it) {
    const evbus::v1::MetricAlarm& a = it->second.alarm;
    const bool is_composite = it->second.rule.has_value();
    if (is_composite ? !composite : !metric) continue;
    if (!wanted.empty() && wanted.count(it->first) == 0) continue;
    if (!absl::StartsWith(it->first, request.alarm_name_prefix())) continue;
    if (!request.state_value().empty() &&
        a.state_value() != request.state_value()) {
      continue;
    }
    if (!request.action_prefix().empty() &&
        !HasActionWithPrefix(a, request.action_prefix())) {
      continue;
    }
    if (listed == limit) {
      response.set_next_token(last_listed);
      break;
    }
    ++listed;
    last_listed = it->first;
    evbus::v1::MetricAlarm* out = is_composite ? response.add_composite_alarms()
                                               : response.add_metric_alarms();
    if (response.summaries()) {
      out->set_alarm_name(a.alarm_name());
      out->set_alarm_arn(a.alarm_arn());
      out->set_state_value(a.state_value());
      out->set_state_updated_ms(a.state_updated_ms());
    } else {
      *out = a;
    }
  }
  return response;
}

absl::StatusOr<evbus::v1::DescribeAlarmHistoryResponse>
AlarmService::DescribeAlarmHistory(
    const evbus::v1::DescribeAlarmHistoryRequest& request) const {
  std::vector<std::string> clauses;
  if (request.alarm_name().size() > kMaxAlarmNameLength) {
    clauses.push_back(common::ConstraintClause(
        request.alarm_name(), "alarmName",
        absl::StrCat("have length less than or equal to ",
                     kMaxAlarmNameLength)));
  }
  const std::string& type = request.history_item_type();
  if (!type.empty() && type != kConfigurationUpdate && type != kStateUpdate &&
      type != kAction) {
    clauses.push_back(common::ConstraintClause(
        type, "historyItemType",
        "satisfy enum value set: [ConfigurationUpdate, StateUpdate, Action]"));
  }
  CheckMaxRecords(request.max_records(), clauses);
  bool metric_items = request.alarm_types().empty();
  bool composite_items = false;
  for (const std::string& t : request.alarm_types()) {
    if (t == kAlarmType) {
      metric_items = true;
    } else if (t == kCompositeType) {
      composite_items = true;
    } else {
      clauses.push_back(common::ConstraintClause(
          t, "alarmTypes",
          "satisfy enum value set: [CompositeAlarm, MetricAlarm]"));
    }
  }
  const std::string& scan_by = request.scan_by();
  if (!scan_by.empty() && scan_by != "TimestampDescending" &&
      scan_by != "TimestampAscending") {
    clauses.push_back(common::ConstraintClause(
        scan_by, "scanBy",
        "satisfy enum value set: [TimestampDescending, TimestampAscending]"));
  }
  if (!clauses.empty()) return ConstraintError(clauses);
  std::optional<HistoryPosition> after;
  if (!request.next_token().empty()) {
    after = ParseHistoryToken(request.next_token());
    if (!after.has_value()) {
      return common::AwsError(absl::StatusCode::kInvalidArgument,
                              "InvalidNextToken",
                              "The next token specified is invalid.");
    }
  }
  const bool ascending = scan_by == "TimestampAscending";
  const int64_t start_ms = request.start_date_ms();
  const int64_t end_ms = request.end_date_ms();
  const size_t limit =
      static_cast<size_t>(request.max_records() == 0 ? kDefaultHistoryRecords
                                                     : request.max_records());

  // Scan one alarm's range (bounded by the dates) or every alarm's.
  std::string begin;
  std::string end;
  if (!request.alarm_name().empty()) {
    begin = HistoryPrefix(request.alarm_name());
    end = storage::keys::PrefixEnd(begin);
    std::string prefix = begin;
    if (start_ms > 0) {
      storage::keys::AppendBigEndian64(&begin, static_cast<uint64_t>(start_ms));
    }
    if (end_ms > 0) {
      end = prefix;
      storage::keys::AppendBigEndian64(&end, static_cast<uint64_t>(end_ms) + 1);
    }
  } else {
    begin = AllHistoryPrefix();
    end = storage::keys::PrefixEnd(begin);
  }
  std::vector<std::pair<HistoryPosition, evbus::v1::AlarmHistoryItem>> items;
  absl::Status s = store_.Scan(
      storage::Family::kMetrics, begin, end,
      [&](absl::string_view key, absl::string_view value) {
        if (key.size() < 16) return true;
        HistoryPosition p;
        p.ms = static_cast<int64_t>(
            storage::keys::ReadBigEndian64(key.substr(key.size() - 16)));
        p.seq = storage::keys::ReadBigEndian64(key.substr(key.size() - 8));
        if (start_ms > 0 && p.ms < start_ms) return true;
        if (end_ms > 0 && p.ms > end_ms) return true;
        if (after.has_value() && (ascending ? !(*after < p) : !(p < *after))) {
          return true;
        }
        evbus::v1::AlarmHistoryItem item;
        if (!item.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          return true;
        }
        if (!type.empty() && item.history_item_type() != type) return true;
        if (item.alarm_type() == kCompositeType ? !composite_items
                                                : !metric_items) {
          return true;
        }
        items.emplace_back(p, std::move(item));
        return true;
      });
  if (!s.ok()) return s;
  std::sort(items.begin(), items.end(), [&](const auto& x, const auto& y) {
    return ascending ? x.first < y.first : y.first < x.first;
  });
  evbus::v1::DescribeAlarmHistoryResponse response;
  for (size_t i = 0; i < items.size() && i < limit; ++i) {
    *response.add_alarm_history_items() = std::move(items[i].second);
  }
  if (items.size() > limit) {
    const HistoryPosition& last = items[limit - 1].first;
    response.set_next_token(absl::StrCat(last.ms, "-", last.seq));
  }
  return response;
}

absl::Status AlarmService::SetAlarmState(
    const evbus::v1::SetAlarmStateRequest& request) {
  std::vector<std::string> clauses;
  const std::string& name = request.alarm_name();
  if (name.empty()) {
    clauses.push_back(NullClause("alarmName"));
  } else if (name.size() > kMaxAlarmNameLength) {
    clauses.push_back(common::ConstraintClause(
        name, "alarmName",
        absl::StrCat("have length less than or equal to ",
                     kMaxAlarmNameLength)));
  }
  absl::StatusOr<AlarmState> state = ParseAlarmState(request.state_value());
  if (request.state_value().empty()) {
    clauses.push_back(NullClause("stateValue"));
  } else if (!state.ok()) {
    clauses.push_back(common::ConstraintClause(
        request.state_value(), "stateValue",
        "satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"));
  }
  if (request.state_reason().empty()) {
    clauses.push_back(NullClause("stateReason"));
  } else if (request.state_reason().size() > kMaxStateReasonLength) {
    clauses.push_back(common::ConstraintClause(
        request.state_reason(), "stateReason",
        absl::StrCat("have length less than or equal to ",
                     kMaxStateReasonLength)));
  }
  if (request.state_reason_data().size() > kMaxStateReasonDataLength) {
    clauses.push_back(common::ConstraintClause(
        request.state_reason_data(), "stateReasonData",
        absl::StrCat("have length less than or equal to ",
                     kMaxStateReasonDataLength)));
  }
  if (!clauses.empty()) return ConstraintError(clauses);
  if (!request.state_reason_data().empty() &&
      !common::ParseJson(request.state_reason_data(), "StateReasonData").ok()) {
    return common::AwsError(absl::StatusCode::kInvalidArgument, "InvalidFormat",
                            "StateReasonData is not valid JSON.");
  }

  std::vector<PendingActions> pending;
  {
    absl::MutexLock lock(&mu_);
    auto it = alarms_.find(name);
    if (it == alarms_.end()) {
      return common::AwsError(absl::StatusCode::kNotFound, "ResourceNotFound",
                              absl::StrCat("Alarm ", name, " not found"));
    }
    if (it->second.alarm.state_value() == AlarmStateName(*state)) {
      return absl::OkStatus();  // the same state: nothing happens
    }
    evbus::v1::MetricAlarm a = it->second.alarm;
    storage::WriteBatch batch;
    const int64_t ms = Ms(clock_.Now());
    pending.push_back(TransitionLocked(a, *state, request.state_reason(),
                                       request.state_reason_data(), ms, batch));
    pending.back().generation = it->second.generation;
    if (!a.actions_suppressor().empty()) {
      auto sup = alarms_.find(ChildName(a.actions_suppressor()));
      if (SuppressTransition(
              a, *state,
              sup != alarms_.end() && sup->second.alarm.state_value() ==
                                          AlarmStateName(AlarmState::kAlarm),
              ms)) {
        pending.back().actions.clear();
      }
      pending.back().alarm = a;
    }
    batch.Put(storage::Family::kCatalog,
              storage::keys::CatalogKey(kAlarmKind, name),
              a.SerializeAsString());
    absl::Status w = store_.Write(batch, /*sync=*/true);
    if (!w.ok()) return w;
    CommitLocked(it->second, std::move(a));
    // The composite alarms above it follow (a composite alarm set here keeps
    // the forced state until one of its own children changes).
    std::vector<PendingActions> above =
        PropagateLocked({name}, {}, pending.back().ms);
    std::move(above.begin(), above.end(), std::back_inserter(pending));
  }
  RunActions(std::move(pending));
  return absl::OkStatus();
}

absl::Status AlarmService::DeleteAlarms(const std::vector<std::string>& names) {
  std::vector<std::string> clauses;
  CheckNameCount(names, clauses);
  if (!clauses.empty()) return ConstraintError(clauses);
  absl::MutexLock lock(&mu_);
  storage::WriteBatch batch;
  std::vector<std::string> doomed;
  for (const std::string& name : names) {
    if (alarms_.count(name) == 0) continue;
    if (std::find(doomed.begin(), doomed.end(), name) != doomed.end()) {
      continue;
    }
    doomed.push_back(name);
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::CatalogKey(kAlarmKind, name));
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::TagKey(AlarmArn(name)));
    std::string prefix = HistoryPrefix(name);
    batch.DeleteRange(storage::Family::kMetrics, prefix,
                      storage::keys::PrefixEnd(prefix));
  }
  if (batch.Empty()) return absl::OkStatus();
  // An alarm a remaining composite alarm names, in its rule or as its
  // actions suppressor, stays (CloudWatch refuses it too): the composite
  // alarm must go first, or in the same call.
  std::set<std::string> named;
  std::set<std::string> namers;
  const std::set<std::string> going(doomed.begin(), doomed.end());
  for (const auto& [composite, e] : alarms_) {
    if (!e.rule.has_value() || going.count(composite) > 0) continue;
    std::vector<std::string> names_of = e.children;
    names_of.push_back(ChildName(e.alarm.actions_suppressor()));
    for (const std::string& child : names_of) {
      if (going.count(child) > 0) {
        named.insert(child);
        namers.insert(composite);
      }
    }
  }
  if (!named.empty()) {
    return Validation(absl::StrCat(
        "Could not delete alarms [", absl::StrJoin(named, ", "),
        "]: the alarm rules or actions suppressors of composite alarms [",
        absl::StrJoin(namers, ", "),
        "] name them. Delete those composite alarms first, or in the same "
        "call, or change their rules."));
  }
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  for (const std::string& name : doomed) {
    alarms_.erase(name);
    SetStateGauges(name, "");
  }
  return absl::OkStatus();
}

absl::Status AlarmService::SetActionsEnabled(
    const std::vector<std::string>& names, bool enabled) {
  std::vector<std::string> clauses;
  CheckNameCount(names, clauses);
  if (!clauses.empty()) return ConstraintError(clauses);
  const int64_t ms = Ms(clock_.Now());
  absl::MutexLock lock(&mu_);
  storage::WriteBatch batch;
  std::map<std::string, evbus::v1::MetricAlarm> updated;
  for (const std::string& name : names) {
    auto it = alarms_.find(name);
    if (it == alarms_.end() || updated.count(name) > 0) continue;
    const evbus::v1::MetricAlarm& old = it->second.alarm;
    if (old.actions_enabled() == enabled) continue;
    evbus::v1::MetricAlarm a = old;
    a.set_actions_enabled(enabled);
    a.set_configuration_updated_ms(ms);
    AddHistoryLocked(batch, a, ms, kConfigurationUpdate,
                     absl::StrCat("Alarm \"", name, "\" updated"),
                     UpdatedData(old, a));
    batch.Put(storage::Family::kCatalog,
              storage::keys::CatalogKey(kAlarmKind, name),
              a.SerializeAsString());
    updated.emplace(name, std::move(a));
  }
  if (batch.Empty()) return absl::OkStatus();
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  for (auto& [name, a] : updated) CommitLocked(alarms_[name], std::move(a));
  return absl::OkStatus();
}

}  // namespace evbus::alarms
