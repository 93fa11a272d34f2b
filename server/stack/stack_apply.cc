#include "server/stack/stack_apply.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "evbus/v1/cloudwatch.grpc.pb.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "evbus/v1/function.grpc.pb.h"
#include "evbus/v1/topic.grpc.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "server/alarms/alarm_rule.h"
#include "server/common/json.h"
#include "server/functions/code_package.h"
#include "server/targets/target_arn.h"

namespace evbus::stack {
namespace {

using google::protobuf::util::MessageDifferencer;

absl::Status Failed(const grpc::Status& s, absl::string_view kind,
                    absl::string_view name) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(kind, " ", name, ": ", s.error_message()));
}

std::string NormalJson(const std::string& text) {
  absl::StatusOr<common::Json> j = common::ParseJson(text);
  return j.ok() ? common::DumpJson(*j) : text;
}

// The kinds a stack record holds, in the order --prune deletes them
// (dependents first).
constexpr const char* kOwnedKinds[] = {
    "alarm",    "schedule",        "rule",       "subscription", "topic",
    "function", "api-destination", "connection", "bus"};

bool Ownable(absl::string_view kind) {
  for (const char* k : kOwnedKinds) {
    if (kind == k) return true;
  }
  return false;
}

class Applier {
 public:
  Applier(const std::shared_ptr<grpc::Channel>& channel, bool dry_run,
          std::string token)
      : events_(evbus::v1::EventBusService::NewStub(channel)),
        functions_(evbus::v1::FunctionService::NewStub(channel)),
        topics_(evbus::v1::TopicService::NewStub(channel)),
        cloudwatch_(evbus::v1::CloudWatchService::NewStub(channel)),
        dry_run_(dry_run),
        token_(std::move(token)) {}

  // A call's context: a deadline, and the daemon's token when it has one.
  std::unique_ptr<grpc::ClientContext> Ctx() const {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(60));
    if (!token_.empty()) c->AddMetadata("authorization", "Bearer " + token_);
    return c;
  }

  absl::Status Bus(const evbus::v1::CreateEventBusRequest& bus) {
    evbus::v1::DescribeEventBusRequest get;
    get.set_name(bus.name());
    evbus::v1::EventBus existing;
    grpc::Status s = events_->DescribeEventBus(Ctx().get(), get, &existing);
    if (s.ok()) {
      if (existing.description() == bus.description()) {
        return Note("bus", bus.name(), "unchanged");
      }
      Note("bus", bus.name(), "update").IgnoreError();
      if (dry_run_) return absl::OkStatus();
      evbus::v1::UpdateEventBusRequest update;
      update.set_name(bus.name());
      update.set_description(bus.description());
      s = events_->UpdateEventBus(Ctx().get(), update, &existing);
      return s.ok() ? absl::OkStatus() : Failed(s, "bus", bus.name());
    }
    if (s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "bus", bus.name());
    }
    Note("bus", bus.name(), "create").IgnoreError();
    if (dry_run_) return absl::OkStatus();
    evbus::v1::CreateEventBusResponse out;
    s = events_->CreateEventBus(Ctx().get(), bus, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "bus", bus.name());
  }

  absl::Status Connection(const evbus::v1::Connection& want) {
    evbus::v1::NameRef ref;
    ref.set_name(want.name());
    evbus::v1::Connection have;
    grpc::Status s = events_->DescribeConnection(Ctx().get(), ref, &have);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "connection", want.name());
    }
    bool exists = s.ok();
    // Secrets are never returned, so they cannot be compared: a connection
    // is updated when its type or description changes.
    bool changed = !exists ||
                   want.authorization_type() != have.authorization_type() ||
                   want.description() != have.description();
    Note("connection", want.name(),
         !exists   ? "create"
         : changed ? "update"
                   : "unchanged")
        .IgnoreError();
    if (!changed || dry_run_) return absl::OkStatus();
    evbus::v1::Connection out;
    s = exists ? events_->UpdateConnection(Ctx().get(), want, &out)
               : events_->CreateConnection(Ctx().get(), want, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "connection", want.name());
  }

  absl::Status ApiDestination(const ApiDestinationSpec& want_spec) {
    evbus::v1::ApiDestination want = want_spec.destination;
    evbus::v1::NameRef conn;
    conn.set_name(want_spec.connection);
    evbus::v1::Connection c;
    grpc::Status s = events_->DescribeConnection(Ctx().get(), conn, &c);
    if (s.ok()) {
      want.set_connection_arn(c.connection_arn());
    } else if (!dry_run_) {
      return Failed(s, "api-destination", want.name());
    }
    evbus::v1::NameRef ref;
    ref.set_name(want.name());
    evbus::v1::ApiDestination have;
    s = events_->DescribeApiDestination(Ctx().get(), ref, &have);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "api-destination", want.name());
    }
    bool exists = s.ok();
    int rate = want.invocation_rate_limit_per_second() == 0
                   ? 300
                   : want.invocation_rate_limit_per_second();
    bool changed = !exists ||
                   want.invocation_endpoint() != have.invocation_endpoint() ||
                   want.http_method() != have.http_method() ||
                   want.connection_arn() != have.connection_arn() ||
                   want.description() != have.description() ||
                   rate != have.invocation_rate_limit_per_second();
    Note("api-destination", want.name(),
         !exists   ? "create"
         : changed ? "update"
                   : "unchanged")
        .IgnoreError();
    if (!changed || dry_run_) return absl::OkStatus();
    evbus::v1::ApiDestination out;
    s = exists ? events_->UpdateApiDestination(Ctx().get(), want, &out)
               : events_->CreateApiDestination(Ctx().get(), want, &out);
    return s.ok() ? absl::OkStatus()
                  : Failed(s, "api-destination", want.name());
  }

  absl::Status Function(const evbus::v1::CreateFunctionRequest& want) {
    const evbus::v1::Function& w = want.function();
    evbus::v1::GetFunctionRequest get;
    get.set_function_name(w.function_name());
    evbus::v1::Function have;
    grpc::Status s = functions_->GetFunction(Ctx().get(), get, &have);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "function", w.function_name());
    }
    if (!s.ok()) {
      Note("function", w.function_name(), "create").IgnoreError();
      if (dry_run_) return absl::OkStatus();
      evbus::v1::Function out;
      s = functions_->CreateFunction(Ctx().get(), want, &out);
      return s.ok() ? absl::OkStatus()
                    : Failed(s, "function", w.function_name());
    }
    absl::StatusOr<std::vector<evbus::v1::CodeFile>> files =
        functions::FilesOf(want.code());
    bool code_changed =
        !files.ok() ||
        functions::DigestOfCode(want.code(), *files).sha256_base64 !=
            have.code_sha256();
    // Configuration as declared, defaults filled as the daemon fills them.
    evbus::v1::Function desired = w;
    if (desired.timeout() == 0) desired.set_timeout(3);
    if (desired.memory_size() == 0) desired.set_memory_size(128);
    bool config_changed =
        desired.runtime() != have.runtime() ||
        desired.handler() != have.handler() ||
        desired.description() != have.description() ||
        desired.timeout() != have.timeout() ||
        desired.memory_size() != have.memory_size() ||
        desired.dead_letter_target_arn() != have.dead_letter_target_arn() ||
        desired.has_reserved_concurrent_executions() !=
            have.has_reserved_concurrent_executions() ||
        desired.reserved_concurrent_executions() !=
            have.reserved_concurrent_executions() ||
        !MessageDifferencer::Equals(desired.event_invoke_config(),
                                    have.event_invoke_config()) ||
        std::map<std::string, std::string>(desired.environment().begin(),
                                           desired.environment().end()) !=
            std::map<std::string, std::string>(have.environment().begin(),
                                               have.environment().end());
    if (!code_changed && !config_changed) {
      return Note("function", w.function_name(), "unchanged");
    }
    Note("function", w.function_name(), "update").IgnoreError();
    if (dry_run_) return absl::OkStatus();
    evbus::v1::Function out;
    if (config_changed) {
      evbus::v1::UpdateFunctionConfigurationRequest u;
      *u.mutable_function() = desired;
      for (const char* f :
           {"runtime", "handler", "description", "timeout", "memory_size",
            "environment", "reserved_concurrent_executions",
            "event_invoke_config", "dead_letter_target_arn"}) {
        u.add_update_mask(f);
      }
      s = functions_->UpdateFunctionConfiguration(Ctx().get(), u, &out);
      if (!s.ok()) return Failed(s, "function", w.function_name());
    }
    if (code_changed) {
      evbus::v1::UpdateFunctionCodeRequest u;
      u.set_function_name(w.function_name());
      *u.mutable_code() = want.code();
      s = functions_->UpdateFunctionCode(Ctx().get(), u, &out);
      if (!s.ok()) return Failed(s, "function", w.function_name());
    }
    return absl::OkStatus();
  }

  absl::Status Topic(const TopicSpec& t) {
    evbus::v1::ListTopicsRequest list;
    evbus::v1::ListTopicsResponse topics;
    grpc::Status s = topics_->ListTopics(Ctx().get(), list, &topics);
    if (!s.ok()) return Failed(s, "topic", t.topic.name());
    const evbus::v1::Topic* existing = nullptr;
    for (const auto& x : topics.topics()) {
      if (x.name() == t.topic.name()) existing = &x;
    }
    auto display = t.topic.attributes().find("DisplayName");
    std::string want_display =
        display == t.topic.attributes().end() ? "" : display->second;
    bool exists = existing != nullptr;
    bool changed = exists && existing->display_name() != want_display;
    Note("topic", t.topic.name(),
         !exists   ? "create"
         : changed ? "update"
                   : "unchanged")
        .IgnoreError();
    if (!exists && !dry_run_) {
      evbus::v1::Topic out;
      s = topics_->CreateTopic(Ctx().get(), t.topic, &out);
      if (!s.ok()) return Failed(s, "topic", t.topic.name());
    }
    if (changed && !dry_run_) {
      evbus::v1::SetTopicAttributesRequest set;
      set.set_topic_arn(t.topic.name());
      set.set_attribute_name("DisplayName");
      set.set_attribute_value(want_display);
      evbus::v1::Topic out;
      s = topics_->SetTopicAttributes(Ctx().get(), set, &out);
      if (!s.ok()) return Failed(s, "topic", t.topic.name());
    }
    std::map<std::pair<std::string, std::string>, evbus::v1::Subscription> have;
    if (exists) {
      evbus::v1::ListSubscriptionsByTopicRequest req;
      req.set_topic_arn(t.topic.name());
      evbus::v1::ListSubscriptionsResponse subs;
      s = topics_->ListSubscriptionsByTopic(Ctx().get(), req, &subs);
      if (!s.ok()) return Failed(s, "topic", t.topic.name());
      for (const auto& x : subs.subscriptions()) {
        have[{x.protocol(), x.endpoint()}] = x;
      }
    }
    for (const auto& sub : t.subscriptions) {
      std::string protocol =
          sub.protocol() == "function" ? "lambda" : sub.protocol();
      std::string name =
          absl::StrCat(t.topic.name(), " ", protocol, ":", sub.endpoint());
      auto found = have.find({protocol, sub.endpoint()});
      // SNS has no update of a subscription's filter here: one whose
      // attributes changed is replaced (unsubscribed, subscribed again).
      bool sub_changed =
          found != have.end() && !SameSubscription(sub, found->second);
      Note("subscription", name,
           found == have.end() ? "create"
           : sub_changed       ? "update"
                               : "unchanged")
          .IgnoreError();
      if ((found != have.end() && !sub_changed) || dry_run_) continue;
      if (sub_changed) {
        evbus::v1::UnsubscribeRequest u;
        u.set_subscription_arn(found->second.subscription_arn());
        evbus::v1::TopicEmpty gone;
        s = topics_->Unsubscribe(Ctx().get(), u, &gone);
        if (!s.ok()) return Failed(s, "subscription", name);
      }
      evbus::v1::Subscription out;
      s = topics_->Subscribe(Ctx().get(), sub, &out);
      if (!s.ok()) return Failed(s, "subscription", name);
    }
    return absl::OkStatus();
  }

  // Whether a subscription has the attributes `want` declares (defaults as
  // the daemon fills them).
  static bool SameSubscription(const evbus::v1::SubscribeRequest& want,
                               const evbus::v1::Subscription& have) {
    auto attribute = [&want](const char* key, const char* fallback) {
      auto it = want.attributes().find(key);
      return it == want.attributes().end() ? std::string(fallback) : it->second;
    };
    std::string policy = attribute("FilterPolicy", "");
    return (policy.empty() ? "" : NormalJson(policy)) ==
               (have.filter_policy().empty()
                    ? ""
                    : NormalJson(have.filter_policy())) &&
           attribute("FilterPolicyScope", "MessageAttributes") ==
               (have.filter_policy_scope().empty()
                    ? "MessageAttributes"
                    : have.filter_policy_scope()) &&
           (attribute("RawMessageDelivery", "false") == "true") ==
               have.raw_message_delivery();
  }

  absl::Status Rule(const RuleSpec& r) {
    const evbus::v1::PutRuleRequest& want = r.rule;
    std::string name = absl::StrCat(want.event_bus_name(), "/", want.name());
    evbus::v1::RuleRef ref;
    ref.set_name(want.name());
    ref.set_event_bus_name(want.event_bus_name());
    evbus::v1::Rule have;
    grpc::Status s = events_->DescribeRule(Ctx().get(), ref, &have);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "rule", name);
    }
    bool exists = s.ok();
    bool changed =
        !exists ||
        NormalJson(want.event_pattern()) != NormalJson(have.event_pattern()) ||
        want.schedule_expression() != have.schedule_expression() ||
        want.state() != have.state() ||
        want.description() != have.description();
    Note("rule", name,
         !exists   ? "create"
         : changed ? "update"
                   : "unchanged")
        .IgnoreError();
    if (changed && !dry_run_) {
      evbus::v1::PutRuleResponse out;
      s = events_->PutRule(Ctx().get(), want, &out);
      if (!s.ok()) return Failed(s, "rule", name);
    }
    // Targets: put the declared ones that differ, remove the others.
    std::map<std::string, evbus::v1::Target> existing;
    if (exists) {
      evbus::v1::ListTargetsByRuleRequest list;
      list.set_rule(want.name());
      list.set_event_bus_name(want.event_bus_name());
      evbus::v1::ListTargetsByRuleResponse targets;
      s = events_->ListTargetsByRule(Ctx().get(), list, &targets);
      if (!s.ok()) return Failed(s, "rule", name);
      for (const auto& t : targets.targets()) existing[t.id()] = t;
    }
    evbus::v1::PutTargetsRequest put;
    put.set_rule(want.name());
    put.set_event_bus_name(want.event_bus_name());
    std::set<std::string> declared;
    for (const evbus::v1::Target& t : r.targets) {
      declared.insert(t.id());
      auto it = existing.find(t.id());
      if (it == existing.end() || !MessageDifferencer::Equals(it->second, t)) {
        *put.add_targets() = t;
      }
    }
    evbus::v1::RemoveTargetsRequest remove;
    remove.set_rule(want.name());
    remove.set_event_bus_name(want.event_bus_name());
    for (const auto& [id, t] : existing) {
      if (declared.count(id) == 0) remove.add_ids(id);
    }
    if (put.targets_size() == 0 && remove.ids_size() == 0) {
      return Note("targets", name, "unchanged");
    }
    Note("targets", name, exists && !existing.empty() ? "update" : "create")
        .IgnoreError();
    if (dry_run_) return absl::OkStatus();
    if (put.targets_size() > 0) {
      evbus::v1::PutTargetsResponse out;
      s = events_->PutTargets(Ctx().get(), put, &out);
      if (!s.ok()) return Failed(s, "targets of rule", name);
      if (out.failed_entry_count() > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "targets of rule ", name, ": ", out.failed_entries(0).target_id(),
            ": ", out.failed_entries(0).error_message()));
      }
    }
    if (remove.ids_size() > 0) {
      evbus::v1::PutTargetsResponse out;
      s = events_->RemoveTargets(Ctx().get(), remove, &out);
      if (!s.ok()) return Failed(s, "targets of rule", name);
    }
    return absl::OkStatus();
  }

  absl::Status Schedule(const evbus::v1::Schedule& want) {
    std::string name =
        absl::StrCat(want.group_name().empty() ? "default" : want.group_name(),
                     "/", want.name());
    evbus::v1::ScheduleRef ref;
    ref.set_name(want.name());
    ref.set_group_name(want.group_name());
    evbus::v1::Schedule have;
    grpc::Status s = events_->GetSchedule(Ctx().get(), ref, &have);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "schedule", name);
    }
    bool exists = s.ok();
    bool changed = !exists ||
                   want.schedule_expression() != have.schedule_expression() ||
                   want.schedule_expression_timezone() !=
                       have.schedule_expression_timezone() ||
                   want.target().arn() != have.target().arn() ||
                   NormalJson(want.target().input()) !=
                       NormalJson(have.target().input()) ||
                   want.description() != have.description() ||
                   (!want.state().empty() && want.state() != have.state());
    Note("schedule", name,
         !exists   ? "create"
         : changed ? "update"
                   : "unchanged")
        .IgnoreError();
    if (!changed || dry_run_) return absl::OkStatus();
    evbus::v1::Schedule out;
    s = exists ? events_->UpdateSchedule(Ctx().get(), want, &out)
               : events_->CreateSchedule(Ctx().get(), want, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "schedule", name);
  }

  // A composite alarm (alarm_rule set).
  absl::Status CompositeAlarm(const evbus::v1::PutMetricAlarmRequest& want) {
    const evbus::v1::MetricAlarm& w = want.alarm();
    evbus::v1::DescribeAlarmsRequest get;
    get.add_alarm_names(w.alarm_name());
    get.add_alarm_types("CompositeAlarm");
    evbus::v1::DescribeAlarmsResponse have;
    grpc::Status s = cloudwatch_->DescribeAlarms(Ctx().get(), get, &have);
    if (!s.ok()) return Failed(s, "alarm", w.alarm_name());
    const bool exists = have.composite_alarms_size() > 0;
    bool changed = !exists;
    if (exists) {
      const evbus::v1::MetricAlarm& h = have.composite_alarms(0);
      auto list = [](const auto& r) {
        return std::vector<std::string>(r.begin(), r.end());
      };
      const bool enabled =
          std::find(want.present().begin(), want.present().end(),
                    "actions_enabled") == want.present().end() ||
          w.actions_enabled();
      changed = w.alarm_rule() != h.alarm_rule() ||
                w.alarm_description() != h.alarm_description() ||
                enabled != h.actions_enabled() ||
                list(w.alarm_actions()) != list(h.alarm_actions()) ||
                list(w.ok_actions()) != list(h.ok_actions()) ||
                list(w.insufficient_data_actions()) !=
                    list(h.insufficient_data_actions()) ||
                w.actions_suppressor() != h.actions_suppressor() ||
                w.actions_suppressor_wait_period() !=
                    h.actions_suppressor_wait_period() ||
                w.actions_suppressor_extension_period() !=
                    h.actions_suppressor_extension_period();
    }
    Note("alarm", w.alarm_name(),
         !exists   ? "create"
         : changed ? "update"
                   : "unchanged")
        .IgnoreError();
    if (!changed || dry_run_) return absl::OkStatus();
    evbus::v1::PutCompositeAlarmRequest put;
    *put.mutable_alarm() = w;
    *put.mutable_present() = want.present();
    evbus::v1::PutCompositeAlarmResponse out;
    s = cloudwatch_->PutCompositeAlarm(Ctx().get(), put, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "alarm", w.alarm_name());
  }

  absl::Status Alarm(const evbus::v1::PutMetricAlarmRequest& want) {
    const evbus::v1::MetricAlarm& w = want.alarm();
    if (!w.alarm_rule().empty()) return CompositeAlarm(want);
    evbus::v1::DescribeAlarmsRequest get;
    get.add_alarm_names(w.alarm_name());
    evbus::v1::DescribeAlarmsResponse have;
    grpc::Status s = cloudwatch_->DescribeAlarms(Ctx().get(), get, &have);
    if (!s.ok()) return Failed(s, "alarm", w.alarm_name());
    bool exists = have.metric_alarms_size() > 0;
    bool changed = !exists;
    if (exists) {
      const evbus::v1::MetricAlarm& h = have.metric_alarms(0);
      auto list = [](const auto& r) {
        return std::vector<std::string>(r.begin(), r.end());
      };
      changed = w.namespace_() != h.namespace_() ||
                w.metric_name() != h.metric_name() ||
                w.statistic() != h.statistic() ||
                w.extended_statistic() != h.extended_statistic() ||
                w.period() != h.period() ||
                w.evaluation_periods() != h.evaluation_periods() ||
                w.threshold() != h.threshold() ||
                w.comparison_operator() != h.comparison_operator() ||
                (!w.treat_missing_data().empty() &&
                 w.treat_missing_data() != h.treat_missing_data()) ||
                w.alarm_description() != h.alarm_description() ||
                list(w.alarm_actions()) != list(h.alarm_actions()) ||
                list(w.ok_actions()) != list(h.ok_actions()) ||
                list(w.insufficient_data_actions()) !=
                    list(h.insufficient_data_actions()) ||
                w.dimensions_size() != h.dimensions_size() ||
                w.metrics_size() != h.metrics_size();
      for (int i = 0; !changed && i < w.metrics_size(); ++i) {
        changed = !google::protobuf::util::MessageDifferencer::Equals(
            w.metrics(i), h.metrics(i));
      }
    }
    Note("alarm", w.alarm_name(),
         !exists   ? "create"
         : changed ? "update"
                   : "unchanged")
        .IgnoreError();
    if (!changed || dry_run_) return absl::OkStatus();
    evbus::v1::PutMetricAlarmResponse out;
    s = cloudwatch_->PutMetricAlarm(Ctx().get(), want, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "alarm", w.alarm_name());
  }

  // Deletes alarms an earlier apply created, in one call.
  absl::Status DeleteAlarms(const std::vector<std::string>& names) {
    if (names.empty()) return absl::OkStatus();
    for (const std::string& name : names) {
      Note("alarm", name, "delete").IgnoreError();
    }
    if (dry_run_) return absl::OkStatus();
    evbus::v1::AlarmNamesRequest req;
    for (const std::string& name : names) req.add_alarm_names(name);
    evbus::v1::AlarmNamesResponse out;
    grpc::Status s = cloudwatch_->DeleteAlarms(Ctx().get(), req, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "alarm", names.front());
  }

  // Deletes one resource an earlier apply created.
  absl::Status Delete(const std::string& kind, const std::string& name) {
    Note(kind, name, "delete").IgnoreError();
    if (dry_run_) return absl::OkStatus();
    grpc::Status s;
    if (kind == "alarm") {
      evbus::v1::AlarmNamesRequest req;
      req.add_alarm_names(name);
      evbus::v1::AlarmNamesResponse out;
      s = cloudwatch_->DeleteAlarms(Ctx().get(), req, &out);
    } else if (kind == "schedule") {
      evbus::v1::ScheduleRef ref;
      size_t slash = name.find('/');
      ref.set_group_name(name.substr(0, slash));
      ref.set_name(name.substr(slash + 1));
      evbus::v1::Empty out;
      s = events_->DeleteSchedule(Ctx().get(), ref, &out);
    } else if (kind == "rule") {
      size_t slash = name.find('/');
      std::string bus = name.substr(0, slash), rule = name.substr(slash + 1);
      evbus::v1::ListTargetsByRuleRequest list;
      list.set_rule(rule);
      list.set_event_bus_name(bus);
      evbus::v1::ListTargetsByRuleResponse targets;
      s = events_->ListTargetsByRule(Ctx().get(), list, &targets);
      if (s.ok() && targets.targets_size() > 0) {
        evbus::v1::RemoveTargetsRequest remove;
        remove.set_rule(rule);
        remove.set_event_bus_name(bus);
        for (const auto& t : targets.targets()) remove.add_ids(t.id());
        evbus::v1::PutTargetsResponse out;
        s = events_->RemoveTargets(Ctx().get(), remove, &out);
      }
      if (s.ok()) {
        evbus::v1::DeleteRuleRequest del;
        del.set_name(rule);
        del.set_event_bus_name(bus);
        evbus::v1::Empty out;
        s = events_->DeleteRule(Ctx().get(), del, &out);
      }
    } else if (kind == "subscription") {
      size_t space = name.find(' ');
      std::string topic = name.substr(0, space);
      std::string rest = name.substr(space + 1);
      size_t colon = rest.find(':');
      std::string protocol = rest.substr(0, colon);
      std::string endpoint = rest.substr(colon + 1);
      evbus::v1::ListSubscriptionsByTopicRequest req;
      req.set_topic_arn(topic);
      evbus::v1::ListSubscriptionsResponse subs;
      s = topics_->ListSubscriptionsByTopic(Ctx().get(), req, &subs);
      for (const auto& x : subs.subscriptions()) {
        if (!s.ok() || x.protocol() != protocol || x.endpoint() != endpoint) {
          continue;
        }
        evbus::v1::UnsubscribeRequest u;
        u.set_subscription_arn(x.subscription_arn());
        evbus::v1::TopicEmpty out;
        s = topics_->Unsubscribe(Ctx().get(), u, &out);
      }
    } else if (kind == "topic") {
      evbus::v1::DeleteTopicRequest req;
      req.set_topic_arn(name);
      evbus::v1::TopicEmpty out;
      s = topics_->DeleteTopic(Ctx().get(), req, &out);
    } else if (kind == "function") {
      evbus::v1::DeleteFunctionRequest req;
      req.set_function_name(name);
      evbus::v1::DeleteFunctionResponse out;
      s = functions_->DeleteFunction(Ctx().get(), req, &out);
    } else if (kind == "api-destination") {
      evbus::v1::NameRef req;
      req.set_name(name);
      evbus::v1::Empty out;
      s = events_->DeleteApiDestination(Ctx().get(), req, &out);
    } else if (kind == "connection") {
      evbus::v1::NameRef req;
      req.set_name(name);
      evbus::v1::Connection out;
      s = events_->DeleteConnection(Ctx().get(), req, &out);
    } else if (kind == "bus") {
      evbus::v1::DeleteEventBusRequest req;
      req.set_name(name);
      evbus::v1::DeleteEventBusResponse out;
      s = events_->DeleteEventBus(Ctx().get(), req, &out);
    }
    // Already gone is fine.
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, kind, name);
    }
    return absl::OkStatus();
  }

  // After a failed apply: adds what this apply created to the stack's record
  // (nothing is deleted), so that a later --prune can still delete it.
  absl::Status KeepCreated(const std::string& stack) {
    if (dry_run_) return absl::OkStatus();
    evbus::v1::StackRecordRef ref;
    ref.set_name(stack);
    evbus::v1::StackRecord record;
    grpc::Status s = events_->GetStackRecord(Ctx().get(), ref, &record);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "stack", stack);
    }
    std::set<std::pair<std::string, std::string>> owned;
    for (const auto& r : record.resources()) owned.insert({r.kind(), r.name()});
    bool added = false;
    // The last item is the step that failed: noted, not created.
    for (size_t i = 0; i + 1 < plan_.size(); ++i) {
      const PlanItem& p = plan_[i];
      if (p.action == "create" && Ownable(p.kind) &&
          owned.insert({p.kind, p.name}).second) {
        evbus::v1::StackResource* r = record.add_resources();
        r->set_kind(p.kind);
        r->set_name(p.name);
        added = true;
      }
    }
    if (!added) return absl::OkStatus();
    record.set_name(stack);
    record.set_applied_ms(absl::ToUnixMillis(absl::Now()));
    evbus::v1::Empty out;
    s = events_->PutStackRecord(Ctx().get(), record, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "stack", stack);
  }

  // Records what the stack owns; with `prune`, first deletes what it owned
  // and no longer declares.
  absl::Status Own(const std::string& stack, bool prune) {
    const auto& kOrder = kOwnedKinds;
    // What the file declares, and what this apply created.
    std::set<std::pair<std::string, std::string>> now;
    std::set<std::pair<std::string, std::string>> created;
    for (const PlanItem& p : plan_) {
      for (const char* k : kOrder) {
        if (p.kind != k) continue;
        now.insert({p.kind, p.name});
        if (p.action == "create") created.insert({p.kind, p.name});
      }
    }
    evbus::v1::StackRecordRef ref;
    ref.set_name(stack);
    evbus::v1::StackRecord old;
    grpc::Status s = events_->GetStackRecord(Ctx().get(), ref, &old);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Failed(s, "stack", stack);
    }
    // The stack owns what it created, now or in an earlier apply; a resource
    // it declares that already existed (made by hand, or by another stack)
    // is used, never owned, so --prune never deletes it.
    std::set<std::pair<std::string, std::string>> owned = created;
    for (const auto& r : old.resources()) {
      if (now.count({r.kind(), r.name()}) > 0)
        owned.insert({r.kind(), r.name()});
    }
    if (prune) {
      // Alarms go in one call: a composite alarm and the alarms its rule
      // names can only be deleted together.
      std::vector<std::string> alarms;
      for (const auto& r : old.resources()) {
        if (r.kind() == "alarm" && now.count({r.kind(), r.name()}) == 0) {
          alarms.push_back(r.name());
        }
      }
      absl::Status d = DeleteAlarms(alarms);
      if (!d.ok()) return d;
    }
    for (const char* k : kOrder) {
      for (const auto& r : old.resources()) {
        if (r.kind() != k || now.count({r.kind(), r.name()}) > 0) continue;
        if (prune && r.kind() == "alarm") continue;  // done above
        if (prune) {
          absl::Status d = Delete(r.kind(), r.name());
          if (!d.ok()) return d;
        } else {
          owned.insert({r.kind(), r.name()});
        }
      }
    }
    if (dry_run_) return absl::OkStatus();
    evbus::v1::StackRecord record;
    record.set_name(stack);
    record.set_applied_ms(absl::ToUnixMillis(absl::Now()));
    for (const auto& [kind, name] : owned) {
      evbus::v1::StackResource* r = record.add_resources();
      r->set_kind(kind);
      r->set_name(name);
    }
    evbus::v1::Empty out;
    s = events_->PutStackRecord(Ctx().get(), record, &out);
    return s.ok() ? absl::OkStatus() : Failed(s, "stack", stack);
  }

  // Before anything changes: every rule's bus, and every resource a rule
  // target names (function, topic, bus, API destination), is declared by
  // the stack or exists, as PutRule and PutTargets will require.
  absl::Status CheckTargets(const StackSpec& spec) {
    for (const RuleSpec& r : spec.rules) {
      // The rule's own bus, as PutRule will require.
      absl::StatusOr<bool> bus_exists =
          Exists(spec, targets::TargetRef{targets::TargetKind::kBus,
                                          r.rule.event_bus_name()});
      if (!bus_exists.ok()) return bus_exists.status();
      if (!*bus_exists) {
        return absl::InvalidArgumentError(
            absl::StrCat(r.bus_at.empty() ? spec.file : r.bus_at, ": bus ",
                         r.rule.event_bus_name(),
                         " does not exist and the stack does not declare it"));
      }
      for (size_t i = 0; i < r.targets.size(); ++i) {
        absl::StatusOr<targets::TargetRef> ref =
            targets::ParseTargetArn(r.targets[i].arn(), r.targets[i].id());
        if (!ref.ok()) continue;  // the parser refused those
        absl::StatusOr<bool> exists = Exists(spec, *ref);
        if (!exists.ok()) return exists.status();
        if (*exists) continue;
        std::string at = i < r.target_arn_at.size()
                             ? r.target_arn_at[i]
                             : absl::StrCat(spec.file, ": rule ", r.rule.name(),
                                            " target ", r.targets[i].id());
        return absl::InvalidArgumentError(absl::StrCat(
            at, ": ", targets::TargetKindName(ref->kind), " ", ref->name,
            " does not exist and the stack does not declare it"));
      }
    }
    return absl::OkStatus();
  }

  // Before anything changes: every alarm a composite alarm's rule names is
  // declared by the stack or exists, as PutCompositeAlarm will require.
  absl::Status CheckCompositeAlarms(const StackSpec& spec) {
    std::set<std::string> declared;
    for (const auto& x : spec.alarms) declared.insert(x.alarm().alarm_name());
    for (size_t i = 0; i < spec.alarms.size(); ++i) {
      const evbus::v1::MetricAlarm& c = spec.alarms[i].alarm();
      if (c.alarm_rule().empty()) continue;
      absl::StatusOr<alarms::AlarmRule> rule =
          alarms::AlarmRule::Parse(c.alarm_rule());
      if (!rule.ok()) continue;  // the parser refused those
      std::vector<std::string> missing;
      std::vector<std::string> named = rule->children();
      if (!c.actions_suppressor().empty()) {
        named.push_back(c.actions_suppressor());
      }
      for (const std::string& child : named) {
        // A name, or an ARN ending in ":alarm:<name>".
        const size_t at = child.rfind(":alarm:");
        const std::string name =
            at == std::string::npos ? child : child.substr(at + 7);
        if (declared.count(name) > 0) continue;
        evbus::v1::DescribeAlarmsRequest get;
        get.add_alarm_names(name);
        get.add_alarm_types("MetricAlarm");
        get.add_alarm_types("CompositeAlarm");
        evbus::v1::DescribeAlarmsResponse have;
        grpc::Status s = cloudwatch_->DescribeAlarms(Ctx().get(), get, &have);
        if (!s.ok()) return Failed(s, "alarm", c.alarm_name());
        if (have.metric_alarms_size() + have.composite_alarms_size() == 0) {
          missing.push_back(child);
        }
      }
      if (!missing.empty()) {
        const std::string at =
            i < spec.alarm_rule_at.size()
                ? spec.alarm_rule_at[i]
                : absl::StrCat(spec.file, ": alarm ", c.alarm_name());
        return absl::InvalidArgumentError(absl::StrCat(
            at, ": the rule or actions suppressor of alarm ", c.alarm_name(),
            " names alarms that neither exist nor are declared by the stack: [",
            absl::StrJoin(missing, ", "), "]"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Note(std::string kind, std::string name, std::string action) {
    plan_.push_back({std::move(kind), std::move(name), std::move(action)});
    return absl::OkStatus();
  }

  std::vector<PlanItem>& plan() { return plan_; }

 private:
  // Whether the resource `ref` names is declared by `spec` or exists.
  absl::StatusOr<bool> Exists(const StackSpec& spec,
                              const targets::TargetRef& ref) {
    grpc::Status s;
    switch (ref.kind) {
      case targets::TargetKind::kFunction: {
        for (const auto& f : spec.functions) {
          if (f.function().function_name() == ref.name) return true;
        }
        evbus::v1::GetFunctionRequest get;
        get.set_function_name(ref.name);
        evbus::v1::Function out;
        s = functions_->GetFunction(Ctx().get(), get, &out);
        break;
      }
      case targets::TargetKind::kTopic: {
        for (const auto& t : spec.topics) {
          if (t.topic.name() == ref.name) return true;
        }
        evbus::v1::ListTopicsRequest list;
        evbus::v1::ListTopicsResponse topics;
        s = topics_->ListTopics(Ctx().get(), list, &topics);
        if (!s.ok()) return Failed(s, "topic", ref.name);
        for (const auto& t : topics.topics()) {
          if (t.name() == ref.name) return true;
        }
        return false;
      }
      case targets::TargetKind::kBus: {
        for (const auto& b : spec.buses) {
          if (b.name() == ref.name) return true;
        }
        evbus::v1::DescribeEventBusRequest get;
        get.set_name(ref.name);
        evbus::v1::EventBus out;
        s = events_->DescribeEventBus(Ctx().get(), get, &out);
        break;
      }
      case targets::TargetKind::kApiDestination: {
        for (const auto& d : spec.api_destinations) {
          if (d.destination.name() == ref.name) return true;
        }
        evbus::v1::NameRef get;
        get.set_name(ref.name);
        evbus::v1::ApiDestination out;
        s = events_->DescribeApiDestination(Ctx().get(), get, &out);
        break;
      }
      default:
        return true;
    }
    if (s.ok()) return true;
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return false;
    return Failed(s, targets::TargetKindName(ref.kind), ref.name);
  }

  std::unique_ptr<evbus::v1::EventBusService::Stub> events_;
  std::unique_ptr<evbus::v1::FunctionService::Stub> functions_;
  std::unique_ptr<evbus::v1::TopicService::Stub> topics_;
  std::unique_ptr<evbus::v1::CloudWatchService::Stub> cloudwatch_;
  bool dry_run_;
  const std::string token_;
  std::vector<PlanItem> plan_;
};

}  // namespace

absl::StatusOr<std::vector<PlanItem>> ApplyStack(
    const StackSpec& spec, const std::shared_ptr<grpc::Channel>& channel,
    bool dry_run, bool prune, const std::string& token) {
  Applier a(channel, dry_run, token);
  absl::Status referred = a.CheckTargets(spec);
  if (!referred.ok()) return referred;
  referred = a.CheckCompositeAlarms(spec);
  if (!referred.ok()) return referred;
  for (const std::string& s : spec.skipped) {
    a.Note("skipped", s, "skip").IgnoreError();
  }
  // Every change, in dependency order; on a failure part-way, what was
  // created so far is still recorded as the stack's (so a later --prune can
  // delete it), then the failure is returned.
  auto apply = [&]() -> absl::Status {
    for (const auto& b : spec.buses) {
      absl::Status s = a.Bus(b);
      if (!s.ok()) return s;
    }
    for (const auto& c : spec.connections) {
      absl::Status s = a.Connection(c);
      if (!s.ok()) return s;
    }
    for (const auto& d : spec.api_destinations) {
      absl::Status s = a.ApiDestination(d);
      if (!s.ok()) return s;
    }
    for (const auto& f : spec.functions) {
      absl::Status s = a.Function(f);
      if (!s.ok()) return s;
    }
    for (const auto& t : spec.topics) {
      absl::Status s = a.Topic(t);
      if (!s.ok()) return s;
    }
    for (const auto& r : spec.rules) {
      absl::Status s = a.Rule(r);
      if (!s.ok()) return s;
    }
    for (const auto& x : spec.schedules) {
      absl::Status s = a.Schedule(x);
      if (!s.ok()) return s;
    }
    // Metric alarms first, then composite alarms in the order declared (the
    // alarms a rule names must exist).
    for (bool composite : {false, true}) {
      for (const auto& x : spec.alarms) {
        if (x.alarm().alarm_rule().empty() == composite) continue;
        absl::Status s = a.Alarm(x);
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  };
  if (absl::Status applied = apply(); !applied.ok()) {
    a.KeepCreated(spec.name).IgnoreError();
    return applied;
  }
  absl::Status owned = a.Own(spec.name, prune);
  if (!owned.ok()) return owned;
  return std::move(a.plan());
}

}  // namespace evbus::stack
