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
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace evbus::pattern::internal {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view ToStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(ToAbsl(s));
  }
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
