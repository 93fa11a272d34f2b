// File: server/pattern/internal/ip.h
//
// IPv4 / IPv6 address literals and CIDR blocks for the `cidr` matcher and for
// IP-normalised exact matches (a pattern string that is an IP literal matches
// any textual form of the same address, as event-ruler does).
//
// Accepted address syntax follows event-ruler: IPv4 is four dot-separated
// decimal parts (each 0..255, at most 3 digits); IPv6 is hex groups and colons
// with at most one "::" (no embedded IPv4, no zone id).
//
// Thread safety: value types; functions are pure and thread-safe.
//
// Example:
//   absl::StatusOr<Cidr> block = ParseCidr("10.0.0.0/24");
//   std::optional<IpAddress> ip = ParseIp("10.0.0.7");
//   block->Contains(*ip);  // true
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace evbus::pattern::internal {

struct IpAddress {
  bool v6 = false;
  // Network byte order; an IPv4 address uses bytes[0..3], the rest are zero.
  std::array<uint8_t, 16> bytes{};

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.v6, a.bytes);
  }
};

// Parses an IPv4 or IPv6 literal; nullopt when `text` is not one.
std::optional<IpAddress> ParseIp(std::string_view text);

// A CIDR block. The base address is stored with its host bits cleared.
struct Cidr {
  IpAddress base;
  int bits = 0;

  bool Contains(const IpAddress& ip) const;
  // `ip` with every bit past `bits` cleared.
  static IpAddress Mask(const IpAddress& ip, int bits);
};

// Parses "address/bits". Errors are InvalidArgument whose message is the bare
// EventBridge reason, e.g. "Malformed CIDR, one '/' required",
// "Malformed CIDR, mask bits must be an integer",
// "Malformed CIDR, mask bits must not be negative",
// "Nonstandard IP address: <addr>", "IPv4 mask bits must be < 32",
// "IPv6 mask bits must be < 128".
absl::StatusOr<Cidr> ParseCidr(std::string_view text);

}  // namespace evbus::pattern::internal
