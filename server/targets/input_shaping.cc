#include "server/targets/input_shaping.h"

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/common/status_macros.h"
#include "server/targets/internal/json_path.h"

namespace evbus::targets {
namespace {

using common::Json;
using internal::JsonPath;

constexpr size_t kMaxInput = 8192;
constexpr size_t kMaxPath = 256;
constexpr size_t kMaxTemplate = 8192;
constexpr size_t kMaxMapEntries = 100;
constexpr size_t kMaxMapKey = 256;
constexpr absl::string_view kMapKeyPattern = "[A-Za-z0-9\\_\\-]+";
// Jackson (which AWS's messages quote) shows at most this many characters of
// the source document.
constexpr size_t kJacksonSnippet = 500;

// ---------------------------------------------------------------------------
// Template scanning

bool IsJsonBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool IsPlaceholderChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-' || c == '.';
}

bool IsJsonTemplate(absl::string_view tmpl) {
  for (char c : tmpl) {
    if (!IsJsonBlank(c)) return c == '{';
  }
  return false;
}

// The next non-blank character at or after `pos`, or '\0'.
char NextNonBlank(absl::string_view text, size_t pos) {
  for (; pos < text.size(); ++pos) {
    if (!IsJsonBlank(text[pos])) return text[pos];
  }
  return '\0';
}

// Length of the placeholder "<name>" starting at text[pos] == '<', or 0 when
// the '<' does not open one (names are [A-Za-z0-9_.-]+).
size_t PlaceholderLength(absl::string_view text, size_t pos) {
  size_t end = pos + 1;
  while (end < text.size() && IsPlaceholderChar(text[end])) ++end;
  if (end == pos + 1 || end >= text.size() || text[end] != '>') return 0;
  return end + 1 - pos;
}

struct Placeholder {
  size_t begin = 0;  // offset of '<'
  size_t end = 0;    // one past '>'
  std::string name;
  // JSON templates: inside a JSON string literal. String templates: true
  // (the whole template is text).
  bool in_string = false;
  // JSON templates only: the placeholder is, or is inside, an object key.
  bool is_key = false;
};

struct ScannedTemplate {
  bool is_json = false;
  std::vector<Placeholder> placeholders;
};

ScannedTemplate ScanTemplate(absl::string_view tmpl) {
  ScannedTemplate out;
  out.is_json = IsJsonTemplate(tmpl);
  bool in_string = false;
  size_t string_first_placeholder = 0;
  size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    if (c == '<') {
      if (size_t len = PlaceholderLength(tmpl, i); len > 0) {
        Placeholder p;
        p.begin = i;
        p.end = i + len;
        p.name.assign(tmpl.data() + i + 1, len - 2);
        p.in_string = !out.is_json || in_string;
        p.is_key =
            out.is_json && !in_string && NextNonBlank(tmpl, p.end) == ':';
        out.placeholders.push_back(std::move(p));
        i += len;
        continue;
      }
    }
    if (out.is_json) {
      if (in_string && c == '\\') {
        i += 2;  // skip the escaped character
        continue;
      }
      if (c == '"') {
        if (!in_string) {
          in_string = true;
          string_first_placeholder = out.placeholders.size();
        } else {
          in_string = false;
          if (NextNonBlank(tmpl, i + 1) == ':') {
            for (size_t k = string_first_placeholder;
                 k < out.placeholders.size(); ++k) {
              out.placeholders[k].is_key = true;
            }
          }
        }
      }
    }
    ++i;
  }
  return out;
}

bool IsPredefined(absl::string_view name) {
  return name == kRuleArnPlaceholder || name == kRuleNamePlaceholder ||
         name == kIngestionTimePlaceholder || name == kEventPlaceholder ||
         name == kEventJsonPlaceholder;
}

bool IsJsonOnlyPredefined(absl::string_view name) {
  return name == kEventPlaceholder || name == kEventJsonPlaceholder;
}

// ---------------------------------------------------------------------------
// Validation helpers

bool MatchesMapKeyPattern(absl::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

// Java's Map.toString(), which Coral uses to show a map value.
std::string JavaMapString(
    const std::vector<std::pair<std::string, std::string>>& map) {
  std::string out = "{";
  for (size_t i = 0; i < map.size(); ++i) {
    if (i > 0) out += ", ";
    absl::StrAppend(&out, map[i].first, "=", map[i].second);
  }
  out += "}";
  return out;
}

// Jackson's JsonLocation text for a parse failure of `text`, from
// nlohmann's "… at line L, column C: …" (Jackson's column is one further).
std::string JacksonLocation(absl::string_view text,
                            const absl::Status& parse_status) {
  int64_t line = 1;
  int64_t column = 1;
  absl::string_view msg = parse_status.message();
  size_t at = msg.find(" at line ");
  if (at != absl::string_view::npos) {
    absl::string_view rest = msg.substr(at + 9);
    size_t comma = rest.find(", column ");
    size_t colon = rest.find(':');
    if (comma != absl::string_view::npos && colon != absl::string_view::npos &&
        comma < colon) {
      int64_t l = 0;
      int64_t c = 0;
      if (absl::SimpleAtoi(rest.substr(0, comma), &l) &&
          absl::SimpleAtoi(rest.substr(comma + 9, colon - comma - 9), &c)) {
        line = l;
        column = c + 1;
      }
    }
  }
  std::string out = "[Source: (String)\"";
  if (text.size() > kJacksonSnippet) {
    out.append(text.data(), kJacksonSnippet);
    absl::StrAppend(&out, "\"[truncated ", text.size() - kJacksonSnippet,
                    " chars]");
  } else {
    out.append(text.data(), text.size());
    out += "\"";
  }
  absl::StrAppend(&out, "; line: ", line, ", column: ", column, "]");
  return out;
}

absl::Status ValidateTemplatePlaceholders(const TargetInput& input,
                                          absl::string_view target_id) {
  ScannedTemplate scanned = ScanTemplate(input.input_template);
  for (const Placeholder& p : scanned.placeholders) {
    bool defined = IsPredefined(p.name);
    for (const auto& [name, path] : input.input_paths_map) {
      if (name == p.name) defined = true;
    }
    if (!defined || (IsJsonOnlyPredefined(p.name) && p.in_string)) {
      return common::ValidationError(
          absl::StrCat("InputTemplate for target ", target_id,
                       " contains invalid placeholder ", p.name, "."));
    }
    if (p.is_key) {
      return common::ValidationError(
          absl::StrCat("InputTemplate for target ", target_id,
                       " uses placeholder ", p.name, " as an object key."));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Shaping helpers

// <aws.events.event>: the envelope without detail, detail-type renamed
// detailType, keys in the order AWS emitted them. replay-name (not in AWS's
// observation) keeps its envelope position after region; unknown keys follow.
Json AwsEventValue(const Json& envelope) {
  static constexpr absl::string_view kOrder[] = {
      "id",     "account",     "detail-type", "time",   "source",
      "region", "replay-name", "resources",   "version"};
  Json out = Json::object();
  for (absl::string_view key : kOrder) {
    auto it = envelope.find(std::string(key.data(), key.size()));
    if (it == envelope.end()) continue;
    out[key == "detail-type" ? std::string("detailType")
                             : std::string(key.data(), key.size())] = *it;
  }
  for (auto it = envelope.begin(); it != envelope.end(); ++it) {
    const std::string& key = it.key();
    if (key == "detail") continue;
    bool known = false;
    for (absl::string_view k : kOrder) known = known || key == k;
    if (!known) out[key] = it.value();
  }
  return out;
}

// Raw text of a value in a string position: strings as-is (no quotes, no
// escaping), containers with every quote dropped ({k:v,…}, [a,b]), other
// scalars as JSON.
void AppendRaw(const Json& v, std::string* out) {
  if (v.is_string()) {
    out->append(v.get_ref<const std::string&>());
  } else if (v.is_object()) {
    out->push_back('{');
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out->push_back(',');
      first = false;
      out->append(it.key());
      out->push_back(':');
      AppendRaw(it.value(), out);
    }
    out->push_back('}');
  } else if (v.is_array()) {
    out->push_back('[');
    bool first = true;
    for (const Json& e : v) {
      if (!first) out->push_back(',');
      first = false;
      AppendRaw(e, out);
    }
    out->push_back(']');
  } else {
    out->append(common::DumpJson(v));
  }
}

// Resolves placeholder names to values for one delivery. Owned values
// (predefined variables) live here; path results borrow from the envelope.
class Resolver {
 public:
  Resolver(const TargetInput& input, const Json& envelope,
           const InputContext& context)
      : input_(input), envelope_(envelope), context_(context) {}

  // The value of `name`, or nullptr when missing (absent path, unparsable
  // path, JSON null, undefined name).
  const Json* Resolve(const std::string& name) {
    if (name == kRuleArnPlaceholder) return Own(Json(context_.rule_arn));
    if (name == kRuleNamePlaceholder) return Own(Json(context_.rule_name));
    if (name == kIngestionTimePlaceholder) {
      return Own(Json(absl::FormatTime(
          "%Y-%m-%dT%H:%M:%SZ", context_.ingestion_time, absl::UTCTimeZone())));
    }
    if (name == kEventPlaceholder) return Own(AwsEventValue(envelope_));
    if (name == kEventJsonPlaceholder) return &envelope_;
    for (const auto& [key, path_text] : input_.input_paths_map) {
      if (key != name) continue;
      absl::StatusOr<JsonPath> path = JsonPath::Parse(path_text);
      if (!path.ok()) return nullptr;
      const Json* v = path->Evaluate(envelope_);
      if (v == nullptr || v->is_null()) return nullptr;
      return v;
    }
    return nullptr;
  }

 private:
  const Json* Own(Json value) {
    owned_.push_back(std::make_unique<Json>(std::move(value)));
    return owned_.back().get();
  }

  const TargetInput& input_;
  const Json& envelope_;
  const InputContext& context_;
  std::vector<std::unique_ptr<Json>> owned_;
};

std::optional<std::string> ShapeWithTransformer(const TargetInput& input,
                                                const Json& envelope,
                                                const InputContext& context) {
  const absl::string_view tmpl = input.input_template;
  ScannedTemplate scanned = ScanTemplate(tmpl);
  Resolver resolver(input, envelope, context);
  std::string out;
  out.reserve(tmpl.size());
  size_t copied = 0;
  for (const Placeholder& p : scanned.placeholders) {
    out.append(tmpl.data() + copied, p.begin - copied);
    copied = p.end;
    const Json* v = resolver.Resolve(p.name);
    if (p.in_string) {
      if (v == nullptr) continue;  // empty text
      if (scanned.is_json && v->is_structured()) return std::nullopt;
      AppendRaw(*v, &out);
    } else if (v == nullptr) {
      out += "\"\"";
    } else if (v->is_string()) {
      out.push_back('"');
      out.append(v->get_ref<const std::string&>());  // not escaped
      out.push_back('"');
    } else {
      out.append(common::DumpJson(*v));
    }
  }
  out.append(tmpl.data() + copied, tmpl.size() - copied);
  if (!scanned.is_json) return out;
  absl::StatusOr<Json> parsed = common::ParseJson(out, "InputTemplate");
  if (!parsed.ok()) return std::nullopt;
  return common::DumpJson(*parsed);
}

}  // namespace

absl::Status CheckSingleInputKind(bool has_input, bool has_input_path,
                                  bool has_input_transformer,
                                  absl::string_view target_id) {
  const int kinds = static_cast<int>(has_input) +
                    static_cast<int>(has_input_path) +
                    static_cast<int>(has_input_transformer);
  if (kinds <= 1) return absl::OkStatus();
  return common::ValidationError(absl::StrCat(
      "Only one of Input, InputPath, or InputTransformer must be provided for "
      "target ",
      target_id, "."));
}

std::vector<std::string> TargetInputConstraintClauses(const TargetInput& input,
                                                      int position) {
  std::vector<std::string> clauses;
  const std::string member = absl::StrCat("targets.", position, ".member.");
  switch (input.kind) {
    case TargetInput::Kind::kNone:
      break;
    case TargetInput::Kind::kInput:
      if (input.input.size() > kMaxInput) {
        clauses.push_back(common::ConstraintClause(
            input.input, member + "input",
            absl::StrCat("have length less than or equal to ", kMaxInput)));
      }
      break;
    case TargetInput::Kind::kInputPath:
      if (input.input_path.size() > kMaxPath) {
        clauses.push_back(common::ConstraintClause(
            input.input_path, member + "inputPath",
            absl::StrCat("have length less than or equal to ", kMaxPath)));
      }
      break;
    case TargetInput::Kind::kInputTransformer: {
      const std::string map_path = member + "inputTransformer.inputPathsMap";
      const auto& map = input.input_paths_map;
      if (map.size() > kMaxMapEntries) {
        clauses.push_back(common::ConstraintClause(
            JavaMapString(map), map_path,
            absl::StrCat("have length less than or equal to ",
                         kMaxMapEntries)));
      }
      std::vector<std::string> key_rules;
      bool key_too_short = false, key_too_long = false, key_pattern = false;
      bool value_too_long = false;
      for (const auto& [key, value] : map) {
        key_too_short = key_too_short || key.empty();
        key_too_long = key_too_long || key.size() > kMaxMapKey;
        key_pattern = key_pattern || !MatchesMapKeyPattern(key);
        value_too_long = value_too_long || value.size() > kMaxPath;
      }
      if (key_too_short) {
        key_rules.push_back(
            "Member must have length greater than or equal to 1");
      }
      if (key_too_long) {
        key_rules.push_back(absl::StrCat(
            "Member must have length less than or equal to ", kMaxMapKey));
      }
      if (key_pattern) {
        key_rules.push_back(
            absl::StrCat("Member must satisfy regular expression pattern: ",
                         kMapKeyPattern));
      }
      if (!key_rules.empty()) {
        clauses.push_back(absl::StrCat(
            "Value '", JavaMapString(map), "' at '", map_path,
            "' failed to satisfy constraint: Map keys must satisfy "
            "constraint: [",
            absl::StrJoin(key_rules, ", "), "]"));
      }
      if (value_too_long) {
        clauses.push_back(absl::StrCat(
            "Value '", JavaMapString(map), "' at '", map_path,
            "' failed to satisfy constraint: Map value must satisfy "
            "constraint: [Member must have length less than or equal to ",
            kMaxPath, "]"));
      }
      const std::string template_path =
          member + "inputTransformer.inputTemplate";
      if (input.input_template.empty()) {
        clauses.push_back(
            common::ConstraintClause(input.input_template, template_path,
                                     "have length greater than or equal to 1"));
      } else if (input.input_template.size() > kMaxTemplate) {
        clauses.push_back(common::ConstraintClause(
            input.input_template, template_path,
            absl::StrCat("have length less than or equal to ", kMaxTemplate)));
      }
      break;
    }
  }
  return clauses;
}

absl::Status ValidateTargetInput(const TargetInput& input,
                                 absl::string_view target_id, int position) {
  std::vector<std::string> clauses =
      TargetInputConstraintClauses(input, position);
  if (!clauses.empty()) return common::ConstraintViolation(clauses);

  switch (input.kind) {
    case TargetInput::Kind::kNone:
      return absl::OkStatus();
    case TargetInput::Kind::kInput: {
      absl::StatusOr<Json> parsed = common::ParseJson(input.input, "Input");
      if (parsed.ok()) return absl::OkStatus();
      if (!common::JsonNestingWithin(input.input, common::kMaxJsonNesting)) {
        return common::ValidationError(
            absl::StrCat("JSON syntax error in input for target ", target_id,
                         ": arrays and objects nest deeper than ",
                         common::kMaxJsonNesting, " levels."));
      }
      return common::ValidationError(
          absl::StrCat("JSON syntax error in input for target ", target_id,
                       ": ", JacksonLocation(input.input, parsed.status())));
    }
    case TargetInput::Kind::kInputPath:
      if (JsonPath::Parse(input.input_path).ok()) return absl::OkStatus();
      return common::ValidationError(absl::StrCat(
          "InputPath for target ", target_id, " is not a valid JSON path."));
    case TargetInput::Kind::kInputTransformer:
      return ValidateTemplatePlaceholders(input, target_id);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> ShapeInput(
    const TargetInput& input, absl::string_view envelope_json,
    const InputContext& context) {
  if (input.kind == TargetInput::Kind::kInput) {
    return std::optional<std::string>(input.input);
  }
  if (input.kind == TargetInput::Kind::kNone) {
    // Envelopes are built minified by evbus (bus/envelope.cc); deliver the
    // bytes as they are instead of parsing and re-serialising them.
    return std::optional<std::string>(std::string(envelope_json));
  }
  EVBUS_ASSIGN_OR_RETURN(Json envelope,
                         common::ParseJson(envelope_json, "event envelope"));
  if (!envelope.is_object()) {
    return absl::InvalidArgumentError("event envelope: not a JSON object");
  }
  switch (input.kind) {
    case TargetInput::Kind::kNone:
    case TargetInput::Kind::kInput:
      return std::optional<std::string>(common::DumpJson(envelope));
    case TargetInput::Kind::kInputPath: {
      EVBUS_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(input.input_path));
      const Json* v = path.Evaluate(envelope);
      if (v == nullptr) return std::optional<std::string>();
      return std::optional<std::string>(common::DumpJson(*v));
    }
    case TargetInput::Kind::kInputTransformer:
      return ShapeWithTransformer(input, envelope, context);
  }
  return std::optional<std::string>();
}

}  // namespace evbus::targets
