// File: server/common/proc_status.h
//
// Reading a process's memory figures from /proc/PID/status (Linux).
//
// Thread safety: thread-safe (reads a file).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "absl/strings/string_view.h"

namespace evbus::common {

// A "<field>: N kB" line of /proc/PID/status, e.g. "VmRSS", "VmHWM" or
// "RssFile", in kB; 0 when the process (pid <= 0 included) or the field is
// unknown.
int64_t ProcStatusKb(pid_t pid, absl::string_view field);

}  // namespace evbus::common
