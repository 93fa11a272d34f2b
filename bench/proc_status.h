// File: bench/proc_status.h
//
// Reading another process's memory from /proc for the benchmarks that watch
// evbusd (restart, soak, schedules).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace evbus::bench {

// A field of /proc/PID/status in kB, e.g. "VmRSS" or "VmHWM"; 0 when the
// process or the field is unknown.
int64_t ProcStatusKb(pid_t pid, const std::string& field);

}  // namespace evbus::bench
