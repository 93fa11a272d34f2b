#include "server/common/file_pages.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/common/proc_status.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21  // Linux 5.4
#endif

namespace evbus::common {

absl::StatusOr<ReleasedFilePages> ReleaseFileBackedPages() {
  ReleasedFilePages out;
  out.rss_file_before_kb = ProcStatusKb(::getpid(), "RssFile");
  std::ifstream maps("/proc/self/maps");
  if (!maps) return absl::UnavailableError("cannot read /proc/self/maps");
  // Lines: "lo-hi perms offset dev inode [path]".
  std::string line;
  int unsupported = 0;
  while (std::getline(maps, line)) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 6 || f[5].empty() || f[5][0] != '/') continue;
    const absl::string_view perms = f[1];
    if (perms.size() < 4 || perms[1] == 'w' || perms[3] == 's') continue;
    std::pair<absl::string_view, absl::string_view> range =
        absl::StrSplit(f[0], '-');
    uint64_t lo = 0;
    uint64_t hi = 0;
    if (!absl::SimpleHexAtoi(range.first, &lo) ||
        !absl::SimpleHexAtoi(range.second, &hi) || hi <= lo) {
      continue;
    }
    if (::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_PAGEOUT) != 0) {
      // EINVAL: an unknown advice, or a locked or special mapping; other
      // errors: e.g. a mapping that went away meanwhile.
      if (errno == EINVAL) ++unsupported;
      continue;
    }
    ++out.mappings;
  }
  if (out.mappings == 0 && unsupported > 0) {
    return absl::FailedPreconditionError(
        "this kernel has no madvise(MADV_PAGEOUT) (Linux 5.4 or later)");
  }
  out.rss_file_after_kb = ProcStatusKb(::getpid(), "RssFile");
  return out;
}

}  // namespace evbus::common
