// File: server/pattern/internal/strings.h
//
// Bridges std::string_view and Debian's abseil, which is built with its own
// absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), plus hash functors
// for std::string-keyed abseil containers that are looked up by
// std::string_view without allocating.
//
// Thread safety: stateless helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"

namespace evbus::pattern::internal {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view ToStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

// A string hash for the matcher's lookups of event values (one or two
// multiplies for the short strings rules list, no call), in place of
// absl::Hash, whose string path (a call, a seed, a mixing loop) was ~6 % of
// matching's instructions. Not seeded: the keys stored in these maps come
// from rules, not from events, so events cannot make them collide.
inline uint64_t FoldedMultiply(uint64_t a, uint64_t b) {
  const absl::uint128 r = absl::uint128(a) * b;
  return absl::Uint128Low64(r) ^ absl::Uint128High64(r);
}

inline size_t FastStringHash(std::string_view s) {
  constexpr uint64_t k0 = 0xa0761d6478bd642fULL;
  constexpr uint64_t k1 = 0xe7037ed1a0b428dbULL;
  constexpr uint64_t k2 = 0x8ebc6af09c88c6e3ULL;
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t seed = n * k2;
  if (n >= 8) {
    // Whole 16-byte blocks, then the last (overlapping) 16 bytes.
    size_t i = 0;
    for (; i + 16 < n; i += 16) {
      std::memcpy(&a, p + i, 8);
      std::memcpy(&b, p + i + 8, 8);
      seed = FoldedMultiply(a ^ k0, b ^ seed);
    }
    if (n >= 16) {
      std::memcpy(&a, p + n - 16, 8);
      std::memcpy(&b, p + n - 8, 8);
    } else {
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n - 8, 8);  // overlaps a
    }
  } else if (n >= 4) {
    uint32_t x;
    uint32_t y;
    std::memcpy(&x, p, 4);
    std::memcpy(&y, p + n - 4, 4);  // overlaps x when n < 8
    a = x;
    b = y;
  } else if (n > 0) {
    a = static_cast<uint8_t>(p[0]) |
        (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) |
        (uint64_t{static_cast<uint8_t>(p[n - 1])} << 16);
  }
  return FoldedMultiply(a ^ k0, b ^ k1 ^ seed);
}

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return FastStringHash(s); }
};

struct StringViewEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a == b;
  }
};

template <typename V>
using StringMap =
    absl::flat_hash_map<std::string, V, StringViewHash, StringViewEq>;
using StringSet =
    absl::flat_hash_set<std::string, StringViewHash, StringViewEq>;

}  // namespace evbus::pattern::internal
