#include "server/api/grpc/event_bus_service.h"

#include <utility>
#include <vector>

#include "server/api/grpc/status_conversion.h"
#include "server/common/aws_error.h"

namespace evbus::api {
namespace {

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

common::EventEntry FromProto(const evbus::v1::PutEventsRequestEntry& entry) {
  common::EventEntry out;
  out.time = NonEmpty(entry.time());
  out.source = NonEmpty(entry.source());
  out.resources.assign(entry.resources().begin(), entry.resources().end());
  out.detail_type = NonEmpty(entry.detail_type());
  out.detail = NonEmpty(entry.detail());
  out.event_bus_name = NonEmpty(entry.event_bus_name());
  out.trace_header = NonEmpty(entry.trace_header());
  return out;
}

grpc::Status EventBusServiceImpl::PutEvents(
    grpc::ServerContext*, const evbus::v1::PutEventsRequest* request,
    evbus::v1::PutEventsResponse* response) {
  std::vector<common::EventEntry> entries;
  entries.reserve(request->entries_size());
  for (const auto& e : request->entries()) entries.push_back(FromProto(e));
  absl::StatusOr<bus::PutEventsResult> result = buses_.PutEvents(entries);
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_failed_entry_count(result->failed_entry_count);
  for (bus::PutEventsResultEntry& e : result->entries) {
    evbus::v1::PutEventsResultEntry* out = response->add_entries();
    out->set_event_id(std::move(e.event_id));
    out->set_error_code(std::move(e.error_code));
    out->set_error_message(std::move(e.error_message));
  }
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListEvents(
    grpc::ServerContext*, const evbus::v1::ListEventsRequest* request,
    evbus::v1::ListEventsResponse* response) {
  if (request->max_items() < 0 || request->max_items() > 10000) {
    return ToGrpcStatus(common::ValidationError(
        "Parameter MaxItems is not valid. Reason: must be between 1 and "
        "10000."));
  }
  if (request->start_time_ms() < 0 || request->end_time_ms() < 0) {
    return ToGrpcStatus(common::ValidationError(
        "Parameter StartTime/EndTime is not valid. Reason: must not be "
        "negative."));
  }
  storage::EventLog::ListOptions options;
  options.start_ms = static_cast<uint64_t>(request->start_time_ms());
  options.end_ms = static_cast<uint64_t>(request->end_time_ms());
  options.max_items =
      request->max_items() == 0 ? 100 : static_cast<size_t>(request->max_items());
  options.page_token = request->next_token();
  absl::StatusOr<storage::EventLog::Page> page =
      buses_.ListEvents(request->event_bus_name(), std::move(options));
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (evbus::v1::StoredEvent& e : page->events) {
    *response->add_events() = std::move(e);
  }
  response->set_next_token(page->next_token);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::CreateEventBus(
    grpc::ServerContext*, const evbus::v1::CreateEventBusRequest* request,
    evbus::v1::CreateEventBusResponse* response) {
  absl::StatusOr<evbus::v1::EventBus> bus =
      buses_.CreateEventBus(request->name(), request->description());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  response->set_event_bus_arn(bus->arn());
  response->set_description(bus->description());
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DescribeEventBus(
    grpc::ServerContext*, const evbus::v1::DescribeEventBusRequest* request,
    evbus::v1::EventBus* response) {
  absl::StatusOr<evbus::v1::EventBus> bus =
      buses_.DescribeEventBus(request->name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  *response = *std::move(bus);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListEventBuses(
    grpc::ServerContext*, const evbus::v1::ListEventBusesRequest* request,
    evbus::v1::ListEventBusesResponse* response) {
  absl::StatusOr<bus::ListBusesResult> result = buses_.ListEventBuses(
      request->name_prefix(), request->limit(), request->next_token());
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (evbus::v1::EventBus& b : result->buses) {
    *response->add_event_buses() = std::move(b);
  }
  response->set_next_token(result->next_token);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DeleteEventBus(
    grpc::ServerContext*, const evbus::v1::DeleteEventBusRequest* request,
    evbus::v1::DeleteEventBusResponse*) {
  return ToGrpcStatus(buses_.DeleteEventBus(request->name()));
}

}  // namespace evbus::api
