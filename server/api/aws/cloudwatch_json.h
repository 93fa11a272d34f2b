// File: server/api/aws/cloudwatch_json.h
//
// CloudWatch over AWS JSON 1.0 (awsQueryCompatible), the protocol
// @aws-sdk/client-cloudwatch v3 and botocore speak by default
// (shared/spec/lambda-cloudwatch-sns.md §7.2): POST / with
// X-Amz-Target: GraniteServiceVersion20100801.<Operation> and the input shape
// as JSON with AWS member names. Timestamps are epoch seconds (numbers) in
// both directions. Each operation converts the JSON to the evbus.v1 request,
// calls api::CloudWatchServiceImpl in-process, and converts the reply.
//
// Operations: PutMetricAlarm, PutCompositeAlarm, DescribeAlarms,
// DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState,
// DescribeAlarmHistory, EnableAlarmActions, DisableAlarmActions,
// PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics, and the
// tags of alarms (TagResource, UntagResource, ListTagsForResource; the Tags
// of a Put*Alarm call that creates the alarm; as CloudWatch, ignored when it
// updates one) kept in `tags`.
//
// Responses:
//   200, Content-Type application/x-amz-json-1.0, the output shape ({} for
//   operations without output);
//   errors: {"__type":"<Code>","message":".."} with the header
//   x-amzn-query-error: <Code>;Sender|Receiver, where <Code> is CloudWatch's
//   awsQuery error code:
//     400 SerializationException — the body is not a JSON object;
//     400 InvalidParameterValue  — a member has the wrong JSON type (the
//                                  message names it, e.g.
//                                  "MetricData.member.1.Value"), or an
//                                  unsupported input (metric math alarms);
//     400 UnknownOperationException — an operation not listed above;
//     the service's own codes otherwise (ValidationError,
//     InvalidParameterValue, InvalidParameterCombination, MissingParameter,
//     InvalidFormat, InvalidNextToken: 400; ResourceNotFound and, for the
//     tag calls, ResourceNotFoundException: 404;
//     InternalServiceError: 500).
//
// The body arrives already gunzipped (the router decodes
// Content-Encoding: gzip; PutMetricData from the JS SDK is gzipped above
// 10 KB); a body that still starts with the gzip magic is a
// SerializationException.
//
// Thread safety: thread-safe (as CloudWatchServiceImpl).
//
// Example:
//   AwsHttpResponse r = HandleCloudWatchJson(
//       "DescribeAlarms", request, caller, cloudwatch_service, tags);
#pragma once

#include "absl/strings/string_view.h"
#include "server/api/aws/aws_http.h"
#include "server/api/aws/tag_store.h"
#include "server/api/grpc/cloudwatch_service.h"

namespace evbus::api::aws {

// The X-Amz-Target prefix of CloudWatch's JSON protocol.
inline constexpr char kCloudWatchTargetPrefix[] =
    "GraniteServiceVersion20100801.";

// Handles one CloudWatch JSON 1.0 call. `op` is the X-Amz-Target suffix
// after kCloudWatchTargetPrefix; `request.body` the (decoded) JSON input.
// Never fails: every error is an AWS error response.
AwsHttpResponse HandleCloudWatchJson(absl::string_view op,
                                     const AwsHttpRequest& request,
                                     const AwsCaller& caller,
                                     api::CloudWatchServiceImpl& cw,
                                     TagStore& tags);

}  // namespace evbus::api::aws
