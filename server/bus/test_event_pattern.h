// File: server/bus/test_event_pattern.h
//
// EventBridge TestEventPattern (spec eventbridge.md §3): validates the
// pattern as PutRule does (up to 4,096 characters) and the event (a JSON
// object with id, account, source, time, region and detail-type), then
// matches. Pure; thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace evbus::bus {

// Errors: InvalidEventPatternException (kInvalidArgument) with the pattern's
// reason; ValidationException "Parameter Event is not valid." for the event.
absl::StatusOr<bool> TestEventPattern(const std::string& pattern,
                                      const std::string& event);

}  // namespace evbus::bus
