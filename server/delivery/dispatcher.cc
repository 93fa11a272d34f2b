#include "server/delivery/dispatcher.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "evbus/v1/event.pb.h"
#include "server/bus/rule_validation.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/logging.h"
#include "server/storage/keys.h"
#include "server/targets/input_shaping.h"

namespace evbus::delivery {
namespace {

int64_t NowMs(const common::Clock& clock) {
  return absl::ToUnixMillis(clock.Now());
}

RetryLimits LimitsOf(const evbus::v1::Target& target) {
  RetryLimits limits;
  if (target.has_retry_policy()) {
    const auto& p = target.retry_policy();
    if (p.has_maximum_retry_attempts()) {
      limits.max_retry_attempts = p.maximum_retry_attempts();
    }
    if (p.has_maximum_event_age_in_seconds()) {
      limits.max_event_age = absl::Seconds(p.maximum_event_age_in_seconds());
    }
  }
  return limits;
}

}  // namespace

namespace {

// The three labels of a target key (bus 0x00 rule 0x00 target).
metrics::Labels LabelsOf(absl::string_view target_key) {
  std::vector<std::string> parts = absl::StrSplit(target_key, '\0');
  parts.resize(3);
  return {{"bus", parts[0]}, {"rule", parts[1]}, {"target", parts[2]}};
}

}  // namespace

Dispatcher::Dispatcher(storage::Store& store, common::Clock& clock,
                       metrics::Registry& registry,
                       const TargetDirectory& directory, Executors executors,
                       DispatcherOptions options)
    : store_(store),
      clock_(clock),
      registry_(registry),
      directory_(directory),
      executors_(executors),
      options_(std::move(options)) {
  depth_gauge_ =
      registry_.GetGauge("evbus_delivery_queue_depth",
                         "Delivery tasks queued or in flight (all targets).");
  dropped_ = registry_.GetCounter(
      "evbus_deliveries_dropped_total",
      "Queued deliveries dropped because their rule or target was removed.");
  dlq_sent_ = registry_.GetCounter(
      "evbus_invocations_sent_to_dlq_total",
      "Dead letters forwarded to a target's DeadLetterConfig.Arn "
      "(InvocationsSentToDlq).");
  dlq_failed_ = registry_.GetCounter(
      "evbus_invocations_failed_to_be_sent_to_dlq_total",
      "Dead letters that could not be forwarded to DeadLetterConfig.Arn "
      "(InvocationsFailedToBeSentToDlq).");
}

Dispatcher::~Dispatcher() { Stop(); }

Dispatcher::TargetQueue& Dispatcher::QueueForLocked(
    absl::string_view target_key) {
  auto it = queues_.find(target_key);
  if (it != queues_.end()) return it->second;
  it = queues_.try_emplace(std::string(target_key)).first;
  TargetQueue& q = it->second;
  {  // a new target: its limits and metric handles
    q.limit = options_.default_target_concurrency;
    metrics::Labels labels = LabelsOf(target_key);
    q.invocations = registry_.GetCounter(
        "evbus_invocations_total",
        "Deliveries that succeeded (AWS/Events Invocations).", labels);
    q.failed = registry_.GetCounter(
        "evbus_failed_invocations_total",
        "Deliveries that failed permanently, other than those sent to the "
        "target's DeadLetterConfig (AWS/Events FailedInvocations).",
        labels);
    q.retries =
        registry_.GetCounter("evbus_retry_invocation_attempts_total",
                             "Deliveries retried after a failure (AWS/Events "
                             "RetryInvocationAttempts).",
                             labels);
    q.dead_letters = registry_.GetCounter(
        "evbus_dead_letter_invocations_total",
        "Deliveries moved to the dead-letter store (AWS/Events "
        "DeadLetterInvocations).",
        labels);
    q.latency = registry_.GetHistogram(
        "evbus_ingestion_to_invocation_start_latency_seconds",
        "From PutEvents receipt to the first delivery attempt (AWS/Events "
        "IngestionToInvocationStartLatency).",
        metrics::LatencyBuckets(), labels);
  }
  return q;
}

absl::Status Dispatcher::Start() {
  int64_t loaded = 0;
  {
    // Keys arrive sorted, so each lands at the end of its target's index.
    absl::MutexLock lock(&mu_);
    absl::Status s = store_.Scan(storage::Family::kQueue, "", "",
                                 [&](absl::string_view key, absl::string_view)
                                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                                       if (!storage::keys::IsQueueKey(key))
                                         return true;
                                       IndexLocked(key);
                                       ++loaded;
                                       return true;
                                     });
    if (!s.ok()) return s;
    started_ = true;
    depth_ += loaded;
    depth_gauge_.Set(static_cast<double>(depth_));
    wake_ = true;
  }
  if (loaded > 0) {
    EVBUS_LOG(INFO) << "delivery queue: " << loaded
                    << " pending deliveries to resume";
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Dispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

namespace {}  // namespace

std::optional<ResolvedTarget> Dispatcher::RuleTargetOf(
    const evbus::v1::DeliveryTask& task) const {
  std::optional<ResolvedTarget> target = directory_.FindTarget(
      task.event_bus_name(), task.rule_name(), task.target_id());
  // The rule was deleted and another took its name: not this task's target.
  if (target.has_value() && !task.rule_incarnation().empty() &&
      !target->rule_incarnation.empty() &&
      target->rule_incarnation != task.rule_incarnation()) {
    return std::nullopt;
  }
  return target;
}

namespace {

// The index entry of `task` (task_id, target and due_ms set).
QueueEntry EntryOf(const evbus::v1::DeliveryTask& task) {
  QueueEntry e;
  e.due_ms = static_cast<uint64_t>(task.due_ms());
  e.target_key = storage::keys::TargetKey(task.event_bus_name(),
                                          task.rule_name(), task.target_id());
  e.key = storage::keys::QueueKey(e.due_ms, task.task_id(), e.target_key);
  return e;
}

}  // namespace

QueueEntry Dispatcher::AddTo(storage::WriteBatch& batch,
                             const evbus::v1::DeliveryTask& task) {
  QueueEntry e = EntryOf(task);
  e.value = task.SerializeAsString();
  batch.Put(storage::Family::kQueue, e.key, e.value);
  return e;
}

QueueEntry Dispatcher::AddReferringTo(storage::WriteBatch& batch,
                                      evbus::v1::DeliveryTask task,
                                      std::string_view event_key) {
  QueueEntry e = EntryOf(task);
  evbus::v1::DeliveryTask envelope_only;
  envelope_only.set_envelope_json(std::move(*task.mutable_envelope_json()));
  task.clear_envelope_json();
  task.set_event_key(std::string(event_key));
  e.value = task.SerializeAsString();
  batch.Put(storage::Family::kQueue, e.key, e.value);
  // The in-memory copy is the stored bytes followed by the envelope field:
  // protobuf merges concatenated messages, so it parses as the task with its
  // envelope (and event_key, which ReadEnvelope then drops).
  envelope_only.AppendToString(&e.value);
  return e;
}

uint64_t Dispatcher::OldestDueMs(std::string_view bus) const {
  const std::string prefix =
      storage::keys::TargetBusPrefix(absl::string_view(bus.data(), bus.size()));
  absl::MutexLock lock(&mu_);
  if (!started_) return 0;
  uint64_t oldest = std::numeric_limits<uint64_t>::max();
  for (auto it = queues_.lower_bound(prefix);
       it != queues_.end() && absl::StartsWith(it->first, prefix); ++it) {
    const TargetQueue& q = it->second;
    if (!q.pending.empty())
      oldest = std::min(oldest, q.pending.begin()->due_ms);
    if (!q.held.empty()) oldest = std::min(oldest, *q.held.begin());
  }
  return oldest;
}

void Dispatcher::Unhold(const QueueEntry& entry) {
  absl::MutexLock lock(&mu_);
  UnholdLocked(QueueForLocked(entry.target_key), entry.due_ms);
}

void Dispatcher::UnholdLocked(TargetQueue& q, uint64_t due_ms) {
  auto it = q.held.find(due_ms);
  if (it != q.held.end()) q.held.erase(it);
}

absl::Status Dispatcher::ReadEnvelope(evbus::v1::DeliveryTask* task) const {
  if (task->event_key().empty()) return absl::OkStatus();
  if (!task->envelope_json().empty()) {  // the in-memory copy: it is whole
    task->clear_event_key();
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<std::string>> value =
      store_.Get(storage::Family::kEvents, task->event_key());
  if (!value.ok()) return value.status();
  evbus::v1::StoredEvent event;
  if (!value->has_value() || !event.ParseFromString(**value) ||
      event.envelope_json().empty()) {
    return absl::NotFoundError(
        absl::StrCat("event ", task->event_id(),
                     " is no longer in the event log (see --event-retention)"));
  }
  task->set_envelope_json(std::move(*event.mutable_envelope_json()));
  task->clear_event_key();
  return absl::OkStatus();
}

void Dispatcher::Enqueued(std::vector<QueueEntry> entries) {
  if (entries.empty()) return;
  absl::MutexLock lock(&mu_);
  for (QueueEntry& e : entries) {
    // Entries mostly arrive in due order (new tasks are due now; Start's
    // scan is sorted): the end is the right hint.
    if (!e.value.empty()) CacheLocked(e.key, std::move(e.value));
    IndexLocked(e.key);
    ++depth_;
  }
  depth_gauge_.Set(static_cast<double>(depth_));
  wake_ = true;
}

void Dispatcher::IndexLocked(absl::string_view key) {
  PendingTask t;
  t.due_ms = storage::keys::QueueKeyDueMs(key);
  const absl::string_view id = storage::keys::QueueKeyTaskId(key);
  std::memcpy(t.task_id.data(), id.data(), t.task_id.size());
  // Entries mostly arrive in due order (new tasks are due now; Start's scan
  // is sorted): the end is the right hint.
  auto& pending = QueueForLocked(storage::keys::QueueKeyTargetKey(key)).pending;
  pending.emplace_hint(pending.end(), t);
}

void Dispatcher::CacheLocked(const std::string& key, std::string value) {
  if (cached_bytes_ + value.size() > options_.task_cache_bytes) return;
  cached_bytes_ += value.size();
  cached_tasks_.insert_or_assign(key, std::move(value));
}

void Dispatcher::Poke() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

int64_t Dispatcher::Depth() const {
  absl::MutexLock lock(&mu_);
  return depth_;
}

bool Dispatcher::WaitIdleForTesting(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return depth_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

void Dispatcher::Loop() {
  while (true) {
    RecordGathered();
    std::vector<QueueEntry> ready;
    absl::Duration sleep = options_.idle_poll;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      wake_ = false;
      absl::Time now = clock_.Now();
      uint64_t now_ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
      for (auto& [target_key, q] : queues_) {
        while (q.in_flight < (q.configured ? q.limit : 1) &&
               !q.pending.empty()) {
          auto first = q.pending.begin();
          if (first->due_ms > now_ms) {
            sleep = std::min(sleep, absl::Milliseconds(static_cast<int64_t>(
                                        first->due_ms - now_ms)));
            break;
          }
          if (q.bucket != nullptr && !q.bucket->TryAcquire()) {
            sleep = std::min(sleep, q.bucket->NextToken() - now);
            break;
          }
          QueueEntry e{
              first->due_ms,
              storage::keys::QueueKey(first->due_ms,
                                      absl::string_view(first->task_id.data(),
                                                        first->task_id.size()),
                                      target_key),
              target_key,
              {}};
          if (auto it = cached_tasks_.find(e.key); it != cached_tasks_.end()) {
            cached_bytes_ -= it->second.size();
            e.value = std::move(it->second);
            cached_tasks_.erase(it);
          }
          ready.push_back(std::move(e));
          q.held.insert(first->due_ms);
          q.pending.erase(first);
          ++q.in_flight;
        }
      }
    }
    for (const QueueEntry& e : ready) Dispatch(e);
    if (!ready.empty()) continue;
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return wake_ || stopping_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&woken),
                         std::max(sleep, absl::Milliseconds(1)));
  }
  // Outcomes gathered before Stop; later ones are recorded by Complete.
  RecordGathered();
}

targets::Executor* Dispatcher::ExecutorFor(targets::TargetKind kind) const {
  switch (kind) {
    case targets::TargetKind::kWebhook:
    case targets::TargetKind::kApiDestination:
      return executors_.webhook;
    case targets::TargetKind::kLog:
      return executors_.log;
    case targets::TargetKind::kBus:
      return executors_.bus;
    case targets::TargetKind::kFunction:
      return executors_.function;
    case targets::TargetKind::kTopic:
      return executors_.topic;
    case targets::TargetKind::kEmail:
      return executors_.email;
  }
  return nullptr;
}

void Dispatcher::Dispatch(const QueueEntry& entry) {
  absl::StatusOr<std::optional<std::string>> value =
      entry.value.empty()
          ? store_.Get(storage::Family::kQueue, entry.key)
          : absl::StatusOr<std::optional<std::string>>(entry.value);
  evbus::v1::DeliveryTask task;
  if (!value.ok() || !value->has_value() || !task.ParseFromString(**value)) {
    // Gone (redriven or deleted) or unreadable: nothing to deliver. After a
    // failed read the task stays in the store for the next start, and its
    // event stays held for it.
    if (!value.ok()) {
      EVBUS_LOG(ERROR) << "queue read: " << value.status();
    } else {
      Unhold(entry);
    }
    Finish(entry, std::nullopt);
    return;
  }
  std::optional<ResolvedTarget> target;
  if (task.has_inline_target()) {
    if (InlineTargetLive(task)) {
      target = ResolvedTarget{task.inline_target(), task.rule_arn(), "",
                              directory_.ResolveHttp(task.inline_target())};
    }
  } else {
    target = RuleTargetOf(task);
  }
  if (!target.has_value()) {
    Unhold(entry);
    dropped_.Increment();
    storage::WriteBatch batch;
    batch.Delete(storage::Family::kQueue, entry.key);
    absl::Status s = store_.Write(batch, /*sync=*/false);
    if (!s.ok()) EVBUS_LOG(ERROR) << "queue delete: " << s;
    Finish(entry, std::nullopt);
    return;
  }
  if (absl::Status read = ReadEnvelope(&task); !read.ok()) {
    if (!absl::IsNotFound(read)) {
      // The read failed: leave the task in the store for the next start, as
      // when the task itself cannot be read, and keep its event held.
      EVBUS_LOG(ERROR) << "event log read: " << read;
      Finish(entry, std::nullopt);
      return;
    }
    Complete(entry, std::move(task), &*target,
             targets::DeliveryResult::Failure(targets::Outcome::kPermanent,
                                              "EVENT_NOT_FOUND",
                                              std::string(read.message())));
    return;
  }
  bool deferred = false;
  {
    absl::MutexLock lock(&mu_);
    TargetQueue& q = QueueForLocked(entry.target_key);
    // The first delivery of a queue is taken off it before its limits are
    // known, without a token: it takes one below, or waits for one, so
    // that the limit holds from the first request.
    const bool first = !q.configured;
    q.configured = true;
    const evbus::v1::Target& t = target->target;
    q.limit = t.max_concurrency() > 0 ? t.max_concurrency()
                                      : options_.default_target_concurrency;
    double rate = t.invocation_rate_limit_per_second();
    std::string bucket_key;
    if (rate <= 0 && target->http.has_value() &&
        target->http->rate_per_second > 0) {
      rate = target->http->rate_per_second;
      bucket_key = t.arn();
    }
    auto new_bucket = [&] {
      return std::make_shared<TokenBucket>(clock_, rate, std::max(1.0, rate));
    };
    if (rate <= 0) {
      q.bucket = nullptr;
    } else if (!bucket_key.empty()) {
      std::shared_ptr<TokenBucket>& shared =
          api_destination_buckets_[bucket_key];
      if (shared == nullptr || shared->rate() != rate) shared = new_bucket();
      q.bucket = shared;
    } else if (q.bucket == nullptr || !q.bucket_key.empty() ||
               q.bucket->rate() != rate) {
      q.bucket = new_bucket();
    }
    q.bucket_key = std::move(bucket_key);
    deferred = first && q.bucket != nullptr && !q.bucket->TryAcquire();
    if (task.attempts() == 0 && !deferred) {
      q.latency.Observe(
          std::max<double>(
              0, static_cast<double>(NowMs(clock_) - task.ingest_time_ms())) /
          1000.0);
    }
  }
  if (deferred) {
    // Back in the queue until the rate limit gives it a token.
    Unhold(entry);
    Finish(entry, entry);
    return;
  }
  // An event older than the target's MaximumEventAgeInSeconds is not sent,
  // whatever kept it waiting (spec §6: delivery stops at whichever limit
  // hits first; §9: a backlog behind a low rate limit goes to the DLQ).
  const absl::Duration max_age = LimitsOf(target->target).max_event_age;
  if (clock_.Now() - absl::FromUnixMillis(task.ingest_time_ms()) > max_age) {
    {
      // The token taken for this delivery goes back: no call is made.
      absl::MutexLock lock(&mu_);
      TargetQueue& q = QueueForLocked(entry.target_key);
      if (q.bucket != nullptr) q.bucket->GiveBack();
    }
    targets::DeliveryResult expired = targets::DeliveryResult::Failure(
        targets::Outcome::kPermanent,
        task.last_error_code().empty() ? "THROTTLING" : task.last_error_code(),
        task.last_error_message().empty()
            ? absl::StrCat(
                  "The event was older than MaximumEventAgeInSeconds (",
                  absl::ToInt64Seconds(max_age),
                  " s) before it could be sent (it waited for the target's "
                  "rate or concurrency limit).")
            : task.last_error_message());
    expired.expired = true;
    Complete(entry, std::move(task), &*target, std::move(expired));
    return;
  }

  auto shared_target = std::make_shared<ResolvedTarget>(*std::move(target));
  absl::StatusOr<targets::TargetRef> ref =
      targets::ParseTargetArn(shared_target->target.arn(), task.target_id());
  targets::Executor* executor = ref.ok() ? ExecutorFor(ref->kind) : nullptr;
  if (task.async_invoke()) executor = executors_.function_runner;
  if (executor == nullptr) {
    Complete(entry, std::move(task), shared_target.get(),
             targets::DeliveryResult::Failure(
                 targets::Outcome::kPermanent, "NO_RESOURCE",
                 ref.ok() ? absl::StrCat("evbus cannot deliver to ",
                                         targets::TargetKindName(ref->kind),
                                         " targets yet")
                          : std::string(ref.status().message())));
    return;
  }
  targets::InputContext context;
  context.rule_arn = shared_target->rule_arn;
  context.rule_name = task.rule_name();
  context.ingestion_time = absl::FromUnixMillis(task.ingest_time_ms());
  absl::StatusOr<std::optional<std::string>> payload = targets::ShapeInput(
      bus::TargetInputOf(shared_target->target), task.envelope_json(), context);
  if (!payload.ok() || !payload->has_value()) {
    Complete(entry, std::move(task), shared_target.get(),
             targets::DeliveryResult::Failure(
                 targets::Outcome::kPermanent, "INVALID_JSON",
                 payload.ok() ? "The transformed input is not valid JSON."
                              : std::string(payload.status().message())));
    return;
  }
  targets::DeliveryRequest request;
  if (ref->kind == targets::TargetKind::kWebhook ||
      ref->kind == targets::TargetKind::kApiDestination) {
    if (ref->kind == targets::TargetKind::kApiDestination &&
        !shared_target->http.has_value()) {
      Complete(entry, std::move(task), shared_target.get(),
               targets::DeliveryResult::Failure(
                   targets::Outcome::kPermanent, "NO_RESOURCE",
                   absl::StrCat("API destination ", ref->name,
                                " or its connection does not exist")));
      return;
    }
    absl::StatusOr<targets::DeliveryRequest> built =
        BuildHttpRequest(*shared_target, **std::move(payload), clock_.Now(),
                         executors_.tokens, task.envelope_json());
    if (!built.ok()) {
      bool auth = built.status().code() != absl::StatusCode::kInvalidArgument;
      Complete(entry, std::move(task), shared_target.get(),
               targets::DeliveryResult::Failure(
                   auth ? targets::Outcome::kRetryable
                        : targets::Outcome::kPermanent,
                   auth ? "FAILED_TO_ASSUME_ROLE" : "INVALID_PARAMETER",
                   common::SplitAwsError(built.status()).message));
      return;
    }
    request = *std::move(built);
  } else {
    request.url = ref->name;
    request.payload = **std::move(payload);
  }
  request.timeout = options_.webhook_timeout;
  request.event_id = task.event_id();
  request.ingest_time = absl::FromUnixMillis(task.ingest_time_ms());
  request.incarnation = task.rule_incarnation();
  auto task_ptr = std::make_shared<evbus::v1::DeliveryTask>(std::move(task));
  executor->Deliver(std::move(request), [this, entry, task_ptr, shared_target](
                                            targets::DeliveryResult r) {
    // An OAuth token was refused: forget it and try again with a new one.
    if ((r.http_status == 401 || r.http_status == 407) &&
        shared_target->http.has_value() &&
        shared_target->http->oauth.has_value() &&
        executors_.tokens != nullptr) {
      executors_.tokens->Invalidate(*shared_target->http->oauth);
      r.outcome = targets::Outcome::kRetryable;
    }
    Complete(entry, std::move(*task_ptr), shared_target.get(), std::move(r));
  });
}

void Dispatcher::RecordMetrics(const evbus::v1::DeliveryTask& task,
                               const ResolvedTarget& target,
                               const targets::DeliveryResult& result,
                               const RetryPlan& plan, absl::Time now) {
  common::MetricSink& sink = *options_.metric_sink;
  const std::string& bus = task.event_bus_name();
  bool final = result.outcome == targets::Outcome::kSuccess || !plan.retry;
  if (bus == "aws.lambda") {
    if (result.outcome != targets::Outcome::kSuccess && !plan.retry) {
      for (const common::MetricSink::Dimensions& dims :
           {common::MetricSink::Dimensions{{"FunctionName", task.rule_name()}},
            common::MetricSink::Dimensions{}}) {
        sink.Record("AWS/Lambda", "AsyncEventsDropped", dims, now, 1, "Count");
      }
    }
    return;
  }
  if (bus == "aws.sns" || bus == "aws.scheduler") return;
  common::MetricSink::Dimensions dims =
      common::RuleDimensions(bus, task.rule_name());
  // Retries are not invocations until the event succeeds or fails for good.
  if (final) sink.Record("AWS/Events", "Invocations", dims, now, 1, "Count");
  if (result.outcome != targets::Outcome::kSuccess && !plan.retry) {
    const bool dlq = ForwardsDeadLetter(task, target);
    sink.Record("AWS/Events", "DeadLetterInvocations", dims, now, 1, "Count");
    sink.Record("AWS/Events",
                dlq ? "InvocationsSentToDlq" : "FailedInvocations", dims, now,
                1, "Count");
  }
}

void Dispatcher::Complete(const QueueEntry& entry, evbus::v1::DeliveryTask task,
                          const ResolvedTarget* target,
                          targets::DeliveryResult result) {
  PendingOutcome outcome;
  outcome.entry = entry;
  absl::Time now = clock_.Now();
  if (result.interrupted) {
    // Cut short by the shutdown: not an attempt, neither counted nor
    // dead-lettered. Once the dispatcher stops, nothing is recorded: the
    // task stays in the store as it was and is delivered after the restart
    // (as after kill -9). Before that (the function pool stops first), it
    // is put back as it was, due in a second, so that the loop does not
    // spin on an executor that is stopping too.
    {
      absl::MutexLock lock(&mu_);
      --QueueForLocked(entry.target_key).in_flight;
      wake_ = true;
      if (stopping_) return;
    }
    task.set_due_ms(absl::ToUnixMillis(now + absl::Seconds(1)));
    outcome.requeued = EntryOf(task);
    outcome.requeued_value = task.SerializeAsString();
    absl::MutexLock lock(&mu_);
    if (!stopping_) outcomes_.push_back(std::move(outcome));
    return;
  }
  if (!result.expired) task.set_attempts(task.attempts() + 1);

  metrics::Counter invocations, failed, retries, dead_letters;
  RetryPlan plan;
  {
    absl::MutexLock lock(&mu_);
    TargetQueue& q = QueueForLocked(entry.target_key);
    // The call is over, so its concurrency slot is free now; the task stays
    // counted in depth_ (and out of `pending`) until its outcome is recorded.
    --q.in_flight;
    wake_ = true;
    invocations = q.invocations;
    failed = q.failed;
    retries = q.retries;
    dead_letters = q.dead_letters;
    if (result.expired) {
      plan.exhausted_condition = "MaximumEventAgeInSeconds";
    } else if (result.outcome == targets::Outcome::kRetryable &&
               !result.stop_retrying) {
      plan = PlanRetry(
          LimitsOf(target->target),
          task.async_invoke() ? options_.async_invoke_backoff
                              : options_.backoff,
          task.attempts(), absl::FromUnixMillis(task.ingest_time_ms()), now,
          result.retry_after, rng_, target->target.retry_delay_seconds());
    }
  }

  if (options_.metric_sink != nullptr)
    RecordMetrics(task, *target, result, plan, now);
  EVBUS_LOG(DEBUG) << "delivery " << task.event_bus_name() << "/"
                   << task.rule_name() << "/" << task.target_id() << " event "
                   << task.event_id() << " attempt " << task.attempts() << ": "
                   << (result.outcome == targets::Outcome::kSuccess
                           ? std::string("ok")
                           : absl::StrCat(result.error_code, " (",
                                          result.error_message, ")"))
                   << (result.outcome == targets::Outcome::kSuccess ? ""
                       : plan.retry ? absl::StrCat("; retry at ",
                                                   absl::FormatTime(plan.due))
                                    : std::string("; no more retries"));
  if (result.outcome == targets::Outcome::kSuccess) {
    invocations.Increment();
  } else {
    task.set_last_error_code(result.error_code);
    task.set_last_error_message(result.error_message);
    if (plan.retry) {
      retries.Increment();
      task.set_due_ms(absl::ToUnixMillis(plan.due));
      outcome.requeued = EntryOf(task);
      outcome.requeued_value = task.SerializeAsString();
    } else if (task.has_inline_target() ? !InlineTargetLive(task)
                                        : !RuleTargetOf(task).has_value()) {
      // Its rule or target was removed while the call ran: dropped, as a
      // queued task of a removed target is, not dead-lettered under a rule
      // that no longer exists (DeleteRule also deletes its dead letters).
      dropped_.Increment();
    } else {
      // As AWS/Events FailedInvocations (and the metric store, above): a
      // failure handed to the target's DeadLetterConfig counts as
      // InvocationsSentToDlq instead.
      const bool forwards = ForwardsDeadLetter(task, *target);
      if (!forwards) failed.Increment();
      dead_letters.Increment();
      evbus::v1::DeadLetter dl;
      dl.set_target_arn(target->target.arn());
      dl.set_error_code(result.error_code);
      dl.set_error_message(result.error_message);
      dl.set_exhausted_retry_condition(plan.exhausted_condition);
      dl.set_retry_attempts(std::max(0, task.attempts() - 1));
      dl.set_dead_lettered_ms(absl::ToUnixMillis(now));
      *dl.mutable_task() = task;
      outcome.dead_letter_key = storage::keys::DeadLetterKey(
          task.event_bus_name(), task.rule_name(), task.target_id(),
          static_cast<uint64_t>(dl.dead_lettered_ms()), task.task_id());
      outcome.dead_letter_value = dl.SerializeAsString();
      if (forwards) {
        outcome.forward = std::move(dl);
        outcome.forward_target = *target;
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      outcomes_.push_back(std::move(outcome));
      return;
    }
  }
  // The loop has stopped (or is about to record its last outcomes).
  std::vector<PendingOutcome> one;
  one.push_back(std::move(outcome));
  Record(std::move(one));
}

void Dispatcher::RecordGathered() {
  std::vector<PendingOutcome> outcomes;
  {
    absl::MutexLock lock(&mu_);
    outcomes.swap(outcomes_);
  }
  Record(std::move(outcomes));
}

void Dispatcher::Record(std::vector<PendingOutcome> outcomes) {
  if (outcomes.empty()) return;
  storage::WriteBatch batch;
  for (const PendingOutcome& o : outcomes) {
    batch.Delete(storage::Family::kQueue, o.entry.key);
    if (o.requeued.has_value()) {
      batch.Put(storage::Family::kQueue, o.requeued->key, o.requeued_value);
    }
    if (!o.dead_letter_key.empty()) {
      batch.Put(storage::Family::kDlq, o.dead_letter_key, o.dead_letter_value);
    }
  }
  // Not synced: losing this write in a crash only redelivers the tasks.
  absl::Status s = store_.Write(batch, /*sync=*/false);
  if (!s.ok()) EVBUS_LOG(ERROR) << "delivery outcomes not recorded: " << s;
  for (const PendingOutcome& o : outcomes) {
    if (s.ok() && o.forward.has_value()) {
      ForwardToDeadLetterTarget(*o.forward_target, *o.forward);
    }
  }
  absl::MutexLock lock(&mu_);
  for (PendingOutcome& o : outcomes) {
    // The stored task no longer refers to its event once its outcome is
    // written (a retry carries the envelope); after a failed write it still
    // does, and its event stays held.
    if (s.ok())
      UnholdLocked(QueueForLocked(o.entry.target_key), o.entry.due_ms);
    if (s.ok() && o.requeued.has_value()) {
      CacheLocked(o.requeued->key, o.requeued_value);
      IndexLocked(o.requeued->key);
    } else {
      --depth_;
    }
  }
  depth_gauge_.Set(static_cast<double>(depth_));
  wake_ = true;
}

bool Dispatcher::InlineTargetLive(const evbus::v1::DeliveryTask& task) const {
  return !options_.inline_target_live || options_.inline_target_live(task);
}

void Dispatcher::Finish(const QueueEntry& entry,
                        std::optional<QueueEntry> requeued) {
  absl::MutexLock lock(&mu_);
  TargetQueue& q = QueueForLocked(entry.target_key);
  --q.in_flight;
  if (requeued.has_value()) {
    IndexLocked(requeued->key);
  } else {
    --depth_;
  }
  depth_gauge_.Set(static_cast<double>(depth_));
  wake_ = true;
}

bool Dispatcher::ForwardsDeadLetter(const evbus::v1::DeliveryTask& task,
                                    const ResolvedTarget& target) {
  // Without an envelope (EVENT_NOT_FOUND) there is no event to forward; the
  // dead letter in the store says why.
  return !target.target.dead_letter_config().arn().empty() &&
         !task.envelope_json().empty();
}

void Dispatcher::ForwardToDeadLetterTarget(
    const ResolvedTarget& target, const evbus::v1::DeadLetter& dead_letter) {
  const std::string& arn = target.target.dead_letter_config().arn();
  absl::StatusOr<targets::TargetRef> ref =
      targets::ParseTargetArn(arn, "DeadLetterConfig");
  targets::Executor* executor = ref.ok() ? ExecutorFor(ref->kind) : nullptr;
  if (executor == nullptr) {
    dlq_failed_.Increment();
    return;
  }
  targets::DeliveryRequest request;
  request.url = ref->name;
  request.payload = dead_letter.task().envelope_json();
  request.timeout = options_.webhook_timeout;
  request.event_id = dead_letter.task().event_id();
  request.headers = {
      {"X-Evbus-Rule-Arn", target.rule_arn},
      {"X-Evbus-Target-Arn", target.target.arn()},
      {"X-Evbus-Error-Code", dead_letter.error_code()},
      {"X-Evbus-Error-Message", dead_letter.error_message().substr(0, 512)},
      {"X-Evbus-Exhausted-Retry-Condition",
       dead_letter.exhausted_retry_condition()},
      {"X-Evbus-Retry-Attempts", absl::StrCat(dead_letter.retry_attempts())},
  };
  for (auto& header : request.headers) {
    std::replace(header.second.begin(), header.second.end(), '\n', ' ');
    std::replace(header.second.begin(), header.second.end(), '\r', ' ');
  }
  std::string bus = dead_letter.task().event_bus_name();
  std::string rule = dead_letter.task().rule_name();
  executor->Deliver(
      std::move(request), [this, bus, rule](targets::DeliveryResult r) {
        bool sent = r.outcome == targets::Outcome::kSuccess;
        (sent ? dlq_sent_ : dlq_failed_).Increment();
        // A function's dead letter that could not be sent: AWS/Lambda
        // DeadLetterErrors.
        if (!sent && bus == "aws.lambda" && options_.metric_sink != nullptr) {
          for (const common::MetricSink::Dimensions& dims :
               {common::MetricSink::Dimensions{{"FunctionName", rule}},
                common::MetricSink::Dimensions{}}) {
            options_.metric_sink->Record("AWS/Lambda", "DeadLetterErrors", dims,
                                         clock_.Now(), 1, "Count");
          }
        }
      });
}

absl::StatusOr<DeadLetterPage> Dispatcher::ListDeadLetters(
    const std::string& bus, const std::string& rule,
    const std::string& target_id, size_t limit,
    const std::string& token) const {
  std::string prefix =
      target_id.empty() ? storage::keys::DeadLetterRulePrefix(bus, rule)
                        : storage::keys::DeadLetterPrefix(bus, rule, target_id);
  std::string begin = prefix;
  if (!token.empty()) {
    std::string after;
    if (!absl::WebSafeBase64Unescape(token, &after) ||
        after.compare(0, prefix.size(), prefix) != 0) {
      return absl::InvalidArgumentError(
          "ValidationException: The NextToken provided is invalid.");
    }
    after.push_back('\0');
    begin = after;
  }
  DeadLetterPage page;
  std::string last;
  bool more = false;
  absl::Status s = store_.Scan(
      storage::Family::kDlq, begin, storage::keys::PrefixEnd(prefix),
      [&](absl::string_view key, absl::string_view value) {
        if (page.dead_letters.size() >= limit) {
          more = true;
          return false;
        }
        evbus::v1::DeadLetter dl;
        if (dl.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          page.dead_letters.push_back(std::move(dl));
        }
        last = std::string(key);
        return true;
      });
  if (!s.ok()) return s;
  if (more) page.next_token = absl::WebSafeBase64Escape(last);
  return page;
}

absl::StatusOr<int> Dispatcher::Redrive(const std::string& bus,
                                        const std::string& rule,
                                        const std::string& target_id,
                                        size_t limit) {
  absl::StatusOr<DeadLetterPage> page =
      ListDeadLetters(bus, rule, target_id, limit, "");
  if (!page.ok()) return page.status();
  storage::WriteBatch batch;
  std::vector<QueueEntry> entries;
  int64_t now = NowMs(clock_);
  for (const evbus::v1::DeadLetter& dl : page->dead_letters) {
    const evbus::v1::DeliveryTask& old = dl.task();
    batch.Delete(
        storage::Family::kDlq,
        storage::keys::DeadLetterKey(
            old.event_bus_name(), old.rule_name(), old.target_id(),
            static_cast<uint64_t>(dl.dead_lettered_ms()), old.task_id()));
    evbus::v1::DeliveryTask task = old;
    task.set_task_id(common::NewUuidV4());
    task.set_attempts(0);
    task.set_due_ms(now);
    task.set_ingest_time_ms(now);  // a fresh event age for the redrive
    task.clear_last_error_code();
    task.clear_last_error_message();
    entries.push_back(AddTo(batch, task));
  }
  if (entries.empty()) return 0;
  absl::Status s = store_.Write(batch, /*sync=*/true);
  if (!s.ok()) return s;
  int n = static_cast<int>(entries.size());
  Enqueued(std::move(entries));
  return n;
}

}  // namespace evbus::delivery
