// libFuzzer target for server/pattern/: the input is a pattern and an event
// separated by the first newline. When both parse, every way of matching must
// agree with Pattern::Matches on the fully flattened event:
//   * Pattern::Matches on the event flattened with the pattern's path filter,
//   * a RuleMatcher holding only this rule, on the filtered and the full event;
//   * its literal prefilter (RuleMatcher::MayMatch) never rules out a match.
// Any disagreement aborts (a crash for libFuzzer).
//
// Built and run by tests/fuzz/run_pattern_fuzzer.sh; seeds in corpus/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/pattern/flat_event.h"
#include "server/pattern/pattern.h"
#include "server/pattern/rule_matcher.h"

namespace {

using evbus::pattern::FlatEvent;
using evbus::pattern::FlatEventParser;
using evbus::pattern::PathFilter;
using evbus::pattern::Pattern;
using evbus::pattern::RuleMatcher;

void Fail(const char* what, std::string_view pattern, std::string_view event,
          bool want, bool got) {
  std::fprintf(stderr,
               "pattern_fuzzer: %s disagrees with Pattern::Matches (want %d, "
               "got %d)\npattern: %.*s\nevent: %.*s\n",
               what, want, got, static_cast<int>(pattern.size()),
               pattern.data(), static_cast<int>(event.size()), event.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return 0;
  const std::string_view pattern_text = input.substr(0, nl);
  const std::string_view event_text = input.substr(nl + 1);

  evbus::pattern::PatternLimits limits;
  limits.max_pattern_chars = 4096;
  absl::StatusOr<Pattern> pattern = Pattern::Compile(pattern_text, limits);
  if (!pattern.ok()) return 0;
  absl::StatusOr<FlatEvent> full = FlatEvent::Parse(event_text);
  if (!full.ok()) return 0;
  const bool want = pattern->Matches(*full);

  const PathFilter filter = PathFilter::FromPaths(pattern->paths());
  absl::StatusOr<FlatEvent> filtered = FlatEvent::Parse(event_text, filter);
  if (!filtered.ok()) {
    std::fprintf(stderr, "pattern_fuzzer: filtered parse failed\n");
    std::abort();
  }
  if (pattern->Matches(*filtered) != want) {
    Fail("Matches(filtered)", pattern_text, event_text, want, !want);
  }

  RuleMatcher::Builder builder;
  builder.Add(7, *pattern);
  std::shared_ptr<const RuleMatcher> matcher = builder.Build();
  std::vector<uint32_t> ids;
  absl::StatusOr<FlatEvent> by_matcher =
      FlatEvent::Parse(event_text, matcher->path_filter());
  if (!by_matcher.ok()) {
    std::fprintf(stderr, "pattern_fuzzer: matcher-filtered parse failed\n");
    std::abort();
  }
  matcher->Match(*by_matcher, &ids);
  bool got = ids.size() == 1 && ids[0] == 7;
  if (got != want || ids.size() > 1) {
    Fail("RuleMatcher(filtered)", pattern_text, event_text, want, got);
  }
  matcher->Match(*full, &ids);
  got = ids.size() == 1 && ids[0] == 7;
  if (got != want || ids.size() > 1) {
    Fail("RuleMatcher(full)", pattern_text, event_text, want, got);
  }
  // The event parsed, so it is valid JSON. Where its filtered parse stayed
  // on the scanner (no number out of range anywhere, which is what
  // PutEvents guarantees), flattened as evbusd routes it (values no rule
  // reads skipped unchecked) it matches the same.
  static FlatEventParser* checking = new FlatEventParser();
  static FlatEventParser* trusted =
      new FlatEventParser(FlatEventParser::Options{.trusted = true});
  FlatEvent checked;
  const uint64_t dom_before = checking->DomParseCountForTesting();
  if (checking->Parse(event_text, &matcher->path_filter(), &checked).ok() &&
      checking->DomParseCountForTesting() == dom_before) {
    FlatEvent routed;
    if (!trusted->Parse(event_text, &matcher->path_filter(), &routed).ok()) {
      std::fprintf(stderr, "pattern_fuzzer: trusted parse failed\n");
      std::abort();
    }
    matcher->Match(routed, &ids);
    got = ids.size() == 1 && ids[0] == 7;
    if (got != want || ids.size() > 1) {
      Fail("RuleMatcher(trusted)", pattern_text, event_text, want, got);
    }
  }
  // The literal prefilter may say "maybe" to anything, but never "no" to
  // an event the rule matches.
  if (want && !matcher->MayMatch(event_text)) {
    Fail("RuleMatcher::MayMatch", pattern_text, event_text, want, false);
  }
  return 0;
}
