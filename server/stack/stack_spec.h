// File: server/stack/stack_spec.h
//
// A parsed, validated stack (docs/stack-reference.md): the requests that
// make the daemon match it, in application order. Built by ParseStack,
// applied by ApplyStack.
#pragma once

#include <string>
#include <vector>

#include "evbus/v1/cloudwatch.pb.h"
#include "evbus/v1/connection.pb.h"
#include "evbus/v1/event_bus.pb.h"
#include "evbus/v1/function.pb.h"
#include "evbus/v1/rule.pb.h"
#include "evbus/v1/schedule.pb.h"
#include "evbus/v1/topic.pb.h"

namespace evbus::stack {

struct TopicSpec {
  evbus::v1::CreateTopicRequest topic;
  std::vector<evbus::v1::SubscribeRequest> subscriptions;
};

struct RuleSpec {
  evbus::v1::PutRuleRequest rule;
  std::vector<evbus::v1::Target> targets;
  // Where each target's arn is declared ("file:line: rules[0].targets[1].arn"),
  // for the messages of checks made at apply.
  std::vector<std::string> target_arn_at;
  // Where the rule's bus is declared ("file:line: rules[0].bus"), or the
  // rule itself when it names none.
  std::string bus_at;
};

struct ApiDestinationSpec {
  evbus::v1::ApiDestination destination;  // connection_arn filled at apply
  std::string connection;                 // the connection's name
};

struct StackSpec {
  std::string name;
  std::string file;  // where it came from (messages)
  std::vector<evbus::v1::CreateEventBusRequest> buses;
  std::vector<evbus::v1::Connection> connections;
  std::vector<ApiDestinationSpec> api_destinations;
  std::vector<evbus::v1::CreateFunctionRequest> functions;
  std::vector<TopicSpec> topics;
  std::vector<RuleSpec> rules;
  std::vector<evbus::v1::Schedule> schedules;
  std::vector<evbus::v1::PutMetricAlarmRequest> alarms;
  // Where each alarm's rule is declared ("file:line: alarms[2].rule"; the
  // alarm itself when it has none), for the messages of checks made at
  // apply.
  std::vector<std::string> alarm_rule_at;
  // Resource types a SAM / CloudFormation template declared that evbus
  // cannot run (reported, skipped).
  std::vector<std::string> skipped;
};

}  // namespace evbus::stack
