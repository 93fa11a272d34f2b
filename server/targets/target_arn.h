// File: server/targets/target_arn.h
//
// What a target's Arn names: AWS-style ARNs and evbus shorthands.
//
//   http(s)://...                                   kWebhook (POST)
//   arn:aws:events:R:A:api-destination/NAME[/ID]    kApiDestination
//   function:NAME | arn:aws:lambda:R:A:function:NAME  kFunction
//   topic:NAME    | arn:aws:sns:R:A:NAME            kTopic
//   bus:NAME      | arn:aws:events:R:A:event-bus/NAME  kBus
//   log:NAME      | arn:aws:logs:R:A:log-group:NAME[:*]  kLog
//   mailto:ADDRESS                                  kEmail (topics' email)
//
// Pure; thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::targets {

enum class TargetKind {
  kWebhook,
  kApiDestination,
  kFunction,
  kTopic,
  kBus,
  kLog,
  kEmail,
};

struct TargetRef {
  TargetKind kind = TargetKind::kWebhook;
  // The URL (webhooks) or the resource name (everything else).
  std::string name;
};

// ValidationException naming `target_id` when the Arn is none of the forms
// above.
absl::StatusOr<TargetRef> ParseTargetArn(absl::string_view arn,
                                         absl::string_view target_id);

const char* TargetKindName(TargetKind kind);

}  // namespace evbus::targets
