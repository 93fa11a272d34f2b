#include "server/functions/uid_block.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace evbus::functions {
namespace {

// Whether this process can switch to `uid` (and the group of the same
// number): a child tries. False in a user namespace that does not map it.
bool CanRunAs(uid_t uid) {
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    const bool ok = ::setgroups(0, nullptr) == 0 &&
                    ::setgid(static_cast<gid_t>(uid)) == 0 &&
                    ::setuid(uid) == 0;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The first user or group of the system (passwd, group) with an id in
// [first, last], as "user NAME (UID)"; empty when there is none.
std::string SystemIdIn(uid_t first, uid_t last) {
  std::string found;
  ::setpwent();
  for (passwd* pw = ::getpwent(); pw != nullptr; pw = ::getpwent()) {
    if (pw->pw_uid >= first && pw->pw_uid <= last) {
      found = absl::StrCat("user ", pw->pw_name, " (", pw->pw_uid, ")");
      break;
    }
  }
  ::endpwent();
  if (!found.empty()) return found;
  ::setgrent();
  for (group* gr = ::getgrent(); gr != nullptr; gr = ::getgrent()) {
    if (gr->gr_gid >= first && gr->gr_gid <= last) {
      found = absl::StrCat("group ", gr->gr_name, " (", gr->gr_gid, ")");
      break;
    }
  }
  ::endgrent();
  return found;
}

}  // namespace

int KillProcessesOfUids(uid_t first, uid_t last) {
  int killed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid) || pid <= 1) continue;
    std::ifstream in(it->path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Uid:", 0) != 0) continue;
      // Uid: real effective saved filesystem
      std::vector<std::string> ids = absl::StrSplit(
          line.substr(4), absl::ByAnyChar(" \t"), absl::SkipEmpty());
      for (size_t i = 0; i < ids.size() && i < 2; ++i) {
        uint32_t uid = 0;
        if (absl::SimpleAtoi(ids[i], &uid) && uid >= first && uid <= last) {
          if (::kill(pid, SIGKILL) == 0) ++killed;
          break;
        }
      }
      break;
    }
  }
  return killed;
}

absl::StatusOr<std::unique_ptr<FunctionUidBlock>> FunctionUidBlock::Claim(
    uid_t first, uid_t last, const std::string& lock_dir) {
  const std::string taken = SystemIdIn(first, last);
  if (!taken.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("function_uids: ", first, "-", last, " holds ", taken,
                     " of this system"));
  }
  if (!CanRunAs(first) || !CanRunAs(last)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "function_uids: cannot switch to uids ", first, "-", last, " here"));
  }
  std::error_code ec;
  std::filesystem::create_directories(lock_dir, ec);
  ::chmod(lock_dir.c_str(), 0700);
  struct stat st;
  if (::lstat(lock_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("function_uids: ", lock_dir,
                     " must be a directory of evbusd's "
                     "alone (mode 0700)"));
  }
  const uint64_t size = uint64_t{last} - first + 1;
  const uint64_t blocks = size < kBlockSize ? 1 : size / kBlockSize;
  for (uint64_t b = 0; b < blocks; ++b) {
    const uid_t block_first = static_cast<uid_t>(first + b * kBlockSize);
    const uid_t block_last =
        blocks == 1 ? last : static_cast<uid_t>(block_first + kBlockSize - 1);
    const std::string path =
        absl::StrCat(lock_dir, "/uids-", block_first, "-", block_last, ".lock");
    const int fd =
        ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      continue;
    }
    const int killed = KillProcessesOfUids(block_first, block_last);
    return std::unique_ptr<FunctionUidBlock>(
        new FunctionUidBlock(fd, block_first, block_last, killed));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("function_uids: all ", blocks, " blocks of ", first, "-",
                   last, " are held by other evbusd processes"));
}

FunctionUidBlock::~FunctionUidBlock() { ::close(lock_fd_); }

}  // namespace evbus::functions
