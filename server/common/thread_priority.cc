#include "server/common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace evbus::common {
namespace {

id_t CurrentThreadId() { return static_cast<id_t>(syscall(SYS_gettid)); }

}  // namespace

absl::Status LowerCurrentThreadPriority(int steps) {
  if (steps < 0 || steps > 19) {
    return absl::InvalidArgumentError(
        absl::StrCat("nice steps ", steps, " are not between 0 and 19"));
  }
  const int current = CurrentThreadNice();
  if (current == -1 && errno != 0) {  // -1 is also a valid nice value
    return absl::InternalError(
        absl::StrCat("getpriority: ", std::strerror(errno)));
  }
  const int nice = std::min(19, current + steps);
  if (setpriority(PRIO_PROCESS, CurrentThreadId(), nice) != 0) {
    return absl::InternalError(
        absl::StrCat("setpriority(", nice, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

int CurrentThreadNice() {
  errno = 0;  // getpriority returns -1 both for nice -1 and on error
  return getpriority(PRIO_PROCESS, CurrentThreadId());
}

}  // namespace evbus::common
