// File: server/common/event_sink.h
//
// EventSink: how components that produce events (scheduler, alarms) hand
// them to the bus without depending on bus/ (DESIGN.md §3). Implemented by
// bus::BusService.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace evbus::common {

// One event to put, as a PutEvents entry. Unset optionals are "absent" in
// the EventBridge sense (distinct from empty strings).
struct EventEntry {
  std::optional<std::string> time;  // RFC 3339 or epoch seconds
  std::optional<std::string> source;
  std::vector<std::string> resources;
  std::optional<std::string> detail_type;
  std::optional<std::string> detail;  // JSON object text
  std::optional<std::string> event_bus_name;
  std::optional<std::string> trace_header;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Puts the events durably. Sources under "aws." are allowed here: the
  // callers are evbus itself.
  virtual absl::Status Publish(std::vector<EventEntry> events) = 0;
};

}  // namespace evbus::common
