// File: server/storage/keys.h
//
// Key encodings of docs/storage_format.md. The only place that builds or
// parses keys. Pure functions; thread-safe.
//
// Example:
//   std::string k = keys::EventKey("orders", 1700000000000, id);
//   absl::StatusOr<keys::EventKeyParts> p = keys::ParseEventKey(k);
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::storage::keys {

inline constexpr char kSeparator = '\0';

// Appends x as 8 big-endian bytes.
void AppendBigEndian64(std::string* out, uint64_t x);
// Reads 8 big-endian bytes from the front of `in`. REQUIRES: in.size() >= 8.
uint64_t ReadBigEndian64(absl::string_view in);

// meta family.
inline constexpr absl::string_view kFormatKey = "format";
// --clock manual: the time the clock last moved to (decimal ms since the
// epoch), so that a restart resumes from it.
inline constexpr absl::string_view kManualClockKey = "manual_clock";

// catalog family: kind 0x00 name.
std::string CatalogKey(absl::string_view kind, absl::string_view name);
// The catalog key of the tags of the resource `arn` (kind "tag"). Each
// resource's delete removes it in the same batch, so that a new resource of
// the same ARN starts without the old one's tags.
std::string TagKey(absl::string_view arn);
// Prefix of all catalog keys of `kind` (kind 0x00).
std::string CatalogPrefix(absl::string_view kind);
// The name part of a catalog key of `kind`; InvalidArgument when the key is
// not of that kind.
absl::StatusOr<std::string> CatalogName(absl::string_view kind,
                                        absl::string_view key);

// events family: bus 0x00 BE64(ingest_ms) BE64(sequence) event_id. The
// sequence orders events of the same millisecond by arrival.
std::string EventKey(absl::string_view bus, uint64_t ingest_ms,
                     uint64_t sequence, absl::string_view event_id);
// Prefix shared by every event key of `bus` (bus 0x00).
std::string EventBusPrefix(absl::string_view bus);
// Smallest key of `bus` at or after `ingest_ms` (bus 0x00 BE64(ingest_ms)).
std::string EventKeyLowerBound(absl::string_view bus, uint64_t ingest_ms);

struct EventKeyParts {
  std::string bus;
  uint64_t ingest_ms = 0;
  uint64_t sequence = 0;
  std::string event_id;
};
// DataLoss when `key` is not a well-formed event key.
absl::StatusOr<EventKeyParts> ParseEventKey(absl::string_view key);

// catalog: rules are `rule` 0x00 bus 0x00 name.
std::string RuleName(absl::string_view bus, absl::string_view rule);

// Identifies one target of one rule: bus 0x00 rule 0x00 target_id.
std::string TargetKey(absl::string_view bus, absl::string_view rule,
                      absl::string_view target_id);
// Prefix shared by the target keys of `bus` (bus 0x00).
std::string TargetBusPrefix(absl::string_view bus);

// queue family: BE64(due_ms) task_id(36 bytes) target_key. Carrying the
// target key lets the dispatcher rebuild its per-target index from keys.
inline constexpr size_t kTaskIdSize = 36;
std::string QueueKey(uint64_t due_ms, absl::string_view task_id,
                     absl::string_view target_key);
// Parts of a queue key. REQUIRES: IsQueueKey(key).
bool IsQueueKey(absl::string_view key);
uint64_t QueueKeyDueMs(absl::string_view key);
absl::string_view QueueKeyTaskId(absl::string_view key);
absl::string_view QueueKeyTargetKey(absl::string_view key);

// dlq family: bus 0x00 rule 0x00 target 0x00 BE64(ms) task_id.
std::string DeadLetterPrefix(absl::string_view bus, absl::string_view rule,
                             absl::string_view target_id);
// Prefix of every dead letter of a bus (all its rules).
std::string DeadLetterBusPrefix(absl::string_view bus);
// Prefix of every dead letter of a rule (all its targets).
std::string DeadLetterRulePrefix(absl::string_view bus, absl::string_view rule);
std::string DeadLetterKey(absl::string_view bus, absl::string_view rule,
                          absl::string_view target_id, uint64_t ms,
                          absl::string_view task_id);

// archive family: archive 0x00 BE64(event time ms) event_id.
std::string ArchivePrefix(absl::string_view archive);
// When each archived event arrived (for RetentionDays): *archive* 0x01
// BE64(*event time ms*) *event id* -> BE64(*arrival ms*), one per
// ArchiveKey, beside it.
std::string ArchiveArrivalPrefix(absl::string_view archive);
std::string ArchiveArrivalKey(absl::string_view archive, uint64_t event_time_ms,
                              absl::string_view event_id);
std::string ArchiveKey(absl::string_view archive, uint64_t event_time_ms,
                       absl::string_view event_id);

// logs family: group 0x00 BE64(ms) BE64(sequence).
std::string LogKey(absl::string_view group, uint64_t ms, uint64_t sequence);
std::string LogGroupPrefix(absl::string_view group);

// The smallest string greater than every string that starts with `prefix`
// (for scan upper bounds). REQUIRES: prefix is not all 0xff.
std::string PrefixEnd(absl::string_view prefix);

}  // namespace evbus::storage::keys
