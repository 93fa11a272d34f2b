// File: server/common/status_macros.h
//
// EVBUS_RETURN_IF_ERROR / EVBUS_ASSIGN_OR_RETURN: propagate absl::Status
// values. Debian's abseil 20220623 lacks absl's own macros; these are named so
// that a later switch is a rename.
//
// Example:
//   absl::StatusOr<int> ParsePort(absl::string_view s);
//   absl::Status Listen(absl::string_view s) {
//     EVBUS_ASSIGN_OR_RETURN(int port, ParsePort(s));
//     EVBUS_RETURN_IF_ERROR(Bind(port));
//     return absl::OkStatus();
//   }
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EVBUS_STATUS_CONCAT_INNER_(a, b) a##b
#define EVBUS_STATUS_CONCAT_(a, b) EVBUS_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// when it is not OK.
#define EVBUS_RETURN_IF_ERROR(expr)                     \
  do {                                                  \
    ::absl::Status evbus_status_macro_status_ = (expr); \
    if (!evbus_status_macro_status_.ok()) {             \
      return evbus_status_macro_status_;                \
    }                                                   \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (a declaration or an lvalue).
#define EVBUS_ASSIGN_OR_RETURN(lhs, rexpr) \
  EVBUS_ASSIGN_OR_RETURN_IMPL_(            \
      EVBUS_STATUS_CONCAT_(evbus_statusor_, __LINE__), lhs, rexpr)

#define EVBUS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) {                                    \
    return std::move(statusor).status();                   \
  }                                                        \
  lhs = std::move(statusor).value()
