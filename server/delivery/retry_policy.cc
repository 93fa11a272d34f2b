#include "server/delivery/retry_policy.h"

#include <algorithm>

namespace evbus::delivery {

RetryPlan PlanRetry(const RetryLimits& limits, const BackoffOptions& backoff,
                    int attempts_made, absl::Time ingest_time, absl::Time now,
                    std::optional<absl::Duration> retry_after,
                    absl::BitGenRef rng, absl::Span<const int32_t> delays) {
  RetryPlan plan;
  if (attempts_made > limits.max_retry_attempts ||
      (!delays.empty() && static_cast<size_t>(attempts_made) > delays.size())) {
    plan.exhausted_condition = "MaximumRetryAttempts";
    return plan;
  }
  absl::Duration delay;
  if (!delays.empty()) {
    delay = absl::Seconds(std::max(0, delays[attempts_made - 1]));
  } else {
    delay = backoff.base;
    for (int i = 1; i < attempts_made && delay < backoff.cap; ++i) delay *= 2;
    delay = std::min(delay, backoff.cap);
    double fraction = absl::Uniform(rng, 0.5, 1.0);
    delay = delay * fraction;
  }
  if (retry_after.has_value()) delay = std::max(delay, *retry_after);
  absl::Time due = now + delay;
  if (due - ingest_time > limits.max_event_age) {
    plan.exhausted_condition = "MaximumEventAgeInSeconds";
    return plan;
  }
  plan.retry = true;
  plan.due = due;
  return plan;
}

}  // namespace evbus::delivery
