#include "server/storage/event_log.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "server/storage/keys.h"

namespace evbus::storage {

void EventLog::AddTo(WriteBatch& batch, const evbus::v1::StoredEvent& event) {
  AddTo(batch,
        keys::EventKey(event.event_bus_name(),
                       static_cast<uint64_t>(event.ingest_time_ms()),
                       event.sequence(), event.event_id()),
        event);
}

void EventLog::AddTo(WriteBatch& batch, absl::string_view key,
                     const evbus::v1::StoredEvent& event) {
  batch.Put(Family::kEvents, key, event.SerializeAsString());
}

absl::StatusOr<EventLog::Page> EventLog::List(
    const ListOptions& options) const {
  std::string begin = keys::EventKeyLowerBound(options.bus, options.start_ms);
  if (!options.page_token.empty()) {
    std::string after;
    if (!absl::WebSafeBase64Unescape(options.page_token, &after) ||
        after.substr(0, options.bus.size() + 1) !=
            keys::EventBusPrefix(options.bus)) {
      return absl::InvalidArgumentError("NextToken is not valid.");
    }
    after.push_back('\0');  // first key after the last one returned
    begin = std::max(begin, after);
  }
  std::string end = keys::EventKeyLowerBound(
      options.bus, options.end_ms == 0 ? std::numeric_limits<uint64_t>::max()
                                       : options.end_ms);
  size_t limit = std::clamp<size_t>(options.max_items, 1, 10000);
  Page page;
  absl::Status parse_error;
  std::string last_key;
  bool more = false;
  absl::Status s =
      store_.Scan(Family::kEvents, begin, end,
                  [&](absl::string_view key, absl::string_view value) {
                    if (page.events.size() == limit) {
                      more = true;
                      return false;
                    }
                    evbus::v1::StoredEvent event;
                    if (!event.ParseFromArray(value.data(),
                                              static_cast<int>(value.size()))) {
                      parse_error = absl::DataLossError("corrupt event record");
                      return false;
                    }
                    page.events.push_back(std::move(event));
                    last_key.assign(key.data(), key.size());
                    return true;
                  });
  if (!s.ok()) return s;
  if (!parse_error.ok()) return parse_error;
  if (more) page.next_token = absl::WebSafeBase64Escape(last_key);
  return page;
}

absl::Status EventLog::TrimBefore(const std::string& bus, uint64_t cutoff_ms,
                                  bool compact) {
  WriteBatch batch;
  const std::string begin = keys::EventKeyLowerBound(bus, 0);
  const std::string end = keys::EventKeyLowerBound(bus, cutoff_ms);
  batch.DeleteRange(Family::kEvents, begin, end);
  absl::Status s = store_.Write(batch, /*sync=*/false);
  if (!s.ok() || !compact) return s;
  // Give the space back now: left to itself, compaction reaches the files
  // of old events only when their levels fill, and the data dir of a busy
  // bus kept almost everything ever written.
  return store_.CompactRange(Family::kEvents, begin, end);
}

void EventLog::DeleteBusTo(WriteBatch& batch, const std::string& bus) {
  batch.DeleteRange(
      Family::kEvents, keys::EventKeyLowerBound(bus, 0),
      keys::EventKeyLowerBound(bus, std::numeric_limits<uint64_t>::max()));
}

}  // namespace evbus::storage
