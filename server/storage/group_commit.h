// File: server/storage/group_commit.h
//
// GroupCommitter: durable writes for callers that must not block a thread
// while the WAL is fsynced (the asynchronous PutEvents handler). Commit()
// queues a batch and returns; one commit thread takes everything queued
// since its last write, applies it as one synced Store::Write (one WAL
// record, one fsync), then runs each caller's `done` with the result, in
// queue order. While one group is being synced the next one gathers, so
// under load a group holds every call that arrived during the previous
// fsync.
//
// Compared with many threads each calling Store::Write(sync) (RocksDB's own
// write group), no thread waits per call: the only hand-offs are caller ->
// commit thread and, through `done`, back to the caller's completion.
//
// Thread safety: thread-safe. `done` runs on the commit thread (or, after
// Stop(), on the caller's) and must not block.
//
// Example:
//   GroupCommitter committer(store);
//   committer.Commit(std::move(batch), [](absl::Status s) { ... });
//   committer.Stop();  // commits what is queued, then joins
#pragma once

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/store.h"

namespace evbus::storage {

class GroupCommitter {
 public:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  // `store` must outlive this object. Starts the commit thread.
  explicit GroupCommitter(Store& store);
  // Stop()s.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Writes `batch` with sync; `done` gets the write's status (Unavailable
  // if the store failed or latched, or if the committer is stopped).
  void Commit(WriteBatch batch, Done done);

  // Commits everything queued, runs its callbacks, joins the thread.
  // Idempotent. Later Commit() calls fail with Unavailable at once.
  void Stop();

  // Groups written and batches committed so far (for tests and metrics).
  uint64_t groups() const;
  uint64_t batches() const;

 private:
  struct Pending {
    WriteBatch batch;
    Done done;
  };
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  Store& store_;
  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t groups_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace evbus::storage
