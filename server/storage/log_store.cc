#include "server/storage/log_store.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "server/storage/keys.h"

namespace evbus::storage {

LogStore::LogStore(Store& store, common::Clock& clock)
    : store_(store),
      clock_(clock),
      sequence_(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))) {}

absl::Status LogStore::Append(absl::string_view group,
                              absl::string_view message) {
  WriteBatch batch;
  batch.Put(Family::kLogs,
            keys::LogKey(
                group, static_cast<uint64_t>(absl::ToUnixMillis(clock_.Now())),
                sequence_.fetch_add(1)),
            message);
  return store_.Write(batch, /*sync=*/false);
}

absl::StatusOr<LogStore::Page> LogStore::Read(absl::string_view group,
                                              int64_t start_ms, size_t limit,
                                              const std::string& token) const {
  std::string prefix = keys::LogGroupPrefix(group);
  std::string begin = prefix;
  keys::AppendBigEndian64(
      &begin, static_cast<uint64_t>(std::max<int64_t>(0, start_ms)));
  if (!token.empty()) {
    std::string after;
    if (!absl::WebSafeBase64Unescape(token, &after) ||
        after.compare(0, prefix.size(), prefix) != 0) {
      return absl::InvalidArgumentError("The NextToken provided is invalid.");
    }
    after.push_back('\0');
    begin = std::max(begin, after);
  }
  Page page;
  std::string last = begin;
  if (!token.empty()) last.pop_back();
  absl::Status s =
      store_.Scan(Family::kLogs, begin, keys::PrefixEnd(prefix),
                  [&](absl::string_view key, absl::string_view value) {
                    if (page.records.size() >= limit) return false;
                    Record r;
                    r.time_ms = static_cast<int64_t>(
                        keys::ReadBigEndian64(key.substr(prefix.size())));
                    r.message = std::string(value);
                    page.records.push_back(std::move(r));
                    last = std::string(key);
                    return true;
                  });
  if (!s.ok()) return s;
  page.next_token = absl::WebSafeBase64Escape(last);
  return page;
}

absl::StatusOr<bool> LogStore::HasRecords(absl::string_view group) const {
  std::string prefix = keys::LogGroupPrefix(group);
  bool found = false;
  absl::Status s = store_.Scan(Family::kLogs, prefix, keys::PrefixEnd(prefix),
                               [&](absl::string_view, absl::string_view) {
                                 found = true;
                                 return false;
                               });
  if (!s.ok()) return s;
  return found;
}

absl::Status LogStore::TrimBefore(int64_t cutoff_ms, bool compact) {
  // Log groups are found by scanning for their prefixes: jump from one group
  // to the next with PrefixEnd, deleting each group's old range.
  WriteBatch batch;
  std::string cursor;
  for (int guard = 0; guard < 100000; ++guard) {
    std::string group_prefix;
    absl::Status s = store_.Scan(Family::kLogs, cursor, "",
                                 [&](absl::string_view key, absl::string_view) {
                                   size_t sep = key.find('\0');
                                   if (sep != absl::string_view::npos) {
                                     group_prefix =
                                         std::string(key.substr(0, sep + 1));
                                   }
                                   return false;
                                 });
    if (!s.ok()) return s;
    if (group_prefix.empty()) break;
    std::string end = group_prefix;
    keys::AppendBigEndian64(
        &end, static_cast<uint64_t>(std::max<int64_t>(0, cutoff_ms)));
    batch.DeleteRange(Family::kLogs, group_prefix, end);
    cursor = keys::PrefixEnd(group_prefix);
  }
  if (batch.Empty()) return absl::OkStatus();
  absl::Status written = store_.Write(batch, /*sync=*/false);
  if (!written.ok() || !compact) return written;
  // Give the space back now (as the event log's hourly compaction does).
  return store_.CompactRange(Family::kLogs, "", "");
}

}  // namespace evbus::storage
