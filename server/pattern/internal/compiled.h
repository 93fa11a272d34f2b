// File: server/pattern/internal/compiled.h
//
// The compiled form of an event pattern, shared (immutably) between Pattern,
// RuleMatcher and tests. A pattern is a disjunction of SubRules (the `$or`
// cross product); a SubRule is a conjunction of Fields; a Field is a path plus
// an OR-list of Matchers.
//
// Thread safety: immutable after construction; safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/pattern/flat_event.h"
#include "server/pattern/internal/ip.h"
#include "server/pattern/internal/strings.h"
#include "server/pattern/internal/wildcard.h"

namespace evbus::pattern::internal {

enum class MatcherKind : uint8_t {
  kExactString,  // str (+ ip when the string is an IP literal)
  kExactNumber,  // num / num_text
  kTrue,
  kFalse,
  kNull,
  kPrefix,                 // str
  kPrefixIgnoreCase,       // str (folded)
  kSuffix,                 // str
  kSuffixIgnoreCase,       // str (folded)
  kEqualsIgnoreCase,       // str (folded)
  kWildcard,               // glob
  kAnythingButStrings,     // strs
  kAnythingButNumbers,     // nums
  kAnythingButPrefix,      // strs
  kAnythingButSuffix,      // strs
  kAnythingButIgnoreCase,  // strs (folded)
  kAnythingButWildcard,    // globs
  kNumeric,                // lo/hi
  kExists,                 // exists: true
  kAbsent,                 // exists: false (never matches a leaf)
  kCidr,                   // cidr
};

struct Matcher {
  MatcherKind kind = MatcherKind::kExists;
  std::string str;
  // kExactNumber: the value as a double (when finite) and the literal text.
  double num = 0;
  bool num_finite = true;
  std::string num_text;
  std::optional<IpAddress> ip;
  std::vector<std::string> strs;
  StringSet str_set;  // anything-but strings (folded for ignore-case)
  std::vector<double> nums;
  std::vector<Glob> globs;
  // kNumeric: lo < x < hi with optional inclusive ends; +-inf when open.
  double lo = 0;
  double hi = 0;
  bool lo_inclusive = false;
  bool hi_inclusive = false;
  Cidr cidr;
};

// One leaf value of an event, as the matchers see it.
struct LeafValue {
  ValueKind kind;
  std::string_view text;  // string contents or number literal
  double number;          // kNumber only
};

// True when `m` accepts leaf `v` (kAbsent never does). `folded` is a lazily
// filled cache of FoldCase(v.text) (pass the same object for one leaf).
bool MatcherAccepts(const Matcher& m, const LeafValue& v,
                    std::optional<std::string>* folded);

struct Field {
  std::string path;
  std::vector<Matcher> matchers;
  bool has_absent = false;    // an exists:false alternative is present
  bool has_positive = false;  // some matcher can accept a leaf
};

struct SubRule {
  std::vector<Field> fields;
  uint32_t required = 0;  // fields without an exists:false alternative
};

struct CompiledPattern {
  std::vector<SubRule> subrules;
  std::vector<std::string> paths;  // every field path, sorted, unique
};

// Given, for each field of a subrule, the indices of event leaves that satisfy
// one of its positive matchers, decides whether the subrule matches `event`
// under the array-consistency rule (spec §2.2.5): one leaf is chosen per field
// (or, for fields with exists:false, no leaf at the path that is consistent
// with the chosen ones), and all chosen leaves must be pairwise consistent.
struct FieldCandidates {
  const uint32_t* leaves = nullptr;
  uint32_t count = 0;
  const Field* field = nullptr;
};
bool SolveSubRule(const FlatEvent& event, FieldCandidates* fields, size_t n);

// Evaluates one sub-rule directly: finds each field's candidate leaves with
// FlatEvent::FindPath + MatcherAccepts, then applies SolveSubRule.
bool EvaluateSubRule(const FlatEvent& event, const SubRule& sub);

// The same when the caller knows where each field's leaves are:
// ranges[i] = [first, end) leaf positions of sub.fields[i]'s path ({0, 0}
// when the event has none).
struct LeafRange {
  uint32_t begin;
  uint32_t end;
};
bool EvaluateSubRule(const FlatEvent& event, const SubRule& sub,
                     const LeafRange* ranges);

}  // namespace evbus::pattern::internal
