#include "server/api/aws/scheduler_rest.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/api/shapes/schedule_shapes.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"

namespace evbus::api::aws {
namespace {

using common::Json;
using shapes::TimeStyle;

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

AwsHttpResponse Error(const absl::Status& status) {
  AwsErrorInfo info = ErrorInfoOf(status);
  std::string code = info.code;
  // Scheduler's own names for the shapes evbus reports generically.
  if (code == "ResourceAlreadyExistsException") code = "ConflictException";
  if (code == "LimitExceededException") code = "ServiceQuotaExceededException";
  if (code == "InternalException") code = "InternalServerException";
  return RestJsonError(RestStatusOf(status), code, info.message);
}

AwsHttpResponse Ok(const Json& body) {
  AwsHttpResponse r;
  r.body = common::DumpJson(body);
  return r;
}

absl::StatusOr<Json> Body(const AwsHttpRequest& request) {
  if (request.body.empty()) return Json::object();
  absl::StatusOr<Json> j = common::ParseJson(request.body, "request body");
  if (!j.ok() || !j->is_object()) {
    return common::ValidationError("The request body is not a JSON object.");
  }
  return j;
}

}  // namespace

bool IsSchedulerPath(absl::string_view path) {
  return path == "/schedules" || absl::StartsWith(path, "/schedules/") ||
         path == "/schedule-groups" ||
         absl::StartsWith(path, "/schedule-groups/");
}

int RestStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 402;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return 403;
    default:
      return 500;
  }
}

AwsHttpResponse HandleScheduler(const AwsHttpRequest& request,
                                api::EventBusServiceImpl& events) {
  std::vector<std::string> parts =
      absl::StrSplit(request.path.substr(1), '/', absl::SkipEmpty());
  grpc::ServerContext ctx;
  const std::string& m = request.method;
  bool groups = parts[0] == "schedule-groups";
  if (parts.size() == 1 && m == "GET") {
    if (groups) {
      evbus::v1::ListScheduleGroupsRequest req;
      req.set_name_prefix(request.Query("NamePrefix"));
      evbus::v1::ListScheduleGroupsResponse resp;
      grpc::Status s = events.ListScheduleGroups(&ctx, &req, &resp);
      if (!s.ok()) return Error(FromGrpc(s));
      Json list = Json::array();
      for (const auto& g : resp.schedule_groups()) {
        list.push_back(
            shapes::ScheduleGroupToJson(g, TimeStyle::kEpochSeconds));
      }
      return Ok(Json{{"ScheduleGroups", list}});
    }
    evbus::v1::ListSchedulesRequest req;
    req.set_group_name(request.Query("ScheduleGroup"));
    req.set_name_prefix(request.Query("NamePrefix"));
    req.set_state(request.Query("State"));
    evbus::v1::ListSchedulesResponse resp;
    grpc::Status s = events.ListSchedules(&ctx, &req, &resp);
    if (!s.ok()) return Error(FromGrpc(s));
    Json list = Json::array();
    for (const auto& x : resp.schedules()) {
      list.push_back(
          shapes::ScheduleSummaryToJson(x, TimeStyle::kEpochSeconds));
    }
    return Ok(Json{{"Schedules", list}});
  }
  if (parts.size() != 2) {
    return RestJsonError(
        404, "UnknownOperationException",
        absl::StrCat("No Scheduler operation for ", m, " ", request.path));
  }
  const std::string& name = parts[1];
  if (groups) {
    evbus::v1::ScheduleGroup req;
    req.set_name(name);
    evbus::v1::ScheduleGroup group;
    grpc::Status s;
    if (m == "POST") {
      s = events.CreateScheduleGroup(&ctx, &req, &group);
      if (s.ok()) return Ok(Json{{"ScheduleGroupArn", group.arn()}});
    } else if (m == "GET") {
      s = events.GetScheduleGroup(&ctx, &req, &group);
      if (s.ok()) {
        return Ok(shapes::ScheduleGroupToJson(group, TimeStyle::kEpochSeconds));
      }
    } else if (m == "DELETE") {
      evbus::v1::Empty empty;
      s = events.DeleteScheduleGroup(&ctx, &req, &empty);
      if (s.ok()) return Ok(Json::object());
    } else {
      return RestJsonError(405, "UnknownOperationException",
                           "Method not allowed");
    }
    return Error(FromGrpc(s));
  }
  if (m == "POST" || m == "PUT") {
    absl::StatusOr<Json> body = Body(request);
    if (!body.ok()) return Error(body.status());
    absl::StatusOr<evbus::v1::Schedule> schedule =
        shapes::ScheduleFromJson(*body);
    if (!schedule.ok()) return Error(schedule.status());
    schedule->set_name(name);
    evbus::v1::Schedule out;
    grpc::Status s = m == "POST"
                         ? events.CreateSchedule(&ctx, &*schedule, &out)
                         : events.UpdateSchedule(&ctx, &*schedule, &out);
    if (!s.ok()) return Error(FromGrpc(s));
    return Ok(Json{{"ScheduleArn", out.arn()}});
  }
  evbus::v1::ScheduleRef ref;
  ref.set_name(name);
  ref.set_group_name(request.Query("groupName"));
  if (m == "GET") {
    evbus::v1::Schedule out;
    grpc::Status s = events.GetSchedule(&ctx, &ref, &out);
    if (!s.ok()) return Error(FromGrpc(s));
    return Ok(shapes::ScheduleToJson(out, TimeStyle::kEpochSeconds));
  }
  if (m == "DELETE") {
    evbus::v1::Empty empty;
    grpc::Status s = events.DeleteSchedule(&ctx, &ref, &empty);
    if (!s.ok()) return Error(FromGrpc(s));
    return Ok(Json::object());
  }
  return RestJsonError(405, "UnknownOperationException", "Method not allowed");
}

}  // namespace evbus::api::aws
