#include "server/api/grpc/grpc_log.h"

#include <grpc/support/log.h>

#include <cstring>

#include "absl/time/clock.h"
#include "server/common/log_rate_limiter.h"
#include "server/common/logging.h"

namespace evbus::api {
namespace {

// Failed handshakes (anyone who can connect causes them) have a budget of
// their own, so that a flood of them does not hide gRPC's other lines.
common::LogRateLimiter& Limiter(bool handshake) {
  static auto* handshakes =
      new common::LogRateLimiter(kGrpcLogLinesPerMinute, absl::Minutes(1));
  static auto* others =
      new common::LogRateLimiter(kGrpcLogLinesPerMinute, absl::Minutes(1));
  return handshake ? *handshakes : *others;
}

void Sink(gpr_log_func_args* args) {
  const char* message = args->message != nullptr ? args->message : "";
  const bool handshake = std::strstr(message, "Handshake failed") != nullptr;
  uint64_t dropped = 0;
  if (!Limiter(handshake).Admit(absl::Now(), &dropped)) return;
  if (dropped > 0) {
    EVBUS_LOG(WARNING) << "gRPC: " << dropped
                       << (handshake ? " failed-handshake" : "")
                       << " log lines dropped (more than "
                       << kGrpcLogLinesPerMinute << " a minute)";
  }
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
      EVBUS_LOG(ERROR) << "gRPC: " << message << " (" << file << ":"
                       << args->line << ")";
      break;
  }
}

}  // namespace

void InstallGrpcLogSink() { gpr_set_log_function(Sink); }

}  // namespace evbus::api
