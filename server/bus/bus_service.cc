#include "server/bus/bus_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/bus/envelope.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/logging.h"
#include "server/storage/keys.h"
#include "server/targets/target_arn.h"

namespace evbus::bus {
namespace {

constexpr char kBusKind[] = "bus";
constexpr char kDefaultBus[] = "default";

std::string ArchiveNameOfRule(const std::string& rule_name) {
  return rule_name.substr(std::string_view(kArchiveRulePrefix).size());
}

int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }

// One delivery task per target of `rule`, due at `ingest_ms`, into `batch`.
// With an `event_key` (the event log record written in the same batch) the
// stored tasks refer to it instead of copying the envelope.
//
// With `second_hops` (the event came from another bus), bus targets are
// left out and counted there.
void AddTargetTasks(const evbus::v1::Rule& rule, const std::string& event_id,
                    const std::string& envelope, int64_t ingest_ms,
                    std::string_view event_key, storage::WriteBatch& batch,
                    std::vector<delivery::QueueEntry>& entries,
                    metrics::Counter* second_hops = nullptr) {
  for (const evbus::v1::Target& target : rule.targets()) {
    if (second_hops != nullptr) {
      absl::StatusOr<targets::TargetRef> ref =
          targets::ParseTargetArn(target.arn(), target.id());
      if (ref.ok() && ref->kind == targets::TargetKind::kBus) {
        second_hops->Increment();
        EVBUS_LOG(DEBUG) << "event " << event_id << " came from another bus: "
                         << "not forwarded to " << target.arn() << " by rule "
                         << rule.name();
        continue;
      }
    }
    evbus::v1::DeliveryTask task;
    task.set_task_id(common::NewUuidV4());
    task.set_event_bus_name(rule.event_bus_name());
    task.set_rule_name(rule.name());
    task.set_rule_arn(rule.arn());
    task.set_rule_incarnation(rule.incarnation());
    task.set_target_id(target.id());
    task.set_event_id(event_id);
    task.set_envelope_json(envelope);
    task.set_ingest_time_ms(ingest_ms);
    task.set_due_ms(ingest_ms);
    entries.push_back(event_key.empty()
                          ? delivery::Dispatcher::AddTo(batch, task)
                          : delivery::Dispatcher::AddReferringTo(
                                batch, std::move(task), event_key));
  }
}

}  // namespace

BusService::BusService(storage::Store& store, common::Clock& clock,
                       metrics::Registry& registry, BusOptions options,
                       RuleRegistry* rules, delivery::Dispatcher* dispatcher)
    : store_(store),
      rules_(rules),
      dispatcher_(dispatcher),
      event_log_(store),
      clock_(clock),
      registry_(registry),
      options_(std::move(options)),
      next_sequence_(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))),
      committer_(store) {
  constexpr char kRequests[] = "evbus_put_events_requests_total";
  constexpr char kRequestsHelp[] =
      "PutEvents requests by outcome: ok (acknowledged), rejected (whole "
      "request invalid), failed (store error).";
  requests_ok_ =
      registry_.GetCounter(kRequests, kRequestsHelp, {{"outcome", "ok"}});
  requests_rejected_ =
      registry_.GetCounter(kRequests, kRequestsHelp, {{"outcome", "rejected"}});
  second_hops_ = registry_.GetCounter(
      "evbus_bus_second_hops_total",
      "Bus targets left out for events that came from another bus (an event "
      "crosses at most one bus hop, as on EventBridge).");
  requests_failed_ =
      registry_.GetCounter(kRequests, kRequestsHelp, {{"outcome", "failed"}});
  entries_ok_ = registry_.GetCounter(
      "evbus_put_events_entries_total",
      "PutEvents entries by result: ok, or the EventBridge error code.",
      {{"result", "ok"}});
  unknown_bus_ = registry_.GetCounter(
      "evbus_put_events_unknown_bus_total",
      "Entries addressed to a bus that does not exist (acknowledged and "
      "dropped, as on AWS).");
  latency_ = registry_.GetHistogram(
      "evbus_put_events_latency_seconds",
      "PutEvents latency from request to acknowledgement (durable commit).",
      metrics::LatencyBuckets());
  buses_gauge_ =
      registry_.GetGauge("evbus_event_buses", "Event buses that exist.");
}

BusService::~BusService() { Stop(); }

absl::StatusOr<std::unique_ptr<BusService>> BusService::Create(
    storage::Store& store, common::Clock& clock, metrics::Registry& registry,
    BusOptions options, RuleRegistry* rules, delivery::Dispatcher* dispatcher) {
  std::unique_ptr<BusService> service(new BusService(
      store, clock, registry, std::move(options), rules, dispatcher));
  absl::Status s = service->Load();
  if (!s.ok()) return s;
  return service;
}

BusService::BusState BusService::MakeState(evbus::v1::EventBus bus) {
  BusState state;
  state.ingested = registry_.GetCounter(
      "evbus_events_ingested_total",
      "Events accepted by PutEvents and committed, per bus.",
      {{"bus", bus.name()}});
  state.matched = registry_.GetCounter(
      "evbus_matched_events_total",
      "Events that matched at least one rule, per bus (AWS/Events "
      "MatchedEvents).",
      {{"bus", bus.name()}});
  state.bus = std::move(bus);
  return state;
}

absl::Status BusService::Load() {
  std::vector<evbus::v1::EventBus> loaded;
  bool corrupt = false;
  std::string prefix = storage::keys::CatalogPrefix(kBusKind);
  std::string end = prefix;
  end.back() = '\x01';
  absl::Status s = store_.Scan(
      storage::Family::kCatalog, prefix, end,
      [&](absl::string_view, absl::string_view value) {
        evbus::v1::EventBus bus;
        if (!bus.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          corrupt = true;
          return false;
        }
        loaded.push_back(std::move(bus));
        return true;
      });
  if (!s.ok()) return s;
  if (corrupt) return absl::DataLossError("corrupt event bus record");

  absl::MutexLock lock(&mu_);
  for (evbus::v1::EventBus& bus : loaded) {
    std::string name = bus.name();
    buses_.emplace(name, MakeState(std::move(bus)));
  }
  if (buses_.count(kDefaultBus) == 0) {
    evbus::v1::EventBus bus;
    bus.set_name(kDefaultBus);
    bus.set_arn(BusArn(kDefaultBus));
    int64_t now = ToMillis(clock_.Now());
    bus.set_creation_time_ms(now);
    bus.set_last_modified_time_ms(now);
    storage::WriteBatch batch;
    batch.Put(storage::Family::kCatalog,
              storage::keys::CatalogKey(kBusKind, kDefaultBus),
              bus.SerializeAsString());
    absl::Status w = store_.Write(batch, /*sync=*/true);
    if (!w.ok()) return w;
    buses_.emplace(kDefaultBus, MakeState(std::move(bus)));
  }
  buses_gauge_.Set(static_cast<double>(buses_.size()));
  return absl::OkStatus();
}

std::string BusService::BusArn(const std::string& name) const {
  return absl::StrCat("arn:aws:events:", options_.region, ":", options_.account,
                      ":event-bus/", name);
}

void BusService::Start() {
  absl::MutexLock lock(&stop_mu_);
  if (trimmer_.joinable() || stopping_) return;
  trimmer_ = std::thread([this] { TrimLoop(); });
}

void BusService::Stop() {
  {
    absl::MutexLock lock(&stop_mu_);
    stopping_ = true;
  }
  if (trimmer_.joinable()) trimmer_.join();
}

void BusService::TrimLoop() {
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) {
        return stopping_;
      };
      stop_mu_.AwaitWithTimeout(absl::Condition(&stopping),
                                options_.trim_interval);
      if (stopping_) return;
    }
    absl::Status s = TrimEventLog();
    if (!s.ok()) EVBUS_LOG(WARNING) << "event log trim failed: " << s;
  }
}

BusService::EventLogSlot BusService::ReserveEventLogSlot(
    const std::string& bus, int64_t ingest_ms, const std::string& event_id) {
  EventLogSlot slot;
  if (options_.event_retention <= absl::ZeroDuration()) return slot;
  const uint64_t sequence = next_sequence_.fetch_add(1);
  slot.key = storage::keys::EventKey(bus, static_cast<uint64_t>(ingest_ms),
                                     sequence, event_id);
  slot.record.set_event_bus_name(bus);
  slot.record.set_event_id(event_id);
  slot.record.set_ingest_time_ms(ingest_ms);
  slot.record.set_sequence(sequence);
  return slot;
}

void BusService::AddToEventLog(storage::WriteBatch& batch, EventLogSlot slot,
                               std::string envelope) {
  if (slot.key.empty()) return;
  slot.record.set_envelope_json(std::move(envelope));
  storage::EventLog::AddTo(batch, slot.key, slot.record);
}

absl::Status BusService::TrimEventLog() {
  if (options_.event_retention <= absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  const int64_t cutoff = ToMillis(clock_.Now() - options_.event_retention);
  if (cutoff <= 0) return absl::OkStatus();
  // Once an hour (real time) the trimmed ranges are also compacted, so that
  // the disk keeps at most the retention plus an hour of events; every
  // minute would rewrite the table files that straddle the cutoff each
  // time.
  const bool compact =
      absl::Now() - absl::FromUnixMillis(last_compaction_ms_.load()) >=
      kCompactionInterval;
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, state] : buses_) names.push_back(name);
  }
  for (const std::string& name : names) {
    uint64_t bus_cutoff = static_cast<uint64_t>(cutoff);
    if (dispatcher_ != nullptr) {
      // Queued tasks may refer to this bus's events (AddReferringTo); such a
      // task is due at its event's receipt time until its event is read, so
      // nothing at or after the oldest of those due times may go.
      bus_cutoff = std::min(bus_cutoff, dispatcher_->OldestDueMs(name));
    }
    if (bus_cutoff == 0) continue;
    absl::Status s = event_log_.TrimBefore(name, bus_cutoff, compact);
    if (!s.ok()) return s;
  }
  if (compact) last_compaction_ms_.store(absl::ToUnixMillis(absl::Now()));
  return absl::OkStatus();
}

absl::StatusOr<PutEventsResult> BusService::PutEvents(
    const std::vector<common::EventEntry>& entries) {
  return Put(entries, options_.limits);
}

absl::Status BusService::Publish(std::vector<common::EventEntry> events) {
  RequestLimits limits = options_.limits;
  limits.allow_reserved_sources = true;
  absl::StatusOr<PutEventsResult> r = Put(events, limits);
  if (!r.ok()) return r.status();
  for (const PutEventsResultEntry& e : r->entries) {
    if (!e.error_code.empty()) {
      return common::ValidationError(
          absl::StrCat(e.error_code, ": ", e.error_message));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PutEventsResult> BusService::Put(
    const std::vector<common::EventEntry>& entries,
    const RequestLimits& limits) {
  absl::StatusOr<PreparedPut> prepared = Prepare(entries, limits);
  if (!prepared.ok()) return prepared.status();
  absl::Status written = absl::OkStatus();
  if (!prepared->batch.Empty()) {
    written = store_.Write(prepared->batch, /*sync=*/true);
  }
  return Finish(std::move(*prepared), written);
}

void BusService::PutEventsAsync(const std::vector<common::EventEntry>& entries,
                                PutEventsDone done) {
  absl::StatusOr<PreparedPut> prepared = Prepare(entries, options_.limits);
  if (!prepared.ok()) {
    std::move(done)(prepared.status());
    return;
  }
  if (prepared->batch.Empty()) {
    std::move(done)(Finish(std::move(*prepared), absl::OkStatus()));
    return;
  }
  storage::WriteBatch batch = std::move(prepared->batch);
  committer_.Commit(std::move(batch),
                    [this, p = std::move(*prepared),
                     done = std::move(done)](absl::Status written) mutable {
                      std::move(done)(Finish(std::move(p), written));
                    });
}

absl::StatusOr<BusService::PreparedPut> BusService::Prepare(
    const std::vector<common::EventEntry>& entries,
    const RequestLimits& limits) {
  PreparedPut p;
  p.start = clock_.Now();
  absl::Status request = ValidateRequest(entries, limits);
  if (!request.ok()) {
    requests_rejected_.Increment();
    return request;
  }
  // The store's own clock decides receipt time, not the caller's.
  const absl::Time received = clock_.Now();

  PutEventsResult& result = p.result;
  result.entries.resize(entries.size());
  p.ingested.reserve(entries.size());
  const bool tailing = tail_.HasSubscribers();
  for (size_t i = 0; i < entries.size(); ++i) {
    const common::EventEntry& entry = entries[i];
    PutEventsResultEntry& out = result.entries[i];
    std::string detail;
    std::optional<absl::Time> time;
    std::optional<EntryError> error =
        ValidateEntry(entry, limits, &detail, &time);
    if (error.has_value()) {
      out.error_code = std::move(error->code);
      out.error_message = std::move(error->message);
      ++result.failed_entry_count;
      continue;
    }
    out.event_id = common::NewUuidV4();
    std::string bus_name = kDefaultBus;
    if (entry.event_bus_name.has_value()) {
      // Already checked by ValidateRequest.
      bus_name = BusNameFromNameOrArn(*entry.event_bus_name).value_or("");
    }
    absl::ReaderMutexLock lock(&mu_);
    auto it = buses_.find(bus_name);
    if (it == buses_.end()) {
      ++p.unknown;
      continue;  // acknowledged, goes nowhere (spec §1.4)
    }
    p.ingested.push_back(it->second.ingested);
    EnvelopeFields fields;
    fields.id = out.event_id;
    fields.detail_type = *entry.detail_type;
    fields.source = *entry.source;
    fields.account = options_.account;
    fields.time = time.value_or(received);
    fields.region = options_.region;
    fields.resources = entry.resources;
    fields.detail_json = detail;
    std::string envelope = BuildEnvelope(fields);
    const int64_t ingest_ms = ToMillis(received);
    EventLogSlot slot = ReserveEventLogSlot(bus_name, ingest_ms, out.event_id);
    RouteLocked(bus_name, it->second, out.event_id, envelope, ingest_ms,
                absl::ToUnixSeconds(fields.time) * 1000, slot.key, p.batch,
                p.queued, /*only_rules=*/nullptr, /*built_here=*/true);
    if (tailing) p.tailed.emplace_back(bus_name, envelope);
    AddToEventLog(p.batch, std::move(slot), std::move(envelope));
  }
  return p;
}

absl::StatusOr<PutEventsResult> BusService::Finish(
    PreparedPut p, const absl::Status& written) {
  if (!written.ok()) {
    requests_failed_.Increment();
    EVBUS_LOG(ERROR) << "PutEvents commit failed: " << written;
    return absl::UnavailableError(absl::StrCat(
        "InternalFailure: events were not stored: ", written.message()));
  }
  if (dispatcher_ != nullptr) dispatcher_->Enqueued(std::move(p.queued));
  for (const auto& [bus, envelope] : p.tailed) tail_.Publish(bus, envelope);
  for (const metrics::Counter& c : p.ingested) c.Increment();
  entries_ok_.Increment(static_cast<double>(p.ingested.size() + p.unknown));
  if (p.unknown > 0) unknown_bus_.Increment(static_cast<double>(p.unknown));
  for (const PutEventsResultEntry& e : p.result.entries) {
    if (!e.error_code.empty()) {
      registry_
          .GetCounter(
              "evbus_put_events_entries_total",
              "PutEvents entries by result: ok, or the EventBridge error "
              "code.",
              {{"result", e.error_code}})
          .Increment();
    }
  }
  requests_ok_.Increment();
  latency_.Observe(absl::ToDoubleSeconds(clock_.Now() - p.start));
  return std::move(p.result);
}

void BusService::RouteLocked(const std::string& bus, const BusState& state,
                             const std::string& event_id,
                             const std::string& envelope, int64_t ingest_ms,
                             int64_t event_time_ms, std::string_view event_key,
                             storage::WriteBatch& batch,
                             std::vector<delivery::QueueEntry>& entries,
                             const std::set<std::string>* only_rules,
                             bool built_here, bool from_bus) {
  if (rules_ == nullptr) return;
  std::shared_ptr<const BusRules> snapshot = rules_->Snapshot(bus);
  if (snapshot->matcher == nullptr || snapshot->matcher->rule_count() == 0) {
    return;
  }
  // The envelope is valid JSON (built here from a validated Detail, or
  // parsed before it got here), so the literal prefilter may rule it out
  // before it is flattened. (Were it not, the parse below would fail and
  // the event would go nowhere either way.)
  if (!snapshot->matcher->MayMatch(envelope)) {
    EVBUS_LOG(DEBUG) << "event " << event_id << " on bus " << bus
                     << " matched no rule";
    return;
  }
  // One parser of each kind per thread: their buffers are reused from
  // event to event. An envelope built here from a PutEvents entry is
  // exactly what the trusted parse requires (valid JSON, its Detail's
  // numbers checked and re-serialised), so values no rule reads are skipped
  // unchecked. Envelopes from elsewhere (another bus's target, a replay)
  // were only parsed by nlohmann, which lets through numbers PutEvents
  // refuses (integers beyond 64 bits): those keep the checking parse.
  thread_local pattern::FlatEventParser trusted_parser(
      pattern::FlatEventParser::Options{.trusted = true});
  thread_local pattern::FlatEventParser checking_parser;
  thread_local pattern::FlatEvent flat;
  pattern::FlatEventParser& parser =
      built_here ? trusted_parser : checking_parser;
  absl::Status parsed =
      parser.Parse(envelope, &snapshot->matcher->path_filter(), &flat);
  if (!parsed.ok()) {
    EVBUS_LOG(ERROR) << "cannot flatten event " << event_id << ": " << parsed;
    return;
  }
  std::vector<uint32_t> matched;
  snapshot->matcher->Match(flat, &matched);
  if (matched.empty()) {
    EVBUS_LOG(DEBUG) << "event " << event_id << " on bus " << bus
                     << " matched no rule";
    return;
  }
  state.matched.Increment();
  absl::Time now = clock_.Now();
  if (options_.metric_sink != nullptr) {
    options_.metric_sink->Record(
        "AWS/Events", "MatchedEvents",
        bus == "default"
            ? common::MetricSink::Dimensions{}
            : common::MetricSink::Dimensions{{"EventBusName", bus}},
        now, 1, "Count");
  }
  for (uint32_t id : matched) {
    if (id >= snapshot->by_id.size() || snapshot->by_id[id] == nullptr) {
      continue;
    }
    const evbus::v1::Rule& rule = *snapshot->by_id[id];
    if (only_rules != nullptr && !only_rules->empty() &&
        only_rules->count(rule.name()) == 0) {
      continue;
    }
    TriggeredCounter(bus, rule.name()).Increment();
    EVBUS_LOG(DEBUG) << "event " << event_id << " on bus " << bus
                     << " matched rule " << rule.name() << " ("
                     << rule.targets_size() << " targets)";
    if (options_.metric_sink != nullptr) {
      options_.metric_sink->Record("AWS/Events", "TriggeredRules",
                                   common::RuleDimensions(bus, rule.name()),
                                   now, 1, "Count");
    }
    if (rule.managed_by() == kArchiveManager) {
      const std::string archive = ArchiveNameOfRule(rule.name());
      const auto time_ms =
          static_cast<uint64_t>(std::max<int64_t>(0, event_time_ms));
      batch.Put(storage::Family::kArchive,
                storage::keys::ArchiveKey(archive, time_ms, event_id),
                envelope);
      // When it arrived: RetentionDays counts from then, not from the
      // event's own time (which a sender may set years back).
      std::string arrival;
      storage::keys::AppendBigEndian64(
          &arrival, static_cast<uint64_t>(std::max<int64_t>(0, ingest_ms)));
      batch.Put(storage::Family::kArchive,
                storage::keys::ArchiveArrivalKey(archive, time_ms, event_id),
                arrival);
      continue;
    }
    if (dispatcher_ == nullptr) continue;
    AddTargetTasks(rule, event_id, envelope, ingest_ms, event_key, batch,
                   entries, from_bus ? &second_hops_ : nullptr);
  }
}

metrics::Counter BusService::TriggeredCounter(const std::string& bus,
                                              const std::string& rule) {
  std::string key = absl::StrCat(bus, "\n", rule);
  absl::MutexLock lock(&triggered_mu_);
  auto it = triggered_.find(key);
  if (it == triggered_.end()) {
    it = triggered_
             .emplace(key, registry_.GetCounter(
                               "evbus_triggered_rules_total",
                               "Times a rule matched an event (AWS/Events "
                               "TriggeredRules).",
                               {{"bus", bus}, {"rule", rule}}))
             .first;
  }
  return it->second;
}

absl::StatusOr<std::string> BusService::ResolveBus(
    const std::string& name_or_arn) const {
  std::string name =
      name_or_arn.empty()
          ? std::string(kDefaultBus)
          : BusNameFromNameOrArn(name_or_arn).value_or(name_or_arn);
  absl::ReaderMutexLock lock(&mu_);
  if (buses_.count(name) == 0) {
    return common::ResourceNotFound(
        absl::StrCat("Event bus ", name, " does not exist."));
  }
  return name;
}

absl::Status BusService::PublishEnvelope(const std::string& bus,
                                         const std::string& envelope_json,
                                         bool from_bus) {
  absl::StatusOr<common::Json> doc = common::ParseJson(envelope_json);
  if (!doc.ok() || !doc->is_object() || !doc->contains("id")) {
    return absl::InvalidArgumentError("not an event envelope");
  }
  std::string event_id = (*doc)["id"].is_string()
                             ? (*doc)["id"].get<std::string>()
                             : common::NewUuidV4();
  int64_t now = ToMillis(clock_.Now());
  EventLogSlot slot;
  storage::WriteBatch batch;
  std::vector<delivery::QueueEntry> queued;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = buses_.find(bus);
    if (it == buses_.end()) {
      return absl::NotFoundError(
          absl::StrCat("Event bus ", bus, " does not exist."));
    }
    slot = ReserveEventLogSlot(bus, now, event_id);
    int64_t event_time_ms = now;
    if (doc->contains("time") && (*doc)["time"].is_string()) {
      std::optional<absl::Time> t =
          ParseEventTime((*doc)["time"].get<std::string>());
      if (t.has_value()) event_time_ms = ToMillis(*t);
    }
    RouteLocked(bus, it->second, event_id, envelope_json, now, event_time_ms,
                slot.key, batch, queued, /*only_rules=*/nullptr,
                /*built_here=*/false, from_bus);
    it->second.ingested.Increment();
  }
  AddToEventLog(batch, std::move(slot), envelope_json);
  absl::Status committed = CommitRouted(batch, std::move(queued));
  if (!committed.ok()) return committed;
  if (tail_.HasSubscribers()) tail_.Publish(bus, envelope_json);
  return absl::OkStatus();
}

std::vector<delivery::QueueEntry> BusService::AddRuleTick(
    const evbus::v1::Rule& rule, absl::Time when, storage::WriteBatch& batch) {
  std::vector<delivery::QueueEntry> entries;
  common::Json detail = common::Json::object();
  EnvelopeFields fields;
  fields.id = common::NewUuidV4();
  fields.detail_type = "Scheduled Event";
  fields.source = "aws.events";
  fields.account = options_.account;
  fields.time = when;
  fields.region = options_.region;
  fields.resources = {rule.arn()};
  fields.detail = &detail;
  std::string envelope = BuildEnvelope(fields);
  int64_t now = ToMillis(clock_.Now());
  TriggeredCounter(rule.event_bus_name(), rule.name()).Increment();
  if (options_.metric_sink != nullptr) {
    options_.metric_sink->Record(
        "AWS/Events", "TriggeredRules",
        common::RuleDimensions(rule.event_bus_name(), rule.name()), when, 1,
        "Count");
  }
  AddTargetTasks(rule, fields.id, envelope, now, /*event_key=*/{}, batch,
                 entries);
  return entries;
}

absl::Status BusService::PutReplayed(const std::string& bus,
                                     const std::vector<ReplayedEvent>& events,
                                     const std::set<std::string>& only_rules) {
  int64_t now = ToMillis(clock_.Now());
  storage::WriteBatch batch;
  std::vector<delivery::QueueEntry> queued;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = buses_.find(bus);
    if (it == buses_.end()) {
      return common::ResourceNotFound(
          absl::StrCat("Event bus ", bus, " does not exist."));
    }
    for (const ReplayedEvent& e : events) {
      RouteLocked(bus, it->second, e.event_id, e.envelope_json, now,
                  e.event_time_ms, /*event_key=*/{}, batch, queued,
                  &only_rules);
    }
  }
  return CommitRouted(batch, std::move(queued));
}

absl::Status BusService::CommitRouted(
    const storage::WriteBatch& batch,
    std::vector<delivery::QueueEntry> queued) {
  if (batch.Empty()) return absl::OkStatus();
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  if (dispatcher_ != nullptr) dispatcher_->Enqueued(std::move(queued));
  return absl::OkStatus();
}

absl::StatusOr<evbus::v1::EventBus> BusService::CreateEventBus(
    const std::string& name, const std::string& description) {
  absl::Status valid = ValidateBusName(name, "name");
  if (!valid.ok()) return valid;
  if (description.size() > 512) {
    return common::ConstraintViolation({common::ConstraintClause(
        description, "description", "have length less than or equal to 512")});
  }
  if (absl::StartsWith(name, "aws.")) {
    return common::ValidationError(
        absl::StrCat("Event bus name must not start with 'aws.': ", name));
  }
  absl::MutexLock lock(&mu_);
  if (buses_.count(name) > 0) {
    return common::ResourceAlreadyExists(
        absl::StrCat("Event bus ", name, " already exists."));
  }
  if (buses_.size() >= options_.max_buses + 1) {
    return common::LimitExceeded(
        "The requested resource exceeds the maximum number allowed.");
  }
  evbus::v1::EventBus bus;
  bus.set_name(name);
  bus.set_arn(BusArn(name));
  bus.set_description(description);
  int64_t now = ToMillis(clock_.Now());
  bus.set_creation_time_ms(now);
  bus.set_last_modified_time_ms(now);
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kBusKind, name), bus.SerializeAsString());
  // A new resource starts without tags, whatever a tag call racing an
  // earlier one's delete left (every create batch does this).
  batch.Delete(storage::Family::kCatalog, storage::keys::TagKey(bus.arn()));
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  buses_.emplace(name, MakeState(bus));
  buses_gauge_.Set(static_cast<double>(buses_.size()));
  return bus;
}

absl::StatusOr<evbus::v1::EventBus> BusService::UpdateEventBus(
    const std::string& name_or_arn, const std::string& description) {
  if (description.size() > 512) {
    return common::ConstraintViolation({common::ConstraintClause(
        description, "description", "have length less than or equal to 512")});
  }
  std::string name =
      name_or_arn.empty()
          ? std::string(kDefaultBus)
          : BusNameFromNameOrArn(name_or_arn).value_or(name_or_arn);
  absl::MutexLock lock(&mu_);
  auto it = buses_.find(name);
  if (it == buses_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Event bus ", name, " does not exist."));
  }
  evbus::v1::EventBus bus = it->second.bus;
  bus.set_description(description);
  bus.set_last_modified_time_ms(ToMillis(clock_.Now()));
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kBusKind, name), bus.SerializeAsString());
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  it->second.bus = bus;
  return bus;
}

absl::StatusOr<evbus::v1::EventBus> BusService::DescribeEventBus(
    const std::string& name_or_arn) const {
  std::string name =
      name_or_arn.empty()
          ? std::string(kDefaultBus)
          : BusNameFromNameOrArn(name_or_arn).value_or(name_or_arn);
  absl::ReaderMutexLock lock(&mu_);
  auto it = buses_.find(name);
  if (it == buses_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Event bus ", name, " does not exist."));
  }
  return it->second.bus;
}

absl::StatusOr<ListBusesResult> BusService::ListEventBuses(
    const std::string& prefix, int limit, const std::string& token) const {
  if (limit < 0 || limit > 100) {
    return common::ConstraintViolation({common::ConstraintClause(
        absl::StrCat(limit), "limit",
        limit < 0 ? "have value greater than or equal to 1"
                  : "have value less than or equal to 100")});
  }
  size_t max = limit == 0 ? 100 : static_cast<size_t>(limit);
  std::string after;
  if (!token.empty() && !absl::WebSafeBase64Unescape(token, &after)) {
    return common::ValidationError("The NextToken provided is invalid.");
  }
  ListBusesResult result;
  absl::ReaderMutexLock lock(&mu_);
  auto it = token.empty() ? buses_.begin() : buses_.upper_bound(after);
  for (; it != buses_.end(); ++it) {
    if (!absl::StartsWith(it->first, prefix)) continue;
    if (result.buses.size() == max) {
      result.next_token = absl::WebSafeBase64Escape(result.buses.back().name());
      break;
    }
    result.buses.push_back(it->second.bus);
  }
  return result;
}

absl::Status BusService::DeleteEventBus(const std::string& name_or_arn) {
  std::string name = BusNameFromNameOrArn(name_or_arn).value_or(name_or_arn);
  if (name == kDefaultBus) {
    return common::ValidationError("Cannot delete event bus default.");
  }
  absl::MutexLock lock(&mu_);
  if (buses_.count(name) == 0) {
    return common::ResourceNotFound(
        absl::StrCat("Event bus ", name, " does not exist."));
  }
  storage::WriteBatch batch;
  batch.Delete(storage::Family::kCatalog,
               storage::keys::CatalogKey(kBusKind, name));
  batch.Delete(storage::Family::kCatalog,
               storage::keys::TagKey(buses_.at(name).bus.arn()));
  storage::EventLog::DeleteBusTo(batch, name);
  if (rules_ != nullptr) rules_->DeleteBusRulesTo(batch, name);
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  if (rules_ != nullptr) rules_->ForgetBus(name);
  buses_.erase(name);
  buses_gauge_.Set(static_cast<double>(buses_.size()));
  return absl::OkStatus();
}

absl::StatusOr<storage::EventLog::Page> BusService::ListEvents(
    const std::string& bus_name_or_arn,
    storage::EventLog::ListOptions options) const {
  std::string name =
      bus_name_or_arn.empty()
          ? std::string(kDefaultBus)
          : BusNameFromNameOrArn(bus_name_or_arn).value_or(bus_name_or_arn);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (buses_.count(name) == 0) {
      return common::ResourceNotFound(
          absl::StrCat("Event bus ", name, " does not exist."));
    }
  }
  options.bus = name;
  absl::StatusOr<storage::EventLog::Page> page = event_log_.List(options);
  if (!page.ok() &&
      page.status().code() == absl::StatusCode::kInvalidArgument) {
    return common::ValidationError(page.status().message());
  }
  return page;
}

}  // namespace evbus::bus
