#include "server/bus/event_tail.h"

#include <algorithm>
#include <utility>

#include "server/pattern/flat_event.h"

namespace evbus::bus {

TailSubscription::TailSubscription(std::string bus,
                                   std::optional<pattern::Pattern> pattern,
                                   size_t capacity)
    : bus_(std::move(bus)), pattern_(std::move(pattern)), capacity_(capacity) {}

bool TailSubscription::Offer(const std::string& envelope) {
  absl::MutexLock lock(&mu_);
  if (dropped_) return false;
  if (queue_.size() >= capacity_) {
    dropped_ = true;
    queue_.clear();
    return false;
  }
  queue_.push_back(envelope);
  return true;
}

bool TailSubscription::Next(std::string* envelope, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || dropped_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (dropped_ || queue_.empty()) return false;
  *envelope = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

bool TailSubscription::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

std::shared_ptr<TailSubscription> EventTail::Subscribe(
    const std::string& bus, std::optional<pattern::Pattern> pattern) {
  auto sub =
      std::make_shared<TailSubscription>(bus, std::move(pattern), capacity_);
  absl::MutexLock lock(&mu_);
  subs_.push_back(sub);
  subscribers_.store(static_cast<int>(subs_.size()));
  return sub;
}

void EventTail::Unsubscribe(
    const std::shared_ptr<TailSubscription>& subscription) {
  absl::MutexLock lock(&mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), subscription),
              subs_.end());
  subscribers_.store(static_cast<int>(subs_.size()));
}

void EventTail::Publish(const std::string& bus, const std::string& envelope) {
  std::vector<std::shared_ptr<TailSubscription>> subs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& s : subs_) {
      if (s->bus_ == bus) subs.push_back(s);
    }
  }
  if (subs.empty()) return;
  std::optional<pattern::FlatEvent> flat;
  for (const auto& s : subs) {
    if (s->pattern_.has_value()) {
      if (!flat.has_value()) {
        absl::StatusOr<pattern::FlatEvent> parsed =
            pattern::FlatEvent::Parse(envelope);
        if (!parsed.ok()) continue;
        flat = *std::move(parsed);
      }
      if (!s->pattern_->Matches(*flat)) continue;
    }
    s->Offer(envelope);
  }
}

}  // namespace evbus::bus
