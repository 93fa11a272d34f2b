// File: server/common/logging.h
//
// One logging facade (Debian's abseil has no absl/log). Lines go to stderr as
//   2026-11-27T17:00:00.123Z INFO  daemon.cc:42] message
// Thread-safe: each line is written with a single write(2).
//
// Example:
//   EVBUS_LOG(INFO) << "listening on " << addr;
#pragma once

#include <sstream>
#include <string_view>

namespace evbus::common {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this severity are dropped. Default: kInfo.
void SetMinLogSeverity(LogSeverity s);
bool LogEnabled(LogSeverity s);

class LogMessage {
 public:
  LogMessage(LogSeverity severity, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

}  // namespace evbus::common

#define EVBUS_LOG_SEVERITY_DEBUG ::evbus::common::LogSeverity::kDebug
#define EVBUS_LOG_SEVERITY_INFO ::evbus::common::LogSeverity::kInfo
#define EVBUS_LOG_SEVERITY_WARNING ::evbus::common::LogSeverity::kWarning
#define EVBUS_LOG_SEVERITY_ERROR ::evbus::common::LogSeverity::kError

#define EVBUS_LOG(sev)                                                      \
  for (bool evbus_log_on_ =                                                 \
           ::evbus::common::LogEnabled(EVBUS_LOG_SEVERITY_##sev);           \
       evbus_log_on_; evbus_log_on_ = false)                                \
  ::evbus::common::LogMessage(EVBUS_LOG_SEVERITY_##sev, __FILE__, __LINE__) \
      .stream()
