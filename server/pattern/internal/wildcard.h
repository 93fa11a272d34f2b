// File: server/pattern/internal/wildcard.h
//
// The `wildcard` matcher: a whole-string glob where `*` matches zero or more
// characters (including '/'), `\*` is a literal star and `\\` a literal
// backslash. Also computes event-ruler's wildcard complexity so that rules
// whose automaton could be in too many wildcard states at once are rejected.
//
// Thread safety: Glob is an immutable value type; functions are thread-safe.
//
// Example:
//   absl::StatusOr<Glob> g = Glob::Compile("arn:aws:s3:::*/logs/*");
//   g->Matches("arn:aws:s3:::bucket/logs/x");  // true
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace evbus::pattern::internal {

class Glob {
 public:
  // Validates and compiles a wildcard pattern. Errors (InvalidArgument, bare
  // reason text): "Invalid escape character at pos N" (a backslash not
  // followed by '*' or '\\'; N is the 0-based UTF-16 index after the
  // backslash) and "Consecutive wildcard characters at pos N" (N is the index
  // of the second '*').
  static absl::StatusOr<Glob> Compile(std::string_view pattern);

  // Whole-string match of UTF-8 text `s` (byte-wise; both are UTF-8).
  bool Matches(std::string_view s) const;

  // Literal text before the first unescaped star (the whole text when there is
  // no star).
  std::string_view LiteralPrefix() const { return segments_.front(); }
  bool HasStar() const { return segments_.size() > 1; }

  // The literal pieces between stars (unescaped). A pattern with k stars has
  // k + 1 segments, some possibly empty.
  const std::vector<std::string>& segments() const { return segments_; }

 private:
  std::vector<std::string> segments_;
};

// event-ruler's MachineComplexityEvaluator for the wildcard patterns that share
// one field path: the largest number of wildcard-pattern prefixes that one
// worst-case input can keep alive at the same time (the size of the largest
// reachable subset-construction state, counting a state that is followed by a
// star together with that star's loop state). Returns min(result, cap + 1);
// also returns cap + 1 when the exploration exceeds an internal budget.
int WildcardComplexity(const std::vector<const Glob*>& globs, int cap);

}  // namespace evbus::pattern::internal
