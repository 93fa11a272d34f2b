// File: server/pattern/internal/reference_matcher.h
//
// Test oracle: a deliberately simple, slow interpreter of the pattern
// language that works on nlohmann JSON trees. It shares only the leaf-level
// primitives (case folding, glob matching, IP parsing) with the real engine;
// flattening, `$or` expansion, matcher semantics and the array-consistency
// search are written independently (exhaustive search over assignments).
// Patterns must already be valid (check with Pattern::Compile first).
//
// Thread safety: thread-safe (no shared state).
//
// Example:
//   bool hit = ReferenceMatches(R"({"source":["a"]})", R"({"source":"a"})");
#pragma once

#include <string_view>

namespace evbus::pattern::internal {

// Returns whether `event_json` matches `pattern_json`; false when either does
// not parse.
bool ReferenceMatches(std::string_view pattern_json,
                      std::string_view event_json);

}  // namespace evbus::pattern::internal
