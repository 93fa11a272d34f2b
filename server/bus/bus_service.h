// File: server/bus/bus_service.h
//
// BusService: event buses and the PutEvents ingest path. PutEvents
// validates each entry as EventBridge does, builds the envelope, and commits
// every accepted event in one synced RocksDB batch before it answers, so an
// acknowledged event survives kill -9. PutEvents blocks its caller (RocksDB's
// write group shares fsyncs between concurrent callers); PutEventsAsync, the
// gRPC handler's path, hands the batch to a storage::GroupCommitter, which
// writes everything queued during the previous fsync as one synced write and
// then answers each call, so no thread waits per call.
//
// Also keeps the event log's retention (a background thread trims old
// events) and implements common::EventSink for evbus's own producers.
//
// Thread safety: thread-safe.
//
// Example:
//   EVBUS_ASSIGN_OR_RETURN(std::unique_ptr<BusService> buses,
//                          BusService::Create(store, clock, registry, {}));
//   buses->Start();
//   EVBUS_ASSIGN_OR_RETURN(PutEventsResult r, buses->PutEvents(entries));
//   buses->Stop();
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evbus/v1/event.pb.h"
#include "evbus/v1/event_bus.pb.h"
#include "server/bus/event_tail.h"
#include "server/bus/rule_registry.h"
#include "server/bus/validation.h"
#include "server/common/clock.h"
#include "server/common/event_sink.h"
#include "server/common/metric_sink.h"
#include "server/delivery/dispatcher.h"
#include "server/metrics/registry.h"
#include "server/scheduler/scheduler.h"
#include "server/storage/event_log.h"
#include "server/storage/group_commit.h"
#include "server/storage/store.h"

namespace evbus::bus {

struct BusOptions {
  // Account id in envelopes and ARNs. Default: "000000000000".
  std::string account = "000000000000";
  // Region in envelopes and ARNs. Default: "us-east-1".
  std::string region = "us-east-1";
  // PutEvents limits. Default: EventBridge's (10 entries, 262,144 bytes).
  RequestLimits limits;
  // How long accepted events stay in the event log. Zero disables the event
  // log. Default: 24 hours.
  absl::Duration event_retention = absl::Hours(24);
  // How often the retention trimmer runs (real time). Default: 1 minute.
  absl::Duration trim_interval = absl::Minutes(1);
  // Maximum number of buses besides "default". Default: 100.
  size_t max_buses = 100;
  // Receives AWS/Events MatchedEvents and TriggeredRules. Optional.
  common::MetricSink* metric_sink = nullptr;
};

struct PutEventsResultEntry {
  std::string event_id;  // set on success
  std::string error_code;
  std::string error_message;
};

struct PutEventsResult {
  int failed_entry_count = 0;
  std::vector<PutEventsResultEntry> entries;  // one per request entry
};

struct ListBusesResult {
  std::vector<evbus::v1::EventBus> buses;
  std::string next_token;
};

class BusService final : public common::EventSink,
                         public scheduler::RuleTickSink {
 public:
  // Loads the buses from `store`, creating "default" when absent. The store,
  // clock and registry must outlive the service.
  // `rules` and `dispatcher` may be null (no matching / no delivery, for
  // tests of the ingest path alone); they must outlive the service.
  static absl::StatusOr<std::unique_ptr<BusService>> Create(
      storage::Store& store, common::Clock& clock, metrics::Registry& registry,
      BusOptions options, RuleRegistry* rules = nullptr,
      delivery::Dispatcher* dispatcher = nullptr);

  ~BusService() override;

  // Starts the retention trimmer.
  void Start();
  // Stops and joins it. Idempotent.
  void Stop();

  // EventBridge PutEvents. Whole-request errors: ValidationException
  // (kInvalidArgument) for 0 or more than 10 entries, a size over the limit,
  // or a model constraint; Unavailable when the store is latched (nothing is
  // acknowledged). Per-entry errors are in the result. An entry for a bus
  // that does not exist gets an EventId and goes nowhere, as on AWS (counted
  // in evbus_put_events_unknown_bus_total).
  absl::StatusOr<PutEventsResult> PutEvents(
      const std::vector<common::EventEntry>& entries);

  // PutEvents for callers that must not block (the gRPC handler): validates
  // and routes on the calling thread, then hands the batch to the group
  // committer; `done` runs on the commit thread once the events are synced
  // (or failed), with what PutEvents would have returned. `entries` is not
  // used after this returns.
  using PutEventsDone =
      absl::AnyInvocable<void(absl::StatusOr<PutEventsResult>) &&>;
  void PutEventsAsync(const std::vector<common::EventEntry>& entries,
                      PutEventsDone done);

  // scheduler::RuleTickSink: the "Scheduled Event" of a rule schedule
  // (source aws.events, resources [rule ARN], detail {}), delivered to that
  // rule's targets only.
  std::vector<delivery::QueueEntry> AddRuleTick(
      const evbus::v1::Rule& rule, absl::Time when,
      storage::WriteBatch& batch) override;

  // common::EventSink: puts evbus's own events ("aws." sources allowed).
  absl::Status Publish(std::vector<common::EventEntry> events) override;

  // Errors: ValidationException for a bad name or description,
  // ResourceAlreadyExistsException, LimitExceededException.
  absl::StatusOr<evbus::v1::EventBus> CreateEventBus(
      const std::string& name, const std::string& description);
  // `name_or_arn` empty means "default". ResourceNotFoundException.
  absl::StatusOr<evbus::v1::EventBus> DescribeEventBus(
      const std::string& name_or_arn) const;
  // Sets the description (ValidationException beyond 512 characters;
  // ResourceNotFoundException). `name_or_arn` empty means "default".
  absl::StatusOr<evbus::v1::EventBus> UpdateEventBus(
      const std::string& name_or_arn, const std::string& description);
  // Buses in name order. Limit 1..100 (0: 100).
  absl::StatusOr<ListBusesResult> ListEventBuses(
      const std::string& prefix, int limit, const std::string& token) const;
  // "default" → ValidationException "Cannot delete event bus default.";
  // missing → ResourceNotFoundException. Deletes the bus's event log too.
  absl::Status DeleteEventBus(const std::string& name_or_arn);

  // Event log of one bus (empty: "default"). ResourceNotFoundException for a
  // missing bus.
  absl::StatusOr<storage::EventLog::Page> ListEvents(
      const std::string& bus_name_or_arn,
      storage::EventLog::ListOptions options) const;

  // Trims the event log now (the trimmer calls this once per interval).
  absl::Status TrimEventLog();

  std::string BusArn(const std::string& name) const;

  // The bus name for a name or ARN ("" → "default"), when that bus exists;
  // ResourceNotFoundException otherwise.
  absl::StatusOr<std::string> ResolveBus(const std::string& name_or_arn) const;

  // Delivers an envelope as it is. NotFound when the bus does not exist.
  // `from_bus`: it comes from another bus's rule (a bus target). As on
  // EventBridge, an event crosses at most one bus hop: the rules of `bus`
  // deliver it to their other targets, not to buses (a rule that targets its
  // own bus, or buses that target each other, would forward it forever).
  absl::Status PublishEnvelope(const std::string& bus,
                               const std::string& envelope_json, bool from_bus);

  // Puts replayed envelopes (already carrying "replay-name") on `bus`,
  // routed to `only_rules` when not empty, in one synced batch. They are not
  // written to the event log.
  struct ReplayedEvent {
    std::string event_id;
    std::string envelope_json;
    int64_t event_time_ms = 0;
  };
  absl::Status PutReplayed(const std::string& bus,
                           const std::vector<ReplayedEvent>& events,
                           const std::set<std::string>& only_rules);
  const BusOptions& options() const { return options_; }

  // Live subscribers (tail-events).
  EventTail& tail() { return tail_; }

 private:
  struct BusState {
    evbus::v1::EventBus bus;
    metrics::Counter ingested;  // evbus_events_ingested_total{bus}
    metrics::Counter matched;   // evbus_matched_events_total{bus}
  };

  BusService(storage::Store& store, common::Clock& clock,
             metrics::Registry& registry, BusOptions options,
             RuleRegistry* rules, delivery::Dispatcher* dispatcher);
  // Matches `envelope` against the bus's rules and adds one delivery task
  // per (rule, target) to `batch` and `entries`.
  // Archive rules write the envelope to their archive in the same batch.
  // `only_rules`, when set, limits routing to those rule names (replays).
  // `event_key`, when not empty, is the event's key in the event log, written
  // in the same batch: the tasks then refer to it instead of carrying the
  // envelope (Dispatcher::AddReferringTo). `built_here`: the envelope was
  // built by Put from a checked entry, and is flattened with the trusted
  // parse (FlatEventParser::Options::trusted). `from_bus`: it came from
  // another bus's rule; bus targets are left out (PublishEnvelope).
  void RouteLocked(const std::string& bus, const BusState& state,
                   const std::string& event_id, const std::string& envelope,
                   int64_t ingest_ms, int64_t event_time_ms,
                   std::string_view event_key, storage::WriteBatch& batch,
                   std::vector<delivery::QueueEntry>& entries,
                   const std::set<std::string>* only_rules = nullptr,
                   bool built_here = false, bool from_bus = false)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Writes `batch` synced, then tells the dispatcher about `queued`.
  absl::Status CommitRouted(const storage::WriteBatch& batch,
                            std::vector<delivery::QueueEntry> queued);
  metrics::Counter TriggeredCounter(const std::string& bus,
                                    const std::string& rule);
  absl::Status Load();
  // A PutEvents request validated and routed, its writes not yet made.
  struct PreparedPut {
    absl::Time start;
    PutEventsResult result;
    storage::WriteBatch batch;
    std::vector<delivery::QueueEntry> queued;
    std::vector<std::pair<std::string, std::string>> tailed;  // bus, envelope
    std::vector<metrics::Counter> ingested;
    size_t unknown = 0;  // entries for buses that do not exist
  };
  absl::StatusOr<PutEventsResult> Put(
      const std::vector<common::EventEntry>& entries,
      const RequestLimits& limits);
  absl::StatusOr<PreparedPut> Prepare(
      const std::vector<common::EventEntry>& entries,
      const RequestLimits& limits);
  // After the batch was written (`written`): tells the dispatcher, the
  // tails and the metrics, and returns the result.
  absl::StatusOr<PutEventsResult> Finish(PreparedPut prepared,
                                         const absl::Status& written);
  void TrimLoop();
  BusState MakeState(evbus::v1::EventBus bus);

  // An event's record in the event log, keyed before the event is routed so
  // that its delivery tasks can refer to it. `key` is empty when the event
  // log is off (--event-retention 0).
  struct EventLogSlot {
    std::string key;
    evbus::v1::StoredEvent record;  // all but the envelope
  };
  EventLogSlot ReserveEventLogSlot(const std::string& bus, int64_t ingest_ms,
                                   const std::string& event_id);
  // Writes the event's record, with `envelope`, into `batch` under `slot`
  // (nothing when the event log is off).
  static void AddToEventLog(storage::WriteBatch& batch, EventLogSlot slot,
                            std::string envelope);

  storage::Store& store_;
  RuleRegistry* const rules_;
  delivery::Dispatcher* const dispatcher_;
  storage::EventLog event_log_;
  EventTail tail_;
  common::Clock& clock_;
  metrics::Registry& registry_;
  const BusOptions options_;

  std::atomic<uint64_t> next_sequence_;

  mutable absl::Mutex mu_;
  std::map<std::string, BusState> buses_ ABSL_GUARDED_BY(mu_);

  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread trimmer_;
  // When TrimEventLog last compacted the trimmed ranges (real time, ms;
  // 0: never): it does so at most every kCompactionInterval.
  static constexpr absl::Duration kCompactionInterval = absl::Hours(1);
  std::atomic<int64_t> last_compaction_ms_{0};

  absl::Mutex triggered_mu_;
  std::map<std::string, metrics::Counter> triggered_
      ABSL_GUARDED_BY(triggered_mu_);

  // Metric handles.
  metrics::Counter requests_ok_;
  metrics::Counter requests_rejected_;
  // Bus targets left out for events that came from another bus.
  metrics::Counter second_hops_;
  metrics::Counter requests_failed_;
  metrics::Counter entries_ok_;
  metrics::Counter unknown_bus_;
  metrics::Histogram latency_;
  metrics::Gauge buses_gauge_;

  // PutEventsAsync's durable writes. Last, so that it stops (running the
  // callbacks still queued) before anything Finish() uses is destroyed.
  storage::GroupCommitter committer_;
};

}  // namespace evbus::bus
