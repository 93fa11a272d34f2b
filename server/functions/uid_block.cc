#include "server/functions/uid_block.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
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

namespace {

// The uids in [first, last] that some live (not zombie) process runs as
// (real or effective), with how many processes.
std::map<uid_t, int> LiveUidsIn(uid_t first, uid_t last) {
  std::map<uid_t, int> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end;
       !ec && it != end; it.increment(ec)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(it->path().filename().string(), &pid) || pid <= 1) {
      continue;
    }
    std::ifstream in(it->path() / "status");
    std::string line;
    bool zombie = false;
    while (std::getline(in, line)) {
      if (line.rfind("State:", 0) == 0) {
        zombie = line.find('Z') != std::string::npos;
        continue;
      }
      if (line.rfind("Uid:", 0) != 0) continue;
      if (zombie) break;
      // Uid: real effective saved filesystem
      std::vector<std::string> ids = absl::StrSplit(
          line.substr(4), absl::ByAnyChar(" \t"), absl::SkipEmpty());
      for (size_t i = 0; i < ids.size() && i < 2; ++i) {
        uint32_t uid = 0;
        if (absl::SimpleAtoi(ids[i], &uid) && uid >= first && uid <= last) {
          ++found[static_cast<uid_t>(uid)];
          break;
        }
      }
      break;
    }
  }
  return found;
}

}  // namespace

int KillProcessesOfUids(uid_t first, uid_t last) {
  int seen = 0;
  for (const auto& [uid, n] : LiveUidsIn(first, last)) seen += n;
  // One child takes each uid of the range in turn (real and effective, root
  // kept as the saved uid to come back) and sends kill(-1, SIGKILL): every
  // process of that uid at once, so that one forking in a loop cannot slip
  // through as it could between /proc scans. Twice, for what the first
  // round raced with.
  for (int round = 0; round < 2; ++round) {
    const pid_t child = ::fork();
    if (child < 0) break;
    if (child == 0) {
      for (uint64_t uid = first; uid <= last; ++uid) {
        if (::setresuid(static_cast<uid_t>(uid), static_cast<uid_t>(uid), 0) !=
            0) {
          continue;
        }
        (void)::kill(-1, SIGKILL);
        if (::setresuid(0, 0, 0) != 0) ::_exit(1);
      }
      ::_exit(0);
    }
    int status = 0;
    (void)::waitpid(child, &status, 0);
  }
  return seen;
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
  // The lock directory: created 0700, and used only if it is a real
  // directory (not a symlink) of this user's that nobody else may write.
  struct stat st;
  if (::lstat(lock_dir.c_str(), &st) != 0 && errno == ENOENT) {
    (void)::mkdir(lock_dir.c_str(), 0700);
  }
  if (::lstat(lock_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("function_uids: ", lock_dir,
                     " must be a directory of evbusd's alone (mode 0700)"));
  }
  if ((st.st_mode & 077) != 0) (void)::chmod(lock_dir.c_str(), 0700);
  // Blocks are aligned on multiples of kBlockSize whatever the range, so
  // that daemons given different ranges still lock the same files for the
  // same uids. A block is locked whole; this daemon uses (and clears) its
  // part inside [first, last].
  for (uint64_t k = first / kBlockSize; k <= last / kBlockSize; ++k) {
    const uint64_t block_first = k * kBlockSize;
    const uint64_t block_last = block_first + kBlockSize - 1;
    const std::string path =
        absl::StrCat(lock_dir, "/uids-", block_first, ".lock");
    const int fd =
        ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      continue;
    }
    // Only the part this daemon uses is cleared: uids of the block outside
    // the range were checked against nobody and may be people's.
    const uid_t use_first =
        static_cast<uid_t>(std::max<uint64_t>(first, block_first));
    const uid_t use_last =
        static_cast<uid_t>(std::min<uint64_t>(last, block_last));
    const int killed = KillProcessesOfUids(use_first, use_last);
    return std::unique_ptr<FunctionUidBlock>(
        new FunctionUidBlock(fd, use_first, use_last, killed));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("function_uids: every block of ", first, "-", last,
                   " is held by another evbusd"));
}

FunctionUidBlock::~FunctionUidBlock() { ::close(lock_fd_); }

}  // namespace evbus::functions
