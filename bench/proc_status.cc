#include "bench/proc_status.h"

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace evbus::bench {

int64_t ProcStatusKb(pid_t pid, const std::string& field) {
  if (pid <= 0) return 0;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::string digits;
    for (char c : line) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    int64_t kb = 0;
    (void)absl::SimpleAtoi(digits, &kb);
    return kb;
  }
  return 0;
}

}  // namespace evbus::bench
