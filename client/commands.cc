#include "client/commands.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/common/aws_error.h"

namespace evbus::cli {
namespace {

using common::Json;

std::string IsoMillis(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

// Turns a failed RPC into the CLI's error convention.
absl::Status RpcError(const grpc::Status& status, absl::string_view op,
                      const std::string& endpoint) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("InternalFailure") == std::string::npos &&
      status.error_message().find("latched") == std::string::npos) {
    return absl::UnavailableError(
        absl::StrCat("Could not connect to the endpoint ", endpoint, ": ",
                     status.error_message()));
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(absl::StrCat(
        "Read timeout on endpoint ", endpoint, " calling ", op));
  }
  common::AwsErrorParts parts = common::SplitAwsError(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message()));
  return absl::AbortedError(absl::StrCat("An error occurred (", parts.exception,
                                         ") when calling the ", op,
                                         " operation: ", parts.message));
}

std::unique_ptr<grpc::ClientContext> NewContext(const Context& ctx) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() +
                  std::chrono::seconds(ctx.timeout_seconds));
  return c;
}

std::unique_ptr<evbus::v1::EventBusService::Stub> Stub(Context& ctx) {
  return evbus::v1::EventBusService::NewStub(ctx.Channel());
}

absl::StatusOr<Json> ParseJsonArg(const Args& args, const std::string& flag) {
  absl::StatusOr<std::string> raw = args.Required(flag);
  if (!raw.ok()) return raw.status();
  absl::StatusOr<std::string> text = ReadValue(*raw);
  if (!text.ok()) return text.status();
  absl::StatusOr<Json> doc = common::ParseJson(*text, "--" + flag);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Error parsing parameter '--", flag,
        "': Invalid JSON: ", doc.status().message()));
  }
  return doc;
}

absl::StatusOr<int64_t> ParseTimeArg(const std::string& flag,
                                     const std::string& value) {
  double seconds = 0;
  if (absl::SimpleAtod(value, &seconds)) {
    return static_cast<int64_t>(seconds * 1000);
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "argument --", flag, ": \"", value,
      "\" is not an RFC 3339 time or epoch seconds"));
}

absl::StatusOr<int> ParseIntArg(const Args& args, const std::string& flag,
                                int def, int lo, int hi) {
  std::optional<std::string> v = args.Get(flag);
  if (!v.has_value()) return def;
  int n = 0;
  if (!absl::SimpleAtoi(*v, &n) || n < lo || n > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "argument --", flag, ": must be an integer from ", lo, " to ", hi));
  }
  return n;
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
      "Time",         "Source",       "Resources",  "DetailType",
      "Detail",       "EventBusName", "TraceHeader"};
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
          return absl::InvalidArgumentError(absl::StrCat(
              "Invalid type for parameter ", where, ".", key,
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
          s = absl::InvalidArgumentError(absl::StrCat(
              "Invalid type for parameter ", where,
              ".Resources, value must be a list of strings"));
        } else {
          for (const Json& r : value) {
            if (!r.is_string()) {
              s = absl::InvalidArgumentError(absl::StrCat(
                  "Invalid type for parameter ", where,
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
  grpc::Status s = Stub(ctx)->PutEvents(c.get(), *request, &response);
  if (!s.ok()) return RpcError(s, "PutEvents", ctx.endpoint);
  Json out = Json::object();
  out["FailedEntryCount"] = response.failed_entry_count();
  out["Entries"] = Json::array();
  for (const auto& e : response.entries()) {
    Json entry = Json::object();
    if (e.error_code().empty()) {
      entry["EventId"] = e.event_id();
    } else {
      entry["ErrorCode"] = e.error_code();
      entry["ErrorMessage"] = e.error_message();
    }
    out["Entries"].push_back(std::move(entry));
  }
  return out;
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
  if (auto t = args.Get("starting-token")) request.set_next_token(*t);

  Json out = Json::object();
  out["Events"] = Json::array();
  int remaining = *max_items;
  // Bounded: at most max_items events, fetched in pages of up to 1000.
  while (remaining > 0) {
    request.set_max_items(std::min(remaining, 1000));
    evbus::v1::ListEventsResponse response;
    auto c = NewContext(ctx);
    grpc::Status s = Stub(ctx)->ListEvents(c.get(), request, &response);
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
  grpc::Status s = Stub(ctx)->CreateEventBus(c.get(), request, &response);
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
  grpc::Status s = Stub(ctx)->DescribeEventBus(c.get(), request, &response);
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
  grpc::Status s = Stub(ctx)->ListEventBuses(c.get(), request, &response);
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
  grpc::Status s = Stub(ctx)->DeleteEventBus(c.get(), request, &response);
  if (!s.ok()) return RpcError(s, "DeleteEventBus", ctx.endpoint);
  return Json();  // prints nothing, as the aws CLI
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
  out["Status"] =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::AbortedError(absl::StrCat("evbusd is ", out["Status"].get<std::string>()));
  }
  return out;
}

}  // namespace

std::shared_ptr<grpc::Channel> Context::Channel() {
  if (channel == nullptr) {
    grpc::ChannelArguments ch_args;
    ch_args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    channel = grpc::CreateCustomChannel(
        endpoint, grpc::InsecureChannelCredentials(), ch_args);
  }
  return channel;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = new std::vector<Command>{
      {"put-events", "--entries JSON|file://F   put 1..10 events",
       {"entries"}, {}, PutEvents},
      {"list-events",
       "[--event-bus-name B] [--start-time T] [--end-time T] [--max-items N]"
       "   events that reached a bus (evbus extension)",
       {"event-bus-name", "start-time", "end-time", "max-items",
        "starting-token"},
       {},
       ListEvents},
      {"create-event-bus", "--name N [--description D]",
       {"name", "description"}, {}, CreateEventBus},
      {"describe-event-bus", "[--name N]", {"name"}, {}, DescribeEventBus},
      {"list-event-buses", "[--name-prefix P] [--limit N] [--next-token T]",
       {"name-prefix", "limit", "next-token"}, {}, ListEventBuses},
      {"delete-event-bus", "--name N", {"name"}, {}, DeleteEventBus},
      {"health", "[--service S]   grpc.health.v1 Check; exit 1 unless SERVING",
       {"service"}, {}, Health},
  };
  return *commands;
}

}  // namespace evbus::cli
