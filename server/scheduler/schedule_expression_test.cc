#include "server/scheduler/schedule_expression.h"

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::scheduler {
namespace {

using ::testing::ElementsAreArray;

constexpr char kRuleError[] =
    "ValidationException: Parameter ScheduleExpression is not valid.";

absl::Time T(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err))
      << rfc3339 << ": " << err;
  return t;
}

std::string Format(absl::Time t, const absl::TimeZone& tz) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", t, tz);
}

// The next `n` fire times after `after` (chained), formatted in the zone.
std::vector<std::string> NextN(const ScheduleExpression& e, absl::Time after,
                               absl::Time anchor, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::optional<absl::Time> t = e.NextFireAfter(after, anchor);
    if (!t) {
      out.push_back("none");
      break;
    }
    EXPECT_GT(*t, after);
    out.push_back(Format(*t, e.time_zone()));
    after = *t;
  }
  return out;
}

// --- Parsing ---------------------------------------------------------------

// Accepted by both PutRule and Scheduler (spec §8.1, §8.2).
const char* const kAcceptedBoth[] = {
    // rate, singular iff 1
    "rate(1 minute)",
    "rate(10 minutes)",
    "rate(1 hour)",
    "rate(2 hours)",
    "rate(1 day)",
    "rate(7 days)",
    // cron, spec §8.1 accepted list [LS-AWS]
    "cron(0 10 * * ? *)",
    "cron(5,35 14 * * ? *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(15 10 ? * 6L 2002-2005)",
    "cron(0 2 ? * SAT#3 *)",
    "cron(* * ? * SAT#3 *)",
    "cron(0/5 5 ? JAN 1-5 2022)",
    // spec §8.2 Scheduler-accepted cron (the same grammar, so rules too)
    "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
    "cron(1-31/30 1-1 ? * 1,7 *)",
    "cron(0-59/10 0-23/2 ? * * *)",
    // each special character
    "cron(*/15 * * * ? *)",
    "cron(0 20-2 * * ? *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 LW * ? *)",
    "cron(0 0 15W * ? *)",
    "cron(0 0 1,15,L * ? *)",
    "cron(0 0 ? * L *)",
    "cron(0 0 ? * FRIL *)",
    "cron(0 0 ? * 3#2 *)",
    "cron(0 0 ? * 3#1,6 *)",
    "cron(0 0 ? * FRI-MON *)",
    "cron(0 0 1 NOV-FEB ? *)",
    "cron(0 0 1 1 ? 1970)",
    "cron(0 0 1 1 ? 2199)",
    "cron(0 0 1 1 ? 2030/10)",
    "cron(0 0 ? jan mon *)",
    "cron(59 23 31 12 ? *)",
};

// Rejected by both (spec §8.1 lists, plus edge cases).
const char* const kRejectedBoth[] = {
    // spec §8.1 rate rejections [LS-AWS]
    "rate(10 seconds)", "rate(10 years)", "rate(1 minutes)", "rate(1 hours)",
    "rate(1 days)", "rate(10 minute)", "rate(10 hour)", "rate(10 day)",
    "rate()", "rate(10)", "rate(10 minutess)", "rate(foo minutes)",
    "rate(0 minutes)", "rate(-10 minutes)", "rate(10 MINUTES)",
    "rate( 10 minutes )", " rate(10 minutes)",
    // spec §8.1 cron rejections [LS-AWS]
    "cron(INVALID)", "cron(0 dummy ? * MON-FRI *)", "cron(7 20 * * NOT *)",
    "cron(71 8 1 * ? *)", "cron(0 1 * * * *)",
    // spec §8.2 (Scheduler), rejected by rules too
    "cron()",
    // edge cases
    "", "rate(10 minutes) ", "rate(10  minutes)", "rate(+10 minutes)",
    "rate(1.5 hours)", "rate(10 minutes", "RATE(10 minutes)",
    "rate(9999999999 minutes)", "cron(0 0 ? * ? *)", "cron(0 0 ? * 3#1,6#3 *)",
    "cron(0 0 ? * 2#6 *)", "cron(0 0 ? * 2#0 *)", "cron(0 0 ? * 8 *)",
    "cron(0 0 ? * 0 *)", "cron(0 0 32 * ? *)", "cron(0 0 0 * ? *)",
    "cron(0 24 * * ? *)", "cron(60 0 * * ? *)", "cron(0 0 1 13 ? *)",
    "cron(0 0 1 0 ? *)", "cron(0 0 1 * ? 1969)", "cron(0 0 1 * ? 2200)",
    "cron(0 0 1 * ? 2005-2002)", "cron(0 0 1 * ? * *)", "cron(0 0 1 * ?)",
    "cron(0  0 1 * ? *)", "cron( 0 0 1 * ? *)", "cron(*/0 * * * ? *)",
    "cron(0/61 * * * ? *)", "cron(0 0 1W-5 * ? *)", "cron(0 0 W * ? *)",
    "cron(0 0 32W * ? *)", "cron(0 0 L-3 * ? *)", "cron(L 0 1 * ? *)",
    "cron(0 0 ?,1 * ? *)", "cron(0 0 1 * 1#1 *)", "cron(0 0 1# * ? *)",
    "cron(0 0 ? * 3#2 *", "cron(0 0 1 JANUARY ? *)", "cron(0 0 1 * ? MON)",
    "cron(0 0 MON * ? *)", "cron(0 0 1 * ? ,)", "cron(0 0 1 * ? 2020-)",
    "cron(0 0 1 * ? -2020)", "cron(0 0 1 1-2-3 ? *)", "cron(0 0 1 */ ? *)",
    "cron(0 0 1 /2 ? *)",
    "at(2026-01-01T00:00:00)",  // rules have no at(); see the Scheduler test
};

TEST(ScheduleExpressionParseTest, AcceptsInBothDialects) {
  for (const char* text : kAcceptedBoth) {
    for (Dialect d : {Dialect::kRule, Dialect::kScheduler}) {
      absl::StatusOr<ScheduleExpression> e = ScheduleExpression::Parse(text, d);
      ASSERT_TRUE(e.ok()) << text << ": " << e.status();
      EXPECT_EQ(e->text(), text);
      EXPECT_EQ(e->kind(),
                text[0] == 'r' ? ExpressionKind::kRate : ExpressionKind::kCron)
          << text;
    }
  }
}

TEST(ScheduleExpressionParseTest, RuleRejectionsUseRuleMessage) {
  for (const char* text : kRejectedBoth) {
    absl::StatusOr<ScheduleExpression> e =
        ScheduleExpression::Parse(text, Dialect::kRule);
    ASSERT_FALSE(e.ok()) << "accepted: '" << text << "'";
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(e.status().message(), kRuleError) << text;
  }
}

TEST(ScheduleExpressionParseTest, SchedulerRejectionsNameTheExpression) {
  for (const char* text : kRejectedBoth) {
    if (std::string(text).rfind("at(", 0) == 0) continue;  // valid there
    absl::StatusOr<ScheduleExpression> e =
        ScheduleExpression::Parse(text, Dialect::kScheduler);
    ASSERT_FALSE(e.ok()) << "accepted: '" << text << "'";
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(e.status().message(),
              std::string("ValidationException: Invalid Schedule Expression ") +
                  text + ".");
  }
}

TEST(ScheduleExpressionParseTest, AtOnlyInScheduler) {
  struct Case {
    const char* text;
    bool ok;
  };
  const Case cases[] = {
      {"at(2021-12-31T23:59:59)", true},
      {"at(2024-02-29T00:00:00)", true},
      {"at(2021-12-31T23:59:59Z)", false},  // spec §8.2 [LS-AWS]
      {"at(2021-12-31)", false},            // spec §8.2 [LS-AWS]
      {"at(2100-02-29T00:00:00)", false},   // 2100 is not a leap year
      {"at(2026-04-31T00:00:00)", false},
      {"at(2026-13-01T00:00:00)", false},
      {"at(2026-00-01T00:00:00)", false},
      {"at(2026-01-00T00:00:00)", false},
      {"at(2026-01-01T24:00:00)", false},
      {"at(2026-01-01T00:60:00)", false},
      {"at(2026-01-01T00:00:60)", false},
      {"at(2026-01-01 00:00:00)", false},
      {"at(2026-1-01T00:00:00)", false},
      {"at(2026-01-01T00:00)", false},
      {"at(2026-01-01T00:00:00.000)", false},
      {"at(+026-01-01T00:00:00)", false},
      {"at( 2026-01-01T00:00:00)", false},
      {"at()", false},
      {"AT(2026-01-01T00:00:00)", false},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ScheduleExpression> s =
        ScheduleExpression::Parse(c.text, Dialect::kScheduler);
    EXPECT_EQ(s.ok(), c.ok) << c.text << ": " << s.status();
    if (s.ok()) {
      EXPECT_EQ(s->kind(), ExpressionKind::kAt);
    } else {
      EXPECT_EQ(
          s.status().message(),
          std::string("ValidationException: Invalid Schedule Expression ") +
              c.text + ".");
    }
    absl::StatusOr<ScheduleExpression> r =
        ScheduleExpression::Parse(c.text, Dialect::kRule);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().message(), kRuleError);
  }
}

TEST(ScheduleExpressionParseTest, TimeZones) {
  struct Case {
    Dialect dialect;
    const char* zone;
    const char* error;  // nullptr when accepted
  };
  const Case cases[] = {
      {Dialect::kScheduler, "UTC", nullptr},
      {Dialect::kScheduler, "", nullptr},
      {Dialect::kScheduler, "Europe/Berlin", nullptr},
      {Dialect::kScheduler, "America/New_York", nullptr},
      {Dialect::kScheduler, "America/Argentina/Buenos_Aires", nullptr},
      {Dialect::kScheduler, "Etc/GMT+5", nullptr},
      {Dialect::kScheduler, "Mars/Olympus",
       "ValidationException: Invalid ScheduleExpressionTimezone "
       "Mars/Olympus."},
      {Dialect::kScheduler, "europe/berlin",
       "ValidationException: Invalid ScheduleExpressionTimezone "
       "europe/berlin."},
      {Dialect::kScheduler, "../../etc/passwd",
       "ValidationException: Invalid ScheduleExpressionTimezone "
       "../../etc/passwd."},
      {Dialect::kScheduler, "/usr/share/zoneinfo/UTC",
       "ValidationException: Invalid ScheduleExpressionTimezone "
       "/usr/share/zoneinfo/UTC."},
      {Dialect::kScheduler, "localtime",
       "ValidationException: Invalid ScheduleExpressionTimezone localtime."},
      {Dialect::kScheduler, "Fixed/UTC+01:00:00",
       "ValidationException: Invalid ScheduleExpressionTimezone "
       "Fixed/UTC+01:00:00."},
      {Dialect::kScheduler, "Europe/Berlin ",
       "ValidationException: Invalid ScheduleExpressionTimezone "
       "Europe/Berlin ."},
      {Dialect::kRule, "UTC", nullptr},
      {Dialect::kRule, "", nullptr},
      {Dialect::kRule, "Europe/Berlin",
       "ValidationException: Rule schedule expressions are evaluated in UTC; "
       "time zone Europe/Berlin is not supported."},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ScheduleExpression> e =
        ScheduleExpression::Parse("rate(5 minutes)", c.dialect, c.zone);
    if (c.error == nullptr) {
      EXPECT_TRUE(e.ok()) << c.zone << ": " << e.status();
    } else {
      ASSERT_FALSE(e.ok()) << c.zone;
      EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(e.status().message(), c.error);
    }
  }
  // An invalid expression is reported before the zone.
  absl::StatusOr<ScheduleExpression> both =
      ScheduleExpression::Parse("rate(5)", Dialect::kScheduler, "Nowhere/X");
  EXPECT_EQ(both.status().message(),
            "ValidationException: Invalid Schedule Expression rate(5).");
}

TEST(ScheduleExpressionParseTest, RatePeriods) {
  struct Case {
    const char* text;
    absl::Duration period;
  };
  const Case cases[] = {
      {"rate(1 minute)", absl::Minutes(1)},
      {"rate(90 minutes)", absl::Minutes(90)},
      {"rate(1 hour)", absl::Hours(1)},
      {"rate(36 hours)", absl::Hours(36)},
      {"rate(1 day)", absl::Hours(24)},
      {"rate(3 days)", absl::Hours(72)},
      {"rate(01 minute)", absl::Minutes(1)},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ScheduleExpression> e =
        ScheduleExpression::Parse(c.text, Dialect::kRule);
    ASSERT_TRUE(e.ok()) << c.text;
    EXPECT_EQ(e->rate_period(), c.period) << c.text;
  }
}

// --- Next fire times ---------------------------------------------------------

struct NextCase {
  const char* expression;
  const char* zone;
  const char* after;              // RFC 3339
  std::vector<std::string> want;  // chained fire times, "none" at the end
};

void PrintTo(const NextCase& c, std::ostream* os) {
  *os << c.expression << " in " << c.zone << " after " << c.after;
}

class CronNextTest : public ::testing::TestWithParam<NextCase> {};

TEST_P(CronNextTest, ChainedFireTimes) {
  const NextCase& c = GetParam();
  absl::StatusOr<ScheduleExpression> e =
      ScheduleExpression::Parse(c.expression, Dialect::kScheduler, c.zone);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_THAT(
      NextN(*e, T(c.after), absl::UnixEpoch(), static_cast<int>(c.want.size())),
      ElementsAreArray(c.want))
      << c.expression << " in " << c.zone << " after " << c.after;
}

INSTANTIATE_TEST_SUITE_P(
    SpecExamples, CronNextTest,
    ::testing::Values(
        NextCase{"cron(0 10 * * ? *)",
                 "UTC",
                 "2026-01-01T10:00:00Z",
                 {"2026-01-02T10:00:00+00:00", "2026-01-03T10:00:00+00:00"}},
        NextCase{"cron(5,35 14 * * ? *)",
                 "UTC",
                 "2026-01-01T14:05:00Z",
                 {"2026-01-01T14:35:00+00:00", "2026-01-02T14:05:00+00:00"}},
        // Friday 17:55 → Monday 08:00 (Jan 2 2026 is a Friday).
        NextCase{"cron(0/5 8-17 ? * MON-FRI *)",
                 "UTC",
                 "2026-01-02T17:50:00Z",
                 {"2026-01-02T17:55:00+00:00", "2026-01-05T08:00:00+00:00",
                  "2026-01-05T08:05:00+00:00"}},
        // Last Friday of each month, 2002–2005 only.
        NextCase{"cron(15 10 ? * 6L 2002-2005)",
                 "UTC",
                 "1999-06-01T00:00:00Z",
                 {"2002-01-25T10:15:00+00:00", "2002-02-22T10:15:00+00:00"}},
        NextCase{"cron(15 10 ? * 6L 2002-2005)",
                 "UTC",
                 "2005-11-30T00:00:00Z",
                 {"2005-12-30T10:15:00+00:00", "none"}},
        // Third Saturday.
        NextCase{"cron(0 2 ? * SAT#3 *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-17T02:00:00+00:00", "2026-02-21T02:00:00+00:00"}},
        NextCase{"cron(* * ? * SAT#3 *)",
                 "UTC",
                 "2026-01-17T23:58:00Z",
                 {"2026-01-17T23:59:00+00:00", "2026-02-21T00:00:00+00:00",
                  "2026-02-21T00:01:00+00:00"}},
        // Jan 1 2022 is a Saturday (7), so Jan 2 (Sunday = 1) comes first.
        NextCase{"cron(0/5 5 ? JAN 1-5 2022)",
                 "UTC",
                 "2022-01-01T00:00:00Z",
                 {"2022-01-02T05:00:00+00:00", "2022-01-02T05:05:00+00:00"}},
        NextCase{"cron(0/5 5 ? JAN 1-5 2022)",
                 "UTC",
                 "2022-01-31T05:50:00Z",
                 {"2022-01-31T05:55:00+00:00", "none"}},
        NextCase{"cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
                 "UTC",
                 "2026-01-03T08:14:00Z",  // Saturday
                 {"2026-01-03T08:15:00+00:00", "2026-01-05T08:00:00+00:00"}},
        NextCase{"cron(1-31/30 1-1 ? * 1,7 *)",
                 "UTC",
                 "2026-01-03T01:01:00Z",
                 {"2026-01-03T01:31:00+00:00", "2026-01-04T01:01:00+00:00",
                  "2026-01-04T01:31:00+00:00", "2026-01-10T01:01:00+00:00"}},
        NextCase{"cron(0-59/10 0-23/2 ? * * *)",
                 "UTC",
                 "2026-01-01T00:50:00Z",
                 {"2026-01-01T02:00:00+00:00", "2026-01-01T02:10:00+00:00"}}));

INSTANTIATE_TEST_SUITE_P(
    SpecialCharacters, CronNextTest,
    ::testing::Values(
        // Steps.
        NextCase{"cron(*/15 * * * ? *)",
                 "UTC",
                 "2026-01-01T00:50:00Z",
                 {"2026-01-01T01:00:00+00:00", "2026-01-01T01:15:00+00:00"}},
        NextCase{"cron(7/20 * * * ? *)",
                 "UTC",
                 "2026-01-01T00:47:00Z",
                 {"2026-01-01T01:07:00+00:00", "2026-01-01T01:27:00+00:00"}},
        // Wrapping hour range with and without a step.
        NextCase{"cron(0 22-1 * * ? *)",
                 "UTC",
                 "2026-01-01T12:00:00Z",
                 {"2026-01-01T22:00:00+00:00", "2026-01-01T23:00:00+00:00",
                  "2026-01-02T00:00:00+00:00", "2026-01-02T01:00:00+00:00",
                  "2026-01-02T22:00:00+00:00"}},
        NextCase{"cron(0 20-2/3 * * ? *)",
                 "UTC",
                 "2026-01-01T12:00:00Z",
                 {"2026-01-01T20:00:00+00:00", "2026-01-01T23:00:00+00:00",
                  "2026-01-02T02:00:00+00:00", "2026-01-02T20:00:00+00:00"}},
        // Wrapping day-of-week range with names (Jan 1 2026 is a Thursday).
        NextCase{"cron(0 12 ? * FRI-MON *)",
                 "UTC",
                 "2026-01-01T12:00:00Z",
                 {"2026-01-02T12:00:00+00:00", "2026-01-03T12:00:00+00:00",
                  "2026-01-04T12:00:00+00:00", "2026-01-05T12:00:00+00:00",
                  "2026-01-09T12:00:00+00:00"}},
        // Wrapping month range with names, across the year end.
        NextCase{"cron(0 0 1 NOV-FEB ? *)",
                 "UTC",
                 "2026-02-01T00:00:00Z",
                 {"2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00",
                  "2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00",
                  "2027-11-01T00:00:00+00:00"}},
        // Wrapping day-of-month range.
        NextCase{"cron(0 0 30-2 * ? *)",
                 "UTC",
                 "2026-02-03T00:00:00Z",
                 {"2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00",
                  "2026-03-30T00:00:00+00:00", "2026-03-31T00:00:00+00:00",
                  "2026-04-01T00:00:00+00:00"}},
        // Lower-case names.
        NextCase{
            "cron(0 0 ? jan mon 2027)",
            "UTC",
            "2026-06-01T00:00:00Z",
            {"2027-01-04T00:00:00+00:00", "2027-01-11T00:00:00+00:00",
             "2027-01-18T00:00:00+00:00", "2027-01-25T00:00:00+00:00", "none"}},
        // L: last day of the month (2024 leap, 2100 not, 2000 leap).
        NextCase{"cron(0 0 L * ? *)",
                 "UTC",
                 "2024-01-31T00:00:00Z",
                 {"2024-02-29T00:00:00+00:00", "2024-03-31T00:00:00+00:00",
                  "2024-04-30T00:00:00+00:00"}},
        NextCase{"cron(0 0 L 2 ? *)",
                 "UTC",
                 "2099-03-01T00:00:00Z",
                 {"2100-02-28T00:00:00+00:00", "2101-02-28T00:00:00+00:00"}},
        NextCase{"cron(0 0 L 2 ? *)",
                 "UTC",
                 "1999-03-01T00:00:00Z",
                 {"2000-02-29T00:00:00+00:00", "2001-02-28T00:00:00+00:00"}},
        // L combined with plain days.
        NextCase{"cron(0 0 1,15,L * ? *)",
                 "UTC",
                 "2026-02-15T00:00:00Z",
                 {"2026-02-28T00:00:00+00:00", "2026-03-01T00:00:00+00:00",
                  "2026-03-15T00:00:00+00:00", "2026-03-31T00:00:00+00:00"}},
        // The 31st only exists in 31-day months.
        NextCase{"cron(0 12 31 * ? *)",
                 "UTC",
                 "2026-04-01T00:00:00Z",
                 {"2026-05-31T12:00:00+00:00", "2026-07-31T12:00:00+00:00",
                  "2026-08-31T12:00:00+00:00", "2026-10-31T12:00:00+00:00"}},
        // Feb 29: 2024 → 2028; 2100 is skipped; 2000 is a leap year.
        NextCase{"cron(0 0 29 2 ? *)",
                 "UTC",
                 "2024-03-01T00:00:00Z",
                 {"2028-02-29T00:00:00+00:00"}},
        NextCase{"cron(0 0 29 2 ? *)",
                 "UTC",
                 "2096-03-01T00:00:00Z",
                 {"2104-02-29T00:00:00+00:00"}},
        NextCase{"cron(0 0 29 2 ? *)",
                 "UTC",
                 "1999-03-01T00:00:00Z",
                 {"2000-02-29T00:00:00+00:00"}},
        // Never: Feb 30, and the 31st of 30-day months.
        NextCase{"cron(0 0 30 2 ? *)", "UTC", "2026-01-01T00:00:00Z", {"none"}},
        NextCase{"cron(0 0 31 4,6,9,11 ? *)",
                 "UTC",
                 "1970-01-01T00:00:00Z",
                 {"none"}},
        // W: nearest weekday within the month. 2026-02-15 and 2026-03-15 are
        // Sundays → Monday the 16th; 2026-04-15 is a Wednesday.
        NextCase{"cron(0 9 15W * ? *)",
                 "UTC",
                 "2026-02-01T00:00:00Z",
                 {"2026-02-16T09:00:00+00:00", "2026-03-16T09:00:00+00:00",
                  "2026-04-15T09:00:00+00:00"}},
        // 1W: 2026-08-01 is a Saturday → Monday the 3rd (not July 31).
        NextCase{"cron(0 9 1W * ? *)",
                 "UTC",
                 "2026-07-31T00:00:00Z",
                 {"2026-08-03T09:00:00+00:00", "2026-09-01T09:00:00+00:00"}},
        // 31W: 2026-05-31 is a Sunday → Friday the 29th; June has no 31st.
        NextCase{"cron(0 9 31W * ? *)",
                 "UTC",
                 "2026-05-01T00:00:00Z",
                 {"2026-05-29T09:00:00+00:00", "2026-07-31T09:00:00+00:00"}},
        // LW: last weekday (Jan 31 2026 Sat → 30th, Feb 28 Sat → 27th).
        NextCase{"cron(0 18 LW * ? *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-30T18:00:00+00:00", "2026-02-27T18:00:00+00:00",
                  "2026-03-31T18:00:00+00:00", "2026-04-30T18:00:00+00:00",
                  "2026-05-29T18:00:00+00:00"}},
        // L in day-of-week alone = Saturday.
        NextCase{"cron(0 0 ? * L *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-03T00:00:00+00:00", "2026-01-10T00:00:00+00:00"}},
        // nL by name and by number: last Friday / last Sunday.
        NextCase{"cron(0 0 ? * FRIL *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00"}},
        NextCase{"cron(0 0 ? * 1L *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-25T00:00:00+00:00", "2026-02-22T00:00:00+00:00",
                  "2026-03-29T00:00:00+00:00"}},
        // #: 2nd Tuesday; 5th Monday only in months that have one.
        NextCase{"cron(0 0 ? * 3#2 *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-13T00:00:00+00:00", "2026-02-10T00:00:00+00:00"}},
        NextCase{"cron(0 0 ? * 2#5 *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-03-30T00:00:00+00:00", "2026-06-29T00:00:00+00:00",
                  "2026-08-31T00:00:00+00:00"}},
        // One # item combined with plain days: 1st Tuesday or any Friday.
        NextCase{"cron(0 0 ? * 3#1,FRI *)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-02T00:00:00+00:00", "2026-01-06T00:00:00+00:00",
                  "2026-01-09T00:00:00+00:00"}},
        // Years: lists, steps, the 2199 ceiling.
        NextCase{"cron(0 0 1 1 ? 2030/10)",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2030-01-01T00:00:00+00:00", "2040-01-01T00:00:00+00:00"}},
        NextCase{
            "cron(0 0 1 1 ? 1980,2199)",
            "UTC",
            "1975-01-01T00:00:00Z",
            {"1980-01-01T00:00:00+00:00", "2199-01-01T00:00:00+00:00", "none"}},
        NextCase{"cron(59 23 31 12 ? *)",
                 "UTC",
                 "2199-12-31T23:58:00Z",
                 {"2199-12-31T23:59:00+00:00", "none"}},
        NextCase{"cron(0 0 * * ? *)", "UTC", "2200-01-01T00:00:00Z", {"none"}},
        NextCase{"cron(0 0 1 1 ? *)",
                 "UTC",
                 "1900-06-01T00:00:00Z",
                 {"1970-01-01T00:00:00+00:00"}},
        // Sub-minute `after`: the next minute boundary, strictly after.
        NextCase{"cron(* * * * ? *)",
                 "UTC",
                 "2026-01-01T00:00:59.999Z",
                 {"2026-01-01T00:01:00+00:00", "2026-01-01T00:02:00+00:00"}}));

INSTANTIATE_TEST_SUITE_P(
    DaylightSaving, CronNextTest,
    ::testing::Values(
        // Berlin spring forward 2026-03-29 02:00 → 03:00: 02:30 does not
        // exist that day and is skipped.
        NextCase{"cron(30 2 * * ? *)",
                 "Europe/Berlin",
                 "2026-03-28T02:30:00+01:00",
                 {"2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"}},
        NextCase{"cron(0/30 * * * ? *)",
                 "Europe/Berlin",
                 "2026-03-29T01:00:00+01:00",
                 {"2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00",
                  "2026-03-29T03:30:00+02:00"}},
        // Wall-clock times stay put across the change.
        NextCase{"cron(0 8 * * ? *)",
                 "Europe/Berlin",
                 "2026-03-28T08:00:00+01:00",
                 {"2026-03-29T08:00:00+02:00", "2026-03-30T08:00:00+02:00"}},
        // Berlin fall back 2026-10-25 03:00 → 02:00: 02:30 fires once (first
        // occurrence).
        NextCase{"cron(30 2 * * ? *)",
                 "Europe/Berlin",
                 "2026-10-24T02:30:00+02:00",
                 {"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
        NextCase{"cron(0/30 * * * ? *)",
                 "Europe/Berlin",
                 "2026-10-25T01:30:00+02:00",
                 {"2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00",
                  "2026-10-25T03:00:00+01:00"}},
        // Asked during the second pass of the repeated hour.
        NextCase{"cron(0/30 * * * ? *)",
                 "Europe/Berlin",
                 "2026-10-25T02:15:00+01:00",
                 {"2026-10-25T03:00:00+01:00"}},
        NextCase{"cron(* 2 * * ? *)",
                 "Europe/Berlin",
                 "2026-10-25T02:58:00+02:00",
                 {"2026-10-25T02:59:00+02:00", "2026-10-26T02:00:00+01:00"}},
        // New York spring forward 2026-03-08 02:00 → 03:00.
        NextCase{"cron(30 2 * * ? *)",
                 "America/New_York",
                 "2026-03-07T02:30:00-05:00",
                 {"2026-03-09T02:30:00-04:00"}},
        NextCase{"cron(0 * * * ? *)",
                 "America/New_York",
                 "2026-03-08T00:30:00-05:00",
                 {"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"}},
        // New York fall back 2026-11-01 02:00 → 01:00: 01:xx repeats.
        NextCase{"cron(30 1 * * ? *)",
                 "America/New_York",
                 "2026-10-31T01:30:00-04:00",
                 {"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
        NextCase{"cron(0 * * * ? *)",
                 "America/New_York",
                 "2026-11-01T00:00:00-04:00",
                 {"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"}},
        // Day-of-week evaluated in local time, not UTC (Sunday 23:30 in New
        // York is Monday in UTC).
        NextCase{"cron(30 23 ? * SUN *)",
                 "America/New_York",
                 "2026-01-01T00:00:00-05:00",
                 {"2026-01-04T23:30:00-05:00"}}));

// Cross-check against a brute-force minute scan over a whole year.
struct BruteCase {
  const char* expression;
  const char* zone;
  std::function<bool(absl::CivilMinute)> matches;
};

TEST(CronBruteForceTest, AgreesWithAMinuteScanOverAYear) {
  const BruteCase cases[] = {
      {"cron(0/7 9-17 ? * MON-FRI *)", "UTC",
       [](absl::CivilMinute m) {
         const absl::Weekday w = absl::GetWeekday(absl::CivilDay(m));
         return m.minute() % 7 == 0 && m.hour() >= 9 && m.hour() <= 17 &&
                w != absl::Weekday::saturday && w != absl::Weekday::sunday;
       }},
      {"cron(15,45 0-3 * * ? *)", "Europe/Berlin",
       [](absl::CivilMinute m) {
         return (m.minute() == 15 || m.minute() == 45) && m.hour() <= 3;
       }},
      {"cron(*/20 * L * ? *)", "America/New_York",
       [](absl::CivilMinute m) {
         return m.minute() % 20 == 0 &&
                absl::CivilDay(m) + 1 ==
                    absl::CivilDay(absl::CivilMonth(m) + 1);
       }},
      {"cron(0 1,2 ? * SUN *)", "America/New_York",
       [](absl::CivilMinute m) {
         return m.minute() == 0 && (m.hour() == 1 || m.hour() == 2) &&
                absl::GetWeekday(absl::CivilDay(m)) == absl::Weekday::sunday;
       }},
  };
  for (const BruteCase& c : cases) {
    absl::StatusOr<ScheduleExpression> e =
        ScheduleExpression::Parse(c.expression, Dialect::kScheduler, c.zone);
    ASSERT_TRUE(e.ok()) << e.status();
    const absl::TimeZone tz = e->time_zone();
    const absl::Time begin = absl::FromCivil(absl::CivilSecond(2026, 1, 1), tz);
    const absl::Time end = absl::FromCivil(absl::CivilSecond(2027, 1, 1), tz);
    // Expected: every absolute minute whose local time matches and is the
    // first occurrence of that local time.
    std::vector<absl::Time> want;
    for (absl::Time t = begin + absl::Minutes(1); t < end;
         t += absl::Minutes(1)) {
      const absl::CivilMinute local(absl::ToCivilSecond(t, tz));
      if (c.matches(local) && tz.At(local).pre == t) want.push_back(t);
    }
    std::vector<absl::Time> got;
    for (absl::Time t = begin;;) {
      std::optional<absl::Time> next = e->NextFireAfter(t, begin);
      ASSERT_TRUE(next.has_value());
      if (*next >= end) break;
      got.push_back(*next);
      t = *next;
    }
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(got, want) << c.expression << " in " << c.zone;
  }
}

// --- rate ------------------------------------------------------------------

TEST(RateNextTest, AnchoredAtKPeriodsAfterTheAnchor) {
  absl::StatusOr<ScheduleExpression> e =
      ScheduleExpression::Parse("rate(5 minutes)", Dialect::kRule);
  ASSERT_TRUE(e.ok());
  const absl::Time anchor = T("2026-01-01T00:00:00Z");
  struct Case {
    const char* after;
    const char* want;
  };
  const Case cases[] = {
      {"2025-12-31T00:00:00Z", "2026-01-01T00:05:00+00:00"},  // before anchor
      {"2026-01-01T00:00:00Z", "2026-01-01T00:05:00+00:00"},  // k ≥ 1
      {"2026-01-01T00:04:59Z", "2026-01-01T00:05:00+00:00"},
      {"2026-01-01T00:05:00Z", "2026-01-01T00:10:00+00:00"},  // strictly after
      {"2026-01-01T00:07:30Z", "2026-01-01T00:10:00+00:00"},
      {"2027-01-01T00:00:00Z", "2027-01-01T00:05:00+00:00"},
  };
  for (const Case& c : cases) {
    std::optional<absl::Time> t = e->NextFireAfter(T(c.after), anchor);
    ASSERT_TRUE(t.has_value()) << c.after;
    EXPECT_EQ(Format(*t, absl::UTCTimeZone()), c.want) << c.after;
  }
}

TEST(RateNextTest, AnchorSecondsArePreserved) {
  absl::StatusOr<ScheduleExpression> e =
      ScheduleExpression::Parse("rate(1 minute)", Dialect::kRule);
  ASSERT_TRUE(e.ok());
  EXPECT_THAT(
      NextN(*e, T("2026-01-01T10:00:30Z"), T("2026-01-01T10:00:30Z"), 2),
      ElementsAreArray(
          {"2026-01-01T10:01:30+00:00", "2026-01-01T10:02:30+00:00"}));
}

TEST(RateNextTest, DaysAreTwentyFourHoursAcrossDst) {
  absl::StatusOr<ScheduleExpression> e = ScheduleExpression::Parse(
      "rate(1 day)", Dialect::kScheduler, "Europe/Berlin");
  ASSERT_TRUE(e.ok());
  const absl::Time anchor = T("2026-03-28T12:00:00+01:00");
  EXPECT_THAT(NextN(*e, anchor, anchor, 2),
              ElementsAreArray(
                  {"2026-03-29T13:00:00+02:00", "2026-03-30T13:00:00+02:00"}));
  const absl::Time fall = T("2026-10-24T12:00:00+02:00");
  EXPECT_THAT(NextN(*e, fall, fall, 1),
              ElementsAreArray({"2026-10-25T11:00:00+01:00"}));
}

TEST(RateNextTest, HoursAndLargePeriods) {
  absl::StatusOr<ScheduleExpression> e =
      ScheduleExpression::Parse("rate(2 hours)", Dialect::kRule);
  ASSERT_TRUE(e.ok());
  const absl::Time anchor = T("2026-01-01T00:30:00Z");
  EXPECT_THAT(NextN(*e, T("2026-01-01T03:00:00Z"), anchor, 2),
              ElementsAreArray(
                  {"2026-01-01T04:30:00+00:00", "2026-01-01T06:30:00+00:00"}));
  absl::StatusOr<ScheduleExpression> big =
      ScheduleExpression::Parse("rate(999999999 days)", Dialect::kRule);
  ASSERT_TRUE(big.ok());
  std::optional<absl::Time> t = big->NextFireAfter(anchor, anchor);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, anchor + absl::Hours(24) * 999999999);
  EXPECT_EQ(e->NextFireAfter(absl::InfiniteFuture(), anchor), std::nullopt);
}

// --- at --------------------------------------------------------------------

TEST(AtNextTest, LocalTimeInTheZone) {
  struct Case {
    const char* text;
    const char* zone;
    const char* after;
    const char* want;  // UTC, or "none"
  };
  const Case cases[] = {
      {"at(2026-11-27T08:00:00)", "Europe/Berlin", "2026-01-01T00:00:00Z",
       "2026-11-27T07:00:00+00:00"},
      {"at(2026-07-01T08:00:00)", "Europe/Berlin", "2026-01-01T00:00:00Z",
       "2026-07-01T06:00:00+00:00"},
      {"at(2026-11-27T08:00:00)", "UTC", "2026-01-01T00:00:00Z",
       "2026-11-27T08:00:00+00:00"},
      {"at(2026-11-27T08:00:00)", "America/New_York", "2026-01-01T00:00:00Z",
       "2026-11-27T13:00:00+00:00"},
      {"at(2026-11-27T08:00:59)", "UTC", "2026-11-27T08:00:58Z",
       "2026-11-27T08:00:59+00:00"},
      // Already passed (strictly after).
      {"at(2026-11-27T08:00:00)", "Europe/Berlin", "2026-11-27T07:00:00Z",
       "none"},
      // In the spring-forward gap: never fires (nonexistent times are skipped).
      {"at(2026-03-08T02:30:00)", "America/New_York", "2026-01-01T00:00:00Z",
       "none"},
      // In the repeated hour: its first occurrence (EDT).
      {"at(2026-11-01T01:30:00)", "America/New_York", "2026-01-01T00:00:00Z",
       "2026-11-01T05:30:00+00:00"},
      {"at(2026-11-01T01:30:00)", "America/New_York", "2026-11-01T05:30:00Z",
       "none"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ScheduleExpression> e =
        ScheduleExpression::Parse(c.text, Dialect::kScheduler, c.zone);
    ASSERT_TRUE(e.ok()) << e.status();
    std::optional<absl::Time> t =
        e->NextFireAfter(T(c.after), absl::InfinitePast());
    EXPECT_EQ(t ? Format(*t, absl::UTCTimeZone()) : "none", c.want)
        << c.text << " " << c.zone;
  }
}

}  // namespace
}  // namespace evbus::scheduler
