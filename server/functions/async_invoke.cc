#include "server/functions/async_invoke.h"

#include "absl/strings/str_cat.h"
#include "server/common/ids.h"
#include "server/functions/function_config.h"

namespace evbus::functions {

evbus::v1::DeliveryTask AsyncInvokeTask(const evbus::v1::Function& fn,
                                        std::string payload,
                                        const std::string& request_id,
                                        int64_t now_ms) {
  evbus::v1::DeliveryTask task;
  task.set_task_id(common::NewUuidV4());
  task.set_event_bus_name(kFunctionQueueBus);
  task.set_rule_name(fn.function_name());
  task.set_rule_arn(fn.function_arn());
  task.set_rule_incarnation(fn.incarnation());
  task.set_target_id(kFunctionQueueTarget);
  task.set_event_id(request_id);
  task.set_envelope_json(std::move(payload));
  task.set_ingest_time_ms(now_ms);
  task.set_due_ms(now_ms);
  task.set_async_invoke(true);
  evbus::v1::Target* target = task.mutable_inline_target();
  target->set_id(kFunctionQueueTarget);
  target->set_arn(absl::StrCat("function:", fn.function_name()));
  target->mutable_retry_policy()->set_maximum_retry_attempts(
      MaxRetryAttempts(fn));
  target->mutable_retry_policy()->set_maximum_event_age_in_seconds(
      MaxEventAgeSeconds(fn));
  const std::string& dead_letter =
      !fn.event_invoke_config().on_failure_destination().empty()
          ? fn.event_invoke_config().on_failure_destination()
          : fn.dead_letter_target_arn();
  if (!dead_letter.empty()) {
    target->mutable_dead_letter_config()->set_arn(dead_letter);
  }
  if (fn.has_reserved_concurrent_executions() &&
      fn.reserved_concurrent_executions() > 0) {
    target->set_max_concurrency(fn.reserved_concurrent_executions());
  }
  return task;
}

AsyncInvoker::AsyncInvoker(storage::Store& store, common::Clock& clock,
                           FunctionRegistry& functions,
                           metrics::Registry& registry)
    : store_(store),
      clock_(clock),
      functions_(functions),
      registry_(registry) {}

absl::StatusOr<std::string> AsyncInvoker::Enqueue(const std::string& name,
                                                  std::string payload) {
  absl::StatusOr<evbus::v1::Function> fn = functions_.Get(name);
  if (!fn.ok()) return fn.status();
  std::string request_id = common::NewUuidV4();
  evbus::v1::DeliveryTask task = AsyncInvokeTask(
      *fn, std::move(payload), request_id, absl::ToUnixMillis(clock_.Now()));
  storage::WriteBatch batch;
  delivery::QueueEntry entry = delivery::Dispatcher::AddTo(batch, task);
  absl::Status written = store_.Write(batch, /*sync=*/true);
  if (!written.ok()) return written;
  dispatcher_->Enqueued({entry});
  if (sink_ != nullptr) {
    for (const common::MetricSink::Dimensions& dims :
         {common::MetricSink::Dimensions{{"FunctionName", fn->function_name()}},
          common::MetricSink::Dimensions{}}) {
      sink_->Record("AWS/Lambda", "AsyncEventsReceived", dims, clock_.Now(), 1,
                    "Count");
    }
  }
  registry_
      .GetCounter("evbus_function_async_events_received_total",
                  "Events queued for asynchronous invocation (AWS/Lambda "
                  "AsyncEventsReceived).",
                  {{"function", fn->function_name()}})
      .Increment();
  return request_id;
}

void HandoffExecutor::Deliver(targets::DeliveryRequest request,
                              targets::DeliveryCallback done) {
  absl::StatusOr<std::string> queued =
      invoker_.Enqueue(request.url, std::move(request.payload));
  if (queued.ok()) {
    std::move(done)(targets::DeliveryResult::Success());
  } else if (queued.status().code() == absl::StatusCode::kNotFound) {
    std::move(done)(targets::DeliveryResult::Failure(
        targets::Outcome::kPermanent, "NO_RESOURCE",
        std::string(queued.status().message())));
  } else {
    std::move(done)(targets::DeliveryResult::Failure(
        targets::Outcome::kRetryable, "INTERNAL_ERROR",
        std::string(queued.status().message())));
  }
}

void RunExecutor::Deliver(targets::DeliveryRequest request,
                          targets::DeliveryCallback done) {
  InvokeOptions options;
  options.async = true;
  options.queued = request.ingest_time;
  options.request_id = request.event_id;
  options.incarnation = request.incarnation;
  pool_.Invoke(request.url, std::move(request.payload), std::move(options),
               [done = std::move(done)](InvokeResult r) mutable {
                 switch (r.kind) {
                   case InvokeResult::Kind::kSuccess:
                     std::move(done)(targets::DeliveryResult::Success());
                     return;
                   case InvokeResult::Kind::kFunctionError:
                     // Lambda's DLQ attributes: ErrorCode 200 (the function
                     // ran), ErrorMessage the function's error.
                     std::move(done)(targets::DeliveryResult::Failure(
                         targets::Outcome::kRetryable, "ERROR_FROM_TARGET",
                         r.payload.substr(0, 1024)));
                     return;
                   case InvokeResult::Kind::kThrottled:
                     std::move(done)(targets::DeliveryResult::Failure(
                         r.error_type == kReservedConcurrencyZero
                             ? targets::Outcome::kPermanent
                             : targets::Outcome::kRetryable,
                         "THROTTLING", std::string(r.status.message())));
                     return;
                   case InvokeResult::Kind::kFailed:
                     if (r.interrupted) {
                       std::move(done)(targets::DeliveryResult::Interrupted(
                           std::string(r.status.message())));
                       return;
                     }
                     std::move(done)(targets::DeliveryResult::Failure(
                         r.status.code() == absl::StatusCode::kNotFound
                             ? targets::Outcome::kPermanent
                             : targets::Outcome::kRetryable,
                         r.status.code() == absl::StatusCode::kNotFound
                             ? "NO_RESOURCE"
                             : "INTERNAL_ERROR",
                         std::string(r.status.message())));
                     return;
                 }
               });
}

}  // namespace evbus::functions
