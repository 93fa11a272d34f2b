// File: server/targets/input_shaping.h
//
// Target input shaping (shared/spec/eventbridge.md §5): what a target
// receives for a matched event, given the target's Input, InputPath or
// InputTransformer, and the PutTargets-time validation of those members
// (§4 "Target", PutTargets row).
//
//   none              → the event envelope, minified
//   Input             → the constant JSON text, verbatim
//   InputPath         → the JSON text of the selected value ("baz" → "\"baz\"")
//   InputTransformer  → InputTemplate with <placeholders> substituted by the
//                       values of InputPathsMap's JSONPaths and the predefined
//                       <aws.events.*> variables, following AWS's observed
//                       rules (string vs JSON templates, no escaping, empty
//                       text for missing paths, nothing delivered when a JSON
//                       template cannot be made valid JSON).
//
// A placeholder is '<' + one or more of [A-Za-z0-9_.-] + '>'; any other '<'
// (e.g. "a < b", "<two words>") is literal text.
//
// Thread safety: all functions are pure and thread-safe.
//
// Example:
//   TargetInput in;
//   in.kind = TargetInput::Kind::kInputTransformer;
//   in.input_paths_map = {{"state", "$.detail.state"}};
//   in.input_template = "\"instance is <state>\"";
//   absl::Status ok = ValidateTargetInput(in, "my-target");   // at PutTargets
//   ...
//   absl::StatusOr<std::optional<std::string>> payload =
//       ShapeInput(in, envelope_json, {rule_arn, rule_name, ingestion_time});
//   if (!payload.ok()) ...;            // InvalidArgument: envelope not JSON
//   if (!payload->has_value()) ...;    // AWS would not invoke the target
//   Deliver(**payload);                // "\"instance is RUNNING\""
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace evbus::targets {

// What a Target says about its input: exactly one kind.
struct TargetInput {
  enum class Kind { kNone, kInput, kInputPath, kInputTransformer };
  Kind kind = Kind::kNone;
  // kInput: constant JSON text.
  std::string input;
  // kInputPath: JSONPath, e.g. "$.detail.x", "$.resources[0]", "$".
  std::string input_path;
  // kInputTransformer: placeholder name → JSONPath, in request order.
  std::vector<std::pair<std::string, std::string>> input_paths_map;
  // kInputTransformer: the template (1..8192 characters).
  std::string input_template;
};

// The predefined placeholders (§5). The last two are JSON values and may only
// appear as bare JSON values of a JSON template.
inline constexpr absl::string_view kRuleArnPlaceholder = "aws.events.rule-arn";
inline constexpr absl::string_view kRuleNamePlaceholder =
    "aws.events.rule-name";
inline constexpr absl::string_view kIngestionTimePlaceholder =
    "aws.events.event.ingestion-time";
inline constexpr absl::string_view kEventPlaceholder = "aws.events.event";
inline constexpr absl::string_view kEventJsonPlaceholder =
    "aws.events.event.json";

// PutTargets: more than one of Input, InputPath and InputTransformer present
// → ValidationException "Only one of Input, InputPath, or InputTransformer
// must be provided for target <id>." (AWS's text); OK otherwise. Call it
// before building a TargetInput, which can only hold one kind.
absl::Status CheckSingleInputKind(bool has_input, bool has_input_path,
                                  bool has_input_transformer,
                                  absl::string_view target_id);

// The service-model constraint clauses ("Value '…' at
// 'targets.<position>.member.input' failed to satisfy constraint: …") that
// `input` violates, for the target at 1-based `position` in the request:
// Input ≤ 8192, InputPath ≤ 256, InputTemplate 1..8192, InputPathsMap ≤ 100
// entries with keys 1..256 of [A-Za-z0-9\_\-]+ and values ≤ 256. AWS reports
// all clauses of a request in one message; pass them (with the other
// members' clauses) to common::ConstraintViolation().
std::vector<std::string> TargetInputConstraintClauses(const TargetInput& input,
                                                      int position);

// PutTargets-time validation of one target's input. Returns OK or a
// ValidationException (kInvalidArgument), checking in this order:
//  1. the model constraints above ("1 validation error detected: …");
//  2. Input must be JSON text: "JSON syntax error in input for target <id>:
//     [Source: (String)\"<input>\"; line: L, column: C]" (AWS's Jackson
//     text; the location is reproduced on a best-effort basis);
//  3. InputPath must parse (internal/json_path.h):
//     "InputPath for target <id> is not a valid JSON path." (evbus wording);
//  4. InputTemplate placeholders, first offender in template order:
//     - a name neither in InputPathsMap nor predefined, or <aws.events.event>
//       / <aws.events.event.json> anywhere but a bare JSON value:
//       "InputTemplate for target <id> contains invalid placeholder <name>."
//     - a placeholder used as (or inside) an object key of a JSON template:
//       "InputTemplate for target <id> uses placeholder <name> as an object
//       key." (evbus wording).
// InputPathsMap values are NOT checked as paths (AWS does not validate them;
// a path that cannot be evaluated behaves as a missing path at delivery).
absl::Status ValidateTargetInput(const TargetInput& input,
                                 absl::string_view target_id, int position = 1);

// What a delivery knows besides the event.
struct InputContext {
  std::string rule_arn;       // <aws.events.rule-arn>
  std::string rule_name;      // <aws.events.rule-name>
  absl::Time ingestion_time;  // <aws.events.event.ingestion-time>, rendered
                              // "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds)
};

// Shapes the payload a target receives for `envelope_json` (the full event
// envelope: a JSON object with keys version, id, detail-type, source,
// account, time, region, [replay-name], resources, detail).
//
// Returns the payload text, or std::nullopt when AWS would invoke nothing:
//  - InputPath selects nothing (missing key, index out of range);
//  - a JSON template places an object/array inside a JSON string, or its
//    substituted text is not valid JSON (e.g. a string value containing '"').
// Returns InvalidArgument when `envelope_json` is not a JSON object (kInputPath
// and kInputTransformer, which read it), or when
// an InputPath does not parse (a target that skipped ValidateTargetInput).
//
// Output, byte for byte:
//  - kNone: `envelope_json` exactly as given (evbus builds envelopes
//    minified in AWS key order, so nothing is re-serialised);
//  - kInput: `input` verbatim;
//  - kInputPath: compact JSON of the value; a present JSON null → "null";
//  - kInputTransformer, string template (first non-blank character is not
//    '{'): the template exactly as written (quotes, newlines and all) with
//    each placeholder replaced by raw text: strings unquoted and unescaped,
//    numbers/booleans as JSON, objects as {k:v,…} and arrays as [a,b] with
//    every quote stripped, missing or null → empty text;
//  - kInputTransformer, JSON template (first non-blank character is '{'):
//    bare placeholders become "string" (quoted, not escaped), numbers,
//    booleans, compact JSON objects/arrays, or "" when missing/null;
//    placeholders inside a JSON string become raw text (missing/null →
//    empty); the result is parsed and re-serialised minified.
absl::StatusOr<std::optional<std::string>> ShapeInput(
    const TargetInput& input, absl::string_view envelope_json,
    const InputContext& context);

}  // namespace evbus::targets
