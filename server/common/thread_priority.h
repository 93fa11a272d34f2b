// File: server/common/thread_priority.h
//
// LowerCurrentThreadPriority: raises the calling thread's own scheduling
// nice value (Linux schedules threads, not processes, so this leaves the
// rest of the process alone). evbusd runs its webhook I/O thread a few nice
// steps below the rest, so that when delivery and ingest compete for the
// CPU, PutEvents keeps its throughput and the durable queue absorbs the
// difference (see docs/operations.md, `delivery_nice`).
//
// Thread safety: thread-safe (affects only the caller).
//
// Example:
//   std::thread t([] {
//     absl::Status s = common::LowerCurrentThreadPriority(10);
//     ...
//   });
#pragma once

#include "absl/status/status.h"

namespace evbus::common {

// Adds `steps` (0..19) to the calling thread's nice value, capped at 19 (a
// lower priority needs no privilege). Relative, so a daemon started with
// `nice` keeps the same distance between its threads. Errors:
// InvalidArgument outside 0..19; the OS's error as Internal (e.g. a seccomp
// policy that forbids setpriority).
absl::Status LowerCurrentThreadPriority(int steps);

// The calling thread's nice value (for tests and diagnostics).
int CurrentThreadNice();

}  // namespace evbus::common
