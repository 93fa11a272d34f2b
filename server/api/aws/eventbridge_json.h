// File: server/api/aws/eventbridge_json.h
//
// EventBridge's AWS JSON 1.1 protocol (spec eventbridge.md §10.1), so that
// the AWS SDKs and CLI work against evbusd: `POST /` with
// `X-Amz-Target: AWSEvents.<Operation>` and the operation's input structure
// as the JSON body. Each operation is translated onto the in-process
// evbus.v1 service (EventBusServiceImpl) and its result back onto AWS's
// output structure; there is no behaviour here beyond that mapping, input
// type checks and resource tags (TagStore).
//
// Wire rules:
//   * members use AWS's names; absent output members are omitted, never null;
//   * timestamps are epoch seconds as JSON numbers, fractions allowed, both
//     ways (PutEvents Time, StartReplay EventStartTime/EventEndTime in;
//     CreationTime, LastModifiedTime, ... out);
//   * success: 200, Content-Type application/x-amz-json-1.1, an
//     x-amzn-RequestId header, the output JSON ("{}" for operations without
//     output);
//   * errors: {"__type":"<Code>","message":"<text>"}, 400 for client errors
//     (ResourceNotFoundException included, as AWS does in this protocol),
//     500 for internal ones:
//       UnknownOperationException  the operation is not one listed below;
//       SerializationException     the body is not a JSON object;
//       ValidationException        a member has the wrong JSON type, a
//                                  required member is missing, or the
//                                  service refused a value;
//       anything the service reports (ResourceNotFoundException,
//       ResourceAlreadyExistsException, InvalidEventPatternException,
//       LimitExceededException, IllegalStatusException, ...).
//   * members AWS defines that evbus has no field for (KmsKeyIdentifier,
//     DeadLetterConfig and LogConfig of buses, EcsParameters of targets,
//     ...) are accepted and ignored, as are unknown members.
//
// Operations: PutEvents, TestEventPattern; CreateEventBus,
// DescribeEventBus, ListEventBuses, UpdateEventBus, DeleteEventBus; PutRule,
// DescribeRule, ListRules, EnableRule, DisableRule, DeleteRule; PutTargets,
// RemoveTargets, ListTargetsByRule, ListRuleNamesByTarget; CreateArchive,
// DescribeArchive, ListArchives, UpdateArchive, DeleteArchive; StartReplay,
// DescribeReplay, ListReplays, CancelReplay; CreateConnection,
// DescribeConnection, ListConnections, UpdateConnection, DeleteConnection;
// CreateApiDestination, DescribeApiDestination, ListApiDestinations,
// UpdateApiDestination, DeleteApiDestination; TagResource, UntagResource,
// ListTagsForResource (event buses and rules).
//
// Thread safety: thread-safe (as EventBusServiceImpl and TagStore are).
// Calls block on synced store writes; run them on a worker thread.
//
// Example:
//   // X-Amz-Target: AWSEvents.DescribeRule
//   AwsHttpResponse r = HandleEventBridge("DescribeRule", request, caller,
//                                         event_bus_service, tags);
//   // r.status == 200, r.body == {"Name":"orders",...,"CreatedBy":"..."}
#pragma once

#include "absl/strings/string_view.h"
#include "server/api/aws/aws_http.h"
#include "server/api/aws/tag_store.h"
#include "server/api/grpc/event_bus_service.h"

namespace evbus::api::aws {

// The X-Amz-Target prefix of EventBridge operations ("AWSEvents.PutRule").
inline constexpr char kEventBridgeTargetPrefix[] = "AWSEvents";
// The Content-Type of AWS JSON 1.1 requests and responses.
inline constexpr char kAwsJson11ContentType[] = "application/x-amz-json-1.1";

// Runs EventBridge operation `op` (the X-Amz-Target text after
// "AWSEvents.") with `request.body` as its input (an empty body is {}).
// `caller.account` is reported as a rule's CreatedBy. Never fails: errors
// are AWS error responses (see the file comment).
AwsHttpResponse HandleEventBridge(absl::string_view op,
                                  const AwsHttpRequest& request,
                                  const AwsCaller& caller,
                                  api::EventBusServiceImpl& events,
                                  TagStore& tags);

}  // namespace evbus::api::aws
