// File: server/daemon/alarm_actions.h
//
// AlarmActions: what happens when an alarm changes state (the daemon's
// alarms::AlarmNotifier). Each action ARN of the new state runs:
//   * a topic (arn:aws:sns:...:NAME or topic:NAME): Publish with
//     CloudWatch's subject and MessageStructure=json message (JSON for
//     http/lambda subscribers, readable text for email);
//   * a function (arn:aws:lambda:...:function:NAME or function:NAME): an
//     asynchronous invocation with CloudWatch's Lambda alarm event;
// and, whatever the actions, a "CloudWatch Alarm State Change" event is put
// on the default bus (source aws.cloudwatch), so rules can react.
//
// Thread safety: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "evbus/v1/cloudwatch.pb.h"
#include "server/alarms/alarm_service.h"
#include "server/bus/bus_service.h"
#include "server/functions/async_invoke.h"
#include "server/topics/topic_service.h"

namespace evbus::daemon {

class AlarmActions final : public alarms::AlarmNotifier {
 public:
  AlarmActions(topics::TopicService& topics, functions::AsyncInvoker& invoker,
               bus::BusService& buses, std::string account, std::string region)
      : topics_(topics),
        invoker_(invoker),
        buses_(buses),
        account_(std::move(account)),
        region_(std::move(region)) {}

  std::vector<std::string> StateChanged(
      const evbus::v1::MetricAlarm& alarm, const evbus::v1::MetricAlarm& before,
      const std::vector<std::string>& actions) override;

 private:
  topics::TopicService& topics_;
  functions::AsyncInvoker& invoker_;
  bus::BusService& buses_;
  const std::string account_;
  const std::string region_;
};

}  // namespace evbus::daemon
