// File: server/bus/rule_registry.h
//
// RuleRegistry: rules and their targets (EventBridge PutRule / PutTargets
// and friends), persisted in the catalog, validated with EventBridge's
// messages, and compiled per bus into an immutable snapshot
// (shared_ptr<const BusRules>) that PutEvents matches against without
// taking a lock for longer than a pointer copy. A rule change marks the
// bus's snapshot stale; the next Snapshot() rebuilds it (the matcher from
// the already compiled patterns, only when an enabled pattern changed),
// outside the lock, and swaps it in (even if rules changed during the
// build: the readers that asked before it started share it, and the next
// build covers the rest for every reader waiting). A burst of changes (a stack
// of thousands of rules, a restart reading them back) is so indexed once rather
// than once per rule, and every PutEvents after a change still sees it.
//
// Also the delivery::TargetDirectory: the dispatcher reads a target's
// current configuration at delivery time.
//
// Thread safety: thread-safe.
//
// Example:
//   RuleRegistry rules(store, clock, {.account = ..., .region = ...});
//   EVBUS_RETURN_IF_ERROR(rules.Load());
//   EVBUS_ASSIGN_OR_RETURN(std::string arn, rules.PutRule(rule));
//   std::shared_ptr<const BusRules> snapshot = rules.Snapshot("default");
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evbus/v1/rule.pb.h"
#include "server/bus/rule_validation.h"
#include "server/common/clock.h"
#include "server/delivery/dispatcher.h"
#include "server/pattern/pattern.h"
#include "server/pattern/rule_matcher.h"
#include "server/storage/store.h"
#include "server/targets/target_arn.h"

namespace evbus::bus {

// Archives are managed rules named kArchiveRulePrefix + archive name.
inline constexpr char kArchiveManager[] = "evbus.archive";
inline constexpr char kArchiveRulePrefix[] = "Events-Archive-";

// What PutEvents matches against on one bus.
struct BusRules {
  std::shared_ptr<const pattern::RuleMatcher> matcher;  // enabled rules only
  // Rule by matcher id; null for ids not in use.
  std::vector<std::shared_ptr<const evbus::v1::Rule>> by_id;
};

struct RuleRegistryOptions {
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // Rules per bus (EventBridge's default quota). Default: 300.
  size_t max_rules_per_bus = 300;
  // Targets per rule. Default: 5.
  size_t max_targets_per_rule = kMaxTargetsPerRule;
  pattern::PatternLimits pattern_limits;
  // Checks the resource a target names (evbusd: that an API destination
  // exists); OK when unset.
  std::function<absl::Status(const targets::TargetRef&)> check_target;
  // Resolves an API destination by name for the dispatcher; unset or
  // nullopt when it does not exist.
  std::function<std::optional<delivery::HttpEndpoint>(const std::string&)>
      resolve_api_destination;
  // Called after every change to a rule (and its targets), and after its
  // deletion (deleted = true); the scheduler follows rule schedules with it.
  // Runs under the registry's lock: it must not call back into the registry.
  std::function<void(const evbus::v1::Rule&, bool deleted)> on_rule_change;
  // Called by Snapshot() just before it builds a bus's matcher, with no
  // lock held (tests hold a build open with it).
  std::function<void(const std::string& bus)> before_matcher_build;
};

struct ListRulesResult {
  std::vector<evbus::v1::Rule> rules;  // without targets
  std::string next_token;
};

struct PutTargetsResult {
  int failed_entry_count = 0;
  struct Failed {
    std::string target_id, error_code, error_message;
  };
  std::vector<Failed> failed_entries;
};

class RuleRegistry final : public delivery::TargetDirectory {
 public:
  RuleRegistry(storage::Store& store, common::Clock& clock,
               RuleRegistryOptions options);

  // Reads every rule from the store and builds the snapshots.
  absl::Status Load();

  // Create or replace (targets are kept). Returns the rule ARN. Errors
  // (EventBridge's): ValidationException, InvalidEventPatternException,
  // ResourceNotFoundException (bus), LimitExceededException.
  // REQUIRES: the bus exists (the caller checks; see BusService).
  absl::StatusOr<std::string> PutRule(evbus::v1::Rule rule);
  absl::StatusOr<evbus::v1::Rule> DescribeRule(const std::string& bus,
                                               const std::string& name) const;
  absl::StatusOr<ListRulesResult> ListRules(const std::string& bus,
                                            const std::string& prefix,
                                            int limit,
                                            const std::string& token) const;
  absl::Status SetRuleState(const std::string& bus, const std::string& name,
                            bool enabled);
  // Refused while targets exist; deleting a missing rule succeeds.
  absl::Status DeleteRule(const std::string& bus, const std::string& name,
                          bool force);
  absl::StatusOr<PutTargetsResult> PutTargets(
      const std::string& bus, const std::string& rule,
      std::vector<evbus::v1::Target> targets);
  absl::StatusOr<PutTargetsResult> RemoveTargets(
      const std::string& bus, const std::string& rule,
      const std::vector<std::string>& ids, bool force);
  absl::StatusOr<std::vector<evbus::v1::Target>> ListTargetsByRule(
      const std::string& bus, const std::string& rule) const;
  absl::StatusOr<std::vector<std::string>> ListRuleNamesByTarget(
      const std::string& bus, const std::string& target_arn) const;
  // Whether a target or dead-letter config of any rule names the log group
  // (log:NAME or its ARN).
  bool NamesLogGroup(const std::string& group) const;
  // Deletes every rule of a bus and every dead letter of its rules into
  // `batch` and forgets them once
  // ForgetBus is called (after the batch commits).
  void DeleteBusRulesTo(storage::WriteBatch& batch, const std::string& bus);
  void ForgetBus(const std::string& bus);

  // Rules of the default bus that have a schedule expression (with targets).
  std::vector<evbus::v1::Rule> ScheduledRules() const;

  // The bus's current rules; never null (empty when the bus has none).
  // Rebuilds them first when a change made them stale.
  std::shared_ptr<const BusRules> Snapshot(const std::string& bus);

  std::string RuleArn(const std::string& bus, const std::string& name) const;

  // How many matchers Snapshot() has built, all buses together.
  uint64_t matcher_builds() const;
  // How many Snapshot() calls are waiting for another caller's build, all
  // buses together (tests use it to know that readers have asked).
  size_t snapshot_waiters() const;

  // delivery::TargetDirectory
  std::optional<delivery::ResolvedTarget> FindTarget(
      const std::string& bus, const std::string& rule,
      const std::string& target_id) const override;
  std::optional<delivery::HttpEndpoint> ResolveHttp(
      const evbus::v1::Target& target) const override;

 private:
  struct RuleRecord {
    uint32_t id = 0;
    std::shared_ptr<const evbus::v1::Rule> rule;
    std::optional<pattern::Pattern> pattern;
  };
  struct BusState {
    pattern::RuleMatcher::Builder builder;
    std::map<std::string, RuleRecord> rules;  // by name
    uint32_t next_id = 0;
    // Ids of deleted rules, given to the next new ones: ids index the
    // snapshot's by_id, which would otherwise grow with every rule ever
    // created. (A snapshot maps ids with its own matcher, so a reused id
    // never reaches an older snapshot's rule.)
    std::vector<uint32_t> free_ids;
    std::shared_ptr<const BusRules> snapshot;
    // An enabled pattern changed since the last build began (the matcher
    // is rebuilt, not reused).
    bool matcher_stale = false;
    // The registry's change count at this bus's last change, and at the
    // last change `snapshot` includes: a reader needs a snapshot that
    // includes every change made before it asked. They differ while the
    // snapshot is stale.
    uint64_t changes = 0;
    uint64_t snapshot_changes = 0;
    bool stale() const { return changes != snapshot_changes; }
    // Tells this bus's state from that of a bus of the same name deleted and
    // created again while a snapshot was being built.
    uint64_t incarnation = NextIncarnation();
    // A Snapshot() call is building this bus's snapshot outside the lock;
    // other readers of the bus wait for it.
    bool building = false;
  };
  static uint64_t NextIncarnation();
  // What a snapshot is built from, copied under the lock.
  struct BuildInput {
    std::optional<pattern::RuleMatcher::Builder> builder;  // null: reuse
    std::shared_ptr<const pattern::RuleMatcher> matcher;   // when reused
    std::vector<std::shared_ptr<const evbus::v1::Rule>> by_id;
    uint64_t changes = 0;
  };

  absl::Status ValidateRule(const evbus::v1::Rule& rule,
                            std::optional<pattern::Pattern>* compiled) const;
  absl::Status Persist(const evbus::v1::Rule& rule, bool created = false);
  // Installs `rule` in the in-memory state and marks the snapshot stale.
  void InstallLocked(BusState& state,
                     std::shared_ptr<const evbus::v1::Rule> rule,
                     std::optional<pattern::Pattern> pattern)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the bus's snapshot stale after a change (and its matcher, when
  // `matching` changed).
  void ChangedLocked(BusState& state, bool matching)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies what a snapshot is built from (the builder is a map of shared
  // compiled patterns: ~1 ms at 10,000 rules, the only part of a rebuild
  // done under the lock).
  static BuildInput BuildInputLocked(const BusState& state);
  // The bus's installed snapshot, or the empty one.
  std::shared_ptr<const BusRules> InstalledLocked(const BusState* state) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Builds a snapshot (the matcher when `in` says so): no lock held.
  static std::shared_ptr<const BusRules> BuildSnapshot(BuildInput in);
  // The condition Snapshot() waits for: `bus` is gone, or no other call is
  // building its snapshot. Check() runs with mu_ held (Mutex::Await).
  struct BusIdle {
    const RuleRegistry* registry;
    const std::string* bus;
    bool Check() const ABSL_NO_THREAD_SAFETY_ANALYSIS;
  };
  const RuleRecord* FindLocked(const std::string& bus,
                               const std::string& name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  storage::Store& store_;
  common::Clock& clock_;
  const RuleRegistryOptions options_;
  std::shared_ptr<const BusRules> empty_;

  mutable absl::Mutex mu_;
  std::map<std::string, BusState> buses_ ABSL_GUARDED_BY(mu_);
  uint64_t matcher_builds_ ABSL_GUARDED_BY(mu_) = 0;
  size_t snapshot_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;  // BusState::changes
};

// "Rule <n> does not exist on EventBus <bus>." (ResourceNotFoundException).
absl::Status RuleNotFound(const std::string& bus, const std::string& name);

}  // namespace evbus::bus
