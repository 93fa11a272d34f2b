// File: server/storage/event_log.h
//
// EventLog: the `events` column family (docs/storage_format.md): accepted
// events per bus, oldest first, trimmed by retention.
//
// Thread safety: thread-safe (all state lives in the Store).
//
// Example:
//   WriteBatch batch;
//   EventLog::AddTo(batch, stored_event);
//   EVBUS_RETURN_IF_ERROR(store.Write(batch, /*sync=*/true));
//   EVBUS_ASSIGN_OR_RETURN(EventLog::Page page,
//                          log.List({.bus = "default", .max_items = 100}));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "evbus/v1/event.pb.h"
#include "server/storage/store.h"

namespace evbus::storage {

class EventLog {
 public:
  explicit EventLog(Store& store) : store_(store) {}

  // Queues the record under its key (bus, ingest time, id) in `batch`.
  static void AddTo(WriteBatch& batch, const evbus::v1::StoredEvent& event);
  // The same, for a caller that already holds the record's key.
  // REQUIRES: key == keys::EventKey(bus, ingest time, sequence, id) of
  // `event`.
  static void AddTo(WriteBatch& batch, absl::string_view key,
                    const evbus::v1::StoredEvent& event);

  struct ListOptions {
    std::string bus;         // required
    uint64_t start_ms = 0;   // inclusive; 0: from the start
    uint64_t end_ms = 0;     // exclusive; 0: no bound
    size_t max_items = 100;  // 1..10000
    std::string page_token;  // from Page::next_token
  };
  struct Page {
    std::vector<evbus::v1::StoredEvent> events;
    std::string next_token;  // empty when nothing remains
  };
  // Events of one bus in [start_ms, end_ms), oldest first. Errors:
  // InvalidArgument for a malformed page token; DataLoss for a corrupt record.
  absl::StatusOr<Page> List(const ListOptions& options) const;

  // Deletes events of `bus` received before `cutoff_ms`. With `compact`,
  // then compacts that key range so that the space is given back at once
  // (blocks while it runs, and rewrites the table files the range touches:
  // call it off the write path, and not often).
  absl::Status TrimBefore(const std::string& bus, uint64_t cutoff_ms,
                          bool compact = false);

  // Deletes every event of `bus` (used when the bus is deleted).
  static void DeleteBusTo(WriteBatch& batch, const std::string& bus);

 private:
  Store& store_;
};

}  // namespace evbus::storage
