#include "server/api/shapes/function_shapes.h"

namespace evbus::api::shapes {

using common::Json;

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
