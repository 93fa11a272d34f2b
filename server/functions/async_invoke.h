// File: server/functions/async_invoke.h
//
// Lambda's asynchronous invocation, in two stages over the durable delivery
// queue (shared/spec/lambda-cloudwatch-sns.md §2.6):
//
//   1. Hand-off. A rule, schedule, topic or `invoke --invocation-type Event`
//      puts a task on the function's own queue (bus "aws.lambda", rule =
//      the function's name) and is done: for EventBridge the target
//      invocation succeeded even if the handler later throws.
//   2. Run. The dispatcher delivers that task to the RunExecutor, which
//      runs the function; a function error is retried with the function's
//      MaximumRetryAttempts (0-2, default 2) and MaximumEventAgeInSeconds,
//      about a minute apart, then dead-lettered (and forwarded to the
//      function's DeadLetterConfig / on-failure destination when set).
//      The queue's concurrency is the function's reserved concurrency, so
//      excess asynchronous events wait instead of being throttled.
//
// Thread safety: thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "evbus/v1/delivery.pb.h"
#include "evbus/v1/function.pb.h"
#include "server/common/clock.h"
#include "server/common/metric_sink.h"
#include "server/delivery/dispatcher.h"
#include "server/functions/function_pool.h"
#include "server/functions/function_registry.h"
#include "server/storage/store.h"
#include "server/targets/executor.h"

namespace evbus::functions {

// The reserved bus name of function queues.
inline constexpr char kFunctionQueueBus[] = "aws.lambda";
inline constexpr char kFunctionQueueTarget[] = "async";

// The task that runs `fn` once with `payload`; `request_id` stays the same
// across retries.
evbus::v1::DeliveryTask AsyncInvokeTask(const evbus::v1::Function& fn,
                                        std::string payload,
                                        const std::string& request_id,
                                        int64_t now_ms);

// Stage 1: queues asynchronous invocations durably (synced write).
class AsyncInvoker {
 public:
  AsyncInvoker(storage::Store& store, common::Clock& clock,
               FunctionRegistry& functions, metrics::Registry& registry);
  // Receives AWS/Lambda AsyncEventsReceived. Optional.
  void SetMetricSink(common::MetricSink* sink) { sink_ = sink; }
  // REQUIRES: called once, before Enqueue (the dispatcher is built after
  // the executors that refer to this invoker).
  void SetDispatcher(delivery::Dispatcher* dispatcher) {
    dispatcher_ = dispatcher;
  }
  // Queues `payload` for `name`; returns the request id.
  absl::StatusOr<std::string> Enqueue(const std::string& name,
                                      std::string payload);

 private:
  storage::Store& store_;
  common::Clock& clock_;
  FunctionRegistry& functions_;
  delivery::Dispatcher* dispatcher_ = nullptr;
  common::MetricSink* sink_ = nullptr;
  metrics::Registry& registry_;
};

// The executor of rule (and schedule, topic) targets naming a function:
// stage 1.
class HandoffExecutor : public targets::Executor {
 public:
  explicit HandoffExecutor(AsyncInvoker& invoker) : invoker_(invoker) {}
  void Deliver(targets::DeliveryRequest request,
               targets::DeliveryCallback done) override;

 private:
  AsyncInvoker& invoker_;
};

// The executor of function-queue tasks: stage 2.
class RunExecutor : public targets::Executor {
 public:
  explicit RunExecutor(FunctionPool& pool) : pool_(pool) {}
  void Deliver(targets::DeliveryRequest request,
               targets::DeliveryCallback done) override;

 private:
  FunctionPool& pool_;
};

}  // namespace evbus::functions
