// File: server/scheduler/scheduler.h
//
// Scheduler: fires rule schedules (PutRule --schedule-expression, UTC) and
// EventBridge Scheduler schedules (at/rate/cron in a time zone, start/end
// dates, flexible windows, ActionAfterCompletion). One timer thread runs over
// a set ordered by next fire time — no thread or timer per schedule. A tick
// commits its fire state and the delivery tasks it produces in one synced
// batch, so it fires exactly once even across a crash (DESIGN.md §6).
//
// Time comes from the injected Clock; with a ManualClock, Poke() after moving
// it makes due ticks fire at once (tests never sleep).
//
// Scheduler schedules deliver through the durable queue like rule targets:
// their tasks use the reserved bus name kSchedulerBus and carry their target
// (DeliveryTask.inline_target), so a tick is delivered even when its schedule
// was deleted after completion.
//
// Thread safety: thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evbus/v1/rule.pb.h"
#include "evbus/v1/schedule.pb.h"
#include "server/common/clock.h"
#include "server/delivery/dispatcher.h"
#include "server/metrics/registry.h"
#include "server/scheduler/schedule_expression.h"
#include "server/storage/store.h"

namespace evbus::scheduler {

// The bus name of Scheduler schedule delivery tasks (reserved: custom bus
// names may not start with "aws.").
inline constexpr char kSchedulerBus[] = "aws.scheduler";

// What a rule tick produces, supplied by the bus (the scheduler never
// includes bus/).
class RuleTickSink {
 public:
  virtual ~RuleTickSink() = default;
  // Adds the "Scheduled Event" of rule `rule` (default bus) at `when` and a
  // delivery task per target to `batch`; returns the tasks' entries.
  virtual std::vector<delivery::QueueEntry> AddRuleTick(
      const evbus::v1::Rule& rule, absl::Time when,
      storage::WriteBatch& batch) = 0;
};

enum class MissedTicks { kNone, kLatest, kAll };

struct SchedulerOptions {
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // What to do at start with ticks missed while evbusd was down.
  // Default: kLatest (fire the most recent one per schedule).
  MissedTicks missed_ticks = MissedTicks::kLatest;
  // kAll fires at most this many missed ticks per schedule. Default: 1000.
  int max_missed_ticks = 1000;
  // Longest real-time wait without news. Default: 1 s.
  absl::Duration idle_poll = absl::Seconds(1);
};

class Scheduler final {
 public:
  // Checks a schedule as CreateSchedule / UpdateSchedule would (defaults
  // applied first: group "default", state ENABLED, ActionAfterCompletion
  // NONE), without storing it: the same ValidationException texts. For
  // stack files, so that a bad schedule stops the stack before any change.
  static absl::Status CheckSchedule(evbus::v1::Schedule s);
  Scheduler(storage::Store& store, common::Clock& clock,
            metrics::Registry& registry, RuleTickSink& rule_ticks,
            delivery::Dispatcher* dispatcher, SchedulerOptions options);
  ~Scheduler();

  // Loads schedules, groups and fire state, and starts the timer thread.
  // Rules are registered separately with SyncRule (before or after Start).
  absl::Status Start();
  void Stop();
  // Re-evaluates due ticks now (after a manual clock moved).
  void Poke();
  // Waits until every tick due at or before `until` has fired (its
  // delivery written), or `timeout` passed, or the scheduler stops. True
  // when caught up. For a manual clock's moves: the move is stored, and
  // answered, once its ticks are.
  bool WaitCaughtUp(absl::Time until, absl::Duration timeout);

  // Registers, updates or removes a rule's schedule (rules without a
  // schedule expression, disabled or deleted ones are removed).
  void SyncRule(const evbus::v1::Rule& rule, bool deleted);

  // EventBridge Scheduler API. Errors: ValidationException,
  // ConflictException (kAlreadyExists), ResourceNotFoundException.
  absl::StatusOr<evbus::v1::Schedule> CreateSchedule(evbus::v1::Schedule s);
  absl::StatusOr<evbus::v1::Schedule> GetSchedule(
      const std::string& group, const std::string& name) const;
  absl::StatusOr<evbus::v1::Schedule> UpdateSchedule(evbus::v1::Schedule s);
  absl::Status DeleteSchedule(const std::string& group,
                              const std::string& name);
  std::vector<evbus::v1::Schedule> ListSchedules(
      const std::string& group, const std::string& prefix,
      const std::string& state) const;
  absl::StatusOr<evbus::v1::ScheduleGroup> CreateScheduleGroup(
      const std::string& name);
  absl::StatusOr<evbus::v1::ScheduleGroup> GetScheduleGroup(
      const std::string& name) const;
  std::vector<evbus::v1::ScheduleGroup> ListScheduleGroups(
      const std::string& prefix) const;
  absl::Status DeleteScheduleGroup(const std::string& name);

  // The next fire time of a schedule id, for tests.
  std::optional<absl::Time> NextFireForTesting(const std::string& id) const;

 private:
  struct Entry {
    std::string id;  // sched key
    bool is_rule = false;
    evbus::v1::Rule rule;          // is_rule
    evbus::v1::Schedule schedule;  // !is_rule
    std::optional<ScheduleExpression> expression;
    absl::Time anchor;
    int64_t last_fire_ms = 0;
    int64_t next_scheduled_ms = 0;  // the tick's nominal time
    int64_t next_due_ms = 0;        // when it fires (flexible window added)
  };

  void Loop();
  // Fires the due ticks of `ids` (those no longer due are skipped), all in
  // one synced write: a thousand schedules due in the same second cost one
  // fsync, not a thousand in a row.
  void FireDue(const std::vector<std::string>& ids);
  // Computes and indexes the next tick after `after` (ms); removes the entry
  // from the index when there is none.
  void ScheduleNextLocked(Entry& e, int64_t after_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void IndexLocked(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnindexLocked(const Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CatchUpLocked(Entry& e, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static absl::Status Validate(const evbus::v1::Schedule& s,
                               std::optional<ScheduleExpression>* expression);
  absl::Status PersistSchedule(const evbus::v1::Schedule& s);
  // Reserves schedule `id` (of `group`) for an update or delete written
  // outside mu_: waits for another write to it to finish, then false when
  // it does not exist (or its group is being deleted). Release with
  // ReleaseWriteLocked once the write is done.
  bool ReserveWriteLocked(const std::string& id, const std::string& group)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseWriteLocked(const std::string& id, const std::string& group)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string ScheduleArn(const std::string& group,
                          const std::string& name) const;
  std::string GroupArn(const std::string& group) const;
  void AddScheduleTickLocked(const Entry& e, absl::Time when,
                             storage::WriteBatch& batch,
                             std::vector<delivery::QueueEntry>& entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::Store& store_;
  common::Clock& clock_;
  metrics::Registry& registry_;
  RuleTickSink& rule_ticks_;
  delivery::Dispatcher* const dispatcher_;
  const SchedulerOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, std::string>> due_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, evbus::v1::ScheduleGroup> groups_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, evbus::v1::FireState> fire_state_ ABSL_GUARDED_BY(mu_);
  // Schedules being written (CreateSchedule, UpdateSchedule and
  // DeleteSchedule write outside mu_, so that concurrent calls share one
  // fsync and firing is not held up): their ids (no other write to one
  // starts, and it does not fire, until its write is done), the count per
  // group, and the groups a DeleteScheduleGroup is waiting to delete (no
  // write starts in those).
  std::set<std::string> writing_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> writing_in_group_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> deleting_groups_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;

  metrics::Counter ticks_;
  metrics::Gauge active_;
};

}  // namespace evbus::scheduler
