#include "server/targets/http_parameters.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "server/targets/internal/json_path.h"

namespace evbus::targets {
namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
             absl::string_view::npos;
}

bool IsControl(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c < 0x20 || c == 0x7F;
}

}  // namespace

bool IsHttpHeaderName(absl::string_view name) {
  return !name.empty() && name.size() <= kMaxHttpParameterChars &&
         std::all_of(name.begin(), name.end(), IsTokenChar);
}

bool IsHttpHeaderValue(absl::string_view value) {
  // ^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$: printable ASCII and
  // tabs, at least one printable character.
  if (value.empty() || value.size() > kMaxHttpParameterChars) return false;
  bool printable = false;
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7E) {
      printable = true;
    } else if (c != '\t') {
      return false;
    }
  }
  return printable;
}

bool IsQueryStringKey(absl::string_view key) {
  // [^\x00-\x1F\x7F]+
  return !key.empty() && key.size() <= kMaxHttpParameterChars &&
         std::none_of(key.begin(), key.end(), IsControl);
}

bool IsQueryStringValue(absl::string_view value) {
  // [^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+: LF and CR allowed.
  return !value.empty() && value.size() <= kMaxHttpParameterChars &&
         std::none_of(value.begin(), value.end(), [](char c) {
           return IsControl(c) && c != '\n' && c != '\r';
         });
}

bool IsPathParameterValue(absl::string_view value) {
  // ^(?!\s*$).+ : not blank, and "." matches no line terminator.
  if (value.empty() || absl::StrContains(value, '\n') ||
      absl::StrContains(value, '\r')) {
    return false;
  }
  return !std::all_of(value.begin(), value.end(), [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c));
  });
}

bool IsDynamicHttpParameter(absl::string_view value) {
  return absl::StartsWith(value, "$.");
}

absl::Status CheckHttpParameterPath(absl::string_view value) {
  if (!IsDynamicHttpParameter(value)) return absl::OkStatus();
  return internal::JsonPath::Parse(value).status();
}

absl::StatusOr<std::string> ResolveHttpParameter(absl::string_view value,
                                                 const common::Json& event) {
  if (!IsDynamicHttpParameter(value)) return std::string(value);
  absl::StatusOr<internal::JsonPath> path = internal::JsonPath::Parse(value);
  if (!path.ok()) return path.status();
  const common::Json* v = path->Evaluate(event);
  if (v == nullptr || v->is_null()) return std::string();
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

}  // namespace evbus::targets
