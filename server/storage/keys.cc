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
  std::string key(bus);
  key.push_back(kSeparator);
  return key;
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
  if (sep == absl::string_view::npos || sep == 0 ||
      key.size() < sep + 1 + 16) {
    return absl::DataLossError("malformed event key");
  }
  EventKeyParts parts;
  parts.bus = std::string(key.substr(0, sep));
  parts.ingest_ms = ReadBigEndian64(key.substr(sep + 1, 8));
  parts.sequence = ReadBigEndian64(key.substr(sep + 1 + 8, 8));
  parts.event_id = std::string(key.substr(sep + 1 + 16));
  return parts;
}

}  // namespace evbus::storage::keys
