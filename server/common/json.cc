#include "server/common/json.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evbus::common {

bool JsonNestingWithin(absl::string_view text, int max_nesting) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_nesting) return false;
        break;
      case ']':
      case '}':
        // An unbalanced closer makes the text malformed; the parser stops
        // there, before anything this scan has not counted.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return true;
}

absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view what,
                               int max_nesting) {
  // nlohmann's parser keeps its own stack, but copying, comparing,
  // serialising and every walk of ours recurse per level: refuse deep
  // documents before building them.
  if (!JsonNestingWithin(text, max_nesting)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": nesting deeper than ", max_nesting, " levels"));
  }
  try {
    return Json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                       /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

int JsonDepth(const Json& value) {
  // (value, its level) pairs still to visit; a scalar at level L makes the
  // document L deep, a container at level L at least L.
  std::vector<std::pair<const Json*, int>> pending = {{&value, 1}};
  int deepest = 0;
  while (!pending.empty()) {
    auto [v, level] = pending.back();
    pending.pop_back();
    deepest = std::max(deepest, level);
    if (!v->is_structured()) continue;
    for (const Json& child : *v) pending.emplace_back(&child, level + 1);
  }
  return deepest;
}

}  // namespace evbus::common
