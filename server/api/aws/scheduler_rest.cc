#include "server/api/aws/scheduler_rest.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/api/aws/rest_tags.h"
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

// One page of a List call: the items whose keys sort after the NextToken's
// (the last key of the previous page, base64), at most MaxResults (1..100;
// absent: all of them). Sets *next_token when more items follow.
template <typename T, typename KeyFn>
absl::StatusOr<std::vector<const T*>> Page(
    const AwsHttpRequest& request,
    const google::protobuf::RepeatedPtrField<T>& all, KeyFn key,
    std::string* next_token) {
  size_t max = all.size();
  const std::string max_text = request.Query("MaxResults");
  if (!max_text.empty()) {
    int n = 0;
    if (!absl::SimpleAtoi(max_text, &n) || n < 1 || n > 100) {
      return common::ConstraintViolation({common::ConstraintClause(
          max_text, "maxResults",
          n < 1 ? "have value greater than or equal to 1"
                : "have value less than or equal to 100")});
    }
    max = static_cast<size_t>(n);
  }
  std::string after;
  const std::string token = request.Query("NextToken");
  if (!token.empty() && !absl::WebSafeBase64Unescape(token, &after)) {
    return common::AwsError(absl::StatusCode::kInvalidArgument,
                            "ValidationException",
                            "The NextToken is not valid.");
  }
  std::vector<const T*> sorted;
  for (const T& item : all) sorted.push_back(&item);
  std::sort(sorted.begin(), sorted.end(),
            [&key](const T* a, const T* b) { return key(*a) < key(*b); });
  std::vector<const T*> page;
  for (const T* item : sorted) {
    if (!token.empty() && key(*item) <= after) continue;
    if (page.size() == max) {
      *next_token = absl::WebSafeBase64Escape(key(*page.back()));
      break;
    }
    page.push_back(item);
  }
  return page;
}

constexpr absl::string_view kTagsPath = "/tags/";
constexpr RestTagsShape kSchedulerTags = {
    .tags_as_map = false, .keys_param = "TagKeys", .min_value_length = 1};

// The tags calls on /tags/{ResourceArn}: the resource is a schedule group
// (arn:aws:scheduler:<region>:<account>:schedule-group/<name>) that exists.
AwsHttpResponse HandleTags(const AwsHttpRequest& request,
                           api::EventBusServiceImpl& events, TagStore& tags) {
  const std::string arn = request.path.substr(kTagsPath.size());
  const size_t at = arn.find(":schedule-group/");
  if (!absl::StartsWith(arn, "arn:") || at == std::string::npos) {
    return Error(common::ValidationError(absl::StrCat(
        "1 validation error detected: Value '", arn,
        "' at 'resourceArn' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: arn:aws(-[a-z]+)?:scheduler:"
        "[a-z0-9\\-]+:\\d{12}:schedule-group\\/[0-9a-zA-Z-_.]+")));
  }
  grpc::ServerContext ctx;
  evbus::v1::ScheduleGroup req;
  req.set_name(arn.substr(at + sizeof(":schedule-group/") - 1));
  evbus::v1::ScheduleGroup group;
  grpc::Status s = events.GetScheduleGroup(&ctx, &req, &group);
  // Another account, region or partition names another group.
  if (s.ok() && group.arn() != arn) {
    s = grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("Schedule group ", req.name(), " does not exist."));
  }
  if (!s.ok()) return Error(FromGrpc(s));
  absl::StatusOr<std::optional<Json>> out = HandleRestTags(
      request, [&request] { return Body(request); }, group.arn(), tags,
      kSchedulerTags);
  if (!out.ok()) return Error(out.status());
  return Ok(out->value_or(Json::object()));
}

}  // namespace

bool IsSchedulerPath(absl::string_view path) {
  return absl::StartsWith(path, kTagsPath) || path == "/schedules" ||
         absl::StartsWith(path, "/schedules/") || path == "/schedule-groups" ||
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
                                api::EventBusServiceImpl& events,
                                TagStore& tags) {
  if (absl::StartsWith(request.path, kTagsPath)) {
    return HandleTags(request, events, tags);
  }
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
      std::string next;
      absl::StatusOr<std::vector<const evbus::v1::ScheduleGroup*>> page = Page(
          request, resp.schedule_groups(),
          [](const evbus::v1::ScheduleGroup& g) { return g.name(); }, &next);
      if (!page.ok()) return Error(page.status());
      Json list = Json::array();
      for (const evbus::v1::ScheduleGroup* g : *page) {
        list.push_back(
            shapes::ScheduleGroupToJson(*g, TimeStyle::kEpochSeconds));
      }
      Json out = Json{{"ScheduleGroups", list}};
      if (!next.empty()) out["NextToken"] = next;
      return Ok(out);
    }
    evbus::v1::ListSchedulesRequest req;
    req.set_group_name(request.Query("ScheduleGroup"));
    req.set_name_prefix(request.Query("NamePrefix"));
    req.set_state(request.Query("State"));
    evbus::v1::ListSchedulesResponse resp;
    grpc::Status s = events.ListSchedules(&ctx, &req, &resp);
    if (!s.ok()) return Error(FromGrpc(s));
    std::string next;
    absl::StatusOr<std::vector<const evbus::v1::Schedule*>> page = Page(
        request, resp.schedules(),
        [](const evbus::v1::Schedule& x) {
          return absl::StrCat(x.group_name(), "/", x.name());
        },
        &next);
    if (!page.ok()) return Error(page.status());
    Json list = Json::array();
    for (const evbus::v1::Schedule* x : *page) {
      list.push_back(
          shapes::ScheduleSummaryToJson(*x, TimeStyle::kEpochSeconds));
    }
    Json out = Json{{"Schedules", list}};
    if (!next.empty()) out["NextToken"] = next;
    return Ok(out);
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
      absl::StatusOr<Json> body = Body(request);
      if (!body.ok()) return Error(body.status());
      absl::StatusOr<std::map<std::string, std::string>> new_tags =
          CreateTags(*body, kSchedulerTags);
      if (!new_tags.ok()) return Error(new_tags.status());
      s = events.CreateScheduleGroup(&ctx, &req, &group);
      if (s.ok()) {
        absl::Status tagged = tags.Reset(group.arn(), *new_tags);
        if (!tagged.ok()) return Error(tagged);
        return Ok(Json{{"ScheduleGroupArn", group.arn()}});
      }
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
    // Required by the model, though evbus needs no role to deliver (the CLI
    // and stack files may leave it out).
    if (schedule->has_target() && schedule->target().role_arn().empty() &&
        !(*body)["Target"].contains("RoleArn")) {
      return Error(common::ValidationError(
          "1 validation error detected: Value null at 'target.roleArn' "
          "failed to satisfy constraint: Member must not be null"));
    }
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
