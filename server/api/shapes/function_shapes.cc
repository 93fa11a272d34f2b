#include "server/api/shapes/function_shapes.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"

namespace evbus::api::shapes {

using common::Json;

std::string RevisionIdOf(const evbus::v1::Function& fn) {
  // Two 64-bit FNV-1a hashes (different offsets) of the ARN and revision,
  // printed as a UUID: stable across restarts, new with every change.
  const std::string key = absl::StrCat(fn.function_arn(), "#", fn.revision());
  uint64_t a = 14695981039346656037ull;
  uint64_t b = 1099511628211ull * 31;
  for (unsigned char c : key) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 1099511628211ull + 0x9e3779b97f4a7c15ull;
  }
  char out[40];
  std::snprintf(out, sizeof(out), "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0x0fff),
                static_cast<unsigned>(((b >> 48) & 0x3fff) | 0x8000),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return out;
}

Json FunctionConfigurationToJson(const evbus::v1::Function& fn) {
  Json out = Json::object();
  out["FunctionName"] = fn.function_name();
  out["FunctionArn"] = fn.function_arn();
  out["Runtime"] = fn.runtime();
  out["Role"] =
      fn.role().empty()
          ? std::string("arn:aws:iam::000000000000:role/evbus-function")
          : fn.role();
  out["Handler"] = fn.handler();
  out["CodeSize"] = fn.code_size();
  out["Description"] = fn.description();
  out["Timeout"] = fn.timeout();
  out["MemorySize"] = fn.memory_size();
  out["LastModified"] = fn.last_modified();
  out["CodeSha256"] = fn.code_sha256();
  out["Version"] = "$LATEST";
  out["RevisionId"] = RevisionIdOf(fn);
  Json vars = Json::object();
  for (const auto& [k, v] : fn.environment()) vars[k] = v;
  out["Environment"] = Json{{"Variables", vars}};
  if (!fn.dead_letter_target_arn().empty()) {
    out["DeadLetterConfig"] = Json{{"TargetArn", fn.dead_letter_target_arn()}};
  }
  out["State"] = "Active";
  out["LastUpdateStatus"] = "Successful";
  out["PackageType"] = "Zip";
  out["Architectures"] = Json::array({"x86_64"});
  out["EphemeralStorage"] = Json{{"Size", 512}};
  return out;
}

Json EventInvokeConfigToJson(const evbus::v1::Function& fn) {
  const auto& a = fn.event_invoke_config();
  Json out = Json::object();
  out["FunctionArn"] = fn.function_arn() + ":$LATEST";
  out["MaximumRetryAttempts"] =
      a.has_maximum_retry_attempts() ? a.maximum_retry_attempts() : 2;
  out["MaximumEventAgeInSeconds"] = a.has_maximum_event_age_in_seconds()
                                        ? a.maximum_event_age_in_seconds()
                                        : 21600;
  Json dest = Json::object();
  dest["OnSuccess"] = Json::object();
  dest["OnFailure"] = Json::object();
  if (!a.on_success_destination().empty()) {
    dest["OnSuccess"]["Destination"] = a.on_success_destination();
  }
  if (!a.on_failure_destination().empty()) {
    dest["OnFailure"]["Destination"] = a.on_failure_destination();
  }
  out["DestinationConfig"] = dest;
  return out;
}

}  // namespace evbus::api::shapes
