// File: server/alarms/alarm_service.h
//
// AlarmService: CloudWatch metric and composite alarms with state
// (shared/spec/lambda-cloudwatch-sns.md §4): the PutMetricAlarm /
// PutCompositeAlarm / DescribeAlarms / DescribeAlarmHistory / SetAlarmState /
// DeleteAlarms / Enable- and DisableAlarmActions calls, the once-a-minute
// evaluation loop, alarm history, and the Prometheus alarm-state series. The
// decision itself is the pure Evaluate() of evaluation.h; metric data comes
// from a MetricSource and actions run through an AlarmNotifier, both supplied
// by the daemon.
//
// Evaluation. One thread evaluates every alarm at every minute boundary of
// the injected Clock: at minute M (clock time floored to the minute) the
// range is R = EvaluationRange(N) buckets, bucket k = 0..R-1 covering
// [M-(k+1)·P, M-k·P) (P = Period; a sliding window anchored at M, not at
// multiples of P). One MetricSource::Query fetches [M-R·P, M); a bucket's
// aggregate merges its minutes, an empty bucket is missing. When the clock
// jumps (ManualClock + Poke), every crossed minute is evaluated in order, at
// most `max_catch_up_minutes` (the most recent ones). A new alarm is first
// evaluated at the minute boundary that ends its creation minute.
//
// A transition (decided state != current state) updates StateValue,
// StateReason, StateReasonData and both state timestamps, persists the alarm
// (synced), records a StateUpdate history item, and then — outside the lock —
// calls AlarmNotifier::StateChanged with the new state's actions (empty when
// ActionsEnabled is false) and records one Action history item per action.
// Nothing fires while the state holds. SetAlarmState forces a state the same
// way; the next evaluation decides afresh.
//
// Composite alarms (alarm_rule set; alarm_rule.h) are not evaluated by the
// minute loop but whenever an alarm their rule names changes state (an
// evaluation, SetAlarmState, or a composite below them), and when created
// or updated: ALARM while the rule holds, else OK, with CloudWatch's reason
// ("<child ARN> transitioned to ALARM at Friday 22 July, 2022 15:57:45 UTC")
// and reason data ({"triggeringAlarms":[...]}). Changes propagate upwards
// through composites of composites in the same call. As in CloudWatch, a
// composite alarm on a cycle of composites is not evaluated; an alarm a
// composite alarm names cannot be deleted (unless that composite alarm is
// deleted in the same call), nor can a composite alarm be created naming
// alarms that do not exist.
//
// Storage (the key layout is documented in README.md):
//   catalog: CatalogKey("alarm", name) → evbus.v1.MetricAlarm (synced)
//   metrics: "h" 0x00 name 0x00 BE64(ms) BE64(seq) → evbus.v1.AlarmHistoryItem
//            (not synced; trimmed to history_retention once an hour of clock
//            time; removed with the alarm)
//
// Errors carry CloudWatch's exception names (common::AwsError):
//   InvalidArgument "ValidationError: ..." — model constraints (Coral form),
//     Period / DatapointsToAlarm / window rules;
//   InvalidArgument "InvalidParameterValue: ..." — ExtendedStatistic,
//     TreatMissingData, EvaluateLowSampleCountPercentile values, a
//     non-finite Threshold;
//   InvalidArgument "InvalidParameterCombination: ..." — Statistic vs
//     ExtendedStatistic, metric math / anomaly detection inputs;
//   InvalidArgument "InvalidNextToken: ..." — a malformed history NextToken;
//   InvalidArgument "ValidationError: Error in AlarmRule [...]" / "Could not
//     save the composite alarm as alarms [x] in the alarm rule do not exist"
//     — PutCompositeAlarm; "... is referenced by composite alarm(s) [y]" —
//     DeleteAlarms; a name taken by the other kind of alarm;
//   NotFound "ResourceNotFound: Alarm x not found" — SetAlarmState;
//   Unavailable / DataLoss — the store failed (nothing was changed).
//
// Metrics: evbus_alarm_state{alarm,state} (1 for the current state, 0 for the
// other two; all 0 once deleted), evbus_alarm_state_changes_total{alarm},
// evbus_alarm_actions_total{result="ok|failed"}.
//
// Thread safety: thread-safe. One mutex guards the alarms; the MetricSource
// and the AlarmNotifier are never called under it.
//
// Example:
//   AlarmService alarms(store, clock, registry, metric_store, notifier, {});
//   EVBUS_RETURN_IF_ERROR(alarms.Load());
//   EVBUS_RETURN_IF_ERROR(alarms.Start());
//   evbus::v1::PutMetricAlarmRequest put;
//   put.mutable_alarm()->set_alarm_name("errors");
//   ...  // namespace, metric, statistic, period, thresholds
//   put.add_present("threshold");
//   EVBUS_RETURN_IF_ERROR(alarms.PutMetricAlarm(put));
//   ...
//   alarms.Stop();
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evbus/v1/cloudwatch.pb.h"
#include "server/alarms/alarm_rule.h"
#include "server/alarms/evaluation.h"
#include "server/common/clock.h"
#include "server/metricmath/evaluate.h"
#include "server/metrics/registry.h"
#include "server/metricstore/datapoint.h"
#include "server/storage/store.h"

namespace evbus::alarms {

// Per-minute aggregates of one metric series (namespace, name, exact
// dimension set), each keyed by its minute's start time, for minutes
// starting in [start, end). Any order; minutes without data are omitted.
// Implemented by the daemon over the metric store. Called outside the
// service's lock, from the evaluation thread only. An error skips the
// alarm for that minute (its state is kept).
class MetricSource {
 public:
  virtual ~MetricSource() = default;
  virtual absl::StatusOr<
      std::vector<std::pair<absl::Time, metricstore::Aggregate>>>
  Query(const std::string& ns, const std::string& metric,
        const std::vector<evbus::v1::Dimension>& dims, absl::Time start,
        absl::Time end) = 0;
};

// Runs an alarm's actions; implemented by the daemon (topics, functions,
// webhooks, and a "CloudWatch Alarm State Change" event on the default bus).
// Called outside locks, once per state transition (evaluation or
// SetAlarmState), from the evaluation thread or the SetAlarmState caller.
class AlarmNotifier {
 public:
  virtual ~AlarmNotifier() = default;
  // `alarm` is the alarm after the transition (new state, reason and
  // timestamps); `before` the alarm before it (its state, reason and
  // timestamps, and for a composite alarm what suppressed its actions).
  // `actions` = the ARNs of the new state's action list (empty when
  // ActionsEnabled is false, or suppressed). Returns one message per action
  // for history ("" = ok); missing entries count as ok.
  virtual std::vector<std::string> StateChanged(
      const evbus::v1::MetricAlarm& alarm, const evbus::v1::MetricAlarm& before,
      const std::vector<std::string>& actions) = 0;
};

struct AlarmServiceOptions {
  // Used in alarm ARNs: arn:aws:cloudwatch:<region>:<account>:alarm:<name>.
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // History older than this (clock time) is removed. Default: 14 days.
  absl::Duration history_retention = absl::Hours(24 * 14);
  // Most minutes evaluated after a clock jump (the most recent ones).
  // Default: 1440 (one day).
  int max_catch_up_minutes = 1440;
  // Longest real-time wait of the evaluation thread without a Poke.
  // Default: 1 s.
  absl::Duration idle_poll = absl::Seconds(1);
};

class AlarmService final {
 public:
  AlarmService(storage::Store& store, common::Clock& clock,
               metrics::Registry& registry, MetricSource& source,
               AlarmNotifier& notifier, AlarmServiceOptions options);
  ~AlarmService();  // Stop()s
  AlarmService(const AlarmService&) = delete;
  AlarmService& operator=(const AlarmService&) = delete;

  // Reads the alarms from the catalog (replacing those in memory). An alarm
  // record that no longer validates is logged and skipped. Errors: the
  // store's.
  absl::Status Load();
  // Starts the evaluation thread (Load()s first when not done yet). The
  // first minute evaluated is the one after the clock's current minute.
  // FailedPrecondition when already started or stopped.
  absl::Status Start();
  // Stops and joins the evaluation thread. Idempotent.
  void Stop();
  // The (manual) clock moved: evaluate the crossed minutes now.
  void Poke();

  // Creates (state INSUFFICIENT_DATA, "Unchecked: Initial alarm creation")
  // or replaces (state kept) an alarm; records a ConfigurationUpdate item.
  // `present` names the optional fields given; other fields count as absent
  // when 0 / empty.
  absl::Status PutMetricAlarm(const evbus::v1::PutMetricAlarmRequest& request);
  // Checks a PutMetricAlarm request as PutMetricAlarm would, without
  // storing it (the same errors). For stack files, so that a bad alarm stops
  // the stack before any change.
  static absl::Status CheckPutMetricAlarm(
      const evbus::v1::PutMetricAlarmRequest& request);
  // Checks a PutCompositeAlarm request's own members as PutCompositeAlarm
  // would (not whether the alarms it names exist), the same errors; returns
  // its parsed rule. For stack files too.
  static absl::StatusOr<AlarmRule> CheckPutCompositeAlarm(
      const evbus::v1::PutCompositeAlarmRequest& request);
  // Creates (INSUFFICIENT_DATA, then evaluated at once) or replaces (state
  // kept, then re-evaluated) a composite alarm.
  absl::Status PutCompositeAlarm(
      const evbus::v1::PutCompositeAlarmRequest& request);
  // Alarms sorted by name, filtered by names (<= 100), name prefix (not with
  // names), state value and action prefix (any of the three lists), and
  // type (metric alarms only unless AlarmTypes says otherwise); or the
  // children of a composite alarm, or the composite alarms naming an alarm.
  // Pages of MaxRecords (1..100, 0: 50) over both kinds, by name; NextToken
  // is the last name returned.
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> DescribeAlarms(
      const evbus::v1::DescribeAlarmsRequest& request) const;
  // History items of one alarm (or all), newest first unless ScanBy is
  // TimestampAscending, filtered by item type, alarm type (metric alarms
  // only unless AlarmTypes says otherwise) and [StartDate, EndDate]; pages
  // of MaxRecords (1..100, 0: 100).
  absl::StatusOr<evbus::v1::DescribeAlarmHistoryResponse> DescribeAlarmHistory(
      const evbus::v1::DescribeAlarmHistoryRequest& request) const;
  // Forces a state with the caller's reason (and StateReasonData, which must
  // be JSON). When the state changes: StateUpdate history and the new
  // state's actions; setting the current state again changes nothing.
  absl::Status SetAlarmState(const evbus::v1::SetAlarmStateRequest& request);
  // Deletes alarms and their history; unknown names are ignored.
  absl::Status DeleteAlarms(const std::vector<std::string>& names);
  // Enable/DisableAlarmActions; unknown names are ignored. A change records
  // a ConfigurationUpdate item.
  absl::Status SetActionsEnabled(const std::vector<std::string>& names,
                                 bool enabled);

  // Evaluates every alarm (whenever it was created) for the minute that ends
  // at `minute_end` floored to the minute, as the loop does. For tests that
  // do not Start() the thread.
  void EvaluateForTesting(absl::Time minute_end);
  // Ends the action suppression periods (WaitPeriod, ExtensionPeriod) that
  // are over at the clock's time, as the loop does: a composite alarm still
  // in ALARM then runs its ALARM actions. For tests that do not Start() the
  // thread.
  void ExpireSuppressionsForTesting();

  // One query of a metric math alarm, ready to evaluate: a metric to read
  // (input.series set) or a parsed expression. (Public only so that the
  // implementation's helpers can build it.)
  struct MathQuery {
    metricmath::QueryInput input;
    bool return_data = false;
    std::string metric_namespace;
    std::string metric_name;
    std::vector<evbus::v1::Dimension> dimensions;
    metricstore::StatisticSpec statistic;
  };

 private:
  struct Entry {
    evbus::v1::MetricAlarm alarm;
    // Composite alarms: the parsed rule, and the names of the alarms it
    // names (ARNs of this region and account resolved to names).
    std::optional<AlarmRule> rule;
    std::vector<std::string> children;
    EvaluationConfig evaluation;
    metricstore::StatisticSpec statistic;
    std::vector<MathQuery> math;  // metric math alarms: the queries
    // Changes when the configuration is replaced (drops stale evaluations).
    uint64_t generation = 0;
    // The first minute end the loop evaluates this alarm at.
    absl::Time not_before = absl::InfinitePast();
  };
  // One transition whose actions run outside the lock.
  struct PendingActions {
    evbus::v1::MetricAlarm alarm;  // after the transition
    uint64_t generation = 0;
    evbus::v1::MetricAlarm before;  // before the transition
    std::vector<std::string> actions;
    int64_t ms = 0;
  };

  void Loop();
  // Evaluates every alarm (loop: those with not_before <= minute_end) for
  // `minute_end`, applies transitions and runs their actions.
  void EvaluateMinute(absl::Time minute_end, bool all);
  // The evaluation range ending at `minute_end`: `range` buckets `width`
  // wide, newest first, of one metric's statistic, or of a metric math
  // alarm's returned query (its metrics read, its expressions evaluated).
  // Errors: the metric source's, or the evaluation's.
  absl::StatusOr<std::vector<Bucket>> MetricBuckets(
      const std::string& ns, const std::string& name,
      const std::vector<evbus::v1::Dimension>& dims,
      const metricstore::StatisticSpec& statistic, absl::Time minute_end,
      absl::Duration width, int range);
  absl::StatusOr<std::vector<Bucket>> MathBuckets(
      const std::vector<MathQuery>& math, absl::Time minute_end,
      absl::Duration width, int range);
  // Applies a state change to `alarm` (a copy of the entry's) and adds the
  // StateUpdate history item to `batch`; returns the pending actions.
  PendingActions TransitionLocked(evbus::v1::MetricAlarm& alarm,
                                  AlarmState state, const std::string& reason,
                                  const std::string& reason_data, int64_t ms,
                                  storage::WriteBatch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new or replaced configuration `a`: a new alarm (`old` null) starts
  // INSUFFICIENT_DATA, a replaced one keeps `old`'s state; adds the
  // ConfigurationUpdate history item to `batch`.
  void ConfigureLocked(evbus::v1::MetricAlarm& a,
                       const evbus::v1::MetricAlarm* old, int64_t ms,
                       storage::WriteBatch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits `alarm` into its entry after a successful write.
  void CommitLocked(Entry& entry, evbus::v1::MetricAlarm alarm)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evaluates the composite alarms in `evaluate` and then, transitively,
  // every composite alarm naming an alarm in `changed` or one that changes
  // here; writes their transitions (synced) and commits them. Returns their
  // actions. `ms` stamps the transitions.
  std::vector<PendingActions> PropagateLocked(std::vector<std::string> changed,
                                              std::vector<std::string> evaluate,
                                              int64_t ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Decides whether composite alarm `a`, about to go to `target` at `ms`,
  // runs that state's actions: sets its actions_suppressed_* fields (the
  // suppressor in ALARM, or a WaitPeriod starting as it goes into ALARM)
  // and returns true when they are suppressed. `suppressor_in_alarm` is
  // its suppressor's state.
  static bool SuppressTransition(evbus::v1::MetricAlarm& a, AlarmState target,
                                 bool suppressor_in_alarm, int64_t ms);
  // The ALARM actions a suppression held back, to run now (`a` in ALARM,
  // its suppression already cleared; stamps its state time with `ms`).
  static PendingActions HeldBackActions(const evbus::v1::MetricAlarm& before,
                                        evbus::v1::MetricAlarm& a,
                                        uint64_t generation, int64_t ms);
  // Ends the suppression periods over at `now`; runs the actions owed.
  void ExpireSuppressions(absl::Time now);
  // The earliest end of a running suppression period (InfiniteFuture if
  // none).
  absl::Time NextSuppressionEndLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The name an AlarmRule's child refers to (an ARN of this region and
  // account → its name; other ARNs stay as they are and match nothing).
  std::string ChildName(const std::string& child) const;
  // Notifies and records the Action history items.
  void RunActions(std::vector<PendingActions> pending);
  void AddHistoryLocked(storage::WriteBatch& batch,
                        const evbus::v1::MetricAlarm& alarm, int64_t ms,
                        const std::string& type, const std::string& summary,
                        const std::string& data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetStateGauges(const std::string& alarm, const std::string& state);
  void TrimHistory(absl::Time now);
  std::string AlarmArn(const std::string& name) const;

  storage::Store& store_;
  common::Clock& clock_;
  metrics::Registry& registry_;
  MetricSource& source_;
  AlarmNotifier& notifier_;
  const AlarmServiceOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> alarms_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t history_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // The last minute end the loop evaluated.
  absl::Time cursor_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;

  metrics::Counter actions_ok_;
  metrics::Counter actions_failed_;
};

}  // namespace evbus::alarms
