// File: server/api/shapes/function_shapes.h
//
// Lambda's JSON shapes (AWS member names) for evbus.v1.Function, shared by
// the CLI and the AWS-compatible endpoint. Pure; thread-safe.
#pragma once

#include <string>

#include "evbus/v1/function.pb.h"
#include "server/common/json.h"

namespace evbus::api::shapes {

// Lambda's FunctionConfiguration.
common::Json FunctionConfigurationToJson(const evbus::v1::Function& fn);

// Lambda's RevisionId of the function as it is now: a UUID-shaped string
// derived from its ARN and revision (stable across restarts, different
// after every change). UpdateFunctionCode and UpdateFunctionConfiguration
// refuse a RevisionId that is not the current one.
std::string RevisionIdOf(const evbus::v1::Function& fn);

// PutFunctionEventInvokeConfig's output (defaults applied).
common::Json EventInvokeConfigToJson(const evbus::v1::Function& fn);

}  // namespace evbus::api::shapes
