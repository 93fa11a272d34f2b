#include "tests/testing/evbusd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/common/json.h"

extern char** environ;

namespace evbus::testing {

EvbusdProcess::~EvbusdProcess() { Kill(SIGKILL); }

bool EvbusdProcess::Spawn(const std::string& log_name,
                          const std::vector<std::string>& extra_args) {
  log_ = absl::StrCat(dir_, "/", log_name);
  ready_file_ = absl::StrCat(dir_, "/ready");
  std::error_code ec;
  std::filesystem::remove(ready_file_, ec);
  std::vector<std::string> args = {
      binary_,         "--data-dir",   absl::StrCat(dir_, "/data"),
      "--grpc-listen", "127.0.0.1:0",  "--http-listen",
      "127.0.0.1:0",   "--ready-file", ready_file_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  spawned_ = Clock::now();
  const int rc = posix_spawn(&pid_, binary_.c_str(), &actions, nullptr,
                             argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::fprintf(stderr, "cannot start %s: %s\n", binary_.c_str(),
                 std::strerror(rc));
    pid_ = 0;
    return false;
  }
  return true;
}

bool EvbusdProcess::WaitReady(std::chrono::seconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    struct stat st;
    if (::stat(ready_file_.c_str(), &st) == 0 && st.st_size > 0) {
      ready_ = Clock::now();
      std::ifstream in(ready_file_, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      absl::StatusOr<common::Json> doc =
          common::ParseJson(text.str(), "ready file");
      if (!doc.ok() || !doc->contains("grpc") || !doc->contains("http")) {
        std::fprintf(stderr, "bad ready file %s\n", ready_file_.c_str());
        return false;
      }
      grpc_ = (*doc)["grpc"].get<std::string>();
      http_ = (*doc)["http"].get<std::string>();
      return true;
    }
    if (!Alive()) {
      std::fprintf(stderr, "evbusd exited before ready; see %s\n",
                   log_.c_str());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::fprintf(stderr, "evbusd not ready after %lld s\n",
               static_cast<long long>(timeout.count()));
  return false;
}

bool EvbusdProcess::Alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = 0;
    return false;
  }
  return true;
}

void EvbusdProcess::Kill(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = 0;
}

}  // namespace evbus::testing
