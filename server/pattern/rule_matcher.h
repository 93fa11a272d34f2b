// File: server/pattern/rule_matcher.h
//
// RuleMatcher: many compiled patterns (rules) merged into one immutable index
// over field paths and values, in the spirit of aws/event-ruler and quamina.
// Matching an event looks up each of the event's (interesting) leaves in the
// index of its path: hash lookups for exact / equals-ignore-case values,
// per-length hash lookups for prefixes, suffixes and CIDR blocks, a sorted
// scan for numeric ranges, and direct evaluation only for operators that
// cannot be indexed (anything-but, wildcards without a literal prefix). Only
// sub-rules that received a hit (plus sub-rules made solely of exists:false
// fields) are evaluated, so the per-event cost does not grow with rules that
// cannot match.
//
// Thread safety: RuleMatcher is immutable and thread-safe; hold it in a
// std::shared_ptr<const RuleMatcher> and swap the pointer to update. Builder is
// thread-compatible.
//
// Example:
//   RuleMatcher::Builder builder;
//   builder.Add(7, *Pattern::Compile(R"({"source":["aws.ec2"]})"));
//   std::shared_ptr<const RuleMatcher> matcher = builder.Build();
//   FlatEventParser parser;  // one per thread
//   FlatEvent event;
//   if (parser.Parse(json, &matcher->path_filter(), &event).ok()) {
//     std::vector<uint32_t> ids;
//     matcher->Match(event, &ids);  // {7} when source is "aws.ec2"
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/pattern/flat_event.h"
#include "server/pattern/pattern.h"

namespace evbus::pattern {

class RuleMatcher {
 public:
  // Collects rules and builds matchers. Compiled patterns are kept (shared,
  // not copied), so Add/Remove never recompile and Build() only re-indexes.
  // Copyable, so a daemon can keep one Builder as the source of truth.
  class Builder {
   public:
    // Adds rule `rule_id`, replacing any rule with the same id.
    Builder& Add(uint32_t rule_id, Pattern pattern);
    // Removes rule `rule_id`; returns false when it was not present.
    bool Remove(uint32_t rule_id);
    size_t size() const { return rules_.size(); }
    // Once at least this many sub-rules pin one field path to exact strings
    // (typically `source`), the matcher partitions the rules by that field's
    // value and probes only the partitions of the event's values there. 0
    // turns partitioning off. Does not change results, only speed.
    Builder& set_partition_min_subrules(size_t n) {
      partition_min_subrules_ = n;
      return *this;
    }
    // A sub-rule with two exact-string fields is indexed under the pair of
    // values (one key) when the more selective of the two is shared by at
    // least this many sub-rules of its partition; otherwise under each field
    // separately. Does not change results, only speed.
    Builder& set_pair_min_sharers(size_t n) {
      pair_min_sharers_ = n;
      return *this;
    }
    // The size from which AdviseHugePages() acts on the built matcher
    // (its index and compiled patterns). 0 turns it off.
    Builder& set_huge_pages_min_bytes(size_t n) {
      huge_pages_min_bytes_ = n;
      return *this;
    }
    // Builds an immutable matcher over the current rules. Cost is linear in
    // the total size of the compiled rules.
    std::shared_ptr<const RuleMatcher> Build() const;

   private:
    std::map<uint32_t, Pattern> rules_;
    size_t partition_min_subrules_ = 32;
    size_t pair_min_sharers_ = 64;
    size_t huge_pages_min_bytes_ = size_t{8} << 20;
  };

  ~RuleMatcher();
  RuleMatcher(const RuleMatcher&) = delete;
  RuleMatcher& operator=(const RuleMatcher&) = delete;

  // Replaces *matched_rule_ids with the ids of the rules `event` matches,
  // sorted ascending and unique. `event` must have been flattened without a
  // filter or with path_filter().
  void Match(const FlatEvent& event,
             std::vector<uint32_t>* matched_rule_ids) const;

  // Asks the kernel to back the memory this matcher's index and compiled
  // patterns occupy with transparent huge pages, once they take at least
  // Builder::set_huge_pages_min_bytes (default 8 MB; Linux 6.1+, best
  // effort: common/huge_pages.h). Each event reads a few hundred scattered
  // cache lines of them, and with 4 KB pages most of those reads also walk
  // the page tables. Costs ~1 ms per MB (the kernel copies the pages), so
  // call it after Build(), outside locks that matching waits on. Does not
  // change results; grows the resident size by at most the unpopulated
  // pages of the 2 MB regions taken.
  void AdviseHugePages() const;

  // The paths any rule tests; pass to FlatEventParser::Parse so that only
  // those parts of an event are flattened.
  const PathFilter& path_filter() const;

  // A quick test on the event's JSON text before flattening it: false only
  // when no rule can match (see literal_prefilter.h; active for sets of up
  // to 64 sub-rules that pin fields to literal strings, else always true).
  // REQUIRES: `valid_json` is valid JSON (nothing is validated: use it for
  // envelopes evbusd built, not for untrusted input, whose errors Parse
  // must report).
  bool MayMatch(std::string_view valid_json) const;
  bool has_prefilter() const;

  size_t rule_count() const;
  size_t subrule_count() const;

 private:
  struct Index;
  explicit RuleMatcher(std::unique_ptr<Index> index);
  std::unique_ptr<Index> index_;
};

}  // namespace evbus::pattern
