#include "server/targets/target_arn.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/aws_error.h"

namespace evbus::targets {
namespace {

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
              c == '/' || c == '#';
    if (!ok) return false;
  }
  return true;
}

absl::Status Unsupported(absl::string_view arn, absl::string_view target_id) {
  return common::ValidationError(absl::StrCat(
      "Parameter Arn of target ", target_id, " is not valid: '", arn,
      "'. evbus delivers to http(s):// webhooks, api-destination, function "
      "(lambda), topic (sns), bus (event-bus) and log (log-group) targets."));
}

}  // namespace

const char* TargetKindName(TargetKind kind) {
  switch (kind) {
    case TargetKind::kWebhook:
      return "webhook";
    case TargetKind::kApiDestination:
      return "api-destination";
    case TargetKind::kFunction:
      return "function";
    case TargetKind::kTopic:
      return "topic";
    case TargetKind::kBus:
      return "bus";
    case TargetKind::kLog:
      return "log";
    case TargetKind::kEmail:
      return "email";
  }
  return "unknown";
}

absl::StatusOr<TargetRef> ParseTargetArn(absl::string_view arn,
                                         absl::string_view target_id) {
  if (arn.empty() || arn.size() > 1600) {
    return common::ValidationError(
        absl::StrCat("Parameter Arn of target ", target_id,
                     " must be 1 to 1600 characters long."));
  }
  if (absl::StartsWith(arn, "http://") || absl::StartsWith(arn, "https://")) {
    absl::string_view rest = arn.substr(arn.find("://") + 3);
    if (rest.empty() || rest[0] == '/' ||
        arn.find_first_of(" \t\r\n") != absl::string_view::npos) {
      return Unsupported(arn, target_id);
    }
    return TargetRef{TargetKind::kWebhook, std::string(arn)};
  }
  // mailto:ADDRESS: an email sent through the daemon's SMTP relay (the
  // payload is a complete RFC 5322 message; topics' email subscriptions).
  if (absl::StartsWith(arn, "mailto:")) {
    absl::string_view address = arn.substr(7);
    if (address.empty() || address.find('@') == absl::string_view::npos ||
        address.find_first_of(" \t\r\n<>,") != absl::string_view::npos) {
      return Unsupported(arn, target_id);
    }
    return TargetRef{TargetKind::kEmail, std::string(address)};
  }
  struct Short {
    absl::string_view prefix;
    TargetKind kind;
  };
  for (const Short& s :
       {Short{"function:", TargetKind::kFunction},
        Short{"topic:", TargetKind::kTopic}, Short{"bus:", TargetKind::kBus},
        Short{"log:", TargetKind::kLog}}) {
    if (absl::StartsWith(arn, s.prefix)) {
      absl::string_view name = arn.substr(s.prefix.size());
      if (!ValidName(name)) return Unsupported(arn, target_id);
      return TargetRef{s.kind, std::string(name)};
    }
  }
  if (!absl::StartsWith(arn, "arn:")) return Unsupported(arn, target_id);
  // arn:partition:service:region:account:resource
  std::vector<absl::string_view> parts =
      absl::StrSplit(arn, absl::MaxSplits(':', 5));
  if (parts.size() != 6 || !absl::StartsWith(parts[1], "aws")) {
    return Unsupported(arn, target_id);
  }
  absl::string_view service = parts[2];
  absl::string_view resource = parts[5];
  TargetRef ref;
  if (service == "events" && absl::StartsWith(resource, "event-bus/")) {
    ref = {TargetKind::kBus, std::string(resource.substr(10))};
  } else if (service == "events" &&
             absl::StartsWith(resource, "api-destination/")) {
    absl::string_view rest = resource.substr(16);
    ref = {TargetKind::kApiDestination,
           std::string(rest.substr(0, rest.find('/')))};
  } else if (service == "lambda" && absl::StartsWith(resource, "function:")) {
    absl::string_view rest = resource.substr(9);
    ref = {TargetKind::kFunction, std::string(rest.substr(0, rest.find(':')))};
  } else if (service == "sns") {
    ref = {TargetKind::kTopic, std::string(resource)};
  } else if (service == "logs" && absl::StartsWith(resource, "log-group:")) {
    absl::string_view rest = resource.substr(10);
    if (absl::EndsWith(rest, ":*")) rest.remove_suffix(2);
    ref = {TargetKind::kLog, std::string(rest)};
  } else {
    return Unsupported(arn, target_id);
  }
  if (!ValidName(ref.name)) return Unsupported(arn, target_id);
  return ref;
}

}  // namespace evbus::targets
