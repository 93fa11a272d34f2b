// Runs shared/conformance/patterns.jsonl (the labelled EventBridge corpus)
// through Pattern::Compile / Pattern::Matches and RuleMatcher. The corpus lives
// beside the repository (../shared, or $EVBUS_CONFORMANCE_FILE); the test is
// skipped when it cannot be found.
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "server/common/json.h"
#include "server/pattern/flat_event.h"
#include "server/pattern/pattern.h"
#include "server/pattern/rule_matcher.h"

namespace evbus::pattern {
namespace {

std::string FindCorpus() {
  std::vector<std::string> candidates;
  if (const char* f = std::getenv("EVBUS_CONFORMANCE_FILE"))
    candidates.push_back(f);
  if (const char* src = std::getenv("EVBUS_SOURCE_DIR")) {
    candidates.push_back(std::string(src) +
                         "/../shared/conformance/patterns.jsonl");
  }
  candidates.push_back("../shared/conformance/patterns.jsonl");
  candidates.push_back("/work/shared/conformance/patterns.jsonl");
  for (const auto& c : candidates) {
    if (std::ifstream(c).good()) return c;
  }
  return "";
}

TEST(ConformanceTest, AgreesWithEveryLabel) {
  const std::string path = FindCorpus();
  if (path.empty()) GTEST_SKIP() << "conformance corpus not found";
  std::ifstream in(path);
  std::string line;
  int cases = 0;
  PatternLimits limits;
  limits.max_pattern_chars = 4096;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    absl::StatusOr<common::Json> c = common::ParseJson(line, "case");
    ASSERT_TRUE(c.ok());
    const std::string id = (*c)["id"].get<std::string>();
    const std::string expect = (*c)["expect"].get<std::string>();
    absl::StatusOr<Pattern> p =
        Pattern::Compile((*c)["pattern"].get<std::string>(), limits);
    ++cases;
    if (expect == "invalid") {
      ASSERT_FALSE(p.ok()) << id;
      const std::string reason = (*c)["reason_contains"].get<std::string>();
      EXPECT_NE(std::string(p.status().message()).find(reason),
                std::string::npos)
          << id << ": " << p.status().message();
      continue;
    }
    ASSERT_TRUE(p.ok()) << id << ": " << p.status();
    const std::string event = common::DumpJson((*c)["event"]);
    absl::StatusOr<FlatEvent> ev = FlatEvent::Parse(event);
    ASSERT_TRUE(ev.ok()) << id;
    EXPECT_EQ(p->Matches(*ev), expect == "match") << id;
    RuleMatcher::Builder b;
    b.Add(1, *p);
    auto m = b.Build();
    absl::StatusOr<FlatEvent> filtered =
        FlatEvent::Parse(event, m->path_filter());
    ASSERT_TRUE(filtered.ok());
    std::vector<uint32_t> ids;
    m->Match(*filtered, &ids);
    EXPECT_EQ(!ids.empty(), expect == "match") << id << " (RuleMatcher)";
  }
  EXPECT_EQ(cases, 325);
}

}  // namespace
}  // namespace evbus::pattern
