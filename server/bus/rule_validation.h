// File: server/bus/rule_validation.h
//
// The checks PutRule and PutTargets make on a rule or its targets alone,
// before looking at the registry's state (EventBridge's codes and messages):
// name and length constraints, pattern compilation, schedule expressions
// (only on the default bus), the one-input-kind rule, input shaping, target
// and dead-letter ARNs. RuleRegistry runs them on every call; `evbus apply`
// runs them on a whole stack before changing anything. Its own library
// (no storage), so the CLI links it.
//
// Thread safety: pure functions; thread-safe.
//
// Example:
//   std::optional<pattern::Pattern> compiled;
//   absl::Status s = ValidateRuleDefinition(rule, {}, &compiled);
//   if (!s.ok()) ...;  // ValidationException / InvalidEventPatternException
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "evbus/v1/rule.pb.h"
#include "server/pattern/pattern.h"
#include "server/targets/input_shaping.h"
#include "server/targets/target_arn.h"

namespace evbus::bus {

// The input a target asks for, from its Input / InputPath /
// InputTransformer members (the first one set; the input paths sorted, as
// proto maps keep no order). Shared with the dispatcher, which shapes what
// each delivery sends.
targets::TargetInput TargetInputOf(const evbus::v1::Target& target);

// PutRule's checks, in EventBridge's order: model constraints (name,
// description, schedule expression length, state) → ValidationException;
// neither pattern nor schedule → ValidationException; a schedule on a bus
// other than "default" or one that does not parse → ValidationException;
// a pattern that does not compile → InvalidEventPatternException. On
// success `compiled` holds the compiled pattern (unset for schedule-only
// rules). `rule.state()` must be set (PutRule defaults it to ENABLED).
absl::Status ValidateRuleDefinition(const evbus::v1::Rule& rule,
                                    const pattern::PatternLimits& limits,
                                    std::optional<pattern::Pattern>* compiled);

// Targets a rule may have (EventBridge's quota).
inline constexpr size_t kMaxTargetsPerRule = 5;

// RemoveTargets' checks of its Ids: 1..100 of them, each 1..64 characters
// of [\.\-_A-Za-z0-9] (the model's constraints, in one
// ValidationException).
absl::Status ValidateTargetIds(const std::vector<std::string>& ids);

// PutTargets' checks, in EventBridge's order: 1..100 targets; model
// constraints of every target (id, arn length, retry policy, concurrency)
// in one ValidationException; then target by target: one input kind, the
// input itself, the Arn, `check_target` (when set: that the named resource
// exists), the DeadLetterConfig Arn.
absl::Status ValidateTargets(
    const std::vector<evbus::v1::Target>& targets,
    const std::function<absl::Status(const targets::TargetRef&)>& check_target);

}  // namespace evbus::bus
