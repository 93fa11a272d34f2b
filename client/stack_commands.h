// File: client/stack_commands.h
//
// `evbus apply -f FILE [--dry-run] [--strict]`: makes the daemon match a
// stack file or a SAM / CloudFormation template (docs/stack-reference.md).
#pragma once

#include <vector>

#include "client/commands.h"

namespace evbus::cli {

std::vector<Command> StackCommands();

}  // namespace evbus::cli
