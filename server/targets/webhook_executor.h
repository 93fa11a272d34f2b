// File: server/targets/webhook_executor.h
//
// WebhookExecutor: HTTP(S) deliveries through one libcurl multi handle on one
// thread, with keep-alive connections reused across deliveries. Sends the
// headers EventBridge API destinations send (User-Agent
// "Amazon/EventBridge/ApiDestinations", Content-Type
// "application/json; charset=utf-8", Range, Accept-Encoding) plus the
// request's own. Classifies results as EventBridge does (shared/spec
// eventbridge.md §6, §9): 2xx success; 429 and 5xx retryable (Retry-After
// honoured); timeouts and connection failures retryable; other statuses,
// malformed URLs and unresolvable hosts permanent.
//
// Thread safety: thread-safe. Callbacks run on the executor's thread.
//
// Example:
//   WebhookExecutor webhooks({});
//   EVBUS_RETURN_IF_ERROR(webhooks.Start());
//   webhooks.Deliver(std::move(request), [](DeliveryResult r) { ... });
//   webhooks.Stop();  // in-flight deliveries finish as retryable failures
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/targets/executor.h"

namespace evbus::targets {

struct WebhookOptions {
  // Connections kept per host. Default: 64.
  long max_host_connections = 64;
  // Idle connections kept in the cache. Default: 256.
  long max_cached_connections = 256;
  // Default: EventBridge's API destination user agent.
  std::string user_agent = "Amazon/EventBridge/ApiDestinations";
  // How many nice steps (0..19) below the rest of the process the I/O
  // thread runs. Default: 0 (evbusd sets its `delivery_nice`).
  int nice_steps = 0;
};

// Parses a Retry-After value: delta seconds ("120", "-1") or an HTTP date.
// Sets `stop` for a negative value. nullopt when unparseable.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now, bool* stop);

class WebhookExecutor final : public Executor {
 public:
  explicit WebhookExecutor(WebhookOptions options);
  ~WebhookExecutor() override;
  WebhookExecutor(const WebhookExecutor&) = delete;
  WebhookExecutor& operator=(const WebhookExecutor&) = delete;

  // Accepts deliveries from now on. The multi handle and the I/O thread (and
  // libcurl itself, see server/common/libcurl_on_demand.cc) are created by
  // the first delivery, so a daemon without webhook targets never loads
  // them.
  absl::Status Start();
  // Fails queued and in-flight deliveries as retryable ("shutting down") and
  // joins the thread. Idempotent.
  void Stop();

  void Deliver(DeliveryRequest request, DeliveryCallback done) override;

 private:
  struct Transfer;
  // Creates the multi handle and starts Loop(); false if libcurl is missing.
  bool StartLoopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The I/O loop on `multi` (CURLM*), until Stop().
  void Loop(void* multi);

  const WebhookOptions options_;
  absl::Mutex mu_;
  void* multi_ ABSL_GUARDED_BY(mu_) = nullptr;  // CURLM*, owned
  std::thread thread_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Transfer>> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace evbus::targets
