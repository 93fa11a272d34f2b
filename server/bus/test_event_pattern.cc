#include "server/bus/test_event_pattern.h"

#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/pattern/flat_event.h"
#include "server/pattern/pattern.h"

namespace evbus::bus {

absl::StatusOr<bool> TestEventPattern(const std::string& pattern,
                                      const std::string& event) {
  if (pattern::PatternLength(pattern) > pattern::kEventPatternModelMaxChars) {
    return common::ConstraintViolation({common::ConstraintClause(
        pattern, "eventPattern",
        absl::StrCat("have length less than or equal to ",
                     pattern::kEventPatternModelMaxChars))});
  }
  pattern::PatternLimits limits;
  limits.max_pattern_chars = pattern::kEventPatternModelMaxChars;
  absl::StatusOr<pattern::Pattern> compiled =
      pattern::Pattern::Compile(pattern, limits);
  if (!compiled.ok()) {
    return common::AwsError(absl::StatusCode::kInvalidArgument,
                            "InvalidEventPatternException",
                            compiled.status().message());
  }
  absl::StatusOr<common::Json> doc = common::ParseJson(event);
  bool valid = doc.ok() && doc->is_object();
  if (valid) {
    for (const char* field :
         {"id", "account", "source", "time", "region", "detail-type"}) {
      if (!doc->contains(field)) valid = false;
    }
  }
  if (!valid) return common::ValidationError("Parameter Event is not valid.");
  absl::StatusOr<pattern::FlatEvent> flat = pattern::FlatEvent::Parse(event);
  if (!flat.ok())
    return common::ValidationError("Parameter Event is not valid.");
  return compiled->Matches(*flat);
}

}  // namespace evbus::bus
