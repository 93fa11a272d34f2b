#include "client/describe_schedule_expression.h"

#include <optional>
#include <sstream>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/json.h"

namespace evbus::cli {
namespace {

absl::Time T(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

struct Result {
  int rc;
  std::string out;
  std::string err;
};

Result Describe(const std::string& expression, const std::string& zone,
                std::optional<absl::Time> start, int count) {
  std::ostringstream out;
  std::ostringstream err;
  const int rc =
      RunDescribeScheduleExpression(expression, zone, start, count, out, err);
  return {rc, out.str(), err.str()};
}

common::Json Parsed(const std::string& text) {
  absl::StatusOr<common::Json> j = common::ParseJson(text);
  EXPECT_TRUE(j.ok()) << text;
  return j.ok() ? *j : common::Json();
}

TEST(DescribeScheduleExpressionTest, CronInAZoneAcrossDst) {
  const Result r = Describe("cron(0 8 ? * MON-FRI *)", "Europe/Berlin",
                            T("2026-10-22T12:00:00Z"), 3);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(Parsed(r.out), Parsed(R"j({"Expression": "cron(0 8 ? * MON-FRI *)",
                       "Timezone": "Europe/Berlin",
                       "NextFireTimes": ["2026-10-23T08:00:00+02:00",
                                         "2026-10-26T08:00:00+01:00",
                                         "2026-10-27T08:00:00+01:00"]})j"));
  // Key order is as documented.
  EXPECT_LT(r.out.find("Expression"), r.out.find("Timezone"));
  EXPECT_LT(r.out.find("Timezone"), r.out.find("NextFireTimes"));
}

TEST(DescribeScheduleExpressionTest,
     RateIsAnchoredAtStartAndZoneDefaultsToUtc) {
  const Result r =
      Describe("rate(5 minutes)", "", T("2026-01-01T00:00:30Z"), 2);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Parsed(r.out),
            Parsed(R"j({"Expression": "rate(5 minutes)", "Timezone": "UTC",
                       "NextFireTimes": ["2026-01-01T00:05:30+00:00",
                                         "2026-01-01T00:10:30+00:00"]})j"));
}

TEST(DescribeScheduleExpressionTest, AtListsOneTimeOrNone) {
  Result r = Describe("at(2026-11-27T08:00:00)", "Europe/Berlin",
                      T("2026-01-01T00:00:00Z"), 5);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Parsed(r.out)["NextFireTimes"],
            Parsed(R"j(["2026-11-27T08:00:00+01:00"])j"));
  r = Describe("at(2020-01-01T00:00:00)", "UTC", T("2026-01-01T00:00:00Z"), 5);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Parsed(r.out)["NextFireTimes"], common::Json::array());
}

TEST(DescribeScheduleExpressionTest, DefaultStartIsNow) {
  const Result r = Describe("rate(1 minute)", "UTC", std::nullopt, 1);
  ASSERT_EQ(r.rc, 0) << r.err;
  const common::Json times = Parsed(r.out)["NextFireTimes"];
  ASSERT_EQ(times.size(), 1u);
  const absl::Time t = T(times[0].get<std::string>());
  EXPECT_GT(t, absl::Now());
  EXPECT_LE(t, absl::Now() + absl::Minutes(1));
}

TEST(DescribeScheduleExpressionTest, Errors) {
  struct Case {
    const char* expression;
    const char* zone;
    int count;
    const char* err;
  };
  const Case cases[] = {
      {"cron(0 1 * * * *)", "", 1,
       "ValidationException: Invalid Schedule Expression cron(0 1 * * * *).\n"},
      {"rate(1 minutes)", "UTC", 1,
       "ValidationException: Invalid Schedule Expression rate(1 minutes).\n"},
      {"rate(5 minutes)", "Mars/Olympus", 1,
       "ValidationException: Invalid ScheduleExpressionTimezone "
       "Mars/Olympus.\n"},
      {"rate(5 minutes)", "", 0, "--count must be between 1 and 1000\n"},
      {"rate(5 minutes)", "", 1001, "--count must be between 1 and 1000\n"},
  };
  for (const Case& c : cases) {
    const Result r =
        Describe(c.expression, c.zone, T("2026-01-01T00:00:00Z"), c.count);
    EXPECT_EQ(r.rc, 1) << c.expression;
    EXPECT_EQ(r.out, "") << c.expression;
    EXPECT_EQ(r.err, c.err);
  }
}

}  // namespace
}  // namespace evbus::cli
