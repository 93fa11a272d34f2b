#include "server/storage/keys.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evbus::storage::keys {

void AppendBigEndian64(std::string* out, uint64_t x) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(x & 0xff);
    x >>= 8;
  }
  out->append(buf, 8);
}

uint64_t ReadBigEndian64(absl::string_view in) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i) {
    x = (x << 8) | static_cast<unsigned char>(in[i]);
  }
  return x;
}

std::string CatalogKey(absl::string_view kind, absl::string_view name) {
  std::string key = CatalogPrefix(kind);
  key.append(name.data(), name.size());
  return key;
}

std::string TagKey(absl::string_view arn) { return CatalogKey("tag", arn); }

std::string CatalogPrefix(absl::string_view kind) {
  std::string key(kind);
  key.push_back(kSeparator);
  return key;
}

absl::StatusOr<std::string> CatalogName(absl::string_view kind,
                                        absl::string_view key) {
  std::string prefix = CatalogPrefix(kind);
  if (key.substr(0, prefix.size()) != prefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("catalog key is not of kind ", kind));
  }
  return std::string(key.substr(prefix.size()));
}

std::string EventBusPrefix(absl::string_view bus) {
  return absl::StrCat(bus, absl::string_view(&kSeparator, 1));
}

std::string EventKeyLowerBound(absl::string_view bus, uint64_t ingest_ms) {
  std::string key = EventBusPrefix(bus);
  AppendBigEndian64(&key, ingest_ms);
  return key;
}

std::string EventKey(absl::string_view bus, uint64_t ingest_ms,
                     uint64_t sequence, absl::string_view event_id) {
  std::string key = EventKeyLowerBound(bus, ingest_ms);
  AppendBigEndian64(&key, sequence);
  key.append(event_id.data(), event_id.size());
  return key;
}

absl::StatusOr<EventKeyParts> ParseEventKey(absl::string_view key) {
  size_t sep = key.find(kSeparator);
  if (sep == absl::string_view::npos || sep == 0 || key.size() < sep + 1 + 16) {
    return absl::DataLossError("malformed event key");
  }
  EventKeyParts parts;
  parts.bus = std::string(key.substr(0, sep));
  parts.ingest_ms = ReadBigEndian64(key.substr(sep + 1, 8));
  parts.sequence = ReadBigEndian64(key.substr(sep + 1 + 8, 8));
  parts.event_id = std::string(key.substr(sep + 1 + 16));
  return parts;
}

std::string RuleName(absl::string_view bus, absl::string_view rule) {
  std::string name(bus.data(), bus.size());
  name.push_back(kSeparator);
  name.append(rule.data(), rule.size());
  return name;
}

std::string TargetKey(absl::string_view bus, absl::string_view rule,
                      absl::string_view target_id) {
  std::string key = RuleName(bus, rule);
  key.push_back(kSeparator);
  key.append(target_id.data(), target_id.size());
  return key;
}

std::string TargetBusPrefix(absl::string_view bus) {
  return absl::StrCat(bus, absl::string_view(&kSeparator, 1));
}

std::string QueueKey(uint64_t due_ms, absl::string_view task_id,
                     absl::string_view target_key) {
  std::string key;
  key.reserve(8 + task_id.size() + target_key.size());
  AppendBigEndian64(&key, due_ms);
  key.append(task_id.data(), task_id.size());
  key.append(target_key.data(), target_key.size());
  return key;
}

bool IsQueueKey(absl::string_view key) { return key.size() > 8 + kTaskIdSize; }

uint64_t QueueKeyDueMs(absl::string_view key) { return ReadBigEndian64(key); }

absl::string_view QueueKeyTaskId(absl::string_view key) {
  return key.substr(8, kTaskIdSize);
}

absl::string_view QueueKeyTargetKey(absl::string_view key) {
  return key.substr(8 + kTaskIdSize);
}

std::string DeadLetterBusPrefix(absl::string_view bus) {
  return absl::StrCat(bus, absl::string_view(&kSeparator, 1));
}

std::string DeadLetterRulePrefix(absl::string_view bus,
                                 absl::string_view rule) {
  std::string key = RuleName(bus, rule);
  key.push_back(kSeparator);
  return key;
}

std::string DeadLetterPrefix(absl::string_view bus, absl::string_view rule,
                             absl::string_view target_id) {
  std::string key = DeadLetterRulePrefix(bus, rule);
  key.append(target_id.data(), target_id.size());
  key.push_back(kSeparator);
  return key;
}

std::string DeadLetterKey(absl::string_view bus, absl::string_view rule,
                          absl::string_view target_id, uint64_t ms,
                          absl::string_view task_id) {
  std::string key = DeadLetterPrefix(bus, rule, target_id);
  AppendBigEndian64(&key, ms);
  key.append(task_id.data(), task_id.size());
  return key;
}

std::string ArchivePrefix(absl::string_view archive) {
  std::string key(archive.data(), archive.size());
  key.push_back(kSeparator);
  return key;
}

std::string ArchiveArrivalPrefix(absl::string_view archive) {
  std::string key(archive.data(), archive.size());
  key.push_back('\x01');  // after every ArchiveKey of the archive (0x00)
  return key;
}

std::string ArchiveArrivalKey(absl::string_view archive, uint64_t event_time_ms,
                              absl::string_view event_id) {
  std::string key = ArchiveArrivalPrefix(archive);
  AppendBigEndian64(&key, event_time_ms);
  key.append(event_id.data(), event_id.size());
  return key;
}

std::string ArchiveKey(absl::string_view archive, uint64_t event_time_ms,
                       absl::string_view event_id) {
  std::string key = ArchivePrefix(archive);
  AppendBigEndian64(&key, event_time_ms);
  key.append(event_id.data(), event_id.size());
  return key;
}

std::string LogGroupPrefix(absl::string_view group) {
  std::string key(group.data(), group.size());
  key.push_back(kSeparator);
  return key;
}

std::string LogKey(absl::string_view group, uint64_t ms, uint64_t sequence) {
  std::string key = LogGroupPrefix(group);
  AppendBigEndian64(&key, ms);
  AppendBigEndian64(&key, sequence);
  return key;
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix.data(), prefix.size());
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) {
    end.pop_back();
  }
  if (!end.empty()) end.back() = static_cast<char>(end.back() + 1);
  return end;
}

}  // namespace evbus::storage::keys
