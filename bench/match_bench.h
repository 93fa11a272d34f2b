// File: bench/match_bench.h
//
// `evbus-bench match`: single-threaded throughput of the pattern engine
// (server/pattern/). Loads a rule set, compiles it into a RuleMatcher (timed,
// with the memory the compiled set takes), then flattens and matches events in
// a loop for a bounded time with one reused FlatEventParser and the matcher's
// path filter, as the daemon's matching workers do.
//
// Rule files: a JSON array of pattern objects (rule id = index), an object
// {"name": pattern, ...} (event-ruler's benchmark form; ids in file order), or
// shared/bench/cl2-rules.json's {"sets": [{"name", "rules": [...]}, ...]}
// (every set, or only the one named by `set`). A pattern may also be given as
// a JSON string holding the pattern. Events: JSON Lines, one event object per
// line (blank lines skipped).
//
// Thread safety: RunMatchBench is thread-compatible (it prints to stdout).
//
// Example:
//   evbus::bench::MatchBenchOptions o;
//   o.seconds = 3;
//   return evbus::bench::RunMatchBench("rules.json", "events.jsonl", o);
#pragma once

#include <string>

namespace evbus::bench {

struct MatchBenchOptions {
  // How long the matching loop runs (at least one pass over the events).
  double seconds = 3;
  // Hard cap on matched events (0 = none); bounds the run on fast machines.
  long long max_events = 0;
  // cl2-rules.json form only: the set to load (empty = all sets).
  std::string set;
  // When > 0: before timing, checks RuleMatcher against Pattern::Matches for
  // the first `verify_events` events and fails on any disagreement.
  int verify_events = 0;
  // 1: only flatten each event along the rules' paths (no Match, and no
  // prefilter: every event), to measure the parsing share of the time.
  int flatten_only = 0;
  // 1 (the default): route as evbusd does. Its envelopes are valid JSON
  // when it routes them (PutEvents validated the Detail already), so each
  // is first put through RuleMatcher::MayMatch, and flattened and matched
  // only when that says a rule may match, skipping unchecked the values no
  // rule reads (FlatEventParser::Options::trusted). Here the events are
  // validated once before timing, as PutEvents would (an invalid one is an
  // error).
  // Verification also checks that MayMatch never rejects an event some
  // rule matches.
  // 0: every event is flattened, and so validated in full, every time: the
  // cost of matching text nobody has validated.
  int trusted = 1;
  // 1 (the default): the matcher backs its index and compiled patterns with
  // huge pages, as in evbusd (RuleMatcher::Builder::set_huge_pages_min_bytes),
  // and the events are read from one buffer backed the same way, as evbusd
  // routes an envelope it has just built rather than one of 20,000 in a
  // cold 20 MB pool. 0: neither.
  int huge_pages = 1;
};

// Prints one JSON object to stdout:
//   {"rule_count", "subrule_count", "event_count", "event_bytes_avg",
//    "compile_seconds" (Pattern::Compile of every rule + Build),
//    "build_seconds" (Build alone), "compiled_memory_bytes" (heap growth
//    while compiling and indexing: mallinfo2), "compiled_rss_bytes" (RSS
//    growth: /proc/self/statm), "events_matched", "seconds",
//    "events_per_second", "matches" (total matched rule ids),
//    "matches_per_event", "parse_errors", "invalid_rules", "trusted",
//    "prefilter", "huge_pages"}
// Returns 0, 1 on unreadable input or a verification failure, 2 when no rule
// compiled.
int RunMatchBench(const std::string& rules_file, const std::string& events_file,
                  const MatchBenchOptions& options = {});

}  // namespace evbus::bench
