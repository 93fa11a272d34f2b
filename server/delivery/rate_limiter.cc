#include "server/delivery/rate_limiter.h"

#include <algorithm>

namespace evbus::delivery {

TokenBucket::TokenBucket(const common::Clock& clock, double rate, double burst)
    : clock_(clock),
      rate_(rate),
      burst_(burst),
      tokens_(burst),
      last_(clock.Now()) {}

void TokenBucket::Refill() {
  absl::Time now = clock_.Now();
  if (now > last_) {
    tokens_ =
        std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
    last_ = now;
  }
}

bool TokenBucket::TryAcquire() {
  Refill();
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void TokenBucket::GiveBack() {
  Refill();
  tokens_ = std::min(burst_, tokens_ + 1.0);
}

absl::Time TokenBucket::NextToken() {
  Refill();
  if (tokens_ >= 1.0) return last_;
  return last_ + absl::Seconds((1.0 - tokens_) / rate_);
}

}  // namespace evbus::delivery
