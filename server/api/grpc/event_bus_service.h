// File: server/api/grpc/event_bus_service.h
//
// The evbus.v1.EventBusService gRPC service: converts protobuf requests to
// domain calls on bus::BusService and back. No behaviour lives here.
//
// Uses gRPC's synchronous API: each call runs on a thread of the server's
// own pool, which is allowed to block on the synced commit; concurrent calls
// then share fsyncs in the store's write group.
//
// Thread safety: thread-safe.
#pragma once

#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "server/bus/bus_service.h"

namespace evbus::api {

class EventBusServiceImpl final : public evbus::v1::EventBusService::Service {
 public:
  explicit EventBusServiceImpl(bus::BusService& buses) : buses_(buses) {}

  grpc::Status PutEvents(grpc::ServerContext* context,
                         const evbus::v1::PutEventsRequest* request,
                         evbus::v1::PutEventsResponse* response) override;
  grpc::Status ListEvents(grpc::ServerContext* context,
                          const evbus::v1::ListEventsRequest* request,
                          evbus::v1::ListEventsResponse* response) override;
  grpc::Status CreateEventBus(
      grpc::ServerContext* context,
      const evbus::v1::CreateEventBusRequest* request,
      evbus::v1::CreateEventBusResponse* response) override;
  grpc::Status DescribeEventBus(
      grpc::ServerContext* context,
      const evbus::v1::DescribeEventBusRequest* request,
      evbus::v1::EventBus* response) override;
  grpc::Status ListEventBuses(
      grpc::ServerContext* context,
      const evbus::v1::ListEventBusesRequest* request,
      evbus::v1::ListEventBusesResponse* response) override;
  grpc::Status DeleteEventBus(
      grpc::ServerContext* context,
      const evbus::v1::DeleteEventBusRequest* request,
      evbus::v1::DeleteEventBusResponse* response) override;

 private:
  bus::BusService& buses_;
};

// Converts one proto entry into the domain entry. proto3 strings cannot be
// absent, so an empty Source/DetailType/Detail/Time/EventBusName counts as
// absent, which is how EventBridge treats "" for these members.
common::EventEntry FromProto(const evbus::v1::PutEventsRequestEntry& entry);

}  // namespace evbus::api
