#include "server/alarms/evaluation.h"

#include <cfloat>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/alarms/format.h"
#include "server/common/json.h"
#include "tests/testing/status_matchers.h"

namespace evbus::alarms {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;

absl::Time T(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err))
      << rfc3339 << ": " << err;
  return t;
}

// ---------------------------------------------------------------------------
// The documentation's TreatMissingData table (spec §4.2): 10 rows × 4
// treatments. Data is oldest → newest; `0` is fine, `X` breaching, `-`
// missing. Threshold 1, GreaterThanOrEqualToThreshold, X = 5, 0 = 0.

constexpr char kNoChange[] = "no change";

struct TableRow {
  const char* data;
  int m;
  int n;
  const char* missing;
  const char* ignore;
  const char* breaching;
  const char* not_breaching;
};

constexpr TableRow kTable[] = {
    {"0 - X - X", 3, 3, "OK", "OK", "OK", "OK"},
    {"0 - - - -", 3, 3, "OK", "OK", "OK", "OK"},
    {"- - - - -", 3, 3, "INSUFFICIENT_DATA", kNoChange, "ALARM", "OK"},
    {"0 X X - X", 3, 3, "ALARM", "ALARM", "ALARM", "ALARM"},
    {"- - X - -", 3, 3, "ALARM", kNoChange, "ALARM", "OK"},
    {"0 - X - X", 2, 3, "ALARM", "ALARM", "ALARM", "ALARM"},
    {"0 0 X 0 X", 2, 3, "ALARM", "ALARM", "ALARM", "ALARM"},
    {"0 - X - -", 2, 3, "OK", "OK", "ALARM", "OK"},
    {"- - - - 0", 2, 3, "OK", "OK", "ALARM", "OK"},
    {"- - - X -", 2, 3, "ALARM", kNoChange, "ALARM", "OK"},
};

// Newest-first buckets, one minute apart, newest starting at 21:24:00.
std::vector<Bucket> BucketsFromTable(const std::string& oldest_to_newest) {
  std::vector<std::string> cells =
      absl::StrSplit(oldest_to_newest, ' ', absl::SkipEmpty());
  std::vector<Bucket> out;
  absl::Time start = T("2020-10-09T21:24:00Z");
  for (auto it = cells.rbegin(); it != cells.rend(); ++it) {
    Bucket b;
    b.start = start;
    if (*it == "X") b.value = 5;
    if (*it == "0") b.value = 0;
    out.push_back(b);
    start -= absl::Minutes(1);
  }
  return out;
}

EvaluationConfig TableConfig(int m, int n, TreatMissingData t) {
  EvaluationConfig c;
  c.comparison_operator = ComparisonOperator::kGreaterThanOrEqualToThreshold;
  c.threshold = 1;
  c.evaluation_periods = n;
  c.datapoints_to_alarm = m;
  c.treat_missing_data = t;
  c.statistic = "Sum";
  c.period_seconds = 60;
  return c;
}

struct TableCase {
  int row;
  TreatMissingData treatment;
};

std::string CaseName(const ::testing::TestParamInfo<TableCase>& info) {
  return absl::StrCat("Row", info.param.row + 1, "_",
                      TreatMissingDataName(info.param.treatment));
}

class TreatMissingDataTableTest : public ::testing::TestWithParam<TableCase> {};

TEST_P(TreatMissingDataTableTest, MatchesDocumentation) {
  const TableRow& row = kTable[GetParam().row];
  const TreatMissingData t = GetParam().treatment;
  const char* expected = t == TreatMissingData::kMissing  ? row.missing
                         : t == TreatMissingData::kIgnore ? row.ignore
                         : t == TreatMissingData::kBreaching
                             ? row.breaching
                             : row.not_breaching;
  std::vector<Bucket> buckets = BucketsFromTable(row.data);
  ASSERT_EQ(static_cast<int>(buckets.size()), EvaluationRange(row.n));
  // Evaluate from every current state: the decision must not depend on it
  // (except that "no change" keeps it).
  for (AlarmState current :
       {AlarmState::kOk, AlarmState::kAlarm, AlarmState::kInsufficientData}) {
    absl::StatusOr<Decision> d = Evaluate(TableConfig(row.m, row.n, t), buckets,
                                          current, T("2020-10-09T21:25:30Z"));
    ASSERT_THAT(d, IsOk());
    SCOPED_TRACE(absl::StrCat(row.data, " M=", row.m, " N=", row.n, " ",
                              TreatMissingDataName(t), " from ",
                              AlarmStateName(current), ": ", d->reason));
    if (std::string(expected) == kNoChange) {
      EXPECT_TRUE(d->no_change);
      EXPECT_EQ(d->state, current);
      EXPECT_EQ(d->reason, "");
      EXPECT_EQ(d->reason_data_json, "");
    } else {
      EXPECT_FALSE(d->no_change);
      EXPECT_EQ(AlarmStateName(d->state), expected);
      EXPECT_FALSE(d->reason.empty());
      EXPECT_THAT(common::ParseJson(d->reason_data_json), IsOk());
    }
  }
}

std::vector<TableCase> AllTableCases() {
  std::vector<TableCase> out;
  for (int row = 0; row < 10; ++row) {
    for (TreatMissingData t :
         {TreatMissingData::kMissing, TreatMissingData::kIgnore,
          TreatMissingData::kBreaching, TreatMissingData::kNotBreaching}) {
      out.push_back({row, t});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Documentation, TreatMissingDataTableTest,
                         ::testing::ValuesIn(AllTableCases()), CaseName);

// ---------------------------------------------------------------------------
// State reasons (§4.3).

Bucket B(const std::string& start, std::optional<double> value,
         std::optional<double> sample_count = std::nullopt) {
  return Bucket{T(start), value, sample_count};
}

EvaluationConfig Config(ComparisonOperator op, double threshold, int n, int m,
                        TreatMissingData t = TreatMissingData::kMissing) {
  EvaluationConfig c;
  c.comparison_operator = op;
  c.threshold = threshold;
  c.evaluation_periods = n;
  c.datapoints_to_alarm = m;
  c.treat_missing_data = t;
  c.statistic = "Average";
  c.period_seconds = 300;
  return c;
}

Decision MustEvaluate(const EvaluationConfig& c,
                      const std::vector<Bucket>& buckets, AlarmState current,
                      absl::Time query = absl::UnixEpoch()) {
  absl::StatusOr<Decision> d = Evaluate(c, buckets, current, query);
  EXPECT_THAT(d, IsOk());
  return d.ok() ? *d : Decision{};
}

TEST(StateReasonTest, ThreeOutOfThreePlural) {
  Decision d = MustEvaluate(
      Config(ComparisonOperator::kGreaterThanOrEqualToThreshold, 30, 3, 3),
      {B("2020-10-09T21:24:00Z", 1141), B("2020-10-09T21:19:00Z", 1226),
       B("2020-10-09T21:14:00Z", 1390), B("2020-10-09T21:09:00Z", 2),
       B("2020-10-09T21:04:00Z", std::nullopt)},
      AlarmState::kOk);
  EXPECT_EQ(d.state, AlarmState::kAlarm);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 3 out of the last 3 datapoints [1141.0 "
            "(09/10/20 21:24:00), 1226.0 (09/10/20 21:19:00), 1390.0 (09/10/20 "
            "21:14:00)] were greater than or equal to the threshold (30.0) "
            "(minimum 3 datapoints for OK -> ALARM transition).");
}

TEST(StateReasonTest, OneOutOfOneSingularNotPrefix) {
  Decision d = MustEvaluate(
      Config(ComparisonOperator::kGreaterThanThreshold, 50, 1, 1),
      {B("2021-06-10T04:23:00Z", 9.395), B("2021-06-10T04:18:00Z", 70),
       B("2021-06-10T04:13:00Z", 80)},
      AlarmState::kAlarm);
  EXPECT_EQ(d.state, AlarmState::kOk);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [9.395 "
            "(10/06/21 04:23:00)] was not greater than the threshold (50.0) "
            "(minimum 1 datapoint for ALARM -> OK transition).");
}

TEST(StateReasonTest, TwoOutOfTwoGreaterThan) {
  // Observed in a real SNS alarm message.
  Decision d =
      MustEvaluate(Config(ComparisonOperator::kGreaterThanThreshold, 1, 2, 2),
                   {B("2021-09-27T01:36:00Z", 5.535714886726143),
                    B("2021-09-27T01:35:00Z", 1.7514244573552422)},
                   AlarmState::kOk);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 2 out of the last 2 datapoints "
            "[5.535714886726143 (27/09/21 01:36:00), 1.7514244573552422 "
            "(27/09/21 01:35:00)] were greater than the threshold (1.0) "
            "(minimum 2 datapoints for OK -> ALARM transition).");
}

TEST(StateReasonTest, OkListsOnlyNonBreachingAndMinimumIsNMinusMPlusOne) {
  // Observed: N = 2, M = 2; one of the two datapoints is not breaching.
  Decision d = MustEvaluate(
      Config(ComparisonOperator::kGreaterThanOrEqualToThreshold, 1, 2, 2),
      {B("2023-06-02T12:28:00Z", 0), B("2023-06-02T12:27:00Z", 1)},
      AlarmState::kAlarm);
  EXPECT_EQ(d.state, AlarmState::kOk);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 1 out of the last 2 datapoints [0.0 (02/06/23 "
            "12:28:00)] was not greater than or equal to the threshold (1.0) "
            "(minimum 1 datapoint for ALARM -> OK transition).");

  // N = 5, M = 2: minimum N - M + 1 = 4 for ALARM -> OK.
  std::vector<Bucket> five;
  absl::Time t = T("2023-06-02T12:30:00Z");
  for (int i = 0; i < 7; ++i) {
    five.push_back(Bucket{t, i == 2 ? 3.0 : 0.5, std::nullopt});
    t -= absl::Minutes(1);
  }
  Decision ok = MustEvaluate(
      Config(ComparisonOperator::kGreaterThanOrEqualToThreshold, 1, 5, 2), five,
      AlarmState::kAlarm);
  EXPECT_EQ(ok.state, AlarmState::kOk);
  EXPECT_THAT(ok.reason, HasSubstr("4 out of the last 5 datapoints [0.5 "));
  EXPECT_THAT(ok.reason,
              HasSubstr("were not greater than or equal to the threshold (1.0) "
                        "(minimum 4 datapoints for ALARM -> OK transition)."));
}

TEST(StateReasonTest, FromInsufficientDataStillSaysOkToAlarm) {
  // Observed with OldStateValue INSUFFICIENT_DATA.
  Decision d = MustEvaluate(
      Config(ComparisonOperator::kGreaterThanOrEqualToThreshold, 0, 1, 1),
      {B("2023-10-10T06:40:00Z", 2)}, AlarmState::kInsufficientData);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (10/10/23 "
            "06:40:00)] was greater than or equal to the threshold (0.0) "
            "(minimum 1 datapoint for OK -> ALARM transition).");
}

TEST(StateReasonTest, NoDatapointsTreatedAsNonBreachingSingular) {
  Decision d = MustEvaluate(Config(ComparisonOperator::kGreaterThanThreshold, 1,
                                   1, 1, TreatMissingData::kNotBreaching),
                            {B("2023-01-01T00:02:00Z", std::nullopt),
                             B("2023-01-01T00:01:00Z", std::nullopt),
                             B("2023-01-01T00:00:00Z", std::nullopt)},
                            AlarmState::kAlarm);
  EXPECT_EQ(d.state, AlarmState::kOk);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: no datapoints were received for 1 period and 1 "
            "missing datapoint was treated as [NonBreaching].");
}

TEST(StateReasonTest, NoDatapointsTreatedAsBreachingPlural) {
  Decision d = MustEvaluate(Config(ComparisonOperator::kGreaterThanThreshold, 1,
                                   2, 2, TreatMissingData::kBreaching),
                            {}, AlarmState::kOk);
  EXPECT_EQ(d.state, AlarmState::kAlarm);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: no datapoints were received for 2 periods and "
            "2 missing datapoints were treated as [Breaching].");
}

TEST(StateReasonTest, InsufficientDataSingularAndPlural) {
  Decision one =
      MustEvaluate(Config(ComparisonOperator::kGreaterThanThreshold, 1, 1, 1),
                   {B("2023-01-01T00:00:00Z", std::nullopt)}, AlarmState::kOk);
  EXPECT_EQ(one.state, AlarmState::kInsufficientData);
  EXPECT_EQ(one.reason, "Insufficient Data: 1 datapoint was unknown.");

  Decision five =
      MustEvaluate(Config(ComparisonOperator::kGreaterThanThreshold, 1, 5, 3),
                   {}, AlarmState::kOk);
  EXPECT_EQ(five.reason, "Insufficient Data: 5 datapoints were unknown.");
}

TEST(StateReasonTest, PrematureAlarmCountsTheRealDatapoints) {
  // Table row 10 (- - - X -, M=2, N=3) with missing: ALARM from the one
  // breaching datapoint, two slots old.
  std::vector<Bucket> buckets = BucketsFromTable("- - - X -");
  Decision d = MustEvaluate(TableConfig(2, 3, TreatMissingData::kMissing),
                            buckets, AlarmState::kOk);
  EXPECT_EQ(d.state, AlarmState::kAlarm);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (09/10/20 "
            "21:23:00)] was greater than or equal to the threshold (1.0) "
            "(minimum 2 datapoints for OK -> ALARM transition).");
}

TEST(StateReasonTest, TooFewBreachingDatapointsToAlarmAreCounted) {
  // QA O: M = 3 of N = 5 with one datapoint, breaching: OK (too few to
  // alarm), and the reason says so instead of "0 ... were not".
  Decision d = MustEvaluate(
      Config(ComparisonOperator::kGreaterThanOrEqualToThreshold, 1, 5, 3),
      {B("2026-03-01T00:53:00Z", 5)}, AlarmState::kInsufficientData);
  EXPECT_EQ(d.state, AlarmState::kOk);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (01/03/26 "
            "00:53:00)] was greater than or equal to the threshold (1.0) "
            "(minimum 3 datapoints for OK -> ALARM transition).");
  // With a non-breaching datapoint among them, the OK text as observed.
  Decision mixed = MustEvaluate(
      Config(ComparisonOperator::kGreaterThanOrEqualToThreshold, 1, 5, 3),
      {B("2026-03-01T00:53:00Z", 5), B("2026-03-01T00:52:00Z", 0)},
      AlarmState::kInsufficientData);
  EXPECT_EQ(mixed.state, AlarmState::kOk);
  EXPECT_THAT(mixed.reason,
              HasSubstr("1 out of the last 2 datapoints [0.0 (01/03/26 "
                        "00:52:00)] was not greater than or equal"));
}

TEST(StateReasonTest, FilledSlotsCountButAreNotListed) {
  // Row 8 (0 - X - -, M=2, N=3) with breaching: the real X plus one filled
  // slot make 2 breaching datapoints of the last 3.
  Decision d = MustEvaluate(TableConfig(2, 3, TreatMissingData::kBreaching),
                            BucketsFromTable("0 - X - -"), AlarmState::kOk);
  EXPECT_EQ(d.state, AlarmState::kAlarm);
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 2 out of the last 3 datapoints [5.0 (09/10/20 "
            "21:22:00)] were greater than or equal to the threshold (1.0) "
            "(minimum 2 datapoints for OK -> ALARM transition).");

  // Row 9 (- - - - 0, M=2, N=3) with breaching: only filled slots breach.
  Decision filled =
      MustEvaluate(TableConfig(2, 3, TreatMissingData::kBreaching),
                   BucketsFromTable("- - - - 0"), AlarmState::kOk);
  EXPECT_EQ(filled.state, AlarmState::kAlarm);
  EXPECT_EQ(filled.reason,
            "Threshold Crossed: 2 out of the last 3 datapoints were greater "
            "than or equal to the threshold (1.0) (minimum 2 datapoints for OK "
            "-> ALARM transition).");
}

// ---------------------------------------------------------------------------
// StateReasonData (§4.3).

TEST(StateReasonDataTest, MatchesObservedAlarm) {
  EvaluationConfig c =
      Config(ComparisonOperator::kGreaterThanThreshold, 12, 1, 1);
  c.statistic = "Sum";
  c.period_seconds = 60;
  Decision d = MustEvaluate(c,
                            {B("2024-07-16T13:13:00Z", 1051, 1051),
                             B("2024-07-16T13:12:00Z", std::nullopt),
                             B("2024-07-16T13:11:00Z", std::nullopt)},
                            AlarmState::kOk, T("2024-07-16T13:14:42.817Z"));
  EXPECT_EQ(d.reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [1051.0 "
            "(16/07/24 13:13:00)] was greater than the threshold (12.0) "
            "(minimum 1 datapoint for OK -> ALARM transition).");
  EXPECT_EQ(
      d.reason_data_json,
      R"({"version":"1.0","queryDate":"2024-07-16T13:14:42.817+0000",)"
      R"("startDate":"2024-07-16T13:13:00.000+0000","statistic":"Sum",)"
      R"("period":60,"recentDatapoints":[1051.0],"threshold":12.0,)"
      R"("evaluatedDatapoints":[{"timestamp":"2024-07-16T13:13:00.000+0000",)"
      R"("sampleCount":1051.0,"value":1051.0}]})");
}

TEST(StateReasonDataTest, MatchesObservedInsufficientData) {
  EvaluationConfig c =
      Config(ComparisonOperator::kGreaterThanThreshold, 5, 5, 5);
  c.period_seconds = 60;
  std::vector<Bucket> buckets;
  absl::Time t = T("2023-08-04T12:30:00Z");
  for (int i = 0; i < EvaluationRange(5); ++i) {
    buckets.push_back(Bucket{t, std::nullopt, std::nullopt});
    t -= absl::Minutes(1);
  }
  Decision d = MustEvaluate(c, buckets, AlarmState::kInsufficientData,
                            T("2023-08-04T12:31:29.591Z"));
  EXPECT_EQ(d.state, AlarmState::kInsufficientData);
  EXPECT_EQ(d.reason, "Insufficient Data: 5 datapoints were unknown.");
  EXPECT_EQ(d.reason_data_json,
            R"({"version":"1.0","queryDate":"2023-08-04T12:31:29.591+0000",)"
            R"("statistic":"Average","period":60,"recentDatapoints":[],)"
            R"("threshold":5.0,"evaluatedDatapoints":[)"
            R"({"timestamp":"2023-08-04T12:30:00.000+0000"},)"
            R"({"timestamp":"2023-08-04T12:29:00.000+0000"},)"
            R"({"timestamp":"2023-08-04T12:28:00.000+0000"},)"
            R"({"timestamp":"2023-08-04T12:27:00.000+0000"},)"
            R"({"timestamp":"2023-08-04T12:26:00.000+0000"}]})");
}

TEST(StateReasonDataTest, SixDatapointsNewestFirstWithStartDate) {
  EvaluationConfig c =
      Config(ComparisonOperator::kLessThanOrEqualToThreshold, 0, 6, 6);
  c.statistic = "Sum";
  std::vector<Bucket> buckets;
  absl::Time t = T("2022-09-29T22:05:00Z");
  for (int i = 0; i < EvaluationRange(6); ++i) {
    buckets.push_back(
        Bucket{t, i < 6 ? std::optional<double>(0) : std::nullopt, 5.0});
    t -= absl::Minutes(5);
  }
  Decision d =
      MustEvaluate(c, buckets, AlarmState::kOk, T("2022-09-29T22:10:04.689Z"));
  EXPECT_EQ(d.state, AlarmState::kAlarm);
  std::string expected =
      R"({"version":"1.0","queryDate":"2022-09-29T22:10:04.689+0000",)"
      R"("startDate":"2022-09-29T21:40:00.000+0000","statistic":"Sum",)"
      R"("period":300,"recentDatapoints":[0.0,0.0,0.0,0.0,0.0,0.0],)"
      R"("threshold":0.0,"evaluatedDatapoints":[)";
  for (const char* ts :
       {"22:05", "22:00", "21:55", "21:50", "21:45", "21:40"}) {
    absl::StrAppend(&expected, R"({"timestamp":"2022-09-29T)", ts,
                    R"(:00.000+0000","sampleCount":5.0,"value":0.0},)");
  }
  expected.back() = ']';
  expected += "}";
  EXPECT_EQ(d.reason_data_json, expected);
}

TEST(StateReasonDataTest, GapsAreListedRecentIsOldestFirstAndUnitIsIncluded) {
  EvaluationConfig c =
      Config(ComparisonOperator::kGreaterThanThreshold, 1.5, 2, 1);
  c.statistic = "p99";
  c.unit = "Milliseconds";
  Decision d = MustEvaluate(
      c,
      {B("2024-01-01T00:10:00Z", 3), B("2024-01-01T00:05:00Z", std::nullopt),
       B("2024-01-01T00:00:00Z", 1e20)},
      AlarmState::kOk, T("2024-01-01T00:16:00.5Z"));
  EXPECT_EQ(
      d.reason_data_json,
      R"({"version":"1.0","queryDate":"2024-01-01T00:16:00.500+0000",)"
      R"("startDate":"2024-01-01T00:00:00.000+0000","statistic":"p99",)"
      R"("unit":"Milliseconds","period":300,"recentDatapoints":[1.0E20,3.0],)"
      R"("threshold":1.5,"evaluatedDatapoints":[)"
      R"({"timestamp":"2024-01-01T00:10:00.000+0000","value":3.0},)"
      R"({"timestamp":"2024-01-01T00:05:00.000+0000"},)"
      R"({"timestamp":"2024-01-01T00:00:00.000+0000","value":1.0E20}]})");
  EXPECT_THAT(common::ParseJson(d.reason_data_json), IsOk());
}

// ---------------------------------------------------------------------------
// Boundaries: a value exactly at the threshold.

TEST(BoundaryTest, ExactlyAtThreshold) {
  struct Case {
    ComparisonOperator op;
    AlarmState expected;
    const char* phrase;
  };
  for (const Case& c :
       {Case{ComparisonOperator::kGreaterThanOrEqualToThreshold,
             AlarmState::kAlarm, "was greater than or equal to"},
        Case{ComparisonOperator::kGreaterThanThreshold, AlarmState::kOk,
             "was not greater than"},
        Case{ComparisonOperator::kLessThanThreshold, AlarmState::kOk,
             "was not less than"},
        Case{ComparisonOperator::kLessThanOrEqualToThreshold,
             AlarmState::kAlarm, "was less than or equal to"}}) {
    Decision d = MustEvaluate(Config(c.op, 21.5, 1, 1),
                              {B("2023-11-27T16:05:00Z", 21.5)},
                              AlarmState::kInsufficientData);
    EXPECT_EQ(d.state, c.expected) << ComparisonOperatorName(c.op);
    EXPECT_THAT(d.reason,
                HasSubstr(absl::StrCat("[21.5 (27/11/23 16:05:00)] ", c.phrase,
                                       " the threshold (21.5)")));
    EXPECT_FALSE(IsBreaching(c.op, 21.5, 21.5) &&
                 c.expected == AlarmState::kOk);
  }
  // Just either side.
  const double above = std::nextafter(21.5, 100.0);
  const double below = std::nextafter(21.5, 0.0);
  EXPECT_TRUE(
      IsBreaching(ComparisonOperator::kGreaterThanThreshold, above, 21.5));
  EXPECT_FALSE(
      IsBreaching(ComparisonOperator::kGreaterThanThreshold, below, 21.5));
  EXPECT_TRUE(IsBreaching(ComparisonOperator::kLessThanThreshold, below, 21.5));
  EXPECT_FALSE(
      IsBreaching(ComparisonOperator::kLessThanThreshold, above, 21.5));
  EXPECT_TRUE(IsBreaching(ComparisonOperator::kGreaterThanOrEqualToThreshold,
                          above, 21.5));
  EXPECT_FALSE(IsBreaching(ComparisonOperator::kGreaterThanOrEqualToThreshold,
                           below, 21.5));
  EXPECT_TRUE(IsBreaching(ComparisonOperator::kLessThanOrEqualToThreshold,
                          below, 21.5));
  EXPECT_FALSE(IsBreaching(ComparisonOperator::kLessThanOrEqualToThreshold,
                           above, 21.5));
}

// ---------------------------------------------------------------------------
// Other rules and helpers.

TEST(EvaluateTest, UsesTheNMostRecentRealDatapointsPastGaps) {
  // Newest first: X - 0 - X X: N=3 → X, 0, X (the oldest X is not used).
  std::vector<Bucket> b = BucketsFromTable("X X - 0 - X");
  Decision two = MustEvaluate(TableConfig(2, 3, TreatMissingData::kMissing), b,
                              AlarmState::kOk);
  EXPECT_EQ(two.state, AlarmState::kAlarm);
  Decision three = MustEvaluate(TableConfig(3, 3, TreatMissingData::kMissing),
                                b, AlarmState::kOk);
  EXPECT_EQ(three.state, AlarmState::kOk);
}

TEST(EvaluateTest, EvaluationRange) {
  EXPECT_EQ(EvaluationRange(1), 3);
  EXPECT_EQ(EvaluationRange(3), 5);
  EXPECT_EQ(EvaluationRange(5), 7);
  EXPECT_EQ(EvaluationRange(6), 8);
  EXPECT_EQ(EvaluationRange(9), 12);
  EXPECT_EQ(EvaluationRange(1440), 1920);
}

TEST(EvaluateTest, RejectsBadInput) {
  std::vector<Bucket> ok = BucketsFromTable("0 0 0");
  absl::Time q = absl::UnixEpoch();
  EXPECT_THAT(Evaluate(TableConfig(1, 0, TreatMissingData::kMissing), ok,
                       AlarmState::kOk, q),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Evaluate(TableConfig(0, 1, TreatMissingData::kMissing), ok,
                       AlarmState::kOk, q),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Evaluate(TableConfig(4, 3, TreatMissingData::kMissing), ok,
                       AlarmState::kOk, q),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EvaluationConfig nan = TableConfig(1, 1, TreatMissingData::kMissing);
  nan.threshold = std::nan("");
  EXPECT_THAT(Evaluate(nan, ok, AlarmState::kOk, q),
              StatusIs(absl::StatusCode::kInvalidArgument));

  std::vector<Bucket> oldest_first = ok;
  std::swap(oldest_first[0], oldest_first[2]);
  EXPECT_THAT(
      Evaluate(TableConfig(1, 1, TreatMissingData::kMissing), oldest_first,
               AlarmState::kOk, q),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not older")));
  std::vector<Bucket> inf = ok;
  inf[1].value = INFINITY;
  EXPECT_THAT(Evaluate(TableConfig(1, 1, TreatMissingData::kMissing), inf,
                       AlarmState::kOk, q),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseTest, ComparisonOperator) {
  for (ComparisonOperator op :
       {ComparisonOperator::kGreaterThanOrEqualToThreshold,
        ComparisonOperator::kGreaterThanThreshold,
        ComparisonOperator::kLessThanThreshold,
        ComparisonOperator::kLessThanOrEqualToThreshold}) {
    absl::StatusOr<ComparisonOperator> back =
        ParseComparisonOperator(ComparisonOperatorName(op));
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(*back, op);
  }
  EXPECT_THAT(
      ParseComparisonOperator("GreaterThan"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          "1 validation error detected: Value 'GreaterThan' at "
          "'comparisonOperator' failed to satisfy constraint: Member must "
          "satisfy enum value set: [GreaterThanOrEqualToThreshold, "
          "GreaterThanThreshold, LessThanThreshold, "
          "LessThanOrEqualToThreshold, "
          "LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, "
          "GreaterThanUpperThreshold]"));
  EXPECT_THAT(ParseComparisonOperator("GreaterThanUpperThreshold"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("anomaly detection")));
}

TEST(ParseTest, TreatMissingData) {
  for (TreatMissingData t :
       {TreatMissingData::kMissing, TreatMissingData::kNotBreaching,
        TreatMissingData::kBreaching, TreatMissingData::kIgnore}) {
    absl::StatusOr<TreatMissingData> back =
        ParseTreatMissingData(TreatMissingDataName(t));
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(*back, t);
  }
  EXPECT_THAT(ParseTreatMissingData("notbreaching"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "The value notbreaching is not supported for "
                       "TreatMissingData parameter. Supported values are "
                       "[breaching, notBreaching, ignore, missing]."));
}

TEST(ParseTest, AlarmState) {
  EXPECT_EQ(*ParseAlarmState("OK"), AlarmState::kOk);
  EXPECT_EQ(*ParseAlarmState("ALARM"), AlarmState::kAlarm);
  EXPECT_EQ(*ParseAlarmState("INSUFFICIENT_DATA"),
            AlarmState::kInsufficientData);
  EXPECT_EQ(AlarmStateName(AlarmState::kInsufficientData), "INSUFFICIENT_DATA");
  EXPECT_THAT(ParseAlarmState("ok"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "1 validation error detected: Value 'ok' at "
                       "'stateValue' failed to satisfy constraint: Member must "
                       "satisfy enum value set: [INSUFFICIENT_DATA, ALARM, "
                       "OK]"));
}

TEST(FormatTest, JavaDouble) {
  struct Case {
    double v;
    const char* want;
  };
  for (const Case& c : {
           Case{30, "30.0"},
           Case{21.5, "21.5"},
           Case{9.395, "9.395"},
           Case{1141, "1141.0"},
           Case{0, "0.0"},
           Case{-0.0, "-0.0"},
           Case{-2.5, "-2.5"},
           Case{5.535714886726143, "5.535714886726143"},
           Case{0.0666851903306472, "0.0666851903306472"},
           Case{0.001, "0.001"},
           Case{0.0001, "1.0E-4"},
           Case{1.23e-10, "1.23E-10"},
           Case{9999999, "9999999.0"},
           Case{1e7, "1.0E7"},
           Case{12345678.9, "1.23456789E7"},
           Case{1e10, "1.0E10"},
           Case{1e20, "1.0E20"},
           Case{-1e300, "-1.0E300"},
           Case{DBL_MAX, "1.7976931348623157E308"},
           Case{100, "100.0"},
           Case{123456.789, "123456.789"},
       }) {
    EXPECT_EQ(FormatJavaDouble(c.v), c.want) << c.want;
  }
  EXPECT_EQ(FormatJavaDouble(std::nan("")), "NaN");
  EXPECT_EQ(FormatJavaDouble(INFINITY), "Infinity");
  EXPECT_EQ(FormatJavaDouble(-INFINITY), "-Infinity");
}

TEST(FormatTest, Times) {
  absl::Time t = T("2020-10-09T21:24:07.123456Z");
  EXPECT_EQ(FormatReasonTime(t), "09/10/20 21:24:07");
  EXPECT_EQ(FormatAwsTimestamp(t), "2020-10-09T21:24:07.123+0000");
  EXPECT_EQ(FormatAwsTimestamp(T("2020-10-09T21:24:00Z")),
            "2020-10-09T21:24:00.000+0000");
  EXPECT_EQ(FormatAwsTimestamp(T("1969-12-31T23:59:59.9996Z")),
            "1969-12-31T23:59:59.999+0000");
}

}  // namespace
}  // namespace evbus::alarms
