#include "server/pattern/rule_matcher.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/pattern/flat_event.h"
#include "server/pattern/pattern.h"

namespace evbus::pattern {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Pattern P(std::string_view json) {
  absl::StatusOr<Pattern> p = Pattern::Compile(json);
  EXPECT_TRUE(p.ok()) << json << ": " << p.status();
  return *p;
}

std::vector<uint32_t> MatchWith(const RuleMatcher& m, std::string_view event) {
  FlatEventParser parser;
  FlatEvent ev;
  EXPECT_TRUE(parser.Parse(event, &m.path_filter(), &ev).ok());
  std::vector<uint32_t> ids = {999};  // must be replaced
  m.Match(ev, &ids);
  return ids;
}

TEST(RuleMatcherTest, EmptyMatcherMatchesNothing) {
  RuleMatcher::Builder b;
  auto m = b.Build();
  EXPECT_EQ(m->rule_count(), 0u);
  EXPECT_THAT(MatchWith(*m, R"({"source":"a"})"), IsEmpty());
}

TEST(RuleMatcherTest, ReturnsSortedUniqueIds) {
  RuleMatcher::Builder b;
  b.Add(30, P(R"({"source":["a"]})"));
  b.Add(10,
        P(R"({"source":[{"prefix":"a"}],"$or":[{"x":["1"]},{"y":["2"]}]})"));
  b.Add(20, P(R"({"source":[{"anything-but":"b"}]})"));
  b.Add(40, P(R"({"source":["b"]})"));
  auto m = b.Build();
  EXPECT_EQ(m->subrule_count(), 5u);
  EXPECT_THAT(MatchWith(*m, R"({"source":"a","x":"1","y":"2"})"),
              ElementsAre(10, 20, 30));
  EXPECT_THAT(MatchWith(*m, R"({"source":"b"})"), ElementsAre(40));
}

// Many rules with sparse ids, some matched twice (two sub-rules, two
// partitions): ids come back sorted and unique, call after call.
TEST(RuleMatcherTest, ManySparseIdsSortedAndUnique) {
  RuleMatcher::Builder b;
  std::vector<uint32_t> want;
  for (uint32_t i = 0; i < 200; ++i) {
    const uint32_t id = 4000000000u - i * 7919u;
    if (i % 3 == 0) {
      b.Add(id, P(R"({"source":["a","b"],"$or":[{"x":["1"]},{"y":["2"]}]})"));
      want.push_back(id);
    } else {
      b.Add(id, P(R"({"source":["c"]})"));
    }
  }
  std::sort(want.begin(), want.end());
  auto m = b.Build();
  for (int call = 0; call < 3; ++call) {
    EXPECT_EQ(MatchWith(*m, R"({"source":["a","b"],"x":"1","y":"2"})"), want);
    EXPECT_THAT(MatchWith(*m, R"({"source":"d","x":"1"})"), IsEmpty());
  }
}

TEST(RuleMatcherTest, AddReplacesAndRemoveDeletes) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"source":["a"]})"));
  b.Add(2, P(R"({"source":["a"]})"));
  auto before = b.Build();
  b.Add(1, P(R"({"source":["z"]})"));
  EXPECT_TRUE(b.Remove(2));
  EXPECT_FALSE(b.Remove(2));
  auto after = b.Build();
  // The old snapshot is unaffected.
  EXPECT_THAT(MatchWith(*before, R"({"source":"a"})"), ElementsAre(1, 2));
  EXPECT_THAT(MatchWith(*after, R"({"source":"a"})"), IsEmpty());
  EXPECT_THAT(MatchWith(*after, R"({"source":"z"})"), ElementsAre(1));
  EXPECT_EQ(b.size(), 1u);
}

TEST(RuleMatcherTest, ExistsFalseOnlyRulesAreAlwaysEvaluated) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"replay-name":[{"exists":false}]})"));
  b.Add(2, P(R"({"d":{"s":[{"anything-but":["roses"]},{"exists":false}]}})"));
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"source":"a"})"), ElementsAre(1, 2));
  EXPECT_THAT(MatchWith(*m, R"({"replay-name":"r","d":{"s":"roses"}})"),
              IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"replay-name":"r","d":{"s":"tulips"}})"),
              ElementsAre(2));
}

TEST(RuleMatcherTest, EveryOperatorThroughTheIndex) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"v":["10.0.0.1"]})"));
  b.Add(2, P(R"({"v":[{"cidr":"10.0.0.0/24"}]})"));
  b.Add(3, P(R"({"v":[{"prefix":"10."}]})"));
  b.Add(4, P(R"({"v":[{"suffix":".1"}]})"));
  b.Add(5, P(R"({"v":[{"prefix":{"equals-ignore-case":"1"}}]})"));
  b.Add(6, P(R"({"v":[{"suffix":{"equals-ignore-case":"1"}}]})"));
  b.Add(7, P(R"({"v":[{"equals-ignore-case":"10.0.0.1"}]})"));
  b.Add(8, P(R"({"v":[{"wildcard":"10.*.1"}]})"));
  b.Add(9, P(R"({"v":[{"wildcard":"*.0.*"}]})"));
  b.Add(10, P(R"({"v":[{"anything-but":"x"}]})"));
  b.Add(11, P(R"({"v":[{"exists":true}]})"));
  b.Add(12, P(R"({"v":[{"numeric":[">",0]}]})"));
  b.Add(13, P(R"({"v":[10]})"));
  b.Add(14, P(R"({"v":[true]})"));
  b.Add(15, P(R"({"v":[null]})"));
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"v":"10.0.0.1"})"),
              ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  EXPECT_THAT(MatchWith(*m, R"({"v":"010.000.000.001"})"),
              ElementsAre(1, 2, 6, 10, 11));
  EXPECT_THAT(MatchWith(*m, R"({"v":10.0})"), ElementsAre(10, 11, 12, 13));
  EXPECT_THAT(MatchWith(*m, R"({"v":true})"), ElementsAre(10, 11, 14));
  EXPECT_THAT(MatchWith(*m, R"({"v":null})"), ElementsAre(10, 11, 15));
  EXPECT_THAT(MatchWith(*m, R"({"v":[]})"), IsEmpty());
}

TEST(RuleMatcherTest, NumericRangesSortedScan) {
  RuleMatcher::Builder b;
  for (uint32_t i = 0; i < 100; ++i) {
    b.Add(i, P("{\"n\":[{\"numeric\":[\">=\"," + std::to_string(i) + ",\"<\"," +
               std::to_string(i + 10) + "]}]}"));
  }
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"n":3})"), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(MatchWith(*m, R"({"n":-1})"), IsEmpty());
  EXPECT_EQ(MatchWith(*m, R"({"n":50.5})").size(), 10u);
}

TEST(RuleMatcherTest, ArrayConsistencyInTheIndex) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"emp":{"first":["Anna"],"last":["Jones"]}})"));
  b.Add(2, P(R"({"emp":{"first":["Peter"],"last":["Jones"]}})"));
  b.Add(3, P(R"({"emp":{"ids":[{"exists":false}],"first":["Anna"]}})"));
  auto m = b.Build();
  EXPECT_THAT(
      MatchWith(*m, R"({"emp":[{"first":"Anna","last":"Smith","ids":[1]},)"
                    R"({"first":"Peter","last":"Jones"}]})"),
      ElementsAre(2));
  EXPECT_THAT(MatchWith(*m, R"({"emp":[{"first":"Anna","last":"Smith"}]})"),
              ElementsAre(3));
}

// Huge pages change where the kernel maps the matcher, not what it matches:
// a matcher advised at any size (threshold 1 byte) agrees with one never
// advised.
TEST(RuleMatcherTest, HugePagesDoNotChangeResults) {
  RuleMatcher::Builder advised;
  RuleMatcher::Builder plain;
  advised.set_huge_pages_min_bytes(1);
  plain.set_huge_pages_min_bytes(0);
  for (uint32_t i = 0; i < 2000; ++i) {
    const std::string p = absl::StrCat(
        R"({"source":["s)", i % 40, R"("],"detail":{"n":[{"numeric":[">",)",
        i % 100, R"(]}],"k":[{"prefix":"v)", i % 7, R"("}]}})");
    advised.Add(i, P(p));
    plain.Add(i, P(p));
  }
  auto a = advised.Build();
  auto b = plain.Build();
  a->AdviseHugePages();
  b->AdviseHugePages();  // does nothing
  size_t matches = 0;
  for (int e = 0; e < 200; ++e) {
    const std::string event =
        absl::StrCat(R"({"source":"s)", e % 40, R"(","detail":{"n":)", e % 110,
                     R"(,"k":"v)", e % 9, R"(x"}})");
    const std::vector<uint32_t> got = MatchWith(*a, event);
    EXPECT_EQ(got, MatchWith(*b, event)) << event;
    matches += got.size();
  }
  EXPECT_GT(matches, 100u);
}

// A number too small for a double is 0 in patterns and events alike, on
// the scanner and on the slow reader (which a 1e400 anywhere in the event
// selects); before, the pattern matched only the literal text, which only
// the slow reader recorded.
TEST(RuleMatcherTest, NumbersTooSmallForADoubleAreZero) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"v":[1e-400]})"));
  b.Add(2, P(R"({"v":[0]})"));
  auto m = b.Build();
  for (std::string_view event : {R"({"v":1e-400})", R"({"v":1e-400,"x":1e400})",
                                 R"({"v":0})", R"({"v":0,"x":1e400})"}) {
    EXPECT_THAT(MatchWith(*m, event), ElementsAre(1, 2)) << event;
  }
}

// Candidates with exists:false fields are decided without the direct
// evaluation when those fields have no leaf (match) or a field that must be
// absent has one outside arrays (no match); leaves inside arrays, and fields
// with other alternatives, still go through the evaluation.
TEST(RuleMatcherTest, ExistsFalseDecidedByTheLeavesAtItsPath) {
  RuleMatcher::Builder b;
  b.set_partition_min_subrules(0);
  b.Add(1, P(R"({"e":{"s":["a"],"m":[{"exists":false}]}})"));
  b.Add(2, P(R"({"e":{"s":["a"],"m":[{"exists":false},"x"]}})"));
  b.Add(3, P(R"({"e":{"m":[{"exists":false}]}})"));  // checked every event
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"e":{"s":"a"}})"), ElementsAre(1, 2, 3));
  EXPECT_THAT(MatchWith(*m, R"({"e":{"s":"a","m":1}})"), IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"e":{"s":"a","m":"x"}})"), ElementsAre(2));
  EXPECT_THAT(MatchWith(*m, R"({"e":{"s":"a","m":[1]}})"), IsEmpty());
  // m sits in another element of the array than s: absent for rules 1, 2.
  EXPECT_THAT(MatchWith(*m, R"({"e":[{"s":"a"},{"m":1}]})"), ElementsAre(1, 2));
  EXPECT_THAT(MatchWith(*m, R"({"e":[{"s":"a","m":1}]})"), IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"f":1})"), ElementsAre(3));
}

// The matcher skips the array-consistency evaluation when at most one
// field is satisfied inside arrays; two or more (two indexed fields, a pair,
// an indexed and a checked field) must still come from one element.
TEST(RuleMatcherTest, ArrayConsistencyOnlyWhenTwoFieldsSitInArrays) {
  for (size_t partition_min : {size_t{0}, size_t{1}}) {
    RuleMatcher::Builder b;
    // Pairs forced on: rule 3 is indexed under (sku, color) as one key.
    b.set_partition_min_subrules(partition_min).set_pair_min_sharers(1);
    b.Add(1, P(R"({"source":["s"],"d":{"items":{"sku":["A"]},"st":["on"]}})"));
    b.Add(2, P(R"({"d":{"items":{"sku":["A"],"qty":[{"numeric":[">",5]}]}}})"));
    b.Add(3, P(R"({"d":{"items":{"sku":["A"],"color":["red"]}}})"));
    b.Add(4, P(R"({"d":{"items":{"sku":[{"prefix":"A"}],)"
               R"("color":[{"prefix":"re"}]}}})"));
    auto m = b.Build();
    EXPECT_THAT(MatchWith(*m, R"({"source":"s","d":{"st":"on","items":[)"
                              R"({"sku":"A","qty":1,"color":"blue"},)"
                              R"({"sku":"B","qty":9,"color":"red"}]}})"),
                ElementsAre(1))
        << partition_min;
    EXPECT_THAT(MatchWith(*m, R"({"source":"s","d":{"st":"on","items":[)"
                              R"({"sku":"B","qty":1,"color":"blue"},)"
                              R"({"sku":"A","qty":9,"color":"red"}]}})"),
                ElementsAre(1, 2, 3, 4))
        << partition_min;
  }
}

TEST(RuleMatcherTest, PathFilterSkipsUnrelatedSubtrees) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"detail":{"a":{"b":["x"]}}})"));
  auto m = b.Build();
  FlatEventParser parser;
  FlatEvent ev;
  ASSERT_TRUE(
      parser
          .Parse(R"({"source":"s","detail":{"a":{"b":"x","c":"y"},"z":[1,2]}})",
                 &m->path_filter(), &ev)
          .ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev.path(ev.leaf(0)), "detail.a.b");
  std::vector<uint32_t> ids;
  m->Match(ev, &ids);
  EXPECT_THAT(ids, ElementsAre(1));
  // Dotted event keys are still found.
  ASSERT_TRUE(
      parser.Parse(R"({"detail":{"a.b":"x"}})", &m->path_filter(), &ev).ok());
  m->Match(ev, &ids);
  EXPECT_THAT(ids, ElementsAre(1));
}

// Events parsed with the matcher's own filter are matched through their
// leaves' filter nodes; events parsed otherwise (no filter, or another filter
// that keeps at least the same paths) through their path texts. Both give the
// same results.
TEST(RuleMatcherTest, SameResultsWhateverFilterTheEventWasParsedWith) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"source":["s"],"detail":{"a":{"b":["x"]}}})"));
  b.Add(2, P(R"({"detail":{"a.b":[{"prefix":"x"}],"c":[{"exists":true}]}})"));
  b.Add(3, P(R"({"detail":{"c":[1]},"source":[{"anything-but":"t"}]})"));
  b.Add(4, P(R"({"detail":{"a":{"b":[{"exists":false}]}}})"));
  auto m = b.Build();
  const std::vector<std::string> more_paths = {
      "zzz", "detail.c", "detail.a.b", "source", "detail.a", "detail.a.b.c"};
  const PathFilter more = PathFilter::FromPaths(more_paths);
  const char* events[] = {
      R"({"source":"s","detail":{"a":{"b":"x"},"c":1}})",
      R"({"source":"t","detail":{"a.b":"xy","c":[0,1]}})",
      R"({"source":"u","detail":{"a":[{"b":"q"},{"b":"x"}]}})",
      R"({"detail":{"c":null}})",
  };
  FlatEventParser parser;
  for (const char* event : events) {
    const std::vector<uint32_t> want = MatchWith(*m, event);
    const PathFilter* filters[] = {nullptr, &more};
    for (const PathFilter* f : filters) {
      FlatEvent ev;
      ASSERT_TRUE(parser.Parse(event, f, &ev).ok());
      std::vector<uint32_t> ids;
      m->Match(ev, &ids);
      EXPECT_EQ(ids, want) << event;
    }
  }
}

// Partitioning by the most pinned exact-string path (here `source`) must not
// change any result; threshold 1 forces it on these small rule sets.
TEST(RuleMatcherTest, PartitionsBySourceValue) {
  RuleMatcher::Builder b;
  b.set_partition_min_subrules(1);
  b.Add(1, P(R"({"source":["a"]})"));
  b.Add(2, P(R"({"source":["a","b"],"detail":{"n":[{"numeric":[">",5]}]}})"));
  b.Add(3, P(R"({"source":["b"],"detail":{"x":[{"exists":false}]}})"));
  b.Add(4, P(R"({"source":[{"prefix":"a"}]})"));
  b.Add(5, P(R"({"source":["a"],"$or":[{"k":["1"]},{"j":["2"]}]})"));
  b.Add(6, P(R"({"source":["a"],"k":["1"],"j":["2"]})"));
  b.Add(7, P(R"({"k":["1"]})"));
  auto m = b.Build();
  EXPECT_EQ(m->subrule_count(), 8u);
  EXPECT_THAT(MatchWith(*m, R"({"source":"a"})"), ElementsAre(1, 4));
  EXPECT_THAT(MatchWith(*m, R"({"source":"a","detail":{"n":6}})"),
              ElementsAre(1, 2, 4));
  EXPECT_THAT(MatchWith(*m, R"({"source":"b","detail":{"n":6}})"),
              ElementsAre(2, 3));
  EXPECT_THAT(MatchWith(*m, R"({"source":"b","detail":{"x":1,"n":1}})"),
              IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"source":"a","k":"1","j":"2"})"),
              ElementsAre(1, 4, 5, 6, 7));
  EXPECT_THAT(MatchWith(*m, R"({"source":"c","k":"1"})"), ElementsAre(7));
  // Both partitions probed for an event listing both values.
  EXPECT_THAT(MatchWith(*m, R"({"source":["a","b"],"detail":{"n":9}})"),
              ElementsAre(1, 2, 3, 4));
}

// Sub-rules listing only prefixes at the partition path get prefix
// partitions, probed for each listed prefix the event's value starts with.
TEST(RuleMatcherTest, PartitionsBySourcePrefix) {
  RuleMatcher::Builder b;
  b.set_partition_min_subrules(1);
  b.Add(1, P(R"({"source":[{"prefix":"aws."}],"d":["x"]})"));
  b.Add(2, P(R"({"source":[{"prefix":"aws.e"}]})"));
  b.Add(3, P(R"({"source":["aws.ec2"],"d":["y"]})"));
  b.Add(4, P(R"({"source":[{"prefix":"aws."},{"prefix":"com."}],)"
             R"("d":[{"anything-but":"x"}]})"));
  b.Add(5, P(R"({"source":[{"prefix":"aws.ec2x"}]})"));
  b.Add(6, P(R"({"source":[{"prefix":"aws."},"com.y"],"d":["x"]})"));
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"source":"aws.ec2","d":"x"})"),
              ElementsAre(1, 2, 6));
  EXPECT_THAT(MatchWith(*m, R"({"source":"aws.ec2","d":"y"})"),
              ElementsAre(2, 3, 4));
  EXPECT_THAT(MatchWith(*m, R"({"source":"com.x","d":"z"})"), ElementsAre(4));
  EXPECT_THAT(MatchWith(*m, R"({"source":"com.y","d":"x"})"), ElementsAre(6));
  EXPECT_THAT(MatchWith(*m, R"({"source":"aws","d":"x"})"), IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"source":["aws.s3","com.q"],"d":"x"})"),
              ElementsAre(1, 6));
}

// `rules` (rule i has id i) in a matcher partitioned at any count
// (threshold 1), checked against Pattern::Matches event by event.
class PartitionedRules {
 public:
  explicit PartitionedRules(const std::vector<std::string>& rules) {
    RuleMatcher::Builder b;
    b.set_partition_min_subrules(1);
    for (size_t i = 0; i < rules.size(); ++i) {
      patterns_.push_back(P(rules[i]));
      b.Add(static_cast<uint32_t>(i), patterns_.back());
    }
    matcher_ = b.Build();
  }
  // Expects the matcher to give the ids Pattern::Matches gives for `event`;
  // returns how many those are.
  size_t Check(const std::string& event) const {
    absl::StatusOr<FlatEvent> full = FlatEvent::Parse(event);
    EXPECT_TRUE(full.ok()) << event;
    if (!full.ok()) return 0;
    std::vector<uint32_t> want;
    for (size_t i = 0; i < patterns_.size(); ++i) {
      if (patterns_[i].Matches(*full)) want.push_back(static_cast<uint32_t>(i));
    }
    EXPECT_EQ(MatchWith(*matcher_, event), want) << event;
    return want.size();
  }

 private:
  std::vector<Pattern> patterns_;
  std::shared_ptr<const RuleMatcher> matcher_;
};

// A value's partition also holds the sub-rules of the prefix partitions its
// value starts with (copies), and an event whose value has a partition
// probes only that one: every result must equal Pattern::Matches, including
// array consistency for copied sub-rules and events listing several values.
TEST(RuleMatcherTest, ValuePartitionsHoldTheirPrefixPartitions) {
  const std::vector<std::string> rules = {
      R"({"e":{"s":[{"prefix":"a"}],"n":["x"]}})",
      R"({"e":{"s":["ab"],"n":["y"]}})",
      R"({"e":{"s":[{"prefix":"ab"}],"m":[{"exists":false}]}})",
      R"({"e":{"s":[{"prefix":"a"},"q"],"n":[{"anything-but":"x"}]}})",
      R"({"e":{"s":["ac"]}})",
      R"({"e":{"s":[{"prefix":"b"}]}})",
      R"({"e":{"s":["ab","ax"]}})",
      R"({"e":{"s":["q"],"n":["x"]}})",
      R"({"e":{"s":["ac","q"]}})",
      // Two prefixes of one value: copied into its partition once.
      R"({"e":{"s":[{"prefix":"a"},{"prefix":"ab"}],"n":["x"]}})",
  };
  const std::vector<std::string> events = {
      R"({"e":{"s":"ab","n":"x"}})",
      R"({"e":{"s":"ab","n":"y","m":1}})",
      R"({"e":{"s":"ax","n":"x"}})",
      R"({"e":{"s":"ac","n":"z"}})",
      R"({"e":{"s":"q","n":"z"}})",
      R"({"e":{"s":["ab","b1"],"n":"x"}})",
      R"({"e":[{"s":"ab","n":"y"},{"s":"q","n":"x"}]})",
      R"({"e":[{"s":"ab","n":"x","m":1},{"s":"ac"}]})",
      R"({"e":[{"s":"zz","n":"x"},{"s":"ab","m":1}]})",
      R"({"e":[{"s":"ab","m":1},{"s":"ax","n":"x"}]})",
      // A value with a partition beside one with only prefix partitions.
      R"({"e":{"s":["ab","a1"],"n":"x"}})",
      R"({"e":[{"s":"a1","n":"x"},{"s":"ab","n":"y"}]})",
  };
  // e.s is the partition path: pinned to exact strings by five sub-rules
  // (e.n by four). Copies stay within budget (every value partition gets
  // them).
  const PartitionedRules m(rules);
  size_t matches = 0;
  for (const std::string& event : events) matches += m.Check(event);
  EXPECT_GT(matches, 10u);
}

// Copies at most double the sub-rules: value partitions beyond the budget
// keep their own sub-rules only, and events with those values still reach
// the prefix partitions.
TEST(RuleMatcherTest, PrefixCopiesBeyondTheBudgetProbeThePrefixPartitions) {
  std::vector<std::string> rules;
  for (int i = 0; i < 4; ++i) {
    rules.push_back(R"({"s":[{"prefix":"v"}],"n":[)" + std::to_string(i) +
                    "]}");
  }
  for (int v = 0; v < 8; ++v) {
    rules.push_back(R"({"s":["v)" + std::to_string(v) +
                    R"("],"m":[{"numeric":[">",0]}]})");
  }
  const PartitionedRules m(rules);
  // `s` is the partition path (the only one pinned to exact strings). 12
  // sub-rules: a budget of 12 copies, 4 per value partition, so the first
  // three value partitions get them and the other five do not.
  for (int v = 0; v < 9; ++v) {
    for (int n = 0; n < 5; ++n) {
      const std::string event = R"({"s":"v)" + std::to_string(v) + R"(","n":)" +
                                std::to_string(n) + R"(,"m":1})";
      EXPECT_EQ(m.Check(event), (n < 4 ? 1u : 0u) + (v < 8 ? 1u : 0u)) << event;
    }
  }
}

TEST(RuleMatcherTest, PartitionLeafInsideAnArrayKeepsArrayConsistency) {
  RuleMatcher::Builder b;
  b.set_partition_min_subrules(1);
  b.Add(1, P(R"({"e":{"s":["a"],"n":["x"]}})"));
  b.Add(2, P(R"({"e":{"s":["a"],"m":[{"exists":false}]}})"));
  b.Add(3, P(R"({"e":{"s":["b"]}})"));
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"e":[{"s":"a","n":"y","m":1},)"
                            R"({"s":"b","n":"x"}]})"),
              ElementsAre(3));
  EXPECT_THAT(MatchWith(*m, R"({"e":[{"s":"a","n":"x","m":1},)"
                            R"({"s":"b"}]})"),
              ElementsAre(1, 3));
  EXPECT_THAT(MatchWith(*m, R"({"e":[{"s":"b","m":1},{"s":"a"}]})"),
              ElementsAre(2, 3));
}

TEST(RuleMatcherTest, EqualWildcardsSharedByManyRules) {
  RuleMatcher::Builder b;
  for (uint32_t i = 0; i < 50; ++i) {
    b.Add(i, P(i % 2 == 0 ? R"({"r":[{"wildcard":"arn:*:us-east-1:*"}]})"
                          : R"({"r":[{"wildcard":"*:eu-west-1:*"}]})"));
  }
  auto m = b.Build();
  EXPECT_EQ(MatchWith(*m, R"({"r":"arn:aws:s3:us-east-1:x"})").size(), 25u);
  EXPECT_EQ(MatchWith(*m, R"({"r":"arn:aws:s3:eu-west-1:x"})").size(), 25u);
  EXPECT_THAT(MatchWith(*m, R"({"r":"arn:aws:s3:ap-east-1:x"})"), IsEmpty());
}

// Wildcards sharing a literal prefix are tried only when the value is long
// enough and holds every byte pair of their segments: the results are
// exactly Pattern::Matches', including values that pass that test and fail
// the glob (pairs present out of order, segments overlapping) and values
// too short for it.
TEST(RuleMatcherTest, WildcardsSharingAPrefixAgreeWithTheirGlobs) {
  const std::vector<std::string> globs = {
      "arn:aws:*:us-west-2:*",
      "arn:aws:*:us-west-1:*",
      "arn:aws:*:eu-west-1:*",
      "arn:*bc*cd",
      "arn:*abab",
      "arn:*x*y*z",
      "arn:*",
      "*:us-west-2:*",
      "*bc*cd",
  };
  RuleMatcher::Builder b;
  std::vector<Pattern> patterns;
  for (uint32_t i = 0; i < globs.size(); ++i) {
    patterns.push_back(
        P(absl::StrCat(R"({"r":[{"wildcard":")", globs[i], R"("}]})")));
    b.Add(i, patterns.back());
  }
  auto m = b.Build();
  const std::vector<std::string> values = {
      "arn:aws:ec2:us-west-2:1:i-1",
      "arn:aws:ec2:us-west-1:1:i-1",
      "arn:aws:ec2:us-west-3:1:i-1",
      "arn:aws::us-west-2:",
      "arn:aws:us-west-2:",
      "arn:bcd",
      "arn:bccd",
      "arn:cdbc",
      "arn:abab",
      "arn:aba",
      "arn:ababab",
      "arn:zyx",
      "arn:xyz",
      "arn:",
      "ar",
      "bccd",
      ":us-west-2:",
      "",
  };
  FlatEventParser parser;
  for (const std::string& v : values) {
    const std::string event = absl::StrCat(R"({"r":")", v, R"("})");
    FlatEvent ev;
    ASSERT_TRUE(parser.Parse(event, nullptr, &ev).ok());
    std::vector<uint32_t> want;
    for (uint32_t i = 0; i < patterns.size(); ++i) {
      if (patterns[i].Matches(ev)) want.push_back(i);
    }
    EXPECT_EQ(MatchWith(*m, event), want) << v;
  }
  EXPECT_THAT(MatchWith(*m, R"({"r":"arn:bccd"})"), ElementsAre(3, 6, 8));
  EXPECT_THAT(MatchWith(*m, R"({"r":"arn:aba"})"), ElementsAre(6));
}

// Per-call state is stamped with a 16-bit generation that wraps every 65,535
// calls. Sub-rules half-satisfied in the first call and untouched until
// their stamp comes round again must not count that old hit (a stale stamp
// would make a later event match on one of two fields): rule 1 at the call
// where the generation restarts (the state must be cleared), rule 3 at the
// next one (the generation must restart at all).
TEST(RuleMatcherTest, ResultsStayExactAcrossGenerationWrap) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"a":["x"],"b":[{"prefix":"y"}]})"));
  b.Add(2, P(R"({"a":["z"]})"));
  b.Add(3, P(R"({"c":["x"],"d":[{"prefix":"y"}]})"));
  auto m = b.Build();
  FlatEventParser parser;
  FlatEvent first;
  FlatEvent other;
  FlatEvent only_b;
  FlatEvent only_d;
  ASSERT_TRUE(
      parser.Parse(R"({"a":"x","c":"x"})", &m->path_filter(), &first).ok());
  ASSERT_TRUE(parser.Parse(R"({"a":"z"})", &m->path_filter(), &other).ok());
  ASSERT_TRUE(parser.Parse(R"({"b":"yy"})", &m->path_filter(), &only_b).ok());
  ASSERT_TRUE(parser.Parse(R"({"d":"yy"})", &m->path_filter(), &only_d).ok());
  std::vector<uint32_t> ids;
  m->Match(first, &ids);
  EXPECT_THAT(ids, IsEmpty());
  // Calls 1 .. 65534 leave rules 1 and 3 alone; call 65535 has the first
  // call's generation again, and so would call 65536 without the restart.
  for (int i = 1; i < 65535; ++i) {
    m->Match(other, &ids);
    ASSERT_THAT(ids, ElementsAre(2)) << "call " << i;
  }
  m->Match(only_b, &ids);
  EXPECT_THAT(ids, IsEmpty());
  m->Match(only_d, &ids);
  EXPECT_THAT(ids, IsEmpty());
  m->Match(first, &ids);
  EXPECT_THAT(ids, IsEmpty());
}

// "p*" and "*s" are indexed as a prefix and a suffix, both as an indexed
// field and as a field checked on candidates; escaped stars stay literal.
TEST(RuleMatcherTest, OneStarWildcardsAtAnEndActAsAffixes) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"name":[{"wildcard":"oscar.*"}]})"));
  b.Add(2, P(R"({"bucket":[{"wildcard":"*-logs"}]})"));
  b.Add(3, P(R"({"name":["x"],"bucket":[{"wildcard":"*-logs"}],)"
             R"("key":[{"wildcard":"a*"}]})"));
  // Wildcard text x\\* (prefix "x\"), \\* (prefix "\"), a\* (exactly "a*").
  b.Add(4, P(R"({"name":[{"wildcard":"x\\\\*"}]})"));
  b.Add(5, P(R"({"name":[{"wildcard":"\\\\*"}]})"));
  b.Add(6, P(R"({"name":[{"wildcard":"a\\*"}]})"));
  // "p*" as a field checked on candidates (the exact fields are indexed).
  b.Add(7, P(R"({"name":["x"],"bucket":["b"],"key":[{"wildcard":"a*"}]})"));
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"name":"oscar.bravo"})"), ElementsAre(1));
  EXPECT_THAT(MatchWith(*m, R"({"name":"oscar."})"), ElementsAre(1));
  EXPECT_THAT(MatchWith(*m, R"({"name":"oscar"})"), IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"name":["oscar.1"],"bucket":"a-logs"})"),
              ElementsAre(1, 2));
  EXPECT_THAT(MatchWith(*m, R"({"bucket":"-logs"})"), ElementsAre(2));
  EXPECT_THAT(MatchWith(*m, R"({"bucket":"a-logs-x"})"), IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"bucket":7})"), IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"name":"x","bucket":"b-logs","key":"ab"})"),
              ElementsAre(2, 3));
  EXPECT_THAT(MatchWith(*m, R"({"name":"x","bucket":"b-logs","key":"ba"})"),
              ElementsAre(2));
  EXPECT_THAT(MatchWith(*m, R"({"name":"x\\yz"})"), ElementsAre(4));
  EXPECT_THAT(MatchWith(*m, R"({"name":"\\"})"), ElementsAre(5));
  EXPECT_THAT(MatchWith(*m, R"({"name":"a*"})"), ElementsAre(6));
  EXPECT_THAT(MatchWith(*m, R"({"name":"ab"})"), IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"name":"x","bucket":"b","key":"abc"})"),
              ElementsAre(7));
  EXPECT_THAT(MatchWith(*m, R"({"name":"x","bucket":"b","key":"ba"})"),
              IsEmpty());
  EXPECT_THAT(MatchWith(*m, R"({"name":"x","bucket":"b","key":["ba","a"]})"),
              ElementsAre(7));
}

// A field listing several anything-but alternatives is satisfied when any
// one of them accepts the value ("x" is not "y"), also through the index.
TEST(RuleMatcherTest, SeveralAnythingButAlternativesInOneField) {
  RuleMatcher::Builder b;
  b.Add(1, P(R"({"a":[{"anything-but":"x"},{"anything-but":"y"}]})"));
  b.Add(2, P(R"({"a":[{"anything-but":["x","y"]},{"anything-but":"x"}]})"));
  b.Add(3, P(R"({"a":[{"anything-but":{"equals-ignore-case":"X"}},)"
             R"({"anything-but":{"equals-ignore-case":"Y"}}]})"));
  b.Add(4, P(R"({"a":[{"anything-but":["x","y"]}]})"));
  auto m = b.Build();
  EXPECT_THAT(MatchWith(*m, R"({"a":"x"})"), ElementsAre(1, 3));
  EXPECT_THAT(MatchWith(*m, R"({"a":"y"})"), ElementsAre(1, 2, 3));
  EXPECT_THAT(MatchWith(*m, R"({"a":"z"})"), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(MatchWith(*m, R"({"a":7})"), ElementsAre(1, 2, 3, 4));
  for (std::string_view ev : {R"({"a":"x"})", R"({"a":"y"})", R"({"a":"z"})"}) {
    FlatEventParser parser;
    FlatEvent e;
    ASSERT_TRUE(parser.Parse(ev, nullptr, &e).ok());
    std::vector<uint32_t> want;
    for (uint32_t id = 1; id <= 4; ++id) {
      const char* rules[] = {
          R"({"a":[{"anything-but":"x"},{"anything-but":"y"}]})",
          R"({"a":[{"anything-but":["x","y"]},{"anything-but":"x"}]})",
          R"({"a":[{"anything-but":{"equals-ignore-case":"X"}},)"
          R"({"anything-but":{"equals-ignore-case":"Y"}}]})",
          R"({"a":[{"anything-but":["x","y"]}]})"};
      if (P(rules[id - 1]).Matches(e)) want.push_back(id);
    }
    EXPECT_EQ(MatchWith(*m, ev), want) << ev;  // same as one pattern alone
  }
}

// Rules with one field beside the partition field, and rules with more,
// share index lists (an anything-but's exclusions among them); leaves
// inside arrays need the array-consistency rule. Each event's result is
// compared with the patterns evaluated one by one, with rule ids counted
// from a base (the matcher computes them) and with gaps (it looks them up).
TEST(RuleMatcherTest, OneFieldRulesAgreeWithTheirPatterns) {
  const std::vector<std::string> rules = {
      R"({"e":{"s":["a"],"x":["1"]}})",
      R"({"e":{"s":["a"],"x":["1"],"y":["2"]}})",
      R"({"e":{"s":["a"],"x":[{"prefix":"1"}]}})",
      R"({"e":{"s":["a"],"n":[{"numeric":[">",3]}]}})",
      R"({"e":{"s":["a"],"n":[{"numeric":[">",3,"<",9]}],"x":["1"]}})",
      R"({"e":{"s":["a"],"x":[{"anything-but":["1","3"]}]}})",
      R"({"e":{"s":["a"],"x":[{"anything-but":["2"]}],"y":["2"]}})",
      R"({"e":{"s":["a"],"x":[{"wildcard":"1*9"}]}})",
      R"({"e":{"s":["b"],"x":["1"],"y":["2"]}})",
      R"({"e":{"s":["a","b"],"y":["2"]}})",
      R"({"e":{"s":["a"],"x":["1"],"m":[{"exists":false}]}})",
  };
  const std::vector<std::string> events = {
      R"({"e":{"s":"a","x":"1","y":"2","n":5}})",
      R"({"e":{"s":"a","x":"3","y":"2","n":2}})",
      R"({"e":{"s":"a","x":"129","n":10,"m":0}})",
      R"({"e":{"s":"b","x":"1","y":"2"}})",
      R"({"e":[{"s":"a","x":"2"},{"s":"b","x":"1","y":"2","n":4}]})",
      R"({"e":[{"s":"a","x":"1"},{"s":"b","y":"2","n":4}]})",
      R"({"e":[{"s":"b","x":"1","n":5},{"s":"a","x":["3","1"],"y":"2"}]})",
      R"({"e":{"s":["a","b"],"x":["2","19"],"y":"2","n":[1,7]}})",
      R"({"e":{"s":"c","x":"1","y":"2"}})",
  };
  for (const uint32_t base : {0u, 100u}) {
    for (const uint32_t stride : {1u, 3u}) {
      for (const size_t pair_min : {size_t{1}, size_t{64}}) {
        RuleMatcher::Builder b;
        b.set_partition_min_subrules(1).set_pair_min_sharers(pair_min);
        for (size_t r = 0; r < rules.size(); ++r) {
          b.Add(base + static_cast<uint32_t>(r) * stride, P(rules[r]));
        }
        auto m = b.Build();
        for (const std::string& ev : events) {
          FlatEventParser parser;
          FlatEvent e;
          ASSERT_TRUE(parser.Parse(ev, nullptr, &e).ok()) << ev;
          std::vector<uint32_t> want;
          for (size_t r = 0; r < rules.size(); ++r) {
            if (P(rules[r]).Matches(e)) {
              want.push_back(base + static_cast<uint32_t>(r) * stride);
            }
          }
          EXPECT_EQ(MatchWith(*m, ev), want)
              << ev << " base " << base << " stride " << stride << " pairs "
              << pair_min;
        }
      }
    }
  }
}

}  // namespace
}  // namespace evbus::pattern
