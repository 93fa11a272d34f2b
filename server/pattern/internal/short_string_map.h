// File: server/pattern/internal/short_string_map.h
//
// ShortStringMap: an immutable open-addressing map from strings to small
// values, built once and then only looked up, for the matcher's per-leaf
// dictionary lookup (is this event string one of the exact strings some rule
// lists at this path?). Such strings are mostly short: a key of up to 16
// bytes is identified by its length and two 8-byte words read from it, so a
// lookup hashes with one multiply and compares three words, with no call to
// a string hash or memcmp. Longer keys also compare their bytes.
//
// Thread safety: immutable after construction; lookups are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "server/pattern/internal/strings.h"

namespace evbus::pattern::internal {

// A string's length and two words that hold all of its bytes when it has
// at most 16 (equal keys of that size mean equal strings); for longer
// strings, its first and last 8 bytes.
struct ShortKey {
  uint64_t w0 = 0;
  uint64_t w1 = 0;
  uint64_t len = 0;

  static ShortKey Of(std::string_view s) {
    ShortKey k;
    k.len = s.size();
    EdgeWords(s.data(), s.size(), &k.w0, &k.w1);
    return k;
  }
  uint64_t Hash() const {
    return FoldedMultiply(w0 ^ 0xa0761d6478bd642fULL,
                          w1 ^ len ^ 0xe7037ed1a0b428dbULL);
  }
  bool operator==(const ShortKey& o) const {
    return w0 == o.w0 && w1 == o.w1 && len == o.len;
  }
};

class ShortStringMap {
 public:
  ShortStringMap() = default;

  // Builds from (string-like key, uint32_t value) pairs with unique keys.
  // REQUIRES: the keys longer than 16 bytes total under 4 GiB (they are one
  // path's exact strings of a rule set, each inside a pattern of at most a
  // few KB).
  template <typename Map>
  static ShortStringMap From(const Map& map) {
    ShortStringMap f;
    size_t cap = 4;
    while (cap < map.size() * 2) cap *= 2;
    f.mask_ = cap - 1;
    f.slots_.assign(cap, Slot{});
    for (const auto& [key, value] : map) {
      const std::string_view k(key);
      Slot s;
      s.key = ShortKey::Of(k);
      s.value = value;
      if (k.size() > 16) {
        s.arena_off = static_cast<uint32_t>(f.arena_.size());
        f.arena_.append(k);
      }
      size_t i = s.key.Hash() & f.mask_;
      while (!f.slots_[i].empty()) i = (i + 1) & f.mask_;
      f.slots_[i] = s;
    }
    f.size_ = map.size();
    return f;
  }

  // The value of `s`, or null.
  const uint32_t* Find(std::string_view s) const {
    if (size_ == 0) return nullptr;
    const ShortKey key = ShortKey::Of(s);
    for (size_t i = key.Hash() & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.empty()) return nullptr;
      if (slot.key == key &&
          (key.len <= 16 || std::memcmp(arena_.data() + slot.arena_off,
                                        s.data(), s.size()) == 0)) {
        return &slot.value;
      }
    }
  }

  size_t size() const { return size_; }
  // The memory the map owns, as (address, bytes) pairs passed to `fn`.
  template <typename Fn>
  void ForEachBlock(Fn&& fn) const {
    fn(slots_.data(), slots_.capacity() * sizeof(Slot));
    fn(arena_.data(), arena_.capacity());
  }

 private:
  // An empty slot's key has a length no string has.
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    ShortKey key{0, 0, kEmpty};
    uint32_t value = 0;
    uint32_t arena_off = 0;  // keys longer than 16 bytes
    bool empty() const { return key.len == kEmpty; }
  };
  size_t mask_ = 0;
  size_t size_ = 0;
  std::vector<Slot> slots_;
  std::string arena_;
};

}  // namespace evbus::pattern::internal
