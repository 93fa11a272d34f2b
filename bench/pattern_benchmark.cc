// Google Benchmark micro-benchmarks for server/pattern/ (docs/performance.md):
// flattening one event, matching it against 5 and 10,000 rules, and compiling
// one pattern. Inputs are generated in-process (fixed seed), so the binary
// needs no data files.
//   pattern_benchmark --benchmark_filter=Match
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "server/pattern/flat_event.h"
#include "server/pattern/pattern.h"
#include "server/pattern/rule_matcher.h"

namespace {

using evbus::pattern::FlatEvent;
using evbus::pattern::FlatEventParser;
using evbus::pattern::Pattern;
using evbus::pattern::RuleMatcher;

const char* const kSources[] = {"aws.ec2",         "aws.s3",
                                "com.shop.orders", "com.shop.payments",
                                "org.iot.sensors", "io.auth.sessions"};
const char* const kStates[] = {"pending",    "running", "stopped",
                               "terminated", "failed",  "queued"};
const char* const kCities[] = {"Seattle", "Berlin", "Paris", "Tokyo",
                               "Madrid",  "Austin", "Osaka", "Porto"};

// A ~1 KB EventBridge envelope with ~30 leaves, nested objects and arrays.
std::string MakeEvent(int i) {
  return absl::StrCat(
      R"({"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467)",
      100 + i % 900, R"(","detail-type":"Order Placed","source":")",
      kSources[i % 6],
      R"(","account":"123456789012","time":"2024-06-01T12:00:00Z",)",
      R"("region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],)",
      R"("detail":{"state":")", kStates[i % 6], R"(","instance-id":"i-0abc)", i,
      R"(","user":{"name":"alpha.bravo","id":"u-)", i % 1000,
      R"(","tier":"pro","age":)", 18 + i % 60, R"(},"order":{"id":"ord-)",
      10000000 + i, R"(","total":)", (i % 5000) + 0.25,
      R"(,"currency":"EUR"},"address":{"country":"DE","city":")",
      kCities[i % 8], R"(","zip":"10115"},"metrics":{"latency-ms":)",
      (i * 7) % 900 + 0.5, R"(,"count":)", i % 10000,
      R"(,"ratio":0.42},"device":{"type":"ios","ip":"10.0.)", i % 256,
      R"(.7"},"object":{"key":"uploads/alpha/0042/bravo.jpg","size":123456},)",
      R"("priority":3,"category":"books","enabled":true,"tags":["prod","blue"],)",
      R"("items":[{"sku":"SKU-00042","qty":2,"price":19.99},{"sku":"SKU-00043","qty":1,"price":250}],)",
      R"("note":"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore"}})");
}

const char* const kFiveRules[] = {
    R"({"source":["com.shop.orders"],"detail-type":["Order Placed"]})",
    R"({"source":[{"prefix":"aws."}],"detail":{"state":["running","stopped"]}})",
    R"({"detail":{"address":{"country":["DE","FR"]},"user":{"tier":["pro"]}}})",
    R"({"region":[{"prefix":"eu-"}],"detail":{"category":["books"]}})",
    R"({"source":["org.iot.sensors"],"detail":{"device":{"type":["ios"]}}})",
};

// 10,000 mixed rules: exact, prefix, numeric, wildcard, anything-but.
std::vector<std::string> MixedRules(int n) {
  std::mt19937 rng(42);
  auto pick = [&](int k) { return static_cast<int>(rng() % k); };
  std::vector<std::string> out;
  out.reserve(n);
  for (int r = 0; r < n; ++r) {
    std::string detail;
    switch (pick(5)) {
      case 0:
        detail = absl::StrCat(R"("state":[")", kStates[pick(6)], R"("])");
        break;
      case 1:
        detail = absl::StrCat(R"("order":{"id":[{"prefix":"ord-)", pick(100),
                              R"("}]})");
        break;
      case 2:
        detail = absl::StrCat(R"("metrics":{"latency-ms":[{"numeric":[">",)",
                              pick(900), R"(,"<=",)", 900 + pick(100), "]}]}");
        break;
      case 3:
        detail = absl::StrCat(R"("object":{"key":[{"wildcard":"uploads/*/)",
                              pick(100), R"(*.jpg"}]})");
        break;
      default:
        detail = absl::StrCat(R"("address":{"city":[{"anything-but":[")",
                              kCities[pick(8)], R"("]}]})");
        break;
    }
    // One rule in ten names the events' detail-type (a few matches/event).
    const std::string type =
        pick(10) == 0 ? "Order Placed" : absl::StrCat("Type ", pick(50));
    out.push_back(absl::StrCat(R"({"source":[")", kSources[pick(6)],
                               R"("],"detail-type":[")", type,
                               R"("],"detail":{)", detail, "}}"));
  }
  return out;
}

std::shared_ptr<const RuleMatcher> BuildMatcher(
    const std::vector<std::string>& rules) {
  RuleMatcher::Builder builder;
  for (size_t i = 0; i < rules.size(); ++i) {
    absl::StatusOr<Pattern> p = Pattern::Compile(rules[i]);
    if (p.ok()) builder.Add(static_cast<uint32_t>(i), *std::move(p));
  }
  return builder.Build();
}

std::vector<std::string> Events() {
  std::vector<std::string> events;
  for (int i = 0; i < 64; ++i) events.push_back(MakeEvent(i));
  return events;
}

void BM_FlattenEvent(benchmark::State& state) {
  const std::vector<std::string> events = Events();
  FlatEventParser parser;
  FlatEvent event;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        parser.Parse(events[i++ % events.size()], nullptr, &event).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(events[0].size()));
}
BENCHMARK(BM_FlattenEvent);

void MatchLoop(benchmark::State& state, const RuleMatcher& matcher) {
  const std::vector<std::string> events = Events();
  FlatEventParser parser;
  FlatEvent event;
  std::vector<uint32_t> ids;
  size_t i = 0;
  int64_t matches = 0;
  for (auto _ : state) {
    if (parser
            .Parse(events[i++ % events.size()], &matcher.path_filter(), &event)
            .ok()) {
      matcher.Match(event, &ids);
      matches += static_cast<int64_t>(ids.size());
    }
  }
  state.counters["matches_per_event"] = benchmark::Counter(
      static_cast<double>(matches) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Parse (with the matcher's path filter) + match, as a matching worker does.
void BM_Match5Rules(benchmark::State& state) {
  std::vector<std::string> rules(std::begin(kFiveRules), std::end(kFiveRules));
  MatchLoop(state, *BuildMatcher(rules));
}
BENCHMARK(BM_Match5Rules);

void BM_Match10kRules(benchmark::State& state) {
  MatchLoop(state, *BuildMatcher(MixedRules(10000)));
}
BENCHMARK(BM_Match10kRules);

void BM_CompilePattern(benchmark::State& state) {
  const std::string pattern =
      R"({"source":["com.shop.orders"],"detail-type":["Order Placed"],)"
      R"("detail":{"state":[{"anything-but":["failed","queued"]}],)"
      R"("order":{"total":[{"numeric":[">",100,"<=",5000]}]},)"
      R"("object":{"key":[{"wildcard":"uploads/*.jpg"}]}}})";
  for (auto _ : state) {
    benchmark::DoNotOptimize(Pattern::Compile(pattern).ok());
  }
}
BENCHMARK(BM_CompilePattern);

void BM_Build10kRules(benchmark::State& state) {
  const std::vector<std::string> rules = MixedRules(10000);
  std::vector<Pattern> compiled;
  for (const std::string& r : rules) compiled.push_back(*Pattern::Compile(r));
  for (auto _ : state) {
    RuleMatcher::Builder builder;
    for (size_t i = 0; i < compiled.size(); ++i) {
      builder.Add(static_cast<uint32_t>(i), compiled[i]);
    }
    benchmark::DoNotOptimize(builder.Build());
  }
}
BENCHMARK(BM_Build10kRules)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
