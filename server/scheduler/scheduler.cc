#include "server/scheduler/scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/storage/keys.h"
#include "server/targets/target_arn.h"

namespace evbus::scheduler {
namespace {

constexpr char kScheduleKind[] = "schedule";
constexpr char kGroupKind[] = "schedule-group";
constexpr char kDefaultGroup[] = "default";

std::string RuleId(const std::string& rule) {
  return storage::keys::CatalogKey("rule", rule);
}
std::string ScheduleId(const std::string& group, const std::string& name) {
  return storage::keys::CatalogKey(kScheduleKind,
                                   storage::keys::RuleName(group, name));
}

// Schedule and group names: 1–64 characters of ^[0-9a-zA-Z-_.]+$. As AWS's
// model validation does, the length is checked before the pattern.
absl::Status CheckName(absl::string_view name) {
  absl::string_view rule;
  if (name.empty()) {
    rule = "have length greater than or equal to 1";
  } else if (name.size() > 64) {
    rule = "have length less than or equal to 64";
  } else {
    for (char c : name) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
          c != '_' && c != '.') {
        rule = "satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$";
        break;
      }
    }
  }
  if (rule.empty()) return absl::OkStatus();
  return common::ValidationError(
      absl::StrCat("1 validation error detected: ",
                   common::ConstraintClause(name, "name", rule)));
}

absl::Status Conflict(absl::string_view message) {
  return common::AwsError(absl::StatusCode::kAlreadyExists, "ConflictException",
                          message);
}

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

}  // namespace

Scheduler::Scheduler(storage::Store& store, common::Clock& clock,
                     metrics::Registry& registry, RuleTickSink& rule_ticks,
                     delivery::Dispatcher* dispatcher, SchedulerOptions options)
    : store_(store),
      clock_(clock),
      registry_(registry),
      rule_ticks_(rule_ticks),
      dispatcher_(dispatcher),
      options_(std::move(options)) {
  ticks_ = registry_.GetCounter("evbus_schedule_ticks_total",
                                "Schedule ticks fired (rules and Scheduler).");
  active_ = registry_.GetGauge("evbus_schedules_active",
                               "Schedules with a next tick pending.");
}

Scheduler::~Scheduler() { Stop(); }

std::string Scheduler::ScheduleArn(const std::string& group,
                                   const std::string& name) const {
  return absl::StrCat("arn:aws:scheduler:", options_.region, ":",
                      options_.account, ":schedule/", group, "/", name);
}

std::string Scheduler::GroupArn(const std::string& group) const {
  return absl::StrCat("arn:aws:scheduler:", options_.region, ":",
                      options_.account, ":schedule-group/", group);
}

absl::Status Scheduler::Start() {
  std::vector<evbus::v1::Schedule> schedules;
  std::vector<evbus::v1::ScheduleGroup> groups;
  std::map<std::string, evbus::v1::FireState> states;
  for (const char* kind : {kScheduleKind, kGroupKind}) {
    std::string prefix = storage::keys::CatalogPrefix(kind);
    bool is_schedule = std::string_view(kind) == kScheduleKind;
    absl::Status s = store_.Scan(
        storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
        [&](absl::string_view, absl::string_view v) {
          if (is_schedule) {
            evbus::v1::Schedule x;
            if (x.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
              schedules.push_back(std::move(x));
            }
          } else {
            evbus::v1::ScheduleGroup g;
            if (g.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
              groups.push_back(std::move(g));
            }
          }
          return true;
        });
    if (!s.ok()) return s;
  }
  absl::Status s = store_.Scan(
      storage::Family::kSched, "", "",
      [&](absl::string_view k, absl::string_view v) {
        evbus::v1::FireState f;
        if (f.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          states.emplace(std::string(k), std::move(f));
        }
        return true;
      });
  if (!s.ok()) return s;

  absl::MutexLock lock(&mu_);
  for (auto& [id, st] : states) fire_state_[id] = st;
  for (auto& g : groups) groups_[g.name()] = g;
  if (groups_.count(kDefaultGroup) == 0) {
    evbus::v1::ScheduleGroup g;
    g.set_name(kDefaultGroup);
    g.set_arn(GroupArn(kDefaultGroup));
    g.set_state("ACTIVE");
    g.set_creation_date_ms(Ms(clock_.Now()));
    g.set_last_modification_date_ms(g.creation_date_ms());
    groups_[kDefaultGroup] = g;
  }
  int64_t now = Ms(clock_.Now());
  for (auto& sc : schedules) {
    absl::StatusOr<ScheduleExpression> expr =
        ScheduleExpression::Parse(sc.schedule_expression(), Dialect::kScheduler,
                                  sc.schedule_expression_timezone().empty()
                                      ? "UTC"
                                      : sc.schedule_expression_timezone());
    if (!expr.ok()) {
      EVBUS_LOG(WARNING) << "schedule " << sc.name() << ": " << expr.status();
      continue;
    }
    Entry e;
    e.id = ScheduleId(sc.group_name(), sc.name());
    e.schedule = sc;
    e.expression = *std::move(expr);
    e.anchor = absl::FromUnixMillis(
        sc.start_date_ms() > 0 ? sc.start_date_ms() : sc.creation_date_ms());
    auto [it, inserted] = entries_.emplace(e.id, std::move(e));
    CatchUpLocked(it->second, now);
  }
  // Rules registered before Start caught up against no state; redo them.
  for (auto& [id, e] : entries_) {
    if (e.is_rule) {
      UnindexLocked(e);
      CatchUpLocked(e, now);
    }
  }
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Poke() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void Scheduler::IndexLocked(Entry& e) {
  if (e.next_due_ms > 0) due_.emplace(e.next_due_ms, e.id);
  active_.Set(static_cast<double>(due_.size()));
}

void Scheduler::UnindexLocked(const Entry& e) {
  due_.erase({e.next_due_ms, e.id});
  active_.Set(static_cast<double>(due_.size()));
}

void Scheduler::ScheduleNextLocked(Entry& e, int64_t after_ms) {
  UnindexLocked(e);
  e.next_scheduled_ms = 0;
  e.next_due_ms = 0;
  if (!e.expression.has_value()) return;
  bool enabled = e.is_rule ? e.rule.state() != "DISABLED"
                           : e.schedule.state() != "DISABLED";
  if (!enabled) return;
  absl::Time after = absl::FromUnixMillis(after_ms);
  if (!e.is_rule && e.schedule.start_date_ms() > 0 &&
      e.expression->kind() != ExpressionKind::kAt) {
    after =
        std::max(after, absl::FromUnixMillis(e.schedule.start_date_ms() - 1));
  }
  std::optional<absl::Time> next = e.expression->NextFireAfter(after, e.anchor);
  if (!next.has_value()) return;
  // EndDate is "the date before which the schedule can invoke its target"
  // (the API reference): a tick at EndDate itself does not run.
  if (!e.is_rule && e.schedule.end_date_ms() > 0 &&
      e.expression->kind() != ExpressionKind::kAt &&
      Ms(*next) >= e.schedule.end_date_ms()) {
    return;
  }
  e.next_scheduled_ms = Ms(*next);
  e.next_due_ms = e.next_scheduled_ms;
  if (!e.is_rule && e.schedule.flexible_time_window().mode() == "FLEXIBLE") {
    int64_t window =
        int64_t{e.schedule.flexible_time_window().maximum_window_in_minutes()} *
        60000;
    if (window > 0) {
      e.next_due_ms += absl::Uniform<int64_t>(rng_, 0, window);
    }
  }
  IndexLocked(e);
}

void Scheduler::CatchUpLocked(Entry& e, int64_t now_ms) {
  auto st = fire_state_.find(e.id);
  if (st == fire_state_.end() || st->second.next_fire_ms() == 0) {
    // Never fired: the next tick after now (or after the last one fired).
    int64_t from = st == fire_state_.end() ? now_ms : st->second.last_fire_ms();
    ScheduleNextLocked(e, std::max(from, now_ms));
    return;
  }
  e.last_fire_ms = st->second.last_fire_ms();
  int64_t next = st->second.next_fire_ms();
  if (next > now_ms) {
    UnindexLocked(e);
    e.next_scheduled_ms = next;
    e.next_due_ms = next;
    IndexLocked(e);
    return;
  }
  // Ticks were missed while evbusd was down.
  switch (options_.missed_ticks) {
    case MissedTicks::kNone:
      ScheduleNextLocked(e, now_ms);
      return;
    case MissedTicks::kAll: {
      // Fire from the first missed tick; the loop catches up in order, and
      // ScheduleNextLocked after each fire walks forward. Bound the backlog.
      int64_t first = next;
      int skipped = 0;
      // Count missed ticks; skip the oldest beyond the bound.
      std::vector<int64_t> missed;
      absl::Time t = absl::FromUnixMillis(next - 1);
      for (int i = 0; i < 100000 && e.expression.has_value(); ++i) {
        std::optional<absl::Time> n = e.expression->NextFireAfter(t, e.anchor);
        if (!n.has_value() || Ms(*n) > now_ms) break;
        missed.push_back(Ms(*n));
        t = *n;
      }
      if (static_cast<int>(missed.size()) > options_.max_missed_ticks) {
        skipped = static_cast<int>(missed.size()) - options_.max_missed_ticks;
        first = missed[static_cast<size_t>(skipped)];
      }
      UnindexLocked(e);
      e.next_scheduled_ms = first;
      e.next_due_ms = first;
      IndexLocked(e);
      return;
    }
    case MissedTicks::kLatest: {
      int64_t latest = next;
      absl::Time t = absl::FromUnixMillis(next);
      for (int i = 0; i < 1000000 && e.expression.has_value(); ++i) {
        std::optional<absl::Time> n = e.expression->NextFireAfter(t, e.anchor);
        if (!n.has_value() || Ms(*n) > now_ms) break;
        latest = Ms(*n);
        t = *n;
      }
      UnindexLocked(e);
      e.next_scheduled_ms = latest;
      e.next_due_ms = latest;
      IndexLocked(e);
      return;
    }
  }
}

void Scheduler::SyncRule(const evbus::v1::Rule& rule, bool deleted) {
  absl::MutexLock lock(&mu_);
  std::string id = RuleId(rule.name());
  auto it = entries_.find(id);
  bool wanted = !deleted && !rule.schedule_expression().empty() &&
                rule.event_bus_name() == "default";
  if (!wanted) {
    if (it != entries_.end()) {
      UnindexLocked(it->second);
      entries_.erase(it);
    }
    return;
  }
  absl::StatusOr<ScheduleExpression> expr = ScheduleExpression::Parse(
      rule.schedule_expression(), Dialect::kRule, "UTC");
  if (!expr.ok()) {
    EVBUS_LOG(WARNING) << "rule " << rule.name() << ": " << expr.status();
    return;
  }
  bool same = it != entries_.end() && it->second.rule.schedule_expression() ==
                                          rule.schedule_expression();
  if (it == entries_.end()) {
    Entry e;
    e.id = id;
    e.is_rule = true;
    it = entries_.emplace(id, std::move(e)).first;
  }
  Entry& e = it->second;
  std::string old_state = e.rule.state();
  e.rule = rule;
  e.expression = *std::move(expr);
  e.anchor = absl::FromUnixMillis(rule.creation_time_ms());
  int64_t now = Ms(clock_.Now());
  if (!started_) return;  // Start() catches up against the stored state
  if (same && old_state == rule.state() && e.next_due_ms > 0) return;
  ScheduleNextLocked(e, now);
  wake_ = true;
}

bool Scheduler::WaitCaughtUp(absl::Time until, absl::Duration timeout) {
  const int64_t until_ms = Ms(until);
  absl::MutexLock lock(&mu_);
  auto caught_up = [this, until_ms]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || due_.empty() || due_.begin()->first > until_ms;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&caught_up), timeout) &&
         !stopping_;
}

void Scheduler::Loop() {
  while (true) {
    std::vector<std::string> ready;
    absl::Duration sleep = options_.idle_poll;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      wake_ = false;
      int64_t now = Ms(clock_.Now());
      for (auto it = due_.begin(); it != due_.end() && ready.size() < 256;
           ++it) {
        if (it->first > now) {
          sleep = std::min(sleep, absl::Milliseconds(it->first - now));
          break;
        }
        // Being updated or deleted: ReleaseWriteLocked wakes this loop.
        if (writing_.count(it->second) > 0) continue;
        ready.push_back(it->second);
      }
    }
    if (!ready.empty()) {
      FireDue(ready);
      continue;
    }
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return wake_ || stopping_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&woken),
                         std::max(sleep, absl::Milliseconds(1)));
  }
}

void Scheduler::AddScheduleTickLocked(const Entry& e, absl::Time when,
                                      storage::WriteBatch& batch,
                                      std::vector<delivery::QueueEntry>& out) {
  const evbus::v1::Schedule& s = e.schedule;
  evbus::v1::DeliveryTask task;
  task.set_task_id(common::NewUuidV4());
  task.set_event_bus_name(kSchedulerBus);
  task.set_rule_name(absl::StrCat(s.group_name(), "/", s.name()));
  task.set_rule_arn(s.arn());
  task.set_target_id("target");
  task.set_event_id(task.task_id());
  int64_t now = Ms(clock_.Now());
  task.set_ingest_time_ms(now);
  task.set_due_ms(now);
  const evbus::v1::ScheduleTarget& t = s.target();
  evbus::v1::Target* target = task.mutable_inline_target();
  target->set_id("target");
  target->set_arn(t.arn());
  *target->mutable_retry_policy() = t.retry_policy();
  *target->mutable_dead_letter_config() = t.dead_letter_config();
  if (t.has_eventbridge_parameters()) {
    // PutEvents-style: an event envelope onto the target bus.
    common::Json detail = common::Json::object();
    if (!t.input().empty()) {
      absl::StatusOr<common::Json> parsed = common::ParseJson(t.input());
      if (parsed.ok() && parsed->is_object()) detail = *std::move(parsed);
    }
    common::Json env = common::Json::object();
    env["version"] = "0";
    env["id"] = task.event_id();
    env["detail-type"] = t.eventbridge_parameters().detail_type();
    env["source"] = t.eventbridge_parameters().source();
    env["account"] = options_.account;
    env["time"] =
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", when, absl::UTCTimeZone());
    env["region"] = options_.region;
    env["resources"] = common::Json::array({s.arn()});
    env["detail"] = detail;
    task.set_envelope_json(common::DumpJson(env));
  } else {
    task.set_envelope_json(t.input().empty() ? "{}" : t.input());
  }
  out.push_back(delivery::Dispatcher::AddTo(batch, task));
}

void Scheduler::FireDue(const std::vector<std::string>& ids) {
  storage::WriteBatch batch;
  std::vector<delivery::QueueEntry> entries;
  {
    absl::MutexLock lock(&mu_);
    // What each fired tick changed, to record on success or undo on failure.
    struct Fired {
      std::string id;
      int64_t scheduled = 0;
      int64_t previous_last_fire_ms = 0;
      bool delete_after = false;
      evbus::v1::FireState state;
    };
    std::vector<Fired> fired;
    const int64_t now = Ms(clock_.Now());
    for (const std::string& id : ids) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      Entry& e = it->second;
      if (e.next_due_ms == 0 || e.next_due_ms > now) continue;
      // Being updated or deleted: fired, if still due, once that is done.
      if (writing_.count(id) > 0) continue;
      Fired f;
      f.id = id;
      f.scheduled = e.next_scheduled_ms;
      f.previous_last_fire_ms = e.last_fire_ms;
      const absl::Time when = absl::FromUnixMillis(f.scheduled);
      if (e.is_rule) {
        std::vector<delivery::QueueEntry> tick =
            rule_ticks_.AddRuleTick(e.rule, when, batch);
        entries.insert(entries.end(), std::make_move_iterator(tick.begin()),
                       std::make_move_iterator(tick.end()));
      } else {
        AddScheduleTickLocked(e, when, batch, entries);
      }
      EVBUS_LOG(DEBUG) << (e.is_rule ? absl::StrCat("rule ", e.rule.name())
                                     : absl::StrCat("schedule ",
                                                    e.schedule.group_name(),
                                                    "/", e.schedule.name()))
                       << " fires for " << absl::FormatTime(when);
      e.last_fire_ms = f.scheduled;
      ScheduleNextLocked(e, f.scheduled);
      f.state.set_last_fire_ms(f.scheduled);
      f.state.set_next_fire_ms(e.next_scheduled_ms);
      f.delete_after = !e.is_rule && e.next_scheduled_ms == 0 &&
                       e.schedule.action_after_completion() == "DELETE";
      if (f.delete_after) {
        batch.Delete(
            storage::Family::kCatalog,
            storage::keys::CatalogKey(
                kScheduleKind, storage::keys::RuleName(e.schedule.group_name(),
                                                       e.schedule.name())));
        batch.Delete(storage::Family::kSched, id);
      } else {
        batch.Put(storage::Family::kSched, id, f.state.SerializeAsString());
      }
      fired.push_back(std::move(f));
    }
    if (fired.empty()) return;
    absl::Status w = store_.Write(batch, /*sync=*/true);
    if (!w.ok()) {
      EVBUS_LOG(ERROR) << fired.size() << " schedule ticks (first "
                       << fired.front().id << ") not recorded: " << w;
      // Try again shortly; no tick is lost.
      for (const Fired& f : fired) {
        Entry& e = entries_.at(f.id);
        UnindexLocked(e);
        e.last_fire_ms = f.previous_last_fire_ms;
        e.next_scheduled_ms = f.scheduled;
        e.next_due_ms = now + 1000;
        IndexLocked(e);
      }
      return;
    }
    for (Fired& f : fired) {
      ticks_.Increment();
      if (f.delete_after) {
        auto it = entries_.find(f.id);
        UnindexLocked(it->second);
        entries_.erase(it);
        fire_state_.erase(f.id);
      } else {
        fire_state_[f.id] = std::move(f.state);
      }
    }
  }
  if (dispatcher_ != nullptr) dispatcher_->Enqueued(std::move(entries));
}

absl::Status Scheduler::CheckSchedule(evbus::v1::Schedule s) {
  if (s.group_name().empty()) s.set_group_name(kDefaultGroup);
  if (s.state().empty()) s.set_state("ENABLED");
  if (s.action_after_completion().empty()) {
    s.set_action_after_completion("NONE");
  }
  std::optional<ScheduleExpression> expression;
  return Validate(s, &expression);
}

absl::Status Scheduler::Validate(
    const evbus::v1::Schedule& s,
    std::optional<ScheduleExpression>* expression) {
  EVBUS_RETURN_IF_ERROR(CheckName(s.name()));
  if (s.description().size() > 512) {
    return common::ConstraintViolation(
        {common::ConstraintClause(s.description(), "description",
                                  "have length less than or equal to 512")});
  }
  absl::StatusOr<ScheduleExpression> expr =
      ScheduleExpression::Parse(s.schedule_expression(), Dialect::kScheduler,
                                s.schedule_expression_timezone().empty()
                                    ? "UTC"
                                    : s.schedule_expression_timezone());
  if (!expr.ok()) return expr.status();
  const std::string& mode = s.flexible_time_window().mode();
  if (mode.empty()) {  // required: absent, not an empty enum value
    return common::ValidationError(absl::StrCat(
        "1 validation error detected: Value null at '",
        s.has_flexible_time_window() ? "flexibleTimeWindow.mode"
                                     : "flexibleTimeWindow",
        "' failed to satisfy constraint: Member must not be null"));
  }
  if (mode != "OFF" && mode != "FLEXIBLE") {
    return common::ConstraintViolation(
        {common::ConstraintClause(mode, "flexibleTimeWindow.mode",
                                  "satisfy enum value set: [OFF, FLEXIBLE]")});
  }
  int window = s.flexible_time_window().maximum_window_in_minutes();
  if (mode == "FLEXIBLE" && (window < 1 || window > 1440)) {
    return common::ValidationError(
        "MaximumWindowInMinutes must be between 1 and 1440 when Mode is "
        "FLEXIBLE.");
  }
  if (s.state() != "ENABLED" && s.state() != "DISABLED") {
    return common::ConstraintViolation({common::ConstraintClause(
        s.state(), "state", "satisfy enum value set: [ENABLED, DISABLED]")});
  }
  if (s.action_after_completion() != "NONE" &&
      s.action_after_completion() != "DELETE") {
    return common::ConstraintViolation({common::ConstraintClause(
        s.action_after_completion(), "actionAfterCompletion",
        "satisfy enum value set: [NONE, DELETE]")});
  }
  if (s.start_date_ms() > 0 && s.end_date_ms() > 0 &&
      s.end_date_ms() <= s.start_date_ms()) {
    return common::ValidationError(
        "The EndDate you specify must come after the StartDate.");
  }
  if (!s.has_target()) {  // required by the model
    return common::ValidationError(
        "1 validation error detected: Value null at 'target' failed to "
        "satisfy constraint: Member must not be null");
  }
  absl::StatusOr<targets::TargetRef> ref =
      targets::ParseTargetArn(s.target().arn(), "schedule");
  if (!ref.ok()) return ref.status();
  // Scheduler's Target.Input: 1..8192 characters; well-formed JSON for the
  // targets that take an event (a function, a bus), as AWS requires.
  const std::string& input = s.target().input();
  if (input.size() > 8192) {
    return common::ConstraintViolation(
        {common::ConstraintClause(input.substr(0, 32) + "...", "target.input",
                                  "have length less than or equal to 8192")});
  }
  if (!input.empty() && (ref->kind == targets::TargetKind::kFunction ||
                         ref->kind == targets::TargetKind::kBus)) {
    absl::StatusOr<common::Json> parsed =
        common::ParseJson(input, "target.input");
    if (!parsed.ok()) {
      return common::ValidationError(absl::StrCat(
          "Target.Input must be well-formed JSON for this target: ",
          parsed.status().message()));
    }
  }
  if (s.target().has_eventbridge_parameters()) {
    const auto& p = s.target().eventbridge_parameters();
    if (p.detail_type().empty() || p.detail_type().size() > 128 ||
        p.source().empty() || p.source().size() > 256 ||
        absl::StartsWith(p.source(), "aws.")) {
      return common::ValidationError(
          "EventBridgeParameters need a DetailType (1..128) and a Source "
          "(1..256) that does not start with \"aws.\".");
    }
  }
  const auto& rp = s.target().retry_policy();
  if ((rp.has_maximum_retry_attempts() &&
       (rp.maximum_retry_attempts() < 0 ||
        rp.maximum_retry_attempts() > 185)) ||
      (rp.has_maximum_event_age_in_seconds() &&
       (rp.maximum_event_age_in_seconds() < 60 ||
        rp.maximum_event_age_in_seconds() > 86400))) {
    return common::ValidationError(
        "RetryPolicy: MaximumRetryAttempts must be 0..185 and "
        "MaximumEventAgeInSeconds 60..86400.");
  }
  *expression = *std::move(expr);
  return absl::OkStatus();
}

absl::Status Scheduler::PersistSchedule(const evbus::v1::Schedule& s) {
  storage::WriteBatch batch;
  batch.Put(
      storage::Family::kCatalog,
      storage::keys::CatalogKey(
          kScheduleKind, storage::keys::RuleName(s.group_name(), s.name())),
      s.SerializeAsString());
  return store_.Write(batch, /*sync=*/true);
}

absl::StatusOr<evbus::v1::Schedule> Scheduler::CreateSchedule(
    evbus::v1::Schedule s) {
  if (s.group_name().empty()) s.set_group_name(kDefaultGroup);
  if (s.state().empty()) s.set_state("ENABLED");
  if (s.action_after_completion().empty())
    s.set_action_after_completion("NONE");
  std::optional<ScheduleExpression> expr;
  absl::Status valid = Validate(s, &expr);
  if (!valid.ok()) return valid;
  const std::string& group = s.group_name();
  const std::string id = ScheduleId(group, s.name());
  int64_t now = 0;
  {
    absl::MutexLock lock(&mu_);
    if (groups_.count(group) == 0 || deleting_groups_.count(group) > 0) {
      return common::ResourceNotFound(
          absl::StrCat("Schedule group ", group, " does not exist."));
    }
    if (entries_.count(id) > 0 || writing_.count(id) > 0) {
      return Conflict(absl::StrCat("Schedule ", s.name(), " already exists."));
    }
    now = Ms(clock_.Now());
    writing_.insert(id);
    ++writing_in_group_[group];
  }
  s.set_arn(ScheduleArn(group, s.name()));
  s.set_creation_date_ms(now);
  s.set_last_modification_date_ms(now);
  // Written outside mu_: concurrent creates share one fsync (RocksDB groups
  // concurrent synced writes), and firing is not held up meanwhile. The id
  // stays reserved in writing_, and its group cannot be deleted under it.
  absl::Status w = PersistSchedule(s);
  absl::MutexLock lock(&mu_);
  writing_.erase(id);
  if (--writing_in_group_[group] == 0) writing_in_group_.erase(group);
  if (!w.ok()) return w;
  Entry e;
  e.id = id;
  e.schedule = s;
  e.expression = std::move(expr);
  e.anchor =
      absl::FromUnixMillis(s.start_date_ms() > 0 ? s.start_date_ms() : now);
  Entry& stored = entries_.emplace(id, std::move(e)).first->second;
  ScheduleNextLocked(stored, now);
  wake_ = true;
  return s;
}

bool Scheduler::ReserveWriteLocked(const std::string& id,
                                   const std::string& group) {
  // Another write to the same schedule finishes first (a short wait: one
  // fsync).
  auto idle = [this, &id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return writing_.count(id) == 0;
  };
  mu_.Await(absl::Condition(&idle));
  if (entries_.count(id) == 0 || deleting_groups_.count(group) > 0) {
    return false;
  }
  writing_.insert(id);
  ++writing_in_group_[group];
  return true;
}

void Scheduler::ReleaseWriteLocked(const std::string& id,
                                   const std::string& group) {
  writing_.erase(id);
  if (--writing_in_group_[group] == 0) writing_in_group_.erase(group);
  wake_ = true;  // a tick skipped while the id was being written
}

absl::StatusOr<evbus::v1::Schedule> Scheduler::GetSchedule(
    const std::string& group, const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it =
      entries_.find(ScheduleId(group.empty() ? kDefaultGroup : group, name));
  if (it == entries_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Schedule ", name, " does not exist."));
  }
  return it->second.schedule;
}

absl::StatusOr<evbus::v1::Schedule> Scheduler::UpdateSchedule(
    evbus::v1::Schedule s) {
  if (s.group_name().empty()) s.set_group_name(kDefaultGroup);
  if (s.state().empty()) s.set_state("ENABLED");
  if (s.action_after_completion().empty())
    s.set_action_after_completion("NONE");
  std::optional<ScheduleExpression> expr;
  absl::Status valid = Validate(s, &expr);
  if (!valid.ok()) return valid;
  const std::string id = ScheduleId(s.group_name(), s.name());
  const std::string group = s.group_name();
  int64_t now = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!ReserveWriteLocked(id, group)) {
      return common::ResourceNotFound(
          absl::StrCat("Schedule ", s.name(), " does not exist."));
    }
    now = Ms(clock_.Now());
    const evbus::v1::Schedule& old = entries_.at(id).schedule;
    s.set_arn(old.arn());
    s.set_creation_date_ms(old.creation_date_ms());
  }
  s.set_last_modification_date_ms(now);
  // Written outside mu_ (see writing_); the id stays reserved meanwhile.
  absl::Status w = PersistSchedule(s);
  absl::MutexLock lock(&mu_);
  ReleaseWriteLocked(id, group);
  if (!w.ok()) return w;
  Entry& e = entries_.at(id);
  e.schedule = s;
  e.expression = std::move(expr);
  e.anchor = absl::FromUnixMillis(s.start_date_ms() > 0 ? s.start_date_ms()
                                                        : s.creation_date_ms());
  ScheduleNextLocked(e, now);
  wake_ = true;
  return s;
}

absl::Status Scheduler::DeleteSchedule(const std::string& group,
                                       const std::string& name) {
  std::string g = group.empty() ? kDefaultGroup : group;
  std::string id = ScheduleId(g, name);
  {
    absl::MutexLock lock(&mu_);
    if (!ReserveWriteLocked(id, g)) {
      return common::ResourceNotFound(
          absl::StrCat("Schedule ", name, " does not exist."));
    }
  }
  storage::WriteBatch batch;
  batch.Delete(storage::Family::kCatalog,
               storage::keys::CatalogKey(kScheduleKind,
                                         storage::keys::RuleName(g, name)));
  batch.Delete(storage::Family::kSched, id);
  // Written outside mu_ (see writing_); the id stays reserved meanwhile.
  absl::Status w = store_.Write(batch, /*sync=*/true);
  absl::MutexLock lock(&mu_);
  ReleaseWriteLocked(id, g);
  if (!w.ok()) return w;
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    UnindexLocked(it->second);
    entries_.erase(it);
  }
  fire_state_.erase(id);
  return absl::OkStatus();
}

std::vector<evbus::v1::Schedule> Scheduler::ListSchedules(
    const std::string& group, const std::string& prefix,
    const std::string& state) const {
  std::vector<evbus::v1::Schedule> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, e] : entries_) {
    if (e.is_rule) continue;
    const evbus::v1::Schedule& s = e.schedule;
    if (!group.empty() && s.group_name() != group) continue;
    if (!absl::StartsWith(s.name(), prefix)) continue;
    if (!state.empty() && s.state() != state) continue;
    out.push_back(s);
  }
  return out;
}

absl::StatusOr<evbus::v1::ScheduleGroup> Scheduler::CreateScheduleGroup(
    const std::string& name) {
  EVBUS_RETURN_IF_ERROR(CheckName(name));
  absl::MutexLock lock(&mu_);
  if (groups_.count(name) > 0) {
    return Conflict(absl::StrCat("Schedule group ", name, " already exists."));
  }
  evbus::v1::ScheduleGroup g;
  g.set_name(name);
  g.set_arn(GroupArn(name));
  g.set_state("ACTIVE");
  g.set_creation_date_ms(Ms(clock_.Now()));
  g.set_last_modification_date_ms(g.creation_date_ms());
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kGroupKind, name), g.SerializeAsString());
  // A new group starts without tags (see BusService::CreateEventBus).
  batch.Delete(storage::Family::kCatalog, storage::keys::TagKey(g.arn()));
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  groups_[name] = g;
  return g;
}

absl::StatusOr<evbus::v1::ScheduleGroup> Scheduler::GetScheduleGroup(
    const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = groups_.find(name);
  if (it == groups_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Schedule group ", name, " does not exist."));
  }
  return it->second;
}

std::vector<evbus::v1::ScheduleGroup> Scheduler::ListScheduleGroups(
    const std::string& prefix) const {
  std::vector<evbus::v1::ScheduleGroup> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, g] : groups_) {
    if (absl::StartsWith(name, prefix)) out.push_back(g);
  }
  return out;
}

absl::Status Scheduler::DeleteScheduleGroup(const std::string& name) {
  if (name == kDefaultGroup) {
    return common::ValidationError(
        "The default schedule group cannot be deleted.");
  }
  absl::MutexLock lock(&mu_);
  if (groups_.count(name) == 0 || deleting_groups_.count(name) > 0) {
    return common::ResourceNotFound(
        absl::StrCat("Schedule group ", name, " does not exist."));
  }
  // Creates already writing into the group finish first (their schedules
  // are then deleted with it); no new one starts meanwhile.
  deleting_groups_.insert(name);
  auto no_creates = [this, &name]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return writing_in_group_.count(name) == 0;
  };
  mu_.Await(absl::Condition(&no_creates));
  deleting_groups_.erase(name);
  auto it = groups_.find(name);
  storage::WriteBatch batch;
  batch.Delete(storage::Family::kCatalog,
               storage::keys::CatalogKey(kGroupKind, name));
  batch.Delete(storage::Family::kCatalog,
               storage::keys::TagKey(it->second.arn()));
  std::vector<std::string> doomed;
  for (const auto& [id, e] : entries_) {
    if (!e.is_rule && e.schedule.group_name() == name) {
      doomed.push_back(id);
      batch.Delete(
          storage::Family::kCatalog,
          storage::keys::CatalogKey(
              kScheduleKind, storage::keys::RuleName(name, e.schedule.name())));
      batch.Delete(storage::Family::kSched, id);
    }
  }
  absl::Status w = store_.Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  for (const std::string& id : doomed) {
    UnindexLocked(entries_[id]);
    entries_.erase(id);
    fire_state_.erase(id);
  }
  groups_.erase(it);
  return absl::OkStatus();
}

std::optional<absl::Time> Scheduler::NextFireForTesting(
    const std::string& id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.next_due_ms == 0) return std::nullopt;
  return absl::FromUnixMillis(it->second.next_due_ms);
}

}  // namespace evbus::scheduler
