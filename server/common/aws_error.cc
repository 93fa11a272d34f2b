#include "server/common/aws_error.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace evbus::common {
namespace {

absl::string_view DefaultException(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
      return "ValidationException";
    case absl::StatusCode::kNotFound:
      return "ResourceNotFoundException";
    case absl::StatusCode::kAlreadyExists:
      return "ResourceAlreadyExistsException";
    case absl::StatusCode::kResourceExhausted:
      return "LimitExceededException";
    case absl::StatusCode::kFailedPrecondition:
      return "ConcurrentModificationException";
    case absl::StatusCode::kUnavailable:
      return "ServiceUnavailable";
    case absl::StatusCode::kUnauthenticated:
      return "UnrecognizedClientException";
    case absl::StatusCode::kPermissionDenied:
      return "AccessDeniedException";
    default:
      return "InternalException";
  }
}

// An exception name is one CamelCase word.
bool LooksLikeException(absl::string_view word) {
  if (word.empty() || !absl::ascii_isupper(static_cast<unsigned char>(word[0])))
    return false;
  for (char c : word) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.')
      return false;
  }
  return true;
}

}  // namespace

absl::Status AwsError(absl::StatusCode code, absl::string_view exception,
                      absl::string_view message) {
  return absl::Status(code, absl::StrCat(exception, ": ", message));
}

absl::Status ValidationError(absl::string_view message) {
  return AwsError(absl::StatusCode::kInvalidArgument, "ValidationException",
                  message);
}

absl::Status ResourceNotFound(absl::string_view message) {
  return AwsError(absl::StatusCode::kNotFound, "ResourceNotFoundException",
                  message);
}

absl::Status ResourceAlreadyExists(absl::string_view message) {
  return AwsError(absl::StatusCode::kAlreadyExists,
                  "ResourceAlreadyExistsException", message);
}

absl::Status LimitExceeded(absl::string_view message) {
  return AwsError(absl::StatusCode::kResourceExhausted,
                  "LimitExceededException", message);
}

AwsErrorParts SplitAwsError(const absl::Status& status) {
  absl::string_view msg = status.message();
  size_t colon = msg.find(": ");
  if (colon != absl::string_view::npos &&
      LooksLikeException(msg.substr(0, colon))) {
    return {std::string(msg.substr(0, colon)),
            std::string(msg.substr(colon + 2))};
  }
  return {std::string(DefaultException(status.code())), std::string(msg)};
}

std::string ConstraintClause(absl::string_view value, absl::string_view path,
                             absl::string_view rule) {
  return absl::StrCat("Value '", value, "' at '", path,
                      "' failed to satisfy constraint: Member must ", rule);
}

absl::Status ConstraintViolation(const std::vector<std::string>& clauses) {
  if (clauses.size() == 1) {
    return ValidationError(
        absl::StrCat("1 validation error detected: ", clauses[0]));
  }
  return ValidationError(absl::StrCat(
      clauses.size(),
      " validation errors detected: ", absl::StrJoin(clauses, "; ")));
}

}  // namespace evbus::common
