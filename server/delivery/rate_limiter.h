// File: server/delivery/rate_limiter.h
//
// TokenBucket: at most `rate` acquisitions per second on average, bursts of
// up to `burst`, on an injected clock (envoy's token bucket idea).
//
// Thread safety: thread-compatible (the dispatcher calls it under its lock).
//
// Example:
//   TokenBucket bucket(clock, /*rate=*/10, /*burst=*/10);
//   if (bucket.TryAcquire()) deliver(); else wait_until(bucket.NextToken());
#pragma once

#include "absl/time/time.h"
#include "server/common/clock.h"

namespace evbus::delivery {

class TokenBucket {
 public:
  // REQUIRES: rate > 0, burst >= 1.
  TokenBucket(const common::Clock& clock, double rate, double burst);

  // Takes one token when available.
  bool TryAcquire();
  // Gives back a token taken for a call that was not made.
  void GiveBack();
  // When the next token will be available (now when one is).
  absl::Time NextToken();
  double rate() const { return rate_; }

 private:
  void Refill();
  const common::Clock& clock_;
  double rate_;
  double burst_;
  double tokens_;
  absl::Time last_;
};

}  // namespace evbus::delivery
