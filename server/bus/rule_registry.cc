#include "server/bus/rule_registry.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/bus/rule_validation.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/logging.h"
#include "server/storage/keys.h"

namespace evbus::bus {
namespace {

constexpr char kRuleKind[] = "rule";

// A change only the rule's manager may make (PutRule, PutTargets,
// EnableRule, DisableRule on an archive's rule).
absl::Status ManagedRule(const std::string& name, const std::string& manager) {
  return common::AwsError(absl::StatusCode::kFailedPrecondition,
                          "ManagedRuleException",
                          absl::StrCat("Rule ", name, " is managed by ",
                                       manager, " and cannot be changed."));
}

}  // namespace

absl::Status RuleNotFound(const std::string& bus, const std::string& name) {
  return common::ResourceNotFound(
      absl::StrCat("Rule ", name, " does not exist on EventBus ", bus, "."));
}

RuleRegistry::RuleRegistry(storage::Store& store, common::Clock& clock,
                           RuleRegistryOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      empty_(std::make_shared<BusRules>()) {}

std::string RuleRegistry::RuleArn(const std::string& bus,
                                  const std::string& name) const {
  std::string prefix = absl::StrCat("arn:aws:events:", options_.region, ":",
                                    options_.account, ":rule/");
  if (bus == "default") return prefix + name;
  return absl::StrCat(prefix, bus, "/", name);
}

absl::Status RuleRegistry::Load() {
  std::vector<evbus::v1::Rule> loaded;
  bool corrupt = false;
  std::string prefix = storage::keys::CatalogPrefix(kRuleKind);
  absl::Status s = store_.Scan(
      storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
      [&](absl::string_view, absl::string_view value) {
        evbus::v1::Rule rule;
        if (!rule.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          corrupt = true;
          return false;
        }
        loaded.push_back(std::move(rule));
        return true;
      });
  if (!s.ok()) return s;
  if (corrupt) return absl::DataLossError("corrupt rule record");
  absl::MutexLock lock(&mu_);
  for (evbus::v1::Rule& rule : loaded) {
    std::optional<pattern::Pattern> compiled;
    if (!rule.event_pattern().empty()) {
      // Stored patterns were valid when written; a stricter build could
      // refuse one. Keep the rule (visible, deletable) but unmatched.
      absl::StatusOr<pattern::Pattern> p = pattern::Pattern::Compile(
          rule.event_pattern(), options_.pattern_limits);
      if (p.ok()) {
        compiled = *std::move(p);
      } else {
        EVBUS_LOG(WARNING) << "rule " << rule.name() << " on "
                           << rule.event_bus_name()
                           << ": stored pattern no longer compiles: "
                           << p.status();
      }
    }
    BusState& state = buses_[rule.event_bus_name()];
    InstallLocked(state, std::make_shared<evbus::v1::Rule>(std::move(rule)),
                  std::move(compiled));
  }
  return absl::OkStatus();
}

absl::Status RuleRegistry::ValidateRule(
    const evbus::v1::Rule& rule,
    std::optional<pattern::Pattern>* compiled) const {
  return ValidateRuleDefinition(rule, options_.pattern_limits, compiled);
}

absl::Status RuleRegistry::Persist(const evbus::v1::Rule& rule, bool created) {
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(
                kRuleKind,
                storage::keys::RuleName(rule.event_bus_name(), rule.name())),
            rule.SerializeAsString());
  // A new rule starts without tags (see BusService::CreateEventBus).
  if (created) {
    batch.Delete(storage::Family::kCatalog, storage::keys::TagKey(rule.arn()));
  }
  return store_.Write(batch, /*sync=*/true);
}

void RuleRegistry::InstallLocked(BusState& state,
                                 std::shared_ptr<const evbus::v1::Rule> rule,
                                 std::optional<pattern::Pattern> pattern) {
  auto [it, inserted] = state.rules.try_emplace(rule->name());
  RuleRecord& record = it->second;
  if (inserted) {
    if (state.free_ids.empty()) {
      record.id = state.next_id++;
    } else {
      record.id = state.free_ids.back();
      state.free_ids.pop_back();
    }
  }
  // Only targets changed (PutTargets, RemoveTargets): the matcher stays.
  const bool same_matching =
      !inserted && record.pattern.has_value() == pattern.has_value() &&
      record.rule->event_pattern() == rule->event_pattern() &&
      record.rule->state() == rule->state();
  record.rule = std::move(rule);
  record.pattern = std::move(pattern);
  if (!same_matching) {
    state.builder.Remove(record.id);
    if (record.pattern.has_value() && record.rule->state() != "DISABLED") {
      state.builder.Add(record.id, *record.pattern);
    }
  }
  ChangedLocked(state, !same_matching);
  if (options_.on_rule_change) options_.on_rule_change(*record.rule, false);
}

void RuleRegistry::ChangedLocked(BusState& state, bool matching) {
  state.matcher_stale = state.matcher_stale || matching;
  // Registry-wide, so that a bus deleted and created again during a build
  // cannot show the count the build started from.
  state.changes = ++changes_;
}

RuleRegistry::BuildInput RuleRegistry::BuildInputLocked(const BusState& state) {
  BuildInput in;
  if (state.matcher_stale || state.snapshot == nullptr) {
    in.builder = state.builder;  // the compiled patterns are shared
  } else {
    in.matcher = state.snapshot->matcher;
  }
  in.by_id.resize(state.next_id);
  for (const auto& [name, record] : state.rules) {
    in.by_id[record.id] = record.rule;
  }
  in.changes = state.changes;
  return in;
}

uint64_t RuleRegistry::NextIncarnation() {
  static std::atomic<uint64_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) + 1;
}

std::shared_ptr<const BusRules> RuleRegistry::BuildSnapshot(BuildInput in) {
  auto snapshot = std::make_shared<BusRules>();
  if (in.builder.has_value()) {
    snapshot->matcher = in.builder->Build();
    // The kernel copies the pages (~1 ms per MB): before the snapshot is
    // shared, with no lock held.
    snapshot->matcher->AdviseHugePages();
  } else {
    snapshot->matcher = std::move(in.matcher);
  }
  snapshot->by_id = std::move(in.by_id);
  return snapshot;
}

const RuleRegistry::RuleRecord* RuleRegistry::FindLocked(
    const std::string& bus, const std::string& name) const {
  auto b = buses_.find(bus);
  if (b == buses_.end()) return nullptr;
  auto r = b->second.rules.find(name);
  return r == b->second.rules.end() ? nullptr : &r->second;
}

absl::StatusOr<std::string> RuleRegistry::PutRule(evbus::v1::Rule rule) {
  if (rule.state().empty()) rule.set_state("ENABLED");
  std::optional<pattern::Pattern> compiled;
  absl::Status valid = ValidateRule(rule, &compiled);
  if (!valid.ok()) return valid;
  rule.set_arn(RuleArn(rule.event_bus_name(), rule.name()));
  absl::MutexLock lock(&mu_);
  BusState& state = buses_[rule.event_bus_name()];
  auto existing = state.rules.find(rule.name());
  if (existing != state.rules.end()) {
    const std::string& manager = existing->second.rule->managed_by();
    if (manager != rule.managed_by()) {
      // A managed rule changes only through its manager (an archive's
      // rule through UpdateArchive), and a manager never takes over a rule
      // of the user's that happens to have its name.
      if (!manager.empty()) return ManagedRule(rule.name(), manager);
      return common::ResourceAlreadyExists(
          absl::StrCat("Rule ", rule.name(), " already exists on EventBus ",
                       rule.event_bus_name(), "."));
    }
    // Replace: omitted fields reset, targets and creation time kept.
    *rule.mutable_targets() = existing->second.rule->targets();
    rule.set_creation_time_ms(existing->second.rule->creation_time_ms());
    rule.set_managed_by(existing->second.rule->managed_by());
    rule.set_incarnation(existing->second.rule->incarnation());
  } else {
    if (state.rules.size() >= options_.max_rules_per_bus) {
      return common::LimitExceeded(
          "The requested resource exceeds the maximum number allowed.");
    }
    rule.set_creation_time_ms(absl::ToUnixMillis(clock_.Now()));
    rule.set_incarnation(common::NewUuidV4());
  }
  absl::Status s = Persist(rule, /*created=*/existing == state.rules.end());
  if (!s.ok()) return s;
  std::string arn = rule.arn();
  InstallLocked(state, std::make_shared<evbus::v1::Rule>(std::move(rule)),
                std::move(compiled));
  return arn;
}

absl::StatusOr<evbus::v1::Rule> RuleRegistry::DescribeRule(
    const std::string& bus, const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  const RuleRecord* record = FindLocked(bus, name);
  if (record == nullptr) return RuleNotFound(bus, name);
  evbus::v1::Rule rule = *record->rule;
  rule.clear_targets();
  return rule;
}

absl::StatusOr<ListRulesResult> RuleRegistry::ListRules(
    const std::string& bus, const std::string& prefix, int limit,
    const std::string& token) const {
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
  ListRulesResult result;
  absl::ReaderMutexLock lock(&mu_);
  auto b = buses_.find(bus);
  if (b == buses_.end()) return result;
  const auto& rules = b->second.rules;
  for (auto it = token.empty() ? rules.begin() : rules.upper_bound(after);
       it != rules.end(); ++it) {
    if (!absl::StartsWith(it->first, prefix)) continue;
    if (result.rules.size() == max) {
      result.next_token = absl::WebSafeBase64Escape(result.rules.back().name());
      break;
    }
    evbus::v1::Rule rule = *it->second.rule;
    rule.clear_targets();
    result.rules.push_back(std::move(rule));
  }
  return result;
}

absl::Status RuleRegistry::SetRuleState(const std::string& bus,
                                        const std::string& name, bool enabled) {
  absl::MutexLock lock(&mu_);
  const RuleRecord* record = FindLocked(bus, name);
  if (record == nullptr) return RuleNotFound(bus, name);
  if (!record->rule->managed_by().empty()) {
    return ManagedRule(name, record->rule->managed_by());
  }
  auto rule = std::make_shared<evbus::v1::Rule>(*record->rule);
  rule->set_state(enabled ? "ENABLED" : "DISABLED");
  absl::Status s = Persist(*rule);
  if (!s.ok()) return s;
  InstallLocked(buses_[bus], std::move(rule), record->pattern);
  return absl::OkStatus();
}

absl::Status RuleRegistry::DeleteRule(const std::string& bus,
                                      const std::string& name, bool force) {
  absl::MutexLock lock(&mu_);
  const RuleRecord* record = FindLocked(bus, name);
  if (record == nullptr) return absl::OkStatus();  // idempotent, as AWS
  if (record->rule->targets_size() > 0) {
    return common::ValidationError(
        "Rule can't be deleted since it has targets.");
  }
  if (!record->rule->managed_by().empty() && !force) {
    return common::AwsError(
        absl::StatusCode::kFailedPrecondition, "ManagedRuleException",
        absl::StrCat("Rule ", name, " is managed by ",
                     record->rule->managed_by(), "; pass Force to delete it."));
  }
  storage::WriteBatch batch;
  batch.Delete(
      storage::Family::kCatalog,
      storage::keys::CatalogKey(kRuleKind, storage::keys::RuleName(bus, name)));
  batch.Delete(storage::Family::kCatalog,
               storage::keys::TagKey(record->rule->arn()));
  // Its dead letters go with it (a new rule of the same name must not list
  // or redrive them).
  std::string dead_letters = storage::keys::DeadLetterRulePrefix(bus, name);
  batch.DeleteRange(storage::Family::kDlq, dead_letters,
                    storage::keys::PrefixEnd(dead_letters));
  absl::Status s = store_.Write(batch, /*sync=*/true);
  if (!s.ok()) return s;
  BusState& state = buses_[bus];
  evbus::v1::Rule gone = *record->rule;
  state.builder.Remove(record->id);
  state.free_ids.push_back(record->id);
  state.rules.erase(name);
  ChangedLocked(state, /*matching=*/true);
  if (options_.on_rule_change) options_.on_rule_change(gone, true);
  return absl::OkStatus();
}

absl::StatusOr<PutTargetsResult> RuleRegistry::PutTargets(
    const std::string& bus, const std::string& rule_name,
    std::vector<evbus::v1::Target> targets) {
  absl::Status valid = ValidateTargets(targets, options_.check_target);
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  const RuleRecord* record = FindLocked(bus, rule_name);
  if (record == nullptr) return RuleNotFound(bus, rule_name);
  if (!record->rule->managed_by().empty()) {
    return ManagedRule(rule_name, record->rule->managed_by());
  }
  auto rule = std::make_shared<evbus::v1::Rule>(*record->rule);
  for (evbus::v1::Target& t : targets) {
    auto* list = rule->mutable_targets();
    auto same = std::find_if(
        list->begin(), list->end(),
        [&](const evbus::v1::Target& x) { return x.id() == t.id(); });
    if (same != list->end()) {
      *same = std::move(t);
    } else {
      *list->Add() = std::move(t);
    }
  }
  if (static_cast<size_t>(rule->targets_size()) >
      options_.max_targets_per_rule) {
    return common::LimitExceeded(
        "The requested resource exceeds the maximum number allowed.");
  }
  absl::Status s = Persist(*rule);
  if (!s.ok()) return s;
  InstallLocked(buses_[bus], std::move(rule), record->pattern);
  return PutTargetsResult{};
}

absl::StatusOr<PutTargetsResult> RuleRegistry::RemoveTargets(
    const std::string& bus, const std::string& rule_name,
    const std::vector<std::string>& ids, bool force) {
  if (absl::Status valid = ValidateTargetIds(ids); !valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  const RuleRecord* record = FindLocked(bus, rule_name);
  if (record == nullptr) return RuleNotFound(bus, rule_name);
  if (!record->rule->managed_by().empty() && !force) {
    return common::AwsError(
        absl::StatusCode::kFailedPrecondition, "ManagedRuleException",
        absl::StrCat("Rule ", rule_name, " is managed by ",
                     record->rule->managed_by(),
                     "; pass Force to change its targets."));
  }
  std::set<std::string> remove(ids.begin(), ids.end());
  auto rule = std::make_shared<evbus::v1::Rule>(*record->rule);
  auto* list = rule->mutable_targets();
  list->erase(std::remove_if(list->begin(), list->end(),
                             [&](const evbus::v1::Target& t) {
                               return remove.count(t.id()) > 0;
                             }),
              list->end());
  absl::Status s = Persist(*rule);
  if (!s.ok()) return s;
  InstallLocked(buses_[bus], std::move(rule), record->pattern);
  return PutTargetsResult{};
}

absl::StatusOr<std::vector<evbus::v1::Target>> RuleRegistry::ListTargetsByRule(
    const std::string& bus, const std::string& rule) const {
  absl::ReaderMutexLock lock(&mu_);
  const RuleRecord* record = FindLocked(bus, rule);
  if (record == nullptr) return RuleNotFound(bus, rule);
  return std::vector<evbus::v1::Target>(record->rule->targets().begin(),
                                        record->rule->targets().end());
}

bool RuleRegistry::NamesLogGroup(const std::string& group) const {
  auto names = [&group](const std::string& arn) {
    absl::StatusOr<targets::TargetRef> ref = targets::ParseTargetArn(arn, "");
    return ref.ok() && ref->kind == targets::TargetKind::kLog &&
           ref->name == group;
  };
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [bus, state] : buses_) {
    for (const auto& [name, record] : state.rules) {
      for (const evbus::v1::Target& t : record.rule->targets()) {
        if (names(t.arn()) || names(t.dead_letter_config().arn())) return true;
      }
    }
  }
  return false;
}

absl::StatusOr<std::vector<std::string>> RuleRegistry::ListRuleNamesByTarget(
    const std::string& bus, const std::string& target_arn) const {
  std::vector<std::string> names;
  absl::ReaderMutexLock lock(&mu_);
  auto b = buses_.find(bus);
  if (b == buses_.end()) return names;
  for (const auto& [name, record] : b->second.rules) {
    for (const auto& t : record.rule->targets()) {
      if (t.arn() == target_arn) {
        names.push_back(name);
        break;
      }
    }
  }
  return names;
}

void RuleRegistry::DeleteBusRulesTo(storage::WriteBatch& batch,
                                    const std::string& bus) {
  // Every dead letter of the bus, also those of rules deleted before dead
  // letters went with their rule.
  std::string dead_letters = storage::keys::DeadLetterBusPrefix(bus);
  batch.DeleteRange(storage::Family::kDlq, dead_letters,
                    storage::keys::PrefixEnd(dead_letters));
  absl::ReaderMutexLock lock(&mu_);
  auto b = buses_.find(bus);
  if (b == buses_.end()) return;
  for (const auto& [name, record] : b->second.rules) {
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::CatalogKey(kRuleKind,
                                           storage::keys::RuleName(bus, name)));
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::TagKey(record.rule->arn()));
  }
}

void RuleRegistry::ForgetBus(const std::string& bus) {
  absl::MutexLock lock(&mu_);
  buses_.erase(bus);
}

std::vector<evbus::v1::Rule> RuleRegistry::ScheduledRules() const {
  std::vector<evbus::v1::Rule> out;
  absl::ReaderMutexLock lock(&mu_);
  auto b = buses_.find("default");
  if (b == buses_.end()) return out;
  for (const auto& [name, record] : b->second.rules) {
    if (!record.rule->schedule_expression().empty())
      out.push_back(*record.rule);
  }
  return out;
}

uint64_t RuleRegistry::matcher_builds() const {
  absl::ReaderMutexLock lock(&mu_);
  return matcher_builds_;
}

size_t RuleRegistry::snapshot_waiters() const {
  absl::ReaderMutexLock lock(&mu_);
  return snapshot_waiters_;
}

std::shared_ptr<const BusRules> RuleRegistry::Snapshot(const std::string& bus) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto b = buses_.find(bus);
    if (b == buses_.end() || !b->second.stale()) {
      return InstalledLocked(b == buses_.end() ? nullptr : &b->second);
    }
  }
  // Stale: a reader needs the changes made before it asked. The first such
  // reader builds the snapshot, outside the lock (a 10,000-rule matcher
  // takes ~0.1 s), so that rule changes and other buses' routing go on
  // meanwhile; the bus's other readers wait for it. A build is installed
  // when it ends, even if the bus changed meanwhile: every reader that
  // asked before the build started uses it, and one of those that asked
  // later builds again, for all of them. (Under constant rule changes, a
  // build per reader would serialise the bus's routing behind builds.)
  const BusIdle idle{this, &bus};
  mu_.Lock();
  auto b = buses_.find(bus);
  const uint64_t wanted = b == buses_.end() ? 0 : b->second.changes;
  ++snapshot_waiters_;
  mu_.Await(absl::Condition(&idle, &BusIdle::Check));
  --snapshot_waiters_;
  b = buses_.find(bus);
  if (b == buses_.end() ||
      (b->second.snapshot != nullptr && b->second.snapshot_changes >= wanted)) {
    std::shared_ptr<const BusRules> current =
        InstalledLocked(b == buses_.end() ? nullptr : &b->second);
    mu_.Unlock();
    return current;
  }
  BuildInput in = BuildInputLocked(b->second);
  const uint64_t changes = in.changes;
  const uint64_t incarnation = b->second.incarnation;
  const bool builds_matcher = in.builder.has_value();
  b->second.building = true;
  // The build covers the matching changes made so far; later ones set this
  // again.
  b->second.matcher_stale = false;
  mu_.Unlock();
  if (builds_matcher && options_.before_matcher_build) {
    options_.before_matcher_build(bus);
  }
  std::shared_ptr<const BusRules> fresh = BuildSnapshot(std::move(in));
  mu_.Lock();
  if (builds_matcher) ++matcher_builds_;
  b = buses_.find(bus);  // deleted (and created again?) meanwhile
  if (b != buses_.end() && b->second.incarnation == incarnation) {
    b->second.building = false;
    b->second.snapshot = fresh;
    b->second.snapshot_changes = changes;
  }
  mu_.Unlock();
  return fresh;
}

std::shared_ptr<const BusRules> RuleRegistry::InstalledLocked(
    const BusState* state) const {
  return state == nullptr || state->snapshot == nullptr ? empty_
                                                        : state->snapshot;
}

bool RuleRegistry::BusIdle::Check() const {
  auto b = registry->buses_.find(*bus);
  return b == registry->buses_.end() || !b->second.building;
}

std::optional<delivery::ResolvedTarget> RuleRegistry::FindTarget(
    const std::string& bus, const std::string& rule,
    const std::string& target_id) const {
  std::optional<delivery::ResolvedTarget> found;
  {
    absl::ReaderMutexLock lock(&mu_);
    const RuleRecord* record = FindLocked(bus, rule);
    if (record == nullptr) return std::nullopt;
    for (const auto& t : record->rule->targets()) {
      if (t.id() == target_id) {
        found = delivery::ResolvedTarget{
            t, record->rule->arn(), record->rule->incarnation(), std::nullopt};
        break;
      }
    }
  }
  if (found.has_value()) found->http = ResolveHttp(found->target);
  return found;
}

std::optional<delivery::HttpEndpoint> RuleRegistry::ResolveHttp(
    const evbus::v1::Target& target) const {
  if (!options_.resolve_api_destination) return std::nullopt;
  absl::StatusOr<targets::TargetRef> ref =
      targets::ParseTargetArn(target.arn(), target.id());
  if (!ref.ok() || ref->kind != targets::TargetKind::kApiDestination) {
    return std::nullopt;
  }
  return options_.resolve_api_destination(ref->name);
}

}  // namespace evbus::bus
