// File: server/common/json.h
//
// The JSON facade. evbus uses nlohmann::ordered_json as its document type
// (key order is preserved, which the EventBridge envelope and input
// transformers need) and parses only through ParseJson(), which never throws.
// The one exception to "only common/ touches the JSON library" is the event
// flattener in server/pattern/, which reads events with simdjson on-demand on
// the matching hot path.
//
// Thread safety: free functions are thread-safe; a Json value is
// thread-compatible.
//
// Example:
//   absl::StatusOr<Json> doc = ParseJson(text, "Detail");
//   if (!doc.ok()) return doc.status();  // InvalidArgument naming "Detail"
//   std::string out = DumpJson(*doc);
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace evbus::common {

using Json = nlohmann::ordered_json;

// The deepest nesting of arrays and objects ParseJson accepts unless told
// otherwise. Copying, comparing and serialising a Json recurse once per level
// (as do evbus's own walks), so a bound on nesting is a bound on stack use:
// 2000 levels stay far inside a thread's stack, and leave room for the
// envelope and input templates around a Detail of EventBridge's 1000 levels.
inline constexpr int kMaxJsonNesting = 2000;

// Parses `text` as one JSON document (trailing garbage is an error).
// Returns InvalidArgument("<what>: <parser message>") on malformed input, and
// InvalidArgument("<what>: nesting deeper than <max_nesting> levels") when
// arrays and objects nest more than `max_nesting` deep ("[]" and "{}" are one
// level, "[[1]]" two), found by a scan of the text before anything is built.
// Duplicate object keys: the last one wins.
absl::StatusOr<Json> ParseJson(absl::string_view text,
                               absl::string_view what = "JSON",
                               int max_nesting = kMaxJsonNesting);

// Whether arrays and objects in `text` nest at most `max_nesting` deep
// (brackets inside strings do not count). Does not check that `text` is JSON.
// Iterative: safe on any input.
bool JsonNestingWithin(absl::string_view text, int max_nesting);

// Serialises compactly (no spaces). Invalid UTF-8 in strings is replaced with
// U+FFFD rather than throwing.
std::string DumpJson(const Json& value);

// Nesting depth of `value` (a scalar is 1, "{}" is 1, {"a":1} is 2).
// Iterative: safe on any document.
int JsonDepth(const Json& value);

}  // namespace evbus::common
