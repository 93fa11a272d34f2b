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

// Reads a string of n bytes at p as two words that hold all of its bytes
// when n <= 16 (8-16 bytes: the first and last 8, overlapping; 4-7: the
// first and last 4; 1-3: the first, middle and last byte in *first); for
// longer strings, its first and last 8 bytes.
inline void EdgeWords(const char* p, size_t n, uint64_t* first,
                      uint64_t* last) {
  *first = 0;
  *last = 0;
  if (n >= 8) {
    std::memcpy(first, p, 8);
    std::memcpy(last, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t a;
    uint32_t b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    *first = a;
    *last = b;
  } else if (n > 0) {
    *first = static_cast<uint8_t>(p[0]) |
             (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) |
             (uint64_t{static_cast<uint8_t>(p[n - 1])} << 16);
  }
}

inline size_t FastStringHash(std::string_view s) {
  constexpr uint64_t k0 = 0xa0761d6478bd642fULL;
  constexpr uint64_t k1 = 0xe7037ed1a0b428dbULL;
  constexpr uint64_t k2 = 0x8ebc6af09c88c6e3ULL;
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t seed = n * k2;
  // Longer strings: whole 16-byte blocks, then the last (overlapping) 16.
  for (size_t i = 0; n > 16 && i + 16 < n; i += 16) {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, p + i + 8, 8);
    seed = FoldedMultiply(a ^ k0, b ^ seed);
  }
  uint64_t a;
  uint64_t b;
  if (n > 16) {
    std::memcpy(&a, p + n - 16, 8);
    std::memcpy(&b, p + n - 8, 8);
  } else {
    EdgeWords(p, n, &a, &b);
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
