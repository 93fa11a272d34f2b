#include "server/bus/validation.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/aws_error.h"
#include "server/common/json_canonical.h"

namespace evbus::bus {
namespace {

constexpr absl::string_view kBusNamePattern = "[/\\.\\-_A-Za-z0-9]+";
constexpr absl::string_view kPutEventsBusPattern =
    "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?"
    "[/\\.\\-_A-Za-z0-9]+";

bool IsBusNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '/' ||
         c == '.' || c == '-' || c == '_';
}

bool AllBusNameChars(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsBusNameChar(c)) return false;
  }
  return true;
}

// True when every integer literal in the JSON `text` fits int64 (AWS rejects
// larger ones). Scans the text because a parsed document no longer tells an
// integer too large for 64 bits from a float.
bool IntegersFitInt64(absl::string_view text) {
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      continue;
    }
    size_t begin = i;
    bool integral = true;
    while (i < text.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(text[i])) ||
            text[i] == '-' || text[i] == '+' || text[i] == '.' ||
            text[i] == 'e' || text[i] == 'E')) {
      if (text[i] == '.' || text[i] == 'e' || text[i] == 'E') integral = false;
      ++i;
    }
    if (integral) {
      int64_t ignored = 0;
      if (!absl::SimpleAtoi(text.substr(begin, i - begin), &ignored)) {
        return false;
      }
    }
    --i;
  }
  return true;
}

// Renders one entry the way AWS's constraint message shows it.
std::string DescribeEntry(const EventEntry& e) {
  auto opt = [](const std::optional<std::string>& s) {
    return s.has_value() ? *s : std::string("null");
  };
  return absl::StrCat(
      "PutEventsRequestEntry(time=", opt(e.time), ", source=", opt(e.source),
      ", resources=",
      e.resources.empty()
          ? "null"
          : absl::StrCat("[", absl::StrJoin(e.resources, ", "), "]"),
      ", detailType=", opt(e.detail_type), ", detail=", opt(e.detail),
      ", eventBusName=", opt(e.event_bus_name),
      ", traceHeader=", opt(e.trace_header),
      ", kmsKeyIdentifier=null, internalMetadata=null)");
}

}  // namespace

size_t EntrySize(const EventEntry& entry) {
  size_t size = 0;
  if (entry.time.has_value()) size += 14;
  if (entry.source.has_value()) size += entry.source->size();
  if (entry.detail_type.has_value()) size += entry.detail_type->size();
  if (entry.detail.has_value()) size += entry.detail->size();
  for (const std::string& r : entry.resources) size += r.size();
  return size;
}

absl::Status ValidateRequest(const std::vector<EventEntry>& entries,
                             const RequestLimits& limits) {
  if (entries.empty()) {
    return common::ConstraintViolation({common::ConstraintClause(
        "[]", "entries", "have length greater than or equal to 1")});
  }
  if (entries.size() > limits.max_entries) {
    std::vector<std::string> shown;
    shown.reserve(entries.size());
    for (const EventEntry& e : entries) shown.push_back(DescribeEntry(e));
    return common::ConstraintViolation({common::ConstraintClause(
        absl::StrCat("[", absl::StrJoin(shown, ", "), "]"), "entries",
        absl::StrCat("have length less than or equal to ",
                     limits.max_entries))});
  }
  std::vector<std::string> clauses;
  for (size_t i = 0; i < entries.size(); ++i) {
    const EventEntry& e = entries[i];
    std::string path = absl::StrCat("entries.", i + 1, ".member.");
    if (e.event_bus_name.has_value()) {
      const std::string& bus = *e.event_bus_name;
      if (bus.size() > 1600) {
        clauses.push_back(
            common::ConstraintClause(bus, path + "eventBusName",
                                     "have length less than or equal to 1600"));
      } else if (!BusNameFromNameOrArn(bus).has_value()) {
        clauses.push_back(common::ConstraintClause(
            bus, path + "eventBusName",
            absl::StrCat("satisfy regular expression pattern: ",
                         kPutEventsBusPattern)));
      }
    }
    for (size_t r = 0; r < e.resources.size(); ++r) {
      if (e.resources[r].size() > 2048) {
        clauses.push_back(common::ConstraintClause(
            e.resources[r], absl::StrCat(path, "resources.", r + 1, ".member"),
            "have length less than or equal to 2048"));
      }
    }
    if (e.trace_header.has_value() &&
        (e.trace_header->empty() || e.trace_header->size() > 500)) {
      clauses.push_back(common::ConstraintClause(
          *e.trace_header, path + "traceHeader",
          e.trace_header->empty() ? "have length greater than or equal to 1"
                                  : "have length less than or equal to 500"));
    }
  }
  if (!clauses.empty()) return common::ConstraintViolation(clauses);

  size_t total = 0;
  for (const EventEntry& e : entries) total += EntrySize(e);
  if (total >= limits.max_request_bytes) {
    return common::ValidationError(
        "Total size of the entries in the request is over the limit.");
  }
  return absl::OkStatus();
}

std::optional<EntryError> ValidateEntry(const EventEntry& entry,
                                        const RequestLimits& limits,
                                        std::string* detail_json,
                                        std::optional<absl::Time>* time) {
  if (!entry.source.has_value() || entry.source->empty()) {
    return EntryError{
        "InvalidArgument",
        "Parameter Source is not valid. Reason: Source is a required "
        "argument."};
  }
  if (!entry.detail_type.has_value() || entry.detail_type->empty()) {
    return EntryError{"InvalidArgument",
                      "Parameter DetailType is not valid. Reason: DetailType "
                      "is a required argument."};
  }
  if (!entry.detail.has_value()) {
    return EntryError{
        "InvalidArgument",
        "Parameter Detail is not valid. Reason: Detail is a required "
        "argument."};
  }
  // The fast path validates and re-serialises without building a document;
  // whatever it leaves undecided goes through the JSON library.
  detail_json->clear();
  if (!common::AppendCanonicalJson(*entry.detail,
                                   {.max_depth = limits.max_detail_depth,
                                    .require_object = true,
                                    .integers_fit_int64 = true},
                                   detail_json)) {
    // A Detail nested deeper than the limit is refused before a document is
    // built (walking one 100,000 levels deep would overflow the stack).
    absl::StatusOr<common::Json> parsed =
        common::ParseJson(*entry.detail, "Detail", limits.max_detail_depth);
    if (!parsed.ok() || !parsed->is_object() ||
        !IntegersFitInt64(*entry.detail) ||
        common::JsonDepth(*parsed) > limits.max_detail_depth) {
      return EntryError{"MalformedDetail", "Detail is malformed."};
    }
    *detail_json = common::DumpJson(*parsed);
  }
  if (!limits.allow_reserved_sources &&
      absl::StartsWith(*entry.source, "aws.")) {
    return EntryError{"NotAuthorizedForSourceException",
                      "Not authorized for the source."};
  }
  if (entry.time.has_value()) {
    std::optional<absl::Time> t = ParseEventTime(*entry.time);
    if (!t.has_value()) {
      return EntryError{"InvalidArgument",
                        "Parameter Time is not valid. Reason: Time must be "
                        "an RFC 3339 timestamp or epoch seconds."};
    }
    *time = t;
  }
  return std::nullopt;
}

std::optional<absl::Time> ParseEventTime(absl::string_view text) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  if (t.empty()) return std::nullopt;
  double seconds = 0;
  if (absl::SimpleAtod(t, &seconds)) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) {
      return std::nullopt;
    }
    return absl::FromUnixMillis(static_cast<int64_t>(seconds * 1000));
  }
  absl::Time parsed;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, t, &parsed, &err)) return parsed;
  return std::nullopt;
}

std::optional<std::string> BusNameFromNameOrArn(absl::string_view value) {
  if (absl::StartsWith(value, "arn:")) {
    // arn:aws[\w-]*:events:<region>:<12 digits>:event-bus/<name>
    std::vector<absl::string_view> parts =
        absl::StrSplit(value, absl::MaxSplits(':', 5));
    if (parts.size() != 6 || !absl::StartsWith(parts[1], "aws") ||
        parts[2] != "events" || parts[3].empty() || parts[4].size() != 12) {
      return std::nullopt;
    }
    for (char c : parts[4]) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c)))
        return std::nullopt;
    }
    if (!absl::StartsWith(parts[5], "event-bus/")) return std::nullopt;
    absl::string_view name = parts[5].substr(10);
    if (!AllBusNameChars(name)) return std::nullopt;
    return std::string(name);
  }
  if (!AllBusNameChars(value)) return std::nullopt;
  return std::string(value);
}

absl::Status ValidateBusName(absl::string_view name, absl::string_view field) {
  if (name.empty()) {
    return common::ConstraintViolation({common::ConstraintClause(
        name, field, "have length greater than or equal to 1")});
  }
  if (name.size() > 256) {
    return common::ConstraintViolation({common::ConstraintClause(
        name, field, "have length less than or equal to 256")});
  }
  if (!AllBusNameChars(name)) {
    return common::ConstraintViolation({common::ConstraintClause(
        name, field,
        absl::StrCat("satisfy regular expression pattern: ",
                     kBusNamePattern))});
  }
  return absl::OkStatus();
}

}  // namespace evbus::bus
