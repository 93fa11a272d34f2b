#include "server/api/http/connection_threads.h"

#include <system_error>
#include <utility>

#include "server/common/logging.h"

namespace evbus::api {

ConnectionThreads::ConnectionThreads(ConnectionThreadsOptions options)
    : options_(options) {}

ConnectionThreads::~ConnectionThreads() {
  if (options_.on_destroy) options_.on_destroy();
  shutdown();
}

void ConnectionThreads::enqueue(std::function<void()> fn) {
  absl::ReleasableMutexLock lock(&mu_);
  if (shutdown_) {
    // cpp-httplib enqueues nothing after shutdown(); should it, run the task
    // here rather than start a thread nobody joins.
    lock.Release();
    fn();
    return;
  }
  JoinExitedLocked();
  jobs_.push_back(std::move(fn));
  // Every queued job beyond the idle threads gets a thread of its own.
  if (jobs_.size() > idle_ && threads_.size() < options_.max_threads) {
    // A thread that cannot be started (memory, a pid limit) leaves the
    // connection waiting for a running thread instead of ending evbusd.
    try {
      threads_.emplace_back([this] { Work(); });
    } catch (const std::system_error& e) {
      EVBUS_LOG(WARNING) << "HTTP listener: cannot start a connection thread ("
                         << e.what() << "); " << threads_.size()
                         << " threads serve " << jobs_.size()
                         << " waiting connections";
    }
  }
}

void ConnectionThreads::shutdown() {
  std::list<std::thread> threads;
  std::vector<std::thread> exited;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    threads.swap(threads_);
    exited.swap(exited_);
  }
  for (std::thread& t : threads) t.join();
  for (std::thread& t : exited) t.join();
}

size_t ConnectionThreads::QueuedCount() {
  absl::MutexLock lock(&mu_);
  return jobs_.size();
}

size_t ConnectionThreads::ThreadCountForTesting() {
  absl::MutexLock lock(&mu_);
  return threads_.size();
}

void ConnectionThreads::JoinExitedLocked() {
  // These threads have left Work() (they moved themselves here as their last
  // step under mu_), so joining them does not wait for anything.
  for (std::thread& t : exited_) t.join();
  exited_.clear();
}

void ConnectionThreads::Work() {
  auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !jobs_.empty() || shutdown_;
  };
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      bool woke =
          mu_.AwaitWithTimeout(absl::Condition(&has_work), options_.idle_exit);
      --idle_;
      if (jobs_.empty()) {
        if (shutdown_) return;  // shutdown() joins this thread
        if (!woke && threads_.size() > options_.min_threads) {
          // Idle too long: leave, and let the next enqueue() join us.
          for (auto it = threads_.begin(); it != threads_.end(); ++it) {
            if (it->get_id() == std::this_thread::get_id()) {
              exited_.push_back(std::move(*it));
              threads_.erase(it);
              return;
            }
          }
        }
        continue;
      }
      fn = std::move(jobs_.front());
      jobs_.pop_front();
    }
    fn();
  }
}

}  // namespace evbus::api
