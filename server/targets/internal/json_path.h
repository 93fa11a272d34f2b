// File: server/targets/internal/json_path.h
//
// The small JSONPath dialect EventBridge accepts in InputPath, InputPathsMap
// values and (later) HttpParameters: a `$` root followed by any number of
//   .name          dot notation (any characters except '.' and '[')
//   ['name']       bracket notation, single or double quotes, '\' escapes
//   ["name"]
//   [N]            array index; negative N counts from the end ([-1] = last)
// Wildcards (`*`, `[*]`), deep scan (`..`), unions, slices and filters are
// rejected by Parse(): a selector that can yield several values has no single
// JSON text to deliver.
//
// Thread safety: a JsonPath is immutable after Parse(); Evaluate() is const
// and may be called from any number of threads.
//
// Example:
//   absl::StatusOr<JsonPath> path = JsonPath::Parse("$.detail.items[0]['id']");
//   if (!path.ok()) return path.status();          // InvalidArgument
//   const common::Json* v = path->Evaluate(event);  // nullptr when absent
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/json.h"

namespace evbus::targets::internal {

class JsonPath {
 public:
  // One step below the current value.
  struct Step {
    enum class Kind { kKey, kIndex };
    Kind kind = Kind::kKey;
    std::string key;    // kKey: object member name
    int64_t index = 0;  // kIndex: array position, negative from the end
  };

  // Parses `text`. Returns InvalidArgument("invalid JSONPath '<text>': <why>")
  // when `text` is not in the dialect above.
  static absl::StatusOr<JsonPath> Parse(absl::string_view text);

  // The value `doc` holds at this path, or nullptr when any step is missing
  // (absent key, index out of range, key step on a non-object, index step on
  // a non-array). A JSON null that is present is returned as a non-null
  // pointer to that null. The pointer borrows from `doc`.
  const common::Json* Evaluate(const common::Json& doc) const;

  // True for "$" (the whole document).
  bool IsRoot() const { return steps_.empty(); }

  const std::string& text() const { return text_; }
  const std::vector<Step>& steps() const { return steps_; }

 private:
  JsonPath(std::string text, std::vector<Step> steps)
      : text_(std::move(text)), steps_(std::move(steps)) {}

  std::string text_;
  std::vector<Step> steps_;
};

}  // namespace evbus::targets::internal
