// File: server/functions/function_config.h
//
// What a valid function looks like (shared/spec/lambda-cloudwatch-sns.md
// §1.4, §2.8): name, runtime, handler, timeout, memory, environment
// variables and asynchronous-invocation settings, checked with Lambda's
// exception names and texts; defaults filled in; the runtime's command.
// Pure functions; thread-safe.
//
// Example:
//   evbus::v1::Function fn = request.function();
//   EVBUS_RETURN_IF_ERROR(NormalizeFunction(fn));   // defaults + checks
//   RuntimeKind kind = RuntimeKindOf(fn.runtime());
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "evbus/v1/function.pb.h"

namespace evbus::functions {

enum class RuntimeKind { kPython, kNodejs, kProvided, kUnknown };

// python3, python3.N → kPython; nodejs, nodejsNN.x → kNodejs; provided,
// provided.al2, provided.al2023 → kProvided.
RuntimeKind RuntimeKindOf(absl::string_view runtime);

// Fills defaults (timeout 3, memory 128) and validates every field.
// Errors: InvalidParameterValueException / ValidationException texts.
absl::Status NormalizeFunction(evbus::v1::Function& fn);

// Checks a function name in any form Lambda documents (name,
// 123456789012:function:name, the full ARN, or evbus's function:name; each
// optionally with ":$LATEST" or another qualifier) and returns the bare
// name. Errors: ValidationException (the functionName pattern) for what is
// no name; ResourceNotFoundException for a qualifier other than $LATEST
// (evbus keeps no versions or aliases).
absl::StatusOr<std::string> FunctionNameOf(absl::string_view name_or_arn);

std::string FunctionArn(absl::string_view region, absl::string_view account,
                        absl::string_view name);

// Asynchronous settings with Lambda's defaults applied.
int MaxRetryAttempts(const evbus::v1::Function& fn);    // default 2
int MaxEventAgeSeconds(const evbus::v1::Function& fn);  // default 21600

// The log group of a function: /aws/lambda/<name>.
std::string LogGroupOf(absl::string_view name);

// Lambda's error shape: "<Exception>: <message>" in a Status.
absl::Status InvalidParameter(absl::string_view message);
absl::Status FunctionNotFound(absl::string_view arn);

}  // namespace evbus::functions
