// File: server/scheduler/schedule_expression.h
//
// Schedule expressions: `rate(n unit)`, `cron(min hour dom month dow year)`
// and `at(yyyy-mm-ddThh:mm:ss)`, as accepted by PutRule (Dialect::kRule: rate
// and cron, evaluated in UTC) and by EventBridge Scheduler
// (Dialect::kScheduler: at, rate and cron, evaluated in an IANA time zone).
// Parsing validates exactly what AWS validates (shared/spec/eventbridge.md
// §8); NextFireAfter computes fire times, honouring the zone's DST rules.
// Grammar, decisions and complexity are described in README.md here.
//
// Thread safety: ScheduleExpression is an immutable value; it is cheap to
// copy and safe for concurrent const calls. The functions do no I/O except
// that Parse loads the time zone (absl::LoadTimeZone reads
// /usr/share/zoneinfo once per zone; abseil caches it process-wide).
//
// Example:
//   absl::StatusOr<ScheduleExpression> e = ScheduleExpression::Parse(
//       "cron(0 8 ? * MON-FRI *)", Dialect::kScheduler, "Europe/Berlin");
//   if (!e.ok()) return e.status();  // ValidationException: ...
//   std::optional<absl::Time> next = e->NextFireAfter(clock.Now(), created);
//   if (!next) { /* the schedule will never fire again */ }
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace evbus::scheduler {

enum class ExpressionKind { kRate, kCron, kAt };

// kRule: PutRule.ScheduleExpression (rate/cron, UTC only).
// kScheduler: EventBridge Scheduler (at/rate/cron +
// ScheduleExpressionTimezone).
enum class Dialect { kRule, kScheduler };

// Cron years are 1970..2199 (AWS's range); nothing fires after 2199.
inline constexpr int kCronMinYear = 1970;
inline constexpr int kCronMaxYear = 2199;

class ScheduleExpression {
 public:
  // Parses and validates `text` (no surrounding whitespace is tolerated, no
  // case folding of the `rate(`/`cron(`/`at(` keywords or rate units; cron
  // month/day names and L/W are case-insensitive).
  //
  // `time_zone` is an IANA name ("Europe/Berlin"); empty means "UTC". kRule
  // accepts only "UTC" (or empty): rules have no time zone.
  //
  // Errors (all InvalidArgument, message prefixed "ValidationException: "):
  //   kRule:      "Parameter ScheduleExpression is not valid."
  //   kScheduler: "Invalid Schedule Expression <text>."
  //   unknown zone: "Invalid ScheduleExpressionTimezone <zone>." (kScheduler)
  //   kRule with a zone other than UTC:
  //       "Rule schedule expressions are evaluated in UTC; time zone <zone>
  //        is not supported."
  static absl::StatusOr<ScheduleExpression> Parse(
      absl::string_view text, Dialect dialect,
      absl::string_view time_zone = "UTC");

  ExpressionKind kind() const { return kind_; }
  const std::string& text() const { return text_; }
  // The zone the expression is evaluated in (UTC for kRule).
  const absl::TimeZone& time_zone() const { return time_zone_; }
  // rate() only: the period (n minutes/hours, days = n×24h). Zero otherwise.
  absl::Duration rate_period() const { return rate_period_; }

  // The first fire time strictly after `after`, or nullopt when there is none
  // (at() already passed, cron years exhausted, or `after` is infinite).
  //
  //  * rate: fires at anchor + k×period for k ≥ 1, i.e. the first fire is one
  //    period after the anchor (the rule's creation time, or a Scheduler
  //    schedule's StartDate / creation time). Periods are absolute durations,
  //    so DST never shifts a rate schedule. The anchor is used as given
  //    (not truncated to the minute).
  //  * cron: the smallest minute boundary (second 0) in the zone that matches
  //    all fields. Local times that do not exist (spring forward) never fire;
  //    a local time that occurs twice (fall back) fires once, at its first
  //    occurrence. `anchor` is ignored.
  //  * at: the given local time in the zone if it is after `after`; its first
  //    occurrence if repeated; never if it falls in a DST gap. `anchor` is
  //    ignored.
  //
  // Bounded: O(years × months) steps at worst, independent of how sparse the
  // schedule is; never loops minute by minute.
  std::optional<absl::Time> NextFireAfter(absl::Time after,
                                          absl::Time anchor) const;

 private:
  // Day-of-month / day-of-week specification of a cron expression. Exactly
  // one of the two is active (the other field was `?`).
  struct CronSpec {
    uint64_t minutes = 0;  // bit m for minute m (0..59)
    uint32_t hours = 0;    // bit h (0..23)
    uint16_t months = 0;   // bit m (1..12)
    std::bitset<kCronMaxYear - kCronMinYear + 1> years;  // bit y - 1970
    bool uses_dom = true;  // day-of-month active (else day-of-week)
    // Day-of-month field.
    uint32_t dom_days = 0;             // bit d (1..31), plain values
    bool dom_last = false;             // L
    bool dom_last_weekday = false;     // LW
    uint32_t dom_nearest_weekday = 0;  // bit n for each nW
    // Day-of-week field (1 = Sunday .. 7 = Saturday).
    uint8_t dow_days = 0;  // bit d, plain values (L alone = 7)
    uint8_t dow_last = 0;  // bit d for each dL ("last <weekday>")
    int dow_nth_day = 0;   // d of d#k, 0 when absent
    int dow_nth = 0;       // k of d#k
  };

  ScheduleExpression() = default;

  // Bit d (1..31) for every day of (year, month) the day fields select.
  uint32_t DayMask(int year, int month) const;
  std::optional<absl::Time> NextCronFireAfter(absl::Time after) const;

  ExpressionKind kind_ = ExpressionKind::kRate;
  std::string text_;
  absl::TimeZone time_zone_ = absl::UTCTimeZone();
  absl::Duration rate_period_;
  absl::CivilSecond at_;
  CronSpec cron_;

  friend class ScheduleExpressionParser;
};

}  // namespace evbus::scheduler
