// File: server/common/json_canonical.h
//
// A fast path for "parse, check, re-serialise" of event Detail on PutEvents.
// AppendCanonicalJson() validates a JSON text and appends exactly the bytes
// DumpJson(*ParseJson(text)) would produce (compact; keys in document order;
// strings re-escaped as nlohmann::json escapes them: \" \\ \b \f \n \r \t,
// other control characters as \u00xx, everything else as raw UTF-8; integers
// as digits with "-0" as "0"; other numbers through nlohmann's own shortest
// round-trip formatter), without building a document tree.
//
// It never decides that a text is invalid: whenever it meets something it
// does not handle (malformed JSON, duplicate keys, a number it cannot
// convert exactly, a depth or integer range outside the limits) it returns
// false and the caller takes the ParseJson() path, which gives the
// definitive answer. So results never differ from ParseJson + DumpJson.
//
// Thread safety: thread-safe (no shared state).
//
// Example:
//   std::string out;
//   if (!AppendCanonicalJson(text, {.max_depth = 64, .require_object = true},
//                            &out)) {
//     // slow path: ParseJson(text), checks, DumpJson
//   }
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace evbus::common {

struct CanonicalJsonLimits {
  // Nesting depth as JsonDepth() counts it (a scalar is 1, "{}" is 1,
  // {"a":1} is 2). Deeper documents return false.
  int max_depth = 1000;
  // The top-level value must be an object.
  bool require_object = false;
  // Integer literals (no fraction or exponent) must fit int64.
  bool integers_fit_int64 = false;
};

// Appends the canonical serialisation of `text` to *out and returns true, or
// returns false (leaving *out as it was) when the slow path must decide.
bool AppendCanonicalJson(absl::string_view text,
                         const CanonicalJsonLimits& limits, std::string* out);

// Appends `s` as a JSON string literal escaped exactly as DumpJson escapes
// it. Returns false (appending nothing) when `s` is not valid UTF-8.
bool AppendJsonString(absl::string_view s, std::string* out);

}  // namespace evbus::common
