#include "server/topics/email_executor.h"

#include <utility>

namespace evbus::topics {

EmailExecutor::EmailExecutor(std::optional<SmtpOptions> relay,
                             std::string from_address,
                             metrics::Registry& registry, int workers)
    : from_(std::move(from_address)) {
  if (relay.has_value()) sender_.emplace(*std::move(relay));
  sent_ = registry.GetCounter("evbus_emails_total",
                              "Emails handed to the SMTP relay, by result.",
                              {{"result", "sent"}});
  failed_ = registry.GetCounter("evbus_emails_total",
                                "Emails handed to the SMTP relay, by result.",
                                {{"result", "failed"}});
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
}

EmailExecutor::~EmailExecutor() { Stop(); }

void EmailExecutor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  // Jobs never started stay queued in the store: report them retryable.
  std::deque<Job> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(jobs_);
  }
  for (Job& job : left) {
    std::move(job.done)(
        targets::DeliveryResult::Interrupted("evbusd is stopping"));
  }
}

void EmailExecutor::Deliver(targets::DeliveryRequest request,
                            targets::DeliveryCallback done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      jobs_.push_back(Job{std::move(request), std::move(done)});
      return;
    }
  }
  std::move(done)(targets::DeliveryResult::Interrupted("evbusd is stopping"));
}

void EmailExecutor::Work() {
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !jobs_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (!sender_.has_value()) {
      failed_.Increment();
      std::move(job.done)(targets::DeliveryResult::Failure(
          targets::Outcome::kPermanent, "NO_RESOURCE",
          "no SMTP relay is configured (evbusd --smtp-url)"));
      continue;
    }
    absl::Status s =
        sender_->Send(from_, {job.request.url}, job.request.payload);
    if (s.ok()) {
      sent_.Increment();
      std::move(job.done)(targets::DeliveryResult::Success());
      continue;
    }
    failed_.Increment();
    bool retry = s.code() == absl::StatusCode::kUnavailable ||
                 s.code() == absl::StatusCode::kDeadlineExceeded;
    std::move(job.done)(targets::DeliveryResult::Failure(
        retry ? targets::Outcome::kRetryable : targets::Outcome::kPermanent,
        retry ? "CONNECTION_FAILURE" : "ERROR_FROM_TARGET",
        std::string(s.message())));
  }
}

}  // namespace evbus::topics
