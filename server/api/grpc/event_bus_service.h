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

#include <atomic>
#include <functional>

#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "server/api/grpc/call_authorizer.h"
#include "server/bus/archive_service.h"
#include "server/bus/bus_service.h"
#include "server/bus/connection_registry.h"
#include "server/bus/rule_registry.h"
#include "server/common/clock.h"
#include "server/delivery/dispatcher.h"
#include "server/scheduler/scheduler.h"
#include "server/storage/log_store.h"

namespace evbus::api {

// PutEvents is served with gRPC's callback API: the handler validates and
// routes on gRPC's thread and returns; the response is sent when the group
// committer has synced the events (BusService::PutEventsAsync), so no thread
// waits per call. The other methods are synchronous.
class EventBusServiceImpl final
    : public evbus::v1::EventBusService::WithCallbackMethod_PutEvents<
          evbus::v1::EventBusService::Service> {
 public:
  EventBusServiceImpl(bus::BusService& buses, bus::RuleRegistry& rules,
                      delivery::Dispatcher& dispatcher, storage::LogStore& logs,
                      bus::ArchiveService& archives,
                      bus::ConnectionRegistry& connections)
      : buses_(buses),
        rules_(rules),
        dispatcher_(dispatcher),
        logs_(logs),
        archives_(archives),
        connections_(connections) {}

  // Wires the Scheduler API and the test-mode clock (`manual` null: a real
  // clock, Set/Advance refused). `on_clock_change` runs after the clock moved.
  void SetScheduler(scheduler::Scheduler* scheduler, common::Clock* clock,
                    common::ManualClock* manual,
                    std::function<void()> on_clock_change) {
    scheduler_ = scheduler;
    clock_ = clock;
    manual_clock_ = manual;
    on_clock_change_ = std::move(on_clock_change);
  }

  // Ends every TailEvents stream (called before the server shuts down, so
  // that Shutdown does not wait for them).
  void StopStreams();

  grpc::ServerUnaryReactor* PutEvents(
      grpc::CallbackServerContext* context,
      const evbus::v1::PutEventsRequest* request,
      evbus::v1::PutEventsResponse* response) override;
  // The same, blocking the calling thread until the events are synced (for
  // the AWS-compatible endpoint, which calls the methods in-process).
  grpc::Status PutEventsBlocking(grpc::ServerContext* context,
                                 const evbus::v1::PutEventsRequest* request,
                                 evbus::v1::PutEventsResponse* response);
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
  grpc::Status UpdateEventBus(grpc::ServerContext* context,
                              const evbus::v1::UpdateEventBusRequest* request,
                              evbus::v1::EventBus* response) override;
  grpc::Status DeleteEventBus(
      grpc::ServerContext* context,
      const evbus::v1::DeleteEventBusRequest* request,
      evbus::v1::DeleteEventBusResponse* response) override;

  grpc::Status PutRule(grpc::ServerContext* context,
                       const evbus::v1::PutRuleRequest* request,
                       evbus::v1::PutRuleResponse* response) override;
  grpc::Status DescribeRule(grpc::ServerContext* context,
                            const evbus::v1::RuleRef* request,
                            evbus::v1::Rule* response) override;
  grpc::Status ListRules(grpc::ServerContext* context,
                         const evbus::v1::ListRulesRequest* request,
                         evbus::v1::ListRulesResponse* response) override;
  grpc::Status EnableRule(grpc::ServerContext* context,
                          const evbus::v1::RuleRef* request,
                          evbus::v1::Empty* response) override;
  grpc::Status DisableRule(grpc::ServerContext* context,
                           const evbus::v1::RuleRef* request,
                           evbus::v1::Empty* response) override;
  grpc::Status DeleteRule(grpc::ServerContext* context,
                          const evbus::v1::DeleteRuleRequest* request,
                          evbus::v1::Empty* response) override;
  grpc::Status PutTargets(grpc::ServerContext* context,
                          const evbus::v1::PutTargetsRequest* request,
                          evbus::v1::PutTargetsResponse* response) override;
  grpc::Status RemoveTargets(grpc::ServerContext* context,
                             const evbus::v1::RemoveTargetsRequest* request,
                             evbus::v1::PutTargetsResponse* response) override;
  grpc::Status ListTargetsByRule(
      grpc::ServerContext* context,
      const evbus::v1::ListTargetsByRuleRequest* request,
      evbus::v1::ListTargetsByRuleResponse* response) override;
  grpc::Status ListRuleNamesByTarget(
      grpc::ServerContext* context,
      const evbus::v1::ListRuleNamesByTargetRequest* request,
      evbus::v1::ListRuleNamesByTargetResponse* response) override;
  grpc::Status ListDeadLetters(
      grpc::ServerContext* context,
      const evbus::v1::ListDeadLettersRequest* request,
      evbus::v1::ListDeadLettersResponse* response) override;
  grpc::Status RedriveDeadLetters(
      grpc::ServerContext* context,
      const evbus::v1::RedriveDeadLettersRequest* request,
      evbus::v1::RedriveDeadLettersResponse* response) override;
  grpc::Status ReadLog(grpc::ServerContext* context,
                       const evbus::v1::ReadLogRequest* request,
                       evbus::v1::ReadLogResponse* response) override;

  // Takes a backup into a new directory; returns its size in bytes.
  using BackupFn = std::function<absl::StatusOr<int64_t>(const std::string&)>;
  void SetBackup(BackupFn backup) { backup_ = std::move(backup); }

  // Where stack records live (the daemon keeps them in the catalog).
  struct StackRecordStore {
    std::function<absl::StatusOr<evbus::v1::StackRecord>(const std::string&)>
        get;
    std::function<absl::Status(const evbus::v1::StackRecord&)> put;
  };
  void SetStackRecords(StackRecordStore records) {
    stack_records_ = std::move(records);
  }
  grpc::Status GetStackRecord(grpc::ServerContext* context,
                              const evbus::v1::StackRecordRef* request,
                              evbus::v1::StackRecord* response) override;
  grpc::Status PutStackRecord(grpc::ServerContext* context,
                              const evbus::v1::StackRecord* request,
                              evbus::v1::Empty* response) override;
  grpc::Status CreateBackup(grpc::ServerContext* context,
                            const evbus::v1::CreateBackupRequest* request,
                            evbus::v1::CreateBackupResponse* response) override;
  grpc::Status TestEventPattern(
      grpc::ServerContext* context,
      const evbus::v1::TestEventPatternRequest* request,
      evbus::v1::TestEventPatternResponse* response) override;
  grpc::Status TailEvents(
      grpc::ServerContext* context, const evbus::v1::TailEventsRequest* request,
      grpc::ServerWriter<evbus::v1::TailedEvent>* writer) override;
  grpc::Status CreateArchive(grpc::ServerContext* context,
                             const evbus::v1::CreateArchiveRequest* request,
                             evbus::v1::Archive* response) override;
  grpc::Status DescribeArchive(grpc::ServerContext* context,
                               const evbus::v1::ArchiveRef* request,
                               evbus::v1::Archive* response) override;
  grpc::Status UpdateArchive(grpc::ServerContext* context,
                             const evbus::v1::UpdateArchiveRequest* request,
                             evbus::v1::Archive* response) override;
  grpc::Status ListArchives(grpc::ServerContext* context,
                            const evbus::v1::ListArchivesRequest* request,
                            evbus::v1::ListArchivesResponse* response) override;
  grpc::Status DeleteArchive(grpc::ServerContext* context,
                             const evbus::v1::ArchiveRef* request,
                             evbus::v1::Empty* response) override;
  grpc::Status StartReplay(grpc::ServerContext* context,
                           const evbus::v1::StartReplayRequest* request,
                           evbus::v1::Replay* response) override;
  grpc::Status DescribeReplay(grpc::ServerContext* context,
                              const evbus::v1::ReplayRef* request,
                              evbus::v1::Replay* response) override;
  grpc::Status ListReplays(grpc::ServerContext* context,
                           const evbus::v1::ListReplaysRequest* request,
                           evbus::v1::ListReplaysResponse* response) override;
  grpc::Status CancelReplay(grpc::ServerContext* context,
                            const evbus::v1::ReplayRef* request,
                            evbus::v1::Replay* response) override;

  grpc::Status CreateConnection(grpc::ServerContext* context,
                                const evbus::v1::Connection* request,
                                evbus::v1::Connection* response) override;
  grpc::Status DescribeConnection(grpc::ServerContext* context,
                                  const evbus::v1::NameRef* request,
                                  evbus::v1::Connection* response) override;
  grpc::Status UpdateConnection(grpc::ServerContext* context,
                                const evbus::v1::Connection* request,
                                evbus::v1::Connection* response) override;
  grpc::Status DeleteConnection(grpc::ServerContext* context,
                                const evbus::v1::NameRef* request,
                                evbus::v1::Connection* response) override;
  grpc::Status CreateApiDestination(
      grpc::ServerContext* context, const evbus::v1::ApiDestination* request,
      evbus::v1::ApiDestination* response) override;
  grpc::Status DescribeApiDestination(
      grpc::ServerContext* context, const evbus::v1::NameRef* request,
      evbus::v1::ApiDestination* response) override;
  grpc::Status UpdateApiDestination(
      grpc::ServerContext* context, const evbus::v1::ApiDestination* request,
      evbus::v1::ApiDestination* response) override;
  grpc::Status ListConnections(
      grpc::ServerContext* context,
      const evbus::v1::ListConnectionsRequest* request,
      evbus::v1::ListConnectionsResponse* response) override;
  grpc::Status ListApiDestinations(
      grpc::ServerContext* context,
      const evbus::v1::ListApiDestinationsRequest* request,
      evbus::v1::ListApiDestinationsResponse* response) override;
  grpc::Status DeleteApiDestination(grpc::ServerContext* context,
                                    const evbus::v1::NameRef* request,
                                    evbus::v1::Empty* response) override;
  grpc::Status CreateSchedule(grpc::ServerContext* context,
                              const evbus::v1::Schedule* request,
                              evbus::v1::Schedule* response) override;
  grpc::Status GetSchedule(grpc::ServerContext* context,
                           const evbus::v1::ScheduleRef* request,
                           evbus::v1::Schedule* response) override;
  grpc::Status UpdateSchedule(grpc::ServerContext* context,
                              const evbus::v1::Schedule* request,
                              evbus::v1::Schedule* response) override;
  grpc::Status DeleteSchedule(grpc::ServerContext* context,
                              const evbus::v1::ScheduleRef* request,
                              evbus::v1::Empty* response) override;
  grpc::Status ListSchedules(
      grpc::ServerContext* context,
      const evbus::v1::ListSchedulesRequest* request,
      evbus::v1::ListSchedulesResponse* response) override;
  grpc::Status CreateScheduleGroup(grpc::ServerContext* context,
                                   const evbus::v1::ScheduleGroup* request,
                                   evbus::v1::ScheduleGroup* response) override;
  grpc::Status GetScheduleGroup(grpc::ServerContext* context,
                                const evbus::v1::ScheduleGroup* request,
                                evbus::v1::ScheduleGroup* response) override;
  grpc::Status ListScheduleGroups(
      grpc::ServerContext* context,
      const evbus::v1::ListScheduleGroupsRequest* request,
      evbus::v1::ListScheduleGroupsResponse* response) override;
  grpc::Status DeleteScheduleGroup(grpc::ServerContext* context,
                                   const evbus::v1::ScheduleGroup* request,
                                   evbus::v1::Empty* response) override;
  grpc::Status GetClock(grpc::ServerContext* context,
                        const evbus::v1::Empty* request,
                        evbus::v1::ClockResponse* response) override;
  grpc::Status SetClock(grpc::ServerContext* context,
                        const evbus::v1::ClockRequest* request,
                        evbus::v1::ClockResponse* response) override;
  grpc::Status AdvanceClock(grpc::ServerContext* context,
                            const evbus::v1::ClockRequest* request,
                            evbus::v1::ClockResponse* response) override;

  // Every call must pass `authorizer` (which must outlive this service);
  // without one, every call is accepted.
  void SetAuthorizer(const CallAuthorizer* authorizer) {
    authorizer_ = authorizer;
  }

 private:
  const CallAuthorizer* authorizer_ = &CallAuthorizer::Open();
  BackupFn backup_;
  StackRecordStore stack_records_;
  grpc::Status MoveClock(int64_t to_ms, evbus::v1::ClockResponse* response);

  scheduler::Scheduler* scheduler_ = nullptr;
  common::Clock* clock_ = nullptr;
  common::ManualClock* manual_clock_ = nullptr;
  std::function<void()> on_clock_change_;
  absl::Mutex clock_mu_;
  bus::BusService& buses_;
  bus::RuleRegistry& rules_;
  delivery::Dispatcher& dispatcher_;
  storage::LogStore& logs_;
  bus::ArchiveService& archives_;
  bus::ConnectionRegistry& connections_;
  std::atomic<bool> streams_stopped_{false};
};

// Converts one proto entry into the domain entry. proto3 strings cannot be
// absent, so an empty Source/DetailType/Detail/Time/EventBusName counts as
// absent, which is how EventBridge treats "" for these members.
common::EventEntry FromProto(const evbus::v1::PutEventsRequestEntry& entry);

}  // namespace evbus::api
