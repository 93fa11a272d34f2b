#include "bench/match_bench.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/huge_pages.h"
#include "server/common/json.h"
#include "server/pattern/flat_event.h"
#include "server/pattern/pattern.h"
#include "server/pattern/rule_matcher.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream s;
  s << f.rdbuf();
  *out = s.str();
  return true;
}

// Pattern JSON text of `v`: a string holds the pattern; anything else is it.
std::string PatternText(const common::Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return common::DumpJson(v);
}

// Collects the pattern texts of a rule file (see match_bench.h for forms).
bool LoadRuleTexts(const std::string& path, const std::string& set,
                   std::vector<std::string>* out) {
  std::string text;
  if (!ReadFile(path, &text)) {
    std::fprintf(stderr, "evbus-bench: cannot read %s\n", path.c_str());
    return false;
  }
  absl::StatusOr<common::Json> doc =
      common::ParseJson(absl::string_view(text.data(), text.size()), path);
  if (!doc.ok()) {
    std::fprintf(stderr, "evbus-bench: %s\n",
                 std::string(doc.status().message()).c_str());
    return false;
  }
  if (doc->is_array()) {
    for (const common::Json& r : *doc) out->push_back(PatternText(r));
    return true;
  }
  if (!doc->is_object()) {
    std::fprintf(stderr, "evbus-bench: %s: not an array or object\n",
                 path.c_str());
    return false;
  }
  auto sets = doc->find("sets");
  if (sets != doc->end() && sets->is_array()) {
    bool found = false;
    for (const common::Json& s : *sets) {
      if (!s.is_object() || !s.contains("rules")) continue;
      if (!set.empty() && s.value("name", std::string()) != set) continue;
      found = true;
      for (const common::Json& r : s["rules"]) out->push_back(PatternText(r));
    }
    if (!found) {
      std::fprintf(stderr, "evbus-bench: %s: no rule set %s\n", path.c_str(),
                   set.c_str());
    }
    return found;
  }
  for (const auto& [name, r] : doc->items()) out->push_back(PatternText(r));
  return true;
}

bool LoadEvents(const std::string& path, std::vector<std::string>* out,
                size_t* bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "evbus-bench: cannot read %s\n", path.c_str());
    return false;
  }
  std::string line;
  *bytes = 0;
  while (std::getline(f, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    *bytes += line.size();
    out->push_back(std::move(line));
  }
  return true;
}

size_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

size_t ResidentBytes() {
  std::ifstream f("/proc/self/statm");
  size_t total = 0;
  size_t resident = 0;
  if (!(f >> total >> resident)) return 0;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

long long Delta(size_t after, size_t before) {
  return static_cast<long long>(after) - static_cast<long long>(before);
}

}  // namespace

int RunMatchBench(const std::string& rules_file, const std::string& events_file,
                  const MatchBenchOptions& options) {
  std::vector<std::string> rule_texts;
  if (!LoadRuleTexts(rules_file, options.set, &rule_texts)) return 1;
  std::vector<std::string> lines;
  size_t event_bytes = 0;
  if (!LoadEvents(events_file, &lines, &event_bytes) || lines.empty()) {
    if (lines.empty()) std::fprintf(stderr, "evbus-bench: no events\n");
    return 1;
  }
  // The events, back to back in one buffer (with --huge-pages, in huge
  // pages: see MatchBenchOptions::huge_pages).
  std::string pool;
  pool.reserve(event_bytes);
  for (const std::string& line : lines) pool += line;
  std::vector<std::string_view> events;
  for (size_t at = 0; const std::string& line : lines) {
    events.emplace_back(pool.data() + at, line.size());
    at += line.size();
  }
  lines = {};
  if (options.huge_pages != 0 &&
      pool.size() >= 2 * common::HugePageTally::kRegion) {
    common::HugePageTally tally;
    tally.Add(pool.data(), pool.size());
    tally.Apply(1);
  }

  // Compile + index. Pattern objects live on only inside the matcher (and in
  // `patterns` when verifying), so the heap delta is the compiled set.
  malloc_trim(0);
  const size_t heap0 = HeapInUse();
  const size_t rss0 = ResidentBytes();
  const Clock::time_point t0 = Clock::now();
  size_t invalid = 0;
  std::shared_ptr<const pattern::RuleMatcher> matcher;
  std::vector<std::pair<uint32_t, pattern::Pattern>> patterns;
  double build_seconds = 0;
  {
    pattern::RuleMatcher::Builder builder;
    if (options.huge_pages == 0) builder.set_huge_pages_min_bytes(0);
    for (size_t i = 0; i < rule_texts.size(); ++i) {
      absl::StatusOr<pattern::Pattern> p =
          pattern::Pattern::Compile(rule_texts[i]);
      if (!p.ok()) {
        if (invalid++ < 5) {
          std::fprintf(stderr, "evbus-bench: rule %zu: %s\n", i,
                       std::string(p.status().message()).c_str());
        }
        continue;
      }
      if (options.verify_events > 0) {
        patterns.emplace_back(static_cast<uint32_t>(i), *p);
      }
      builder.Add(static_cast<uint32_t>(i), *std::move(p));
    }
    const Clock::time_point tb = Clock::now();
    matcher = builder.Build();
    matcher->AdviseHugePages();  // as evbusd does (off with --huge-pages 0)
    build_seconds = SecondsSince(tb);
  }
  const double compile_seconds = SecondsSince(t0);
  const long long heap_delta = Delta(HeapInUse(), heap0);
  const long long rss_delta = Delta(ResidentBytes(), rss0);
  if (matcher->rule_count() == 0) {
    std::fprintf(stderr, "evbus-bench: no rule compiled\n");
    return 2;
  }

  pattern::FlatEventParser parser;
  // What evbusd routes its envelopes with: skipped values left unchecked.
  pattern::FlatEventParser trusted_parser(
      pattern::FlatEventParser::Options{.trusted = true});
  pattern::FlatEvent event;
  std::vector<uint32_t> ids;
  const pattern::PathFilter& filter = matcher->path_filter();

  const bool trusted = options.trusted != 0;
  // The parse timed and verified: evbusd's for its envelopes when trusted.
  pattern::FlatEventParser& routing = trusted ? trusted_parser : parser;
  if (trusted) {
    // What PutEvents guarantees before routing: every event is valid JSON.
    for (size_t e = 0; e < events.size(); ++e) {
      if (!parser.Parse(events[e], nullptr, &event).ok()) {
        std::fprintf(
            stderr, "evbus-bench: --trusted: event %zu is not valid JSON\n", e);
        return 1;
      }
    }
  }
  if (options.verify_events > 0) {
    pattern::FlatEvent full;
    const size_t n =
        std::min(events.size(), static_cast<size_t>(options.verify_events));
    for (size_t e = 0; e < n; ++e) {
      if (!routing.Parse(events[e], &filter, &event).ok()) continue;
      matcher->Match(event, &ids);
      if (!parser.Parse(events[e], nullptr, &full).ok()) continue;
      std::vector<uint32_t> want;
      for (const auto& [id, p] : patterns) {
        if (p.Matches(full)) want.push_back(id);
      }
      if (trusted && !want.empty() && !matcher->MayMatch(events[e])) {
        std::fprintf(stderr,
                     "evbus-bench: verify: event %zu: MayMatch rejected an "
                     "event %zu rules match\n",
                     e, want.size());
        return 1;
      }
      if (want != ids) {
        std::fprintf(stderr,
                     "evbus-bench: verify: event %zu: RuleMatcher found %zu "
                     "rules, Pattern::Matches %zu\n",
                     e, ids.size(), want.size());
        return 1;
      }
    }
    std::fprintf(stderr, "evbus-bench: verified %zu events\n", n);
  }

  long long matched_events = 0;
  long long matches = 0;
  long long parse_errors = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  size_t next = 0;
  while (true) {
    for (int k = 0; k < 256; ++k) {
      // Flattening alone is measured on every event, not only on those the
      // prefilter lets through.
      if (trusted && !options.flatten_only &&
          !matcher->MayMatch(events[next])) {
        ++matched_events;  // no rule can match: nothing to flatten
        if (++next == events.size()) next = 0;
        continue;
      }
      if (!routing.Parse(events[next], &filter, &event).ok()) {
        ++parse_errors;
      } else {
        if (!options.flatten_only) matcher->Match(event, &ids);
        matches += static_cast<long long>(ids.size());
      }
      ++matched_events;
      if (++next == events.size()) next = 0;
    }
    elapsed = SecondsSince(start);
    const bool one_pass =
        matched_events >= static_cast<long long>(events.size());
    if (one_pass && elapsed >= options.seconds) break;
    if (options.max_events > 0 && matched_events >= options.max_events) break;
    if (elapsed >= 10 * options.seconds + 60) break;  // hard bound
  }

  std::printf(
      "{\"rules_file\": \"%s\", \"rule_count\": %zu, \"subrule_count\": %zu, "
      "\"invalid_rules\": %zu, \"event_count\": %zu, \"event_bytes_avg\": "
      "%.0f, \"compile_seconds\": %.4f, \"build_seconds\": %.4f, "
      "\"compiled_memory_bytes\": %lld, \"compiled_rss_bytes\": %lld, "
      "\"events_matched\": %lld, \"seconds\": %.3f, \"events_per_second\": "
      "%.0f, \"matches\": %lld, \"matches_per_event\": %.3f, "
      "\"parse_errors\": %lld, \"trusted\": %d, \"prefilter\": %s, "
      "\"huge_pages\": %d}\n",
      rules_file.c_str(), matcher->rule_count(), matcher->subrule_count(),
      invalid, events.size(),
      static_cast<double>(event_bytes) / static_cast<double>(events.size()),
      compile_seconds, build_seconds, heap_delta, rss_delta, matched_events,
      elapsed, static_cast<double>(matched_events) / elapsed, matches,
      static_cast<double>(matches) / static_cast<double>(matched_events),
      parse_errors, trusted ? 1 : 0,
      matcher->has_prefilter() ? "true" : "false", options.huge_pages);
  std::fflush(stdout);
  return 0;
}

}  // namespace evbus::bench
