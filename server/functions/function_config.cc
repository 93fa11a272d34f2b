#include "server/functions/function_config.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/aws_error.h"

namespace evbus::functions {
namespace {

constexpr int kDefaultTimeout = 3;
constexpr int kDefaultMemory = 128;
constexpr size_t kMaxEnvironmentBytes = 4096;

// Keys Lambda sets itself and refuses in Environment.Variables.
constexpr const char* kReservedKeys[] = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_';
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

bool ValidEnvKey(absl::string_view key) {
  if (key.size() < 2 ||
      !absl::ascii_isalpha(static_cast<unsigned char>(key[0])))
    return false;
  for (char c : key.substr(1)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  }
  return true;
}

constexpr char kNamePattern[] =
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)"
    "?"
    "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

}  // namespace

RuntimeKind RuntimeKindOf(absl::string_view runtime) {
  if (runtime == "python3" || absl::StartsWith(runtime, "python3.")) {
    return RuntimeKind::kPython;
  }
  if (runtime == "nodejs" ||
      (absl::StartsWith(runtime, "nodejs") && absl::EndsWith(runtime, ".x"))) {
    return RuntimeKind::kNodejs;
  }
  if (runtime == "provided" || runtime == "provided.al2" ||
      runtime == "provided.al2023") {
    return RuntimeKind::kProvided;
  }
  return RuntimeKind::kUnknown;
}

absl::Status InvalidParameter(absl::string_view message) {
  return common::AwsError(absl::StatusCode::kInvalidArgument,
                          "InvalidParameterValueException", message);
}

absl::Status FunctionNotFound(absl::string_view arn) {
  return common::AwsError(absl::StatusCode::kNotFound,
                          "ResourceNotFoundException",
                          absl::StrCat("Function not found: ", arn));
}

absl::StatusOr<std::string> FunctionNameOf(absl::string_view name_or_arn) {
  // The forms Lambda documents, each with an optional ":qualifier":
  // name, 123456789012:function:name, arn:aws:lambda:region:account:
  // function:name; also evbus's "function:name".
  std::vector<absl::string_view> parts = absl::StrSplit(name_or_arn, ':');
  absl::string_view name;
  absl::string_view qualifier;
  auto all_digits = [](absl::string_view s) {
    return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) {
             return absl::ascii_isdigit(static_cast<unsigned char>(c));
           });
  };
  if (absl::StartsWith(name_or_arn, "arn:")) {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    if ((parts.size() == 7 || parts.size() == 8) && parts[2] == "lambda" &&
        parts[5] == "function") {
      name = parts[6];
      if (parts.size() == 8) qualifier = parts[7];
    }
  } else if (parts.size() == 1) {
    name = parts[0];
  } else if (parts.size() == 2) {
    if (parts[0] == "function") {
      name = parts[1];
    } else {
      name = parts[0];
      qualifier = parts[1];
    }
  } else if ((parts.size() == 3 || parts.size() == 4) &&
             parts[1] == "function" && all_digits(parts[0])) {
    name = parts[2];
    if (parts.size() == 4) qualifier = parts[3];
  }
  const bool qualifier_ok =
      qualifier.empty() || qualifier == "$LATEST" ||
      std::all_of(qualifier.begin(), qualifier.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               c == '_';
      });
  if (!ValidName(name) || !qualifier_ok ||
      (parts.size() > 1 && qualifier.empty() && parts.back().empty())) {
    return common::ConstraintViolation({common::ConstraintClause(
        name_or_arn, "functionName",
        absl::StrCat("satisfy regular expression pattern: ", kNamePattern))});
  }
  // evbus keeps $LATEST only: another version or alias does not exist.
  if (!qualifier.empty() && qualifier != "$LATEST") {
    return FunctionNotFound(name_or_arn);
  }
  return std::string(name);
}

std::string FunctionArn(absl::string_view region, absl::string_view account,
                        absl::string_view name) {
  return absl::StrCat("arn:aws:lambda:", region, ":", account,
                      ":function:", name);
}

int MaxRetryAttempts(const evbus::v1::Function& fn) {
  return fn.event_invoke_config().has_maximum_retry_attempts()
             ? fn.event_invoke_config().maximum_retry_attempts()
             : 2;
}

int MaxEventAgeSeconds(const evbus::v1::Function& fn) {
  return fn.event_invoke_config().has_maximum_event_age_in_seconds()
             ? fn.event_invoke_config().maximum_event_age_in_seconds()
             : 21600;
}

std::string LogGroupOf(absl::string_view name) {
  return absl::StrCat("/aws/lambda/", name);
}

absl::Status NormalizeFunction(evbus::v1::Function& fn) {
  std::vector<std::string> clauses;
  if (!ValidName(fn.function_name())) {
    clauses.push_back(common::ConstraintClause(
        fn.function_name(), "functionName",
        absl::StrCat("satisfy regular expression pattern: ", kNamePattern)));
  }
  if (RuntimeKindOf(fn.runtime()) == RuntimeKind::kUnknown) {
    clauses.push_back(common::ConstraintClause(
        fn.runtime(), "runtime",
        "satisfy enum value set: [python3, python3.9, python3.10, "
        "python3.11, python3.12, python3.13, nodejs, nodejs18.x, "
        "nodejs20.x, nodejs22.x, provided, provided.al2, provided.al2023]"));
  }
  if (fn.handler().size() > 128) {
    clauses.push_back(common::ConstraintClause(
        fn.handler(), "handler", "have length less than or equal to 128"));
  } else if (fn.handler().empty() &&
             RuntimeKindOf(fn.runtime()) != RuntimeKind::kProvided) {
    clauses.push_back(
        "Value null at 'handler' failed to satisfy constraint: Member must "
        "not be null");
  }
  if (fn.timeout() == 0) fn.set_timeout(kDefaultTimeout);
  if (fn.memory_size() == 0) fn.set_memory_size(kDefaultMemory);
  if (fn.timeout() < 1) {
    clauses.push_back(
        common::ConstraintClause(absl::StrCat(fn.timeout()), "timeout",
                                 "have value greater than or equal to 1"));
  } else if (fn.timeout() > 900) {
    clauses.push_back(
        common::ConstraintClause(absl::StrCat(fn.timeout()), "timeout",
                                 "have value less than or equal to 900"));
  }
  if (fn.memory_size() < 128) {
    clauses.push_back(
        common::ConstraintClause(absl::StrCat(fn.memory_size()), "memorySize",
                                 "have value greater than or equal to 128"));
  } else if (fn.memory_size() > 10240) {
    clauses.push_back(
        common::ConstraintClause(absl::StrCat(fn.memory_size()), "memorySize",
                                 "have value less than or equal to 10240"));
  }
  if (fn.description().size() > 256) {
    clauses.push_back(
        common::ConstraintClause(fn.description(), "description",
                                 "have length less than or equal to 256"));
  }
  if (fn.has_reserved_concurrent_executions() &&
      fn.reserved_concurrent_executions() < 0) {
    clauses.push_back(common::ConstraintClause(
        absl::StrCat(fn.reserved_concurrent_executions()),
        "reservedConcurrentExecutions",
        "have value greater than or equal to 0"));
  }
  const evbus::v1::FunctionEventInvokeConfig& async = fn.event_invoke_config();
  if (async.has_maximum_retry_attempts() &&
      (async.maximum_retry_attempts() < 0 ||
       async.maximum_retry_attempts() > 2)) {
    clauses.push_back(common::ConstraintClause(
        absl::StrCat(async.maximum_retry_attempts()), "maximumRetryAttempts",
        async.maximum_retry_attempts() < 0
            ? "have value greater than or equal to 0"
            : "have value less than or equal to 2"));
  }
  if (async.has_maximum_event_age_in_seconds() &&
      (async.maximum_event_age_in_seconds() < 60 ||
       async.maximum_event_age_in_seconds() > 21600)) {
    clauses.push_back(common::ConstraintClause(
        absl::StrCat(async.maximum_event_age_in_seconds()),
        "maximumEventAgeInSeconds",
        async.maximum_event_age_in_seconds() < 60
            ? "have value greater than or equal to 60"
            : "have value less than or equal to 21600"));
  }
  std::vector<std::string> bad_keys;
  for (const auto& [key, value] : fn.environment()) {
    if (!ValidEnvKey(key)) bad_keys.push_back(key);
  }
  if (!bad_keys.empty()) {
    clauses.push_back(common::ConstraintClause(
        absl::StrJoin(bad_keys, ", "), "environment.variables",
        "satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+"));
  }
  if (!clauses.empty()) return common::ConstraintViolation(clauses);

  std::vector<std::string> reserved;
  size_t bytes = 0;
  for (const auto& [key, value] : fn.environment()) {
    for (const char* r : kReservedKeys) {
      if (key == r) reserved.push_back(key);
    }
    bytes += key.size() + value.size();
  }
  if (!reserved.empty()) {
    std::sort(reserved.begin(), reserved.end());
    return InvalidParameter(absl::StrCat(
        "Lambda was unable to configure your environment variables because "
        "the environment variables you have provided contains reserved keys "
        "that are currently not supported for modification. Reserved keys "
        "used in this request: ",
        absl::StrJoin(reserved, ", ")));
  }
  if (bytes > kMaxEnvironmentBytes) {
    return InvalidParameter(absl::StrCat(
        "Lambda was unable to configure your environment variables because "
        "the environment variables you have provided exceeded the 4KB limit. "
        "String measured: ",
        bytes, " bytes"));
  }
  // A process environment cannot hold a NUL byte: the value would be cut
  // there without a word. (Ours: Lambda's text for this is not known.)
  std::vector<std::string> nul_values;
  for (const auto& [key, value] : fn.environment()) {
    if (value.find('\0') != std::string::npos) nul_values.push_back(key);
  }
  if (!nul_values.empty()) {
    std::sort(nul_values.begin(), nul_values.end());
    return InvalidParameter(absl::StrCat(
        "Lambda was unable to configure your environment variables because "
        "the values of these variables contain a NUL character, which a "
        "process environment cannot hold: ",
        absl::StrJoin(nul_values, ", ")));
  }
  return absl::OkStatus();
}

}  // namespace evbus::functions
