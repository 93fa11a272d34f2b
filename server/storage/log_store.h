// File: server/storage/log_store.h
//
// LogStore: the `logs` column family — payloads delivered to `log:NAME`
// targets, per log group, oldest first (docs/storage_format.md).
//
// Thread safety: thread-safe.
//
// Example:
//   LogStore logs(store, clock);
//   EVBUS_RETURN_IF_ERROR(logs.Append("audit", payload));
//   EVBUS_ASSIGN_OR_RETURN(LogStore::Page page, logs.Read("audit", {}));
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/storage/store.h"

namespace evbus::storage {

class LogStore {
 public:
  LogStore(Store& store, common::Clock& clock);

  // Appends one record (not synced: a log target is at-least-once anyway).
  absl::Status Append(absl::string_view group, absl::string_view message);

  struct Record {
    int64_t time_ms = 0;
    std::string message;
  };
  struct Page {
    std::vector<Record> records;
    std::string next_token;  // pass back to continue; never empty
  };
  // Records of `group` from `start_ms` (or after `token`), up to `limit`.
  absl::StatusOr<Page> Read(absl::string_view group, int64_t start_ms,
                            size_t limit, const std::string& token) const;

  // Whether `group` holds any record (a group exists once written to, until
  // retention trims its last record).
  absl::StatusOr<bool> HasRecords(absl::string_view group) const;

  // Deletes records of every group older than `cutoff_ms`; with `compact`,
  // then compacts the family so the space is given back at once (blocks;
  // not often).
  absl::Status TrimBefore(int64_t cutoff_ms, bool compact = false);

 private:
  Store& store_;
  common::Clock& clock_;
  std::atomic<uint64_t> sequence_;
};

}  // namespace evbus::storage
