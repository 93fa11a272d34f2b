// File: server/pattern/internal/pattern_json.h
//
// A small strict JSON reader for event patterns. It exists (instead of
// common/json.h) because pattern errors must carry Jackson's wording, number
// tokens must keep their original spelling ("Invalid member in numeric match:
// 5", literal-only numbers), and duplicate object keys must resolve as "last
// one wins" while keeping the first key's position.
//
// Thread safety: PatternJson values are thread-compatible; ParsePatternJson is
// thread-safe.
//
// Example:
//   absl::StatusOr<PatternJson> v = ParsePatternJson(R"({"source":["a"]})");
//   v->members[0].first == "source";
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace evbus::pattern::internal {

struct PatternJson {
  enum class Kind { kNull, kTrue, kFalse, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  // kString: the unescaped text; kNumber: the token exactly as written.
  std::string text;
  std::vector<PatternJson> items;  // kArray
  // kObject. (A named pair rather than std::pair<std::string, PatternJson>,
  // which clang rejects while PatternJson is still incomplete.)
  struct Member;
  std::vector<Member> members;

  bool is_string() const { return kind == Kind::kString; }
  bool is_number() const { return kind == Kind::kNumber; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_object() const { return kind == Kind::kObject; }
  // Jackson's getText() for a scalar token: the string, the number as
  // written, "true", "false" or "null"; "[" / "{" for containers.
  std::string TokenText() const;
};

struct PatternJson::Member {
  Member() = default;
  Member(std::string k, PatternJson v)
      : first(std::move(k)), second(std::move(v)) {}
  std::string first;
  PatternJson second;
};

// Parses one JSON document. On a syntax error returns InvalidArgument whose
// message is Jackson's text followed by its location suffix, e.g.
//   Unexpected character (''' (code 39)): was expecting double-quote to start
//   field name\n at [Source: (String)"{'a': 1}"; line: 1, column: 3]
// Nesting deeper than 256 levels is rejected. With keep_duplicate_keys, an
// object keeps every member in order, duplicates included (as events are
// flattened: each duplicate's value is a leaf); else the last value of a
// duplicate key wins, at the first one's position (as patterns are read).
absl::StatusOr<PatternJson> ParsePatternJson(std::string_view text,
                                             bool keep_duplicate_keys = false);

// The double a valid JSON number token rounds to, as Java's
// Double.parseDouble (which event-ruler's JSON reader uses) gives it:
// correctly rounded, +-0 for magnitudes too small for a double and +-inf for
// those too large.
double JsonNumberValue(std::string_view token);

}  // namespace evbus::pattern::internal
