#include "server/common/log_rate_limiter.h"

namespace evbus::common {

LogRateLimiter::LogRateLimiter(uint64_t per_window, absl::Duration window)
    : per_window_(per_window), window_(window) {}

bool LogRateLimiter::Admit(absl::Time now, uint64_t* dropped_before) {
  absl::MutexLock lock(&mu_);
  if (now - window_start_ >= window_) {
    window_start_ = now;
    admitted_ = 0;
  }
  if (admitted_ >= per_window_) {
    ++dropped_;
    return false;
  }
  ++admitted_;
  if (dropped_ > 0) {
    *dropped_before = dropped_;
    dropped_ = 0;
  }
  return true;
}

}  // namespace evbus::common
