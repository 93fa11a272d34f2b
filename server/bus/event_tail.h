// File: server/bus/event_tail.h
//
// EventTail: live subscribers to the events put on a bus (`evbus
// tail-events`), optionally filtered by a pattern. Publishing never blocks
// ingest: each subscriber has a bounded queue, and a subscriber that falls
// behind is dropped (its stream ends with a notice) instead of slowing
// PutEvents.
//
// Thread safety: thread-safe.
//
// Example:
//   std::shared_ptr<TailSubscription> sub = tail.Subscribe("default", {});
//   tail.Publish("default", envelope);          // ingest path
//   std::string event;
//   if (sub->Next(&event, absl::Seconds(1))) ...
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/pattern/pattern.h"

namespace evbus::bus {

class TailSubscription {
 public:
  TailSubscription(std::string bus, std::optional<pattern::Pattern> pattern,
                   size_t capacity);
  // Waits up to `timeout` for the next event. False on timeout, or when the
  // subscription was dropped or closed (see dropped()).
  bool Next(std::string* envelope, absl::Duration timeout);
  bool dropped() const;

 private:
  friend class EventTail;
  // Offers an event; returns false (and marks the subscriber dropped) when
  // its queue is full.
  bool Offer(const std::string& envelope);

  const std::string bus_;
  const std::optional<pattern::Pattern> pattern_;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;
};

class EventTail {
 public:
  // Queue size per subscriber. Default: 10,000 events.
  explicit EventTail(size_t capacity = 10000) : capacity_(capacity) {}

  std::shared_ptr<TailSubscription> Subscribe(
      const std::string& bus, std::optional<pattern::Pattern> pattern);
  void Unsubscribe(const std::shared_ptr<TailSubscription>& subscription);

  // True when anyone listens (checked before doing any work on ingest).
  bool HasSubscribers() const {
    return subscribers_.load(std::memory_order_relaxed) > 0;
  }
  void Publish(const std::string& bus, const std::string& envelope);

 private:
  const size_t capacity_;
  std::atomic<int> subscribers_{0};
  absl::Mutex mu_;
  std::vector<std::shared_ptr<TailSubscription>> subs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::bus
