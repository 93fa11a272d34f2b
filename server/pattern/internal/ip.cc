#include "server/pattern/internal/ip.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/pattern/internal/strings.h"

namespace evbus::pattern::internal {
namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

std::optional<IpAddress> ParseIpv4(std::string_view text) {
  IpAddress out;
  int part = 0;
  size_t i = 0;
  while (true) {
    if (part >= 4) return std::nullopt;
    int value = 0;
    int digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      ++i;
      if (++digits > 3) return std::nullopt;
    }
    if (digits == 0 || value > 255) return std::nullopt;
    out.bytes[part++] = static_cast<uint8_t>(value);
    if (i == text.size()) break;
    if (text[i] != '.') return std::nullopt;
    ++i;
  }
  if (part != 4) return std::nullopt;
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a run of ':'-separated hex groups (no "::"); appends to `groups`.
bool ParseGroups(std::string_view text, std::vector<uint16_t>* groups) {
  if (text.empty()) return true;
  for (std::string_view g : Split(text, ':')) {
    if (g.empty() || g.size() > 4) return false;
    int v = 0;
    for (char c : g) {
      const int h = HexValue(c);
      if (h < 0) return false;
      v = v * 16 + h;
    }
    groups->push_back(static_cast<uint16_t>(v));
  }
  return true;
}

std::optional<IpAddress> ParseIpv6(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return std::nullopt;
  std::vector<uint16_t> head;
  std::vector<uint16_t> tail;
  const size_t dc = text.find("::");
  if (dc == std::string_view::npos) {
    if (!ParseGroups(text, &head) || head.size() != 8) return std::nullopt;
  } else {
    if (text.find("::", dc + 1) != std::string_view::npos) return std::nullopt;
    if (!ParseGroups(text.substr(0, dc), &head) ||
        !ParseGroups(text.substr(dc + 2), &tail)) {
      return std::nullopt;
    }
    if (head.size() + tail.size() > 7) return std::nullopt;
  }
  IpAddress out;
  out.v6 = true;
  size_t k = 0;
  for (uint16_t g : head) {
    out.bytes[k++] = static_cast<uint8_t>(g >> 8);
    out.bytes[k++] = static_cast<uint8_t>(g & 0xFF);
  }
  k = 16 - 2 * tail.size();
  for (uint16_t g : tail) {
    out.bytes[k++] = static_cast<uint8_t>(g >> 8);
    out.bytes[k++] = static_cast<uint8_t>(g & 0xFF);
  }
  return out;
}

}  // namespace

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  if (text.find(':') != std::string_view::npos) return ParseIpv6(text);
  return ParseIpv4(text);
}

IpAddress Cidr::Mask(const IpAddress& ip, int bits) {
  IpAddress out = ip;
  const int total = ip.v6 ? 128 : 32;
  for (int b = bits; b < total; ++b) {
    out.bytes[b / 8] &= static_cast<uint8_t>(~(0x80u >> (b % 8)));
  }
  return out;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.v6 != base.v6) return false;
  const int full = bits / 8;
  for (int i = 0; i < full; ++i) {
    if (ip.bytes[i] != base.bytes[i]) return false;
  }
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF00u >> rest);
  return (ip.bytes[full] & mask) == base.bytes[full];
}

absl::StatusOr<Cidr> ParseCidr(std::string_view text) {
  // Mirrors Java's String.split("/"): trailing empty pieces are dropped.
  std::vector<std::string_view> parts = Split(text, '/');
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  if (parts.size() != 2) {
    return absl::InvalidArgumentError("Malformed CIDR, one '/' required");
  }
  // Integer.parseInt: optional sign, decimal digits, int range.
  std::string_view mask = parts[1];
  bool negative = false;
  size_t i = 0;
  if (!mask.empty() && (mask[0] == '+' || mask[0] == '-')) {
    negative = mask[0] == '-';
    i = 1;
  }
  if (i >= mask.size()) {
    return absl::InvalidArgumentError(
        "Malformed CIDR, mask bits must be an integer");
  }
  int64_t bits = 0;
  for (; i < mask.size(); ++i) {
    if (mask[i] < '0' || mask[i] > '9') {
      return absl::InvalidArgumentError(
          "Malformed CIDR, mask bits must be an integer");
    }
    bits = bits * 10 + (mask[i] - '0');
    if (bits > 2147483648LL) {
      return absl::InvalidArgumentError(
          "Malformed CIDR, mask bits must be an integer");
    }
  }
  if (negative) bits = -bits;
  if (bits > 2147483647LL) {
    return absl::InvalidArgumentError(
        "Malformed CIDR, mask bits must be an integer");
  }
  if (bits < 0) {
    return absl::InvalidArgumentError(
        "Malformed CIDR, mask bits must not be negative");
  }
  std::optional<IpAddress> ip = ParseIp(parts[0]);
  if (!ip.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Nonstandard IP address: ", ToAbsl(parts[0])));
  }
  if (!ip->v6 && bits > 31) {
    return absl::InvalidArgumentError("IPv4 mask bits must be < 32");
  }
  if (ip->v6 && bits > 127) {
    return absl::InvalidArgumentError("IPv6 mask bits must be < 128");
  }
  Cidr out;
  out.bits = static_cast<int>(bits);
  out.base = Cidr::Mask(*ip, out.bits);
  return out;
}

}  // namespace evbus::pattern::internal
