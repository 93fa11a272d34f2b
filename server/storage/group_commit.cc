#include "server/storage/group_commit.h"

#include <utility>
#include <vector>

namespace evbus::storage {

GroupCommitter::GroupCommitter(Store& store)
    : store_(store), thread_([this] { Loop(); }) {}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Commit(WriteBatch batch, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(batch), std::move(done)});
      return;
    }
  }
  std::move(done)(absl::UnavailableError("the store is shutting down"));
}

void GroupCommitter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t GroupCommitter::groups() const {
  absl::MutexLock lock(&mu_);
  return groups_;
}

uint64_t GroupCommitter::batches() const {
  absl::MutexLock lock(&mu_);
  return batches_;
}

bool GroupCommitter::HasWorkOrStopping() const {
  return stopping_ || !queue_.empty();
}

void GroupCommitter::Loop() {
  std::deque<Pending> group;
  std::vector<const WriteBatch*> batches;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &GroupCommitter::HasWorkOrStopping));
      if (queue_.empty()) return;  // stopping, and everything committed
      group.swap(queue_);
      ++groups_;
      batches_ += group.size();
    }
    batches.clear();
    for (const Pending& p : group) batches.push_back(&p.batch);
    const absl::Status written = store_.Write(batches, /*sync=*/true);
    for (Pending& p : group) std::move(p.done)(written);
    group.clear();
  }
}

}  // namespace evbus::storage
