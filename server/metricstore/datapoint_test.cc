#include "server/metricstore/datapoint.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::metricstore {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;

MATCHER_P(IsOkAndHolds, expected,
          "is OK and holds " + ::testing::PrintToString(expected)) {
  if (!arg.ok()) {
    *result_listener << "status: " << arg.status();
    return false;
  }
  *result_listener << "value: " << *arg;
  return *arg == expected;
}

// The nearest-rank percentile (1-based rank ceil(q n)) — what the sketch
// targets.
double ExactQuantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(
      std::max(0.0, std::ceil(q * values.size() - 1e-9) - 1));
  return values[std::min(rank, values.size() - 1)];
}

void ExpectWithinRelative(double actual, double expected, double rel) {
  EXPECT_LE(std::abs(actual - expected), rel * std::abs(expected) + 1e-12)
      << "actual " << actual << " expected " << expected;
}

Aggregate FromValues(const std::vector<double>& values) {
  Aggregate a;
  for (double v : values) EXPECT_THAT(a.Add(v), IsOk());
  return a;
}

TEST(AggregateTest, EmptyHasNoStatistics) {
  Aggregate a;
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.Percentile(50), std::nullopt);
  EXPECT_THAT(Statistic(a, "Sum"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Statistic(a, "p99"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(AggregateTest, SimpleStatistics) {
  Aggregate a = FromValues({3, -1, 10, 4});
  EXPECT_THAT(Statistic(a, "SampleCount"), IsOkAndHolds(4.0));
  EXPECT_THAT(Statistic(a, "Sum"), IsOkAndHolds(16.0));
  EXPECT_THAT(Statistic(a, "Average"), IsOkAndHolds(4.0));
  EXPECT_THAT(Statistic(a, "Minimum"), IsOkAndHolds(-1.0));
  EXPECT_THAT(Statistic(a, "Maximum"), IsOkAndHolds(10.0));
}

TEST(AggregateTest, AddWithCount) {
  Aggregate a;
  ASSERT_THAT(a.Add(2.5, 4), IsOk());
  ASSERT_THAT(a.Add(10, 0), IsOk());  // zero count: nothing
  EXPECT_EQ(a.sample_count, 4);
  EXPECT_EQ(a.sum, 10);
  EXPECT_EQ(a.minimum, 2.5);
  EXPECT_EQ(a.maximum, 2.5);
  EXPECT_DOUBLE_EQ(a.sketch.count(), 4);
}

TEST(AggregateTest, RejectsNonFiniteAndNegativeCounts) {
  Aggregate a;
  EXPECT_THAT(a.Add(std::nan("")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.Add(INFINITY), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.Add(1, -1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.Add(1, INFINITY), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.AddStatisticSet(0, 0, 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      a.AddStatisticSet(2, 3, 5, 1),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Minimum")));
  EXPECT_THAT(a.AddStatisticSet(2, NAN, 1, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(a.empty());
}

TEST(AggregateTest, StatisticSetContributesNoPercentiles) {
  Aggregate a;
  ASSERT_THAT(a.AddStatisticSet(10, 500, 1, 90), IsOk());
  EXPECT_THAT(Statistic(a, "Average"), IsOkAndHolds(50.0));
  EXPECT_THAT(Statistic(a, "Minimum"), IsOkAndHolds(1.0));
  EXPECT_THAT(Statistic(a, "Maximum"), IsOkAndHolds(90.0));
  EXPECT_EQ(a.Percentile(50), std::nullopt);
  EXPECT_THAT(Statistic(a, "p50"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("percentile")));

  // Percentiles then come from the individually added samples only.
  ASSERT_THAT(a.Add(40), IsOk());
  EXPECT_EQ(a.sample_count, 11);
  EXPECT_EQ(a.sum, 540);
  std::optional<double> p50 = a.Percentile(50);
  ASSERT_TRUE(p50.has_value());
  ExpectWithinRelative(*p50, 40, kSketchRelativeAccuracy);
}

TEST(AggregateTest, SingleValuePercentilesAreExact) {
  // Clamping to the exact extremes removes the bucket error.
  Aggregate a;
  ASSERT_THAT(a.Add(1141.0, 3), IsOk());
  EXPECT_THAT(Statistic(a, "p0"), IsOkAndHolds(1141.0));
  EXPECT_THAT(Statistic(a, "p50"), IsOkAndHolds(1141.0));
  EXPECT_THAT(Statistic(a, "p100"), IsOkAndHolds(1141.0));
}

TEST(AggregateTest, SmallSamplesUseTheNearestRank) {
  // p99 of two values is the larger one (99 % of the samples are at or
  // below it), p50 the smaller; the sketch is within 1 %.
  Aggregate two = FromValues({12, 30});
  ExpectWithinRelative(*Statistic(two, "p99"), 30, kSketchRelativeAccuracy);
  ExpectWithinRelative(*Statistic(two, "p50"), 12, kSketchRelativeAccuracy);
  std::vector<double> twenty;
  for (int i = 1; i <= 20; ++i) twenty.push_back(i);
  Aggregate a = FromValues(twenty);
  ExpectWithinRelative(*Statistic(a, "p99"), 20, kSketchRelativeAccuracy);
  ExpectWithinRelative(*Statistic(a, "p95"), 19, kSketchRelativeAccuracy);
  ExpectWithinRelative(*Statistic(a, "p50"), 10, kSketchRelativeAccuracy);
}

TEST(AggregateTest, ExtremePercentilesAreMinAndMax) {
  Aggregate a = FromValues({0.37, 5, 12345.678, 99});
  EXPECT_THAT(Statistic(a, "p0"), IsOkAndHolds(0.37));
  EXPECT_THAT(Statistic(a, "p100"), IsOkAndHolds(12345.678));
}

TEST(AggregateTest, MergeEqualsSingleAdd) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> dist(-500, 5000);
  Aggregate all;
  Aggregate left;
  Aggregate right;
  for (int i = 0; i < 2000; ++i) {
    double v = dist(rng) / 4.0;  // exact in binary: sums are exact
    ASSERT_THAT(all.Add(v), IsOk());
    ASSERT_THAT((i % 3 == 0 ? left : right).Add(v), IsOk());
  }
  ASSERT_THAT(right.AddStatisticSet(5, 50, 2, 20), IsOk());
  ASSERT_THAT(all.AddStatisticSet(5, 50, 2, 20), IsOk());
  Aggregate merged = left;
  merged.Merge(right);
  EXPECT_EQ(merged, all);
  for (const char* stat : {"SampleCount", "Sum", "Average", "Minimum",
                           "Maximum", "p1", "p50", "p90", "p99", "p99.9"}) {
    EXPECT_EQ(*Statistic(merged, stat), *Statistic(all, stat)) << stat;
  }
}

TEST(AggregateTest, MergeWithEmpty) {
  Aggregate a = FromValues({1, 2, 3});
  Aggregate copy = a;
  a.Merge(Aggregate());
  EXPECT_EQ(a, copy);
  Aggregate b;
  b.Merge(copy);
  EXPECT_EQ(b, copy);
}

TEST(AggregateTest, PercentilesOnUniformData) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> dist(1, 1000);
  std::vector<double> values(20000);
  for (double& v : values) v = dist(rng);
  Aggregate a = FromValues(values);
  for (double q : {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999}) {
    std::optional<double> got = a.Percentile(q * 100);
    ASSERT_TRUE(got.has_value());
    ExpectWithinRelative(*got, ExactQuantile(values, q),
                         kSketchRelativeAccuracy);
  }
  EXPECT_LT(a.sketch.bin_count(), 400u);  // log-buckets: ~ln(1000)/0.02
}

TEST(AggregateTest, PercentilesOnExponentialData) {
  std::mt19937_64 rng(1);
  std::exponential_distribution<double> dist(1.0 / 250);  // latency-like, ms
  std::vector<double> values(50000);
  for (double& v : values) v = dist(rng);
  Aggregate a = FromValues(values);
  for (const auto& [name, q] :
       std::vector<std::pair<std::string, double>>{{"p50", 0.5},
                                                   {"p90", 0.9},
                                                   {"p99", 0.99},
                                                   {"p99.9", 0.999},
                                                   {"p99.99", 0.9999},
                                                   {"p5", 0.05}}) {
    absl::StatusOr<double> got = Statistic(a, name);
    ASSERT_THAT(got, IsOk());
    ExpectWithinRelative(*got, ExactQuantile(values, q),
                         kSketchRelativeAccuracy);
  }
}

TEST(AggregateTest, PercentilesWithNegativeAndZeroValues) {
  std::vector<double> values;
  for (int i = -100; i <= 100; ++i) values.push_back(i * 1.5);
  for (int i = 0; i < 50; ++i) values.push_back(0);
  Aggregate a = FromValues(values);
  for (double q : {0.0, 0.05, 0.2, 0.4, 0.5, 0.6, 0.8, 0.95, 1.0}) {
    std::optional<double> got = a.Percentile(q * 100);
    ASSERT_TRUE(got.has_value());
    ExpectWithinRelative(*got, ExactQuantile(values, q),
                         kSketchRelativeAccuracy);
  }
}

TEST(AggregateTest, HugeAndTinyMagnitudes) {
  Aggregate a = FromValues({1e-300, 1e300, -1e300, 5e-324 /* subnormal */});
  EXPECT_THAT(Statistic(a, "p100"), IsOkAndHolds(1e300));
  EXPECT_THAT(Statistic(a, "p0"), IsOkAndHolds(-1e300));
  absl::StatusOr<Aggregate> back = Aggregate::Parse(a.Serialize());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, a);
}

TEST(AggregateTest, BinCountIsBounded) {
  // Values spanning the whole double range would need ~71,000 buckets.
  Aggregate a;
  for (int e = -300; e <= 300; ++e) {
    for (int k = 1; k < 10; ++k)
      ASSERT_THAT(a.Add(k * std::pow(10.0, e)), IsOk());
  }
  EXPECT_LE(a.sketch.bin_count(), kMaxSketchBins + 1);
  EXPECT_DOUBLE_EQ(a.sketch.count(), a.sample_count);
  // High percentiles keep their accuracy.
  std::optional<double> p99 = a.Percentile(99);
  ASSERT_TRUE(p99.has_value());
  EXPECT_GT(*p99, 1e290);
}

TEST(SerializationTest, RoundTrip) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> dist(0, 1e6);
  Aggregate a;
  for (int i = 0; i < 5000; ++i) ASSERT_THAT(a.Add(dist(rng)), IsOk());
  ASSERT_THAT(a.Add(0, 7), IsOk());
  ASSERT_THAT(a.Add(3.25, 0.5), IsOk());  // fractional count
  ASSERT_THAT(a.AddStatisticSet(3, 30, 5, 15), IsOk());
  std::string bytes = a.Serialize();
  absl::StatusOr<Aggregate> back = Aggregate::Parse(bytes);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, a);
  EXPECT_EQ(back->Serialize(), bytes);
}

TEST(SerializationTest, RoundTripWithWiderStatisticSet) {
  // The statistic set widens [minimum, maximum] beyond the sketch's own
  // extremes, which are then stored separately.
  Aggregate a = FromValues({1, 2, 3});
  ASSERT_THAT(a.AddStatisticSet(2, 40, -50, 90), IsOk());
  EXPECT_THAT(Statistic(a, "p100"), IsOkAndHolds(3.0));
  EXPECT_THAT(Statistic(a, "p0"), IsOkAndHolds(1.0));
  EXPECT_THAT(Statistic(a, "Maximum"), IsOkAndHolds(90.0));
  absl::StatusOr<Aggregate> back = Aggregate::Parse(a.Serialize());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, a);
  EXPECT_THAT(Statistic(*back, "p100"), IsOkAndHolds(3.0));
}

TEST(SerializationTest, EmptyAndSmallAreCompact) {
  Aggregate empty;
  absl::StatusOr<Aggregate> back = Aggregate::Parse(empty.Serialize());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, empty);

  Aggregate one = FromValues({1.0});
  EXPECT_LE(one.Serialize().size(), 42u);
  Aggregate sixty;
  for (int i = 0; i < 60; ++i) ASSERT_THAT(sixty.Add(100 + i), IsOk());
  EXPECT_LE(sixty.Serialize().size(), 200u);
}

TEST(SerializationTest, EveryTruncationIsAnError) {
  Aggregate a = FromValues({1, 2.5, -7, 0, 1e9});
  std::string bytes = a.Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THAT(Aggregate::Parse(bytes.substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss))
        << "length " << n;
  }
  EXPECT_THAT(Aggregate::Parse(bytes + "x"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("trailing")));
}

TEST(SerializationTest, RejectsUnknownVersionAndBadContents) {
  Aggregate a = FromValues({1, 2, 3});
  std::string bytes = a.Serialize();

  std::string v2 = bytes;
  v2[0] = 2;
  EXPECT_THAT(Aggregate::Parse(v2),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("version 2")));

  std::string flags = bytes;
  flags[1] = 4;
  EXPECT_THAT(Aggregate::Parse(flags),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("flags")));

  // minimum (bytes 18..25) set to NaN.
  std::string nan = bytes;
  for (int i = 18; i < 26; ++i) nan[i] = static_cast<char>(0xff);
  EXPECT_THAT(Aggregate::Parse(nan), StatusIs(absl::StatusCode::kDataLoss));

  // sample_count zero while the sketch holds 3 samples.
  std::string zero = bytes;
  for (int i = 2; i < 10; ++i) zero[i] = 0;
  EXPECT_THAT(Aggregate::Parse(zero), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(SerializationTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> len(0, 120);
  Aggregate a = FromValues({1, 2, 3, 40, 500});
  const std::string good = a.Serialize();
  int parsed = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    if (iter % 2 == 0) {
      s.resize(static_cast<size_t>(len(rng)));
      for (char& c : s) c = static_cast<char>(byte(rng));
      if (!s.empty()) s[0] = 1;  // get past the version check
    } else {
      s = good;  // flip a few bytes of a valid record
      for (int k = 0; k < 3; ++k) {
        s[static_cast<size_t>(byte(rng)) % s.size()] =
            static_cast<char>(byte(rng));
      }
    }
    absl::StatusOr<Aggregate> r = Aggregate::Parse(s);
    if (r.ok()) {
      ++parsed;
      // Whatever parses is usable.
      (void)Statistic(*r, "p99");
      (void)Statistic(*r, "Average");
      EXPECT_THAT(Aggregate::Parse(r->Serialize()), IsOk());
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  EXPECT_LT(parsed, 20000);
}

TEST(StatisticNameTest, SimpleNames) {
  for (const char* name :
       {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}) {
    absl::StatusOr<StatisticSpec> s = ParseStatisticName(name);
    ASSERT_THAT(s, IsOk()) << name;
    EXPECT_FALSE(s->is_percentile());
    EXPECT_EQ(s->name, name);
    EXPECT_TRUE(IsSimpleStatistic(name));
  }
  EXPECT_FALSE(IsSimpleStatistic("sum"));
  EXPECT_FALSE(IsSimpleStatistic("p99"));
  EXPECT_EQ(ParseStatisticName("Maximum")->kind, StatisticKind::kMaximum);
}

TEST(StatisticNameTest, Percentiles) {
  struct Case {
    const char* name;
    double p;
  };
  for (const Case& c :
       {Case{"p0", 0}, Case{"p9", 9}, Case{"p50", 50}, Case{"p90", 90},
        Case{"p99", 99}, Case{"p99.9", 99.9}, Case{"p99.99", 99.99},
        Case{"p0.5", 0.5}, Case{"p100", 100}, Case{"p50.", 50}}) {
    absl::StatusOr<StatisticSpec> s = ParseStatisticName(c.name);
    ASSERT_THAT(s, IsOk()) << c.name;
    EXPECT_TRUE(s->is_percentile());
    EXPECT_DOUBLE_EQ(s->percentile, c.p) << c.name;
  }
}

TEST(StatisticNameTest, BadNames) {
  for (const char* name : {"", "sum", "SUM", "Avg", "p", "p101", "p100.0",
                           "p999", "p99.999", "p-1", "p.5", "P99", "p9x",
                           "p 99", "99", "Sum ", "tmfoo", "IQM2", "TM(10%"}) {
    EXPECT_THAT(ParseStatisticName(name),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("Invalid statistic")))
        << name;
  }
  for (const char* name :
       {"tm90", "tc99", "ts50", "wm90", "IQM", "TM(10%:90%)", "PR(100:2000)"}) {
    EXPECT_THAT(ParseStatisticName(name),
                StatusIs(absl::StatusCode::kUnimplemented,
                         HasSubstr("Unsupported statistic")))
        << name;
  }
  Aggregate a = FromValues({1});
  EXPECT_THAT(Statistic(a, "Median"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace evbus::metricstore
