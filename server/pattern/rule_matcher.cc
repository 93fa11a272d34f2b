#include "server/pattern/rule_matcher.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "server/common/check.h"
#include "server/common/huge_pages.h"
#include "server/pattern/internal/bigrams.h"
#include "server/pattern/internal/case_fold.h"
#include "server/pattern/internal/compiled.h"
#include "server/pattern/internal/ip.h"
#include "server/pattern/internal/short_string_map.h"
#include "server/pattern/internal/strings.h"
#include "server/pattern/literal_prefilter.h"

namespace evbus::pattern {

using internal::Matcher;
using internal::MatcherKind;

namespace {

// What a hit on a pred (one indexed field of one sub-rule) records. Index
// lists hold these by value, so that a hit reads the list and the
// sub-rule's state only.
// Four bytes (the sub-rule in the high 28 bits, then `need` and `bit`), so
// that the lists a hit reads take half the cache of a padded struct.
class Pred {
 public:
  static constexpr uint32_t kMaxSubRules = 1u << 28;
  Pred() = default;
  // `bit`: the field's bit among the sub-rule's indexed fields (1 or 2);
  // `need`: the bits of all of them (each must be hit).
  Pred(uint32_t subrule, uint8_t bit, uint8_t need)
      : packed_(subrule << 4 | uint32_t{need} << 2 | bit) {}
  uint32_t subrule() const { return packed_ >> 4; }
  uint8_t bit() const { return static_cast<uint8_t>(packed_ & 3); }
  uint8_t need() const { return static_cast<uint8_t>(packed_ >> 2 & 3); }

 private:
  uint32_t packed_ = 0;
};

using PredList = std::vector<Pred>;

// Values by affix: exact-key hash lookups over every distinct key length
// (prefix / suffix).
template <typename V>
struct AffixMap {
  std::vector<size_t> lengths;  // sorted, unique
  internal::StringMap<V> by_key;

  // The value of `key`, inserting `value` when absent; true when inserted.
  std::pair<V*, bool> TryEmplace(const std::string& key, V value) {
    auto [it, fresh] = by_key.try_emplace(key, std::move(value));
    auto len = std::lower_bound(lengths.begin(), lengths.end(), key.size());
    if (len == lengths.end() || *len != key.size()) {
      lengths.insert(len, key.size());
    }
    return {&it->second, fresh};
  }
  bool empty() const { return by_key.empty(); }

  template <typename Fn>
  void ForPrefixes(std::string_view s, Fn&& fn) const {
    for (size_t len : lengths) {
      if (len > s.size()) break;
      auto it = by_key.find(s.substr(0, len));
      if (it != by_key.end()) fn(it->second);
    }
  }
  template <typename Fn>
  void ForSuffixes(std::string_view s, Fn&& fn) const {
    for (size_t len : lengths) {
      if (len > s.size()) break;
      auto it = by_key.find(s.substr(s.size() - len));
      if (it != by_key.end()) fn(it->second);
    }
  }
};

// Preds by affix.
struct AffixIndex : AffixMap<PredList> {
  void Add(const std::string& key, const Pred& pred) {
    TryEmplace(key, {}).first->push_back(pred);
  }
};

// Matchers that cannot be looked up by value (wildcards, most anything-but
// forms), grouped so that equal matchers listed by many rules are evaluated
// once per leaf.
struct MatcherGroup {
  const Matcher* matcher;
  PredList preds;
  // Wildcard groups: a copy of the matcher's glob, so that evaluating it
  // does not chase the pointers into the compiled pattern (cold in cache).
  std::optional<internal::Glob> glob;
};

// What a string needs for a wildcard group's glob to match it: at least
// `min_size` bytes and every byte pair of the glob's literal segments
// (internal/bigrams.h). With many wildcards sharing a literal prefix
// ("arn:aws:*:us-west-2:*" and its siblings for other regions), this rules
// out most of them for a few instructions each, without reading their globs.
struct GroupFilter {
  uint64_t pairs = 0;
  uint32_t min_size = 0;
  bool glob = false;  // false for the groups of other matchers

  static GroupFilter For(const MatcherGroup& g) {
    GroupFilter f;
    if (!g.glob.has_value()) return f;
    f.glob = true;
    size_t size = 0;
    for (const std::string& seg : g.glob->segments()) {
      f.pairs |= internal::BigramMask(seg);
      size += seg.size();
    }
    f.min_size = static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX));
    return f;
  }
};

// A list of groups, with their filters side by side so that ruling a group
// out reads 16 bytes, not the group.
struct MatcherGroups {
  // From this many wildcard groups in a list, a value's pair mask is
  // computed and tested: it costs about one glob evaluation, so for a lone
  // glob it costs more than it saves (the 5-wildcard benchmark set, one
  // glob per list, ran 6 % slower with it).
  static constexpr uint32_t kPairFilterMinGlobs = 2;

  std::vector<MatcherGroup> groups;
  std::vector<GroupFilter> filters;  // by position in groups (Seal)
  uint32_t globs = 0;                // wildcard groups (Seal)

  bool empty() const { return groups.empty(); }
  // Fills `filters` and `globs`, once the groups are complete.
  void Seal() {
    filters.clear();
    globs = 0;
    for (const MatcherGroup& g : groups) {
      filters.push_back(GroupFilter::For(g));
      globs += filters.back().glob ? 1 : 0;
    }
  }
  // Calls fn(group) for each wildcard group whose glob matches string
  // `value`; `*value_pairs` is BigramMask(value), or 0 until computed.
  template <typename Fn>
  void ForGlobMatches(std::string_view value, uint64_t* value_pairs,
                      Fn&& fn) const {
    if (globs == 0) return;
    const bool by_pairs = globs >= kPairFilterMinGlobs;
    // Bit 0 marks the mask as computed (an extra bit only lets more
    // groups through to their glob).
    if (by_pairs && *value_pairs == 0) {
      *value_pairs = internal::BigramMask(value) | 1;
    }
    for (size_t i = 0; i < filters.size(); ++i) {
      const GroupFilter& f = filters[i];
      if (!f.glob || value.size() < f.min_size) continue;
      if (by_pairs && !internal::Covers(*value_pairs, f.pairs)) continue;
      if (groups[i].glob->Matches(value)) fn(groups[i]);
    }
  }
};

// Identifies a matcher of the kinds kept in MatcherGroups (equal signatures
// accept the same values).
std::string MatcherSignature(const Matcher& m) {
  std::string sig(1, static_cast<char>(m.kind));
  auto add = [&sig](std::string_view part) {
    const auto n = static_cast<uint32_t>(part.size());
    sig.append(reinterpret_cast<const char*>(&n), sizeof(n));
    sig.append(part);
  };
  for (const internal::Glob& g : m.globs) {
    sig.push_back('g');
    for (const std::string& seg : g.segments()) add(seg);
  }
  for (const std::string& x : m.strs) add(x);
  for (double d : m.nums) {
    sig.append(reinterpret_cast<const char*>(&d), sizeof(d));
  }
  return sig;
}

struct NumericEntry {
  double lo;
  double hi;
  bool lo_inclusive;
  bool hi_inclusive;
  Pred pred;

  bool Contains(double x) const {
    return (lo_inclusive ? x >= lo : x > lo) &&
           (hi_inclusive ? x <= hi : x < hi);
  }
};

// anything-but over a list of strings, inverted: a string leaf satisfies
// every pred in `all` except those listing it in `excluded`; a leaf of any
// other type satisfies all of them.
struct AnythingButIndex {
  PredList all;
  internal::StringMap<PredList> excluded;
  bool empty() const { return all.empty(); }
};

struct CidrGroup {
  bool v6;
  int bits;
  absl::flat_hash_map<internal::IpAddress, PredList> by_base;
};

struct PathIndex {
  // Which of the indexes below are non-empty (bits of `Has`), so that a
  // probe reads only those: a PathIndex spans many cache lines, and with
  // thousands of rules most of it is empty for any one path and partition.
  enum Has : uint32_t {
    kExactStr = 1u << 0,
    kIp = 1u << 1,  // exact_ip or cidrs
    kExactNum = 1u << 2,
    kExactNumText = 1u << 3,
    kTrue = 1u << 4,
    kFalse = 1u << 5,
    kNull = 1u << 6,
    kExists = 1u << 7,
    kPrefix = 1u << 8,
    kSuffix = 1u << 9,
    kFold = 1u << 10,  // prefix_ci, suffix_ci or equals_ci
    kWildcardPrefix = 1u << 11,
    kNumeric = 1u << 12,
    kAnythingBut = 1u << 13,
    kAnythingButCi = 1u << 14,
    kScan = 1u << 15,
  };
  uint32_t has = 0;
  // Exact strings, by their id in the path's dictionary (Index::dicts,
  // then frozen_dicts): the preds of dictionary id v are
  // exact_preds[exact_begin[v], exact_begin[v + 1]): an array read instead of a
  // hash probe, which with many partitions mostly missed the cache; the preds
  // themselves are copied in, saving a second miss per hit.
  std::vector<uint32_t> exact_begin;
  std::vector<Pred> exact_preds;

  // Lays exact_str out as exact_begin / exact_preds, for a dictionary of
  // `dict_size` ids.
  void LayOutExact(size_t dict_size) {
    if (exact_str.empty()) return;
    exact_begin.assign(dict_size + 1, 0);
    for (const auto& [id, list] : exact_str) {
      exact_begin[id + 1] = static_cast<uint32_t>(list.size());
    }
    for (size_t i = 1; i <= dict_size; ++i) {
      exact_begin[i] += exact_begin[i - 1];
    }
    exact_preds.resize(exact_begin[dict_size]);
    for (const auto& [id, list] : exact_str) {
      for (size_t i = 0; i < list.size(); ++i) {
        exact_preds[exact_begin[id] + i] = list[i];
      }
    }
    exact_str = {};
  }
  // The indexes most rule sets use come first, next to `has` and the exact
  // preds, so that a probe reads few of this struct's cache lines.
  AffixIndex prefix;
  // Wildcards with a non-empty literal prefix, keyed by that prefix.
  std::vector<size_t> wildcard_prefix_lengths;
  internal::StringMap<MatcherGroups> wildcard_by_prefix;
  std::vector<NumericEntry> numeric;  // sorted by lo
  AnythingButIndex anything_but;      // anything-but strings
  // Evaluated for every leaf: other anything-but forms, unprefixed wildcards.
  MatcherGroups scan;
  PredList exists_preds;
  AffixIndex suffix;
  absl::flat_hash_map<internal::IpAddress, PredList> exact_ip;
  absl::flat_hash_map<double, PredList> exact_num;
  internal::StringMap<PredList> exact_num_text;  // non-finite literals
  PredList true_preds;
  PredList false_preds;
  PredList null_preds;
  AffixIndex prefix_ci;
  AffixIndex suffix_ci;
  internal::StringMap<PredList> equals_ci;
  std::vector<CidrGroup> cidrs;
  AnythingButIndex anything_but_ci;  // anything-but equals-ignore-case (folded)
  bool needs_fold = false;
  // Build only: MatcherSignature -> position in its group list; exact
  // strings by dictionary id, laid out into exact_begin / exact_preds (then
  // cleared).
  internal::StringMap<uint32_t> group_pos;
  absl::flat_hash_map<uint32_t, PredList> exact_str;

  uint32_t Presence() const {
    uint32_t h = 0;
    auto set = [&h](bool present, Has bit) {
      if (present) h |= bit;
    };
    set(!exact_str.empty() || !exact_preds.empty(), kExactStr);
    set(!exact_ip.empty() || !cidrs.empty(), kIp);
    set(!exact_num.empty(), kExactNum);
    set(!exact_num_text.empty(), kExactNumText);
    set(!true_preds.empty(), kTrue);
    set(!false_preds.empty(), kFalse);
    set(!null_preds.empty(), kNull);
    set(!exists_preds.empty(), kExists);
    set(!prefix.empty(), kPrefix);
    set(!suffix.empty(), kSuffix);
    set(needs_fold, kFold);
    set(!wildcard_prefix_lengths.empty(), kWildcardPrefix);
    set(!numeric.empty(), kNumeric);
    set(!anything_but.empty(), kAnythingBut);
    set(!anything_but_ci.empty(), kAnythingButCi);
    set(!scan.empty(), kScan);
    return h;
  }

  // Adds `pred` to the group of matchers equal to `m` in `*groups`.
  // `list` names *groups within this PathIndex ("" for scan, else the
  // wildcard literal prefix): a key that, unlike the vector's address,
  // stays valid when the map holding the vector rehashes (an address could
  // be reused by another key's vector after a rehash).
  void AddToGroup(MatcherGroups* list_groups, std::string_view list,
                  const Matcher& m, const Pred& pred) {
    std::vector<MatcherGroup>* groups = &list_groups->groups;
    std::string sig = MatcherSignature(m);
    const auto n = static_cast<uint32_t>(list.size());
    sig.append(reinterpret_cast<const char*>(&n), sizeof(n));
    sig.append(list);
    auto [it, fresh] =
        group_pos.try_emplace(sig, static_cast<uint32_t>(groups->size()));
    if (fresh) {
      groups->push_back({&m, {}, std::nullopt});
      if (m.kind == MatcherKind::kWildcard)
        groups->back().glob = m.globs.front();
    }
    (*groups)[it->second].preds.push_back(pred);
  }
};

// Per-call matching state, pooled by the matcher (one per concurrent caller).
struct Scratch {
  // Four bytes, so that the sub-rules of a 10,000-rule set (hit at random,
  // ~100 times per event) span half as many cache lines.
  struct SubState {
    uint16_t stamp;  // generation (low 16 bits) in which it was hit
    // Bits of the indexed fields hit so far, plus kCandidate once every
    // indexed field was hit (the sub-rule is then listed in candidates).
    uint8_t fields;
    // Which indexed fields were hit by a leaf inside an array (their bits,
    // plus kPairInArrays and kPartitionInArray): the array-consistency rule
    // can only fail when two or more fields are satisfied inside arrays.
    uint8_t array_bits;
  };
  static constexpr uint8_t kCandidate = 0x80;
  // Never 0 modulo 2^16: stamps start at 0 and every array stamped with it
  // is cleared when its low 16 bits wrap.
  uint32_t generation = 0;
  std::vector<SubState> subs;
  // Sub-rules whose indexed fields were all hit this call, so that the final
  // pass reads only those (a hit on one of two indexed fields is common and
  // would otherwise cost a cache miss on the sub-rule's info).
  // candidate_buf[0, candidate_count): a sub-rule becomes a candidate at
  // most once per call, and the buffer has one slot per sub-rule plus one,
  // so that a hit can write its sub-rule unconditionally at candidate_count
  // and count it only if it became a candidate.
  std::vector<uint32_t> candidate_buf;
  size_t candidate_count = 0;
  // Matched rules, by position in Index::rule_ids; bit w of matched_words
  // is set when word w of `matched` may be non-zero (so reading the result
  // visits only those words: 21 matches among 10,000 rules touch ~20 of
  // 157 words).
  std::vector<uint64_t> matched;
  std::vector<uint64_t> matched_words;
  void Matched(uint32_t rule) {
    const size_t w = rule >> 6;
    matched[w] |= uint64_t{1} << (rule & 63);
    matched_words[w >> 6] |= uint64_t{1} << (w & 63);
  }
  // The rule paths the current event has (a bit set of path ids, cleared
  // per call), and the leaves of each: [begin, end), valid when its bit is
  // set.
  std::vector<uint64_t> present;
  std::vector<std::pair<uint32_t, uint32_t>> path_range;
  bool Has(uint32_t path_id) const {
    return (present[path_id >> 6] >> (path_id & 63) & 1) != 0;
  }
  void SetRange(uint32_t path_id, uint32_t begin, uint32_t end) {
    present[path_id >> 6] |= uint64_t{1} << (path_id & 63);
    path_range[path_id] = {begin, end};
  }
  // anything-but exclusions: sub-rule -> probe in which its pred was
  // excluded (an AnythingButIndex, a path in a partition, holds at most one
  // entry per sub-rule: a sub-rule has one field per path, and a field with
  // several alternatives of one anything-but kind is scanned instead).
  uint32_t probe = 0;
  std::vector<uint32_t> excluded_stamp;
  // Dictionary id of each string leaf (kNoValue when no rule lists it),
  // valid when leaf_value_stamp equals generation.
  std::vector<uint32_t> leaf_value;
  std::vector<uint32_t> leaf_value_stamp;
  // kPartitionInArray while probing a partition reached through a leaf
  // inside an array (that field then counts as satisfied inside an array).
  uint8_t partition_in_array = 0;

  void Begin(size_t subrules, size_t paths, size_t rules) {
    const size_t words = (rules + 63) / 64;
    if (matched.size() != words) {
      matched.assign(words, 0);
      matched_words.assign((words + 63) / 64, 0);
    }
    if (subs.size() != subrules || path_range.size() != paths ||
        (++generation & 0xFFFF) == 0) {
      generation = 1;
      subs.assign(subrules, SubState{0, 0, 0});
      present.assign((paths + 63) / 64, 0);
      path_range.assign(paths, {0, 0});
      std::fill(leaf_value_stamp.begin(), leaf_value_stamp.end(), 0);
    }
    std::fill(present.begin(), present.end(), 0);
    if (excluded_stamp.size() != subrules) {
      excluded_stamp.assign(subrules, 0);
      probe = 0;
    }
    if (candidate_buf.size() != subrules + 1)
      candidate_buf.assign(subrules + 1, 0);
    candidate_count = 0;
    partition_in_array = 0;
  }
  // Sizes the per-leaf state for an event of `leaves` leaves (after Begin).
  void Leaves(size_t leaves) {
    if (leaf_value_stamp.size() < leaves) {
      leaf_value_stamp.resize(leaves, 0);
      leaf_value.resize(leaves, 0);
    }
  }
  // A fresh stamp for one leaf's anything-but exclusions.
  uint32_t NextProbe() {
    if (++probe == 0) {
      std::fill(excluded_stamp.begin(), excluded_stamp.end(), 0);
      probe = 1;
    }
    return probe;
  }
};

// SubState::array_bits beyond the indexed fields' own bits (1 and 2).
constexpr uint8_t kPairInArrays = 0x40;      // both fields of a pair
constexpr uint8_t kPartitionInArray = 0x80;  // the partition field

// How many fields `array_bits` says were satisfied inside arrays.
int ArrayFields(uint8_t array_bits) {
  return (array_bits & 1) + ((array_bits >> 1) & 1) +
         (array_bits & kPairInArrays ? 2 : 0) +
         (array_bits & kPartitionInArray ? 1 : 0);
}

double NormalizeZero(double d) { return d == 0 ? 0.0 : d; }

// A glob with one star, at an end ("p*" or "*s"), is the prefix or suffix
// it names: *literal is set to it and *is_prefix to which. False for any
// other glob.
bool OneStarAffix(const internal::Glob& g, std::string_view* literal,
                  bool* is_prefix) {
  const std::vector<std::string>& segs = g.segments();
  if (segs.size() != 2 || segs[0].empty() == segs[1].empty()) return false;
  *is_prefix = segs[1].empty();
  *literal = *is_prefix ? segs[0] : segs[1];
  return true;
}

// Key of a pair of dictionary ids.
uint64_t PairKey(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }

// True when `f` only lists exact strings (that are not IP literals, which
// also match other spellings of the address).
bool ExactStrings(const internal::Field& f) {
  for (const Matcher& m : f.matchers) {
    if (m.kind != MatcherKind::kExactString || m.ip.has_value()) return false;
  }
  return !f.matchers.empty();
}

}  // namespace

struct RuleMatcher::Index {
  // 8 bytes: each candidate reads one (its compiled sub-rule, needed only
  // by the direct evaluation, is in Index::subrule_patterns). The infos of
  // all partitions are read at random, so their size decides how many stay
  // in cache.
  struct SubRuleInfo {
    static constexpr uint32_t kSingle = 1u << 31;  // one field, no exists:false
    static constexpr uint32_t kHasAbsent = 1u << 30;  // a field allows it
    // (A rule takes hundreds of bytes: 2^30 of them cannot be built.)
    static constexpr uint32_t kMaxRules = kHasAbsent;
    // Position of the rule's id in Index::rule_ids, and the flags above.
    uint32_t rule_and_flags;
    // Required fields that are not indexed: checks[check_begin, CheckEnd()),
    // up to the next sub-rule's check_begin.
    uint32_t check_begin;

    static SubRuleInfo For(uint32_t rule, bool single, bool has_absent,
                           size_t check_begin) {
      return {rule | (single ? kSingle : 0) | (has_absent ? kHasAbsent : 0),
              static_cast<uint32_t>(check_begin)};
    }
    uint32_t rule() const { return rule_and_flags & (kMaxRules - 1); }
    bool single() const { return (rule_and_flags & kSingle) != 0; }
    bool has_absent() const { return (rule_and_flags & kHasAbsent) != 0; }
  };
  uint32_t CheckEnd(uint32_t sid) const {
    return sid + 1 < subrules.size() ? subrules[sid + 1].check_begin
                                     : static_cast<uint32_t>(checks.size());
  }
  // A required field checked directly on candidates. The common single
  // forms (a numeric range, a short list of exact strings, one prefix or
  // suffix, anything-but a short list, exists) are checked inline from this
  // struct and the matcher's text arena (Index::check_text, laid out in
  // candidate order) instead of through the compiled pattern's matchers,
  // which sit in separately allocated patterns and missed the cache.
  struct CheckField {
    enum Kind : uint8_t {
      kGeneric,  // the compiled matchers of Index::check_fields[text_off]
      kNumeric,
      kExactAny,           // one of n strings
      kPrefix,             // the 1 string
      kSuffix,             // the 1 string
      kAnythingBut,        // not one of n strings (other leaf types pass)
      kAnythingButPrefix,  // starts with none of n strings (ditto)
      kWildcard,           // Index::check_globs[text_off] matches
      kAnyLeaf,            // exists: true
    };
    static constexpr size_t kMaxInlineStrings = 4;
    Kind kind = kGeneric;
    uint8_t n = 0;  // strings at text_off: each [uint16 length][bytes]
    bool lo_inclusive = false;
    bool hi_inclusive = false;
    uint32_t path_id = 0;
    uint32_t text_off = 0;
    double lo = 0;
    double hi = 0;

    // 32 bytes, so that the first checks of consecutive candidates share
    // cache lines.
    static CheckField For(uint32_t path_id, const internal::Field& f,
                          std::string* text, std::vector<internal::Glob>* globs,
                          std::vector<const internal::Field*>* fields) {
      CheckField c = Inline(path_id, f, text, globs);
      if (c.kind == kGeneric) {
        c.text_off = static_cast<uint32_t>(fields->size());
        fields->push_back(&f);
      }
      return c;
    }
    // The check, inline where its form allows (else kGeneric).
    static CheckField Inline(uint32_t path_id, const internal::Field& f,
                             std::string* text,
                             std::vector<internal::Glob>* globs) {
      CheckField c;
      c.path_id = path_id;
      const Matcher& m = f.matchers.front();
      auto inline_strings = [&](const std::vector<std::string_view>& strs,
                                Kind kind) {
        if (strs.empty() || strs.size() > kMaxInlineStrings) return;
        for (std::string_view x : strs) {
          if (x.size() > 0xFFFF) return;
        }
        c.kind = kind;
        c.n = static_cast<uint8_t>(strs.size());
        c.text_off = static_cast<uint32_t>(text->size());
        for (std::string_view x : strs) {
          const auto len = static_cast<uint16_t>(x.size());
          text->append(reinterpret_cast<const char*>(&len), sizeof(len));
          text->append(x);
        }
      };
      if (f.matchers.size() == 1 && m.kind == MatcherKind::kNumeric) {
        c.kind = kNumeric;
        c.lo = m.lo;
        c.hi = m.hi;
        c.lo_inclusive = m.lo_inclusive;
        c.hi_inclusive = m.hi_inclusive;
        return c;
      }
      if (ExactStrings(f)) {
        std::vector<std::string_view> strs;
        for (const Matcher& x : f.matchers) strs.push_back(x.str);
        inline_strings(strs, kExactAny);
        return c;
      }
      if (f.matchers.size() != 1) return c;
      switch (m.kind) {
        case MatcherKind::kPrefix:
          inline_strings({m.str}, kPrefix);
          break;
        case MatcherKind::kSuffix:
          inline_strings({m.str}, kSuffix);
          break;
        case MatcherKind::kAnythingButStrings: {
          std::vector<std::string_view> strs(m.str_set.begin(),
                                             m.str_set.end());
          inline_strings(strs, kAnythingBut);
          break;
        }
        case MatcherKind::kAnythingButPrefix: {
          std::vector<std::string_view> strs(m.strs.begin(), m.strs.end());
          inline_strings(strs, kAnythingButPrefix);
          break;
        }
        case MatcherKind::kWildcard: {
          std::string_view affix;
          bool is_prefix = false;
          if (OneStarAffix(m.globs.front(), &affix, &is_prefix)) {
            inline_strings({affix}, is_prefix ? kPrefix : kSuffix);
            if (c.kind != kGeneric) break;
          }
          c.kind = kWildcard;
          c.text_off = static_cast<uint32_t>(globs->size());
          globs->push_back(m.globs.front());
          break;
        }
        case MatcherKind::kExists:
          c.kind = kAnyLeaf;
          break;
        default:
          break;
      }
      return c;
    }

    // The i-th inline string after *p; advances *p.
    static std::string_view NextString(const char** p) {
      uint16_t len;
      std::memcpy(&len, *p, sizeof(len));
      std::string_view s(*p + sizeof(len), len);
      *p += sizeof(len) + len;
      return s;
    }
    bool AnyEquals(std::string_view v, const char* text) const {
      const char* p = text + text_off;
      for (uint8_t i = 0; i < n; ++i) {
        if (NextString(&p) == v) return true;
      }
      return false;
    }

    bool Accepts(const FlatEvent& event, const FlatEvent::Leaf& leaf,
                 const char* text, const internal::Glob* globs,
                 const internal::Field* const* fields) const {
      const bool is_string = leaf.kind == ValueKind::kString;
      switch (kind) {
        case kNumeric: {
          if (leaf.kind != ValueKind::kNumber || !std::isfinite(leaf.number)) {
            return false;
          }
          const double x = leaf.number;
          return (lo_inclusive ? x >= lo : x > lo) &&
                 (hi_inclusive ? x <= hi : x < hi);
        }
        case kExactAny:
          return is_string && AnyEquals(event.text(leaf), text);
        case kPrefix: {
          const char* p = text + text_off;
          return is_string && event.text(leaf).starts_with(NextString(&p));
        }
        case kSuffix: {
          const char* p = text + text_off;
          return is_string && event.text(leaf).ends_with(NextString(&p));
        }
        case kAnythingBut:
          return !(is_string && AnyEquals(event.text(leaf), text));
        case kAnythingButPrefix: {
          if (!is_string) return true;
          const std::string_view v = event.text(leaf);
          const char* p = text + text_off;
          for (uint8_t i = 0; i < n; ++i) {
            if (v.starts_with(NextString(&p))) return false;
          }
          return true;
        }
        case kWildcard:
          return is_string && globs[text_off].Matches(event.text(leaf));
        case kAnyLeaf:
          return true;
        case kGeneric:
          break;
      }
      const internal::LeafValue v{leaf.kind, event.text(leaf), leaf.number};
      std::optional<std::string> folded;
      for (const Matcher& m : fields[text_off]->matchers) {
        if (internal::MatcherAccepts(m, v, &folded)) return true;
      }
      return false;
    }
  };
  static_assert(sizeof(SubRuleInfo) == 8);
  static_assert(sizeof(CheckField) == 32);
  // Sub-rules indexed under a pair of exact-string fields: one hash probe per
  // pair of event values (e.g. source x detail-type) instead of one hit per
  // sub-rule sharing either value.
  struct PairIndex {
    uint32_t path_a;
    uint32_t path_b;
    absl::flat_hash_map<uint64_t, PredList> by_key;  // PairKey(a, b)
  };
  // A self-contained index over a group of sub-rules. Partition 0 holds the
  // sub-rules that do not pin the partition path to exact strings and is
  // probed for every event; partition `part_by_value[v]` holds the sub-rules
  // that list `v` at the partition path (e.g. every rule with
  // "source": ["aws.ec2"]) and is probed only for events carrying `v` there.
  // Within a partition that field is already satisfied, so the sub-rules are
  // indexed under their next most selective field, with frequencies counted
  // inside the partition.
  struct Partition {
    std::vector<std::pair<uint32_t, PathIndex>> paths;  // (path id, index)
    // What a probe reads, by path id: the bit set of the paths with a
    // non-empty index, and each one's index (null where the partition has
    // none). 8 bytes per (partition, path of
    // the matcher): 8 KB for 25 partitions x 42 paths, 8 MB for 1,000 x 1,000.
    // A 4-byte position into `slots`, or a rank by popcount (no POPCNT in
    // the baseline x86-64 instruction set), cost 2-4 % on the 10k benchmark.
    std::vector<uint64_t> slot_bits;
    std::vector<const PathIndex*> slot_index;
    std::vector<PairIndex> pair_indexes;
    // Sub-rules with no indexed field: candidates whenever the partition is
    // probed.
    std::vector<uint32_t> always;
    // Build-time lookups.
    absl::flat_hash_map<uint32_t, uint32_t> path_pos;
    absl::flat_hash_map<std::pair<uint32_t, uint32_t>, uint32_t> pair_ids;

    PathIndex& For(uint32_t path_id) {
      auto [it, fresh] =
          path_pos.try_emplace(path_id, static_cast<uint32_t>(paths.size()));
      if (fresh) paths.emplace_back(path_id, PathIndex{});
      return paths[it->second].second;
    }
  };
  static constexpr uint32_t kNoPath = ~0u;
  std::vector<Partition> partitions;  // [0]: probed for every event
  uint32_t partition_path = kNoPath;  // path id of the partition key
  internal::StringMap<uint32_t> partition_by_value;
  // Partitions of sub-rules listing only prefixes at the partition path
  // (e.g. "source": [{"prefix": "aws."}]), by prefix; probed for events
  // whose value there starts with it.
  AffixMap<uint32_t> partition_by_prefix;
  // By partition id: whether a value partition holds the sub-rules of the
  // prefix partitions its value starts with (then those are not probed).
  std::vector<bool> holds_prefixes;

  std::vector<std::shared_ptr<const internal::CompiledPattern>> patterns;
  std::vector<uint32_t> rule_ids;  // ascending
  // rule_ids[i] == rule_ids[0] + i for every i (evbusd numbers a bus's rules
  // from 0 and reuses deleted ids): a matched rule's id is then computed
  // instead of read from rule_ids, where the 10k benchmark's ~21 matches per
  // event mostly missed the cache.
  bool consecutive_ids = false;
  std::vector<SubRuleInfo> subrules;  // one per (sub-rule, partition)
  std::vector<CheckField> checks;
  std::string check_text;                   // CheckField inline strings
  std::vector<internal::Glob> check_globs;  // CheckField kWildcard globs
  std::vector<const internal::Field*> check_fields;  // CheckField kGeneric
  // By sub-rule id: its compiled form.
  std::vector<const internal::SubRule*> subrule_patterns;
  std::vector<uint32_t> always_check;  // subrules with no required field
  // For the direct evaluation of a sub-rule: the path id of each of its
  // fields, at field_paths[field_paths_begin[sid]] on.
  std::vector<uint32_t> field_paths_begin;
  std::vector<uint32_t> field_paths;
  // The fields of each sub-rule that allow exists:false, at
  // absent_fields[absent_fields_begin[sid], absent_fields_begin[sid + 1]):
  // path id, and whether exists:false is the field's only alternative.
  struct AbsentField {
    uint32_t path_id;
    bool only_absent;
  };
  std::vector<uint32_t> absent_fields_begin;
  std::vector<AbsentField> absent_fields;

  // What the fields of sub-rule `sid` that allow exists:false decide
  // without a direct evaluation.
  enum class Absence {
    kHold,     // none has a leaf: each is satisfied by its absence
    kFail,     // a field that must be absent has a leaf outside arrays
    kUnknown,  // leaves inside arrays, or fields with other alternatives
  };
  Absence CheckAbsent(uint32_t sid, const FlatEvent& event,
                      const Scratch& sc) const {
    Absence verdict = Absence::kHold;
    for (uint32_t i = absent_fields_begin[sid];
         i < absent_fields_begin[sid + 1]; ++i) {
      const AbsentField& f = absent_fields[i];
      if (!sc.Has(f.path_id)) continue;
      verdict = Absence::kUnknown;
      if (!f.only_absent) continue;
      // A leaf outside every array is consistent with any choice of the
      // other fields' leaves (§2.2.5), so the field is present.
      const auto [begin, end] = sc.path_range[f.path_id];
      for (uint32_t k = begin; k < end; ++k) {
        if (event.leaf(k).pos_size == 0) return Absence::kFail;
      }
    }
    return verdict;
  }
  // Backs the 2 MB regions that mostly hold this index and its compiled
  // patterns with huge pages, when they total at least
  // huge_pages_min_bytes (see common/huge_pages.h).
  void AdviseHugePages() const;
  size_t huge_pages_min_bytes = 0;  // Builder::set_huge_pages_min_bytes

  // Evaluates sub-rule `sid` directly, with its fields' leaves found from
  // the per-path ranges instead of searching the event by path text.
  bool Evaluate(uint32_t sid, const FlatEvent& event, const Scratch& sc) const {
    const internal::SubRule& sub = *subrule_patterns[sid];
    absl::InlinedVector<internal::LeafRange, 16> ranges;
    const uint32_t* path = field_paths.data() + field_paths_begin[sid];
    for (size_t i = 0; i < sub.fields.size(); ++i) {
      const uint32_t p = path[i];
      if (sc.Has(p)) {
        ranges.push_back({sc.path_range[p].first, sc.path_range[p].second});
      } else {
        ranges.push_back({0, 0});
      }
    }
    return internal::EvaluateSubRule(event, sub, ranges.data());
  }
  internal::StringMap<uint32_t> path_ids;
  size_t path_count = 0;
  PathFilter filter;
  LiteralPrefilter prefilter;
  // Path id (or kNoPath) of each filter node, for events parsed with
  // `filter` (their leaves carry the node: no path hashing).
  std::vector<uint32_t> node_path;
  size_t rule_count = 0;
  size_t subrule_count = 0;  // sub-rules of the patterns (before copies)

  mutable absl::Mutex pool_mu;
  mutable std::vector<std::unique_ptr<Scratch>> pool ABSL_GUARDED_BY(pool_mu);

  // Each thread keeps the scratch of the matcher it used last, so steady-state
  // matching takes no lock; other callers share a small pool.
  struct ThreadScratch {
    uint64_t serial = 0;
    std::unique_ptr<Scratch> scratch;
  };
  static ThreadScratch& Local() {
    thread_local ThreadScratch local;
    return local;
  }
  static uint64_t NextSerial() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }
  const uint64_t serial = NextSerial();

  std::unique_ptr<Scratch> Acquire() const {
    ThreadScratch& local = Local();
    if (local.serial == serial && local.scratch != nullptr) {
      return std::move(local.scratch);
    }
    {
      absl::MutexLock lock(&pool_mu);
      if (!pool.empty()) {
        std::unique_ptr<Scratch> sc = std::move(pool.back());
        pool.pop_back();
        return sc;
      }
    }
    return std::make_unique<Scratch>();
  }
  void Release(std::unique_ptr<Scratch> sc) const {
    ThreadScratch& local = Local();
    if (local.scratch == nullptr || local.serial != serial) {
      local.serial = serial;
      local.scratch = std::move(sc);
      return;
    }
    absl::MutexLock lock(&pool_mu);
    if (pool.size() < 64) pool.push_back(std::move(sc));
  }

  // Per path id: every exact string some rule lists there, numbered. An
  // event's string leaf is looked up once; indexes and pair keys then use
  // the number.
  static constexpr uint32_t kNoValue = ~0u;
  std::vector<internal::StringMap<uint32_t>> dicts;  // while building
  std::vector<internal::ShortStringMap> frozen_dicts;
  uint32_t Intern(uint32_t path_id, std::string_view value) {
    if (dicts.size() <= path_id) dicts.resize(path_id + 1);
    internal::StringMap<uint32_t>& d = dicts[path_id];
    auto it = d.find(value);
    if (it != d.end()) return it->second;
    const auto id = static_cast<uint32_t>(d.size());
    d.emplace(std::string(value), id);
    return id;
  }
  // The dictionary id of string leaf `k` at `path_id`, or kNoValue.
  uint32_t LeafValue(uint32_t path_id, const FlatEvent& event, uint32_t k,
                     Scratch* sc) const {
    if (sc->leaf_value_stamp[k] == sc->generation) return sc->leaf_value[k];
    uint32_t id = kNoValue;
    if (path_id < frozen_dicts.size()) {
      if (const uint32_t* v =
              frozen_dicts[path_id].Find(event.text(event.leaf(k)))) {
        id = *v;
      }
    }
    sc->leaf_value_stamp[k] = sc->generation;
    sc->leaf_value[k] = id;
    return id;
  }

  uint32_t PathId(const std::string& path) {
    auto [it, inserted] =
        path_ids.try_emplace(path, static_cast<uint32_t>(path_count));
    if (inserted) ++path_count;
    return it->second;
  }

  // Checks the unindexed required fields of a sub-rule whose indexed fields
  // all matched. Returns false when one has no satisfying leaf; else sets
  // adds to *array_fields each field whose satisfying leaf sits inside an
  // array.
  bool CheckFields(uint32_t sid, const FlatEvent& event, const Scratch& sc,
                   int* array_fields) const {
    const uint32_t check_end = CheckEnd(sid);
    for (uint32_t c = subrules[sid].check_begin; c < check_end; ++c) {
      const CheckField& cf = checks[c];
      if (!sc.Has(cf.path_id)) return false;
      const auto [begin, end] = sc.path_range[cf.path_id];
      bool found = false;
      for (uint32_t i = begin; i < end; ++i) {
        const FlatEvent::Leaf& leaf = event.leaf(i);
        if (cf.Accepts(event, leaf, check_text.data(), check_globs.data(),
                       check_fields.data())) {
          found = true;
          *array_fields += leaf.pos_size != 0 ? 1 : 0;
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }

  void AddMatcher(uint32_t path_id, PathIndex& idx, const Matcher& m,
                  const Pred& pred) {
    switch (m.kind) {
      case MatcherKind::kExactString:
        idx.exact_str[Intern(path_id, m.str)].push_back(pred);
        if (m.ip.has_value()) idx.exact_ip[*m.ip].push_back(pred);
        return;
      case MatcherKind::kExactNumber:
        if (m.num_finite) {
          idx.exact_num[NormalizeZero(m.num)].push_back(pred);
        } else {
          idx.exact_num_text[m.num_text].push_back(pred);
        }
        return;
      case MatcherKind::kTrue:
        idx.true_preds.push_back(pred);
        return;
      case MatcherKind::kFalse:
        idx.false_preds.push_back(pred);
        return;
      case MatcherKind::kNull:
        idx.null_preds.push_back(pred);
        return;
      case MatcherKind::kPrefix:
        idx.prefix.Add(m.str, pred);
        return;
      case MatcherKind::kSuffix:
        idx.suffix.Add(m.str, pred);
        return;
      case MatcherKind::kPrefixIgnoreCase:
        idx.prefix_ci.Add(m.str, pred);
        idx.needs_fold = true;
        return;
      case MatcherKind::kSuffixIgnoreCase:
        idx.suffix_ci.Add(m.str, pred);
        idx.needs_fold = true;
        return;
      case MatcherKind::kEqualsIgnoreCase:
        idx.equals_ci[m.str].push_back(pred);
        idx.needs_fold = true;
        return;
      case MatcherKind::kWildcard: {
        // "p*" and "*s" are a prefix and a suffix: indexed as such, they
        // cost no glob evaluation.
        std::string_view affix;
        bool is_prefix = false;
        if (OneStarAffix(m.globs.front(), &affix, &is_prefix)) {
          (is_prefix ? idx.prefix : idx.suffix).Add(std::string(affix), pred);
          return;
        }
        const std::string_view lit = m.globs.front().LiteralPrefix();
        if (lit.empty()) {
          idx.AddToGroup(&idx.scan, "", m, pred);
          return;
        }
        idx.AddToGroup(&idx.wildcard_by_prefix[lit], lit, m, pred);
        auto& lens = idx.wildcard_prefix_lengths;
        auto it = std::lower_bound(lens.begin(), lens.end(), lit.size());
        if (it == lens.end() || *it != lit.size()) lens.insert(it, lit.size());
        return;
      }
      case MatcherKind::kNumeric:
        idx.numeric.push_back(
            {m.lo, m.hi, m.lo_inclusive, m.hi_inclusive, pred});
        return;
      case MatcherKind::kCidr: {
        for (CidrGroup& g : idx.cidrs) {
          if (g.v6 == m.cidr.base.v6 && g.bits == m.cidr.bits) {
            g.by_base[m.cidr.base].push_back(pred);
            return;
          }
        }
        CidrGroup g{m.cidr.base.v6, m.cidr.bits, {}};
        g.by_base[m.cidr.base].push_back(pred);
        idx.cidrs.push_back(std::move(g));
        return;
      }
      case MatcherKind::kExists:
        idx.exists_preds.push_back(pred);
        return;
      case MatcherKind::kAbsent:
        return;  // decided per sub-rule
      case MatcherKind::kAnythingButStrings:
        idx.anything_but.all.push_back(pred);
        for (const std::string& x : m.str_set) {
          idx.anything_but.excluded[x].push_back(pred);
        }
        return;
      case MatcherKind::kAnythingButIgnoreCase:
        idx.anything_but_ci.all.push_back(pred);
        for (const std::string& x : m.str_set) {
          idx.anything_but_ci.excluded[x].push_back(pred);
        }
        idx.needs_fold = true;
        return;
      case MatcherKind::kAnythingButNumbers:
      case MatcherKind::kAnythingButPrefix:
      case MatcherKind::kAnythingButSuffix:
      case MatcherKind::kAnythingButWildcard:
        idx.AddToGroup(&idx.scan, "", m, pred);
        return;
    }
  }

  // Records that the field behind pred `p` is satisfied by `leaf`.
  void Hit(const Pred& p, const FlatEvent::Leaf& leaf, Scratch* sc) const {
    HitPred(p, leaf.pos_size != 0 ? p.bit() : 0, sc);
  }
  // The same with `array_bits`, what the hit adds to SubState::array_bits.
  // Branch-free: whether a hit is the sub-rule's first this event, and
  // whether it completes it, are data-dependent and mostly unpredictable.
  void HitPred(const Pred& pr, uint8_t array_bits, Scratch* sc) const {
    Scratch::SubState& st = sc->subs[pr.subrule()];
    const auto stamp = static_cast<uint16_t>(sc->generation);
    const bool seen = st.stamp == stamp;
    const uint8_t fields = (seen ? st.fields : 0) | pr.bit();
    const uint8_t arr =
        (seen ? st.array_bits : 0) | array_bits | sc->partition_in_array;
    // fields == need also requires that kCandidate is not set yet.
    const bool now = fields == pr.need();
    st.stamp = stamp;
    st.fields = fields | (now ? Scratch::kCandidate : 0);
    st.array_bits = arr;
    sc->candidate_buf[sc->candidate_count] = pr.subrule();
    sc->candidate_count += now ? 1 : 0;
  }
  // Makes sub-rule `sid` a candidate without setting any field bit.
  void Touch(uint32_t sid, Scratch* sc) const {
    Scratch::SubState& st = sc->subs[sid];
    const auto stamp = static_cast<uint16_t>(sc->generation);
    if (st.stamp != stamp) {
      st.stamp = stamp;
      st.fields = 0;
      st.array_bits = 0;
    }
    st.array_bits |= sc->partition_in_array;
    if ((st.fields & Scratch::kCandidate) == 0) {  // `need` is 0 for these
      st.fields |= Scratch::kCandidate;
      sc->candidate_buf[sc->candidate_count++] = sid;
    }
  }

  // Probes every index of `part` with the event's leaves at its paths.
  void ProbePartition(const Partition& part, const FlatEvent& event,
                      Scratch* sc) const {
    // The partition's paths that the event has, from the two bit sets
    // (which paths an event has is data-dependent: a test per slot was a
    // frequently mispredicted branch).
    for (size_t w = 0; w < part.slot_bits.size(); ++w) {
      for (uint64_t bits = part.slot_bits[w] & sc->present[w]; bits != 0;
           bits &= bits - 1) {
        const auto path_id =
            static_cast<uint32_t>(w * 64 + __builtin_ctzll(bits));
        const PathIndex& index = *part.slot_index[path_id];
        const auto [begin, end] = sc->path_range[path_id];
        for (uint32_t k = begin; k < end; ++k)
          Probe(path_id, index, event, k, sc);
      }
    }
    for (const PairIndex& pi : part.pair_indexes) {
      if (!sc->Has(pi.path_a) || !sc->Has(pi.path_b)) {
        continue;
      }
      const auto [a0, a1] = sc->path_range[pi.path_a];
      const auto [b0, b1] = sc->path_range[pi.path_b];
      for (uint32_t a = a0; a < a1; ++a) {
        const FlatEvent::Leaf& la = event.leaf(a);
        if (la.kind != ValueKind::kString) continue;
        for (uint32_t b = b0; b < b1; ++b) {
          const FlatEvent::Leaf& lb = event.leaf(b);
          if (lb.kind != ValueKind::kString) continue;
          const uint32_t vb = LeafValue(pi.path_b, event, b, sc);
          if (vb == kNoValue) continue;
          const uint32_t va = LeafValue(pi.path_a, event, a, sc);
          if (va == kNoValue) break;
          auto it = pi.by_key.find(PairKey(va, vb));
          if (it == pi.by_key.end()) continue;
          // One pred (bit 1) stands for both fields.
          const int in_arrays = (la.pos_size != 0) + (lb.pos_size != 0);
          const uint8_t arr =
              in_arrays == 2 ? kPairInArrays : (in_arrays == 1 ? 1 : 0);
          for (const Pred& p : it->second) HitPred(p, arr, sc);
        }
      }
    }
    for (uint32_t sid : part.always) Touch(sid, sc);
  }

  void ProbeAnythingBut(const AnythingButIndex& ab, const std::string_view* s,
                        const FlatEvent::Leaf& leaf, Scratch* sc) const {
    if (s != nullptr) {
      auto it = ab.excluded.find(*s);
      if (it != ab.excluded.end()) {
        const uint32_t stamp = sc->NextProbe();
        for (const Pred& p : it->second)
          sc->excluded_stamp[p.subrule()] = stamp;
        for (const Pred& p : ab.all) {
          if (sc->excluded_stamp[p.subrule()] != stamp) Hit(p, leaf, sc);
        }
        return;
      }
    }
    for (const Pred& p : ab.all) Hit(p, leaf, sc);
  }

  // Probes the indexes of `idx` (at `path_id`) with leaf `leaf_index`. The
  // kinds most rule sets use are probed here; the others out of line
  // (ProbeRare), so that this path keeps its state in registers.
  void Probe(uint32_t path_id, const PathIndex& idx, const FlatEvent& event,
             uint32_t leaf_index, Scratch* sc) const {
    using Has = PathIndex::Has;
    const uint32_t has = idx.has;
    const FlatEvent::Leaf& leaf = event.leaf(leaf_index);
    auto emit = [&](const PredList& list) {
      for (const Pred& p : list) Hit(p, leaf, sc);
    };
    const bool is_string = leaf.kind == ValueKind::kString;
    const std::string_view s = event.text(leaf);
    if (is_string) {
      if (has & Has::kExactStr) {
        const uint32_t value = LeafValue(path_id, event, leaf_index, sc);
        if (size_t{value} + 1 < idx.exact_begin.size()) {  // not kNoValue
          for (uint32_t i = idx.exact_begin[value];
               i < idx.exact_begin[value + 1]; ++i) {
            const Pred& pr = idx.exact_preds[i];
            HitPred(pr, leaf.pos_size != 0 ? pr.bit() : 0, sc);
          }
        }
      }
      if (has & Has::kPrefix) idx.prefix.ForPrefixes(s, emit);
      if (has & Has::kSuffix) idx.suffix.ForSuffixes(s, emit);
      if (has & Has::kWildcardPrefix) {
        uint64_t pairs = 0;
        for (size_t len : idx.wildcard_prefix_lengths) {
          if (len > s.size()) break;
          auto it = idx.wildcard_by_prefix.find(s.substr(0, len));
          if (it == idx.wildcard_by_prefix.end()) continue;
          it->second.ForGlobMatches(
              s, &pairs, [&](const MatcherGroup& g) { emit(g.preds); });
        }
      }
    } else if (leaf.kind == ValueKind::kNumber && (has & Has::kNumeric) &&
               std::isfinite(leaf.number)) {
      const double x = leaf.number;
      for (const NumericEntry& e : idx.numeric) {
        if (e.lo > x) break;
        if (e.Contains(x)) Hit(e.pred, leaf, sc);
      }
    }
    if (has & Has::kExists) emit(idx.exists_preds);
    if (has & Has::kAnythingBut) {
      ProbeAnythingBut(idx.anything_but, is_string ? &s : nullptr, leaf, sc);
    }
    constexpr uint32_t kRare = Has::kIp | Has::kExactNum | Has::kExactNumText |
                               Has::kTrue | Has::kFalse | Has::kNull |
                               Has::kFold | Has::kAnythingButCi | Has::kScan;
    if (has & kRare) ProbeRare(idx, event, leaf, sc);
  }

  // The kinds Probe leaves out: IP addresses and CIDR blocks, case folding,
  // exact numbers and literals, anything-but ignoring case, the scan list.
  ABSL_ATTRIBUTE_NOINLINE void ProbeRare(const PathIndex& idx,
                                         const FlatEvent& event,
                                         const FlatEvent::Leaf& leaf,
                                         Scratch* sc) const {
    using Has = PathIndex::Has;
    const uint32_t has = idx.has;
    auto emit = [&](const PredList& list) {
      for (const Pred& p : list) Hit(p, leaf, sc);
    };
    const internal::LeafValue v{leaf.kind, event.text(leaf), leaf.number};
    std::optional<std::string> folded;
    switch (leaf.kind) {
      case ValueKind::kString: {
        const std::string_view s = v.text;
        if (has & Has::kIp) {
          std::optional<internal::IpAddress> ip = internal::ParseIp(s);
          if (ip.has_value()) {
            if (auto it = idx.exact_ip.find(*ip); it != idx.exact_ip.end()) {
              // Byte-identical text already hit these preds in Probe; a
              // second hit of a pred changes nothing.
              emit(it->second);
            }
            for (const CidrGroup& g : idx.cidrs) {
              if (g.v6 != ip->v6) continue;
              auto it = g.by_base.find(internal::Cidr::Mask(*ip, g.bits));
              if (it != g.by_base.end()) emit(it->second);
            }
          }
        }
        if (has & Has::kFold) {
          folded = internal::FoldCase(s);
          idx.prefix_ci.ForPrefixes(*folded, emit);
          idx.suffix_ci.ForSuffixes(*folded, emit);
          if (auto it = idx.equals_ci.find(*folded);
              it != idx.equals_ci.end()) {
            emit(it->second);
          }
        }
        break;
      }
      case ValueKind::kNumber:
        if (std::isfinite(leaf.number)) {
          if (has & Has::kExactNum) {
            if (auto it = idx.exact_num.find(NormalizeZero(leaf.number));
                it != idx.exact_num.end()) {
              emit(it->second);
            }
          }
        } else if (has & Has::kExactNumText) {
          if (auto it = idx.exact_num_text.find(v.text);
              it != idx.exact_num_text.end()) {
            emit(it->second);
          }
        }
        break;
      case ValueKind::kTrue:
        if (has & Has::kTrue) emit(idx.true_preds);
        break;
      case ValueKind::kFalse:
        if (has & Has::kFalse) emit(idx.false_preds);
        break;
      case ValueKind::kNull:
        if (has & Has::kNull) emit(idx.null_preds);
        break;
    }
    if (has & Has::kAnythingButCi) {
      std::string_view f;
      if (leaf.kind == ValueKind::kString) {
        if (!folded.has_value()) folded = internal::FoldCase(v.text);
        f = *folded;
      }
      ProbeAnythingBut(idx.anything_but_ci,
                       leaf.kind == ValueKind::kString ? &f : nullptr, leaf,
                       sc);
    }
    if (has & Has::kScan) {
      uint64_t pairs = 0;
      if (leaf.kind == ValueKind::kString) {
        idx.scan.ForGlobMatches(v.text, &pairs,
                                [&](const MatcherGroup& g) { emit(g.preds); });
      }
      if (idx.scan.globs < idx.scan.groups.size()) {
        for (const MatcherGroup& g : idx.scan.groups) {
          if (g.glob.has_value()) continue;  // wildcards: above
          if (internal::MatcherAccepts(*g.matcher, v, &folded)) emit(g.preds);
        }
      }
    }
  }
};

RuleMatcher::RuleMatcher(std::unique_ptr<Index> index)
    : index_(std::move(index)) {}
RuleMatcher::~RuleMatcher() = default;

const PathFilter& RuleMatcher::path_filter() const { return index_->filter; }

void RuleMatcher::AdviseHugePages() const { index_->AdviseHugePages(); }

bool RuleMatcher::MayMatch(std::string_view valid_json) const {
  return index_->prefilter.MayMatch(valid_json);
}
bool RuleMatcher::has_prefilter() const { return index_->prefilter.active(); }
size_t RuleMatcher::rule_count() const { return index_->rule_count; }
size_t RuleMatcher::subrule_count() const { return index_->subrule_count; }

RuleMatcher::Builder& RuleMatcher::Builder::Add(uint32_t rule_id,
                                                Pattern pattern) {
  rules_.insert_or_assign(rule_id, std::move(pattern));
  return *this;
}

bool RuleMatcher::Builder::Remove(uint32_t rule_id) {
  return rules_.erase(rule_id) > 0;
}

namespace {

// Key under which a matcher is indexed, for counting how many fields share
// it; empty for matchers that accept most values (never good anchors).
std::string AnchorKey(const internal::Field& f, const Matcher& m) {
  auto key = [&](char tag, std::string_view v) {
    std::string k(1, tag);
    k += f.path;
    k.push_back('\0');
    k.append(v);
    return k;
  };
  switch (m.kind) {
    case MatcherKind::kExactString:
      return key('s', m.str);
    case MatcherKind::kExactNumber:
      return key('n', m.num_text);
    case MatcherKind::kTrue:
      return key('t', "");
    case MatcherKind::kFalse:
      return key('f', "");
    case MatcherKind::kNull:
      return key('0', "");
    case MatcherKind::kPrefix:
      return key('p', m.str);
    case MatcherKind::kSuffix:
      return key('x', m.str);
    case MatcherKind::kPrefixIgnoreCase:
      return key('P', m.str);
    case MatcherKind::kSuffixIgnoreCase:
      return key('X', m.str);
    case MatcherKind::kEqualsIgnoreCase:
      return key('e', m.str);
    case MatcherKind::kWildcard:
      return key('w', m.globs.front().LiteralPrefix());
    case MatcherKind::kNumeric:
      return key('r', "");  // all ranges on a path share one key
    case MatcherKind::kCidr:
      return key('c', std::to_string(m.cidr.bits));
    default:
      return "";
  }
}

// True when every matcher of `f` accepts only values sharing a non-empty
// key (so indexing the field yields few hits per leaf).
bool Selective(const internal::Field& f) {
  for (const Matcher& m : f.matchers) {
    switch (m.kind) {
      case MatcherKind::kExactString:
      case MatcherKind::kExactNumber:
      case MatcherKind::kTrue:
      case MatcherKind::kFalse:
      case MatcherKind::kNull:
      case MatcherKind::kEqualsIgnoreCase:
      case MatcherKind::kCidr:
        break;
      case MatcherKind::kPrefix:
      case MatcherKind::kSuffix:
      case MatcherKind::kPrefixIgnoreCase:
      case MatcherKind::kSuffixIgnoreCase:
        if (m.str.empty()) return false;
        break;
      case MatcherKind::kWildcard:
        if (m.globs.front().LiteralPrefix().empty()) return false;
        break;
      default:
        return false;
    }
  }
  return !f.matchers.empty();
}

}  // namespace

namespace {

// The path most sub-rules pin to exact strings (typically `source`), if at
// least `min_subrules` do; empty otherwise.
std::string PartitionPath(const std::map<uint32_t, Pattern>& rules,
                          size_t min_subrules) {
  absl::flat_hash_map<std::string, size_t> count;
  for (const auto& [rule_id, pattern] : rules) {
    for (const internal::SubRule& sub : pattern.compiled()->subrules) {
      for (const internal::Field& f : sub.fields) {
        if (!f.has_absent && ExactStrings(f)) ++count[f.path];
      }
    }
  }
  std::string best;
  size_t best_count = 0;
  for (const auto& [path, n] : count) {
    if (n > best_count || (n == best_count && path < best)) {
      best = path;
      best_count = n;
    }
  }
  return best_count >= min_subrules && min_subrules > 0 ? best : "";
}

// True when `f` only lists non-empty (case-sensitive) prefixes.
bool Prefixes(const internal::Field& f) {
  for (const Matcher& m : f.matchers) {
    if (m.kind != MatcherKind::kPrefix || m.str.empty()) return false;
  }
  return !f.matchers.empty();
}

// The field of `sub` that places it in a value or prefix partition, or null.
const internal::Field* PartitionField(const internal::SubRule& sub,
                                      const std::string& partition_path) {
  if (partition_path.empty()) return nullptr;
  for (const internal::Field& f : sub.fields) {
    if (f.path == partition_path && !f.has_absent &&
        (ExactStrings(f) || Prefixes(f))) {
      return &f;
    }
  }
  return nullptr;
}

// A sub-rule's place: its partition and the field that put it there.
struct Placement {
  const internal::SubRule* sub;
  uint32_t rule;  // position of the rule's id in Index::rule_ids
  uint32_t partition;
  const internal::Field* partition_field;  // null in partition 0
};

// How a placed sub-rule is indexed.
struct IndexPlan {
  enum Kind {
    kIndexed,      // under `indexed` (one key for both when `pair`)
    kAlways,       // a candidate whenever its partition is probed
    kAlwaysCheck,  // no required field: checked for every event
  };
  Kind kind = kIndexed;
  std::vector<const internal::Field*> indexed;  // one or two fields
  bool pair = false;
  std::string cluster;  // index key of indexed[0]; orders ids
};

// Anchor keys are counted per partition.
std::string ScopedKey(uint32_t partition, std::string key) {
  key.insert(0, reinterpret_cast<const char*>(&partition), sizeof(partition));
  return key;
}

// Counts the memory of a built matcher (its index and the compiled patterns
// it reads) into `t`, container by container; elements of hash maps are
// counted where they sit, which covers their slot arrays. Not exact (hash
// control bytes, malloc headers), only enough to find the 2 MB regions the
// matcher mostly occupies.
class MatcherMemory {
 public:
  explicit MatcherMemory(common::HugePageTally* t) : t_(t) {}

  template <typename T>
  void Vec(const std::vector<T>& v) {
    t_->Add(v.data(), v.capacity() * sizeof(T));
  }
  void Str(const std::string& s) {
    if (s.capacity() > 15) t_->Add(s.data(), s.capacity());  // not inline
  }
  template <typename Map>
  void Preds(const Map& m) {  // maps to PredList
    for (const auto& kv : m) {
      t_->Add(&kv, sizeof(kv));
      Vec(kv.second);
    }
  }
  void Groups(const MatcherGroups& list) {
    Vec(list.groups);
    Vec(list.filters);
    for (const MatcherGroup& g : list.groups) {
      Vec(g.preds);
      if (g.glob.has_value()) Glob(*g.glob);
    }
  }
  void Glob(const internal::Glob& g) {
    Vec(g.segments());
    for (const std::string& s : g.segments()) Str(s);
  }
  template <typename V>
  void Affix(const AffixMap<V>& a) {
    Vec(a.lengths);
    for (const auto& kv : a.by_key) t_->Add(&kv, sizeof(kv));
  }
  void Path(const PathIndex& x) {
    Vec(x.exact_begin);
    Vec(x.exact_preds);
    for (const AffixIndex* a :
         {&x.prefix, &x.suffix, &x.prefix_ci, &x.suffix_ci}) {
      Affix(*a);
      for (const auto& kv : a->by_key) Vec(kv.second);
    }
    Vec(x.wildcard_prefix_lengths);
    for (const auto& kv : x.wildcard_by_prefix) {
      t_->Add(&kv, sizeof(kv));
      Groups(kv.second);
    }
    Vec(x.numeric);
    for (const AnythingButIndex* ab : {&x.anything_but, &x.anything_but_ci}) {
      Vec(ab->all);
      Preds(ab->excluded);
    }
    Groups(x.scan);
    Vec(x.exists_preds);
    Preds(x.exact_ip);
    Preds(x.exact_num);
    Preds(x.exact_num_text);
    Vec(x.true_preds);
    Vec(x.false_preds);
    Vec(x.null_preds);
    Preds(x.equals_ci);
    Vec(x.cidrs);
    for (const CidrGroup& g : x.cidrs) Preds(g.by_base);
  }
  void Pattern(const internal::CompiledPattern& p) {
    t_->Add(&p, sizeof(p));
    Vec(p.subrules);
    for (const internal::SubRule& sub : p.subrules) {
      Vec(sub.fields);
      for (const internal::Field& f : sub.fields) {
        Str(f.path);
        Vec(f.matchers);
        for (const internal::Matcher& m : f.matchers) {
          Str(m.str);
          Vec(m.strs);
          for (const std::string& x : m.strs) Str(x);
          Vec(m.globs);
          for (const internal::Glob& g : m.globs) Glob(g);
        }
      }
    }
  }

 private:
  common::HugePageTally* t_;
};

}  // namespace

void RuleMatcher::Index::AdviseHugePages() const {
  if (huge_pages_min_bytes == 0) return;
  common::HugePageTally tally;
  MatcherMemory m(&tally);
  m.Vec(partitions);
  for (const Partition& part : partitions) {
    m.Vec(part.paths);
    for (const auto& [path_id, x] : part.paths) m.Path(x);
    m.Vec(part.slot_bits);
    m.Vec(part.slot_index);
    m.Vec(part.pair_indexes);
    for (const PairIndex& pi : part.pair_indexes) m.Preds(pi.by_key);
    m.Vec(part.always);
  }
  m.Vec(subrules);
  m.Vec(checks);
  m.Str(check_text);
  m.Vec(check_globs);
  m.Vec(check_fields);
  m.Vec(subrule_patterns);
  for (const internal::Glob& g : check_globs) m.Glob(g);
  m.Vec(rule_ids);
  m.Vec(always_check);
  m.Vec(field_paths_begin);
  m.Vec(field_paths);
  m.Vec(absent_fields_begin);
  m.Vec(absent_fields);
  m.Vec(node_path);
  for (const internal::ShortStringMap& d : frozen_dicts) {
    d.ForEachBlock([&](const void* p, size_t n) { tally.Add(p, n); });
  }
  m.Vec(patterns);
  for (const auto& p : patterns) m.Pattern(*p);
  if (tally.total() < huge_pages_min_bytes) return;
  // A region is taken when an eighth of it is the matcher's: the rest is
  // mostly populated heap too, so collapsing it adds little memory.
  tally.Apply(common::HugePageTally::kRegion / 8);
}

std::shared_ptr<const RuleMatcher> RuleMatcher::Builder::Build() const {
  auto index = std::make_unique<Index>();
  index->rule_count = rules_.size();
  index->partitions.emplace_back();
  // Pass 0: where each sub-rule lives. A sub-rule listing exact strings at
  // the partition path goes into one partition per listed value.
  const std::string partition_path =
      PartitionPath(rules_, partition_min_subrules_);
  if (!partition_path.empty()) {
    index->partition_path = index->PathId(partition_path);
  }
  std::vector<Placement> placements;
  std::vector<std::string> all_paths;
  internal::StringSet seen_paths;
  for (const auto& [rule_id, pattern] : rules_) {  // ascending ids
    const auto rule = static_cast<uint32_t>(index->rule_ids.size());
    index->rule_ids.push_back(rule_id);
    const auto& compiled = pattern.compiled();
    index->patterns.push_back(compiled);
    for (const std::string& p : compiled->paths) {
      if (seen_paths.insert(p).second) all_paths.push_back(p);
    }
    for (const internal::SubRule& sub : compiled->subrules) {
      ++index->subrule_count;
      const internal::Field* pf = PartitionField(sub, partition_path);
      if (pf == nullptr) {
        placements.push_back({&sub, rule, 0, nullptr});
        continue;
      }
      const bool by_prefix = Prefixes(*pf);
      internal::StringSet values;
      for (const Matcher& m : pf->matchers) {
        if (!values.insert(m.str).second) continue;
        const auto next = static_cast<uint32_t>(index->partitions.size());
        uint32_t partition = next;
        bool fresh = false;
        if (by_prefix) {
          auto [p, f] = index->partition_by_prefix.TryEmplace(m.str, next);
          partition = *p;
          fresh = f;
        } else {
          auto [it, f] = index->partition_by_value.try_emplace(m.str, next);
          partition = it->second;
          fresh = f;
        }
        if (fresh) index->partitions.emplace_back();
        placements.push_back({&sub, rule, partition, pf});
      }
    }
  }
  // A value partition also holds the sub-rules of every prefix partition
  // whose prefix its value starts with (e.g. "aws.ec2" those of "aws."), so
  // that an event whose value has a partition probes that one partition
  // instead of it and the prefix partitions: fewer, larger probes (a path
  // the two share is probed once). A sub-rule listing two such prefixes is
  // copied once. Copies at most double the sub-rules: value partitions, in
  // id order, take all their copies or none, and those with none still
  // have the prefix partitions probed (as do values without a partition).
  index->holds_prefixes.assign(index->partitions.size(), false);
  if (!index->partition_by_prefix.empty()) {
    std::vector<std::vector<size_t>> by_partition(index->partitions.size());
    for (size_t i = 0; i < placements.size(); ++i) {
      by_partition[placements[i].partition].push_back(i);
    }
    std::vector<std::pair<uint32_t, std::string_view>> values;
    for (const auto& [value, partition] : index->partition_by_value) {
      values.emplace_back(partition, value);
    }
    std::sort(values.begin(), values.end());
    size_t budget = placements.size();
    for (const auto& [partition, value] : values) {
      std::vector<size_t> copies;
      absl::flat_hash_set<const internal::SubRule*> copied;
      index->partition_by_prefix.ForPrefixes(value, [&](uint32_t prefixed) {
        for (size_t i : by_partition[prefixed]) {
          if (copied.insert(placements[i].sub).second) copies.push_back(i);
        }
      });
      if (copies.size() > budget) continue;
      budget -= copies.size();
      index->holds_prefixes[partition] = true;
      for (size_t i : copies) {
        Placement copy = placements[i];
        copy.partition = partition;
        placements.push_back(copy);
      }
    }
  }
  // Pass 1: how many fields share each index key, per partition.
  absl::flat_hash_map<std::string, uint32_t> freq;
  for (const Placement& pl : placements) {
    for (const internal::Field& f : pl.sub->fields) {
      if (&f == pl.partition_field) continue;
      for (const Matcher& m : f.matchers) {
        std::string k = AnchorKey(f, m);
        if (!k.empty()) ++freq[ScopedKey(pl.partition, std::move(k))];
      }
    }
  }
  // Pass 2: choose, for each placed sub-rule, the required field(s) it is
  // indexed under within its partition.
  std::vector<IndexPlan> plans(placements.size());
  for (size_t i = 0; i < placements.size(); ++i) {
    const Placement& pl = placements[i];
    const internal::SubRule& sub = *pl.sub;
    IndexPlan& plan = plans[i];
    if (sub.required == 0) {
      plan.kind = IndexPlan::kAlwaysCheck;
      continue;
    }
    if (pl.partition_field != nullptr && sub.required == 1) {
      plan.kind = IndexPlan::kAlways;
      continue;
    }
    auto cost = [&](const internal::Field& f) {
      uint64_t c = 0;
      constexpr uint64_t kUnselective = uint64_t{1} << 40;
      for (const Matcher& m : f.matchers) {
        const std::string k = AnchorKey(f, m);
        const bool weak_affix =
            (m.kind == MatcherKind::kPrefix || m.kind == MatcherKind::kSuffix ||
             m.kind == MatcherKind::kPrefixIgnoreCase ||
             m.kind == MatcherKind::kSuffixIgnoreCase ||
             m.kind == MatcherKind::kWildcard) &&
            k.size() <= f.path.size() + 2;
        if (k.empty() || weak_affix) {
          c += kUnselective;
          continue;
        }
        auto it = freq.find(ScopedKey(pl.partition, k));
        // A wildcard hit costs a glob match, not just a hash probe.
        c += (it == freq.end() ? 1 : it->second) *
             (m.kind == MatcherKind::kWildcard ? 4 : 1);
      }
      return c;
    };
    // Each sub-rule is indexed under (at most) its two most selective
    // required fields: those whose matchers select few values (exact,
    // affixes, literal-prefix wildcards, CIDR) and whose index keys are
    // shared by the fewest other fields in the partition. A sub-rule is a
    // candidate once each indexed field saw a satisfying leaf; its other
    // required fields are then checked directly. A sub-rule made only of
    // fields that accept most values (anything-but, exists, numeric ranges,
    // bare wildcards) is indexed under the cheapest one of them.
    std::vector<std::pair<uint64_t, const internal::Field*>> ranked;
    for (const internal::Field& f : sub.fields) {
      if (&f != pl.partition_field && !f.has_absent && Selective(f)) {
        ranked.emplace_back(cost(f), &f);
      }
    }
    size_t keep = 2;
    if (ranked.empty()) {
      for (const internal::Field& f : sub.fields) {
        if (&f != pl.partition_field && !f.has_absent) {
          ranked.emplace_back(cost(f), &f);
        }
      }
      keep = 1;
    }
    std::stable_sort(
        ranked.begin(), ranked.end(),
        [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<const internal::Field*>& indexed = plan.indexed;
    for (size_t r = 0; r < ranked.size() && r < keep; ++r) {
      indexed.push_back(ranked[r].second);
    }
    // Two exact-string fields among the most selective ones, each shared by
    // many sub-rules: index the pair of values as one key. A pair index
    // costs a probe per pair of the event's values whatever it holds, so it
    // pays only when single fields would hit many sub-rules (measured on the
    // 10k benchmark: with source partitions, pairs of rarer fields cost
    // 10 %; without partitions, pairs of common ones save 3 %).
    std::vector<const internal::Field*> exact;
    uint64_t exact_cost = 0;
    for (const auto& [c, f] : ranked) {
      if (ExactStrings(*f)) {
        if (exact.empty()) exact_cost = c;
        exact.push_back(f);
      }
    }
    if (exact_cost >= pair_min_sharers_ && exact.size() >= 2 &&
        exact[0]->matchers.size() * exact[1]->matchers.size() <= 64) {
      indexed.assign({exact[0], exact[1]});
      plan.pair = true;
    }
    // The key a probe finds the sub-rule under for its most selective
    // field (the order of ids, below).
    if (!indexed.empty() && !indexed.front()->matchers.empty()) {
      plan.cluster =
          AnchorKey(*indexed.front(), indexed.front()->matchers.front());
    }
  }
  // Pass 3: ids. Sub-rules of one partition get consecutive ids, so that the
  // sub-rule, check and scratch entries an event touches sit close together
  // in memory; within a partition, those indexed under the same key for
  // their most selective field are adjacent, so that the preds of one index
  // list, and the candidates among them, share cache lines (measured +2.8 %
  // on the 10k benchmark). Sub-rule ids follow `order`.
  std::vector<size_t> order(placements.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (placements[a].partition != placements[b].partition) {
      return placements[a].partition < placements[b].partition;
    }
    return plans[a].cluster < plans[b].cluster;
  });
  // Pass 4: index each placed sub-rule under its chosen field(s), in id
  // order.
  for (size_t i : order) {
    const Placement& pl = placements[i];
    const IndexPlan& plan = plans[i];
    const internal::SubRule& sub = *pl.sub;
    Index::Partition& part = index->partitions[pl.partition];
    const auto sid = static_cast<uint32_t>(index->subrules.size());
    const bool has_absent = sub.required != sub.fields.size();
    if (plan.kind == IndexPlan::kAlwaysCheck) {
      index->subrules.push_back(
          Index::SubRuleInfo::For(pl.rule, false, true, index->checks.size()));
      index->subrule_patterns.push_back(&sub);
      index->always_check.push_back(sid);
      continue;
    }
    if (plan.kind == IndexPlan::kAlways) {
      // The partition field was the only required one: a candidate as soon
      // as the partition is probed (a match outright without exists:false).
      index->subrules.push_back(Index::SubRuleInfo::For(
          pl.rule, !has_absent, has_absent, index->checks.size()));
      index->subrule_patterns.push_back(&sub);
      part.always.push_back(sid);
      continue;
    }
    const std::vector<const internal::Field*>& indexed = plan.indexed;
    const internal::Field* pair[2] = {nullptr, nullptr};
    if (plan.pair) {
      pair[0] = indexed[0];
      pair[1] = indexed[1];
    }
    // Two indexed fields at most, so `bit` and `need` take two bits each.
    EVBUS_CHECK(indexed.size() <= 2 && sid < Pred::kMaxSubRules);
    const auto need = static_cast<uint8_t>(
        pair[0] != nullptr ? 1 : (1u << indexed.size()) - 1);
    const auto check_begin = static_cast<uint32_t>(index->checks.size());
    for (const internal::Field& f : sub.fields) {
      if (f.has_absent || &f == pl.partition_field ||
          std::find(indexed.begin(), indexed.end(), &f) != indexed.end()) {
        continue;
      }
      index->checks.push_back(
          Index::CheckField::For(index->PathId(f.path), f, &index->check_text,
                                 &index->check_globs, &index->check_fields));
    }
    // Cheapest checks first: inline comparisons, then globs, then the
    // compiled matchers.
    auto check_cost = [](const Index::CheckField& c) {
      return c.kind == Index::CheckField::kGeneric    ? 2
             : c.kind == Index::CheckField::kWildcard ? 1
                                                      : 0;
    };
    std::stable_sort(
        index->checks.begin() + check_begin, index->checks.end(),
        [&](const Index::CheckField& x, const Index::CheckField& y) {
          return check_cost(x) < check_cost(y);
        });
    const bool single = pl.partition_field == nullptr &&
                        sub.fields.size() == 1 && sub.required == 1;
    index->subrules.push_back(
        Index::SubRuleInfo::For(pl.rule, single, has_absent, check_begin));
    index->subrule_patterns.push_back(&sub);
    if (pair[0] != nullptr) {
      uint32_t a = index->PathId(pair[0]->path);
      uint32_t b = index->PathId(pair[1]->path);
      if (a > b) {
        std::swap(a, b);
        std::swap(pair[0], pair[1]);
      }
      auto [pit, fresh] = part.pair_ids.try_emplace(
          std::make_pair(a, b),
          static_cast<uint32_t>(part.pair_indexes.size()));
      if (fresh) part.pair_indexes.push_back({a, b, {}});
      Index::PairIndex& pi = part.pair_indexes[pit->second];
      const Pred pred{sid, 1, 1};  // bit 1 stands for both fields
      for (const Matcher& ma : pair[0]->matchers) {
        for (const Matcher& mb : pair[1]->matchers) {
          pi.by_key[PairKey(index->Intern(a, ma.str), index->Intern(b, mb.str))]
              .push_back(pred);
        }
      }
      continue;
    }
    for (size_t b = 0; b < indexed.size(); ++b) {
      const internal::Field& f = *indexed[b];
      PathIndex& idx = part.For(index->PathId(f.path));
      const Pred pred{sid, static_cast<uint8_t>(1u << b), need};
      // The inverted anything-but indexes hold one entry per pred: one
      // exclusion drops it. A field listing several anything-but
      // alternatives of one kind is satisfied when any of them accepts, so
      // those go to the scan list instead (each evaluated on its own).
      int ab_strings = 0;
      int ab_folded = 0;
      for (const Matcher& m : f.matchers) {
        ab_strings += m.kind == MatcherKind::kAnythingButStrings;
        ab_folded += m.kind == MatcherKind::kAnythingButIgnoreCase;
      }
      for (const Matcher& m : f.matchers) {
        const bool scan =
            (m.kind == MatcherKind::kAnythingButStrings && ab_strings > 1) ||
            (m.kind == MatcherKind::kAnythingButIgnoreCase && ab_folded > 1);
        if (scan) {
          idx.AddToGroup(&idx.scan, "", m, pred);
          continue;
        }
        index->AddMatcher(index->PathId(f.path), idx, m, pred);
      }
    }
  }
  for (const internal::SubRule* sub : index->subrule_patterns) {
    index->field_paths_begin.push_back(
        static_cast<uint32_t>(index->field_paths.size()));
    index->absent_fields_begin.push_back(
        static_cast<uint32_t>(index->absent_fields.size()));
    for (const internal::Field& f : sub->fields) {
      index->field_paths.push_back(index->PathId(f.path));
      if (f.has_absent) {
        index->absent_fields.push_back(
            {index->PathId(f.path), !f.has_positive});
      }
    }
  }
  index->absent_fields_begin.push_back(
      static_cast<uint32_t>(index->absent_fields.size()));
  for (Index::Partition& part : index->partitions) {
    for (auto& [path_id, idx] : part.paths) {
      std::sort(idx.numeric.begin(), idx.numeric.end(),
                [](const NumericEntry& a, const NumericEntry& b) {
                  return a.lo < b.lo;
                });
    }
    // Probe paths in id order (denser access to the per-path scratch).
    std::sort(part.paths.begin(), part.paths.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    part.path_pos = {};
    part.pair_ids = {};
    for (auto& [path_id, idx] : part.paths) {
      idx.group_pos = {};
      idx.scan.Seal();
      for (auto& [prefix, groups] : idx.wildcard_by_prefix) groups.Seal();
      idx.has = idx.Presence();
      if (path_id < index->dicts.size()) {
        idx.LayOutExact(index->dicts[path_id].size());
      }
    }
    part.slot_bits.assign((index->path_count + 63) / 64, 0);
    part.slot_index.assign(index->path_count, nullptr);
    for (const auto& [path_id, idx] : part.paths) {
      if (idx.has == 0) continue;
      part.slot_bits[path_id >> 6] |= uint64_t{1} << (path_id & 63);
      part.slot_index[path_id] = &idx;
    }
  }
  for (const auto& d : index->dicts) {
    index->frozen_dicts.push_back(internal::ShortStringMap::From(d));
  }
  index->dicts = {};
  index->filter = PathFilter::FromPaths(all_paths);
  if (index->subrule_count <= LiteralPrefilter::kMaxSubRules) {
    std::vector<const internal::SubRule*> subrules;
    for (const auto& compiled : index->patterns) {
      for (const internal::SubRule& sub : compiled->subrules) {
        subrules.push_back(&sub);
      }
    }
    index->prefilter = LiteralPrefilter::Build(subrules);
  }
  for (const auto& [path, id] : index->path_ids) {
    const uint32_t node =
        index->filter.Child(index->filter.root(), std::string_view(path));
    if (node >= PathFilter::kNone) continue;  // not a filter node
    if (index->node_path.size() <= node) {
      index->node_path.resize(node + 1, Index::kNoPath);
    }
    index->node_path[node] = id;
  }
  index->huge_pages_min_bytes = huge_pages_min_bytes_;
  index->consecutive_ids = !index->rule_ids.empty() &&
                           index->rule_ids.back() - index->rule_ids.front() ==
                               index->rule_ids.size() - 1;
  return std::shared_ptr<const RuleMatcher>(new RuleMatcher(std::move(index)));
}

void RuleMatcher::Match(const FlatEvent& event,
                        std::vector<uint32_t>* matched_rule_ids) const {
  matched_rule_ids->clear();
  const Index& ix = *index_;
  std::unique_ptr<Scratch> sc = ix.Acquire();
  sc->Begin(ix.subrules.size(), ix.path_count, ix.rule_ids.size());
  sc->Leaves(event.size());
  // Where each rule path's leaves are.
  const size_t n = event.size();
  if (event.filter_id() != 0 && event.filter_id() == ix.filter.id()) {
    // Parsed with our filter: leaves of one path share a node, which maps
    // to the path id directly.
    for (size_t i = 0; i < n;) {
      const uint32_t node = event.leaf(i).node;
      size_t j = i + 1;
      while (j < n && event.leaf(j).node == node) ++j;
      const uint32_t id =
          node < ix.node_path.size() ? ix.node_path[node] : Index::kNoPath;
      if (id != Index::kNoPath) {
        sc->SetRange(id, static_cast<uint32_t>(i), static_cast<uint32_t>(j));
      }
      i = j;
    }
  } else {
    for (size_t i = 0; i < n;) {
      const std::string_view path = event.path(event.leaf(i));
      size_t j = i + 1;
      while (j < n && event.path(event.leaf(j)) == path) ++j;
      auto it = ix.path_ids.find(path);
      if (it != ix.path_ids.end()) {
        sc->SetRange(it->second, static_cast<uint32_t>(i),
                     static_cast<uint32_t>(j));
      }
      i = j;
    }
  }
  ix.ProbePartition(ix.partitions[0], event, sc.get());
  if (ix.partition_path != Index::kNoPath && sc->Has(ix.partition_path)) {
    const auto [begin, end] = sc->path_range[ix.partition_path];
    for (uint32_t k = begin; k < end; ++k) {
      const FlatEvent::Leaf& leaf = event.leaf(k);
      if (leaf.kind != ValueKind::kString) continue;
      const std::string_view value = event.text(leaf);
      sc->partition_in_array = leaf.pos_size != 0 ? kPartitionInArray : 0;
      // A value's partition may hold the prefix partitions' sub-rules.
      bool covered = false;
      auto it = ix.partition_by_value.find(value);
      if (it != ix.partition_by_value.end()) {
        ix.ProbePartition(ix.partitions[it->second], event, sc.get());
        covered = ix.holds_prefixes[it->second];
      }
      if (!covered) {
        ix.partition_by_prefix.ForPrefixes(value, [&](uint32_t p) {
          ix.ProbePartition(ix.partitions[p], event, sc.get());
        });
      }
      sc->partition_in_array = 0;
    }
  }
  // Each candidate reads its info, then its first check: two dependent
  // loads that mostly miss the cache (the partition's entries are cold when
  // the previous event had another source). Requesting every candidate's
  // info, then every first check, before the pass lets those misses
  // overlap instead of queueing behind each other (measured +2.3 % and
  // +4.0 % on the 10k benchmark; also prefetching the checks' strings cost
  // 3.6 %).
  for (size_t c = 0; c < sc->candidate_count; ++c) {
    __builtin_prefetch(&ix.subrules[sc->candidate_buf[c]]);
  }
  for (size_t c = 0; c < sc->candidate_count; ++c) {
    // (One past the last check when the sub-rule has none: a valid
    // address, never read.)
    __builtin_prefetch(ix.checks.data() +
                       ix.subrules[sc->candidate_buf[c]].check_begin);
  }
  for (size_t c = 0; c < sc->candidate_count; ++c) {
    const uint32_t sid = sc->candidate_buf[c];
    const Index::SubRuleInfo& info = ix.subrules[sid];
    const Scratch::SubState& st = sc->subs[sid];
    // Every indexed field has a satisfying leaf. Without exists:false
    // fields, and with no hit inside an array (or only one field), the
    // array-consistency rule cannot fail.
    if (info.single()) {
      sc->Matched(info.rule());
      continue;
    }
    int array_fields = ArrayFields(st.array_bits);
    if (!ix.CheckFields(sid, event, *sc, &array_fields)) continue;
    const Index::Absence absence = info.has_absent()
                                       ? ix.CheckAbsent(sid, event, *sc)
                                       : Index::Absence::kHold;
    if (absence == Index::Absence::kFail) continue;
    // At most one required field needs a leaf inside an array, and every
    // absence holds: the leaves chosen are consistent, so the rule of
    // §2.2.5 cannot fail.
    if ((array_fields < 2 && absence == Index::Absence::kHold) ||
        ix.Evaluate(sid, event, *sc)) {
      sc->Matched(info.rule());
    }
  }
  for (uint32_t sid : ix.always_check) {
    // Every field allows exists:false.
    const Index::Absence absence = ix.CheckAbsent(sid, event, *sc);
    if (absence == Index::Absence::kFail) continue;
    if (absence == Index::Absence::kHold || ix.Evaluate(sid, event, *sc)) {
      sc->Matched(ix.subrules[sid].rule());
    }
  }
  // Rule positions follow ascending ids: reading the bit set in order gives
  // the ids sorted and unique (a sub-rule matched in two partitions, or two
  // sub-rules of one rule, set the same bit).
  for (size_t s = 0; s < sc->matched_words.size(); ++s) {
    for (uint64_t words = sc->matched_words[s]; words != 0;
         words &= words - 1) {
      const size_t w = s * 64 + static_cast<size_t>(__builtin_ctzll(words));
      for (uint64_t bits = sc->matched[w]; bits != 0; bits &= bits - 1) {
        const size_t rule = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
        matched_rule_ids->push_back(ix.consecutive_ids
                                        ? ix.rule_ids.front() +
                                              static_cast<uint32_t>(rule)
                                        : ix.rule_ids[rule]);
      }
      sc->matched[w] = 0;
    }
    sc->matched_words[s] = 0;
  }
  ix.Release(std::move(sc));
}

}  // namespace evbus::pattern
