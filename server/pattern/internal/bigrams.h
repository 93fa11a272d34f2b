// File: server/pattern/internal/bigrams.h
//
// A 64-bit summary of the adjacent byte pairs of a string, to rule out
// substring matches without searching: when `t` occurs in `s`, every pair of
// bytes of `t` is a pair of `s`, so Covers(BigramMask(s), BigramMask(t)).
// The converse does not hold (pairs share bits), so a covered mask only says
// "maybe". The matcher uses it to skip wildcard evaluations whose literal
// segments cannot all occur in an event's value.
//
// Thread safety: pure functions.
//
// Example:
//   const uint64_t value = BigramMask("arn:aws:ec2:us-east-1:1:i-1");
//   Covers(value, BigramMask(":us-east-1:"));  // true
//   Covers(value, BigramMask(":eu-west-1:"));  // false ("eu", "-w", ...)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace evbus::pattern::internal {

// Bit h(a, b) for each pair of adjacent bytes (a, b) of `s`; 0 for strings
// shorter than two bytes.
inline uint64_t BigramMask(std::string_view s) {
  uint64_t mask = 0;
  for (size_t i = 1; i < s.size(); ++i) {
    const uint32_t pair = static_cast<uint32_t>(static_cast<uint8_t>(s[i - 1]))
                              << 8 |
                          static_cast<uint8_t>(s[i]);
    mask |= uint64_t{1} << ((pair * 0x9E3779B1u) >> 26);
  }
  return mask;
}

// Whether every pair bit of `needed` is set in `have`.
inline bool Covers(uint64_t have, uint64_t needed) {
  return (needed & ~have) == 0;
}

}  // namespace evbus::pattern::internal
