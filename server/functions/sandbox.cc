#include "server/functions/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/common/proc_status.h"

namespace evbus::functions {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteSmallFile(const std::string& path, absl::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::write(fd, value.data(), value.size());
  ::close(fd);
  return n == static_cast<ssize_t>(value.size());
}

// The value of "key N" in a flat keyed file (memory.events, oom_control).
int64_t KeyedValue(const std::string& content, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    std::vector<absl::string_view> kv =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t v = 0;
    if (kv.size() == 2 && kv[0] == key && absl::SimpleAtoi(kv[1], &v)) {
      return v;
    }
  }
  return 0;
}

// The memory controller's mount point and our own cgroup path in it.
struct Hierarchy {
  std::string mount;
  std::string own;
  bool v2 = false;
};

std::optional<Hierarchy> FindMemoryHierarchy() {
  std::string self = ReadSmallFile("/proc/self/cgroup");
  std::string v1_own, v2_own;
  bool has_v2_line = false;
  for (absl::string_view line : absl::StrSplit(self, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    if (parts[0] == "0" && parts[1].empty()) {
      has_v2_line = true;
      v2_own = parts[2];
    }
    for (absl::string_view c : absl::StrSplit(parts[1], ',')) {
      if (c == "memory") v1_own = parts[2];
    }
  }
  if (!v1_own.empty()) {
    // v1 memory controller: find its mount.
    std::string mounts = ReadSmallFile("/proc/self/mountinfo");
    for (absl::string_view line :
         absl::StrSplit(mounts, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
      // ... mountpoint(4) ... - fstype source superoptions
      size_t dash = 0;
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "-") dash = i;
      }
      if (dash == 0 || dash + 3 >= f.size() || f[dash + 1] != "cgroup") {
        continue;
      }
      for (absl::string_view opt : absl::StrSplit(f[dash + 3], ',')) {
        if (opt == "memory") {
          return Hierarchy{std::string(f[4]), v1_own, false};
        }
      }
    }
  }
  if (has_v2_line) {
    std::string controllers =
        ReadSmallFile("/sys/fs/cgroup/cgroup.controllers");
    if (absl::StrContains(controllers, "memory")) {
      return Hierarchy{"/sys/fs/cgroup", v2_own, true};
    }
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<MemoryCgroups> MemoryCgroups::Detect(const std::string& name) {
  std::optional<Hierarchy> h = FindMemoryHierarchy();
  if (!h.has_value()) return nullptr;
  std::string own = h->own == "/" ? "" : h->own;
  if (h->v2) {
    // cgroup v2 enables a controller for children only in a cgroup without
    // processes of its own ("no internal processes"): when evbusd's own
    // cgroup refuses, move evbusd into a leaf beside the functions' parent
    // first (what systemd's Delegate= expects).
    std::string own_dir = absl::StrCat(h->mount, own);
    if (!WriteSmallFile(own_dir + "/cgroup.subtree_control", "+memory")) {
      std::string leaf = absl::StrCat(own_dir, "/evbusd-", ::getpid());
      if ((::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) ||
          !WriteSmallFile(leaf + "/cgroup.procs", absl::StrCat(::getpid())) ||
          !WriteSmallFile(own_dir + "/cgroup.subtree_control", "+memory")) {
        return nullptr;
      }
    }
  }
  std::string parent = absl::StrCat(h->mount, own, "/", name, "-", ::getpid());
  if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return nullptr;
  if (h->v2) {
    // Children need the memory controller enabled in the parent.
    if (!WriteSmallFile(parent + "/cgroup.subtree_control", "+memory")) {
      ::rmdir(parent.c_str());
      return nullptr;
    }
  }
  auto cgroups = std::unique_ptr<MemoryCgroups>(
      new MemoryCgroups(h->v2 ? "cgroup v2" : "cgroup v1", parent, h->v2));
  // Probe: a child with a limit must work.
  absl::StatusOr<std::string> probe = cgroups->Create("probe", 64 << 20);
  if (!probe.ok()) return nullptr;
  cgroups->Remove(*probe);
  return cgroups;
}

MemoryCgroups::MemoryCgroups(std::string kind, std::string parent, bool v2)
    : kind_(std::move(kind)), parent_(std::move(parent)), v2_(v2) {}

MemoryCgroups::~MemoryCgroups() { ::rmdir(parent_.c_str()); }

absl::StatusOr<std::string> MemoryCgroups::Create(const std::string& env_id,
                                                  int64_t limit_bytes) {
  std::string dir = absl::StrCat(parent_, "/", env_id);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot create cgroup ", dir, ": ", std::strerror(errno)));
  }
  std::string limit = absl::StrCat(limit_bytes);
  bool ok;
  if (v2_) {
    ok = WriteSmallFile(dir + "/memory.max", limit);
    WriteSmallFile(dir + "/memory.swap.max", "0");
    WriteSmallFile(dir + "/memory.oom.group", "1");
  } else {
    ok = WriteSmallFile(dir + "/memory.limit_in_bytes", limit);
    // Swap must not hide overuse (only when swap accounting is on).
    WriteSmallFile(dir + "/memory.memsw.limit_in_bytes", limit);
  }
  if (!ok) {
    ::rmdir(dir.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot set the memory limit of ", dir));
  }
  return dir;
}

std::string MemoryCgroups::ProcsFile(const std::string& dir) const {
  return dir + "/cgroup.procs";
}

std::optional<int64_t> MemoryCgroups::PeakBytes(const std::string& dir) const {
  std::string v = ReadSmallFile(
      dir + (v2_ ? "/memory.peak" : "/memory.max_usage_in_bytes"));
  int64_t bytes = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(v), &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

void MemoryCgroups::ResetPeak(const std::string& dir) const {
  if (!v2_) WriteSmallFile(dir + "/memory.max_usage_in_bytes", "0");
}

int64_t MemoryCgroups::OomKills(const std::string& dir) const {
  return KeyedValue(
      ReadSmallFile(dir + (v2_ ? "/memory.events" : "/memory.oom_control")),
      "oom_kill");
}

void MemoryCgroups::KillAll(const std::string& dir) const {
  if (v2_ && WriteSmallFile(dir + "/cgroup.kill", "1")) return;
  std::string procs = ReadSmallFile(ProcsFile(dir));
  for (absl::string_view line :
       absl::StrSplit(procs, '\n', absl::SkipEmpty())) {
    int pid = 0;
    if (absl::SimpleAtoi(line, &pid) && pid > 1) ::kill(pid, SIGKILL);
  }
}

void MemoryCgroups::Remove(const std::string& dir) const {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    KillAll(dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

absl::StatusOr<std::unique_ptr<Process>> Process::Spawn(
    const ProcessSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("no command");
  // Everything the child needs is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed.
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : spec.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int procs_fd = -1;
  if (!spec.cgroup_procs.empty()) {
    procs_fd = ::open(spec.cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
  }
  const char* work_dir = spec.work_dir.c_str();
  const char* tmp_dir = spec.tmp_dir.empty() ? nullptr : spec.tmp_dir.c_str();
  // A private /tmp would hide the code and runtime when they live under
  // /tmp themselves (a data directory in /tmp); TMPDIR still applies.
  const bool private_tmp =
      tmp_dir != nullptr && ::geteuid() == 0 && !spec.private_dirs.empty();

  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    if (dev_null >= 0) ::close(dev_null);
    if (procs_fd >= 0) ::close(procs_fd);
    return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(err)));
  }
  if (pid == 0) {
    // Child.
    ::setpgid(0, 0);
    if (procs_fd >= 0) {
      char buf[24];
      int n = 0;
      char digits[24];
      for (pid_t v = ::getpid(); v > 0; v /= 10) digits[n++] = '0' + v % 10;
      for (int i = 0; i < n; ++i) buf[i] = digits[n - 1 - i];
      if (::write(procs_fd, buf, n) != n) {
        const char msg[] = "evbus: cannot join the memory cgroup\n";
        (void)::write(2, msg, sizeof(msg) - 1);
        _exit(126);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    }
    if (dev_null >= 0) ::dup2(dev_null, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    if (::chdir(work_dir) != 0) {
      const char msg[] = "evbus: cannot enter the working directory\n";
      (void)::write(2, msg, sizeof(msg) - 1);
      _exit(126);
    }
    // System V IPC and POSIX message queues of its own: nothing the
    // environment leaves there outlives it or reaches another.
    if (::geteuid() == 0) (void)::unshare(CLONE_NEWIPC);
    if (private_tmp && ::unshare(CLONE_NEWNS) == 0 &&
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) {
      // Nothing one environment leaves there reaches another.
      for (const std::string& dir : spec.private_dirs) {
        (void)::mount(tmp_dir, dir.c_str(), nullptr, MS_BIND, nullptr);
      }
    }
    if (spec.gid.has_value()) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(*spec.gid) != 0) {
        const char msg[] = "evbus: cannot switch group\n";
        (void)::write(2, msg, sizeof(msg) - 1);
        _exit(126);
      }
    }
    if (spec.uid.has_value() && ::setuid(*spec.uid) != 0) {
      const char msg[] = "evbus: cannot switch user\n";
      (void)::write(2, msg, sizeof(msg) - 1);
      _exit(126);
    }
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    // Lambda's umask (evbusd's own may be 077, see daemon.cc).
    ::umask(022);
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "evbus: cannot execute the runtime: ";
    (void)::write(2, msg, sizeof(msg) - 1);
    const char* err = std::strerror(errno);
    (void)::write(2, err, std::strlen(err));
    (void)::write(2, "\n", 1);
    _exit(127);
  }
  ::setpgid(pid, pid);
  ::close(pipe_fds[1]);
  if (dev_null >= 0) ::close(dev_null);
  if (procs_fd >= 0) ::close(procs_fd);
  ::fcntl(pipe_fds[0], F_SETFL, ::fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<Process>(new Process(pid, pipe_fds[0]));
}

Process::~Process() {
  if (!reaped_) {
    Kill();
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  CloseOutput();
}

void Process::CloseOutput() {
  if (output_fd_ >= 0) {
    ::close(output_fd_);
    output_fd_ = -1;
  }
}

void Process::Kill() {
  if (reaped_) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
}

std::optional<int> Process::TryWait() {
  if (reaped_) return std::nullopt;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return std::nullopt;
  reaped_ = true;
  // Whatever the runtime started goes with it.
  ::kill(-pid_, SIGKILL);
  return status;
}

std::string Process::DescribeStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* name = sig == SIGKILL   ? "killed"
                       : sig == SIGSEGV ? "segmentation fault"
                       : sig == SIGABRT ? "aborted"
                       : sig == SIGTERM ? "terminated"
                                        : nullptr;
    return name != nullptr ? absl::StrCat("signal: ", name)
                           : absl::StrCat("signal: ", sig);
  }
  return absl::StrCat("exit status ", WEXITSTATUS(wait_status));
}

int64_t Process::PeakRssBytes() const {
  return common::ProcStatusKb(pid_, "VmHWM") * 1024;
}

std::vector<std::string> PrivateDirsFor(
    const std::vector<std::string>& needed) {
  std::vector<std::string> dirs;
  for (const char* shared : kSharedWritableDirs) {
    const std::string prefix = std::string(shared) + "/";
    bool blocked = false;
    for (const std::string& path : needed) {
      std::error_code ec;
      const std::string full = std::filesystem::absolute(path, ec).string();
      if (full == shared || full.rfind(prefix, 0) == 0) blocked = true;
    }
    if (!blocked) dirs.push_back(shared);
  }
  return dirs;
}

}  // namespace evbus::functions
