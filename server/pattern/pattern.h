// File: server/pattern/pattern.h
//
// EventBridge event patterns: parsing, validation and compilation of one
// pattern (Pattern), plus the limits that apply (PatternLimits). Matching many
// patterns at once is RuleMatcher's job (rule_matcher.h); Pattern::Matches is
// the direct single-pattern evaluation used by TestEventPattern.
//
// Semantics follow shared/spec/eventbridge.md §2 (see README.md in this
// folder for operators, deviations from event-ruler and complexity).
//
// Thread safety: Pattern is an immutable value (cheap to copy; the compiled
// form is shared) and thread-safe for concurrent Matches calls.
//
// Example:
//   absl::StatusOr<Pattern> p = Pattern::Compile(R"({"source":["aws.ec2"]})");
//   if (!p.ok()) return p.status();  // "Event pattern is not valid. Reason: …"
//   absl::StatusOr<FlatEvent> ev = FlatEvent::Parse(event_json);
//   bool hit = p->Matches(*ev);
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/pattern/flat_event.h"

namespace evbus::pattern {

namespace internal {
struct CompiledPattern;
}  // namespace internal

struct PatternLimits {
  // Longest accepted pattern, in characters (UTF-16 code units, like AWS).
  // Default: 2048 (the PutRule quota); TestEventPattern uses 4096.
  size_t max_pattern_chars = 2048;
  // Most sub-rules the `$or` cross product may expand to.
  // Default: 1000 (EventBridge: "> 1000 combinations" is rejected).
  size_t max_or_combinations = 1000;
  // Largest accepted wildcard complexity per field path (event-ruler's
  // MachineComplexityEvaluator measure). Default: 10 (reproduces every AWS
  // observation: 7 and 9 accepted, 11 and 12 rejected).
  int max_wildcard_complexity = 10;
};

// The length AWS measures an event pattern in: UTF-16 code units.
size_t PatternLength(std::string_view json);

// The longest EventPattern the EventBridge API model takes, in PutRule and
// TestEventPattern alike: a longer one is refused as the model's
// constraint (ValidationException: "... at 'eventPattern' failed to satisfy
// constraint: Member must have length less than or equal to 4096") before
// it is read.
inline constexpr size_t kEventPatternModelMaxChars = 4096;

// Prefix of every validation message.
inline constexpr std::string_view kInvalidPatternPrefix =
    "Event pattern is not valid. Reason: ";

class Pattern {
 public:
  // Parses, validates and compiles `json`. Errors: InvalidArgument whose
  // message is exactly EventBridge's text, i.e. kInvalidPatternPrefix followed
  // by the reason ("Empty arrays are not allowed", "Bad numeric range
  // operator: >", Jackson's text plus location for malformed JSON, …).
  static absl::StatusOr<Pattern> Compile(std::string_view json,
                                         const PatternLimits& limits = {});

  // True when `event` satisfies the pattern. `event` must have been flattened
  // without a filter, or with a filter that keeps every path in paths().
  bool Matches(const FlatEvent& event) const;

  // Every field path the pattern tests (sorted, unique).
  const std::vector<std::string>& paths() const;
  // Number of sub-rules after `$or` expansion (>= 1).
  size_t subrule_count() const;

  const std::shared_ptr<const internal::CompiledPattern>& compiled() const {
    return compiled_;
  }

 private:
  explicit Pattern(std::shared_ptr<const internal::CompiledPattern> c)
      : compiled_(std::move(c)) {}
  std::shared_ptr<const internal::CompiledPattern> compiled_;
};

}  // namespace evbus::pattern
