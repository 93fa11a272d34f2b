// File: server/api/aws/lambda_rest.h
//
// Lambda's REST-JSON protocol (shared/spec/lambda-cloudwatch-sns.md §7.1)
// over the in-process FunctionServiceImpl: CreateFunction, GetFunction,
// GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
// UpdateFunctionConfiguration, DeleteFunction, Invoke (RequestResponse,
// Event, DryRun; X-Amz-Function-Error, X-Amz-Log-Result),
// Put/Get/DeleteFunctionConcurrency, Put/GetFunctionEventInvokeConfig.
//
// Thread safety: thread-safe.
#pragma once

#include "server/api/aws/aws_http.h"
#include "server/api/grpc/function_service.h"

namespace evbus::api::aws {

bool IsLambdaPath(absl::string_view path);

AwsHttpResponse HandleLambda(const AwsHttpRequest& request,
                             api::FunctionServiceImpl& functions);

}  // namespace evbus::api::aws
