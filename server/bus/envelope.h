// File: server/bus/envelope.h
//
// The EventBridge event envelope (shared/spec/eventbridge.md §1.1), built as
// compact JSON with keys in AWS order:
//   version, id, detail-type, source, account, time, region, [replay-name],
//   resources, detail
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "server/common/json.h"

namespace evbus::bus {

struct EnvelopeFields {
  std::string id;
  std::string detail_type;
  std::string source;
  std::string account;
  absl::Time time;  // rendered with second precision, UTC, "Z"
  std::string region;
  std::optional<std::string> replay_name;
  std::vector<std::string> resources;
  // The detail: a JSON object, either as a document or as compact JSON text
  // (DumpJson's form, e.g. from ValidateEntry). One is REQUIRED; `detail`
  // wins when both are set.
  const common::Json* detail = nullptr;
  std::string_view detail_json;
};

std::string BuildEnvelope(const EnvelopeFields& fields);

// RFC 3339, UTC, second precision: "2026-11-27T12:00:00Z".
std::string FormatEventTime(absl::Time t);

}  // namespace evbus::bus
