// File: server/functions/uid_block.h
//
// FunctionUidBlock: the uids one evbusd gives its functions (one uid per
// function; FunctionPoolOptions::function_uids). Several evbusd on one host
// (as root) must not hand out the same uids, or their functions could read
// and signal each other: uids are cut into blocks of kBlockSize aligned on
// its multiples (whatever range each daemon is given), and each evbusd
// holds an flock on one block's lock file (in a root-only directory,
// /run/evbus by default: daemons must share it) for as long as it runs, and
// uses the block's part inside its range. A crashed evbusd's lock goes with
// it; the next holder first kills any process still running as a uid of
// the block (a function's process that outlived its daemon would otherwise
// share a uid with another function).
//
// Thread safety: thread-compatible; immutable once claimed.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace evbus::functions {

class FunctionUidBlock {
 public:
  static constexpr uid_t kBlockSize = 1000;

  // Claims the first free block meeting [first, last] (first() and last()
  // are its part inside the range), after checking that no user or group
  // of the system has an id in [first, last] and that this process can
  // switch to the range's ends. Then kills processes running as a uid of
  // that part.
  // FailedPrecondition (saying why) when the range cannot be used.
  static absl::StatusOr<std::unique_ptr<FunctionUidBlock>> Claim(
      uid_t first, uid_t last, const std::string& lock_dir = "/run/evbus");

  ~FunctionUidBlock();
  FunctionUidBlock(const FunctionUidBlock&) = delete;
  FunctionUidBlock& operator=(const FunctionUidBlock&) = delete;

  uid_t first() const { return first_; }
  uid_t last() const { return last_; }
  // Processes found running as a uid of the block when it was claimed (and
  // killed).
  int killed() const { return killed_; }

 private:
  FunctionUidBlock(int lock_fd, uid_t first, uid_t last, int killed)
      : lock_fd_(lock_fd), first_(first), last_(last), killed_(killed) {}
  const int lock_fd_;
  const uid_t first_;
  const uid_t last_;
  const int killed_;
};

// Kills (SIGKILL) every process whose real or effective uid lies in
// [first, last], each uid's at once (kill(-1) as that uid), in a few passes;
// returns how many processes the first pass saw.
int KillProcessesOfUids(uid_t first, uid_t last);

}  // namespace evbus::functions
