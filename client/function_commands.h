// File: client/function_commands.h
//
// The function verbs, named like `aws lambda`: create-function,
// update-function-code, update-function-configuration,
// put-function-concurrency, delete-function-concurrency,
// put-function-event-invoke-config, get-function, list-functions,
// delete-function, invoke.
#pragma once

#include <vector>

#include "client/commands.h"

namespace evbus::cli {

std::vector<Command> FunctionCommands();

}  // namespace evbus::cli
