// File: server/api/shapes/eventbridge_shapes.h
//
// EventBridge API shapes as JSON (AWS member names: "Id", "Arn",
// "InputTransformer", ...) to and from the evbus.v1 protos, shared by the
// `evbus` CLI (whose --targets / --auth-parameters take the aws CLI's JSON)
// and the AWS JSON 1.1 endpoint (server/api/aws/eventbridge_json.h). Only
// shapes whose JSON is the same on both surfaces live here; shapes with
// timestamps are rendered by each surface (ISO text in the CLI, epoch
// seconds on the wire).
//
// Errors are InvalidArgument with the aws CLI's wording, naming the member
// by its path ("Targets[0].RetryPolicy.MaximumRetryAttempts"):
//   "Invalid type for parameter <path>, value must be <what>"
//   "Unknown parameter in <path>: \"<key>\", must be one of: <members>"
// They carry no exception prefix, so common::SplitAwsError reads them as
// ValidationException.
//
// Pure; thread-safe.
//
// Example:
//   EVBUS_ASSIGN_OR_RETURN(
//       evbus::v1::Target t,
//       TargetFromJson(json, "Targets[0]", UnknownMembers::kReject));
//   common::Json back = TargetToJson(t);
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "evbus/v1/connection.pb.h"
#include "evbus/v1/event.pb.h"
#include "evbus/v1/rule.pb.h"
#include "server/common/json.h"

namespace evbus::api::shapes {

// What to do with an object member the shape does not define. The CLI
// rejects them (as the aws CLI's parameter validation does); the AWS
// endpoint ignores them, as AWS services ignore members they do not know
// (e.g. EcsParameters, which evbus cannot deliver to anyway).
enum class UnknownMembers { kReject, kIgnore };

// InvalidArgument "Invalid type for parameter <where>, value must be <what>".
absl::Status InvalidTypeError(absl::string_view where, absl::string_view what);

// InvalidArgument "Unknown parameter in <where>: "<key>", must be one of:
// <members joined by ", ">".
absl::Status UnknownMemberError(absl::string_view where, absl::string_view key,
                                const std::vector<std::string>& members);

// An EventBridge Target (Id, Arn, RoleArn, Input, InputPath,
// InputTransformer, RetryPolicy, DeadLetterConfig, HttpParameters, and the
// evbus extensions MaxConcurrency and InvocationRateLimitPerSecond). Checks
// member types only; the rule registry validates values.
absl::StatusOr<evbus::v1::Target> TargetFromJson(const common::Json& json,
                                                 absl::string_view where,
                                                 UnknownMembers unknown);

// The Target with absent members omitted.
common::Json TargetToJson(const evbus::v1::Target& target);

// A rule as DescribeRule / ListRules show it (Name, Arn, EventPattern,
// ScheduleExpression, State, Description, RoleArn, ManagedBy,
// EventBusName), without targets.
common::Json RuleToJson(const evbus::v1::Rule& rule);

// ConnectionHttpParameters: {HeaderParameters, QueryStringParameters,
// BodyParameters}, each a list of {Key, Value, IsValueSecret}.
absl::Status ConnectionHttpParametersFromJson(
    const common::Json& json, absl::string_view where, UnknownMembers unknown,
    evbus::v1::ConnectionHttpParameters* out);

// ConnectionHttpParameters as DescribeConnection shows them: secret values
// left out.
common::Json ConnectionHttpParametersToJson(
    const evbus::v1::ConnectionHttpParameters& p);

// DescribeConnection's AuthParameters: no secrets (user names, key names,
// client ids, endpoints, and the non-secret HTTP parameters).
common::Json ConnectionAuthToJson(const evbus::v1::Connection& c);

// CreateConnection / UpdateConnection AuthParameters: BasicAuthParameters,
// ApiKeyAuthParameters, OAuthParameters, InvocationHttpParameters. Merges
// into `out` (members absent from `json` are left as they are).
absl::Status ConnectionAuthFromJson(const common::Json& json,
                                    UnknownMembers unknown,
                                    evbus::v1::ConnectionAuthParameters* out);

// PutEvents' output: {FailedEntryCount, Entries: [{EventId} |
// {ErrorCode, ErrorMessage}]}.
common::Json PutEventsResponseToJson(
    const evbus::v1::PutEventsResponse& response);

// PutTargets / RemoveTargets output: {FailedEntryCount, FailedEntries:
// [{TargetId, ErrorCode, ErrorMessage}]}.
common::Json PutTargetsResponseToJson(
    const evbus::v1::PutTargetsResponse& response);

}  // namespace evbus::api::shapes
