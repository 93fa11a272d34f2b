// File: tests/testing/evbusd_process.h
//
// EvbusdProcess: one real evbusd child process on 127.0.0.1 port 0, for
// tests and benchmarks that drive the daemon from C++. Its data lives in
// `dir`/data, its stderr in `dir`/<log name>, and its ports are read back
// from the ready file. Every wait is bounded.
//
// Example:
//   EvbusdProcess d(binary, temp_dir);
//   if (!d.Spawn("evbusd.log", {"--grpc-token-file", token}) ||
//       !d.WaitReady(std::chrono::seconds(30))) { ... }
//   auto channel = grpc::CreateChannel(d.grpc(), ...);
//   d.Kill(SIGTERM);
//
// Thread safety: thread-compatible.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace evbus::testing {

class EvbusdProcess {
 public:
  using Clock = std::chrono::steady_clock;

  EvbusdProcess(std::string binary, std::string dir)
      : binary_(std::move(binary)), dir_(std::move(dir)) {}
  ~EvbusdProcess();
  EvbusdProcess(const EvbusdProcess&) = delete;
  EvbusdProcess& operator=(const EvbusdProcess&) = delete;

  // Starts evbusd with `extra_args` after the data directory, listeners and
  // ready file. False (and a message on stderr) when it cannot be started.
  bool Spawn(const std::string& log_name,
             const std::vector<std::string>& extra_args = {});
  // Waits at most `timeout` for the ready file; fills grpc() and http().
  // False when it does not come, or evbusd exits first.
  bool WaitReady(std::chrono::seconds timeout);
  // False once the process has exited (it is then reaped).
  bool Alive();
  // Sends `sig` and reaps the process (after 30 s: SIGKILL).
  void Kill(int sig);

  pid_t pid() const { return pid_; }
  const std::string& grpc() const { return grpc_; }  // 127.0.0.1:PORT
  const std::string& http() const { return http_; }
  const std::string& log() const { return log_; }
  Clock::time_point spawned() const { return spawned_; }
  Clock::time_point ready() const { return ready_; }

 private:
  const std::string binary_;
  const std::string dir_;
  std::string log_;
  std::string ready_file_;
  pid_t pid_ = 0;
  Clock::time_point spawned_;
  Clock::time_point ready_;
  std::string grpc_;
  std::string http_;
};

}  // namespace evbus::testing
