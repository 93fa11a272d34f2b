// File: client/cloudwatch_commands.h
//
// The metric and alarm verbs, named like `aws cloudwatch`: put-metric-data,
// get-metric-statistics, get-metric-data, list-metrics, put-metric-alarm,
// describe-alarms, describe-alarm-history, set-alarm-state, delete-alarms,
// enable-alarm-actions, disable-alarm-actions.
#pragma once

#include <vector>

#include "client/commands.h"

namespace evbus::cli {

std::vector<Command> CloudWatchCommands();

}  // namespace evbus::cli
