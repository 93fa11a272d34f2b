#include "client/commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cloudwatch_commands.h"
#include "client/command_support.h"
#include "client/describe_schedule_expression.h"
#include "client/function_commands.h"
#include "client/patterns_command.h"
#include "client/stack_commands.h"
#include "client/topic_commands.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "evbus/v1/function.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/api/shapes/eventbridge_shapes.h"
#include "server/api/shapes/schedule_shapes.h"
#include "server/common/aws_error.h"

namespace evbus::cli {
namespace {

using api::shapes::RuleToJson;
using api::shapes::TargetToJson;
using common::Json;

std::unique_ptr<evbus::v1::EventBusService::Stub> Client(Context& ctx) {
  return evbus::v1::EventBusService::NewStub(ctx.Channel());
}

Json BusToJson(const evbus::v1::EventBus& bus) {
  Json out = Json::object();
  out["Name"] = bus.name();
  out["Arn"] = bus.arn();
  if (!bus.description().empty()) out["Description"] = bus.description();
  out["CreationTime"] = IsoMillis(bus.creation_time_ms());
  out["LastModifiedTime"] = IsoMillis(bus.last_modified_time_ms());
  return out;
}

// --entries for put-events: the aws CLI's shape.
absl::StatusOr<evbus::v1::PutEventsRequest> EntriesFromJson(const Json& doc) {
  static const std::vector<std::string> kMembers = {
      "Time",   "Source",       "Resources",  "DetailType",
      "Detail", "EventBusName", "TraceHeader"};
  if (!doc.is_array()) {
    return absl::InvalidArgumentError(
        "Invalid type for parameter Entries, value must be a list of "
        "entries");
  }
  evbus::v1::PutEventsRequest request;
  for (size_t i = 0; i < doc.size(); ++i) {
    const Json& e = doc[i];
    std::string where = absl::StrCat("Entries[", i, "]");
    if (!e.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid type for parameter ", where, ", value must be an object"));
    }
    evbus::v1::PutEventsRequestEntry* out = request.add_entries();
    for (const auto& [key, value] : e.items()) {
      if (std::find(kMembers.begin(), kMembers.end(), key) == kMembers.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Unknown parameter in ", where, ": \"", key,
            "\", must be one of: ", absl::StrJoin(kMembers, ", ")));
      }
      auto text = [&](std::string* field) -> absl::Status {
        if (value.is_string()) {
          *field = value.get<std::string>();
        } else if (key == "Detail" || key == "Time") {
          *field = common::DumpJson(value);  // objects/numbers as JSON text
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("Invalid type for parameter ", where, ".", key,
                           ", value must be a string"));
        }
        return absl::OkStatus();
      };
      absl::Status s;
      if (key == "Time") {
        s = text(out->mutable_time());
      } else if (key == "Source") {
        s = text(out->mutable_source());
      } else if (key == "DetailType") {
        s = text(out->mutable_detail_type());
      } else if (key == "Detail") {
        s = text(out->mutable_detail());
      } else if (key == "EventBusName") {
        s = text(out->mutable_event_bus_name());
      } else if (key == "TraceHeader") {
        s = text(out->mutable_trace_header());
      } else if (key == "Resources") {
        if (!value.is_array()) {
          s = absl::InvalidArgumentError(
              absl::StrCat("Invalid type for parameter ", where,
                           ".Resources, value must be a list of strings"));
        } else {
          for (const Json& r : value) {
            if (!r.is_string()) {
              s = absl::InvalidArgumentError(
                  absl::StrCat("Invalid type for parameter ", where,
                               ".Resources, value must be a list of strings"));
              break;
            }
            out->add_resources(r.get<std::string>());
          }
        }
      }
      if (!s.ok()) return s;
    }
  }
  return request;
}

absl::StatusOr<Json> PutEvents(const Args& args, Context& ctx) {
  absl::StatusOr<Json> doc = ParseJsonArg(args, "entries");
  if (!doc.ok()) return doc.status();
  absl::StatusOr<evbus::v1::PutEventsRequest> request = EntriesFromJson(*doc);
  if (!request.ok()) return request.status();
  evbus::v1::PutEventsResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->PutEvents(c.get(), *request, &response);
  if (!s.ok()) return RpcError(s, "PutEvents", ctx.endpoint);
  return api::shapes::PutEventsResponseToJson(response);
}

// The page token of list-events and list-dead-letters: --next-token (the
// NextToken those verbs print), or its aws-CLI-style alias --starting-token.
std::string PageToken(const Args& args) {
  if (auto t = args.Get("next-token")) return *t;
  return args.Get("starting-token").value_or("");
}

absl::StatusOr<Json> ListEvents(const Args& args, Context& ctx) {
  evbus::v1::ListEventsRequest request;
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  if (auto v = args.Get("start-time")) {
    absl::StatusOr<int64_t> ms = ParseTimeArg("start-time", *v);
    if (!ms.ok()) return ms.status();
    request.set_start_time_ms(*ms);
  }
  if (auto v = args.Get("end-time")) {
    absl::StatusOr<int64_t> ms = ParseTimeArg("end-time", *v);
    if (!ms.ok()) return ms.status();
    request.set_end_time_ms(*ms);
  }
  absl::StatusOr<int> max_items =
      ParseIntArg(args, "max-items", 1000000, 1, 1000000);
  if (!max_items.ok()) return max_items.status();
  request.set_next_token(PageToken(args));

  Json out = Json::object();
  out["Events"] = Json::array();
  int remaining = *max_items;
  // Bounded: at most max_items events, fetched in pages of up to 1000.
  while (remaining > 0) {
    request.set_max_items(std::min(remaining, 1000));
    evbus::v1::ListEventsResponse response;
    auto c = NewContext(ctx);
    grpc::Status s = Client(ctx)->ListEvents(c.get(), request, &response);
    if (!s.ok()) return RpcError(s, "ListEvents", ctx.endpoint);
    for (const auto& e : response.events()) {
      Json event = Json::object();
      event["EventBusName"] = e.event_bus_name();
      event["EventId"] = e.event_id();
      event["IngestionTime"] = IsoMillis(e.ingest_time_ms());
      absl::StatusOr<Json> envelope = common::ParseJson(e.envelope_json());
      event["Event"] = envelope.ok() ? *envelope : Json(e.envelope_json());
      out["Events"].push_back(std::move(event));
    }
    remaining -= response.events_size();
    if (response.next_token().empty()) break;
    request.set_next_token(response.next_token());
    if (remaining == 0) out["NextToken"] = response.next_token();
  }
  return out;
}

absl::StatusOr<Json> CreateEventBus(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::CreateEventBusRequest request;
  request.set_name(*name);
  request.set_description(args.Get("description").value_or(""));
  evbus::v1::CreateEventBusResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->CreateEventBus(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "CreateEventBus", ctx.endpoint);
  Json out = Json::object();
  out["EventBusArn"] = response.event_bus_arn();
  if (!response.description().empty()) {
    out["Description"] = response.description();
  }
  return out;
}

absl::StatusOr<Json> DescribeEventBus(const Args& args, Context& ctx) {
  evbus::v1::DescribeEventBusRequest request;
  request.set_name(args.Get("name").value_or(""));
  evbus::v1::EventBus response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->DescribeEventBus(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "DescribeEventBus", ctx.endpoint);
  return BusToJson(response);
}

absl::StatusOr<Json> ListEventBuses(const Args& args, Context& ctx) {
  evbus::v1::ListEventBusesRequest request;
  request.set_name_prefix(args.Get("name-prefix").value_or(""));
  absl::StatusOr<int> limit = ParseIntArg(args, "limit", 0, 1, 100);
  if (!limit.ok()) return limit.status();
  request.set_limit(*limit);
  request.set_next_token(args.Get("next-token").value_or(""));
  evbus::v1::ListEventBusesResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListEventBuses(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListEventBuses", ctx.endpoint);
  Json out = Json::object();
  out["EventBuses"] = Json::array();
  for (const auto& b : response.event_buses()) {
    out["EventBuses"].push_back(BusToJson(b));
  }
  if (!response.next_token().empty()) out["NextToken"] = response.next_token();
  return out;
}

absl::StatusOr<Json> DeleteEventBus(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::DeleteEventBusRequest request;
  request.set_name(*name);
  evbus::v1::DeleteEventBusResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->DeleteEventBus(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "DeleteEventBus", ctx.endpoint);
  return Json();  // prints nothing, as the aws CLI
}

// --- rules and targets -------------------------------------------------

absl::Status TypeError(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "Invalid type for parameter ", where, ", value must be ", what));
}

absl::StatusOr<Json> PutRule(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::PutRuleRequest request;
  request.set_name(*name);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  if (auto p = args.Get("event-pattern")) {
    absl::StatusOr<std::string> text = ReadValue(*p);
    if (!text.ok()) return text.status();
    request.set_event_pattern(*text);
  }
  request.set_schedule_expression(args.Get("schedule-expression").value_or(""));
  request.set_state(args.Get("state").value_or(""));
  request.set_description(args.Get("description").value_or(""));
  request.set_role_arn(args.Get("role-arn").value_or(""));
  evbus::v1::PutRuleResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->PutRule(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "PutRule", ctx.endpoint);
  return Json{{"RuleArn", response.rule_arn()}};
}

evbus::v1::RuleRef RuleRefOf(const Args& args, const std::string& name) {
  evbus::v1::RuleRef ref;
  ref.set_name(name);
  ref.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  return ref;
}

absl::StatusOr<Json> DescribeRule(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::Rule response;
  auto c = NewContext(ctx);
  grpc::Status s =
      Client(ctx)->DescribeRule(c.get(), RuleRefOf(args, *name), &response);
  if (!s.ok()) return RpcError(s, "DescribeRule", ctx.endpoint);
  return RuleToJson(response);
}

absl::StatusOr<Json> ListRules(const Args& args, Context& ctx) {
  evbus::v1::ListRulesRequest request;
  request.set_name_prefix(args.Get("name-prefix").value_or(""));
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  absl::StatusOr<int> limit = ParseIntArg(args, "limit", 0, 1, 100);
  if (!limit.ok()) return limit.status();
  request.set_limit(*limit);
  request.set_next_token(args.Get("next-token").value_or(""));
  evbus::v1::ListRulesResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListRules(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListRules", ctx.endpoint);
  Json out = Json::object();
  out["Rules"] = Json::array();
  for (const auto& r : response.rules()) out["Rules"].push_back(RuleToJson(r));
  if (!response.next_token().empty()) out["NextToken"] = response.next_token();
  return out;
}

absl::StatusOr<Json> SetRuleState(const Args& args, Context& ctx, bool enable) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::Empty response;
  auto c = NewContext(ctx);
  grpc::Status s = enable ? Client(ctx)->EnableRule(
                                c.get(), RuleRefOf(args, *name), &response)
                          : Client(ctx)->DisableRule(
                                c.get(), RuleRefOf(args, *name), &response);
  if (!s.ok()) {
    return RpcError(s, enable ? "EnableRule" : "DisableRule", ctx.endpoint);
  }
  return Json();
}

absl::StatusOr<Json> DeleteRule(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::DeleteRuleRequest request;
  request.set_name(*name);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  request.set_force(args.Has("force"));
  evbus::v1::Empty response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->DeleteRule(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "DeleteRule", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> PutTargets(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> rule = args.Required("rule");
  if (!rule.ok()) return rule.status();
  absl::StatusOr<Json> doc = ParseJsonArg(args, "targets");
  if (!doc.ok()) return doc.status();
  if (!doc->is_array()) return TypeError("Targets", "a list of targets");
  evbus::v1::PutTargetsRequest request;
  request.set_rule(*rule);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  for (size_t i = 0; i < doc->size(); ++i) {
    absl::StatusOr<evbus::v1::Target> t =
        api::shapes::TargetFromJson((*doc)[i], absl::StrCat("Targets[", i, "]"),
                                    api::shapes::UnknownMembers::kReject);
    if (!t.ok()) return t.status();
    *request.add_targets() = *std::move(t);
  }
  evbus::v1::PutTargetsResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->PutTargets(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "PutTargets", ctx.endpoint);
  return api::shapes::PutTargetsResponseToJson(response);
}

absl::StatusOr<Json> RemoveTargets(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> rule = args.Required("rule");
  if (!rule.ok()) return rule.status();
  absl::StatusOr<std::string> ids = args.Required("ids");
  if (!ids.ok()) return ids.status();
  evbus::v1::RemoveTargetsRequest request;
  request.set_rule(*rule);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  request.set_force(args.Has("force"));
  // --ids a b c, or --ids a,b,c, or a JSON list.
  std::vector<std::string> list;
  absl::StatusOr<Json> parsed = common::ParseJson(*ids);
  if (parsed.ok() && parsed->is_array()) {
    for (const Json& id : *parsed) {
      if (id.is_string()) list.push_back(id.get<std::string>());
    }
  } else {
    list = absl::StrSplit(*ids, absl::ByAnyChar(", "), absl::SkipEmpty());
  }
  for (const std::string& p : args.positional()) list.push_back(p);
  for (const std::string& id : list) request.add_ids(id);
  evbus::v1::PutTargetsResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->RemoveTargets(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "RemoveTargets", ctx.endpoint);
  return api::shapes::PutTargetsResponseToJson(response);
}

absl::StatusOr<Json> ListTargetsByRule(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> rule = args.Required("rule");
  if (!rule.ok()) return rule.status();
  evbus::v1::ListTargetsByRuleRequest request;
  request.set_rule(*rule);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  evbus::v1::ListTargetsByRuleResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListTargetsByRule(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListTargetsByRule", ctx.endpoint);
  Json out = Json::object();
  out["Targets"] = Json::array();
  for (const auto& t : response.targets())
    out["Targets"].push_back(TargetToJson(t));
  return out;
}

absl::StatusOr<Json> ListRuleNamesByTarget(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> arn = args.Required("target-arn");
  if (!arn.ok()) return arn.status();
  evbus::v1::ListRuleNamesByTargetRequest request;
  request.set_target_arn(*arn);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  evbus::v1::ListRuleNamesByTargetResponse response;
  auto c = NewContext(ctx);
  grpc::Status s =
      Client(ctx)->ListRuleNamesByTarget(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListRuleNamesByTarget", ctx.endpoint);
  Json out = Json::object();
  out["RuleNames"] = Json::array();
  for (const auto& n : response.rule_names()) out["RuleNames"].push_back(n);
  return out;
}

// --- dead letters and logs ------------------------------------------------

absl::StatusOr<Json> ListDeadLetters(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> rule = args.Required("rule");
  if (!rule.ok()) return rule.status();
  absl::StatusOr<int> max_items = ParseIntArg(args, "max-items", 100, 1, 1000);
  if (!max_items.ok()) return max_items.status();
  evbus::v1::ListDeadLettersRequest request;
  request.set_rule(*rule);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  request.set_target_id(args.Get("target-id").value_or(""));
  request.set_max_items(*max_items);
  request.set_next_token(PageToken(args));
  evbus::v1::ListDeadLettersResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListDeadLetters(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListDeadLetters", ctx.endpoint);
  Json out = Json::object();
  out["DeadLetters"] = Json::array();
  for (const auto& d : response.dead_letters()) {
    Json j = Json::object();
    j["EventId"] = d.task().event_id();
    j["RuleArn"] = d.task().rule_arn();
    j["TargetId"] = d.task().target_id();
    j["TargetArn"] = d.target_arn();
    j["ERROR_CODE"] = d.error_code();
    j["ERROR_MESSAGE"] = d.error_message();
    j["EXHAUSTED_RETRY_CONDITION"] = d.exhausted_retry_condition();
    j["RETRY_ATTEMPTS"] = d.retry_attempts();
    j["DeadLetteredTime"] = IsoMillis(d.dead_lettered_ms());
    absl::StatusOr<Json> event = common::ParseJson(d.task().envelope_json());
    j["Event"] = event.ok() ? *event : Json(d.task().envelope_json());
    out["DeadLetters"].push_back(std::move(j));
  }
  if (!response.next_token().empty()) out["NextToken"] = response.next_token();
  return out;
}

absl::StatusOr<Json> RedriveDeadLetters(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> rule = args.Required("rule");
  if (!rule.ok()) return rule.status();
  absl::StatusOr<int> max_items =
      ParseIntArg(args, "max-items", 1000, 1, 10000);
  if (!max_items.ok()) return max_items.status();
  evbus::v1::RedriveDeadLettersRequest request;
  request.set_rule(*rule);
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  request.set_target_id(args.Get("target-id").value_or(""));
  request.set_max_items(*max_items);
  evbus::v1::RedriveDeadLettersResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->RedriveDeadLetters(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "RedriveDeadLetters", ctx.endpoint);
  return Json{{"RedrivenCount", response.redriven_count()}};
}

// `evbus logs tail NAME [--follow] [--since T] [--max-items N]`: prints each
// record as "<time> <message>" (plain text, like `aws logs tail`).
absl::StatusOr<Json> LogsTail(const Args& args, Context& ctx) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.size() != 2 || pos[0] != "tail") {
    return absl::InvalidArgumentError("usage: evbus logs tail NAME [--follow]");
  }
  evbus::v1::ReadLogRequest request;
  request.set_log_group_name(pos[1]);
  // A function's name means its log group (/aws/lambda/NAME), which exists
  // (empty) before the function's first invocation writes to it.
  bool function = false;
  if (pos[1].find('/') == std::string::npos) {
    evbus::v1::GetFunctionRequest get;
    get.set_function_name(pos[1]);
    evbus::v1::Function fn;
    auto c = NewContext(ctx);
    if (evbus::v1::FunctionService::NewStub(ctx.Channel())
            ->GetFunction(c.get(), get, &fn)
            .ok()) {
      request.set_log_group_name("/aws/lambda/" + pos[1]);
      function = true;
    }
  }
  auto read_log = [&ctx, function](const evbus::v1::ReadLogRequest& req,
                                   evbus::v1::ReadLogResponse* response) {
    auto c = NewContext(ctx);
    grpc::Status s = Client(ctx)->ReadLog(c.get(), req, response);
    if (function && s.error_code() == grpc::StatusCode::NOT_FOUND) {
      response->set_next_token(req.next_token());
      return grpc::Status::OK;
    }
    return s;
  };
  if (auto since = args.Get("since")) {
    // Durations count back from the daemon's clock (a manual clock's time
    // stamps the records).
    absl::Time now = absl::Now();
    evbus::v1::Empty empty;
    evbus::v1::ClockResponse clock;
    auto c = NewContext(ctx);
    if (Client(ctx)->GetClock(c.get(), empty, &clock).ok()) {
      now = absl::FromUnixMillis(clock.time_ms());
    }
    absl::StatusOr<int64_t> ms = ParseSinceArg("since", *since, now);
    if (!ms.ok()) return ms.status();
    request.set_start_time_ms(*ms);
  }
  absl::StatusOr<int> max_items =
      ParseIntArg(args, "max-items", 10000, 1, 10000);
  if (!max_items.ok()) return max_items.status();
  bool follow = args.Has("follow");
  auto print = [](const evbus::v1::LogRecord& r) {
    std::printf("%s %s\n", IsoMillis(r.time_ms()).c_str(), r.message().c_str());
  };
  // The last --max-items records: read to the end, keeping that many.
  std::deque<evbus::v1::LogRecord> last;
  // Bounded: each page moves the token forward; an empty page ends it.
  while (true) {
    request.set_limit(1000);
    evbus::v1::ReadLogResponse response;
    grpc::Status s = read_log(request, &response);
    if (!s.ok()) return RpcError(s, "ReadLog", ctx.endpoint);
    for (auto& r : *response.mutable_records()) {
      last.push_back(std::move(r));
      if (last.size() > static_cast<size_t>(*max_items)) last.pop_front();
    }
    if (response.records_size() == 0) break;
    request.set_next_token(response.next_token());
  }
  for (const auto& r : last) print(r);
  std::fflush(stdout);
  if (!follow) return Json();
  // --follow: then every new record as it arrives, polling once a second
  // until interrupted (or for --follow-seconds).
  absl::StatusOr<int> follow_seconds =
      ParseIntArg(args, "follow-seconds", 86400 * 365, 1, 86400 * 365);
  if (!follow_seconds.ok()) return follow_seconds.status();
  absl::Time stop = absl::Now() + absl::Seconds(*follow_seconds);
  while (true) {
    request.set_limit(1000);
    evbus::v1::ReadLogResponse response;
    grpc::Status s = read_log(request, &response);
    if (!s.ok()) return RpcError(s, "ReadLog", ctx.endpoint);
    for (const auto& r : response.records()) print(r);
    std::fflush(stdout);
    request.set_next_token(response.next_token());
    if (response.records_size() > 0) continue;
    if (absl::Now() >= stop) break;
    absl::SleepFor(absl::Seconds(1));
  }
  return Json();
}

// --- patterns ---------------------------------------------------------------

// `evbus patterns check FILE.jsonl` / `evbus patterns lint FILE...`: offline.
absl::StatusOr<Json> Patterns(const Args& args, Context&) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.empty() || (pos[0] != "check" && pos[0] != "lint")) {
    return absl::InvalidArgumentError(
        "usage: evbus patterns check FILE.jsonl | evbus patterns lint FILE...");
  }
  if (pos[0] == "check") {
    if (pos.size() != 2) {
      return absl::InvalidArgumentError(
          "usage: evbus patterns check FILE.jsonl");
    }
    pattern::PatternLimits limits;
    limits.max_pattern_chars = 4096;  // TestEventPattern's limit
    int rc = 0;
    if (pos[1] == "-") {
      rc = RunPatternsCheck(std::cin, std::cout, limits);
    } else {
      std::ifstream in(pos[1]);
      if (!in) {
        return absl::NotFoundError(absl::StrCat("cannot read ", pos[1]));
      }
      rc = RunPatternsCheck(in, std::cout, limits);
    }
    if (rc != 0) return absl::AbortedError("");
    return Json();
  }
  std::vector<std::string> files(pos.begin() + 1, pos.end());
  if (files.empty()) {
    return absl::InvalidArgumentError("usage: evbus patterns lint FILE...");
  }
  if (RunPatternsLint(files, std::cout, std::cerr) != 0) {
    return absl::AbortedError("");
  }
  return Json();
}

absl::StatusOr<Json> TestEventPatternCmd(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> p = args.Required("event-pattern");
  if (!p.ok()) return p.status();
  absl::StatusOr<std::string> e = args.Required("event");
  if (!e.ok()) return e.status();
  absl::StatusOr<std::string> pattern = ReadValue(*p);
  if (!pattern.ok()) return pattern.status();
  absl::StatusOr<std::string> event = ReadValue(*e);
  if (!event.ok()) return event.status();
  evbus::v1::TestEventPatternRequest request;
  request.set_event_pattern(*pattern);
  request.set_event(*event);
  evbus::v1::TestEventPatternResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->TestEventPattern(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "TestEventPattern", ctx.endpoint);
  return Json{{"Result", response.result()}};
}

// Streams matching events, one compact JSON envelope per line, until
// interrupted (or --max-items / --duration).
absl::StatusOr<Json> TailEvents(const Args& args, Context& ctx) {
  evbus::v1::TailEventsRequest request;
  request.set_event_bus_name(args.Get("event-bus-name").value_or(""));
  if (auto p = args.Get("event-pattern")) {
    absl::StatusOr<std::string> text = ReadValue(*p);
    if (!text.ok()) return text.status();
    request.set_event_pattern(*text);
  }
  absl::StatusOr<int> max_items =
      ParseIntArg(args, "max-items", 0, 1, 100000000);
  if (!max_items.ok()) return max_items.status();
  absl::StatusOr<int> duration =
      ParseIntArg(args, "duration", 0, 1, 86400 * 365);
  if (!duration.ok()) return duration.status();
  grpc::ClientContext c;
  if (!ctx.token.empty()) c.AddMetadata("authorization", "Bearer " + ctx.token);
  if (*duration > 0) {
    c.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(*duration));
  }
  std::unique_ptr<grpc::ClientReader<evbus::v1::TailedEvent>> reader =
      Client(ctx)->TailEvents(&c, request);
  evbus::v1::TailedEvent event;
  int n = 0;
  while (reader->Read(&event)) {
    std::printf("%s\n", event.envelope_json().c_str());
    std::fflush(stdout);
    if (*max_items > 0 && ++n >= *max_items) {
      c.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED &&
      s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return RpcError(s, "TailEvents", ctx.endpoint);
  }
  return Json();
}

// --- archives and replays
// -----------------------------------------------------

Json ArchiveToJson(const evbus::v1::Archive& a) {
  Json out = Json::object();
  out["ArchiveName"] = a.archive_name();
  out["ArchiveArn"] = a.archive_arn();
  out["EventSourceArn"] = a.event_source_arn();
  if (!a.description().empty()) out["Description"] = a.description();
  if (!a.event_pattern().empty()) out["EventPattern"] = a.event_pattern();
  out["State"] = a.state();
  out["RetentionDays"] = a.retention_days();
  out["SizeBytes"] = a.size_bytes();
  out["EventCount"] = a.event_count();
  out["CreationTime"] = IsoMillis(a.creation_time_ms());
  return out;
}

Json ReplayToJson(const evbus::v1::Replay& r) {
  Json out = Json::object();
  out["ReplayName"] = r.replay_name();
  out["ReplayArn"] = r.replay_arn();
  if (!r.description().empty()) out["Description"] = r.description();
  out["State"] = r.state();
  if (!r.state_reason().empty()) out["StateReason"] = r.state_reason();
  out["EventSourceArn"] = r.event_source_arn();
  Json dest = {{"Arn", r.destination().arn()}};
  if (r.destination().filter_arns_size() > 0) {
    dest["FilterArns"] =
        std::vector<std::string>(r.destination().filter_arns().begin(),
                                 r.destination().filter_arns().end());
  }
  out["Destination"] = dest;
  out["EventStartTime"] = IsoMillis(r.event_start_time_ms());
  out["EventEndTime"] = IsoMillis(r.event_end_time_ms());
  if (r.event_last_replayed_time_ms() > 0) {
    out["EventLastReplayedTime"] = IsoMillis(r.event_last_replayed_time_ms());
  }
  out["ReplayStartTime"] = IsoMillis(r.replay_start_time_ms());
  if (r.replay_end_time_ms() > 0) {
    out["ReplayEndTime"] = IsoMillis(r.replay_end_time_ms());
  }
  out["EventsReplayed"] = r.events_replayed();
  return out;
}

absl::StatusOr<Json> CreateArchive(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("archive-name");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> source = args.Required("event-source-arn");
  if (!source.ok()) return source.status();
  evbus::v1::CreateArchiveRequest request;
  request.set_archive_name(*name);
  request.set_event_source_arn(*source);
  request.set_description(args.Get("description").value_or(""));
  if (auto p = args.Get("event-pattern")) {
    absl::StatusOr<std::string> text = ReadValue(*p);
    if (!text.ok()) return text.status();
    request.set_event_pattern(*text);
  }
  absl::StatusOr<int> days = ParseIntArg(args, "retention-days", 0, 0, 1000000);
  if (!days.ok()) return days.status();
  request.set_retention_days(*days);
  evbus::v1::Archive response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->CreateArchive(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "CreateArchive", ctx.endpoint);
  return Json{{"ArchiveArn", response.archive_arn()},
              {"State", response.state()},
              {"CreationTime", IsoMillis(response.creation_time_ms())}};
}

absl::StatusOr<Json> DescribeArchive(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("archive-name");
  if (!name.ok()) return name.status();
  evbus::v1::ArchiveRef request;
  request.set_archive_name(*name);
  evbus::v1::Archive response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->DescribeArchive(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "DescribeArchive", ctx.endpoint);
  return ArchiveToJson(response);
}

absl::StatusOr<Json> ListArchives(const Args& args, Context& ctx) {
  evbus::v1::ListArchivesRequest request;
  request.set_name_prefix(args.Get("name-prefix").value_or(""));
  request.set_event_source_arn(args.Get("event-source-arn").value_or(""));
  request.set_state(args.Get("state").value_or(""));
  evbus::v1::ListArchivesResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListArchives(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListArchives", ctx.endpoint);
  Json out = {{"Archives", Json::array()}};
  for (const auto& a : response.archives())
    out["Archives"].push_back(ArchiveToJson(a));
  return out;
}

absl::StatusOr<Json> DeleteArchive(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("archive-name");
  if (!name.ok()) return name.status();
  evbus::v1::ArchiveRef request;
  request.set_archive_name(*name);
  evbus::v1::Empty response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->DeleteArchive(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "DeleteArchive", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> StartReplay(const Args& args, Context& ctx) {
  absl::StatusOr<std::string> name = args.Required("replay-name");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> source = args.Required("event-source-arn");
  if (!source.ok()) return source.status();
  absl::StatusOr<std::string> start = args.Required("event-start-time");
  if (!start.ok()) return start.status();
  absl::StatusOr<std::string> end = args.Required("event-end-time");
  if (!end.ok()) return end.status();
  absl::StatusOr<Json> dest = ParseJsonArg(args, "destination");
  if (!dest.ok()) return dest.status();
  absl::StatusOr<int64_t> start_ms = ParseTimeArg("event-start-time", *start);
  if (!start_ms.ok()) return start_ms.status();
  absl::StatusOr<int64_t> end_ms = ParseTimeArg("event-end-time", *end);
  if (!end_ms.ok()) return end_ms.status();
  evbus::v1::StartReplayRequest request;
  request.set_replay_name(*name);
  request.set_description(args.Get("description").value_or(""));
  request.set_event_source_arn(*source);
  request.set_event_start_time_ms(*start_ms);
  request.set_event_end_time_ms(*end_ms);
  if (!dest->is_object() || !dest->contains("Arn") ||
      !(*dest)["Arn"].is_string()) {
    return absl::InvalidArgumentError(
        "Missing required parameter in Destination: \"Arn\"");
  }
  request.mutable_destination()->set_arn((*dest)["Arn"].get<std::string>());
  if (dest->contains("FilterArns")) {
    for (const Json& f : (*dest)["FilterArns"]) {
      if (f.is_string()) {
        request.mutable_destination()->add_filter_arns(f.get<std::string>());
      }
    }
  }
  evbus::v1::Replay response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->StartReplay(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "StartReplay", ctx.endpoint);
  return Json{{"ReplayArn", response.replay_arn()},
              {"State", response.state()},
              {"ReplayStartTime", IsoMillis(response.replay_start_time_ms())}};
}

absl::StatusOr<Json> ReplayCall(const Args& args, Context& ctx, bool cancel) {
  absl::StatusOr<std::string> name = args.Required("replay-name");
  if (!name.ok()) return name.status();
  evbus::v1::ReplayRef request;
  request.set_replay_name(*name);
  evbus::v1::Replay response;
  auto c = NewContext(ctx);
  grpc::Status s =
      cancel ? Client(ctx)->CancelReplay(c.get(), request, &response)
             : Client(ctx)->DescribeReplay(c.get(), request, &response);
  if (!s.ok()) {
    return RpcError(s, cancel ? "CancelReplay" : "DescribeReplay",
                    ctx.endpoint);
  }
  if (cancel) {
    return Json{{"ReplayArn", response.replay_arn()},
                {"State", response.state()}};
  }
  return ReplayToJson(response);
}

absl::StatusOr<Json> ListReplays(const Args& args, Context& ctx) {
  evbus::v1::ListReplaysRequest request;
  request.set_name_prefix(args.Get("name-prefix").value_or(""));
  request.set_state(args.Get("state").value_or(""));
  request.set_event_source_arn(args.Get("event-source-arn").value_or(""));
  evbus::v1::ListReplaysResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListReplays(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListReplays", ctx.endpoint);
  Json out = {{"Replays", Json::array()}};
  for (const auto& r : response.replays())
    out["Replays"].push_back(ReplayToJson(r));
  return out;
}

// --- connections and API destinations ---------------------------------------

Json ConnectionToJson(const evbus::v1::Connection& c) {
  Json out = Json::object();
  out["Name"] = c.name();
  out["ConnectionArn"] = c.connection_arn();
  if (!c.description().empty()) out["Description"] = c.description();
  out["ConnectionState"] = c.connection_state();
  if (!c.state_reason().empty()) out["StateReason"] = c.state_reason();
  out["AuthorizationType"] = c.authorization_type();
  out["AuthParameters"] = api::shapes::ConnectionAuthToJson(c);
  out["CreationTime"] = IsoMillis(c.creation_time_ms());
  out["LastModifiedTime"] = IsoMillis(c.last_modified_time_ms());
  return out;
}

Json DestinationToJson(const evbus::v1::ApiDestination& d) {
  Json out = Json::object();
  out["Name"] = d.name();
  out["ApiDestinationArn"] = d.api_destination_arn();
  if (!d.description().empty()) out["Description"] = d.description();
  out["ApiDestinationState"] = d.api_destination_state();
  out["ConnectionArn"] = d.connection_arn();
  out["InvocationEndpoint"] = d.invocation_endpoint();
  out["HttpMethod"] = d.http_method();
  out["InvocationRateLimitPerSecond"] = d.invocation_rate_limit_per_second();
  out["CreationTime"] = IsoMillis(d.creation_time_ms());
  out["LastModifiedTime"] = IsoMillis(d.last_modified_time_ms());
  return out;
}

absl::StatusOr<Json> ConnectionWrite(const Args& args, Context& ctx,
                                     bool create) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::Connection c;
  c.set_name(*name);
  c.set_description(args.Get("description").value_or(""));
  c.set_authorization_type(args.Get("authorization-type").value_or(""));
  c.set_signing_secret(args.Get("signing-secret").value_or(""));
  if (args.Has("auth-parameters")) {
    absl::StatusOr<Json> auth = ParseJsonArg(args, "auth-parameters");
    if (!auth.ok()) return auth.status();
    absl::Status s = api::shapes::ConnectionAuthFromJson(
        *auth, api::shapes::UnknownMembers::kReject,
        c.mutable_auth_parameters());
    if (!s.ok()) return s;
  }
  evbus::v1::Connection response;
  auto cc = NewContext(ctx);
  grpc::Status s = create
                       ? Client(ctx)->CreateConnection(cc.get(), c, &response)
                       : Client(ctx)->UpdateConnection(cc.get(), c, &response);
  if (!s.ok()) {
    return RpcError(s, create ? "CreateConnection" : "UpdateConnection",
                    ctx.endpoint);
  }
  return Json{
      {"ConnectionArn", response.connection_arn()},
      {"ConnectionState", response.connection_state()},
      {"CreationTime", IsoMillis(response.creation_time_ms())},
      {"LastModifiedTime", IsoMillis(response.last_modified_time_ms())}};
}

absl::StatusOr<Json> ConnectionRead(const Args& args, Context& ctx, bool del) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::NameRef ref;
  ref.set_name(*name);
  evbus::v1::Connection response;
  auto c = NewContext(ctx);
  grpc::Status s =
      del ? Client(ctx)->DeleteConnection(c.get(), ref, &response)
          : Client(ctx)->DescribeConnection(c.get(), ref, &response);
  if (!s.ok()) {
    return RpcError(s, del ? "DeleteConnection" : "DescribeConnection",
                    ctx.endpoint);
  }
  if (del) {
    return Json{{"ConnectionArn", response.connection_arn()},
                {"ConnectionState", response.connection_state()}};
  }
  return ConnectionToJson(response);
}

absl::StatusOr<Json> ListConnections(const Args& args, Context& ctx) {
  evbus::v1::ListConnectionsRequest request;
  request.set_name_prefix(args.Get("name-prefix").value_or(""));
  evbus::v1::ListConnectionsResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListConnections(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListConnections", ctx.endpoint);
  Json out = {{"Connections", Json::array()}};
  for (const auto& x : response.connections()) {
    out["Connections"].push_back(ConnectionToJson(x));
  }
  return out;
}

absl::StatusOr<Json> DestinationWrite(const Args& args, Context& ctx,
                                      bool create) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::ApiDestination d;
  d.set_name(*name);
  d.set_description(args.Get("description").value_or(""));
  d.set_connection_arn(args.Get("connection-arn").value_or(""));
  d.set_invocation_endpoint(args.Get("invocation-endpoint").value_or(""));
  d.set_http_method(args.Get("http-method").value_or(""));
  absl::StatusOr<int> rate =
      ParseIntArg(args, "invocation-rate-limit-per-second", 0, 1, 1000000);
  if (!rate.ok()) return rate.status();
  d.set_invocation_rate_limit_per_second(*rate);
  evbus::v1::ApiDestination response;
  auto c = NewContext(ctx);
  grpc::Status s =
      create ? Client(ctx)->CreateApiDestination(c.get(), d, &response)
             : Client(ctx)->UpdateApiDestination(c.get(), d, &response);
  if (!s.ok()) {
    return RpcError(s, create ? "CreateApiDestination" : "UpdateApiDestination",
                    ctx.endpoint);
  }
  return Json{
      {"ApiDestinationArn", response.api_destination_arn()},
      {"ApiDestinationState", response.api_destination_state()},
      {"CreationTime", IsoMillis(response.creation_time_ms())},
      {"LastModifiedTime", IsoMillis(response.last_modified_time_ms())}};
}

absl::StatusOr<Json> DestinationRead(const Args& args, Context& ctx, bool del) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::NameRef ref;
  ref.set_name(*name);
  auto c = NewContext(ctx);
  if (del) {
    evbus::v1::Empty response;
    grpc::Status s = Client(ctx)->DeleteApiDestination(c.get(), ref, &response);
    if (!s.ok()) return RpcError(s, "DeleteApiDestination", ctx.endpoint);
    return Json();
  }
  evbus::v1::ApiDestination response;
  grpc::Status s = Client(ctx)->DescribeApiDestination(c.get(), ref, &response);
  if (!s.ok()) return RpcError(s, "DescribeApiDestination", ctx.endpoint);
  return DestinationToJson(response);
}

absl::StatusOr<Json> ListApiDestinations(const Args& args, Context& ctx) {
  evbus::v1::ListApiDestinationsRequest request;
  request.set_name_prefix(args.Get("name-prefix").value_or(""));
  request.set_connection_arn(args.Get("connection-arn").value_or(""));
  evbus::v1::ListApiDestinationsResponse response;
  auto c = NewContext(ctx);
  grpc::Status s =
      Client(ctx)->ListApiDestinations(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListApiDestinations", ctx.endpoint);
  Json out = {{"ApiDestinations", Json::array()}};
  for (const auto& x : response.api_destinations()) {
    out["ApiDestinations"].push_back(DestinationToJson(x));
  }
  return out;
}

// --- schedules and the clock -----------------------------------------------

absl::StatusOr<Json> ScheduleWrite(const Args& args, Context& ctx,
                                   bool create) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> expression = args.Required("schedule-expression");
  if (!expression.ok()) return expression.status();
  absl::StatusOr<Json> window = ParseJsonArg(args, "flexible-time-window");
  if (!window.ok()) return window.status();
  absl::StatusOr<Json> target = ParseJsonArg(args, "target");
  if (!target.ok()) return target.status();
  evbus::v1::Schedule s;
  s.set_name(*name);
  s.set_group_name(args.Get("group-name").value_or(""));
  s.set_schedule_expression(*expression);
  s.set_schedule_expression_timezone(
      args.Get("schedule-expression-timezone").value_or(""));
  s.set_description(args.Get("description").value_or(""));
  s.set_state(args.Get("state").value_or(""));
  s.set_action_after_completion(
      args.Get("action-after-completion").value_or(""));
  if (auto v = args.Get("start-date")) {
    absl::StatusOr<int64_t> ms = ParseTimeArg("start-date", *v);
    if (!ms.ok()) return ms.status();
    s.set_start_date_ms(*ms);
  }
  if (auto v = args.Get("end-date")) {
    absl::StatusOr<int64_t> ms = ParseTimeArg("end-date", *v);
    if (!ms.ok()) return ms.status();
    s.set_end_date_ms(*ms);
  }
  if (!window->is_object() || !window->contains("Mode") ||
      !(*window)["Mode"].is_string()) {
    return absl::InvalidArgumentError(
        "Missing required parameter in FlexibleTimeWindow: \"Mode\"");
  }
  s.mutable_flexible_time_window()->set_mode(
      (*window)["Mode"].get<std::string>());
  if (window->contains("MaximumWindowInMinutes")) {
    s.mutable_flexible_time_window()->set_maximum_window_in_minutes(
        (*window)["MaximumWindowInMinutes"].get<int32_t>());
  }
  absl::StatusOr<evbus::v1::ScheduleTarget> t =
      api::shapes::ScheduleTargetFromJson(*target);
  if (!t.ok()) return t.status();
  *s.mutable_target() = *std::move(t);
  evbus::v1::Schedule response;
  auto c = NewContext(ctx);
  grpc::Status st = create ? Client(ctx)->CreateSchedule(c.get(), s, &response)
                           : Client(ctx)->UpdateSchedule(c.get(), s, &response);
  if (!st.ok()) {
    return RpcError(st, create ? "CreateSchedule" : "UpdateSchedule",
                    ctx.endpoint);
  }
  return Json{{"ScheduleArn", response.arn()}};
}

absl::StatusOr<Json> ScheduleRead(const Args& args, Context& ctx, bool del) {
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  evbus::v1::ScheduleRef ref;
  ref.set_name(*name);
  ref.set_group_name(args.Get("group-name").value_or(""));
  auto c = NewContext(ctx);
  if (del) {
    evbus::v1::Empty response;
    grpc::Status s = Client(ctx)->DeleteSchedule(c.get(), ref, &response);
    if (!s.ok()) return RpcError(s, "DeleteSchedule", ctx.endpoint);
    return Json();
  }
  evbus::v1::Schedule response;
  grpc::Status s = Client(ctx)->GetSchedule(c.get(), ref, &response);
  if (!s.ok()) return RpcError(s, "GetSchedule", ctx.endpoint);
  return api::shapes::ScheduleToJson(response, api::shapes::TimeStyle::kIso);
}

absl::StatusOr<Json> ListSchedules(const Args& args, Context& ctx) {
  evbus::v1::ListSchedulesRequest request;
  request.set_group_name(args.Get("group-name").value_or(""));
  request.set_name_prefix(args.Get("name-prefix").value_or(""));
  request.set_state(args.Get("state").value_or(""));
  evbus::v1::ListSchedulesResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = Client(ctx)->ListSchedules(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "ListSchedules", ctx.endpoint);
  Json out = {{"Schedules", Json::array()}};
  for (const auto& x : response.schedules()) {
    out["Schedules"].push_back({{"Name", x.name()},
                                {"GroupName", x.group_name()},
                                {"Arn", x.arn()},
                                {"State", x.state()},
                                {"Target", {{"Arn", x.target().arn()}}}});
  }
  return out;
}

absl::StatusOr<Json> ScheduleGroupCall(const Args& args, Context& ctx,
                                       const std::string& op) {
  evbus::v1::ScheduleGroup request;
  if (op != "ListScheduleGroups") {
    absl::StatusOr<std::string> name = args.Required("name");
    if (!name.ok()) return name.status();
    request.set_name(*name);
  }
  auto c = NewContext(ctx);
  grpc::Status s;
  evbus::v1::ScheduleGroup group;
  if (op == "CreateScheduleGroup") {
    s = Client(ctx)->CreateScheduleGroup(c.get(), request, &group);
    if (s.ok()) return Json{{"ScheduleGroupArn", group.arn()}};
  } else if (op == "GetScheduleGroup") {
    s = Client(ctx)->GetScheduleGroup(c.get(), request, &group);
    if (s.ok()) {
      return api::shapes::ScheduleGroupToJson(group,
                                              api::shapes::TimeStyle::kIso);
    }
  } else if (op == "DeleteScheduleGroup") {
    evbus::v1::Empty empty;
    s = Client(ctx)->DeleteScheduleGroup(c.get(), request, &empty);
    if (s.ok()) return Json();
  } else {
    evbus::v1::ListScheduleGroupsRequest req;
    req.set_name_prefix(args.Get("name-prefix").value_or(""));
    evbus::v1::ListScheduleGroupsResponse resp;
    s = Client(ctx)->ListScheduleGroups(c.get(), req, &resp);
    if (s.ok()) {
      Json out = {{"ScheduleGroups", Json::array()}};
      for (const auto& g : resp.schedule_groups()) {
        out["ScheduleGroups"].push_back(
            api::shapes::ScheduleGroupToJson(g, api::shapes::TimeStyle::kIso));
      }
      return out;
    }
  }
  return RpcError(s, op, ctx.endpoint);
}

// A duration like "90s", "5m", "2h", "1d", "1h30m" (absl's form) or seconds.
absl::StatusOr<int64_t> ParseDurationMs(const std::string& text) {
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds))
    return static_cast<int64_t>(seconds * 1000);
  std::string t = text;
  size_t d = t.find('d');
  int64_t days = 0;
  if (d != std::string::npos && absl::SimpleAtoi(t.substr(0, d), &days)) {
    t = t.substr(d + 1);
  }
  absl::Duration dur = absl::ZeroDuration();
  if (!t.empty() && !absl::ParseDuration(t, &dur)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a duration (e.g. 90s, 5m, 2h, 1d, or seconds)"));
  }
  return absl::ToInt64Milliseconds(dur + absl::Hours(24) * days);
}

// `evbus clock get | set TIME | advance DURATION`.
absl::StatusOr<Json> ClockCmd(const Args& args, Context& ctx) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.empty() ||
      (pos[0] != "get" && pos[0] != "set" && pos[0] != "advance") ||
      (pos[0] != "get" && pos.size() != 2)) {
    return absl::InvalidArgumentError(
        "usage: evbus clock get | set TIME | advance DURATION");
  }
  evbus::v1::ClockResponse response;
  auto c = NewContext(ctx);
  grpc::Status s;
  if (pos[0] == "get") {
    evbus::v1::Empty empty;
    s = Client(ctx)->GetClock(c.get(), empty, &response);
  } else if (pos[0] == "set") {
    absl::StatusOr<int64_t> ms = ParseTimeArg("set", pos[1]);
    if (!ms.ok()) return ms.status();
    evbus::v1::ClockRequest request;
    request.set_time_ms(*ms);
    s = Client(ctx)->SetClock(c.get(), request, &response);
  } else {
    absl::StatusOr<int64_t> ms = ParseDurationMs(pos[1]);
    if (!ms.ok()) return ms.status();
    evbus::v1::ClockRequest request;
    request.set_time_ms(*ms);
    s = Client(ctx)->AdvanceClock(c.get(), request, &response);
  }
  if (!s.ok()) return RpcError(s, "Clock", ctx.endpoint);
  return Json{{"Time", IsoMillis(response.time_ms())},
              {"Mode", response.mode()}};
}

absl::StatusOr<Json> DescribeScheduleExpressionCmd(const Args& args, Context&) {
  absl::StatusOr<std::string> expression = args.Required("expression");
  if (!expression.ok()) return expression.status();
  absl::StatusOr<int> count = ParseIntArg(args, "count", 5, 1, 1000);
  if (!count.ok()) return count.status();
  std::optional<absl::Time> start;
  if (auto v = args.Get("start")) {
    absl::StatusOr<int64_t> ms = ParseTimeArg("start", *v);
    if (!ms.ok()) return ms.status();
    start = absl::FromUnixMillis(*ms);
  }
  int rc = RunDescribeScheduleExpression(*expression,
                                         args.Get("timezone").value_or("UTC"),
                                         start, *count, std::cout, std::cerr);
  if (rc != 0) return absl::AbortedError("");
  return Json();
}

// `evbus admin backup --to DIR`: a consistent copy of the daemon's store,
// taken while it serves (the daemon writes it; DIR is on its machine).
absl::StatusOr<Json> Admin(const Args& args, Context& ctx) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.size() != 1 || pos[0] != "backup") {
    return absl::InvalidArgumentError("usage: evbus admin backup --to DIR");
  }
  absl::StatusOr<std::string> to = args.Required("to");
  if (!to.ok()) return to.status();
  evbus::v1::CreateBackupRequest request;
  std::error_code ec;
  request.set_directory(std::filesystem::absolute(*to, ec).string());
  evbus::v1::CreateBackupResponse response;
  auto c = NewContext(ctx);
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::hours(1));
  grpc::Status s = Client(ctx)->CreateBackup(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "CreateBackup", ctx.endpoint);
  return Json{{"Directory", response.directory()},
              {"SizeBytes", response.size_bytes()}};
}

absl::StatusOr<Json> Health(const Args& args, Context& ctx) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(args.Get("service").value_or(""));
  grpc::health::v1::HealthCheckResponse response;
  auto c = NewContext(ctx);
  grpc::Status s = grpc::health::v1::Health::NewStub(ctx.Channel())
                       ->Check(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "Check", ctx.endpoint);
  Json out = Json::object();
  out["Status"] = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      response.status());
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::AbortedError(
        absl::StrCat("evbusd is ", out["Status"].get<std::string>()));
  }
  return out;
}

}  // namespace

std::shared_ptr<grpc::Channel> Context::Channel() {
  if (channel == nullptr) {
    grpc::ChannelArguments ch_args;
    ch_args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        grpc::InsecureChannelCredentials();
    if (tls.has_value()) {
      grpc::SslCredentialsOptions options;
      options.pem_root_certs = tls->ca;
      options.pem_cert_chain = tls->cert_chain;
      options.pem_private_key = tls->private_key;
      credentials = grpc::SslCredentials(options);
      if (!tls->server_name.empty()) {
        ch_args.SetSslTargetNameOverride(tls->server_name);
      }
    }
    channel = grpc::CreateCustomChannel(endpoint, credentials, ch_args);
  }
  return channel;
}

const std::map<std::string, std::string>& VerbDetails() {
  static const auto* details = new std::map<std::string, std::string>{
      {"list-events",
       "--next-token T: the NextToken of the previous page (--starting-token "
       "T is an alias, as in the aws CLI)."},
      {"list-dead-letters",
       "--next-token T: the NextToken of the previous page (--starting-token "
       "T is an alias, as in the aws CLI)."},
      {"delete-rule",
       "The rule's dead letters are deleted with it, in the same write: a "
       "new rule of the same name starts with none."},
      {"delete-event-bus",
       "Deletes the bus's rules, their dead letters and its event log with "
       "it."},
      {"logs",
       "NAME is a log group (log:NAME targets) or a function (its "
       "/aws/lambda/NAME group, empty until the first invocation).\n"
       "Prints the last --max-items records (default 10000); with --follow, "
       "then every new record as it arrives (until interrupted, or for "
       "--follow-seconds S).\n"
       "--since T: a duration back from the daemon's clock (30s, 10m, 2h, "
       "1d, 1w), an RFC 3339 time or epoch seconds.\n"
       "A group nothing was written to (and no rule delivers to) is "
       "ResourceNotFoundException: The specified log group does not exist."},
      {"patterns",
       "check FILE.jsonl (- for stdin): one JSON object per line,\n"
       "  {\"id\": ANY, \"pattern\": \"<pattern JSON as a string>\", "
       "\"event\": {event} or \"<event JSON>\"}\n"
       "  (the event needs id, account, source, time, region and "
       "detail-type, as TestEventPattern); one line out per line in:\n"
       "  {\"id\": ..., \"match\": true|false} or {\"id\": ..., \"error\": "
       "\"InvalidEventPatternException: ...\"} (also ValidationException, "
       "InvalidLine).\n"
       "lint FILE...: one pattern JSON per file; prints FILE: OK or FILE: "
       "InvalidEventPatternException: ...; exit 1 if any is invalid."},
  };
  return *details;
}

const std::vector<Command>& Commands() {
  static std::vector<Command>* commands = new std::vector<Command>{
      {"put-events",
       "--entries JSON|file://F   put 1..10 events",
       {"entries"},
       {},
       PutEvents},
      {"list-events",
       "[--event-bus-name B] [--start-time T] [--end-time T] [--max-items N] "
       "[--next-token T]   events that reached a bus (evbus extension)",
       {"event-bus-name", "start-time", "end-time", "max-items", "next-token",
        "starting-token"},
       {},
       ListEvents},
      {"create-event-bus",
       "--name N [--description D]",
       {"name", "description"},
       {},
       CreateEventBus},
      {"describe-event-bus", "[--name N]", {"name"}, {}, DescribeEventBus},
      {"list-event-buses",
       "[--name-prefix P] [--limit N] [--next-token T]",
       {"name-prefix", "limit", "next-token"},
       {},
       ListEventBuses},
      {"delete-event-bus", "--name N", {"name"}, {}, DeleteEventBus},
      {"put-rule",
       "--name N [--event-bus-name B] [--event-pattern P|file://F] "
       "[--schedule-expression E] [--state ENABLED|DISABLED] [--description D]",
       {"name", "event-bus-name", "event-pattern", "schedule-expression",
        "state", "description", "role-arn"},
       {},
       PutRule},
      {"describe-rule",
       "--name N [--event-bus-name B]",
       {"name", "event-bus-name"},
       {},
       DescribeRule},
      {"list-rules",
       "[--event-bus-name B] [--name-prefix P] [--limit N] [--next-token T]",
       {"event-bus-name", "name-prefix", "limit", "next-token"},
       {},
       ListRules},
      {"enable-rule",
       "--name N [--event-bus-name B]",
       {"name", "event-bus-name"},
       {},
       [](const Args& a, Context& c) { return SetRuleState(a, c, true); }},
      {"disable-rule",
       "--name N [--event-bus-name B]",
       {"name", "event-bus-name"},
       {},
       [](const Args& a, Context& c) { return SetRuleState(a, c, false); }},
      {"delete-rule",
       "--name N [--event-bus-name B] [--force]",
       {"name", "event-bus-name", "force"},
       {"force"},
       DeleteRule},
      {"put-targets",
       "--rule R [--event-bus-name B] --targets JSON|file://F",
       {"rule", "event-bus-name", "targets"},
       {},
       PutTargets},
      {"remove-targets",
       "--rule R [--event-bus-name B] --ids ID... [--force]",
       {"rule", "event-bus-name", "ids", "force"},
       {"force"},
       RemoveTargets},
      {"list-targets-by-rule",
       "--rule R [--event-bus-name B]",
       {"rule", "event-bus-name"},
       {},
       ListTargetsByRule},
      {"list-rule-names-by-target",
       "--target-arn A [--event-bus-name B]",
       {"target-arn", "event-bus-name"},
       {},
       ListRuleNamesByTarget},
      {"list-dead-letters",
       "--rule R [--event-bus-name B] [--target-id ID] [--max-items N] "
       "[--next-token T]",
       {"rule", "event-bus-name", "target-id", "max-items", "next-token",
        "starting-token"},
       {},
       ListDeadLetters},
      {"redrive-dead-letters",
       "--rule R [--event-bus-name B] [--target-id ID] [--max-items N]",
       {"rule", "event-bus-name", "target-id", "max-items"},
       {},
       RedriveDeadLetters},
      {"logs",
       "tail NAME [--follow] [--since T] [--max-items N]",
       {"follow", "since", "max-items", "follow-seconds"},
       {"follow"},
       LogsTail},
      {"test-event-pattern",
       "--event-pattern P --event E   (JSON or file://)",
       {"event-pattern", "event"},
       {},
       TestEventPatternCmd},
      {"tail-events",
       "[--event-bus-name B] [--event-pattern P] [--max-items N] "
       "[--duration S]   stream events as they are put",
       {"event-bus-name", "event-pattern", "max-items", "duration"},
       {},
       TailEvents},
      {"patterns",
       "check FILE.jsonl | lint FILE...   offline pattern checks (no daemon)",
       {},
       {},
       Patterns,
       /*offline=*/true},
      {"create-archive",
       "--archive-name N --event-source-arn BUS-ARN [--event-pattern P] "
       "[--retention-days D] [--description T]",
       {"archive-name", "event-source-arn", "event-pattern", "retention-days",
        "description"},
       {},
       CreateArchive},
      {"describe-archive",
       "--archive-name N",
       {"archive-name"},
       {},
       DescribeArchive},
      {"list-archives",
       "[--name-prefix P] [--event-source-arn A] [--state S]",
       {"name-prefix", "event-source-arn", "state"},
       {},
       ListArchives},
      {"delete-archive",
       "--archive-name N",
       {"archive-name"},
       {},
       DeleteArchive},
      {"start-replay",
       "--replay-name N --event-source-arn ARCHIVE-ARN --event-start-time T "
       "--event-end-time T --destination JSON",
       {"replay-name", "event-source-arn", "event-start-time", "event-end-time",
        "destination", "description"},
       {},
       StartReplay},
      {"describe-replay",
       "--replay-name N",
       {"replay-name"},
       {},
       [](const Args& a, Context& c) { return ReplayCall(a, c, false); }},
      {"list-replays",
       "[--name-prefix P] [--state S] [--event-source-arn A]",
       {"name-prefix", "state", "event-source-arn"},
       {},
       ListReplays},
      {"cancel-replay",
       "--replay-name N",
       {"replay-name"},
       {},
       [](const Args& a, Context& c) { return ReplayCall(a, c, true); }},
      {"create-connection",
       "--name N --authorization-type BASIC|API_KEY|OAUTH_CLIENT_CREDENTIALS "
       "--auth-parameters JSON [--description D] [--signing-secret S]",
       {"name", "authorization-type", "auth-parameters", "description",
        "signing-secret"},
       {},
       [](const Args& a, Context& c) { return ConnectionWrite(a, c, true); }},
      {"update-connection",
       "--name N [--authorization-type T] [--auth-parameters JSON] "
       "[--description D] [--signing-secret S]",
       {"name", "authorization-type", "auth-parameters", "description",
        "signing-secret"},
       {},
       [](const Args& a, Context& c) { return ConnectionWrite(a, c, false); }},
      {"describe-connection",
       "--name N",
       {"name"},
       {},
       [](const Args& a, Context& c) { return ConnectionRead(a, c, false); }},
      {"list-connections",
       "[--name-prefix P]",
       {"name-prefix"},
       {},
       ListConnections},
      {"delete-connection",
       "--name N",
       {"name"},
       {},
       [](const Args& a, Context& c) { return ConnectionRead(a, c, true); }},
      {"create-api-destination",
       "--name N --connection-arn A --invocation-endpoint URL --http-method M "
       "[--invocation-rate-limit-per-second R] [--description D]",
       {"name", "connection-arn", "invocation-endpoint", "http-method",
        "invocation-rate-limit-per-second", "description"},
       {},
       [](const Args& a, Context& c) { return DestinationWrite(a, c, true); }},
      {"update-api-destination",
       "--name N [--connection-arn A] [--invocation-endpoint URL] "
       "[--http-method M] [--invocation-rate-limit-per-second R]",
       {"name", "connection-arn", "invocation-endpoint", "http-method",
        "invocation-rate-limit-per-second", "description"},
       {},
       [](const Args& a, Context& c) { return DestinationWrite(a, c, false); }},
      {"describe-api-destination",
       "--name N",
       {"name"},
       {},
       [](const Args& a, Context& c) { return DestinationRead(a, c, false); }},
      {"list-api-destinations",
       "[--name-prefix P] [--connection-arn A]",
       {"name-prefix", "connection-arn"},
       {},
       ListApiDestinations},
      {"delete-api-destination",
       "--name N",
       {"name"},
       {},
       [](const Args& a, Context& c) { return DestinationRead(a, c, true); }},
      {"create-schedule",
       "--name N [--group-name G] --schedule-expression E "
       "[--schedule-expression-timezone TZ] [--start-date T] [--end-date T] "
       "--flexible-time-window JSON --target JSON [--state S] "
       "[--action-after-completion NONE|DELETE] [--description D]",
       {"name", "group-name", "schedule-expression",
        "schedule-expression-timezone", "start-date", "end-date",
        "flexible-time-window", "target", "state", "action-after-completion",
        "description"},
       {},
       [](const Args& a, Context& c) { return ScheduleWrite(a, c, true); }},
      {"update-schedule",
       "(as create-schedule)",
       {"name", "group-name", "schedule-expression",
        "schedule-expression-timezone", "start-date", "end-date",
        "flexible-time-window", "target", "state", "action-after-completion",
        "description"},
       {},
       [](const Args& a, Context& c) { return ScheduleWrite(a, c, false); }},
      {"get-schedule",
       "--name N [--group-name G]",
       {"name", "group-name"},
       {},
       [](const Args& a, Context& c) { return ScheduleRead(a, c, false); }},
      {"delete-schedule",
       "--name N [--group-name G]",
       {"name", "group-name"},
       {},
       [](const Args& a, Context& c) { return ScheduleRead(a, c, true); }},
      {"list-schedules",
       "[--group-name G] [--name-prefix P] [--state S]",
       {"group-name", "name-prefix", "state"},
       {},
       ListSchedules},
      {"create-schedule-group",
       "--name N",
       {"name"},
       {},
       [](const Args& a, Context& c) {
         return ScheduleGroupCall(a, c, "CreateScheduleGroup");
       }},
      {"get-schedule-group",
       "--name N",
       {"name"},
       {},
       [](const Args& a, Context& c) {
         return ScheduleGroupCall(a, c, "GetScheduleGroup");
       }},
      {"list-schedule-groups",
       "[--name-prefix P]",
       {"name-prefix"},
       {},
       [](const Args& a, Context& c) {
         return ScheduleGroupCall(a, c, "ListScheduleGroups");
       }},
      {"delete-schedule-group",
       "--name N",
       {"name"},
       {},
       [](const Args& a, Context& c) {
         return ScheduleGroupCall(a, c, "DeleteScheduleGroup");
       }},
      {"clock",
       "get | set TIME | advance DURATION   (evbusd --clock manual)",
       {},
       {},
       ClockCmd},
      {"describe-schedule-expression",
       "--expression E [--timezone TZ] [--start T] [--count N]   next fire "
       "times (offline)",
       {"expression", "timezone", "start", "count"},
       {},
       DescribeScheduleExpressionCmd,
       /*offline=*/true},
      {"admin",
       "backup --to DIR   consistent backup of the store while serving",
       {"to"},
       {},
       Admin},
      {"health",
       "[--service S]   grpc.health.v1 Check; exit 1 unless SERVING",
       {"service"},
       {},
       Health},
  };
  static const bool kAppended = [] {
    for (auto* more : {&FunctionCommands, &TopicCommands, &CloudWatchCommands,
                       &StackCommands}) {
      for (Command& c : (*more)()) commands->push_back(std::move(c));
    }
    return true;
  }();
  (void)kAppended;
  return *commands;
}

}  // namespace evbus::cli
