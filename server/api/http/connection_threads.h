// File: server/api/http/connection_threads.h
//
// ConnectionThreads: the task queue evbusd's HTTP listener gives cpp-httplib
// (Server::new_task_queue). cpp-httplib runs each accepted connection as one
// task that holds its thread until the connection closes: while it waits for
// the first request (the keep-alive timeout, 5 s), between keep-alive
// requests, and while a slow client trickles in its request. Its own
// ThreadPool has a fixed number of threads (8 on a 2-core machine), so 8
// idle TCP connections stalled every other request, /healthz included.
// ConnectionThreads starts a thread whenever a connection arrives and no
// thread is free, up to `max_threads`; only beyond that do connections wait
// in line. Threads idle for `idle_exit` exit again, down to `min_threads`.
//
// Thread safety: thread-safe. cpp-httplib owns the queue: it calls enqueue()
// from its accept loop and shutdown() once when the listener stops.
//
// Example:
//   server.new_task_queue = [] {
//     return new ConnectionThreads({.min_threads = 4, .max_threads = 256});
//   };
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace evbus::api {

struct ConnectionThreadsOptions {
  // Threads kept even when idle (started on demand). Default: 4.
  size_t min_threads = 4;
  // Most threads at once; further connections wait for a free one.
  // Default: 256.
  size_t max_threads = 256;
  // An idle thread beyond min_threads exits after this long. Default: 10 s.
  absl::Duration idle_exit = absl::Seconds(10);
  // Called first thing in the destructor (cpp-httplib deletes the queue
  // when its accept loop ends, also on its own after an accept error), so
  // that whoever holds a pointer to the queue can drop it. Optional.
  std::function<void()> on_destroy;
};

class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(ConnectionThreadsOptions options);
  // Calls shutdown() when cpp-httplib did not.
  ~ConnectionThreads() override;
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  // Runs `fn` on a free thread, starting one when none is free and fewer
  // than max_threads run; otherwise `fn` waits for the first free thread.
  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then joins every thread. Idempotent.
  void shutdown() override;

  // Connections waiting for a free thread.
  size_t QueuedCount();

  // Threads currently started (for tests).
  size_t ThreadCountForTesting();

 private:
  void Work();
  // Joins threads that exited after idling.
  void JoinExitedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ConnectionThreadsOptions options_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  // Threads waiting for a job.
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::list<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  // Threads that left Work() after idling, still to be joined.
  std::vector<std::thread> exited_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::api
