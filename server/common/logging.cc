#include "server/common/logging.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace evbus::common {
namespace {

std::atomic<int>& MinSeverity() {
  static std::atomic<int> min_severity{static_cast<int>(LogSeverity::kInfo)};
  return min_severity;
}

const char* SeverityName(LogSeverity s) {
  switch (s) {
    case LogSeverity::kDebug:
      return "DEBUG";
    case LogSeverity::kInfo:
      return "INFO ";
    case LogSeverity::kWarning:
      return "WARN ";
    case LogSeverity::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetMinLogSeverity(LogSeverity s) {
  MinSeverity().store(static_cast<int>(s));
}

bool LogEnabled(LogSeverity s) {
  return static_cast<int>(s) >= MinSeverity().load(std::memory_order_relaxed);
}

LogMessage::LogMessage(LogSeverity severity, const char* file, int line)
    : severity_(severity) {
  absl::string_view path(file);
  size_t slash = path.rfind('/');
  if (slash != absl::string_view::npos) path.remove_prefix(slash + 1);
  stream_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                              absl::UTCTimeZone())
          << ' ' << SeverityName(severity_) << ' ' << path << ':' << line
          << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  std::string line = stream_.str();
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace evbus::common
