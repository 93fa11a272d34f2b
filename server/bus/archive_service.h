// File: server/bus/archive_service.h
//
// ArchiveService: EventBridge archives and replays (spec eventbridge.md §7).
// An archive is a managed rule on its bus (RuleRegistry, kArchiveManager)
// whose matches BusService writes to the `archive` column family in the
// PutEvents batch. A replay reads an archive's window in event-time order,
// adds a top-level "replay-name" to each envelope and puts the copies back
// on the bus (to all rules, or the ones named), on its own thread, saving
// its progress so that it resumes after a restart.
//
// Thread safety: thread-safe.
//
// Example:
//   ArchiveService archives(store, clock, rules, buses, {});
//   EVBUS_RETURN_IF_ERROR(archives.Load());
//   EVBUS_ASSIGN_OR_RETURN(evbus::v1::Archive a, archives.CreateArchive(req));
//   EVBUS_ASSIGN_OR_RETURN(evbus::v1::Replay r, archives.StartReplay(req2));
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evbus/v1/archive.pb.h"
#include "server/bus/bus_service.h"
#include "server/bus/rule_registry.h"
#include "server/common/clock.h"
#include "server/storage/store.h"

namespace evbus::bus {

struct ArchiveOptions {
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // Replays in STARTING/RUNNING at once. Default: 10 (EventBridge's quota).
  size_t max_active_replays = 10;
  // Events put back per batch. Default: 100.
  size_t replay_batch = 100;
  // Tests only: called by a replay's thread after each batch was put back,
  // with no lock held.
  std::function<void(const std::string& replay)> after_replay_batch;
  // Tests only: a replay's thread returns after this many batches, as it
  // does at shutdown (its progress saved, its state still RUNNING). 0:
  // never.
  int stop_after_batches_for_testing = 0;
};

class ArchiveService {
 public:
  ArchiveService(storage::Store& store, common::Clock& clock,
                 RuleRegistry& rules, BusService& buses,
                 ArchiveOptions options);
  ~ArchiveService();

  // Loads archives and replays; resumes replays that were running.
  absl::Status Load();
  // Stops replay threads (their progress is saved). Idempotent.
  void Stop();

  absl::StatusOr<evbus::v1::Archive> CreateArchive(
      const evbus::v1::CreateArchiveRequest& request);
  absl::StatusOr<evbus::v1::Archive> DescribeArchive(
      const std::string& name) const;
  absl::StatusOr<evbus::v1::Archive> UpdateArchive(
      const evbus::v1::UpdateArchiveRequest& request);
  absl::StatusOr<evbus::v1::ListArchivesResponse> ListArchives(
      const evbus::v1::ListArchivesRequest& request) const;
  absl::Status DeleteArchive(const std::string& name);

  absl::StatusOr<evbus::v1::Replay> StartReplay(
      const evbus::v1::StartReplayRequest& request);
  absl::StatusOr<evbus::v1::Replay> DescribeReplay(
      const std::string& name) const;
  absl::StatusOr<evbus::v1::ListReplaysResponse> ListReplays(
      const evbus::v1::ListReplaysRequest& request) const;
  absl::StatusOr<evbus::v1::Replay> CancelReplay(const std::string& name);

  // Applies archive retention (RetentionDays) now.
  absl::Status TrimArchives();

  // Blocks until the replay is no longer STARTING/RUNNING/CANCELLING, or the
  // timeout passes.
  bool WaitReplayDoneForTesting(const std::string& name,
                                absl::Duration timeout);

 private:
  struct ArchiveState {
    evbus::v1::Archive archive;
  };
  struct ReplayState {
    evbus::v1::Replay replay;
    bool cancel = false;
    std::thread thread;
  };

  std::string ArchiveArn(const std::string& name) const;
  std::string ReplayArn(const std::string& name) const;
  absl::StatusOr<std::string> ArchiveRulePattern(
      const std::string& pattern) const;
  absl::Status PersistArchive(const evbus::v1::Archive& archive);
  absl::Status PersistReplay(const evbus::v1::Replay& replay);
  void RunReplay(const std::string& name);
  void LaunchLocked(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FillCountsLocked(evbus::v1::Archive* archive) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  storage::Store& store_;
  common::Clock& clock_;
  RuleRegistry& rules_;
  BusService& buses_;
  const ArchiveOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, ArchiveState> archives_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<ReplayState>> replays_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace evbus::bus
