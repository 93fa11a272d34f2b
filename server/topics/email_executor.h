// File: server/topics/email_executor.h
//
// EmailExecutor: delivers `mailto:ADDRESS` tasks — complete RFC 5322
// messages rendered at publish time — through the daemon's SMTP relay
// (--smtp-url), on its own worker threads so that a slow relay never blocks
// the dispatcher. A relay that is down or answers 4xx is retried (the task
// stays queued); a 5xx rejection or a missing relay dead-letters it.
//
// Thread safety: thread-safe.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/metrics/registry.h"
#include "server/targets/executor.h"
#include "server/topics/smtp_sender.h"

namespace evbus::topics {

class EmailExecutor final : public targets::Executor {
 public:
  // `relay` nullopt: no relay configured; every email fails permanently.
  EmailExecutor(std::optional<SmtpOptions> relay, std::string from_address,
                metrics::Registry& registry, int workers = 2);
  ~EmailExecutor() override;

  void Deliver(targets::DeliveryRequest request,
               targets::DeliveryCallback done) override;
  void Stop();

 private:
  struct Job {
    targets::DeliveryRequest request;
    targets::DeliveryCallback done;
  };
  void Work();

  std::optional<SmtpSender> sender_;
  const std::string from_;
  metrics::Counter sent_, failed_;
  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace evbus::topics
