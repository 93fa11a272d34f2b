// File: server/api/aws/lambda_rest.h
//
// Lambda's REST-JSON protocol (shared/spec/lambda-cloudwatch-sns.md §7.1)
// over the in-process FunctionServiceImpl: CreateFunction, GetFunction,
// GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
// UpdateFunctionConfiguration, DeleteFunction, Invoke (RequestResponse,
// Event, DryRun; X-Amz-Function-Error, X-Amz-Log-Result),
// Put/Get/DeleteFunctionConcurrency, Put/Get/Update/DeleteFunctionEvent-
// InvokeConfig, and tags (TagResource, UntagResource, ListTags on
// /2017-03-31/tags/{function ARN}; CreateFunction's Tags; GetFunction's
// Tags) kept in `tags`.
//
// Thread safety: thread-safe.
#pragma once

#include "server/api/aws/aws_http.h"
#include "server/api/aws/tag_store.h"
#include "server/api/grpc/function_service.h"

namespace evbus::api::aws {

bool IsLambdaPath(absl::string_view path);

AwsHttpResponse HandleLambda(const AwsHttpRequest& request,
                             api::FunctionServiceImpl& functions,
                             TagStore& tags);

}  // namespace evbus::api::aws
