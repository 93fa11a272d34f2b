#include "server/api/grpc/event_bus_service.h"

#include <utility>
#include <vector>

#include "server/api/grpc/status_conversion.h"
#include "server/bus/test_event_pattern.h"
#include "server/common/aws_error.h"

namespace evbus::api {
namespace {

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::vector<common::EventEntry> EntriesFromProto(
    const evbus::v1::PutEventsRequest& request) {
  std::vector<common::EventEntry> entries;
  entries.reserve(request.entries_size());
  for (const auto& e : request.entries()) entries.push_back(FromProto(e));
  return entries;
}

grpc::Status ToResponse(absl::StatusOr<bus::PutEventsResult> result,
                        evbus::v1::PutEventsResponse* response) {
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

grpc::ServerUnaryReactor* EventBusServiceImpl::PutEvents(
    grpc::CallbackServerContext* context,
    const evbus::v1::PutEventsRequest* request,
    evbus::v1::PutEventsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    reactor->Finish(denied);
    return reactor;
  }
  // `response` stays valid until Finish().
  buses_.PutEventsAsync(
      EntriesFromProto(*request),
      [reactor, response](absl::StatusOr<bus::PutEventsResult> result) {
        reactor->Finish(ToResponse(std::move(result), response));
      });
  return reactor;
}

grpc::Status EventBusServiceImpl::PutEventsBlocking(
    grpc::ServerContext*, const evbus::v1::PutEventsRequest* request,
    evbus::v1::PutEventsResponse* response) {
  return ToResponse(buses_.PutEvents(EntriesFromProto(*request)), response);
}

grpc::Status EventBusServiceImpl::ListEvents(
    grpc::ServerContext* context, const evbus::v1::ListEventsRequest* request,
    evbus::v1::ListEventsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
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
  options.max_items = request->max_items() == 0
                          ? 100
                          : static_cast<size_t>(request->max_items());
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
    grpc::ServerContext* context,
    const evbus::v1::CreateEventBusRequest* request,
    evbus::v1::CreateEventBusResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::EventBus> bus =
      buses_.CreateEventBus(request->name(), request->description());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  response->set_event_bus_arn(bus->arn());
  response->set_description(bus->description());
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DescribeEventBus(
    grpc::ServerContext* context,
    const evbus::v1::DescribeEventBusRequest* request,
    evbus::v1::EventBus* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::EventBus> bus =
      buses_.DescribeEventBus(request->name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  *response = *std::move(bus);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListEventBuses(
    grpc::ServerContext* context,
    const evbus::v1::ListEventBusesRequest* request,
    evbus::v1::ListEventBusesResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<bus::ListBusesResult> result = buses_.ListEventBuses(
      request->name_prefix(), request->limit(), request->next_token());
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (evbus::v1::EventBus& b : result->buses) {
    *response->add_event_buses() = std::move(b);
  }
  response->set_next_token(result->next_token);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::UpdateEventBus(
    grpc::ServerContext* context,
    const evbus::v1::UpdateEventBusRequest* request,
    evbus::v1::EventBus* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::EventBus> bus =
      buses_.UpdateEventBus(request->name(), request->description());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  *response = *std::move(bus);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DeleteEventBus(
    grpc::ServerContext* context,
    const evbus::v1::DeleteEventBusRequest* request,
    evbus::v1::DeleteEventBusResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(buses_.DeleteEventBus(request->name()));
}

grpc::Status EventBusServiceImpl::PutRule(
    grpc::ServerContext* context, const evbus::v1::PutRuleRequest* request,
    evbus::v1::PutRuleResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  evbus::v1::Rule rule;
  rule.set_name(request->name());
  rule.set_event_bus_name(*bus);
  rule.set_event_pattern(request->event_pattern());
  rule.set_schedule_expression(request->schedule_expression());
  rule.set_state(request->state());
  rule.set_description(request->description());
  rule.set_role_arn(request->role_arn());
  absl::StatusOr<std::string> arn = rules_.PutRule(std::move(rule));
  if (!arn.ok()) return ToGrpcStatus(arn.status());
  response->set_rule_arn(*arn);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DescribeRule(
    grpc::ServerContext* context, const evbus::v1::RuleRef* request,
    evbus::v1::Rule* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  absl::StatusOr<evbus::v1::Rule> rule =
      rules_.DescribeRule(*bus, request->name());
  if (!rule.ok()) return ToGrpcStatus(rule.status());
  *response = *std::move(rule);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListRules(
    grpc::ServerContext* context, const evbus::v1::ListRulesRequest* request,
    evbus::v1::ListRulesResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  absl::StatusOr<bus::ListRulesResult> result = rules_.ListRules(
      *bus, request->name_prefix(), request->limit(), request->next_token());
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (evbus::v1::Rule& r : result->rules)
    *response->add_rules() = std::move(r);
  response->set_next_token(result->next_token);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::EnableRule(grpc::ServerContext* context,
                                             const evbus::v1::RuleRef* request,
                                             evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  return ToGrpcStatus(rules_.SetRuleState(*bus, request->name(), true));
}

grpc::Status EventBusServiceImpl::DisableRule(grpc::ServerContext* context,
                                              const evbus::v1::RuleRef* request,
                                              evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  return ToGrpcStatus(rules_.SetRuleState(*bus, request->name(), false));
}

grpc::Status EventBusServiceImpl::DeleteRule(
    grpc::ServerContext* context, const evbus::v1::DeleteRuleRequest* request,
    evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  return ToGrpcStatus(
      rules_.DeleteRule(*bus, request->name(), request->force()));
}

grpc::Status EventBusServiceImpl::PutTargets(
    grpc::ServerContext* context, const evbus::v1::PutTargetsRequest* request,
    evbus::v1::PutTargetsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  std::vector<evbus::v1::Target> targets(request->targets().begin(),
                                         request->targets().end());
  absl::StatusOr<bus::PutTargetsResult> result =
      rules_.PutTargets(*bus, request->rule(), std::move(targets));
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_failed_entry_count(result->failed_entry_count);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::RemoveTargets(
    grpc::ServerContext* context,
    const evbus::v1::RemoveTargetsRequest* request,
    evbus::v1::PutTargetsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  std::vector<std::string> ids(request->ids().begin(), request->ids().end());
  absl::StatusOr<bus::PutTargetsResult> result =
      rules_.RemoveTargets(*bus, request->rule(), ids, request->force());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_failed_entry_count(result->failed_entry_count);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListTargetsByRule(
    grpc::ServerContext* context,
    const evbus::v1::ListTargetsByRuleRequest* request,
    evbus::v1::ListTargetsByRuleResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  absl::StatusOr<std::vector<evbus::v1::Target>> targets =
      rules_.ListTargetsByRule(*bus, request->rule());
  if (!targets.ok()) return ToGrpcStatus(targets.status());
  for (evbus::v1::Target& t : *targets) *response->add_targets() = std::move(t);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListRuleNamesByTarget(
    grpc::ServerContext* context,
    const evbus::v1::ListRuleNamesByTargetRequest* request,
    evbus::v1::ListRuleNamesByTargetResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  absl::StatusOr<std::vector<std::string>> names =
      rules_.ListRuleNamesByTarget(*bus, request->target_arn());
  if (!names.ok()) return ToGrpcStatus(names.status());
  for (std::string& n : *names) response->add_rule_names(std::move(n));
  return grpc::Status::OK;
}

namespace {

bool IsReservedQueue(const std::string& bus) {
  return bus == "aws.lambda" || bus == "aws.scheduler" || bus == "aws.sns";
}

}  // namespace

grpc::Status EventBusServiceImpl::ListDeadLetters(
    grpc::ServerContext* context,
    const evbus::v1::ListDeadLettersRequest* request,
    evbus::v1::ListDeadLettersResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  // The queues of functions ("aws.lambda", rule = the function) and of
  // Scheduler schedules ("aws.scheduler", rule = group/name) are not buses.
  bool reserved = IsReservedQueue(request->event_bus_name());
  absl::StatusOr<std::string> bus =
      reserved ? absl::StatusOr<std::string>(request->event_bus_name())
               : buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  if (request->max_items() < 0 || request->max_items() > 1000) {
    return ToGrpcStatus(common::ValidationError(
        "Parameter MaxItems is not valid. Reason: must be between 1 and "
        "1000."));
  }
  if (!reserved) {
    absl::Status exists = rules_.DescribeRule(*bus, request->rule()).status();
    if (!exists.ok()) return ToGrpcStatus(exists);
  }
  absl::StatusOr<delivery::DeadLetterPage> page = dispatcher_.ListDeadLetters(
      *bus, request->rule(), request->target_id(),
      request->max_items() == 0 ? 100
                                : static_cast<size_t>(request->max_items()),
      request->next_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (auto& d : page->dead_letters)
    *response->add_dead_letters() = std::move(d);
  response->set_next_token(page->next_token);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::RedriveDeadLetters(
    grpc::ServerContext* context,
    const evbus::v1::RedriveDeadLettersRequest* request,
    evbus::v1::RedriveDeadLettersResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  // The queues of functions ("aws.lambda", rule = the function) and of
  // Scheduler schedules ("aws.scheduler", rule = group/name) are not buses.
  bool reserved = IsReservedQueue(request->event_bus_name());
  absl::StatusOr<std::string> bus =
      reserved ? absl::StatusOr<std::string>(request->event_bus_name())
               : buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  if (request->max_items() < 0 || request->max_items() > 10000) {
    return ToGrpcStatus(common::ValidationError(
        "Parameter MaxItems is not valid. Reason: must be between 1 and "
        "10000."));
  }
  if (!reserved) {
    absl::Status exists = rules_.DescribeRule(*bus, request->rule()).status();
    if (!exists.ok()) return ToGrpcStatus(exists);
  }
  absl::StatusOr<int> n = dispatcher_.Redrive(
      *bus, request->rule(), request->target_id(),
      request->max_items() == 0 ? 1000
                                : static_cast<size_t>(request->max_items()));
  if (!n.ok()) return ToGrpcStatus(n.status());
  response->set_redriven_count(*n);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ReadLog(
    grpc::ServerContext* context, const evbus::v1::ReadLogRequest* request,
    evbus::v1::ReadLogResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (request->log_group_name().empty()) {
    return ToGrpcStatus(common::ValidationError(
        "Parameter LogGroupName is not valid. Reason: required."));
  }
  if (request->limit() < 0 || request->limit() > 10000) {
    return ToGrpcStatus(common::ValidationError(
        "Parameter Limit is not valid. Reason: must be between 1 and 10000."));
  }
  absl::StatusOr<storage::LogStore::Page> page = logs_.Read(
      request->log_group_name(), request->start_time_ms(),
      request->limit() == 0 ? 1000 : static_cast<size_t>(request->limit()),
      request->next_token());
  if (!page.ok()) {
    return ToGrpcStatus(common::ValidationError(page.status().message()));
  }
  if (page->records.empty() && request->next_token().empty()) {
    // As CloudWatch Logs: a group nothing was ever written to (and no rule
    // delivers to) does not exist, so a misspelt name is not silence.
    absl::StatusOr<bool> has = logs_.HasRecords(request->log_group_name());
    if (!has.ok()) return ToGrpcStatus(has.status());
    if (!*has && !rules_.NamesLogGroup(request->log_group_name())) {
      return ToGrpcStatus(
          common::ResourceNotFound("The specified log group does not exist."));
    }
  }
  for (auto& r : page->records) {
    evbus::v1::LogRecord* out = response->add_records();
    out->set_time_ms(r.time_ms);
    out->set_message(std::move(r.message));
  }
  response->set_next_token(page->next_token);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::CreateBackup(
    grpc::ServerContext* context, const evbus::v1::CreateBackupRequest* request,
    evbus::v1::CreateBackupResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  const std::string& dir = request->directory();
  if (dir.empty() || dir[0] != '/') {
    return ToGrpcStatus(common::ValidationError(
        "Parameter Directory is not valid. Reason: must be an absolute "
        "path."));
  }
  if (!backup_) {
    return ToGrpcStatus(absl::UnimplementedError("backups are not enabled"));
  }
  absl::StatusOr<int64_t> size = backup_(dir);
  if (!size.ok()) return ToGrpcStatus(size.status());
  response->set_directory(dir);
  response->set_size_bytes(*size);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::GetStackRecord(
    grpc::ServerContext* context, const evbus::v1::StackRecordRef* request,
    evbus::v1::StackRecord* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (!stack_records_.get) {
    return ToGrpcStatus(absl::UnimplementedError("stack records are off"));
  }
  absl::StatusOr<evbus::v1::StackRecord> r =
      stack_records_.get(request->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::PutStackRecord(
    grpc::ServerContext* context, const evbus::v1::StackRecord* request,
    evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (request->name().empty() || request->name().size() > 256) {
    return ToGrpcStatus(common::ValidationError(
        "Parameter Name is not valid. Reason: must be 1 to 256 characters."));
  }
  if (!stack_records_.put) {
    return ToGrpcStatus(absl::UnimplementedError("stack records are off"));
  }
  return ToGrpcStatus(stack_records_.put(*request));
}

void EventBusServiceImpl::StopStreams() { streams_stopped_.store(true); }

namespace {
grpc::Status NoScheduler() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "ServiceUnavailable: the scheduler is not running");
}
}  // namespace

grpc::Status EventBusServiceImpl::CreateSchedule(
    grpc::ServerContext* context, const evbus::v1::Schedule* request,
    evbus::v1::Schedule* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  auto r = scheduler_->CreateSchedule(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::GetSchedule(
    grpc::ServerContext* context, const evbus::v1::ScheduleRef* request,
    evbus::v1::Schedule* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  auto r = scheduler_->GetSchedule(request->group_name(), request->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::UpdateSchedule(
    grpc::ServerContext* context, const evbus::v1::Schedule* request,
    evbus::v1::Schedule* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  auto r = scheduler_->UpdateSchedule(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DeleteSchedule(
    grpc::ServerContext* context, const evbus::v1::ScheduleRef* request,
    evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  return ToGrpcStatus(
      scheduler_->DeleteSchedule(request->group_name(), request->name()));
}

grpc::Status EventBusServiceImpl::ListSchedules(
    grpc::ServerContext* context,
    const evbus::v1::ListSchedulesRequest* request,
    evbus::v1::ListSchedulesResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  for (auto& s : scheduler_->ListSchedules(
           request->group_name(), request->name_prefix(), request->state())) {
    *response->add_schedules() = std::move(s);
  }
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::CreateScheduleGroup(
    grpc::ServerContext* context, const evbus::v1::ScheduleGroup* request,
    evbus::v1::ScheduleGroup* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  auto r = scheduler_->CreateScheduleGroup(request->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::GetScheduleGroup(
    grpc::ServerContext* context, const evbus::v1::ScheduleGroup* request,
    evbus::v1::ScheduleGroup* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  auto r = scheduler_->GetScheduleGroup(request->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListScheduleGroups(
    grpc::ServerContext* context,
    const evbus::v1::ListScheduleGroupsRequest* request,
    evbus::v1::ListScheduleGroupsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  for (auto& g : scheduler_->ListScheduleGroups(request->name_prefix())) {
    *response->add_schedule_groups() = std::move(g);
  }
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DeleteScheduleGroup(
    grpc::ServerContext* context, const evbus::v1::ScheduleGroup* request,
    evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (scheduler_ == nullptr) return NoScheduler();
  return ToGrpcStatus(scheduler_->DeleteScheduleGroup(request->name()));
}

grpc::Status EventBusServiceImpl::GetClock(grpc::ServerContext* context,
                                           const evbus::v1::Empty*,
                                           evbus::v1::ClockResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (clock_ == nullptr) return NoScheduler();
  response->set_time_ms(absl::ToUnixMillis(clock_->Now()));
  response->set_mode(manual_clock_ != nullptr ? "manual" : "real");
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::MoveClock(
    int64_t to_ms, evbus::v1::ClockResponse* response) {
  if (manual_clock_ == nullptr) {
    return ToGrpcStatus(common::AwsError(
        absl::StatusCode::kFailedPrecondition, "ValidationException",
        "The clock can only be moved when evbusd runs with --clock manual."));
  }
  {
    absl::MutexLock lock(&clock_mu_);
    int64_t now = absl::ToUnixMillis(manual_clock_->Now());
    if (to_ms < now) {
      return ToGrpcStatus(
          common::ValidationError("The clock never moves backwards."));
    }
    manual_clock_->Set(absl::FromUnixMillis(to_ms));
  }
  if (on_clock_change_) on_clock_change_();
  response->set_time_ms(to_ms);
  response->set_mode("manual");
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::SetClock(
    grpc::ServerContext* context, const evbus::v1::ClockRequest* request,
    evbus::v1::ClockResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return MoveClock(request->time_ms(), response);
}

grpc::Status EventBusServiceImpl::AdvanceClock(
    grpc::ServerContext* context, const evbus::v1::ClockRequest* request,
    evbus::v1::ClockResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (request->time_ms() < 0) {
    return ToGrpcStatus(
        common::ValidationError("The clock never moves backwards."));
  }
  int64_t now =
      manual_clock_ != nullptr ? absl::ToUnixMillis(manual_clock_->Now()) : 0;
  return MoveClock(now + request->time_ms(), response);
}

grpc::Status EventBusServiceImpl::TestEventPattern(
    grpc::ServerContext* context,
    const evbus::v1::TestEventPatternRequest* request,
    evbus::v1::TestEventPatternResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<bool> r =
      bus::TestEventPattern(request->event_pattern(), request->event());
  if (!r.ok()) return ToGrpcStatus(r.status());
  response->set_result(*r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::TailEvents(
    grpc::ServerContext* context, const evbus::v1::TailEventsRequest* request,
    grpc::ServerWriter<evbus::v1::TailedEvent>* writer) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> bus =
      buses_.ResolveBus(request->event_bus_name());
  if (!bus.ok()) return ToGrpcStatus(bus.status());
  std::optional<pattern::Pattern> filter;
  if (!request->event_pattern().empty()) {
    absl::StatusOr<pattern::Pattern> p =
        pattern::Pattern::Compile(request->event_pattern());
    if (!p.ok()) {
      return ToGrpcStatus(common::AwsError(absl::StatusCode::kInvalidArgument,
                                           "InvalidEventPatternException",
                                           p.status().message()));
    }
    filter = *std::move(p);
  }
  std::shared_ptr<bus::TailSubscription> sub =
      buses_.tail().Subscribe(*bus, std::move(filter));
  grpc::Status result = grpc::Status::OK;
  // Bounded by the client's lifetime: ends on cancel, shutdown or drop.
  while (!context->IsCancelled() && !streams_stopped_.load()) {
    std::string envelope;
    if (!sub->Next(&envelope, absl::Milliseconds(250))) {
      if (sub->dropped()) {
        result = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "ThrottlingException: the reader fell too far "
                              "behind and was dropped; events were not "
                              "slowed down for it");
        break;
      }
      continue;
    }
    evbus::v1::TailedEvent out;
    out.set_event_bus_name(*bus);
    out.set_envelope_json(std::move(envelope));
    if (!writer->Write(out)) break;
  }
  buses_.tail().Unsubscribe(sub);
  if (result.ok() && streams_stopped_.load() && !context->IsCancelled()) {
    // The reader is told the stream ended because evbusd is stopping, not
    // because it reached its end.
    result = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "ServiceUnavailable: evbusd is shutting down");
  }
  return result;
}

grpc::Status EventBusServiceImpl::CreateArchive(
    grpc::ServerContext* context,
    const evbus::v1::CreateArchiveRequest* request,
    evbus::v1::Archive* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Archive> a = archives_.CreateArchive(*request);
  if (!a.ok()) return ToGrpcStatus(a.status());
  *response = *std::move(a);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DescribeArchive(
    grpc::ServerContext* context, const evbus::v1::ArchiveRef* request,
    evbus::v1::Archive* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Archive> a =
      archives_.DescribeArchive(request->archive_name());
  if (!a.ok()) return ToGrpcStatus(a.status());
  *response = *std::move(a);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::UpdateArchive(
    grpc::ServerContext* context,
    const evbus::v1::UpdateArchiveRequest* request,
    evbus::v1::Archive* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Archive> a = archives_.UpdateArchive(*request);
  if (!a.ok()) return ToGrpcStatus(a.status());
  *response = *std::move(a);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListArchives(
    grpc::ServerContext* context, const evbus::v1::ListArchivesRequest* request,
    evbus::v1::ListArchivesResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::ListArchivesResponse> r =
      archives_.ListArchives(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DeleteArchive(
    grpc::ServerContext* context, const evbus::v1::ArchiveRef* request,
    evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(archives_.DeleteArchive(request->archive_name()));
}

grpc::Status EventBusServiceImpl::StartReplay(
    grpc::ServerContext* context, const evbus::v1::StartReplayRequest* request,
    evbus::v1::Replay* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Replay> r = archives_.StartReplay(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DescribeReplay(
    grpc::ServerContext* context, const evbus::v1::ReplayRef* request,
    evbus::v1::Replay* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Replay> r =
      archives_.DescribeReplay(request->replay_name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListReplays(
    grpc::ServerContext* context, const evbus::v1::ListReplaysRequest* request,
    evbus::v1::ListReplaysResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::ListReplaysResponse> r =
      archives_.ListReplays(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::CancelReplay(
    grpc::ServerContext* context, const evbus::v1::ReplayRef* request,
    evbus::v1::Replay* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Replay> r =
      archives_.CancelReplay(request->replay_name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::CreateConnection(
    grpc::ServerContext* context, const evbus::v1::Connection* request,
    evbus::v1::Connection* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  auto r = connections_.CreateConnection(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DescribeConnection(
    grpc::ServerContext* context, const evbus::v1::NameRef* request,
    evbus::v1::Connection* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  auto r = connections_.DescribeConnection(request->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::UpdateConnection(
    grpc::ServerContext* context, const evbus::v1::Connection* request,
    evbus::v1::Connection* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  auto r = connections_.UpdateConnection(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DeleteConnection(
    grpc::ServerContext* context, const evbus::v1::NameRef* request,
    evbus::v1::Connection* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  auto r = connections_.DeleteConnection(request->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::CreateApiDestination(
    grpc::ServerContext* context, const evbus::v1::ApiDestination* request,
    evbus::v1::ApiDestination* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  auto r = connections_.CreateApiDestination(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DescribeApiDestination(
    grpc::ServerContext* context, const evbus::v1::NameRef* request,
    evbus::v1::ApiDestination* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  auto r = connections_.DescribeApiDestination(request->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::UpdateApiDestination(
    grpc::ServerContext* context, const evbus::v1::ApiDestination* request,
    evbus::v1::ApiDestination* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  auto r = connections_.UpdateApiDestination(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListConnections(
    grpc::ServerContext* context,
    const evbus::v1::ListConnectionsRequest* request,
    evbus::v1::ListConnectionsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  for (auto& c : connections_.ListConnections(request->name_prefix())) {
    *response->add_connections() = std::move(c);
  }
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::ListApiDestinations(
    grpc::ServerContext* context,
    const evbus::v1::ListApiDestinationsRequest* request,
    evbus::v1::ListApiDestinationsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  for (auto& d : connections_.ListApiDestinations(request->name_prefix(),
                                                  request->connection_arn())) {
    *response->add_api_destinations() = std::move(d);
  }
  return grpc::Status::OK;
}

grpc::Status EventBusServiceImpl::DeleteApiDestination(
    grpc::ServerContext* context, const evbus::v1::NameRef* request,
    evbus::v1::Empty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(connections_.DeleteApiDestination(request->name()));
}

}  // namespace evbus::api
