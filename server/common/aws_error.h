// File: server/common/aws_error.h
//
// AWS-style errors carried in absl::Status. The canonical code says what kind
// of failure it is (and maps 1:1 onto gRPC codes); the message starts with
// the AWS exception name so that every surface (gRPC, the CLI, the AWS
// endpoint) can show EventBridge's own error code and text:
//
//   absl::Status s = AwsError(absl::StatusCode::kNotFound,
//                             "ResourceNotFoundException",
//                             "Event bus orders does not exist.");
//   // s.message() == "ResourceNotFoundException: Event bus orders does not
//   exist." AwsErrorParts p = SplitAwsError(s);  //
//   {"ResourceNotFoundException", "Event bus ..."}
//
// Thread-safe (pure functions).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace evbus::common {

absl::Status AwsError(absl::StatusCode code, absl::string_view exception,
                      absl::string_view message);

// Shorthands for the common cases.
absl::Status ValidationError(absl::string_view message);   // kInvalidArgument
absl::Status ResourceNotFound(absl::string_view message);  // kNotFound
absl::Status ResourceAlreadyExists(
    absl::string_view message);                         // kAlreadyExists
absl::Status LimitExceeded(absl::string_view message);  // kResourceExhausted

struct AwsErrorParts {
  std::string exception;  // e.g. "ValidationException"; derived from the code
                          // when the message has no exception prefix
  std::string message;
};
AwsErrorParts SplitAwsError(const absl::Status& status);

// "Value '<value>' at '<path>' failed to satisfy constraint: Member must
// <rule>" — the Coral constraint clause AWS uses for model violations.
std::string ConstraintClause(absl::string_view value, absl::string_view path,
                             absl::string_view rule);

// "1 validation error detected: <clause>" or "N validation errors detected:
// <c1>; <c2>" as a ValidationException.
absl::Status ConstraintViolation(const std::vector<std::string>& clauses);

}  // namespace evbus::common
