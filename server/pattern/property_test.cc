// Property test: RuleMatcher and Pattern::Matches agree with the reference
// interpreter (internal/reference_matcher) on generated patterns and events.
// Fixed seed, bounded loops.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/common/json.h"
#include "server/pattern/flat_event.h"
#include "server/pattern/internal/reference_matcher.h"
#include "server/pattern/pattern.h"
#include "server/pattern/rule_matcher.h"

namespace evbus::pattern {
namespace {

using common::Json;

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  int Int(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Coin(int percent) { return Int(100) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(static_cast<int>(v.size())))];
  }

  Json Scalar() {
    static const std::vector<std::string> kStrings = {"a",
                                                      "ab",
                                                      "abc",
                                                      "B",
                                                      "Abc",
                                                      "x-1",
                                                      "10.0.0.7",
                                                      "10.1.2.3",
                                                      "2001:db8::1",
                                                      "",
                                                      "ärger",
                                                      "ÄRGER",
                                                      "a*b",
                                                      "dir/init/file",
                                                      "5"};
    switch (Int(6)) {
      case 0:
      case 1:
      case 2:
        return Pick(kStrings);
      case 3:
        return Pick(std::vector<double>{0, 1, 5, 5.5, -3, 100, 1e3});
      case 4:
        return Coin(50);
      default:
        return nullptr;
    }
  }

  Json Value(int depth) {
    const int r = Int(10);
    if (r < 6 || depth > 2) return Scalar();
    if (r < 8) {
      Json arr = Json::array();
      const int n = Int(3);
      for (int i = 0; i < n; ++i) arr.push_back(Value(depth + 1));
      return arr;
    }
    Json obj = Json::object();
    obj["d"] = Value(depth + 1);
    if (Coin(50)) obj["e"] = Value(depth + 1);
    return obj;
  }

  std::string Event() { return common::DumpJson(EventObject()); }

  Json EventObject() {
    Json ev = Json::object();
    ev["version"] = "0";
    ev["id"] = "id-1";
    ev["detail-type"] = Pick(std::vector<std::string>{"T1", "T2", "t1"});
    ev["source"] = Pick(std::vector<std::string>{"a", "ab", "svc.x"});
    ev["account"] = "1";
    ev["time"] = "2024-01-01T00:00:00Z";
    ev["region"] = "us-east-1";
    ev["resources"] = Json::array();
    if (Coin(50)) ev["resources"].push_back(Scalar());
    Json detail = Json::object();
    if (Coin(70)) detail["a"] = Value(1);
    if (Coin(60)) detail["b"] = Value(1);
    if (Coin(30)) detail["c.d"] = Value(2);
    if (Coin(50)) detail["c"] = Value(1);
    if (Coin(60)) {
      Json items = Json::array();
      const int n = Int(4);
      for (int i = 0; i < n; ++i) {
        Json item = Json::object();
        if (Coin(80)) item["sku"] = Scalar();
        if (Coin(70)) item["qty"] = Coin(70) ? Json(Int(10)) : Scalar();
        if (Coin(30)) item["tags"] = Json::array({Scalar(), Scalar()});
        items.push_back(item);
      }
      detail["items"] = items;
    }
    ev["detail"] = detail;
    return ev;
  }

  Json Matcher() {
    static const std::vector<std::string> kStr = {"a", "ab",       "Ab",  "x",
                                                  "",  "10.0.0.7", "ärg", "5"};
    switch (Int(17)) {
      case 0:
      case 1:
        return Scalar();
      case 2:
        return Json{{"prefix", Pick(kStr)}};
      case 3:
        return Json{{"suffix", Pick(kStr)}};
      case 4:
        return Json{{"prefix", Json{{"equals-ignore-case", Pick(kStr)}}}};
      case 5:
        return Json{{"equals-ignore-case", Pick(kStr)}};
      case 6:
        return Json{{"wildcard",
                     Pick(std::vector<std::string>{
                         "a*", "*b*", "*", "", "a\\*b", "*init*", "10.*"})}};
      case 7:
        return Json{{"anything-but", Pick(kStr)}};
      case 8:
        return Json{{"anything-but", Json::array({1, 5})}};
      case 9:
        return Json{{"anything-but", Json{{"prefix", "a"}}}};
      case 10:
        return Json{
            {"anything-but", Json{{"suffix", Json::array({"b", "c"})}}}};
      case 11:
        return Json{{"anything-but", Json{{"equals-ignore-case", "AB"}}}};
      case 12:
        return Json{{"anything-but", Json{{"wildcard", "*b"}}}};
      case 13: {
        const int lo = Int(6);
        if (Coin(50)) return Json{{"numeric", Json::array({">", lo})}};
        return Json{{"numeric", Json::array({">=", lo, "<", lo + 1 + Int(5)})}};
      }
      case 14:
        return Json{{"exists", Coin(50)}};
      case 15:
        return Json{
            {"cidr", Pick(std::vector<std::string>{"10.0.0.0/24", "10.0.0.0/8",
                                                   "2001:db8::/64"})}};
      default:
        return Json{{"numeric", Json::array({"=", Int(6)})}};
    }
  }

  // Inserts `list` at dotted `path`, randomly using nested or dotted keys.
  void Insert(Json* obj, const std::string& path, Json list) {
    const size_t dot = path.find('.');
    if (dot == std::string::npos || Coin(30)) {
      (*obj)[path] = std::move(list);
      return;
    }
    const std::string head = path.substr(0, dot);
    Json& child = (*obj)[head];
    if (!child.is_object()) child = Json::object();
    Insert(&child, path.substr(dot + 1), std::move(list));
  }

  Json Fields(int count) {
    static const std::vector<std::string> kPaths = {
        "source",           "detail-type",
        "resources",        "detail.a",
        "detail.b",         "detail.c.d",
        "detail.c.e",       "detail.items.sku",
        "detail.items.qty", "detail.items.tags",
        "detail.zz"};
    Json obj = Json::object();
    for (int i = 0; i < count; ++i) {
      Json list = Json::array();
      const int n = 1 + Int(2);
      for (int k = 0; k < n; ++k) list.push_back(Matcher());
      if (Coin(8)) {
        // Several anything-but alternatives in one field (any one of them
        // accepting is enough; the matcher's inverted index once dropped
        // the field on the first exclusion).
        static const std::vector<std::string> kAb = {"a", "ab", "x", "5"};
        const bool folded = Coin(30);
        for (int k = 0; k < 2; ++k) {
          list.push_back(folded
                             ? Json{{"anything-but",
                                     Json{{"equals-ignore-case", Pick(kAb)}}}}
                             : Json{{"anything-but", Pick(kAb)}});
        }
      }
      Insert(&obj, Pick(kPaths), std::move(list));
    }
    return obj;
  }

  std::string Pattern() { return common::DumpJson(PatternObject()); }

  Json PatternObject() {
    Json p = Fields(1 + Int(3));
    if (Coin(20)) {
      p["$or"] = Json::array({Fields(1 + Int(2)), Fields(1 + Int(2))});
    }
    return p;
  }

 private:
  std::mt19937 rng_;
};

// Run with the default partition and pair thresholds, and with pair indexes
// forced on and partitioning forced on (threshold 1) or off (0).
constexpr size_t kDefaultThreshold = ~size_t{0};
class PropertyTest : public ::testing::TestWithParam<size_t> {};

TEST_P(PropertyTest, RuleMatcherAgreesWithReferenceInterpreter) {
  Gen gen(20240615);
  constexpr int kRules = 120;
  constexpr int kEvents = 2500;
  std::vector<std::string> texts;
  std::vector<Pattern> patterns;
  RuleMatcher::Builder builder;
  if (GetParam() != kDefaultThreshold) {
    // Pair indexes forced on too, with and without partitions.
    builder.set_partition_min_subrules(GetParam()).set_pair_min_sharers(1);
  }
  for (int i = 0; i < kRules; ++i) {
    std::string text = gen.Pattern();
    absl::StatusOr<Pattern> p = Pattern::Compile(text);
    ASSERT_TRUE(p.ok()) << text << " -> " << p.status();
    builder.Add(static_cast<uint32_t>(i), *p);
    patterns.push_back(*p);
    texts.push_back(std::move(text));
  }
  std::shared_ptr<const RuleMatcher> matcher = builder.Build();
  FlatEventParser parser;
  FlatEvent filtered;
  int total_matches = 0;
  for (int e = 0; e < kEvents; ++e) {
    const std::string event = gen.Event();
    ASSERT_TRUE(parser.Parse(event, &matcher->path_filter(), &filtered).ok());
    absl::StatusOr<FlatEvent> full = FlatEvent::Parse(event);
    ASSERT_TRUE(full.ok());
    std::vector<uint32_t> got;
    matcher->Match(filtered, &got);
    std::vector<uint32_t> want;
    for (int r = 0; r < kRules; ++r) {
      const bool ref = internal::ReferenceMatches(texts[r], event);
      if (ref) want.push_back(static_cast<uint32_t>(r));
      ASSERT_EQ(patterns[r].Matches(*full), ref)
          << "pattern " << texts[r] << "\nevent " << event;
    }
    total_matches += static_cast<int>(want.size());
    ASSERT_EQ(got, want) << "event " << event;
  }
  // The generator must exercise both outcomes.
  EXPECT_GT(total_matches, kEvents);
  EXPECT_LT(total_matches, kEvents * kRules / 2);
}

INSTANTIATE_TEST_SUITE_P(PartitionThresholds, PropertyTest,
                         ::testing::Values(kDefaultThreshold, 1, 0));

// Rules that mostly pin `source` to exact values or prefixes that overlap
// ("ab" starts with "a"), so the matcher partitions by source with value
// partitions holding copies of prefix partitions' sub-rules (within the
// copy budget or past it); events list one to three sources, as a string or
// an array. RuleMatcher must agree with the reference interpreter.
TEST(PartitionPropertyTest, OverlappingSourcePrefixesAgreeWithReference) {
  Gen gen(20261129);
  const std::vector<std::string> kValues = {"a", "ab", "abc", "b", "ba"};
  const std::vector<std::string> kPrefixes = {"a", "ab", "b", "abc"};
  const std::vector<std::string> kEventSources = {"a", "ab", "abc", "abd",
                                                  "b", "ba", "c",   "abcd"};
  for (const size_t budget_rules : {size_t{60}, size_t{400}}) {
    // With many prefix rules the copies exceed the budget for some values.
    std::vector<std::string> texts;
    RuleMatcher::Builder builder;
    builder.set_partition_min_subrules(1);
    for (size_t i = 0; i < budget_rules; ++i) {
      Json p = gen.Coin(50) ? gen.PatternObject() : Json::object();
      Json source = Json::array();
      const bool prefixes = gen.Coin(i < 40 ? 20 : 60);
      const int n = 1 + gen.Int(2);
      for (int k = 0; k < n; ++k) {
        if (prefixes) {
          source.push_back(Json{{"prefix", gen.Pick(kPrefixes)}});
        } else {
          source.push_back(gen.Pick(kValues));
        }
      }
      p.erase("source");
      if (p.contains("$or")) p.erase("$or");
      p["source"] = source;
      std::string text = common::DumpJson(p);
      absl::StatusOr<Pattern> compiled = Pattern::Compile(text);
      ASSERT_TRUE(compiled.ok()) << text << " -> " << compiled.status();
      builder.Add(static_cast<uint32_t>(i), *compiled);
      texts.push_back(std::move(text));
    }
    std::shared_ptr<const RuleMatcher> matcher = builder.Build();
    FlatEventParser parser;
    FlatEvent filtered;
    int total_matches = 0;
    for (int e = 0; e < 400; ++e) {
      Json ev = gen.EventObject();
      if (gen.Coin(70)) {
        ev["source"] = gen.Pick(kEventSources);
      } else {
        Json list = Json::array();
        const int n = 1 + gen.Int(3);
        for (int k = 0; k < n; ++k) list.push_back(gen.Pick(kEventSources));
        ev["source"] = list;
      }
      const std::string event = common::DumpJson(ev);
      ASSERT_TRUE(parser.Parse(event, &matcher->path_filter(), &filtered).ok());
      std::vector<uint32_t> got;
      matcher->Match(filtered, &got);
      std::vector<uint32_t> want;
      for (size_t r = 0; r < texts.size(); ++r) {
        if (internal::ReferenceMatches(texts[r], event)) {
          want.push_back(static_cast<uint32_t>(r));
        }
      }
      total_matches += static_cast<int>(want.size());
      ASSERT_EQ(got, want) << "event " << event;
    }
    EXPECT_GT(total_matches, 400);
  }
}

// The literal prefilter never rejects an event that some rule matches (by
// the reference interpreter), and it does reject events: small random rule
// sets (the prefilter is for few rules), twenty events each.
TEST(PrefilterPropertyTest, NeverRejectsAnEventSomeRuleMatches) {
  Gen gen(20261128);
  int active_sets = 0;
  int rejected = 0;
  int matched = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    RuleMatcher::Builder builder;
    std::vector<std::string> texts;
    const int rules = 1 + gen.Int(3);
    for (int i = 0; i < rules; ++i) {
      std::string text = gen.Pattern();
      absl::StatusOr<Pattern> p = Pattern::Compile(text);
      ASSERT_TRUE(p.ok()) << text << " -> " << p.status();
      builder.Add(static_cast<uint32_t>(i), *p);
      texts.push_back(std::move(text));
    }
    std::shared_ptr<const RuleMatcher> matcher = builder.Build();
    if (!matcher->has_prefilter()) continue;
    ++active_sets;
    for (int e = 0; e < 20; ++e) {
      const std::string event = gen.Event();
      bool any = false;
      for (const std::string& text : texts) {
        any = any || internal::ReferenceMatches(text, event);
      }
      const bool may = matcher->MayMatch(event);
      if (any) {
        ++matched;
        ASSERT_TRUE(may) << "rejected a matching event\nevent " << event
                         << "\nfirst rule " << texts[0];
      }
      if (!may) ++rejected;
    }
  }
  RecordProperty("active_sets", active_sets);
  RecordProperty("rejected", rejected);
  RecordProperty("matched", matched);
  EXPECT_GT(active_sets, 100);
  EXPECT_GT(rejected, 500);
  EXPECT_GT(matched, 100);
}

}  // namespace
}  // namespace evbus::pattern
