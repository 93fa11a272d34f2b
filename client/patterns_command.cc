#include "client/patterns_command.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/pattern/flat_event.h"

namespace evbus::cli {
namespace {

// Debian's abseil has its own absl::string_view; convert explicitly.
absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

constexpr std::string_view kEventInvalid =
    "ValidationException: Parameter Event is not valid.";

void SkipWs(std::string_view s, size_t* i) {
  while (*i < s.size() &&
         (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r' || s[*i] == '\n')) {
    ++*i;
  }
}

// Advances *i past one JSON string starting at s[*i] == '"'.
bool SkipString(std::string_view s, size_t* i) {
  ++*i;
  while (*i < s.size()) {
    const char c = s[*i];
    if (c == '\\') {
      *i += 2;
      continue;
    }
    ++*i;
    if (c == '"') return true;
  }
  return false;
}

// Advances *i past one JSON value (not validated beyond bracket balance).
bool SkipValue(std::string_view s, size_t* i) {
  SkipWs(s, i);
  if (*i >= s.size()) return false;
  if (s[*i] == '"') return SkipString(s, i);
  if (s[*i] == '{' || s[*i] == '[') {
    int depth = 0;
    while (*i < s.size()) {
      const char c = s[*i];
      if (c == '"') {
        if (!SkipString(s, i)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++*i;
      if (depth == 0) return true;
    }
    return false;
  }
  const size_t start = *i;
  while (*i < s.size() && s[*i] != ',' && s[*i] != '}' && s[*i] != ']' &&
         s[*i] != ' ' && s[*i] != '\t' && s[*i] != '\r' && s[*i] != '\n') {
    ++*i;
  }
  return *i > start;
}

// Splits a one-line JSON object into (decoded key, raw value text) pairs, so
// that the event's text reaches the matcher byte for byte.
absl::StatusOr<std::vector<std::pair<std::string, std::string_view>>>
SplitObject(std::string_view line) {
  std::vector<std::pair<std::string, std::string_view>> out;
  size_t i = 0;
  SkipWs(line, &i);
  if (i >= line.size() || line[i] != '{') {
    return absl::InvalidArgumentError("line is not a JSON object");
  }
  ++i;
  SkipWs(line, &i);
  if (i < line.size() && line[i] == '}') return out;
  while (true) {
    SkipWs(line, &i);
    if (i >= line.size() || line[i] != '"') {
      return absl::InvalidArgumentError("expected a key");
    }
    const size_t key_start = i;
    if (!SkipString(line, &i)) {
      return absl::InvalidArgumentError("unterminated key");
    }
    absl::StatusOr<common::Json> key = common::ParseJson(
        std::string(line.substr(key_start, i - key_start)), "key");
    if (!key.ok() || !key->is_string()) {
      return absl::InvalidArgumentError("bad key");
    }
    SkipWs(line, &i);
    if (i >= line.size() || line[i] != ':') {
      return absl::InvalidArgumentError("expected ':'");
    }
    ++i;
    SkipWs(line, &i);
    const size_t value_start = i;
    if (!SkipValue(line, &i)) {
      return absl::InvalidArgumentError("bad value");
    }
    out.emplace_back(key->get<std::string>(),
                     line.substr(value_start, i - value_start));
    SkipWs(line, &i);
    if (i < line.size() && line[i] == ',') {
      ++i;
      continue;
    }
    if (i < line.size() && line[i] == '}') return out;
    return absl::InvalidArgumentError("expected ',' or '}'");
  }
}

// Decodes a raw JSON string token; returns the raw text unchanged when it is
// not a string (an object given inline).
std::optional<std::string> StringOrRaw(std::string_view raw) {
  if (raw.empty() || raw.front() != '"') return std::string(raw);
  absl::StatusOr<common::Json> v =
      common::ParseJson(std::string(raw), "string");
  if (!v.ok() || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::string ErrorLine(std::string_view raw_id, std::string_view error) {
  return absl::StrCat("{\"id\": ", AV(raw_id), ", \"error\": ",
                      common::DumpJson(common::Json(std::string(error))), "}");
}

// TestEventPattern's event check: a JSON object holding the required fields.
bool EventEnvelopeValid(std::string_view event_json) {
  absl::StatusOr<common::Json> ev =
      common::ParseJson(std::string(event_json), "Event");
  if (!ev.ok() || !ev->is_object()) return false;
  for (const char* field :
       {"id", "account", "source", "time", "region", "detail-type"}) {
    if (!ev->contains(field)) return false;
  }
  return true;
}

std::string CheckLine(std::string_view line,
                      const pattern::PatternLimits& limits,
                      pattern::FlatEventParser* parser,
                      pattern::FlatEvent* scratch) {
  auto members = SplitObject(line);
  if (!members.ok()) {
    return ErrorLine("null",
                     absl::StrCat("InvalidLine: ", members.status().message()));
  }
  std::string_view raw_id = "null";
  std::optional<std::string_view> raw_pattern;
  std::optional<std::string_view> raw_event;
  for (const auto& [key, value] : *members) {
    if (key == "id") raw_id = value;
    if (key == "pattern") raw_pattern = value;
    if (key == "event") raw_event = value;
  }
  if (!raw_pattern.has_value() || !raw_event.has_value()) {
    return ErrorLine(raw_id,
                     "InvalidLine: \"pattern\" and \"event\" are required");
  }
  std::optional<std::string> pattern_text = StringOrRaw(*raw_pattern);
  if (!pattern_text.has_value()) {
    return ErrorLine(raw_id, "InvalidLine: bad \"pattern\" string");
  }
  if (pattern::PatternLength(*pattern_text) >
      pattern::kEventPatternModelMaxChars) {
    absl::Status model = common::ConstraintViolation({common::ConstraintClause(
        *pattern_text, "eventPattern",
        absl::StrCat("have length less than or equal to ",
                     pattern::kEventPatternModelMaxChars))});
    return ErrorLine(raw_id,
                     absl::StrCat("ValidationException: ",
                                  common::SplitAwsError(model).message));
  }
  absl::StatusOr<pattern::Pattern> compiled =
      pattern::Pattern::Compile(*pattern_text, limits);
  if (!compiled.ok()) {
    return ErrorLine(raw_id, absl::StrCat("InvalidEventPatternException: ",
                                          compiled.status().message()));
  }
  std::optional<std::string> event_text = StringOrRaw(*raw_event);
  if (!event_text.has_value() || !EventEnvelopeValid(*event_text)) {
    return ErrorLine(raw_id, kEventInvalid);
  }
  if (!parser->Parse(*event_text, nullptr, scratch).ok()) {
    return ErrorLine(raw_id, kEventInvalid);
  }
  return absl::StrCat("{\"id\": ", AV(raw_id), ", \"match\": ",
                      compiled->Matches(*scratch) ? "true" : "false", "}");
}

}  // namespace

int RunPatternsCheck(std::istream& in, std::ostream& out,
                     const pattern::PatternLimits& limits) {
  pattern::FlatEventParser parser;
  pattern::FlatEvent scratch;
  std::string line;
  while (std::getline(in, line)) {
    bool blank = true;
    for (char c : line) {
      if (c != ' ' && c != '\t' && c != '\r') blank = false;
    }
    if (blank) continue;
    out << CheckLine(line, limits, &parser, &scratch) << '\n';
  }
  out.flush();
  return in.bad() ? 1 : 0;
}

int RunPatternsLint(const std::vector<std::string>& files, std::ostream& out,
                    std::ostream& err) {
  int rc = 0;
  for (const std::string& file : files) {
    std::ifstream f(file, std::ios::binary);
    if (!f) {
      err << file << ": cannot read\n";
      rc = 1;
      continue;
    }
    std::ostringstream text;
    text << f.rdbuf();
    absl::StatusOr<pattern::Pattern> p = pattern::Pattern::Compile(text.str());
    if (p.ok()) {
      out << file << ": OK\n";
    } else {
      out << file << ": InvalidEventPatternException: " << p.status().message()
          << '\n';
      rc = 1;
    }
  }
  return rc;
}

}  // namespace evbus::cli
