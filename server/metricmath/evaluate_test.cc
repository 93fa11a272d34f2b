#include "server/metricmath/evaluate.h"

#include <cmath>
#include <functional>
#include <optional>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::metricmath {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::nullopt_t kNone = std::nullopt;

Grid FiveMinutes() {
  return Grid{.start = absl::FromUnixSeconds(1700000000),
              .period = absl::Minutes(1),
              .count = 5};
}

QueryInput Metric(std::string id, Series s, std::string label = "") {
  QueryInput q;
  q.id = std::move(id);
  q.label = std::move(label);
  q.series = std::move(s);
  return q;
}

QueryInput Expr(std::string id, absl::string_view text) {
  QueryInput q;
  q.id = std::move(id);
  absl::StatusOr<Expression> e = Expression::Parse(text);
  EXPECT_THAT(e, IsOk()) << text;
  if (e.ok()) q.expression = *std::move(e);
  return q;
}

// Evaluates `text` over m1 and m2 and returns the last query's value.
absl::StatusOr<Value> Eval(absl::string_view text, Series m1, Series m2) {
  std::vector<QueryInput> q = {Metric("m1", std::move(m1), "Errors"),
                               Metric("m2", std::move(m2), "Invocations"),
                               Expr("e", text)};
  absl::StatusOr<std::vector<Value>> v = EvaluateQueries(FiveMinutes(), q);
  if (!v.ok()) return v.status();
  return v->back();
}

const Series kErrors = {1, kNone, 4, 0, 2};
const Series kCalls = {10, 10, 8, kNone, 4};

TEST(EvaluateTest, ErrorRateLeavesOutBucketsMissingInEitherSeries) {
  EVBUS_ASSERT_OK_AND_ASSIGN(Value v, Eval("100*m1/m2", kErrors, kCalls));
  ASSERT_EQ(v.kind, Value::Kind::kSeries);
  EXPECT_THAT(v.series, ElementsAre(10.0, kNone, 50.0, kNone, 50.0));
}

TEST(EvaluateTest, DivisionByZeroIsNoDatapoint) {
  EVBUS_ASSERT_OK_AND_ASSIGN(Value v, Eval("m2 / m1", kErrors, kCalls));
  EXPECT_THAT(v.series, ElementsAre(10.0, kNone, 2.0, kNone, 2.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value l, Eval("LOG(m1)", kErrors, kCalls));
  EXPECT_THAT(l.series,
              ElementsAre(0.0, kNone, std::log(4.0), kNone, std::log(2.0)));
}

TEST(EvaluateTest, ScalarsCombineWithEveryBucket) {
  EVBUS_ASSERT_OK_AND_ASSIGN(Value v, Eval("m1 - AVG(m1)", kErrors, kCalls));
  // AVG over the four datapoints: 7/4.
  EXPECT_THAT(v.series, ElementsAre(-0.75, kNone, 2.25, -1.75, 0.25));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value s, Eval("2 ^ 3 + -1", kErrors, kCalls));
  ASSERT_EQ(s.kind, Value::Kind::kScalar);
  EXPECT_EQ(s.scalar, 7.0);
  EVBUS_ASSERT_OK_AND_ASSIGN(Series as, s.AsSeries(FiveMinutes()));
  EXPECT_THAT(as, ElementsAre(7.0, 7.0, 7.0, 7.0, 7.0));
}

TEST(EvaluateTest, AggregatesOfOneSeriesAreScalars) {
  auto scalar = [](absl::string_view text) {
    absl::StatusOr<Value> v = Eval(text, kErrors, kCalls);
    EXPECT_THAT(v, IsOk()) << text;
    EXPECT_EQ(v->kind, Value::Kind::kScalar) << text;
    return v->scalar;
  };
  EXPECT_EQ(scalar("SUM(m1)"), 7.0);
  EXPECT_EQ(scalar("MAX(m1)"), 4.0);
  EXPECT_EQ(scalar("MIN(m1)"), 0.0);
  EXPECT_EQ(scalar("DATAPOINT_COUNT(m2)"), 4.0);
  EXPECT_EQ(scalar("PERIOD(m1)"), 60.0);
  EXPECT_NEAR(*scalar("STDDEV(m1)"), std::sqrt(2.1875), 1e-12);
  // No datapoints: no value, not zero.
  EXPECT_EQ(scalar("AVG(m1 * 0 + FILL(m1, 0) * 0 / 0)"), kNone);
}

TEST(EvaluateTest, AggregatesOfArraysArePerBucket) {
  EVBUS_ASSERT_OK_AND_ASSIGN(Value v, Eval("SUM([m1, m2])", kErrors, kCalls));
  ASSERT_EQ(v.kind, Value::Kind::kSeries);
  EXPECT_THAT(v.series, ElementsAre(11.0, 10.0, 12.0, 0.0, 6.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value m, Eval("MAX(METRICS())", kErrors, kCalls));
  EXPECT_THAT(m.series, ElementsAre(10.0, 10.0, 8.0, 0.0, 4.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value f,
                             Eval("METRICS(\"Inv\") * 2", kErrors, kCalls));
  ASSERT_EQ(f.kind, Value::Kind::kArray);
  ASSERT_EQ(f.array.size(), 1u);
  EXPECT_THAT(f.labels, ElementsAre("Invocations"));
  EXPECT_THAT(f.array[0], ElementsAre(20.0, 20.0, 16.0, kNone, 8.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value first,
                             Eval("LAST(METRICS())", kErrors, kCalls));
  EXPECT_THAT(first.series, ElementsAre(10.0, 10.0, 8.0, kNone, 4.0));
}

TEST(EvaluateTest, FillRepeatLinearAndValue) {
  const Series gappy = {kNone, 2, kNone, kNone, 8};
  EVBUS_ASSERT_OK_AND_ASSIGN(Value z, Eval("FILL(m1, 0)", gappy, kCalls));
  EXPECT_THAT(z.series, ElementsAre(0.0, 2.0, 0.0, 0.0, 8.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value r, Eval("FILL(m1, REPEAT)", gappy, kCalls));
  EXPECT_THAT(r.series, ElementsAre(kNone, 2.0, 2.0, 2.0, 8.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value l, Eval("FILL(m1, LINEAR)", gappy, kCalls));
  EXPECT_THAT(l.series, ElementsAre(kNone, 2.0, 4.0, 6.0, 8.0));
  const Series tail = {1, kNone, kNone, kNone, kNone};
  EVBUS_ASSERT_OK_AND_ASSIGN(Value t, Eval("FILL(m1, REPEAT)", tail, kCalls));
  EXPECT_THAT(t.series, ElementsAre(1.0, 1.0, 1.0, 1.0, 1.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value t2, Eval("FILL(m1, LINEAR)", tail, kCalls));
  EXPECT_THAT(t2.series, ElementsAre(1.0, kNone, kNone, kNone, kNone));
}

TEST(EvaluateTest, DiffRateRunningSum) {
  const Series counter = {10, kNone, 40, 70, 70};
  EVBUS_ASSERT_OK_AND_ASSIGN(Value d, Eval("DIFF(m1)", counter, kCalls));
  EXPECT_THAT(d.series, ElementsAre(kNone, kNone, 30.0, 30.0, 0.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value t, Eval("DIFF_TIME(m1)", counter, kCalls));
  EXPECT_THAT(t.series, ElementsAre(kNone, kNone, 120.0, 60.0, 60.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value r, Eval("RATE(m1)", counter, kCalls));
  EXPECT_THAT(r.series, ElementsAre(kNone, kNone, 0.25, 0.5, 0.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value s, Eval("RUNNING_SUM(m1)", counter, kCalls));
  EXPECT_THAT(s.series, ElementsAre(10.0, kNone, 50.0, 120.0, 190.0));
}

TEST(EvaluateTest, IfComparisonsAndLogic) {
  EVBUS_ASSERT_OK_AND_ASSIGN(
      Value v, Eval("IF(m1 > 1 AND m2 >= 8, m1, -1)", kErrors, kCalls));
  EXPECT_THAT(v.series, ElementsAre(-1.0, kNone, 4.0, kNone, -1.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value w, Eval("IF(m1 > 1, m1)", kErrors, kCalls));
  EXPECT_THAT(w.series, ElementsAre(kNone, kNone, 4.0, kNone, 2.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value o,
                             Eval("m1 == 0 || m1 == 4", kErrors, kCalls));
  EXPECT_THAT(o.series, ElementsAre(0.0, kNone, 1.0, 1.0, 0.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value c, Eval("CEIL(m2 / 3) + FLOOR(-0.5) + "
                                           "ABS(-1)",
                                           kErrors, kCalls));
  EXPECT_THAT(c.series, ElementsAre(4.0, 4.0, 3.0, kNone, 2.0));
  EVBUS_ASSERT_OK_AND_ASSIGN(Value ts, Eval("TIME_SERIES(3)", kErrors, kCalls));
  EXPECT_THAT(ts.series, ElementsAre(3.0, 3.0, 3.0, 3.0, 3.0));
}

// QA pass F: nested array literals (100^3 series) and wide requests used
// to allocate until evbusd died. A budget of values and a member limit
// stop them with a clear error, whatever the expression.
TEST(EvaluateTest, MemoryAndTimeAreBoundedByABudget) {
  std::string hundred = "[m1";
  for (int i = 1; i < 100; ++i) hundred += ",m1";
  hundred += "]";
  std::vector<QueryInput> q = {Metric("m1", kErrors), Expr("l1", hundred)};
  std::string l2 = "[l1";
  for (int i = 1; i < 100; ++i) l2 += ",l1";
  l2 += "]";
  q.push_back(Expr("l2", l2));
  EXPECT_THAT(EvaluateQueries(FiveMinutes(), q),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at most 500 time series")));
  // Few series over a long grid: the budget of values.
  Grid wide{
      .start = absl::UnixEpoch(), .period = absl::Minutes(1), .count = 100800};
  std::vector<QueryInput> big = {Metric("m1", Series(100800, 1.0))};
  for (int i = 0; i < 30; ++i) {
    big.push_back(Expr(absl::StrCat("e", i), "m1 * 2"));
  }
  EXPECT_THAT(EvaluateQueries(wide, big),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 2000000 values")));
  // Within the budget: fine.
  big.resize(5);
  EXPECT_THAT(EvaluateQueries(wide, big), IsOk());
  // Labels of array members: the query's label, else its id.
  std::vector<QueryInput> labelled = {Metric("a", kErrors, "Errors"),
                                      Metric("b", kCalls), Expr("z", "[a, b]")};
  EVBUS_ASSERT_OK_AND_ASSIGN(std::vector<Value> v,
                             EvaluateQueries(FiveMinutes(), labelled));
  EXPECT_THAT(v[2].labels, ElementsAre("Errors", "b"));
}

TEST(EvaluateTest, ExpressionsMayUseOtherExpressionsInAnyOrder) {
  std::vector<QueryInput> q = {Expr("pct", "rate * 100"),
                               Expr("rate", "m1 / m2"), Metric("m1", kErrors),
                               Metric("m2", kCalls)};
  EVBUS_ASSERT_OK_AND_ASSIGN(std::vector<Value> v,
                             EvaluateQueries(FiveMinutes(), q));
  EXPECT_THAT(v[0].series, ElementsAre(10.0, kNone, 50.0, kNone, 50.0));
}

TEST(EvaluateTest, RefusesBadQuerySets) {
  EXPECT_THAT(CheckQueries({Metric("M1", kErrors)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Invalid id 'M1'")));
  EXPECT_THAT(CheckQueries({Metric("m1", kErrors), Metric("m1", kCalls)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Duplicate id 'm1'")));
  EXPECT_THAT(CheckQueries({Expr("e", "m1 + x")}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("refers to unknown id 'm1'")));
  EXPECT_THAT(
      CheckQueries({Expr("a", "b + 1"), Expr("b", "c"), Expr("c", "a")}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("Circular dependency between queries: a -> b -> c "
                         "-> a.")));
  EXPECT_THAT(
      CheckQueries({Expr("a", "a")}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a -> a")));
}

TEST(EvaluateTest, RefusesValuesOfTheWrongKind) {
  EXPECT_THAT(Eval("METRICS() + METRICS()", kErrors, kCalls),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cannot combine two arrays")));
  EXPECT_THAT(Eval("DIFF(m1) + TIME_SERIES(m1)", kErrors, kCalls),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("TIME_SERIES takes a scalar")));
  EXPECT_THAT(
      Eval("FIRST(m1)", kErrors, kCalls),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("query 'e'")));
  EXPECT_THAT(
      Eval("IF(METRICS(), 1)", kErrors, kCalls),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not arrays")));
  EXPECT_THAT(Eval("FILL(m1, m2)", kErrors, kCalls),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("FILL's second argument")));
}

}  // namespace
}  // namespace evbus::metricmath

namespace evbus::metricmath {
namespace {

// Random texts and random well-formed expressions over random series: Parse
// and EvaluateQueries answer (a value or InvalidArgument), never crash, and
// every value is finite or missing. Deterministic (fixed seed), bounded.
TEST(EvaluateTest, RandomExpressionsNeverCrashAndStayFinite) {
  std::mt19937 rng(20261129);
  auto pick = [&rng](std::initializer_list<const char*> list) {
    std::uniform_int_distribution<size_t> d(0, list.size() - 1);
    return std::string(*(list.begin() + d(rng)));
  };
  // A random expression of depth <= `depth`.
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    std::uniform_int_distribution<int> kind(0, depth <= 0 ? 1 : 6);
    switch (kind(rng)) {
      case 0:
        return pick({"m1", "m2", "m3"});
      case 1:
        return pick({"0", "1", "-2.5", "1e300", "3", "0.001"});
      case 2:
        return "(" + gen(depth - 1) + " " +
               pick({"+", "-", "*", "/", "^", "==", "!=", "<", "<=", ">",
                     ">=", "AND", "OR", "&&", "||"}) +
               " " + gen(depth - 1) + ")";
      case 3:
        return pick({"ABS",
                     "CEIL",
                     "FLOOR",
                     "LOG",
                     "LOG10",
                     "AVG",
                     "MAX",
                     "MIN",
                     "SUM",
                     "STDDEV",
                     "DATAPOINT_COUNT",
                     "DIFF",
                     "DIFF_TIME",
                     "RATE",
                     "RUNNING_SUM",
                     "PERIOD",
                     "TIME_SERIES",
                     "REMOVE_EMPTY",
                     "FIRST",
                     "LAST"}) +
               "(" + gen(depth - 1) + ")";
      case 4:
        return "FILL(" + gen(depth - 1) + ", " +
               pick({"0", "REPEAT", "LINEAR", "m1"}) + ")";
      case 5:
        return "IF(" + gen(depth - 1) + ", " + gen(depth - 1) +
               (rng() % 2 == 0 ? ", " + gen(depth - 1) : std::string()) + ")";
      default:
        return "[" + gen(depth - 1) + ", " + gen(depth - 1) + "]" +
               (rng() % 2 == 0 ? std::string() : " * 2");
    }
  };
  auto random_series = [&rng]() {
    Series s(6);
    std::uniform_int_distribution<int> coin(0, 3);
    std::uniform_real_distribution<double> v(-1e6, 1e6);
    for (std::optional<double>& x : s) {
      if (coin(rng) != 0) x = v(rng);
    }
    return s;
  };
  const Grid grid{.start = absl::FromUnixSeconds(1700000000),
                  .period = absl::Minutes(1),
                  .count = 6};
  int evaluated = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = gen(4);
    if (i % 3 == 0) {
      // Damage it: drop, duplicate or replace a random byte.
      std::uniform_int_distribution<size_t> at(0, text.size() - 1);
      const size_t k = at(rng);
      switch (rng() % 3) {
        case 0:
          text.erase(k, 1);
          break;
        case 1:
          text.insert(k, 1, text[k]);
          break;
        default:
          text[k] = static_cast<char>(rng() % 256);
      }
    }
    absl::StatusOr<Expression> e = Expression::Parse(text);
    if (!e.ok()) {
      EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << text;
      continue;
    }
    std::vector<QueryInput> q = {Metric("m1", random_series()),
                                 Metric("m2", random_series()),
                                 Metric("m3", random_series())};
    QueryInput expr;
    expr.id = "e";
    expr.expression = *std::move(e);
    q.push_back(std::move(expr));
    absl::StatusOr<std::vector<Value>> v = EvaluateQueries(grid, q);
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << text;
      continue;
    }
    ++evaluated;
    const Value& out = v->back();
    auto finite = [](const std::optional<double>& x) {
      return !x.has_value() || std::isfinite(*x);
    };
    EXPECT_TRUE(finite(out.scalar)) << text;
    for (const std::optional<double>& x : out.series) {
      EXPECT_TRUE(finite(x)) << text;
    }
    for (const Series& s : out.array) {
      EXPECT_EQ(s.size(), 6u) << text;
      for (const std::optional<double>& x : s) EXPECT_TRUE(finite(x)) << text;
    }
    if (out.kind == Value::Kind::kSeries) {
      EXPECT_EQ(out.series.size(), 6u);
    }
  }
  // Most generated expressions are well-formed and evaluate.
  EXPECT_GT(evaluated, 1000);
}

}  // namespace
}  // namespace evbus::metricmath
