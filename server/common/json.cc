#include "server/common/json.h"

#include <algorithm>
#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evbus::common {

absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view what) {
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
  if (!value.is_structured()) return 1;
  int deepest = 0;
  for (const auto& child : value) deepest = std::max(deepest, JsonDepth(child));
  return deepest + 1;
}

}  // namespace evbus::common
