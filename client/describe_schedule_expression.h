// File: client/describe_schedule_expression.h
//
// The offline CLI verb
//   evbus describe-schedule-expression --expression E [--timezone TZ]
//                                      [--start T] --count N
// It validates E with the server's scheduler library (no daemon needed) and
// prints the next N fire times:
//   {
//     "Expression": "cron(0 8 ? * MON-FRI *)",
//     "Timezone": "Europe/Berlin",
//     "NextFireTimes": ["2026-11-27T08:00:00+01:00", ...]
//   }
// Times are RFC 3339 with the zone's UTC offset at that instant.
//
// Dialect: always EventBridge Scheduler (at/rate/cron + time zone). rate() and
// cron() validation is identical in both dialects, so a rule expression is
// accepted here iff PutRule accepts it; errors use the Scheduler wording,
// which names the expression ("Invalid Schedule Expression <E>.").
//
// Thread safety: thread-safe (no shared state).
//
// Example:
//   return RunDescribeScheduleExpression("rate(5 minutes)", "", std::nullopt,
//                                        3, std::cout, std::cerr);
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "absl/time/time.h"

namespace evbus::cli {

// Most fire times one call may list.
inline constexpr int kMaxDescribeCount = 1000;

// `time_zone` empty means UTC. `start` (default: now) is the instant after
// which fire times are listed, and also the anchor of rate() schedules (as a
// Scheduler StartDate would be): rate(n unit) lists start + k×period, k ≥ 1.
// Lists fewer than `count` times when the schedule ends (at() passed, cron
// years exhausted). Returns 0 after printing the JSON to `out`; returns 1
// with one line on `err` ("ValidationException: ..." for a bad expression or
// zone, or "--count must be between 1 and 1000") and nothing on `out`.
int RunDescribeScheduleExpression(const std::string& expression,
                                  const std::string& time_zone,
                                  std::optional<absl::Time> start, int count,
                                  std::ostream& out, std::ostream& err);

}  // namespace evbus::cli
