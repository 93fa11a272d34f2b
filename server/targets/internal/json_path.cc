#include "server/targets/internal/json_path.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace evbus::targets::internal {
namespace {

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSONPath '", text, "': ", why));
}

}  // namespace

absl::StatusOr<JsonPath> JsonPath::Parse(absl::string_view text) {
  if (text.empty() || text[0] != '$') {
    return Invalid(text, "must start with '$'");
  }
  std::vector<Step> steps;
  size_t i = 1;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '.') {
      ++i;
      size_t end = i;
      while (end < text.size() && text[end] != '.' && text[end] != '[') ++end;
      if (end == i) {
        return Invalid(text, i < text.size() && text[i] == '.'
                                 ? "deep scan '..' is not supported"
                                 : "empty name after '.'");
      }
      absl::string_view name = text.substr(i, end - i);
      if (name == "*") return Invalid(text, "wildcards are not supported");
      Step step;
      step.kind = Step::Kind::kKey;
      step.key.assign(name.data(), name.size());
      steps.push_back(std::move(step));
      i = end;
    } else if (c == '[') {
      ++i;
      if (i >= text.size()) return Invalid(text, "unterminated '['");
      Step step;
      if (text[i] == '\'' || text[i] == '"') {
        const char quote = text[i++];
        bool closed = false;
        while (i < text.size()) {
          char q = text[i++];
          if (q == '\\') {
            if (i >= text.size()) break;
            step.key.push_back(text[i++]);
          } else if (q == quote) {
            closed = true;
            break;
          } else {
            step.key.push_back(q);
          }
        }
        if (!closed) return Invalid(text, "unterminated quoted name");
        step.kind = Step::Kind::kKey;
      } else {
        size_t end = i;
        if (end < text.size() && text[end] == '-') ++end;
        while (end < text.size() &&
               absl::ascii_isdigit(static_cast<unsigned char>(text[end]))) {
          ++end;
        }
        int64_t index = 0;
        if (!absl::SimpleAtoi(text.substr(i, end - i), &index)) {
          return Invalid(text,
                         "only [N] indexes and ['name'] are supported in "
                         "brackets");
        }
        step.kind = Step::Kind::kIndex;
        step.index = index;
        i = end;
      }
      if (i >= text.size() || text[i] != ']') {
        return Invalid(text, "expected ']'");
      }
      ++i;
      steps.push_back(std::move(step));
    } else {
      return Invalid(
          text, absl::StrCat("unexpected character '", text.substr(i, 1), "'"));
    }
  }
  return JsonPath(std::string(text.data(), text.size()), std::move(steps));
}

const common::Json* JsonPath::Evaluate(const common::Json& doc) const {
  const common::Json* current = &doc;
  for (const Step& step : steps_) {
    if (step.kind == Step::Kind::kKey) {
      if (!current->is_object()) return nullptr;
      auto it = current->find(step.key);
      if (it == current->end()) return nullptr;
      current = &*it;
    } else {
      if (!current->is_array()) return nullptr;
      const int64_t size = static_cast<int64_t>(current->size());
      const int64_t index = step.index < 0 ? size + step.index : step.index;
      if (index < 0 || index >= size) return nullptr;
      current = &(*current)[static_cast<size_t>(index)];
    }
  }
  return current;
}

}  // namespace evbus::targets::internal
