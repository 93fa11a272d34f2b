#include "server/functions/function_pool.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "httplib.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/logging.h"
#include "server/functions/function_config.h"
#include "server/functions/loopback_peer.h"
#include "server/functions/runtime_clients.h"
#include "server/functions/uid_block.h"

namespace evbus::functions {
namespace {

namespace fs = std::filesystem;

// Lambda's largest response payload (6 MiB + 100 bytes).
constexpr size_t kMaxResponseBytes = 6 * 1024 * 1024 + 100;
constexpr size_t kLogTailBytes = 4096;
constexpr size_t kMaxLineBytes = 256 * 1024;

std::string ErrorJson(absl::string_view type, absl::string_view message) {
  common::Json j = common::Json::object();
  j["errorMessage"] = std::string(message);
  j["errorType"] = std::string(type);
  return common::DumpJson(j);
}

// errorType of an error body, or "" when it has none.
std::string ErrorTypeOf(const std::string& body) {
  absl::StatusOr<common::Json> j = common::ParseJson(body);
  if (j.ok() && j->is_object()) {
    auto it = j->find("errorType");
    if (it != j->end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

std::string TraceId() {
  std::string hex = common::NewUuidV4();
  hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
  return absl::StrFormat(
      "Root=1-%08x-%s;Parent=%s;Sampled=0",
      static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now())),
      hex.substr(0, 24), hex.substr(16, 16));
}

std::string LogStreamName(absl::Time now) {
  std::string hex = common::NewUuidV4();
  hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
  return absl::StrCat(absl::FormatTime("%Y/%m/%d", now, absl::UTCTimeZone()),
                      "/[$LATEST]", hex);
}

std::string ExecutionEnv(const evbus::v1::Function& fn) {
  switch (RuntimeKindOf(fn.runtime())) {
    case RuntimeKind::kPython:
      return absl::StrCat("AWS_Lambda_", fn.runtime() == "python3"
                                             ? std::string("python3")
                                             : fn.runtime());
    case RuntimeKind::kNodejs:
      return absl::StrCat("AWS_Lambda_", fn.runtime());
    default:
      return "";
  }
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace

struct FunctionPool::Invocation {
  std::string request_id;
  std::string payload;
  std::string trace_id;
  InvokeCallback done;
  bool async = false;
  absl::Time queued;       // clock time the event was queued (async)
  absl::Time clock_start;  // clock time the invocation started
  absl::Time started;      // real time /next handed it out
  absl::Time deadline;     // real time
  bool delivered = false;
  bool cold = false;
  std::optional<absl::Duration> init_duration;
  std::string log;      // this invocation's log lines (tail kept)
  int concurrency = 0;  // the function's busy environments when it started
};

struct FunctionPool::Environment {
  enum class State { kStarting, kIdle, kBusy, kDead };
  std::string id;
  evbus::v1::Function fn;
  State state = State::kStarting;
  std::unique_ptr<httplib::Server> server;
  std::thread server_thread;
  int port = 0;
  // The only uid whose connections the Runtime API answers (per-function
  // uids); nullopt: any.
  std::optional<uid_t> peer_uid;
  std::unique_ptr<Process> process;
  std::string cgroup_dir;
  std::string work_dir;
  std::string log_group;
  std::shared_ptr<Invocation> current;
  absl::Time spawned;    // real time
  absl::Time last_used;  // real time
  std::string partial;   // output not yet ended by a newline
  std::optional<int> exit_status;
  int64_t peak_rss = 0;  // last VmHWM seen (no cgroup)
};

struct FunctionPool::Completion {
  InvokeCallback done;
  InvokeResult result;
  std::optional<InvocationRecord> record;
};

FunctionPool::FunctionPool(FunctionRegistry& functions, storage::LogStore& logs,
                           metrics::Registry& registry, common::Clock& clock,
                           FunctionPoolOptions options)
    : functions_(functions),
      logs_(logs),
      registry_(registry),
      clock_(clock),
      options_(std::move(options)) {}

FunctionPool::~FunctionPool() { Stop(); }

absl::Status FunctionPool::Start() {
  absl::Status written = WriteRuntimeClients(options_.runtime_root);
  if (!written.ok()) return written;
  std::error_code ec;
  fs::remove_all(options_.work_root, ec);  // leftovers of a previous run
  fs::create_directories(options_.work_root, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", options_.work_root, ": ", ec.message()));
  }
  // Each environment's directory below is its user's; the function's user
  // only needs to pass through this one.
  ::chmod(options_.work_root.c_str(), 0711);
  // A private /tmp (or /var/tmp) would hide the function's own code and
  // runtime when they live there: say so once, as functions then share the
  // host's.
  if (::geteuid() == 0) {
    const std::vector<std::string> covered =
        PrivateDirsFor({options_.work_root, options_.runtime_root});
    for (const char* shared : kSharedWritableDirs) {
      if (std::find(covered.begin(), covered.end(), shared) != covered.end()) {
        continue;
      }
      EVBUS_LOG(WARNING) << "functions: the data directory is under " << shared
                         << ", so functions get no private " << shared
                         << " (they share the host's); put --data-dir "
                            "elsewhere for one";
    }
  }
  if (options_.use_cgroups) cgroups_ = MemoryCgroups::Detect("evbus-functions");
  EVBUS_LOG(INFO) << "functions: memory limits "
                  << (cgroups_ ? "enforced with " + cgroups_->kind()
                               : std::string("measured, not enforced (no "
                                             "writable memory cgroup)"));
  started_ = true;
  supervisor_ = std::thread([this] { Supervise(); });
  return absl::OkStatus();
}

std::string FunctionPool::MemoryEnforcement() const {
  return cgroups_ ? cgroups_->kind() : "measured (not enforced)";
}

void FunctionPool::SetObserver(
    std::function<void(const InvocationRecord&)> observer) {
  observer_ = std::move(observer);
}

int FunctionPool::EnvironmentCount(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [id, env] : envs_) {
    if (env->fn.function_name() == name &&
        env->state != Environment::State::kDead) {
      ++n;
    }
  }
  return n;
}

void FunctionPool::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || !started_) {
      stopping_ = true;
      return;
    }
    stopping_ = true;
    for (auto& [id, env] : envs_) KillLocked(env.get());
  }
  if (supervisor_.joinable()) supervisor_.join();
  std::vector<Completion> completions;
  std::vector<std::unique_ptr<Environment>> envs;
  {
    absl::MutexLock lock(&mu_);
    // Every invocation is finished before any environment leaves envs_:
    // FinishLocked looks at the other environments.
    for (auto& [id, env] : envs_) {
      if (env->current != nullptr) {
        InvokeResult r;
        r.kind = InvokeResult::Kind::kFailed;
        r.status = absl::UnavailableError("evbusd is stopping");
        r.interrupted = true;
        completions.push_back(FinishLocked(env.get(), std::move(r), "error"));
      }
      env->state = Environment::State::kDead;
    }
    for (auto& [id, env] : envs_) envs.push_back(std::move(env));
    envs_.clear();
  }
  Deliver(std::move(completions));
  for (auto& env : envs) Destroy(std::move(env));
  cgroups_.reset();
}

void FunctionPool::Invoke(const std::string& name, std::string payload,
                          InvokeOptions options, InvokeCallback done) {
  auto inv = std::make_shared<Invocation>();
  inv->request_id =
      options.request_id.empty() ? common::NewUuidV4() : options.request_id;
  inv->payload = std::move(payload);
  inv->trace_id = TraceId();
  inv->done = std::move(done);
  inv->async = options.async;
  inv->queued = options.queued.value_or(clock_.Now());

  std::vector<Completion> immediate;
  absl::StatusOr<evbus::v1::Function> fn = functions_.Get(name);
  if (fn.ok() && !options.incarnation.empty() && !fn->incarnation().empty() &&
      fn->incarnation() != options.incarnation) {
    fn = common::AwsError(
        absl::StatusCode::kNotFound, "ResourceNotFoundException",
        absl::StrCat("Function not found: ", fn->function_arn(),
                     " (deleted and created again since the event was "
                     "queued)"));
  }
  if (!fn.ok()) {
    Completion c;
    c.done = std::move(inv->done);
    c.result.kind = InvokeResult::Kind::kFailed;
    c.result.status = fn.status();
    immediate.push_back(std::move(c));
    Deliver(std::move(immediate));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    int busy_fn = 0;
    Environment* idle = nullptr;
    for (auto& [id, env] : envs_) {
      if (env->fn.function_name() != fn->function_name()) continue;
      if (env->current != nullptr) ++busy_fn;
      if (env->state == Environment::State::kIdle &&
          env->fn.revision() == fn->revision() &&
          (idle == nullptr || env->last_used > idle->last_used)) {
        idle = env.get();
      }
    }
    bool reserved_cap = fn->has_reserved_concurrent_executions() &&
                        busy_fn >= fn->reserved_concurrent_executions();
    if (stopping_) {
      Completion c;
      c.done = std::move(inv->done);
      c.result.kind = InvokeResult::Kind::kFailed;
      c.result.status = absl::UnavailableError("evbusd is stopping");
      c.result.interrupted = true;
      immediate.push_back(std::move(c));
    } else if (reserved_cap || busy_ >= options_.max_concurrency) {
      Completion c;
      c.done = std::move(inv->done);
      c.result.kind = InvokeResult::Kind::kThrottled;
      c.result.request_id = inv->request_id;
      if (reserved_cap && fn->reserved_concurrent_executions() == 0) {
        c.result.error_type = kReservedConcurrencyZero;
      }
      c.result.status = common::AwsError(
          absl::StatusCode::kResourceExhausted, "TooManyRequestsException",
          absl::StrCat("Rate Exceeded. (Reason: ",
                       reserved_cap
                           ? "ReservedFunctionConcurrentInvocationLimitExceeded"
                           : "ConcurrentInvocationLimitExceeded",
                       ")"));
      InvocationRecord record;
      record.function_name = fn->function_name();
      record.start = clock_.Now();
      record.throttled = true;
      record.async = inv->async;
      c.record = record;
      registry_
          .GetCounter("evbus_function_throttles_total",
                      "Invocations rejected because the function's reserved "
                      "concurrency or the daemon-wide limit was reached.",
                      {{"function", fn->function_name()}})
          .Increment();
      immediate.push_back(std::move(c));
    } else if (idle != nullptr) {
      inv->concurrency = busy_fn + 1;
      idle->current = inv;
      idle->state = Environment::State::kBusy;
      ++busy_;
    } else if (std::optional<InvokeResult> backoff =
                   InitBackoffLocked(*fn, *inv)) {
      Completion c;
      c.done = std::move(inv->done);
      c.result = *std::move(backoff);
      InvocationRecord record;
      record.function_name = fn->function_name();
      record.start = clock_.Now();
      record.error = true;
      record.async = inv->async;
      record.async_age = record.start - inv->queued;
      record.concurrency = busy_fn;
      c.record = record;
      immediate.push_back(std::move(c));
    } else {
      inv->concurrency = busy_fn + 1;
      absl::Status spawned = SpawnLocked(*fn, inv);
      if (!spawned.ok()) {
        Completion c;
        c.done = std::move(inv->done);
        c.result.kind = InvokeResult::Kind::kFailed;
        c.result.status = spawned;
        immediate.push_back(std::move(c));
      }
    }
  }
  Deliver(std::move(immediate));
}

InvokeResult FunctionPool::InvokeAndWait(const std::string& name,
                                         std::string payload,
                                         InvokeOptions options) {
  struct Shared {
    absl::Notification done;
    InvokeResult result;
  };
  auto shared = std::make_shared<Shared>();
  absl::Duration limit = options_.init_limit + absl::Seconds(10);
  absl::StatusOr<evbus::v1::Function> fn = functions_.Get(name);
  if (fn.ok()) limit += absl::Seconds(fn->timeout());
  Invoke(name, std::move(payload), std::move(options),
         [shared](InvokeResult r) {
           shared->result = std::move(r);
           shared->done.Notify();
         });
  if (!shared->done.WaitForNotificationWithTimeout(limit)) {
    InvokeResult r;
    r.kind = InvokeResult::Kind::kFailed;
    r.status = absl::DeadlineExceededError("the invocation did not finish");
    return r;
  }
  return std::move(shared->result);
}

void FunctionPool::Retire(const std::string& name) {
  absl::MutexLock lock(&mu_);
  init_failures_.erase(name);
  for (auto& [id, env] : envs_) {
    if (env->fn.function_name() == name &&
        env->state == Environment::State::kIdle) {
      KillLocked(env.get());
      env->state = Environment::State::kDead;
    }
  }
}

absl::StatusOr<uid_t> FunctionPool::FunctionUidLocked(const std::string& name) {
  auto it = function_uid_.find(name);
  if (it != function_uid_.end()) return it->second;
  const auto [first, last] = *options_.function_uids;
  const uint64_t next = uint64_t{first} + function_uid_.size();
  if (next <= last) {
    function_uid_.emplace(name, static_cast<uid_t>(next));
    return static_cast<uid_t>(next);
  }
  // All given out: take back the uid of a function that no longer exists,
  // after killing whatever still runs as it (an environment's process that
  // escaped its process group and cgroup would otherwise share it).
  for (auto old = function_uid_.begin(); old != function_uid_.end(); ++old) {
    if (functions_.Get(old->first).ok()) continue;
    const uid_t uid = old->second;
    bool busy = false;
    for (const auto& [id, env] : envs_) {
      if (env->peer_uid == uid && env->state != Environment::State::kDead) {
        busy = true;
      }
    }
    if (busy) continue;
    KillProcessesOfUids(uid, uid);
    function_uid_.erase(old);
    function_uid_.emplace(name, uid);
    return uid;
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "function_uids: all ", uint64_t{last} - first + 1,
      " uids are taken by functions; no uid left for function ", name));
}

namespace {

// Makes `dir` and everything in it root's with group `gid`, the directory
// itself 0750: the function's processes (that group) read its code and
// cannot change it, as Lambda's /var/task is read-only; other functions
// cannot enter it. Done once per group (code directories are handed over
// on a function's first start after evbusd starts).
absl::Status ShareTreeWithGroup(const std::string& dir, gid_t gid) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot stat ", dir));
  }
  if (st.st_uid == 0 && st.st_gid == gid && (st.st_mode & 07777) == 0750) {
    return absl::OkStatus();
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), 0, gid) != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot give ", it->path().string(), " to group ", gid));
    }
  }
  if (ec || ::chown(dir.c_str(), 0, gid) != 0 ||
      ::chmod(dir.c_str(), 0750) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot give ", dir, " to group ", gid));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FunctionPool::SpawnLocked(const evbus::v1::Function& fn,
                                       std::shared_ptr<Invocation> inv) {
  std::optional<uid_t> uid = options_.uid;
  std::optional<gid_t> gid = options_.gid;
  if (options_.function_uids.has_value()) {
    absl::StatusOr<uid_t> own = FunctionUidLocked(fn.function_name());
    if (!own.ok()) return own.status();
    uid = *own;
    gid = static_cast<gid_t>(*own);
  }
  auto env = std::make_unique<Environment>();
  if (options_.function_uids.has_value()) env->peer_uid = uid;
  std::string uuid = common::NewUuidV4();
  env->id = absl::StrCat("env-", uuid.substr(0, 8), uuid.substr(9, 4));
  env->fn = fn;
  env->log_group = LogGroupOf(fn.function_name());
  env->work_dir = absl::StrCat(options_.work_root, "/", env->id);
  std::string tmp_dir = env->work_dir + "/tmp";
  std::error_code ec;
  fs::create_directories(tmp_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", tmp_dir, ": ", ec.message()));
  }
  if (uid.has_value()) {
    (void)::chown(env->work_dir.c_str(), *uid,
                  gid.value_or(static_cast<gid_t>(-1)));
    (void)::chown(tmp_dir.c_str(), *uid, gid.value_or(static_cast<gid_t>(-1)));
  }
  std::string code_dir = functions_.CodeDir(fn);
  if (env->peer_uid.has_value()) {
    // The function's own: no other function may read its code or enter its
    // working directory.
    ::chmod(env->work_dir.c_str(), 0700);
    absl::Status owned =
        ShareTreeWithGroup(code_dir, static_cast<gid_t>(*env->peer_uid));
    if (!owned.ok()) {
      fs::remove_all(env->work_dir, ec);
      return owned;
    }
  }
  ProcessSpec spec;
  RuntimeKind kind = RuntimeKindOf(fn.runtime());
  std::string runtime_dir;
  switch (kind) {
    case RuntimeKind::kPython:
      runtime_dir = options_.runtime_root + "/python";
      spec.argv = {options_.python, "-u", runtime_dir + "/bootstrap.py"};
      break;
    case RuntimeKind::kNodejs:
      runtime_dir = options_.runtime_root + "/nodejs";
      spec.argv = {options_.node, runtime_dir + "/bootstrap.js"};
      break;
    case RuntimeKind::kProvided:
      runtime_dir = code_dir;
      spec.argv = {code_dir + "/bootstrap"};
      if (::access(spec.argv[0].c_str(), X_OK) != 0) {
        fs::remove_all(env->work_dir, ec);
        Completion c;
        c.done = std::move(inv->done);
        c.result.kind = InvokeResult::Kind::kFunctionError;
        c.result.function_error = "Unhandled";
        c.result.error_type = "Runtime.InvalidEntrypoint";
        c.result.request_id = inv->request_id;
        c.result.payload = ErrorJson(
            "Runtime.InvalidEntrypoint",
            absl::StrCat("RequestId: ", inv->request_id,
                         " Error: Couldn't find valid bootstrap(s): [",
                         code_dir, "/bootstrap]"));
        std::vector<Completion> v;
        v.push_back(std::move(c));
        // Delivered by the caller's thread after the lock is released.
        std::thread([this, v = std::move(v)]() mutable {
          Deliver(std::move(v));
        }).detach();
        return absl::OkStatus();
      }
      break;
    case RuntimeKind::kUnknown:
      return InvalidParameter(absl::StrCat("The runtime parameter of ",
                                           fn.runtime(), " is not supported."));
  }

  // The Runtime API of this environment.
  env->server = std::make_unique<httplib::Server>();
  env->server->new_task_queue = [] { return new httplib::ThreadPool(3); };
  env->server->set_payload_max_length(kMaxResponseBytes + 1024 * 1024);
  // Small request/response pairs: without TCP_NODELAY, Nagle and delayed
  // ACKs add ~40 ms to every invocation.
  env->server->set_tcp_nodelay(true);
  RegisterRoutes(env.get());
  env->port = env->server->bind_to_any_port("127.0.0.1");
  if (env->port <= 0) {
    fs::remove_all(env->work_dir, ec);
    return absl::UnavailableError("cannot listen for the Runtime API");
  }
  httplib::Server* server = env->server.get();
  env->server_thread = std::thread([server] { server->listen_after_bind(); });

  absl::Time now = absl::Now();
  spec.env = {
      absl::StrCat("AWS_LAMBDA_RUNTIME_API=127.0.0.1:", env->port),
      absl::StrCat("_HANDLER=", fn.handler()),
      absl::StrCat("LAMBDA_TASK_ROOT=", code_dir),
      absl::StrCat("LAMBDA_RUNTIME_DIR=", runtime_dir),
      absl::StrCat("AWS_LAMBDA_FUNCTION_NAME=", fn.function_name()),
      "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
      absl::StrCat("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=", fn.memory_size()),
      absl::StrCat("AWS_LAMBDA_LOG_GROUP_NAME=", env->log_group),
      absl::StrCat("AWS_LAMBDA_LOG_STREAM_NAME=", LogStreamName(now)),
      "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
      absl::StrCat("AWS_REGION=", options_.region),
      absl::StrCat("AWS_DEFAULT_REGION=", options_.region),
      "TZ=:UTC",
      "LANG=C.UTF-8",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      absl::StrCat("TMPDIR=", tmp_dir),
  };
  std::string exec_env = ExecutionEnv(fn);
  if (!exec_env.empty()) {
    spec.env.push_back(absl::StrCat("AWS_EXECUTION_ENV=", exec_env));
  }
  for (const auto& [key, value] : fn.environment()) {
    spec.env.push_back(absl::StrCat(key, "=", value));
  }
  spec.work_dir = env->work_dir;
  spec.tmp_dir = tmp_dir;
  spec.private_dirs =
      PrivateDirsFor({code_dir, options_.runtime_root, env->work_dir,
                      spec.argv.front(), spec.argv.back()});
  spec.uid = uid;
  spec.gid = gid;
  if (cgroups_ != nullptr) {
    absl::StatusOr<std::string> dir = cgroups_->Create(
        env->id, static_cast<int64_t>(fn.memory_size()) * 1024 * 1024);
    if (dir.ok()) {
      env->cgroup_dir = *dir;
      spec.cgroup_procs = cgroups_->ProcsFile(*dir);
    } else {
      EVBUS_LOG(WARNING) << "functions: " << dir.status();
    }
  }
  absl::StatusOr<std::unique_ptr<Process>> process = Process::Spawn(spec);
  if (!process.ok()) {
    env->server->stop();
    env->server_thread.join();
    if (!env->cgroup_dir.empty()) cgroups_->Remove(env->cgroup_dir);
    fs::remove_all(env->work_dir, ec);
    return process.status();
  }
  env->process = *std::move(process);
  env->spawned = now;
  env->last_used = now;
  env->state = Environment::State::kStarting;
  inv->cold = true;
  env->current = std::move(inv);
  ++busy_;
  registry_
      .GetCounter("evbus_function_cold_starts_total",
                  "Execution environments started (cold starts).",
                  {{"function", fn.function_name()}})
      .Increment();
  Environment* raw = env.get();
  envs_[env->id] = std::move(env);
  LogLocked(raw, absl::StrCat("INIT_START Runtime Version: ", fn.runtime(),
                              ".evbus\tRuntime Version ARN: "
                              "arn:aws:lambda:",
                              options_.region, "::runtime:evbus"));
  return absl::OkStatus();
}

void FunctionPool::RegisterRoutes(Environment* env) {
  httplib::Server& s = *env->server;
  if (env->peer_uid.has_value()) {
    // Only the environment's own processes may use its Runtime API.
    // (env->port is set after this, before the server's thread starts.)
    const uid_t uid = *env->peer_uid;
    s.set_pre_routing_handler([uid, env](const httplib::Request& req,
                                         httplib::Response& res) {
      const std::optional<uid_t> peer =
          LoopbackPeerUid(req.remote_addr, req.remote_port, env->port);
      if (peer == uid) return httplib::Server::HandlerResponse::Unhandled;
      res.status = 403;
      res.set_content(
          R"({"errorMessage":"This Runtime API belongs to another execution environment","errorType":"AccessDeniedException"})",
          "application/json");
      return httplib::Server::HandlerResponse::Handled;
    });
  }
  s.Get("/2018-06-01/runtime/invocation/next",
        [this, env](const httplib::Request&, httplib::Response& res) {
          std::string body;
          std::vector<std::pair<std::string, std::string>> headers;
          int status = 200;
          HandleNext(env, body, headers, status);
          res.status = status;
          for (auto& [k, v] : headers) res.set_header(k, v);
          res.set_content(body, "application/json");
        });
  auto result = [this, env](bool error) {
    return [this, env, error](const httplib::Request& req,
                              httplib::Response& res) {
      std::string reply;
      int status = 202;
      HandleResult(env, req.matches[1], error, req.body,
                   req.get_header_value("Lambda-Runtime-Function-Error-Type"),
                   reply, status);
      res.status = status;
      res.set_content(reply, "application/json");
    };
  };
  s.Post(R"(/2018-06-01/runtime/invocation/([^/]+)/response)", result(false));
  s.Post(R"(/2018-06-01/runtime/invocation/([^/]+)/error)", result(true));
  s.Post("/2018-06-01/runtime/init/error",
         [this, env](const httplib::Request& req, httplib::Response& res) {
           HandleInitError(env, req.body);
           res.status = 202;
           res.set_content(R"({"status":"OK"})", "application/json");
         });
  s.Get("/2018-06-01/ping",
        [](const httplib::Request&, httplib::Response& res) {
          res.set_content("pong", "text/plain");
        });
}

void FunctionPool::HandleNext(
    Environment* env, std::string& body,
    std::vector<std::pair<std::string, std::string>>& headers, int& status) {
  absl::MutexLock lock(&mu_);
  absl::Time now = absl::Now();
  if (env->state == Environment::State::kStarting) {
    // Init is over: the runtime asks for its first event.
    init_failures_.erase(env->fn.function_name());
    if (env->current != nullptr) {
      env->current->init_duration = now - env->spawned;
      env->state = Environment::State::kBusy;
    } else {
      env->state = Environment::State::kIdle;
    }
  } else if (env->current != nullptr && env->current->delivered) {
    status = 403;
    body = ErrorJson("InvalidStateTransition",
                     "State transition from Running to Ready failed for "
                     "runtime. Error: the current invocation has no result "
                     "yet");
    return;
  }
  if (env->current == nullptr && env->state != Environment::State::kDead) {
    env->state = Environment::State::kIdle;
  }
  auto ready = [this, env]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (env->current != nullptr && !env->current->delivered) ||
           env->state == Environment::State::kDead || stopping_;
  };
  // A long poll: it lasts as long as the environment is idle.
  while (!mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1))) {
  }
  if (env->state == Environment::State::kDead || stopping_ ||
      env->current == nullptr) {
    status = 500;
    body = ErrorJson("Runtime.ContainerShutdown",
                     "The execution environment is shutting down.");
    return;
  }
  Invocation& inv = *env->current;
  inv.delivered = true;
  inv.started = absl::Now();
  inv.clock_start = clock_.Now();
  inv.deadline = inv.started + absl::Seconds(env->fn.timeout());
  if (!env->cgroup_dir.empty()) cgroups_->ResetPeak(env->cgroup_dir);
  LogLocked(env, absl::StrCat("START RequestId: ", inv.request_id,
                              " Version: $LATEST"));
  headers = {
      {"Lambda-Runtime-Aws-Request-Id", inv.request_id},
      {"Lambda-Runtime-Deadline-Ms",
       absl::StrCat(absl::ToUnixMillis(inv.deadline))},
      {"Lambda-Runtime-Invoked-Function-Arn", env->fn.function_arn()},
      {"Lambda-Runtime-Trace-Id", inv.trace_id},
  };
  body = inv.payload;
  status = 200;
}

void FunctionPool::HandleResult(Environment* env, const std::string& request_id,
                                bool error, std::string body,
                                std::string error_header, std::string& reply,
                                int& status) {
  std::vector<Completion> completions;
  {
    absl::MutexLock lock(&mu_);
    if (env->current == nullptr || !env->current->delivered ||
        env->current->request_id != request_id) {
      status = 400;
      reply = ErrorJson("InvalidRequestID", "Invalid request ID");
      return;
    }
    InvokeResult r;
    if (body.size() > kMaxResponseBytes) {
      status = 413;
      reply =
          ErrorJson("RequestEntityTooLarge",
                    "Exceeded maximum allowed payload size (6291556 bytes).");
      r.kind = InvokeResult::Kind::kFunctionError;
      r.function_error = "Unhandled";
      r.error_type = "Function.ResponseSizeTooLarge";
      r.payload = ErrorJson(
          "Function.ResponseSizeTooLarge",
          absl::StrCat("Response payload size (", body.size(),
                       " bytes) exceeded maximum allowed payload size "
                       "(6291556 bytes)."));
    } else if (error) {
      r.kind = InvokeResult::Kind::kFunctionError;
      r.function_error = "Unhandled";
      r.error_type = ErrorTypeOf(body);
      if (r.error_type.empty()) {
        r.error_type = error_header.empty() ? "Unhandled" : error_header;
      }
      r.payload = body.empty() ? ErrorJson(r.error_type, "") : std::move(body);
      reply = R"({"status":"OK"})";
    } else {
      r.payload = std::move(body);
      reply = R"({"status":"OK"})";
    }
    completions.push_back(FinishLocked(env, std::move(r), ""));
    env->state = Environment::State::kIdle;
    env->last_used = absl::Now();
  }
  Deliver(std::move(completions));
}

void FunctionPool::RecordInitFailureLocked(const Environment& env,
                                           std::string error_type,
                                           std::string body,
                                           std::string payload_type,
                                           std::string message) {
  if (options_.init_failure_backoff <= absl::ZeroDuration()) return;
  InitFailures& f = init_failures_[env.fn.function_name()];
  if (f.revision != env.fn.revision()) f = InitFailures{env.fn.revision()};
  ++f.consecutive;
  absl::Duration wait = options_.init_failure_backoff;
  for (int i = 1; i < f.consecutive && wait < options_.init_failure_backoff_max;
       ++i) {
    wait *= 2;
  }
  f.retry_at = absl::Now() + std::min(wait, options_.init_failure_backoff_max);
  f.error_type = std::move(error_type);
  f.body = std::move(body);
  f.payload_type = std::move(payload_type);
  f.message = std::move(message);
}

std::optional<InvokeResult> FunctionPool::InitBackoffLocked(
    const evbus::v1::Function& fn, const Invocation& inv) {
  auto it = init_failures_.find(fn.function_name());
  if (it == init_failures_.end()) return std::nullopt;
  const InitFailures& f = it->second;
  if (f.revision != fn.revision() || absl::Now() >= f.retry_at) {
    return std::nullopt;
  }
  registry_
      .GetCounter("evbus_function_init_backoff_total",
                  "Invocations failed with the function's last init error, "
                  "without starting an environment, because an init of the "
                  "same revision failed moments before.",
                  {{"function", fn.function_name()}})
      .Increment();
  InvokeResult r;
  r.kind = InvokeResult::Kind::kFunctionError;
  r.function_error = "Unhandled";
  r.error_type = f.error_type;
  r.request_id = inv.request_id;
  r.payload = !f.body.empty()
                  ? f.body
                  : ErrorJson(f.payload_type,
                              absl::StrCat("RequestId: ", inv.request_id, " ",
                                           f.message));
  return r;
}

void FunctionPool::HandleInitError(Environment* env, std::string body) {
  std::vector<Completion> completions;
  {
    absl::MutexLock lock(&mu_);
    if (env->state != Environment::State::kStarting) return;
    std::string type = ErrorTypeOf(body);
    if (type.empty()) type = "Runtime.Unknown";
    LogLocked(env, absl::StrCat(
                       "INIT_REPORT Init Duration: ",
                       absl::StrFormat("%.2f", Ms(absl::Now() - env->spawned)),
                       " ms\tPhase: init\tStatus: error\tError Type: ", type));
    RecordInitFailureLocked(*env, type,
                            body.empty() ? ErrorJson(type, "") : body, "", "");
    if (env->current != nullptr) {
      InvokeResult r;
      r.kind = InvokeResult::Kind::kFunctionError;
      r.function_error = "Unhandled";
      r.error_type = type;
      r.payload = body.empty() ? ErrorJson(type, "") : std::move(body);
      completions.push_back(FinishLocked(env, std::move(r), "error"));
    }
    KillLocked(env);
    env->state = Environment::State::kDead;
  }
  Deliver(std::move(completions));
}

FunctionPool::Completion FunctionPool::FinishLocked(
    Environment* env, InvokeResult result, const std::string& report_status) {
  Completion c;
  // env->current stays set while END and REPORT are logged (they belong to
  // the invocation's log tail).
  std::shared_ptr<Invocation> inv = env->current;
  --busy_;
  DrainOutputLocked(env);
  absl::Time end = absl::Now();
  absl::Duration duration =
      inv->delivered ? end - inv->started : absl::ZeroDuration();
  if (result.error_type == "Sandbox.Timedout") {
    duration = absl::Seconds(env->fn.timeout());
  }
  int64_t memory_mb = MaxMemoryUsedMbLocked(env);
  if (result.error_type == "Runtime.OutOfMemory") {
    memory_mb = env->fn.memory_size();
  }
  if (inv->delivered || !report_status.empty()) {
    LogLocked(env, absl::StrCat("END RequestId: ", inv->request_id));
    std::string report = absl::StrFormat(
        "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d "
        "ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
        inv->request_id, Ms(duration),
        static_cast<int64_t>(std::ceil(Ms(duration))), env->fn.memory_size(),
        memory_mb);
    if (inv->init_duration.has_value()) {
      absl::StrAppend(&report, absl::StrFormat("Init Duration: %.2f ms\t",
                                               Ms(*inv->init_duration)));
    }
    if (report_status == "timeout") {
      absl::StrAppend(&report, "Status: timeout");
    } else if (report_status == "error") {
      absl::StrAppend(&report,
                      "Status: error\tError Type: ", result.error_type);
    }
    LogLocked(env, report);
  }
  env->current = nullptr;
  result.request_id = inv->request_id;
  result.log_tail = inv->log.size() > kLogTailBytes
                        ? inv->log.substr(inv->log.size() - kLogTailBytes)
                        : inv->log;
  const std::string& name = env->fn.function_name();
  bool ran = result.kind == InvokeResult::Kind::kSuccess ||
             result.kind == InvokeResult::Kind::kFunctionError;
  int busy_fn = 0;
  for (const auto& [id, other] : envs_) {
    if (other.get() != env && other->fn.function_name() == name &&
        other->current != nullptr) {
      ++busy_fn;
    }
  }
  registry_
      .GetGauge("evbus_function_concurrent_executions",
                "Environments of the function busy with an invocation "
                "(AWS/Lambda ConcurrentExecutions).",
                {{"function", name}})
      .Set(busy_fn);
  if (ran) {
    metrics::Labels labels{{"function", name}};
    registry_
        .GetCounter("evbus_function_invocations_total",
                    "Function invocations that ran (success or function "
                    "error), async retries included (AWS/Lambda "
                    "Invocations).",
                    labels)
        .Increment();
    if (result.kind == InvokeResult::Kind::kFunctionError) {
      registry_
          .GetCounter("evbus_function_errors_total",
                      "Invocations that ended in a function error: "
                      "exception, timeout, crash or out of memory "
                      "(AWS/Lambda Errors).",
                      labels)
          .Increment();
    }
    registry_
        .GetHistogram("evbus_function_duration_seconds",
                      "Handler time of an invocation (AWS/Lambda Duration).",
                      metrics::LatencyBuckets(), labels)
        .Observe(absl::ToDoubleSeconds(duration));
    InvocationRecord record;
    record.function_name = name;
    record.start = inv->delivered ? inv->clock_start : clock_.Now();
    record.duration = duration;
    record.error = result.kind == InvokeResult::Kind::kFunctionError;
    record.async = inv->async;
    record.concurrency = inv->concurrency;
    if (inv->async) {
      record.async_age =
          std::max(absl::ZeroDuration(), record.start - inv->queued);
    }
    c.record = record;
  }
  c.done = std::move(inv->done);
  c.result = std::move(result);
  return c;
}

void FunctionPool::Deliver(std::vector<Completion> completions) {
  for (Completion& c : completions) {
    if (c.record.has_value() && observer_) observer_(*c.record);
    if (c.done) std::move(c.done)(std::move(c.result));
  }
}

int64_t FunctionPool::MaxMemoryUsedMbLocked(Environment* env) {
  int64_t bytes = 0;
  if (!env->cgroup_dir.empty()) {
    bytes = cgroups_->PeakBytes(env->cgroup_dir).value_or(0);
  }
  if (bytes == 0 && env->process != nullptr) {
    int64_t rss = env->process->PeakRssBytes();
    if (rss > 0) env->peak_rss = rss;
    bytes = env->peak_rss;
  }
  return (bytes + 1024 * 1024 - 1) / (1024 * 1024);
}

void FunctionPool::LogLocked(Environment* env, std::string line) {
  absl::Status s = logs_.Append(env->log_group, line);
  if (!s.ok()) EVBUS_LOG(WARNING) << "function log: " << s;
  if (env->current != nullptr) {
    Invocation& inv = *env->current;
    absl::StrAppend(&inv.log, line, "\n");
    if (inv.log.size() > 4 * kLogTailBytes) {
      inv.log.erase(0, inv.log.size() - kLogTailBytes);
    }
  }
}

void FunctionPool::DrainOutputLocked(Environment* env) {
  if (env->process == nullptr || env->process->output_fd() < 0) return;
  char buf[65536];
  for (int rounds = 0; rounds < 64; ++rounds) {
    ssize_t n = ::read(env->process->output_fd(), buf, sizeof(buf));
    if (n > 0) {
      env->partial.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl;
           (nl = env->partial.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        LogLocked(env, env->partial.substr(start, nl - start));
      }
      env->partial.erase(0, start);
      if (env->partial.size() > kMaxLineBytes) {
        LogLocked(env, std::move(env->partial));
        env->partial.clear();
      }
      continue;
    }
    if (n == 0) {  // every writer is gone
      if (!env->partial.empty()) {
        LogLocked(env, std::move(env->partial));
        env->partial.clear();
      }
      env->process->CloseOutput();
    }
    return;  // EAGAIN or error
  }
}

void FunctionPool::KillLocked(Environment* env) {
  if (env->process != nullptr) {
    int64_t rss = env->process->PeakRssBytes();
    if (rss > 0) env->peak_rss = rss;
    env->process->Kill();
  }
  if (!env->cgroup_dir.empty() && cgroups_ != nullptr) {
    cgroups_->KillAll(env->cgroup_dir);
  }
}

void FunctionPool::Destroy(std::unique_ptr<Environment> env) {
  if (env->server != nullptr) {
    env->server->stop();
    if (env->server_thread.joinable()) env->server_thread.join();
  }
  env->process.reset();  // kills and reaps when still running
  if (!env->cgroup_dir.empty() && cgroups_ != nullptr) {
    cgroups_->Remove(env->cgroup_dir);
  }
  std::error_code ec;
  fs::remove_all(env->work_dir, ec);
}

void FunctionPool::Supervise() {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      for (auto& [id, env] : envs_) {
        if (env->process != nullptr && env->process->output_fd() >= 0) {
          fds.push_back({env->process->output_fd(), POLLIN, 0});
        }
      }
    }
    // Output, exits and deadlines are checked at least every 50 ms.
    (void)::poll(fds.data(), fds.size(), 50);
    std::vector<Completion> completions;
    std::vector<std::unique_ptr<Environment>> dead;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      absl::Time now = absl::Now();
      for (auto it = envs_.begin(); it != envs_.end();) {
        Environment* env = it->second.get();
        DrainOutputLocked(env);
        if (!env->exit_status.has_value() && env->process != nullptr) {
          if (env->process->PeakRssBytes() > env->peak_rss) {
            env->peak_rss = env->process->PeakRssBytes();
          }
          env->exit_status = env->process->TryWait();
        }
        if (env->exit_status.has_value() &&
            env->state != Environment::State::kDead) {
          // The runtime exited by itself: a crash, an OOM kill, or an exit
          // after a failed init.
          DrainOutputLocked(env);
          bool oom = !env->cgroup_dir.empty() &&
                     cgroups_->OomKills(env->cgroup_dir) > 0;
          if (env->state == Environment::State::kStarting) {
            const char* type =
                oom ? "Runtime.OutOfMemory" : "Runtime.ExitError";
            RecordInitFailureLocked(
                *env, type, "", type,
                absl::StrCat("Error: Runtime exited with error: ",
                             Process::DescribeStatus(*env->exit_status)));
          }
          if (env->current != nullptr) {
            std::string id = env->current->request_id;
            std::string type =
                oom ? "Runtime.OutOfMemory" : "Runtime.ExitError";
            InvokeResult r;
            r.kind = InvokeResult::Kind::kFunctionError;
            r.function_error = "Unhandled";
            r.error_type = type;
            r.payload = ErrorJson(
                type, absl::StrCat("RequestId: ", id,
                                   " Error: Runtime exited with error: ",
                                   Process::DescribeStatus(*env->exit_status)));
            completions.push_back(FinishLocked(env, std::move(r), "error"));
          }
          env->state = Environment::State::kDead;
        }
        if (env->current != nullptr && env->current->delivered &&
            now >= env->current->deadline) {
          std::string id = env->current->request_id;
          std::string message = absl::StrFormat(
              "Task timed out after %d.00 seconds", env->fn.timeout());
          LogLocked(env, absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                                       clock_.Now(),
                                                       absl::UTCTimeZone()),
                                      " ", id, " ", message));
          KillLocked(env);
          InvokeResult r;
          r.kind = InvokeResult::Kind::kFunctionError;
          r.function_error = "Unhandled";
          r.error_type = "Sandbox.Timedout";
          r.payload =
              ErrorJson("Sandbox.Timedout",
                        absl::StrCat("RequestId: ", id, " Error: ", message));
          completions.push_back(FinishLocked(env, std::move(r), "timeout"));
          env->state = Environment::State::kDead;
        }
        if (env->state == Environment::State::kStarting &&
            now - env->spawned > options_.init_limit) {
          KillLocked(env);
          RecordInitFailureLocked(
              *env, "Runtime.InitTimeout", "", "Sandbox.Timedout",
              absl::StrFormat("Error: The Init phase did not finish within "
                              "%.2f seconds",
                              absl::ToDoubleSeconds(options_.init_limit)));
          if (env->current != nullptr) {
            std::string id = env->current->request_id;
            InvokeResult r;
            r.kind = InvokeResult::Kind::kFunctionError;
            r.function_error = "Unhandled";
            r.error_type = "Runtime.InitTimeout";
            r.payload =
                ErrorJson("Sandbox.Timedout",
                          absl::StrFormat(
                              "RequestId: %s Error: The Init phase did not "
                              "finish within %.2f seconds",
                              id, absl::ToDoubleSeconds(options_.init_limit)));
            completions.push_back(FinishLocked(env, std::move(r), "timeout"));
          }
          env->state = Environment::State::kDead;
        }
        if (env->state == Environment::State::kIdle &&
            now - env->last_used > options_.idle_timeout) {
          KillLocked(env);
          env->state = Environment::State::kDead;
        }
        if (env->state == Environment::State::kDead &&
            (env->exit_status.has_value() || env->process == nullptr)) {
          dead.push_back(std::move(it->second));
          it = envs_.erase(it);
        } else {
          ++it;
        }
      }
    }
    Deliver(std::move(completions));
    for (auto& env : dead) Destroy(std::move(env));
  }
}

}  // namespace evbus::functions
