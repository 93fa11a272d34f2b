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

// Parses `text` as one JSON document (trailing garbage is an error).
// Returns InvalidArgument("<what>: <parser message>") on malformed input.
// Duplicate object keys: the last one wins.
absl::StatusOr<Json> ParseJson(absl::string_view text,
                               absl::string_view what = "JSON");

// Serialises compactly (no spaces). Invalid UTF-8 in strings is replaced with
// U+FFFD rather than throwing.
std::string DumpJson(const Json& value);

// Nesting depth of `value` (a scalar is 1).
int JsonDepth(const Json& value);

}  // namespace evbus::common
