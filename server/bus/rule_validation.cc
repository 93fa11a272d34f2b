#include "server/bus/rule_validation.h"

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/aws_error.h"
#include "server/scheduler/schedule_expression.h"
#include "server/targets/http_parameters.h"
#include "server/targets/input_shaping.h"

namespace evbus::bus {
namespace {

constexpr absl::string_view kNamePattern = "[\\.\\-_A-Za-z0-9]+";

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '-' || c == '_';
}

// EventBridge's rule name / target id constraint, as a clause or "".
std::string NameClause(absl::string_view value, absl::string_view path,
                       size_t max) {
  if (value.empty()) {
    return common::ConstraintClause(value, path,
                                    "have length greater than or equal to 1");
  }
  if (value.size() > max) {
    return common::ConstraintClause(
        value, path, absl::StrCat("have length less than or equal to ", max));
  }
  if (!std::all_of(value.begin(), value.end(), IsNameChar)) {
    return common::ConstraintClause(
        value, path,
        absl::StrCat("satisfy regular expression pattern: ", kNamePattern));
  }
  return "";
}

absl::Status InvalidPattern(absl::string_view reason_message) {
  return common::AwsError(absl::StatusCode::kInvalidArgument,
                          "InvalidEventPatternException", reason_message);
}

// A map as Coral prints it in constraint messages: {k=v, k2=v2}.
template <typename Map>
std::string CoralMap(const Map& map) {
  std::map<std::string, std::string> sorted(map.begin(), map.end());
  std::string out = "{";
  for (const auto& [k, v] : sorted) {
    if (out.size() > 1) out += ", ";
    absl::StrAppend(&out, k, "=", v);
  }
  return out + "}";
}

// The clause for a map whose keys (or values) break `rule`.
std::string MapClause(const std::string& shown, absl::string_view path,
                      bool keys, absl::string_view rule) {
  return absl::StrCat("Value '", shown, "' at '", path,
                      "' failed to satisfy constraint: ",
                      keys ? "Map keys must" : "Map value must",
                      " satisfy constraint: [Member must ", rule, "]");
}

// Target HttpParameters against the API model's patterns
// (targets/http_parameters.h).
void AddHttpParameterClauses(const evbus::v1::HttpParameters& p,
                             const std::string& path,
                             std::vector<std::string>* clauses) {
  constexpr absl::string_view kLength = "have length less than or equal to 512";
  struct MapRule {
    const google::protobuf::Map<std::string, std::string>* map;
    const char* name;
    bool (*key_ok)(absl::string_view);
    bool (*value_ok)(absl::string_view);
    absl::string_view key_pattern;
    absl::string_view value_pattern;
  };
  const MapRule maps[] = {
      {&p.header_parameters(), "headerParameters", targets::IsHttpHeaderName,
       targets::IsHttpHeaderValue, "^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$",
       "^[ \\t]*[\\x20-\\x7E]+([ \\t]+[\\x20-\\x7E]+)*[ \\t]*$"},
      {&p.query_string_parameters(), "queryStringParameters",
       targets::IsQueryStringKey, targets::IsQueryStringValue,
       "[^\\x00-\\x1F\\x7F]+", "[^\\x00-\\x09\\x0B\\x0C\\x0E-\\x1F\\x7F]+"},
  };
  for (const MapRule& m : maps) {
    const std::string at = absl::StrCat(path, m.name);
    for (const auto& [k, v] : *m.map) {
      if (!m.key_ok(k)) {
        clauses->push_back(
            MapClause(CoralMap(*m.map), at, /*keys=*/true,
                      k.size() > targets::kMaxHttpParameterChars
                          ? std::string(kLength)
                          : absl::StrCat("satisfy regular expression pattern: ",
                                         m.key_pattern)));
        break;
      }
      if (!m.value_ok(v)) {
        clauses->push_back(
            MapClause(CoralMap(*m.map), at, /*keys=*/false,
                      v.size() > targets::kMaxHttpParameterChars
                          ? std::string(kLength)
                          : absl::StrCat("satisfy regular expression pattern: ",
                                         m.value_pattern)));
        break;
      }
    }
  }
  for (const std::string& v : p.path_parameter_values()) {
    if (!targets::IsPathParameterValue(v)) {
      clauses->push_back(absl::StrCat(
          "Value '[", absl::StrJoin(p.path_parameter_values(), ", "), "]' at '",
          path,
          "pathParameterValues' failed to satisfy constraint: Member must "
          "satisfy constraint: [Member must satisfy regular expression "
          "pattern: ^(?!\\s*$).+]"));
      break;
    }
  }
}

void AddTargetClauses(const evbus::v1::Target& t, size_t index,
                      std::vector<std::string>* clauses) {
  std::string path = absl::StrCat("targets.", index + 1, ".member.");
  std::string c = NameClause(t.id(), path + "id", 64);
  if (!c.empty()) clauses->push_back(c);
  if (t.arn().empty() || t.arn().size() > 1600) {
    clauses->push_back(common::ConstraintClause(
        t.arn(), path + "arn",
        t.arn().empty() ? "have length greater than or equal to 1"
                        : "have length less than or equal to 1600"));
  }
  if (t.has_retry_policy()) {
    const auto& p = t.retry_policy();
    if (p.has_maximum_retry_attempts() &&
        (p.maximum_retry_attempts() < 0 || p.maximum_retry_attempts() > 185)) {
      clauses->push_back(common::ConstraintClause(
          absl::StrCat(p.maximum_retry_attempts()),
          path + "retryPolicy.maximumRetryAttempts",
          p.maximum_retry_attempts() < 0
              ? "have value greater than or equal to 0"
              : "have value less than or equal to 185"));
    }
    if (p.has_maximum_event_age_in_seconds() &&
        (p.maximum_event_age_in_seconds() < 60 ||
         p.maximum_event_age_in_seconds() > 86400)) {
      clauses->push_back(common::ConstraintClause(
          absl::StrCat(p.maximum_event_age_in_seconds()),
          path + "retryPolicy.maximumEventAgeInSeconds",
          p.maximum_event_age_in_seconds() < 60
              ? "have value greater than or equal to 60"
              : "have value less than or equal to 86400"));
    }
  }
  if (t.max_concurrency() < 0 || t.invocation_rate_limit_per_second() < 0) {
    clauses->push_back(common::ConstraintClause(
        absl::StrCat(std::min(t.max_concurrency(),
                              t.invocation_rate_limit_per_second())),
        path + "maxConcurrency", "have value greater than or equal to 0"));
  }
  if (t.has_http_parameters()) {
    AddHttpParameterClauses(t.http_parameters(), path + "httpParameters.",
                            clauses);
  }
}

}  // namespace

targets::TargetInput TargetInputOf(const evbus::v1::Target& target) {
  targets::TargetInput in;
  if (!target.input().empty()) {
    in.kind = targets::TargetInput::Kind::kInput;
    in.input = target.input();
  } else if (!target.input_path().empty()) {
    in.kind = targets::TargetInput::Kind::kInputPath;
    in.input_path = target.input_path();
  } else if (target.has_input_transformer()) {
    in.kind = targets::TargetInput::Kind::kInputTransformer;
    std::map<std::string, std::string> sorted(
        target.input_transformer().input_paths_map().begin(),
        target.input_transformer().input_paths_map().end());
    in.input_paths_map.assign(sorted.begin(), sorted.end());
    in.input_template = target.input_transformer().input_template();
  }
  return in;
}

absl::Status ValidateRuleDefinition(const evbus::v1::Rule& rule,
                                    const pattern::PatternLimits& limits,
                                    std::optional<pattern::Pattern>* compiled) {
  std::vector<std::string> clauses;
  std::string c = NameClause(rule.name(), "name", 64);
  if (!c.empty()) clauses.push_back(c);
  if (rule.description().size() > 512) {
    clauses.push_back(
        common::ConstraintClause(rule.description(), "description",
                                 "have length less than or equal to 512"));
  }
  if (rule.schedule_expression().size() > 256) {
    clauses.push_back(common::ConstraintClause(
        rule.schedule_expression(), "scheduleExpression",
        "have length less than or equal to 256"));
  }
  const std::string& state = rule.state();
  if (state != "ENABLED" && state != "DISABLED" &&
      state != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") {
    clauses.push_back(common::ConstraintClause(
        state, "state",
        "satisfy enum value set: [ENABLED, DISABLED, "
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"));
  }
  if (!clauses.empty()) return common::ConstraintViolation(clauses);
  if (rule.event_pattern().empty() && rule.schedule_expression().empty()) {
    return common::ValidationError(
        "Parameter(s) EventPattern or ScheduleExpression must be specified.");
  }
  if (!rule.schedule_expression().empty()) {
    if (rule.event_bus_name() != "default") {
      return common::ValidationError(
          "ScheduleExpression is supported only on the default event bus.");
    }
    absl::StatusOr<scheduler::ScheduleExpression> e =
        scheduler::ScheduleExpression::Parse(rule.schedule_expression(),
                                             scheduler::Dialect::kRule);
    if (!e.ok()) return e.status();
  }
  if (!rule.event_pattern().empty()) {
    if (pattern::PatternLength(rule.event_pattern()) >
        pattern::kEventPatternModelMaxChars) {
      return common::ConstraintViolation({common::ConstraintClause(
          rule.event_pattern(), "eventPattern",
          absl::StrCat("have length less than or equal to ",
                       pattern::kEventPatternModelMaxChars))});
    }
    absl::StatusOr<pattern::Pattern> p =
        pattern::Pattern::Compile(rule.event_pattern(), limits);
    if (!p.ok()) return InvalidPattern(p.status().message());
    *compiled = *std::move(p);
  }
  return absl::OkStatus();
}

absl::Status ValidateTargetIds(const std::vector<std::string>& ids) {
  if (ids.empty() || ids.size() > 100) {
    return common::ConstraintViolation({common::ConstraintClause(
        absl::StrCat("[", absl::StrJoin(ids, ", "), "]"), "ids",
        ids.empty() ? "have length greater than or equal to 1"
                    : "have length less than or equal to 100")});
  }
  std::vector<std::string> clauses;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string c =
        NameClause(ids[i], absl::StrCat("ids.", i + 1, ".member"), 64);
    if (!c.empty()) clauses.push_back(std::move(c));
  }
  if (!clauses.empty()) return common::ConstraintViolation(clauses);
  return absl::OkStatus();
}

absl::Status ValidateTargets(
    const std::vector<evbus::v1::Target>& targets,
    const std::function<absl::Status(const targets::TargetRef&)>&
        check_target) {
  if (targets.empty() || targets.size() > 100) {
    return common::ConstraintViolation({common::ConstraintClause(
        targets.empty() ? std::string("[]")
                        : absl::StrCat("[", targets.size(), " targets]"),
        "targets",
        targets.empty() ? "have length greater than or equal to 1"
                        : "have length less than or equal to 100")});
  }
  std::vector<std::string> clauses;
  for (size_t i = 0; i < targets.size(); ++i) {
    AddTargetClauses(targets[i], i, &clauses);
  }
  if (!clauses.empty()) return common::ConstraintViolation(clauses);
  for (const evbus::v1::Target& t : targets) {
    // evbus sets it on the targets of topic deliveries (SNS delivery
    // policies); a rule's target retries by its RetryPolicy.
    if (t.retry_delay_seconds_size() > 0) {
      return common::ValidationError(absl::StrCat(
          "Target ", t.id(),
          ": retry_delay_seconds is set by evbus for topic deliveries "
          "only; use RetryPolicy."));
    }
    int kinds = (t.input().empty() ? 0 : 1) + (t.input_path().empty() ? 0 : 1) +
                (t.has_input_transformer() ? 1 : 0);
    if (kinds > 1) {
      return common::ValidationError(absl::StrCat(
          "Only one of Input, InputPath, or InputTransformer must be provided "
          "for target ",
          t.id(), "."));
    }
    absl::Status in = targets::ValidateTargetInput(TargetInputOf(t), t.id());
    if (!in.ok()) return in;
    // `$.` values of HttpParameters are JSONPaths read at delivery.
    const evbus::v1::HttpParameters& hp = t.http_parameters();
    std::vector<std::string> values(hp.path_parameter_values().begin(),
                                    hp.path_parameter_values().end());
    for (const auto& [k, v] : hp.header_parameters()) values.push_back(v);
    for (const auto& [k, v] : hp.query_string_parameters()) {
      values.push_back(v);
    }
    for (const std::string& v : values) {
      absl::Status path = targets::CheckHttpParameterPath(v);
      if (!path.ok()) {
        return common::ValidationError(absl::StrCat(
            "HttpParameters of target ", t.id(), ": ", path.message()));
      }
    }
    absl::StatusOr<targets::TargetRef> ref =
        targets::ParseTargetArn(t.arn(), t.id());
    if (!ref.ok()) return ref.status();
    if (check_target) {
      absl::Status exists = check_target(*ref);
      if (!exists.ok()) return exists;
    }
    if (!t.dead_letter_config().arn().empty()) {
      absl::StatusOr<targets::TargetRef> dlq =
          targets::ParseTargetArn(t.dead_letter_config().arn(), t.id());
      if (!dlq.ok()) {
        return common::ValidationError(absl::StrCat(
            "Parameter DeadLetterConfig.Arn of target ", t.id(),
            " is not valid: ", common::SplitAwsError(dlq.status()).message));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace evbus::bus
