// File: server/common/log_rate_limiter.h
//
// LogRateLimiter: lets at most N log lines through per window of time and
// counts the rest, so that a source anyone can trigger (a failed TLS
// handshake on the gRPC port logs a line each) cannot fill the disk.
//
// Thread safety: thread-safe.
//
// Example:
//   static LogRateLimiter limiter(20, absl::Minutes(1));
//   uint64_t dropped = 0;
//   if (!limiter.Admit(absl::Now(), &dropped)) return;
//   if (dropped > 0) EVBUS_LOG(WARNING) << dropped << " lines dropped";
//   EVBUS_LOG(WARNING) << line;
#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace evbus::common {

class LogRateLimiter {
 public:
  // At most `per_window` lines in each `window` (windows start with the
  // first line after the previous one ended).
  LogRateLimiter(uint64_t per_window, absl::Duration window);

  // Whether a line at `now` may be written. `*dropped_before` is set to the
  // lines refused since the last admitted one, when that is not 0 (so the
  // caller can say so once), else left alone.
  bool Admit(absl::Time now, uint64_t* dropped_before);

 private:
  const uint64_t per_window_;
  const absl::Duration window_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t admitted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace evbus::common
