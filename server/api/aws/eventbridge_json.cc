#include "server/api/aws/eventbridge_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/api/shapes/eventbridge_shapes.h"
#include "server/api/shapes/schedule_shapes.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/status_macros.h"

namespace evbus::api::aws {
namespace {

using common::Json;
using Tags = std::map<std::string, std::string>;

// The latest instant AWS timestamps take (9999-12-31T23:59:59Z).
constexpr double kMaxEpochSeconds = 253402300799.0;
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// --- input --------------------------------------------------------------

// "EventBusName" → "eventBusName", "Destination.Arn" → "destination.arn":
// the member path as AWS's constraint messages spell it.
std::string CamelPath(absl::string_view path) {
  std::string out(path);
  bool start = true;
  for (char& c : out) {
    if (start) c = absl::ascii_tolower(static_cast<unsigned char>(c));
    start = c == '.';
  }
  return out;
}

// The members of one input object, read with their types checked before
// any get<>() (so that a wrong type is a ValidationException naming the
// member, never an exception). A member that is JSON null counts as absent.
class Members {
 public:
  // `where` is the object's path ("" for the input itself).
  Members(const Json& object, std::string where)
      : object_(object), where_(std::move(where)) {}

  std::string Path(absl::string_view name) const {
    return where_.empty() ? std::string(name) : absl::StrCat(where_, ".", name);
  }

  // The member, or null when absent.
  const Json* Find(absl::string_view name) const {
    auto it = object_.find(std::string(name));
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  // ValidationException listing every absent member of `names`, in AWS's
  // words ("Value null at 'name' failed to satisfy constraint: Member must
  // not be null").
  absl::Status Require(std::initializer_list<absl::string_view> names) const {
    std::vector<std::string> clauses;
    for (absl::string_view name : names) {
      if (Find(name) == nullptr) {
        clauses.push_back(absl::StrCat("Value null at '", CamelPath(Path(name)),
                                       "' failed to satisfy constraint: "
                                       "Member must not be null"));
      }
    }
    if (clauses.empty()) return absl::OkStatus();
    return common::ValidationError(absl::StrCat(
        clauses.size(), " validation error", clauses.size() == 1 ? "" : "s",
        " detected: ", absl::StrJoin(clauses, "; ")));
  }

  absl::StatusOr<std::optional<std::string>> OptionalString(
      absl::string_view name) const {
    const Json* v = Find(name);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string())
      return shapes::InvalidTypeError(Path(name), "a string");
    return std::optional<std::string>(v->get<std::string>());
  }

  // "" when absent.
  absl::StatusOr<std::string> String(absl::string_view name) const {
    EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> v, OptionalString(name));
    return v.value_or("");
  }

  absl::StatusOr<std::optional<int32_t>> OptionalInt(
      absl::string_view name) const {
    const Json* v = Find(name);
    if (v == nullptr) return std::optional<int32_t>();
    if (!v->is_number_integer())
      return shapes::InvalidTypeError(Path(name), "an integer");
    // Unsigned values are compared as such, so that none wraps around.
    bool fits =
        v->is_number_unsigned()
            ? v->get<uint64_t>() <= static_cast<uint64_t>(kInt32Max)
            : v->get<int64_t>() >= kInt32Min && v->get<int64_t>() <= kInt32Max;
    if (!fits) return shapes::InvalidTypeError(Path(name), "a 32-bit integer");
    return std::optional<int32_t>(static_cast<int32_t>(v->get<int64_t>()));
  }

  // AWS's Limit members: 1..100 when present; 0 (the service default) when
  // absent.
  absl::StatusOr<int32_t> Limit() const {
    EVBUS_ASSIGN_OR_RETURN(std::optional<int32_t> v, OptionalInt("Limit"));
    if (!v.has_value()) return 0;
    if (*v < 1 || *v > 100) {
      return common::ConstraintViolation({common::ConstraintClause(
          absl::StrCat(*v), CamelPath(Path("Limit")),
          *v < 1 ? "have value greater than or equal to 1"
                 : "have value less than or equal to 100")});
    }
    return *v;
  }

  // false when absent.
  absl::StatusOr<bool> Bool(absl::string_view name) const {
    const Json* v = Find(name);
    if (v == nullptr) return false;
    if (!v->is_boolean())
      return shapes::InvalidTypeError(Path(name), "a boolean");
    return v->get<bool>();
  }

  // A timestamp (epoch seconds) in milliseconds.
  absl::StatusOr<std::optional<int64_t>> TimestampMs(
      absl::string_view name) const {
    const Json* v = Find(name);
    if (v == nullptr) return std::optional<int64_t>();
    if (!v->is_number()) {
      return shapes::InvalidTypeError(Path(name),
                                      "a timestamp (epoch seconds)");
    }
    double seconds = v->get<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxEpochSeconds) {
      return common::ValidationError(absl::StrCat(
          "Parameter ", Path(name),
          " is not valid. Reason: the time must be between 0 and ",
          static_cast<int64_t>(kMaxEpochSeconds), " seconds since the epoch."));
    }
    return std::optional<int64_t>(std::llround(seconds * 1000));
  }

  absl::StatusOr<std::vector<std::string>> StringList(
      absl::string_view name) const {
    std::vector<std::string> out;
    const Json* v = Find(name);
    if (v == nullptr) return out;
    if (!v->is_array())
      return shapes::InvalidTypeError(Path(name), "a list of strings");
    for (const Json& s : *v) {
      if (!s.is_string())
        return shapes::InvalidTypeError(Path(name), "a list of strings");
      out.push_back(s.get<std::string>());
    }
    return out;
  }

  // A nested structure; TypeError unless it is an object.
  absl::StatusOr<std::optional<Members>> Object(absl::string_view name) const {
    const Json* v = Find(name);
    if (v == nullptr) return std::optional<Members>();
    if (!v->is_object())
      return shapes::InvalidTypeError(Path(name), "an object");
    return std::optional<Members>(Members(*v, Path(name)));
  }

  // AWS's Tags members: a list of {Key, Value}. Later duplicates win.
  absl::StatusOr<Tags> TagList(absl::string_view name) const {
    Tags tags;
    const Json* v = Find(name);
    if (v == nullptr) return tags;
    if (!v->is_array())
      return shapes::InvalidTypeError(Path(name), "a list of {Key, Value}");
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& tag = (*v)[i];
      std::string at = absl::StrCat(Path(name), "[", i, "]");
      if (!tag.is_object()) return shapes::InvalidTypeError(at, "an object");
      Members m(tag, at);
      EVBUS_RETURN_IF_ERROR(m.Require({"Key", "Value"}));
      EVBUS_ASSIGN_OR_RETURN(std::string key, m.String("Key"));
      EVBUS_ASSIGN_OR_RETURN(tags[key], m.String("Value"));
    }
    return tags;
  }

 private:
  const Json& object_;
  std::string where_;
};

// A page of a list the service returns whole: [begin, end) and the token of
// the next page ("" on the last). Tokens are offsets in decimal.
struct Window {
  size_t begin = 0;
  size_t end = 0;
  std::string next_token;
};

absl::StatusOr<Window> PageOf(size_t total, const Members& in) {
  EVBUS_ASSIGN_OR_RETURN(int32_t limit, in.Limit());
  EVBUS_ASSIGN_OR_RETURN(std::string token, in.String("NextToken"));
  Window w;
  if (!token.empty() &&
      (!absl::SimpleAtoi(token, &w.begin) || w.begin > total)) {
    return common::ValidationError("The NextToken is not valid.");
  }
  size_t size = limit == 0 ? 100 : static_cast<size_t>(limit);
  w.end = std::min(total, w.begin + size);
  if (w.end < total) w.next_token = absl::StrCat(w.end);
  return w;
}

// --- output -------------------------------------------------------------

// Sets out[name] to epoch seconds when `ms` is set (> 0).
void PutTime(Json& out, const char* name, int64_t ms) {
  if (ms > 0)
    out[name] = shapes::TimeValue(ms, shapes::TimeStyle::kEpochSeconds);
}

void PutIfSet(Json& out, const char* name, const std::string& value) {
  if (!value.empty()) out[name] = value;
}

void PutNextToken(Json& out, const std::string& token) {
  PutIfSet(out, "NextToken", token);
}

Json BusToJson(const evbus::v1::EventBus& bus) {
  Json out = Json::object();
  out["Name"] = bus.name();
  out["Arn"] = bus.arn();
  PutIfSet(out, "Description", bus.description());
  PutTime(out, "CreationTime", bus.creation_time_ms());
  PutTime(out, "LastModifiedTime", bus.last_modified_time_ms());
  return out;
}

Json ArchiveToJson(const evbus::v1::Archive& a, bool full) {
  Json out = Json::object();
  if (full) out["ArchiveArn"] = a.archive_arn();
  out["ArchiveName"] = a.archive_name();
  out["EventSourceArn"] = a.event_source_arn();
  if (full) {
    PutIfSet(out, "Description", a.description());
    PutIfSet(out, "EventPattern", a.event_pattern());
  }
  out["State"] = a.state();
  out["RetentionDays"] = a.retention_days();
  out["SizeBytes"] = a.size_bytes();
  out["EventCount"] = a.event_count();
  PutTime(out, "CreationTime", a.creation_time_ms());
  return out;
}

Json ReplayToJson(const evbus::v1::Replay& r, bool full) {
  Json out = Json::object();
  out["ReplayName"] = r.replay_name();
  if (full) {
    out["ReplayArn"] = r.replay_arn();
    PutIfSet(out, "Description", r.description());
  }
  out["State"] = r.state();
  PutIfSet(out, "StateReason", r.state_reason());
  out["EventSourceArn"] = r.event_source_arn();
  if (full) {
    Json dest = Json::object();
    dest["Arn"] = r.destination().arn();
    if (r.destination().filter_arns_size() > 0) {
      dest["FilterArns"] =
          std::vector<std::string>(r.destination().filter_arns().begin(),
                                   r.destination().filter_arns().end());
    }
    out["Destination"] = std::move(dest);
  }
  PutTime(out, "EventStartTime", r.event_start_time_ms());
  PutTime(out, "EventEndTime", r.event_end_time_ms());
  PutTime(out, "EventLastReplayedTime", r.event_last_replayed_time_ms());
  PutTime(out, "ReplayStartTime", r.replay_start_time_ms());
  PutTime(out, "ReplayEndTime", r.replay_end_time_ms());
  return out;
}

Json ConnectionToJson(const evbus::v1::Connection& c, bool full) {
  Json out = Json::object();
  out["ConnectionArn"] = c.connection_arn();
  out["Name"] = c.name();
  if (full) PutIfSet(out, "Description", c.description());
  out["ConnectionState"] = c.connection_state();
  if (!c.state_reason().empty()) out["StateReason"] = c.state_reason();
  out["AuthorizationType"] = c.authorization_type();
  if (full) out["AuthParameters"] = shapes::ConnectionAuthToJson(c);
  PutTime(out, "CreationTime", c.creation_time_ms());
  PutTime(out, "LastModifiedTime", c.last_modified_time_ms());
  return out;
}

// What Create/Update/DeleteConnection return.
Json ConnectionStateToJson(const evbus::v1::Connection& c) {
  Json out = Json::object();
  out["ConnectionArn"] = c.connection_arn();
  out["ConnectionState"] = c.connection_state();
  PutTime(out, "CreationTime", c.creation_time_ms());
  PutTime(out, "LastModifiedTime", c.last_modified_time_ms());
  return out;
}

Json DestinationToJson(const evbus::v1::ApiDestination& d, bool full) {
  Json out = Json::object();
  out["ApiDestinationArn"] = d.api_destination_arn();
  out["Name"] = d.name();
  if (full) PutIfSet(out, "Description", d.description());
  out["ApiDestinationState"] = d.api_destination_state();
  out["ConnectionArn"] = d.connection_arn();
  out["InvocationEndpoint"] = d.invocation_endpoint();
  out["HttpMethod"] = d.http_method();
  out["InvocationRateLimitPerSecond"] = d.invocation_rate_limit_per_second();
  PutTime(out, "CreationTime", d.creation_time_ms());
  PutTime(out, "LastModifiedTime", d.last_modified_time_ms());
  return out;
}

// What Create/UpdateApiDestination return.
Json DestinationStateToJson(const evbus::v1::ApiDestination& d) {
  Json out = Json::object();
  out["ApiDestinationArn"] = d.api_destination_arn();
  out["ApiDestinationState"] = d.api_destination_state();
  PutTime(out, "CreationTime", d.creation_time_ms());
  PutTime(out, "LastModifiedTime", d.last_modified_time_ms());
  return out;
}

// --- the service ----------------------------------------------------------

struct Env {
  const AwsCaller& caller;
  EventBusServiceImpl& events;
  TagStore& tags;
};

// Calls one RPC of the in-process service and converts its status back
// (the codes map 1:1; the message keeps the AWS exception prefix).
template <typename Request, typename Response>
absl::Status Call(Env& env,
                  grpc::Status (EventBusServiceImpl::*method)(
                      grpc::ServerContext*, const Request*, Response*),
                  const Request& request, Response* response) {
  grpc::ServerContext context;
  grpc::Status s = (env.events.*method)(&context, &request, response);
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

absl::StatusOr<evbus::v1::EventBus> DescribeBus(Env& env,
                                                const std::string& name) {
  evbus::v1::DescribeEventBusRequest request;
  request.set_name(name);
  evbus::v1::EventBus bus;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DescribeEventBus, request, &bus));
  return bus;
}

absl::StatusOr<evbus::v1::Rule> DescribeRuleOf(Env& env,
                                               const std::string& name,
                                               const std::string& bus) {
  evbus::v1::RuleRef ref;
  ref.set_name(name);
  ref.set_event_bus_name(bus);
  evbus::v1::Rule rule;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DescribeRule, ref, &rule));
  return rule;
}

// The ARN evbus knows a taggable resource by (an event bus or a rule), after
// checking that it exists. Errors: ValidationException for an ARN that is
// neither; ResourceNotFoundException when the resource does not exist.
absl::StatusOr<std::string> TaggableArn(Env& env, const std::string& arn) {
  std::vector<std::string> parts = absl::StrSplit(arn, absl::MaxSplits(':', 5));
  if (parts.size() == 6 && parts[0] == "arn" && parts[2] == "events") {
    absl::string_view resource = parts[5];
    if (absl::ConsumePrefix(&resource, "event-bus/")) {
      EVBUS_ASSIGN_OR_RETURN(evbus::v1::EventBus bus,
                             DescribeBus(env, std::string(resource)));
      // Another account, region or partition names another bus.
      if (bus.arn() != arn) {
        return common::ResourceNotFound(
            absl::StrCat("Event bus ", resource, " does not exist."));
      }
      return bus.arn();
    }
    if (absl::ConsumePrefix(&resource, "rule/")) {
      // rule/<name> on the default bus, rule/<bus>/<name> elsewhere (bus
      // names may contain '/', rule names may not).
      size_t slash = resource.rfind('/');
      std::string bus = slash == absl::string_view::npos
                            ? "default"
                            : std::string(resource.substr(0, slash));
      std::string name = std::string(slash == absl::string_view::npos
                                         ? resource
                                         : resource.substr(slash + 1));
      EVBUS_ASSIGN_OR_RETURN(evbus::v1::Rule rule,
                             DescribeRuleOf(env, name, bus));
      if (rule.arn() != arn) {
        return common::ResourceNotFound(absl::StrCat(
            "Rule ", name, " does not exist on EventBus ", bus, "."));
      }
      return rule.arn();
    }
  }
  return common::ValidationError(
      absl::StrCat("Parameter ResourceARN is not valid. Reason: ", arn,
                   " is not the ARN of an event bus or a rule."));
}

// --- operations -----------------------------------------------------------

absl::StatusOr<Json> PutEventsOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Entries"}));
  const Json& entries = *in.Find("Entries");
  if (!entries.is_array()) return shapes::InvalidTypeError("Entries", "a list");
  evbus::v1::PutEventsRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_endpoint_id(),
                         in.String("EndpointId"));
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string where = absl::StrCat("Entries[", i, "]");
    if (!entries[i].is_object())
      return shapes::InvalidTypeError(where, "an object");
    Members e(entries[i], where);
    evbus::v1::PutEventsRequestEntry* out = request.add_entries();
    if (const Json* time = e.Find("Time"); time != nullptr) {
      if (!time->is_number()) {
        return shapes::InvalidTypeError(e.Path("Time"),
                                        "a timestamp (epoch seconds)");
      }
      // Epoch seconds as text; the bus reports an out-of-range time as the
      // entry's InvalidArgument, as for any other bad member value.
      out->set_time(common::DumpJson(*time));
    }
    EVBUS_ASSIGN_OR_RETURN(*out->mutable_source(), e.String("Source"));
    EVBUS_ASSIGN_OR_RETURN(std::vector<std::string> resources,
                           e.StringList("Resources"));
    for (std::string& r : resources) out->add_resources(std::move(r));
    EVBUS_ASSIGN_OR_RETURN(*out->mutable_detail_type(), e.String("DetailType"));
    EVBUS_ASSIGN_OR_RETURN(*out->mutable_detail(), e.String("Detail"));
    EVBUS_ASSIGN_OR_RETURN(*out->mutable_event_bus_name(),
                           e.String("EventBusName"));
    EVBUS_ASSIGN_OR_RETURN(*out->mutable_trace_header(),
                           e.String("TraceHeader"));
  }
  evbus::v1::PutEventsResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::PutEventsBlocking, request, &response));
  return shapes::PutEventsResponseToJson(response);
}

absl::StatusOr<Json> TestEventPatternOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"EventPattern", "Event"}));
  evbus::v1::TestEventPatternRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_pattern(),
                         in.String("EventPattern"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event(), in.String("Event"));
  evbus::v1::TestEventPatternResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::TestEventPattern, request, &response));
  return Json{{"Result", response.result()}};
}

// Event buses.

absl::StatusOr<Json> CreateEventBusOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::CreateEventBusRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name(), in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_description(),
                         in.String("Description"));
  EVBUS_ASSIGN_OR_RETURN(Tags tags, in.TagList("Tags"));
  EVBUS_RETURN_IF_ERROR(TagStore::Validate(tags));
  evbus::v1::CreateEventBusResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::CreateEventBus, request, &response));
  EVBUS_RETURN_IF_ERROR(env.tags.Reset(response.event_bus_arn(), tags));
  Json out = Json::object();
  out["EventBusArn"] = response.event_bus_arn();
  PutIfSet(out, "Description", response.description());
  return out;
}

absl::StatusOr<Json> DescribeEventBusOp(const Members& in, Env& env) {
  EVBUS_ASSIGN_OR_RETURN(std::string name, in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(evbus::v1::EventBus bus, DescribeBus(env, name));
  return BusToJson(bus);
}

absl::StatusOr<Json> ListEventBusesOp(const Members& in, Env& env) {
  evbus::v1::ListEventBusesRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name_prefix(),
                         in.String("NamePrefix"));
  EVBUS_ASSIGN_OR_RETURN(int32_t limit, in.Limit());
  request.set_limit(limit);
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_next_token(), in.String("NextToken"));
  evbus::v1::ListEventBusesResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::ListEventBuses, request, &response));
  Json out = Json::object();
  out["EventBuses"] = Json::array();
  for (const auto& b : response.event_buses()) {
    out["EventBuses"].push_back(BusToJson(b));
  }
  PutNextToken(out, response.next_token());
  return out;
}

// The description is the one bus setting evbus has (KMS keys, dead-letter
// and log configuration do not exist here): it is set when given.
absl::StatusOr<Json> UpdateEventBusOp(const Members& in, Env& env) {
  EVBUS_ASSIGN_OR_RETURN(std::string name, in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> description,
                         in.OptionalString("Description"));
  EVBUS_ASSIGN_OR_RETURN(evbus::v1::EventBus bus, DescribeBus(env, name));
  if (description.has_value()) {
    evbus::v1::UpdateEventBusRequest request;
    request.set_name(bus.name());
    request.set_description(*description);
    EVBUS_RETURN_IF_ERROR(
        Call(env, &EventBusServiceImpl::UpdateEventBus, request, &bus));
  }
  Json out = Json::object();
  out["Arn"] = bus.arn();
  out["Name"] = bus.name();
  PutIfSet(out, "Description", bus.description());
  return out;
}

absl::StatusOr<Json> DeleteEventBusOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::DeleteEventBusRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name(), in.String("Name"));
  evbus::v1::DeleteEventBusResponse response;
  // The bus's tags, and its rules', go in the same batch.
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DeleteEventBus, request, &response));
  return Json::object();
}

// Rules.

absl::StatusOr<Json> PutRuleOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::PutRuleRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name(), in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_bus_name(),
                         in.String("EventBusName"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_pattern(),
                         in.String("EventPattern"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_schedule_expression(),
                         in.String("ScheduleExpression"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_state(), in.String("State"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_description(),
                         in.String("Description"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_role_arn(), in.String("RoleArn"));
  EVBUS_ASSIGN_OR_RETURN(Tags tags, in.TagList("Tags"));
  EVBUS_RETURN_IF_ERROR(TagStore::Validate(tags));
  // PutRule creates or replaces; Tags apply only when it creates (AWS
  // ignores them on update).
  bool exists =
      DescribeRuleOf(env, request.name(), request.event_bus_name()).ok();
  evbus::v1::PutRuleResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::PutRule, request, &response));
  if (!exists) EVBUS_RETURN_IF_ERROR(env.tags.Reset(response.rule_arn(), tags));
  return Json{{"RuleArn", response.rule_arn()}};
}

absl::StatusOr<Json> DescribeRuleOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  EVBUS_ASSIGN_OR_RETURN(std::string name, in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(std::string bus, in.String("EventBusName"));
  EVBUS_ASSIGN_OR_RETURN(evbus::v1::Rule rule, DescribeRuleOf(env, name, bus));
  Json out = shapes::RuleToJson(rule);
  PutIfSet(out, "CreatedBy", env.caller.account);
  return out;
}

absl::StatusOr<Json> ListRulesOp(const Members& in, Env& env) {
  evbus::v1::ListRulesRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name_prefix(),
                         in.String("NamePrefix"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_bus_name(),
                         in.String("EventBusName"));
  EVBUS_ASSIGN_OR_RETURN(int32_t limit, in.Limit());
  request.set_limit(limit);
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_next_token(), in.String("NextToken"));
  evbus::v1::ListRulesResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::ListRules, request, &response));
  Json out = Json::object();
  out["Rules"] = Json::array();
  for (const auto& r : response.rules())
    out["Rules"].push_back(shapes::RuleToJson(r));
  PutNextToken(out, response.next_token());
  return out;
}

absl::StatusOr<Json> SetRuleState(const Members& in, Env& env, bool enable) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::RuleRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_name(), in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_event_bus_name(),
                         in.String("EventBusName"));
  evbus::v1::Empty response;
  EVBUS_RETURN_IF_ERROR(Call(env,
                             enable ? &EventBusServiceImpl::EnableRule
                                    : &EventBusServiceImpl::DisableRule,
                             ref, &response));
  return Json::object();
}

absl::StatusOr<Json> EnableRuleOp(const Members& in, Env& env) {
  return SetRuleState(in, env, true);
}

absl::StatusOr<Json> DisableRuleOp(const Members& in, Env& env) {
  return SetRuleState(in, env, false);
}

absl::StatusOr<Json> DeleteRuleOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::DeleteRuleRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name(), in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_bus_name(),
                         in.String("EventBusName"));
  // Force lets a managed rule (an archive's) be deleted, as in AWS.
  EVBUS_ASSIGN_OR_RETURN(bool force, in.Bool("Force"));
  request.set_force(force);
  evbus::v1::Empty response;
  // The rule's tags go in the same batch.
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DeleteRule, request, &response));
  return Json::object();
}

// Targets.

absl::StatusOr<Json> PutTargetsOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Rule", "Targets"}));
  evbus::v1::PutTargetsRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_rule(), in.String("Rule"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_bus_name(),
                         in.String("EventBusName"));
  const Json& targets = *in.Find("Targets");
  if (!targets.is_array())
    return shapes::InvalidTypeError("Targets", "a list of targets");
  for (size_t i = 0; i < targets.size(); ++i) {
    EVBUS_ASSIGN_OR_RETURN(
        *request.add_targets(),
        shapes::TargetFromJson(targets[i], absl::StrCat("Targets[", i, "]"),
                               shapes::UnknownMembers::kIgnore));
  }
  evbus::v1::PutTargetsResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::PutTargets, request, &response));
  return shapes::PutTargetsResponseToJson(response);
}

absl::StatusOr<Json> RemoveTargetsOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Rule", "Ids"}));
  evbus::v1::RemoveTargetsRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_rule(), in.String("Rule"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_bus_name(),
                         in.String("EventBusName"));
  EVBUS_ASSIGN_OR_RETURN(std::vector<std::string> ids, in.StringList("Ids"));
  for (std::string& id : ids) request.add_ids(std::move(id));
  EVBUS_ASSIGN_OR_RETURN(bool force, in.Bool("Force"));
  request.set_force(force);
  evbus::v1::PutTargetsResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::RemoveTargets, request, &response));
  return shapes::PutTargetsResponseToJson(response);
}

absl::StatusOr<Json> ListTargetsByRuleOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Rule"}));
  evbus::v1::ListTargetsByRuleRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_rule(), in.String("Rule"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_bus_name(),
                         in.String("EventBusName"));
  evbus::v1::ListTargetsByRuleResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::ListTargetsByRule, request, &response));
  EVBUS_ASSIGN_OR_RETURN(
      Window w, PageOf(static_cast<size_t>(response.targets_size()), in));
  Json out = Json::object();
  out["Targets"] = Json::array();
  for (size_t i = w.begin; i < w.end; ++i) {
    out["Targets"].push_back(
        shapes::TargetToJson(response.targets(static_cast<int>(i))));
  }
  PutNextToken(out, w.next_token);
  return out;
}

absl::StatusOr<Json> ListRuleNamesByTargetOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"TargetArn"}));
  evbus::v1::ListRuleNamesByTargetRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_target_arn(), in.String("TargetArn"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_bus_name(),
                         in.String("EventBusName"));
  evbus::v1::ListRuleNamesByTargetResponse response;
  EVBUS_RETURN_IF_ERROR(Call(env, &EventBusServiceImpl::ListRuleNamesByTarget,
                             request, &response));
  EVBUS_ASSIGN_OR_RETURN(
      Window w, PageOf(static_cast<size_t>(response.rule_names_size()), in));
  Json out = Json::object();
  out["RuleNames"] = Json::array();
  for (size_t i = w.begin; i < w.end; ++i) {
    out["RuleNames"].push_back(response.rule_names(static_cast<int>(i)));
  }
  PutNextToken(out, w.next_token);
  return out;
}

// Archives and replays.

absl::StatusOr<Json> CreateArchiveOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ArchiveName", "EventSourceArn"}));
  evbus::v1::CreateArchiveRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_archive_name(),
                         in.String("ArchiveName"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_source_arn(),
                         in.String("EventSourceArn"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_description(),
                         in.String("Description"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_pattern(),
                         in.String("EventPattern"));
  EVBUS_ASSIGN_OR_RETURN(std::optional<int32_t> days,
                         in.OptionalInt("RetentionDays"));
  request.set_retention_days(days.value_or(0));
  evbus::v1::Archive archive;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::CreateArchive, request, &archive));
  Json out = Json::object();
  out["ArchiveArn"] = archive.archive_arn();
  out["State"] = archive.state();
  PutTime(out, "CreationTime", archive.creation_time_ms());
  return out;
}

absl::StatusOr<Json> DescribeArchiveOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ArchiveName"}));
  evbus::v1::ArchiveRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_archive_name(), in.String("ArchiveName"));
  evbus::v1::Archive archive;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DescribeArchive, ref, &archive));
  return ArchiveToJson(archive, /*full=*/true);
}

absl::StatusOr<Json> UpdateArchiveOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ArchiveName"}));
  evbus::v1::UpdateArchiveRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_archive_name(),
                         in.String("ArchiveName"));
  EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> description,
                         in.OptionalString("Description"));
  if (description.has_value()) request.set_description(*description);
  EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> pattern,
                         in.OptionalString("EventPattern"));
  if (pattern.has_value()) request.set_event_pattern(*pattern);
  EVBUS_ASSIGN_OR_RETURN(std::optional<int32_t> days,
                         in.OptionalInt("RetentionDays"));
  if (days.has_value()) request.set_retention_days(*days);
  evbus::v1::Archive archive;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::UpdateArchive, request, &archive));
  Json out = Json::object();
  out["ArchiveArn"] = archive.archive_arn();
  out["State"] = archive.state();
  PutTime(out, "CreationTime", archive.creation_time_ms());
  return out;
}

absl::StatusOr<Json> ListArchivesOp(const Members& in, Env& env) {
  evbus::v1::ListArchivesRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name_prefix(),
                         in.String("NamePrefix"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_source_arn(),
                         in.String("EventSourceArn"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_state(), in.String("State"));
  EVBUS_ASSIGN_OR_RETURN(int32_t limit, in.Limit());
  request.set_limit(limit);
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_next_token(), in.String("NextToken"));
  evbus::v1::ListArchivesResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::ListArchives, request, &response));
  Json out = Json::object();
  out["Archives"] = Json::array();
  for (const auto& a : response.archives()) {
    out["Archives"].push_back(ArchiveToJson(a, /*full=*/false));
  }
  PutNextToken(out, response.next_token());
  return out;
}

absl::StatusOr<Json> DeleteArchiveOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ArchiveName"}));
  evbus::v1::ArchiveRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_archive_name(), in.String("ArchiveName"));
  evbus::v1::Empty response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DeleteArchive, ref, &response));
  return Json::object();
}

absl::StatusOr<Json> StartReplayOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(
      in.Require({"ReplayName", "EventSourceArn", "EventStartTime",
                  "EventEndTime", "Destination"}));
  evbus::v1::StartReplayRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_replay_name(),
                         in.String("ReplayName"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_description(),
                         in.String("Description"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_source_arn(),
                         in.String("EventSourceArn"));
  EVBUS_ASSIGN_OR_RETURN(std::optional<int64_t> start,
                         in.TimestampMs("EventStartTime"));
  request.set_event_start_time_ms(*start);
  EVBUS_ASSIGN_OR_RETURN(std::optional<int64_t> end,
                         in.TimestampMs("EventEndTime"));
  request.set_event_end_time_ms(*end);
  EVBUS_ASSIGN_OR_RETURN(std::optional<Members> dest, in.Object("Destination"));
  EVBUS_RETURN_IF_ERROR(dest->Require({"Arn"}));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_destination()->mutable_arn(),
                         dest->String("Arn"));
  EVBUS_ASSIGN_OR_RETURN(std::vector<std::string> filters,
                         dest->StringList("FilterArns"));
  for (std::string& f : filters) {
    request.mutable_destination()->add_filter_arns(std::move(f));
  }
  evbus::v1::Replay replay;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::StartReplay, request, &replay));
  Json out = Json::object();
  out["ReplayArn"] = replay.replay_arn();
  out["State"] = replay.state();
  PutIfSet(out, "StateReason", replay.state_reason());
  PutTime(out, "ReplayStartTime", replay.replay_start_time_ms());
  return out;
}

absl::StatusOr<Json> DescribeReplayOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ReplayName"}));
  evbus::v1::ReplayRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_replay_name(), in.String("ReplayName"));
  evbus::v1::Replay replay;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DescribeReplay, ref, &replay));
  return ReplayToJson(replay, /*full=*/true);
}

absl::StatusOr<Json> ListReplaysOp(const Members& in, Env& env) {
  evbus::v1::ListReplaysRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name_prefix(),
                         in.String("NamePrefix"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_state(), in.String("State"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_event_source_arn(),
                         in.String("EventSourceArn"));
  EVBUS_ASSIGN_OR_RETURN(int32_t limit, in.Limit());
  request.set_limit(limit);
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_next_token(), in.String("NextToken"));
  evbus::v1::ListReplaysResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::ListReplays, request, &response));
  Json out = Json::object();
  out["Replays"] = Json::array();
  for (const auto& r : response.replays()) {
    out["Replays"].push_back(ReplayToJson(r, /*full=*/false));
  }
  PutNextToken(out, response.next_token());
  return out;
}

absl::StatusOr<Json> CancelReplayOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ReplayName"}));
  evbus::v1::ReplayRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_replay_name(), in.String("ReplayName"));
  evbus::v1::Replay replay;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::CancelReplay, ref, &replay));
  Json out = Json::object();
  out["ReplayArn"] = replay.replay_arn();
  out["State"] = replay.state();
  PutIfSet(out, "StateReason", replay.state_reason());
  return out;
}

// Connections and API destinations.

absl::Status ConnectionFromInput(const Members& in,
                                 evbus::v1::Connection* connection) {
  EVBUS_ASSIGN_OR_RETURN(*connection->mutable_name(), in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(*connection->mutable_description(),
                         in.String("Description"));
  EVBUS_ASSIGN_OR_RETURN(*connection->mutable_authorization_type(),
                         in.String("AuthorizationType"));
  if (const Json* auth = in.Find("AuthParameters"); auth != nullptr) {
    EVBUS_RETURN_IF_ERROR(
        shapes::ConnectionAuthFromJson(*auth, shapes::UnknownMembers::kIgnore,
                                       connection->mutable_auth_parameters()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> CreateConnectionOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(
      in.Require({"Name", "AuthorizationType", "AuthParameters"}));
  evbus::v1::Connection request;
  EVBUS_RETURN_IF_ERROR(ConnectionFromInput(in, &request));
  evbus::v1::Connection connection;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::CreateConnection, request, &connection));
  return ConnectionStateToJson(connection);
}

absl::StatusOr<Json> UpdateConnectionOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::Connection request;
  EVBUS_RETURN_IF_ERROR(ConnectionFromInput(in, &request));
  evbus::v1::Connection connection;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::UpdateConnection, request, &connection));
  return ConnectionStateToJson(connection);
}

absl::StatusOr<Json> DescribeConnectionOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::NameRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_name(), in.String("Name"));
  evbus::v1::Connection connection;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DescribeConnection, ref, &connection));
  return ConnectionToJson(connection, /*full=*/true);
}

absl::StatusOr<Json> ListConnectionsOp(const Members& in, Env& env) {
  evbus::v1::ListConnectionsRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name_prefix(),
                         in.String("NamePrefix"));
  EVBUS_ASSIGN_OR_RETURN(std::string state, in.String("ConnectionState"));
  evbus::v1::ListConnectionsResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::ListConnections, request, &response));
  std::vector<const evbus::v1::Connection*> matching;
  for (const auto& c : response.connections()) {
    if (state.empty() || c.connection_state() == state) matching.push_back(&c);
  }
  EVBUS_ASSIGN_OR_RETURN(Window w, PageOf(matching.size(), in));
  Json out = Json::object();
  out["Connections"] = Json::array();
  for (size_t i = w.begin; i < w.end; ++i) {
    out["Connections"].push_back(
        ConnectionToJson(*matching[i], /*full=*/false));
  }
  PutNextToken(out, w.next_token);
  return out;
}

absl::StatusOr<Json> DeleteConnectionOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::NameRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_name(), in.String("Name"));
  evbus::v1::Connection connection;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DeleteConnection, ref, &connection));
  return ConnectionStateToJson(connection);
}

absl::Status DestinationFromInput(const Members& in,
                                  evbus::v1::ApiDestination* d) {
  EVBUS_ASSIGN_OR_RETURN(*d->mutable_name(), in.String("Name"));
  EVBUS_ASSIGN_OR_RETURN(*d->mutable_description(), in.String("Description"));
  EVBUS_ASSIGN_OR_RETURN(*d->mutable_connection_arn(),
                         in.String("ConnectionArn"));
  EVBUS_ASSIGN_OR_RETURN(*d->mutable_invocation_endpoint(),
                         in.String("InvocationEndpoint"));
  EVBUS_ASSIGN_OR_RETURN(*d->mutable_http_method(), in.String("HttpMethod"));
  EVBUS_ASSIGN_OR_RETURN(std::optional<int32_t> rate,
                         in.OptionalInt("InvocationRateLimitPerSecond"));
  if (rate.has_value()) {
    if (*rate < 1) {
      return common::ConstraintViolation({common::ConstraintClause(
          absl::StrCat(*rate), "invocationRateLimitPerSecond",
          "have value greater than or equal to 1")});
    }
    d->set_invocation_rate_limit_per_second(*rate);
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> CreateApiDestinationOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require(
      {"Name", "ConnectionArn", "InvocationEndpoint", "HttpMethod"}));
  evbus::v1::ApiDestination request;
  EVBUS_RETURN_IF_ERROR(DestinationFromInput(in, &request));
  evbus::v1::ApiDestination d;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::CreateApiDestination, request, &d));
  return DestinationStateToJson(d);
}

absl::StatusOr<Json> UpdateApiDestinationOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::ApiDestination request;
  EVBUS_RETURN_IF_ERROR(DestinationFromInput(in, &request));
  evbus::v1::ApiDestination d;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::UpdateApiDestination, request, &d));
  return DestinationStateToJson(d);
}

absl::StatusOr<Json> DescribeApiDestinationOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::NameRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_name(), in.String("Name"));
  evbus::v1::ApiDestination d;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DescribeApiDestination, ref, &d));
  return DestinationToJson(d, /*full=*/true);
}

absl::StatusOr<Json> ListApiDestinationsOp(const Members& in, Env& env) {
  evbus::v1::ListApiDestinationsRequest request;
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_name_prefix(),
                         in.String("NamePrefix"));
  EVBUS_ASSIGN_OR_RETURN(*request.mutable_connection_arn(),
                         in.String("ConnectionArn"));
  evbus::v1::ListApiDestinationsResponse response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::ListApiDestinations, request, &response));
  EVBUS_ASSIGN_OR_RETURN(
      Window w,
      PageOf(static_cast<size_t>(response.api_destinations_size()), in));
  Json out = Json::object();
  out["ApiDestinations"] = Json::array();
  for (size_t i = w.begin; i < w.end; ++i) {
    out["ApiDestinations"].push_back(DestinationToJson(
        response.api_destinations(static_cast<int>(i)), /*full=*/false));
  }
  PutNextToken(out, w.next_token);
  return out;
}

absl::StatusOr<Json> DeleteApiDestinationOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"Name"}));
  evbus::v1::NameRef ref;
  EVBUS_ASSIGN_OR_RETURN(*ref.mutable_name(), in.String("Name"));
  evbus::v1::Empty response;
  EVBUS_RETURN_IF_ERROR(
      Call(env, &EventBusServiceImpl::DeleteApiDestination, ref, &response));
  return Json::object();
}

// Tags.

absl::StatusOr<Json> TagResourceOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ResourceARN", "Tags"}));
  EVBUS_ASSIGN_OR_RETURN(std::string arn, in.String("ResourceARN"));
  EVBUS_ASSIGN_OR_RETURN(Tags tags, in.TagList("Tags"));
  EVBUS_ASSIGN_OR_RETURN(std::string resource, TaggableArn(env, arn));
  EVBUS_RETURN_IF_ERROR(env.tags.Tag(resource, tags));
  return Json::object();
}

absl::StatusOr<Json> UntagResourceOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ResourceARN", "TagKeys"}));
  EVBUS_ASSIGN_OR_RETURN(std::string arn, in.String("ResourceARN"));
  EVBUS_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                         in.StringList("TagKeys"));
  EVBUS_ASSIGN_OR_RETURN(std::string resource, TaggableArn(env, arn));
  EVBUS_RETURN_IF_ERROR(env.tags.Untag(resource, keys));
  return Json::object();
}

absl::StatusOr<Json> ListTagsForResourceOp(const Members& in, Env& env) {
  EVBUS_RETURN_IF_ERROR(in.Require({"ResourceARN"}));
  EVBUS_ASSIGN_OR_RETURN(std::string arn, in.String("ResourceARN"));
  EVBUS_ASSIGN_OR_RETURN(std::string resource, TaggableArn(env, arn));
  EVBUS_ASSIGN_OR_RETURN(Tags tags, env.tags.List(resource));
  Json out = Json::object();
  out["Tags"] = Json::array();
  for (const auto& [key, value] : tags) {
    out["Tags"].push_back({{"Key", key}, {"Value", value}});
  }
  return out;
}

// --- dispatch -------------------------------------------------------------

using Handler = absl::StatusOr<Json> (*)(const Members&, Env&);

struct Operation {
  absl::string_view name;
  Handler handler = nullptr;
};

constexpr Operation kOperations[] = {
    {"PutEvents", &PutEventsOp},
    {"TestEventPattern", &TestEventPatternOp},
    {"CreateEventBus", &CreateEventBusOp},
    {"DescribeEventBus", &DescribeEventBusOp},
    {"ListEventBuses", &ListEventBusesOp},
    {"UpdateEventBus", &UpdateEventBusOp},
    {"DeleteEventBus", &DeleteEventBusOp},
    {"PutRule", &PutRuleOp},
    {"DescribeRule", &DescribeRuleOp},
    {"ListRules", &ListRulesOp},
    {"EnableRule", &EnableRuleOp},
    {"DisableRule", &DisableRuleOp},
    {"DeleteRule", &DeleteRuleOp},
    {"PutTargets", &PutTargetsOp},
    {"RemoveTargets", &RemoveTargetsOp},
    {"ListTargetsByRule", &ListTargetsByRuleOp},
    {"ListRuleNamesByTarget", &ListRuleNamesByTargetOp},
    {"CreateArchive", &CreateArchiveOp},
    {"DescribeArchive", &DescribeArchiveOp},
    {"ListArchives", &ListArchivesOp},
    {"UpdateArchive", &UpdateArchiveOp},
    {"DeleteArchive", &DeleteArchiveOp},
    {"StartReplay", &StartReplayOp},
    {"DescribeReplay", &DescribeReplayOp},
    {"ListReplays", &ListReplaysOp},
    {"CancelReplay", &CancelReplayOp},
    {"CreateConnection", &CreateConnectionOp},
    {"DescribeConnection", &DescribeConnectionOp},
    {"ListConnections", &ListConnectionsOp},
    {"UpdateConnection", &UpdateConnectionOp},
    {"DeleteConnection", &DeleteConnectionOp},
    {"CreateApiDestination", &CreateApiDestinationOp},
    {"DescribeApiDestination", &DescribeApiDestinationOp},
    {"ListApiDestinations", &ListApiDestinationsOp},
    {"UpdateApiDestination", &UpdateApiDestinationOp},
    {"DeleteApiDestination", &DeleteApiDestinationOp},
    {"TagResource", &TagResourceOp},
    {"UntagResource", &UntagResourceOp},
    {"ListTagsForResource", &ListTagsForResourceOp},
};

Handler FindHandler(absl::string_view op) {
  for (const Operation& o : kOperations) {
    if (o.name == op) return o.handler;
  }
  return nullptr;
}

AwsHttpResponse Error(int status, absl::string_view code,
                      absl::string_view message) {
  return JsonError(status, code, message, kAwsJson11ContentType);
}

AwsHttpResponse Error(const absl::Status& status) {
  AwsErrorInfo info = ErrorInfoOf(status);
  return Error(info.status, info.code, info.message);
}

}  // namespace

AwsHttpResponse HandleEventBridge(absl::string_view op,
                                  const AwsHttpRequest& request,
                                  const AwsCaller& caller,
                                  api::EventBusServiceImpl& events,
                                  TagStore& tags) {
  Handler handler = FindHandler(op);
  if (handler == nullptr) {
    return Error(400, "UnknownOperationException",
                 absl::StrCat("Operation ", op, " is not supported by evbus"));
  }
  Json input = Json::object();
  if (!absl::StripAsciiWhitespace(request.body).empty()) {
    absl::StatusOr<Json> parsed =
        common::ParseJson(request.body, "request body");
    if (!parsed.ok()) {
      return Error(400, "SerializationException", parsed.status().message());
    }
    if (!parsed->is_object()) {
      return Error(400, "SerializationException",
                   "The request body must be a JSON object.");
    }
    input = *std::move(parsed);
  }
  Env env{caller, events, tags};
  absl::StatusOr<Json> output = handler(Members(input, ""), env);
  if (!output.ok()) return Error(output.status());
  AwsHttpResponse response;
  response.status = 200;
  response.content_type = kAwsJson11ContentType;
  response.headers.emplace_back("x-amzn-RequestId", common::NewUuidV4());
  response.body = common::DumpJson(*output);
  return response;
}

}  // namespace evbus::api::aws
