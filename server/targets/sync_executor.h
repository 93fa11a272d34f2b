// File: server/targets/sync_executor.h
//
// SyncExecutor: adapts a synchronous, local action (append to a log group,
// forward to another bus) to the Executor interface. The action's status
// maps onto a DeliveryResult: OK → success; NotFound → permanent
// NO_RESOURCE; InvalidArgument → permanent INVALID_PARAMETER; anything else
// → retryable INTERNAL_ERROR.
//
// Thread safety: as thread-safe as the action.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "server/targets/executor.h"

namespace evbus::targets {

class SyncExecutor final : public Executor {
 public:
  using Action = std::function<absl::Status(const DeliveryRequest&)>;
  explicit SyncExecutor(Action action) : action_(std::move(action)) {}

  void Deliver(DeliveryRequest request, DeliveryCallback done) override {
    absl::Status s = action_(request);
    if (s.ok()) {
      std::move(done)(DeliveryResult::Success());
      return;
    }
    std::string msg(s.message());
    switch (s.code()) {
      case absl::StatusCode::kNotFound:
        std::move(done)(
            DeliveryResult::Failure(Outcome::kPermanent, "NO_RESOURCE", msg));
        return;
      case absl::StatusCode::kInvalidArgument:
        std::move(done)(DeliveryResult::Failure(Outcome::kPermanent,
                                                "INVALID_PARAMETER", msg));
        return;
      default:
        std::move(done)(DeliveryResult::Failure(Outcome::kRetryable,
                                                "INTERNAL_ERROR", msg));
    }
  }

 private:
  Action action_;
};

}  // namespace evbus::targets
