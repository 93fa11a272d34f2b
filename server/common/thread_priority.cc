#include "server/common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace evbus::common {
namespace {

id_t CurrentThreadId() { return static_cast<id_t>(syscall(SYS_gettid)); }

}  // namespace

absl::Status SetCurrentThreadNice(int nice) {
  if (nice < 0 || nice > 19) {
    return absl::InvalidArgumentError(
        absl::StrCat("nice value ", nice, " is not between 0 and 19"));
  }
  if (setpriority(PRIO_PROCESS, CurrentThreadId(), nice) != 0) {
    return absl::InternalError(
        absl::StrCat("setpriority(", nice, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

int CurrentThreadNice() {
  errno = 0;
  return getpriority(PRIO_PROCESS, CurrentThreadId());
}

}  // namespace evbus::common
