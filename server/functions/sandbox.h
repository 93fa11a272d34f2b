// File: server/functions/sandbox.h
//
// The operating-system side of an execution environment: a child process in
// its own process group, with a clean environment, its own working and
// temporary directories, stdout+stderr on one pipe, optionally an
// unprivileged user, and a memory cgroup (v2 `memory.max`, or the v1 memory
// controller) that caps it and reports its peak use and OOM kills. Where no
// cgroup can be made, memory is measured (peak RSS of the main process) but
// not enforced.
//
// Thread safety: MemoryCgroups is thread-safe; a Process is
// thread-compatible (its owner serializes calls).
//
// Example:
//   std::unique_ptr<MemoryCgroups> cgroups = MemoryCgroups::Detect("evbus");
//   ProcessSpec spec{.argv = {"/usr/bin/python3", "bootstrap.py"}, ...};
//   absl::StatusOr<std::unique_ptr<Process>> p = Process::Spawn(spec);
//   ... poll((*p)->output_fd()) ...; (*p)->Kill(); (*p)->Wait();
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace evbus::functions {

// One memory cgroup per environment, below a parent the daemon owns.
class MemoryCgroups {
 public:
  // Finds a writable memory controller (v2 unified or v1) and creates the
  // parent `<own cgroup>/<name>-<pid>`. nullptr when there is none.
  static std::unique_ptr<MemoryCgroups> Detect(const std::string& name);
  ~MemoryCgroups();  // removes the parent (its children must be gone)

  // "cgroup v2" or "cgroup v1".
  const std::string& kind() const { return kind_; }

  // Creates the cgroup of one environment with a hard limit; returns its
  // directory.
  absl::StatusOr<std::string> Create(const std::string& env_id,
                                     int64_t limit_bytes);
  // The file a child writes its pid into to join `dir`.
  std::string ProcsFile(const std::string& dir) const;
  // Highest usage since Create or the last ResetPeak (bytes).
  std::optional<int64_t> PeakBytes(const std::string& dir) const;
  // Restarts peak tracking (v1: writes max_usage_in_bytes; v2 cannot, so
  // the peak is since creation).
  void ResetPeak(const std::string& dir) const;
  // OOM kills inside `dir` so far.
  int64_t OomKills(const std::string& dir) const;
  // SIGKILLs every process left in `dir`.
  void KillAll(const std::string& dir) const;
  // Removes `dir` (after its processes are gone; retried briefly).
  void Remove(const std::string& dir) const;

 private:
  MemoryCgroups(std::string kind, std::string parent, bool v2);
  std::string kind_;
  std::string parent_;
  bool v2_;
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path
  std::vector<std::string> env;   // "KEY=value", the whole environment
  std::string work_dir;
  // Mounted over each of `private_dirs` in a private mount namespace when
  // that is allowed (root); TMPDIR points to it either way.
  std::string tmp_dir;
  // Where tmp_dir is mounted: normally /tmp, /var/tmp, /dev/shm and
  // /run/lock, less
  // those that hold something the child needs (PrivateDirsFor).
  std::vector<std::string> private_dirs;
  // The file to write the child's pid into (a cgroup's procs file); empty:
  // none.
  std::string cgroup_procs;
  // Switch to this user and group before exec (when evbusd runs as root).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// The shared writable directories an environment gets a private copy of.
inline constexpr const char* kSharedWritableDirs[] = {"/tmp", "/var/tmp",
                                                      "/dev/shm", "/run/lock"};

// Those of kSharedWritableDirs that none of
// `needed` (absolute paths the child reads: its code, runtime, working
// directory, interpreter) lies under: those a private copy may cover.
std::vector<std::string> PrivateDirsFor(const std::vector<std::string>& needed);

class Process {
 public:
  static absl::StatusOr<std::unique_ptr<Process>> Spawn(
      const ProcessSpec& spec);
  ~Process();  // kills and reaps if still running

  pid_t pid() const { return pid_; }
  // Read end of stdout+stderr, non-blocking.
  int output_fd() const { return output_fd_; }
  void CloseOutput();

  // SIGKILL to the whole process group.
  void Kill();
  // The exit status once the child has exited (reaps it), else nullopt.
  std::optional<int> TryWait();
  // "exit status N" or "signal: killed" (Go-style, as Lambda reports it).
  static std::string DescribeStatus(int wait_status);
  // Peak resident set size of the main process, bytes (VmHWM); 0 when the
  // process is gone.
  int64_t PeakRssBytes() const;

 private:
  Process(pid_t pid, int output_fd) : pid_(pid), output_fd_(output_fd) {}
  pid_t pid_;
  int output_fd_;
  bool reaped_ = false;
};

}  // namespace evbus::functions
