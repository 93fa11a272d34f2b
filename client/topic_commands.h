// File: client/topic_commands.h
//
// The topic verbs, named like `aws sns`: create-topic, list-topics,
// delete-topic, subscribe, unsubscribe, list-subscriptions-by-topic,
// list-subscriptions, publish.
#pragma once

#include <vector>

#include "client/commands.h"

namespace evbus::cli {

std::vector<Command> TopicCommands();

}  // namespace evbus::cli
