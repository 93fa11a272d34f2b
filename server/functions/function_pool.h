// File: server/functions/function_pool.h
//
// FunctionPool: runs functions. Each execution environment is a child
// process (a runtime client, or a `provided` function's own bootstrap) that
// long-polls its own Lambda Runtime API endpoint, served by evbusd on a
// loopback port (shared/spec/lambda-cloudwatch-sns.md §1–§2):
//
//   GET  /2018-06-01/runtime/invocation/next
//   POST /2018-06-01/runtime/invocation/{id}/response | /{id}/error
//   POST /2018-06-01/runtime/init/error
//
// An invocation goes to an idle environment of the same function revision
// (warm), or starts a new one (cold) when none is idle and the function's
// reserved concurrency and the daemon-wide limit allow it (otherwise it is
// throttled). One supervisor thread collects every environment's output
// into the function's log group (/aws/lambda/<name>, with START, END and
// REPORT lines), kills environments whose invocation timed out (the whole
// process group and cgroup), notices crashes and OOM kills, and reaps
// environments idle for longer than `idle_timeout`.
//
// Thread safety: thread-safe. Callbacks run on pool threads, never under
// the pool's lock.
//
// Example:
//   FunctionPool pool(functions, logs, registry, clock, options);
//   EVBUS_RETURN_IF_ERROR(pool.Start());
//   InvokeResult r = pool.InvokeAndWait("health-check", R"({"x":1})");
//   pool.Stop();
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/functions/function_registry.h"
#include "server/functions/sandbox.h"
#include "server/metrics/registry.h"
#include "server/storage/log_store.h"

namespace evbus::functions {

struct FunctionPoolOptions {
  std::string account = "123456789012";
  std::string region = "us-east-1";
  // Per-environment working directories: <data-dir>/functions/run.
  std::string work_root;
  // Where the bundled runtime clients are written at Start.
  std::string runtime_root;
  std::string python = "/usr/bin/python3";
  std::string node = "/usr/bin/node";
  // Idle environments older than this are stopped. Default: 5 minutes.
  absl::Duration idle_timeout = absl::Minutes(5);
  // Environments busy at once, all functions together (Lambda's account
  // concurrency). Default: 64.
  int max_concurrency = 64;
  // The Init phase may take this long. Default: 10 s (Lambda's).
  absl::Duration init_limit = absl::Seconds(10);
  // After an environment of a function fails its Init phase (an init error,
  // an exit or a timeout before the first `next`), cold starts of the same
  // revision wait this long, doubling per consecutive failure up to
  // `init_failure_backoff_max`; invocations needing a cold start meanwhile
  // fail at once with the last init error instead of starting a process
  // that would fail the same way. A successful init, or a new revision,
  // ends it. Default: 100 ms, up to 10 s.
  absl::Duration init_failure_backoff = absl::Milliseconds(100);
  absl::Duration init_failure_backoff_max = absl::Seconds(10);
  // Run environments as this user/group (set when evbusd runs as root).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // When set (evbusd as root, `--function-uids FIRST-LAST`): each function
  // runs as a uid of its own from [first, last], its group the same number,
  // instead of `uid`/`gid`. Its code directory becomes readable by that
  // group alone (root's, 0750: read-only to the function), its working
  // directories that uid's alone (0700), and its environments' Runtime API
  // answers only connections whose socket that uid owns (LoopbackPeerUid),
  // so functions can neither read, signal or trace each other nor take or
  // answer each other's invocations. Uids are handed out in the order
  // functions first start; once all are out, those of deleted functions are
  // taken back.
  std::optional<std::pair<uid_t, uid_t>> function_uids;
  // Try to enforce memory with cgroups. Default: true.
  bool use_cgroups = true;
};

// What one invocation did, for metrics (AWS/Lambda) and alarms.
struct InvocationRecord {
  std::string function_name;
  absl::Time start;         // when the invocation started (clock time)
  absl::Duration duration;  // handler time
  bool error = false;       // function error, timeout, crash, OOM
  bool throttled = false;   // rejected before running
  bool async = false;
  absl::Duration async_age;  // queue time of an asynchronous event
  int concurrency = 0;       // the function's busy environments then
};

// InvokeResult::error_type of a throttle by a reserved concurrency of 0
// (asynchronous events then go to the dead letter without retries).
inline constexpr char kReservedConcurrencyZero[] = "ReservedConcurrencyZero";

struct InvokeResult {
  enum class Kind {
    kSuccess,
    kFunctionError,  // ran and failed: payload is the error JSON
    kThrottled,      // TooManyRequestsException (status set)
    kFailed,         // could not run: not found, cannot start (status set)
  };
  Kind kind = Kind::kSuccess;
  std::string payload;
  std::string function_error;  // "Unhandled" for kFunctionError
  std::string error_type;      // e.g. Sandbox.Timedout, Runtime.ExitError
  std::string request_id;
  std::string log_tail;  // this invocation's log lines (last 4 KB)
  absl::Status status;   // for kThrottled and kFailed
  // kFailed because evbusd is stopping (the call never ran, or was cut
  // short): not an attempt for a queued invocation.
  bool interrupted = false;
};
using InvokeCallback = absl::AnyInvocable<void(InvokeResult) &&>;

struct InvokeOptions {
  bool async = false;
  // For asynchronous events: when the event was queued (AsyncEventAge).
  std::optional<absl::Time> queued;
  // Used as the invocation's request id when set.
  std::string request_id;
  // Set for a queued asynchronous event: the Function.incarnation it was
  // queued for. A function created since under the same name does not run
  // it (NotFound, as when the function is gone).
  std::string incarnation;
};

class FunctionPool {
 public:
  FunctionPool(FunctionRegistry& functions, storage::LogStore& logs,
               metrics::Registry& registry, common::Clock& clock,
               FunctionPoolOptions options);
  ~FunctionPool();
  FunctionPool(const FunctionPool&) = delete;
  FunctionPool& operator=(const FunctionPool&) = delete;

  // Writes the runtime clients, finds a memory cgroup, starts the
  // supervisor.
  absl::Status Start();
  // Kills every environment; pending invocations fail. Idempotent.
  void Stop();

  // Runs `name` with `payload`; `done` gets the result.
  void Invoke(const std::string& name, std::string payload,
              InvokeOptions options, InvokeCallback done);
  // Invoke, waiting for the result (bounded by the function's timeout plus
  // the init limit).
  InvokeResult InvokeAndWait(const std::string& name, std::string payload,
                             InvokeOptions options = {});

  // Stops the idle environments of `name` (its code or configuration
  // changed, or it was deleted); busy ones finish their invocation first.
  void Retire(const std::string& name);

  // Observes every invocation (the metric store subscribes).
  void SetObserver(std::function<void(const InvocationRecord&)> observer);

  // How memory limits are applied: "cgroup v1", "cgroup v2" or
  // "measured (not enforced)".
  std::string MemoryEnforcement() const;

  // Environments of `name` (idle + busy).
  int EnvironmentCount(const std::string& name) const;

 private:
  struct Invocation;
  struct Environment;
  struct Completion;
  // The last init failures of one function (see init_failure_backoff).
  struct InitFailures {
    int64_t revision = 0;
    int consecutive = 0;
    absl::Time retry_at;  // real time
    std::string error_type;
    std::string payload_type;  // errorType of a payload built from message
    std::string body;          // the runtime's init error, or empty
    std::string message;       // otherwise: "Error: ..." after the request id
  };

  void Supervise();
  // The uid of function `name` under options_.function_uids (assigned on
  // first use); ResourceExhausted when the range is used up.
  absl::StatusOr<uid_t> FunctionUidLocked(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts an environment for `fn` and hands it `inv`.
  absl::Status SpawnLocked(const evbus::v1::Function& fn,
                           std::shared_ptr<Invocation> inv)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RegisterRoutes(Environment* env);
  // Runtime API handlers.
  void HandleNext(Environment* env, std::string& body,
                  std::vector<std::pair<std::string, std::string>>& headers,
                  int& status);
  void HandleResult(Environment* env, const std::string& request_id, bool error,
                    std::string body, std::string error_header,
                    std::string& reply, int& status);
  void HandleInitError(Environment* env, std::string body);
  // Notes that `env` failed its Init phase.
  void RecordInitFailureLocked(const Environment& env, std::string error_type,
                               std::string body, std::string payload_type,
                               std::string message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The result for an invocation of `fn` that needs a cold start while the
  // function's init failure backoff lasts; nullopt when it may start.
  std::optional<InvokeResult> InitBackoffLocked(const evbus::v1::Function& fn,
                                                const Invocation& inv)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Ends the current invocation of `env` and builds its completion.
  Completion FinishLocked(Environment* env, InvokeResult result,
                          const std::string& report_status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver(std::vector<Completion> completions);
  void DrainOutputLocked(Environment* env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LogLocked(Environment* env, std::string line)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void KillLocked(Environment* env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Destroy(std::unique_ptr<Environment> env);
  int64_t MaxMemoryUsedMbLocked(Environment* env)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FunctionRegistry& functions_;
  storage::LogStore& logs_;
  metrics::Registry& registry_;
  common::Clock& clock_;
  const FunctionPoolOptions options_;
  std::unique_ptr<MemoryCgroups> cgroups_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Environment>> envs_
      ABSL_GUARDED_BY(mu_);
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, InitFailures> init_failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uid_t> function_uid_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ = false;
  std::function<void(const InvocationRecord&)> observer_;
  std::thread supervisor_;
};

}  // namespace evbus::functions
