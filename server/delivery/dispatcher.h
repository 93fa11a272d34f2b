// File: server/delivery/dispatcher.h
//
// Dispatcher: the durable delivery queue's worker. Tasks are written to the
// `queue` column family by the ingest path (in the PutEvents batch); the
// dispatcher keeps a per-target in-memory index of due tasks (rebuilt from
// the family's keys at Start), hands each due task to the target's executor
// with its input shaped, and records the outcome: success deletes the task;
// a retryable failure reschedules it with backoff and jitter (Retry-After
// honoured) until RetryPolicy runs out; then, or on a permanent failure, the
// task moves to the dead-letter store (and, with DeadLetterConfig.Arn, is
// forwarded there too).
//
// Each target has its own concurrency limit and optional token bucket, so a
// slow or dead target never delays the others. The dispatcher never holds
// its lock across I/O.
//
// Thread safety: thread-safe.
//
// Example:
//   Dispatcher dispatcher(store, clock, registry, directory, executors, {});
//   EVBUS_RETURN_IF_ERROR(dispatcher.Start());
//   QueueEntry e = Dispatcher::AddTo(batch, task);   // ingest path
//   EVBUS_RETURN_IF_ERROR(store.Write(batch, true));
//   dispatcher.Enqueued({e});
//   ...
//   dispatcher.Stop();
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evbus/v1/delivery.pb.h"
#include "evbus/v1/rule.pb.h"
#include "server/common/clock.h"
#include "server/common/metric_sink.h"
#include "server/delivery/rate_limiter.h"
#include "server/delivery/retry_policy.h"
#include "server/metrics/registry.h"
#include "server/storage/store.h"
#include "server/targets/executor.h"
#include "server/targets/input_shaping.h"
#include "server/targets/target_arn.h"

namespace evbus::delivery {

// OAuth client-credentials settings of a connection.
struct OAuthClient {
  // The connection it authorizes (its state follows the token requests).
  std::string connection_arn;
  std::string endpoint;
  std::string method = "POST";
  std::string client_id;
  std::string client_secret;
  std::vector<std::pair<std::string, std::string>> headers, query, body;
};

// How to call an API destination: its endpoint, method and rate, and the
// connection's authorization and parameters (the connection wins over the
// target's HttpParameters on conflicts).
struct HttpEndpoint {
  std::string url;  // may contain "*" path wildcards
  std::string method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> query;
  double rate_per_second = 0;
  std::string signing_secret;  // X-Evbus-Signature when set
  std::optional<OAuthClient> oauth;
};

// The current configuration of one rule's target.
struct ResolvedTarget {
  evbus::v1::Target target;
  std::string rule_arn;
  // The rule's Rule.incarnation (empty when unknown): a task made for
  // another incarnation of the rule is not delivered to this target.
  std::string rule_incarnation;
  // Set for API destination targets.
  std::optional<HttpEndpoint> http;
};

// Gets (and caches) OAuth client-credential tokens. Thread-safe.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual absl::StatusOr<std::string> Token(const OAuthClient& client) = 0;
  virtual void Invalidate(const OAuthClient& client) = 0;
};

// Where the dispatcher looks targets up at delivery time (implemented by the
// bus's rule registry), so that a fixed URL applies to pending retries.
class TargetDirectory {
 public:
  virtual ~TargetDirectory() = default;
  // nullopt when the rule or the target no longer exists.
  virtual std::optional<ResolvedTarget> FindTarget(
      const std::string& bus, const std::string& rule,
      const std::string& target_id) const = 0;
  // The HTTP call for an API destination target carried in a task
  // (DeliveryTask.inline_target); nullopt when not one or unknown.
  virtual std::optional<HttpEndpoint> ResolveHttp(
      const evbus::v1::Target& target) const {
    (void)target;
    return std::nullopt;
  }
};

// The executors per target kind; null ones fail deliveries permanently with
// NO_RESOURCE.
struct Executors {
  targets::Executor* webhook = nullptr;
  targets::Executor* log = nullptr;
  targets::Executor* bus = nullptr;
  // Rule targets naming a function (hand-off to the function's queue).
  targets::Executor* function = nullptr;
  // Tasks of a function's own queue (DeliveryTask.async_invoke): run it.
  targets::Executor* function_runner = nullptr;
  targets::Executor* topic = nullptr;
  // mailto: deliveries (topics' email subscriptions) through SMTP.
  targets::Executor* email = nullptr;
  // For OAuth connections; null fails them with FAILED_TO_ASSUME_ROLE.
  TokenSource* tokens = nullptr;
};

// Builds the request for an HTTP target: URL with path wildcards and query
// parameters, method, and headers (target HttpParameters, their `$.` values
// read from `event_json`, the event's envelope; then the connection's; then
// authorization and signature). InvalidArgument when a header it would send
// is not a valid header (a name that is not a token, a value with a line
// break: a dynamic value or a target stored before PutTargets checked
// them). Pure; thread-safe.
absl::StatusOr<targets::DeliveryRequest> BuildHttpRequest(
    const ResolvedTarget& target, std::string payload, absl::Time now,
    TokenSource* tokens, absl::string_view event_json);

// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
std::string SignatureHeader(const std::string& secret, absl::Time now,
                            const std::string& body);

struct DispatcherOptions {
  // Deliveries in flight per target unless the target sets max_concurrency.
  // Default: 64.
  int default_target_concurrency = 64;
  BackoffOptions backoff;
  // Between runs of a function's asynchronous event (Lambda: about 1, then
  // 2 minutes).
  BackoffOptions async_invoke_backoff = {.base = absl::Minutes(1),
                                         .cap = absl::Minutes(2)};
  // HTTP request timeout. Default: 5 s (EventBridge's).
  absl::Duration webhook_timeout = absl::Seconds(5);
  // Receives AWS/Events Invocations, FailedInvocations,
  // DeadLetterInvocations and InvocationsSentToDlq per rule (and
  // AWS/Lambda AsyncEventsDropped for functions' queues). Optional.
  common::MetricSink* metric_sink = nullptr;
  // Longest the loop sleeps without news (real time). Default: 1 s.
  absl::Duration idle_poll = absl::Seconds(1);
  // Serialized tasks kept in memory between enqueue and delivery, so that a
  // delivery does not read its task back from RocksDB; past this many bytes
  // (a backlog) tasks are read from the store. Default: 64 MiB.
  size_t task_cache_bytes = size_t{64} << 20;
  // Whether a task that carries its target (DeliveryTask.inline_target) may
  // still be delivered. False drops it unsent, as a task of a removed rule
  // target is: a topic's message to a subscription that was removed, or
  // whose topic was. Unset: always.
  std::function<bool(const evbus::v1::DeliveryTask&)> inline_target_live;
};

// An index entry: what Enqueued needs to know about a committed task.
struct QueueEntry {
  uint64_t due_ms = 0;
  std::string key;         // the queue key
  std::string target_key;  // storage::keys::TargetKey
  // The serialized task when the caller has it (AddTo sets it), so that the
  // dispatcher need not read it back from the store; may be empty.
  std::string value;
};

struct DeadLetterPage {
  std::vector<evbus::v1::DeadLetter> dead_letters;
  std::string next_token;
};

class Dispatcher {
 public:
  Dispatcher(storage::Store& store, common::Clock& clock,
             metrics::Registry& registry, const TargetDirectory& directory,
             Executors executors, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Loads the index from the queue family and starts the loop.
  absl::Status Start();
  // Stops the loop; deliveries in flight finish or fail as retryable (their
  // tasks stay queued). Idempotent.
  void Stop();

  // Puts `task` (with task_id, target and due_ms set) into `batch` and
  // returns its index entry. REQUIRES: task.task_id() is 36 characters.
  static QueueEntry AddTo(storage::WriteBatch& batch,
                          const evbus::v1::DeliveryTask& task);
  // As AddTo, but the stored task refers to the event instead of carrying
  // its envelope: `event_key` is the event's key in the `events` family, and
  // that record must be written in the same batch. The returned entry keeps
  // the whole task (envelope included), so a delivery from memory reads
  // nothing back. REQUIRES: as AddTo; task.envelope_json() is not empty.
  static QueueEntry AddReferringTo(storage::WriteBatch& batch,
                                   evbus::v1::DeliveryTask task,
                                   std::string_view event_key);
  // Tells the dispatcher about tasks whose batch was committed.
  void Enqueued(std::vector<QueueEntry> entries);
  // Re-evaluates due times now (after a manual clock moved).
  void Poke();

  // Tasks queued or in flight.
  int64_t Depth() const;
  // The earliest due time (ms since the epoch) of bus `bus`'s tasks that may
  // still need their event from the event log: queued ones, ones being
  // dispatched whose event is not read yet, and ones whose event read
  // failed (left in the store for the next start). 0 before Start() has
  // loaded the queue, UINT64_MAX when there are none. A task that refers to
  // the event log (AddReferringTo) is due at its event's receipt time until
  // its first attempt, so the bus's events received at or after this time
  // may still be needed.
  uint64_t OldestDueMs(std::string_view bus) const;

  // Dead letters of a rule (all targets, or one), oldest first.
  absl::StatusOr<DeadLetterPage> ListDeadLetters(
      const std::string& bus, const std::string& rule,
      const std::string& target_id, size_t limit,
      const std::string& token) const;
  // Moves up to `limit` dead letters back to the queue, due now with fresh
  // attempts and age. Returns how many.
  absl::StatusOr<int> Redrive(const std::string& bus, const std::string& rule,
                              const std::string& target_id, size_t limit);

  // Blocks until nothing is queued or in flight, or `timeout` passes.
  bool WaitIdleForTesting(absl::Duration timeout);

 private:
  // A queued task in its target's index: the queue key is
  // QueueKey(due_ms, task_id, <the target's key>), so the entry keeps only
  // the parts that differ (about 50 bytes instead of a ~300-byte node with
  // the whole key; a million queued deliveries fit in ~60 MB).
  struct PendingTask {
    uint64_t due_ms;
    std::array<char, 36> task_id;
    bool operator<(const PendingTask& o) const {
      return due_ms != o.due_ms ? due_ms < o.due_ms : task_id < o.task_id;
    }
  };
  struct TargetQueue {
    absl::btree_set<PendingTask> pending;  // in due order
    // Due times of tasks taken off `pending` whose stored task may still
    // refer to its event: from dispatch until the outcome is written, or
    // left after a failed read or write (OldestDueMs).
    absl::btree_multiset<uint64_t> held;
    int in_flight = 0;
    int limit = 0;
    // InvocationRateLimitPerSecond: the target's own, or its API
    // destination's, shared by every target that sends to it.
    std::shared_ptr<TokenBucket> bucket;
    std::string bucket_key;  // the API destination's ARN, or "" (own)
    // False until a dispatch has read the target's limits; until then one
    // delivery at a time, so that a rate limit applies from the start.
    bool configured = false;
    // Metric handles, labelled bus/rule/target.
    metrics::Counter invocations, failed, retries, dead_letters;
    metrics::Histogram latency;
  };
  // A delivery's outcome waiting to be recorded. Completions only gather
  // outcomes; the loop thread records all those gathered since its last
  // turn in one write, so that completions never wait for the store (a
  // write joins the group of synced ingest writes and waits for its fsync).
  struct PendingOutcome {
    QueueEntry entry;  // deleted from the queue family
    // Set when the task is retried: its new entry and serialized task.
    std::optional<QueueEntry> requeued;
    std::string requeued_value;
    // Set when the task is dead-lettered: the dead letter's key and value.
    std::string dead_letter_key;
    std::string dead_letter_value;
    // Set when the dead letter also goes to DeadLetterConfig.Arn.
    std::optional<evbus::v1::DeadLetter> forward;
    std::optional<ResolvedTarget> forward_target;
  };

  void Loop();
  void Dispatch(const QueueEntry& entry);
  // Fills task->envelope_json from the event log when the task refers to it
  // (event_key). Errors: NotFound when the event is gone; the store's errors.
  absl::Status ReadEnvelope(evbus::v1::DeliveryTask* task) const;
  // The target of a rule's task (no inline target), or nullopt when the
  // rule or target is gone, or the rule was deleted and created again since
  // the task was made (DeliveryTask.rule_incarnation).
  // DispatcherOptions::inline_target_live, or true.
  bool InlineTargetLive(const evbus::v1::DeliveryTask& task) const;
  std::optional<ResolvedTarget> RuleTargetOf(
      const evbus::v1::DeliveryTask& task) const;
  // The task taken for `entry` no longer refers to its event (gone, or
  // dropped; a delivered task once Record has written its outcome): forget
  // its due time in `held`.
  void Unhold(const QueueEntry& entry);
  void UnholdLocked(TargetQueue& q, uint64_t due_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Complete(const QueueEntry& entry, evbus::v1::DeliveryTask task,
                const ResolvedTarget* target, targets::DeliveryResult result);
  // Whether a dead letter of `task` goes to `target`'s DeadLetterConfig
  // (counted as InvocationsSentToDlq): it has one, and there is an event.
  static bool ForwardsDeadLetter(const evbus::v1::DeliveryTask& task,
                                 const ResolvedTarget& target);
  // Records `outcomes` in one write, then forwards their dead letters and
  // requeues or forgets their tasks.
  void Record(std::vector<PendingOutcome> outcomes);
  // Records the outcomes gathered so far (loop thread).
  void RecordGathered();
  void Finish(const QueueEntry& entry, std::optional<QueueEntry> requeued);
  void RecordMetrics(const evbus::v1::DeliveryTask& task,
                     const ResolvedTarget& target,
                     const targets::DeliveryResult& result,
                     const RetryPlan& plan, absl::Time now);
  void ForwardToDeadLetterTarget(const ResolvedTarget& target,
                                 const evbus::v1::DeadLetter& dead_letter);
  TargetQueue& QueueForLocked(absl::string_view target_key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the task behind queue key `key` to its target's index.
  void IndexLocked(absl::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps `value` for `key` when the cache has room.
  void CacheLocked(const std::string& key, std::string value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  targets::Executor* ExecutorFor(targets::TargetKind kind) const;

  storage::Store& store_;
  common::Clock& clock_;
  metrics::Registry& registry_;
  const TargetDirectory& directory_;
  const Executors executors_;
  const DispatcherOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, TargetQueue, std::less<>> queues_ ABSL_GUARDED_BY(mu_);
  // One token bucket per API destination (by ARN), whatever the rules and
  // targets that send to it: its InvocationRateLimitPerSecond bounds the
  // endpoint, not each target.
  std::map<std::string, std::shared_ptr<TokenBucket>, std::less<>>
      api_destination_buckets_ ABSL_GUARDED_BY(mu_);
  // Serialized tasks by queue key (see DispatcherOptions::task_cache_bytes).
  absl::flat_hash_map<std::string, std::string> cached_tasks_
      ABSL_GUARDED_BY(mu_);
  size_t cached_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t depth_ ABSL_GUARDED_BY(mu_) = 0;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // Start() loaded the queue
  // Outcomes gathered for the loop thread to record.
  std::vector<PendingOutcome> outcomes_ ABSL_GUARDED_BY(mu_);
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;

  metrics::Gauge depth_gauge_;
  metrics::Counter dropped_;
  metrics::Counter dlq_sent_;
  metrics::Counter dlq_failed_;
};

}  // namespace evbus::delivery
