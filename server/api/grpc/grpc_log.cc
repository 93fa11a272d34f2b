#include "server/api/grpc/grpc_log.h"

#include <grpc/support/log.h>

#include "absl/time/clock.h"
#include "server/common/log_rate_limiter.h"
#include "server/common/logging.h"

namespace evbus::api {
namespace {

common::LogRateLimiter& Limiter() {
  static auto* limiter =
      new common::LogRateLimiter(kGrpcLogLinesPerMinute, absl::Minutes(1));
  return *limiter;
}

void Sink(gpr_log_func_args* args) {
  uint64_t dropped = 0;
  if (!Limiter().Admit(absl::Now(), &dropped)) return;
  if (dropped > 0) {
    EVBUS_LOG(WARNING) << "gRPC: " << dropped
                       << " log lines dropped (more than "
                       << kGrpcLogLinesPerMinute << " a minute)";
  }
  const char* message = args->message != nullptr ? args->message : "";
  const char* file = args->file != nullptr ? args->file : "?";
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      EVBUS_LOG(DEBUG) << "gRPC: " << message << " (" << file << ":"
                       << args->line << ")";
      break;
    case GPR_LOG_SEVERITY_INFO:
      EVBUS_LOG(INFO) << "gRPC: " << message << " (" << file << ":"
                      << args->line << ")";
      break;
    default:
      EVBUS_LOG(WARNING) << "gRPC: " << message << " (" << file << ":"
                         << args->line << ")";
      break;
  }
}

}  // namespace

void InstallGrpcLogSink() { gpr_set_log_function(Sink); }

}  // namespace evbus::api
