// File: server/targets/executor.h
//
// Executor: performs one delivery to the outside world and classifies the
// result. Executors never see rules or the store; the dispatcher decides
// what a result means for the task (retry, dead letter, done).
//
// Thread safety: implementations are thread-safe. `done` runs exactly once,
// on any thread (possibly inside Deliver), and must not block for long.
//
// Example:
//   DeliveryRequest req;
//   req.url = "http://127.0.0.1:8080/hook";
//   req.payload = R"({"id":"..."})";
//   webhook.Deliver(std::move(req), [](DeliveryResult r) { ... });
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace evbus::targets {

enum class Outcome {
  kSuccess,
  kRetryable,  // throttling, timeouts, 429/5xx, connection failures
  kPermanent,  // other 4xx, invalid address, missing resource
};

struct DeliveryResult {
  Outcome outcome = Outcome::kSuccess;
  // EventBridge's DLQ ERROR_CODE on failure: ERROR_FROM_TARGET, TIMEOUT,
  // CONNECTION_FAILURE, THROTTLING, INVALID_JSON, NO_RESOURCE, INTERNAL_ERROR…
  std::string error_code;
  std::string error_message;
  int http_status = 0;
  // Retry-After from the target, when it sent one.
  std::optional<absl::Duration> retry_after;
  // A negative Retry-After asks the sender to stop retrying.
  bool stop_retrying = false;
  // The call was cut short by evbusd stopping: it is not an attempt. The
  // task stays in the store as it was and is delivered after the restart,
  // as after kill -9.
  bool interrupted = false;
  // The event was older than the target's MaximumEventAgeInSeconds before
  // this try (it waited for the rate limit, a concurrency slot or a
  // restart): no call was made, and it is dead-lettered with the
  // MaximumEventAgeInSeconds condition.
  bool expired = false;

  static DeliveryResult Success() { return {}; }
  static DeliveryResult Interrupted(std::string message) {
    DeliveryResult r =
        Failure(Outcome::kRetryable, "INTERNAL_ERROR", std::move(message));
    r.interrupted = true;
    return r;
  }
  static DeliveryResult Failure(Outcome outcome, std::string code,
                                std::string message) {
    DeliveryResult r;
    r.outcome = outcome;
    r.error_code = std::move(code);
    r.error_message = std::move(message);
    return r;
  }
};

struct DeliveryRequest {
  // Destination: a URL for webhooks, a name for log groups and buses.
  std::string url;
  std::string method = "POST";
  std::string payload;
  std::vector<std::pair<std::string, std::string>> headers;
  absl::Duration timeout = absl::Seconds(5);
  // The event's id (log records and headers use it).
  std::string event_id;
  // When the event was received (queued).
  absl::Time ingest_time;
  // The incarnation of the resource the task was made for
  // (DeliveryTask.rule_incarnation; empty: any). A function-queue task is
  // not run by a function of the same name created since.
  std::string incarnation;
};

using DeliveryCallback = absl::AnyInvocable<void(DeliveryResult) &&>;

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Deliver(DeliveryRequest request, DeliveryCallback done) = 0;
};

}  // namespace evbus::targets
