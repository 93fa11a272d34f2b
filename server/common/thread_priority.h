// File: server/common/thread_priority.h
//
// SetCurrentThreadNice: gives the calling thread its own scheduling nice
// value (Linux schedules threads, not processes, so this leaves the rest of
// the process alone). evbusd runs its delivery threads at a higher nice
// value than ingest, so that when both compete for the CPU, PutEvents keeps
// its throughput and the durable queue absorbs the difference (see
// docs/operations.md, `delivery_nice`).
//
// Thread safety: thread-safe (affects only the caller).
//
// Example:
//   std::thread t([] {
//     absl::Status s = common::SetCurrentThreadNice(10);
//     ...
//   });
#pragma once

#include "absl/status/status.h"

namespace evbus::common {

// Sets the calling thread's nice value to `nice` (0..19: the same or a lower
// priority than a default thread, which needs no privilege). Errors:
// InvalidArgument outside 0..19; the OS's error as Internal (e.g. a seccomp
// policy that forbids setpriority).
absl::Status SetCurrentThreadNice(int nice);

// The calling thread's nice value (for tests and diagnostics).
int CurrentThreadNice();

}  // namespace evbus::common
