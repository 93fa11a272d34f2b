// File: server/bus/validation.h
//
// PutEvents validation exactly as EventBridge does it
// (shared/spec/eventbridge.md §1.3–§1.5): per-entry errors with AWS's codes
// and messages, whole-request ValidationExceptions, the entry size rule, and
// name checks for buses. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/event_sink.h"
#include "server/common/json.h"

namespace evbus::bus {

using common::EventEntry;

// The failure of one entry: reported in the PutEvents response, HTTP 200.
struct EntryError {
  std::string code;     // InvalidArgument, MalformedDetail, ...
  std::string message;  // AWS's text
};

// The size of one entry by the rule of spec §1.5: 14 bytes for Time when
// present, plus the UTF-8 bytes of Source, DetailType, Detail and each
// Resources element.
size_t EntrySize(const EventEntry& entry);

struct RequestLimits {
  // Maximum entries per request. Default: 10.
  size_t max_entries = 10;
  // The total entry size must be less than this. Default: 262,144.
  size_t max_request_bytes = 262144;
  // Accept sources that start with "aws.". Default: false.
  bool allow_reserved_sources = false;
  // Maximum nesting of Detail. Default: 1000.
  int max_detail_depth = 1000;
};

// Whole-request checks (count, size, model constraints of entry members).
// Returns a ValidationException status or OK.
absl::Status ValidateRequest(const std::vector<EventEntry>& entries,
                             const RequestLimits& limits);

// Per-entry checks, in LocalStack's observed order: Source, DetailType,
// Detail presence, Detail shape (JSON object, int64 integers, depth), reserved
// source, Time. On success `detail_json` holds the Detail as compact JSON
// (common::DumpJson's form) and `time` the entry's Time (absent when not
// given).
std::optional<EntryError> ValidateEntry(const EventEntry& entry,
                                        const RequestLimits& limits,
                                        std::string* detail_json,
                                        std::optional<absl::Time>* time);

// Parses an entry Time: RFC 3339 ("2026-11-27T12:00:00Z", offsets and
// fractions allowed) or epoch seconds ("1700000000", "1700000000.5").
std::optional<absl::Time> ParseEventTime(absl::string_view text);

// "name" or "arn:aws:events:<region>:<account>:event-bus/name" → "name".
// Returns nullopt when `value` matches neither form of PutEvents'
// EventBusName pattern.
std::optional<std::string> BusNameFromNameOrArn(absl::string_view value);

// CreateEventBus name rules: 1..256 characters of [/.\-_A-Za-z0-9]. Returns a
// ValidationException naming `field` or OK.
absl::Status ValidateBusName(absl::string_view name, absl::string_view field);

}  // namespace evbus::bus
