// File: server/delivery/retry_policy.h
//
// When to try a failed delivery again (shared/spec/eventbridge.md §6):
// exponential backoff with jitter, bounded by MaximumRetryAttempts and
// MaximumEventAgeInSeconds, and never sooner than the target's Retry-After.
// A pure function of its inputs; thread-safe.
//
// Example:
//   RetryPlan plan = PlanRetry(limits, backoff, /*attempts_made=*/3,
//                              ingest_time, now, retry_after, rng);
//   if (plan.retry) schedule at plan.due; else dead-letter with
//   plan.exhausted_condition.
#pragma once

#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/random.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace evbus::delivery {

struct RetryLimits {
  // Retries after the first try, 0..185. Default: 185.
  int max_retry_attempts = 185;
  // Age after which an event is not tried again, 60 s..24 h. Default: 24 h.
  absl::Duration max_event_age = absl::Hours(24);
};

struct BackoffOptions {
  // Delay before the first retry (before jitter). Default: 1 s.
  absl::Duration base = absl::Seconds(1);
  // Largest delay between two tries. Default: 5 minutes.
  absl::Duration cap = absl::Minutes(5);
};

struct RetryPlan {
  bool retry = false;
  absl::Time due;
  // "MaximumRetryAttempts" or "MaximumEventAgeInSeconds" when not retrying.
  std::string exhausted_condition;
};

// `attempts_made` counts tries so far, including the one that just failed
// (>= 1). The delay before try n+1 is uniform in [d/2, d] with
// d = min(cap, base * 2^(n-1)), then raised to `retry_after` when given.
// With `delays` (a target's retry_delay_seconds), the delay before try n+1
// is delays[n-1] instead, and there are at most delays.size() retries.
RetryPlan PlanRetry(const RetryLimits& limits, const BackoffOptions& backoff,
                    int attempts_made, absl::Time ingest_time, absl::Time now,
                    std::optional<absl::Duration> retry_after,
                    absl::BitGenRef rng, absl::Span<const int32_t> delays = {});

}  // namespace evbus::delivery
