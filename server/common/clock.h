// File: server/common/clock.h
//
// Clock: the only source of wall time in evbus. Components take a `Clock&`
// so tests (and `evbusd --clock manual`) control time instead of sleeping.
//
// Thread safety: implementations are thread-safe.
//
// Example:
//   RealClock clock;
//   absl::Time now = clock.Now();
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace evbus::common {

class Clock {
 public:
  virtual ~Clock() = default;
  // Current wall-clock time.
  virtual absl::Time Now() const = 0;
};

// Reads the system clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start);
  absl::Time Now() const override;
  void Set(absl::Time t);
  void Advance(absl::Duration d);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::common
