// File: bench/schedules_bench.h
//
// `evbus-bench schedules`: creates N Scheduler schedules (real clock) and
// reports the time taken and the daemon's RSS growth; then makes K one-time
// schedules fall due in the same second and reports the firing lag (due time
// → webhook receipt) percentiles.
#pragma once

#include <string>

namespace evbus::bench {

struct SchedulesBenchOptions {
  std::string endpoint = "127.0.0.1:4010";
  int count = 100000;  // long-lived schedules created first
  int concurrency = 16;
  int due_together = 1000;  // at() schedules due in the same second
  int daemon_pid = 0;       // for RSS (optional)
};

int RunSchedulesBench(const SchedulesBenchOptions& options);

}  // namespace evbus::bench
