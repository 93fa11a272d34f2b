// Runs real child processes: python3 and node handlers through evbus's
// runtime clients, and a `provided` bootstrap written in shell.
#include "server/functions/function_pool.h"

#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/common/json.h"
#include "server/functions/function_config.h"
#include "server/functions/function_registry.h"
#include "server/storage/log_store.h"
#include "server/storage/store.h"
#include "tests/testing/temp_dir.h"

namespace evbus::functions {
namespace {

class FunctionPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<storage::Store>> store =
        storage::Store::Open({.path = dir_.Join("data")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    logs_ = std::make_unique<storage::LogStore>(*store_, clock_);
    functions_ = std::make_unique<FunctionRegistry>(
        *store_, clock_,
        FunctionRegistryOptions{.code_root = dir_.Join("code")});
    ASSERT_TRUE(functions_->Load().ok());
    FunctionPoolOptions options;
    options.work_root = dir_.Join("run");
    options.runtime_root = dir_.Join("runtimes");
    options.max_concurrency = 8;
    options.idle_timeout = absl::Seconds(30);
    pool_ = std::make_unique<FunctionPool>(*functions_, *logs_, registry_,
                                           clock_, options);
    ASSERT_TRUE(pool_->Start().ok());
  }
  void TearDown() override { pool_->Stop(); }

  void Create(const std::string& name, const std::string& runtime,
              const std::string& handler,
              std::vector<std::pair<std::string, std::string>> files,
              int timeout = 3, std::optional<int> reserved = std::nullopt,
              int memory = 128) {
    evbus::v1::Function fn;
    fn.set_function_name(name);
    fn.set_runtime(runtime);
    fn.set_handler(handler);
    fn.set_timeout(timeout);
    fn.set_memory_size(memory);
    (*fn.mutable_environment())["site"] = "https://example.test";
    if (reserved.has_value()) fn.set_reserved_concurrent_executions(*reserved);
    evbus::v1::FunctionCode code;
    for (auto& [path, content] : files) {
      evbus::v1::CodeFile* f = code.add_files();
      f->set_path(path);
      f->set_content(content);
      f->set_executable(path == "bootstrap");
    }
    absl::StatusOr<evbus::v1::Function> created = functions_->Create(fn, code);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::string Log(const std::string& name) {
    absl::StatusOr<storage::LogStore::Page> page =
        logs_->Read(LogGroupOf(name), 0, 10000, "");
    std::string all;
    if (!page.ok()) return all;
    for (const auto& r : page->records) absl::StrAppend(&all, r.message, "\n");
    return all;
  }

  testing::TempDir dir_;
  common::RealClock clock_;
  metrics::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::LogStore> logs_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<FunctionPool> pool_;
};

constexpr char kPythonApp[] = R"(import os, time
STARTED = time.time()
calls = 0
def lambda_handler(event, context):
    global calls
    calls += 1
    print("checking", os.environ.get("site"))
    if event.get("fail"):
        raise ValueError("site is down")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        os._exit(3)
    if event.get("eat"):
        blocks = [bytearray(16 << 20) for _ in range(event["eat"])]
    return {"calls": calls, "pid": os.getpid(), "started": STARTED,
            "secret": os.environ.get("EVBUS_TEST_SECRET"),
            "name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
            "event": event}
)";

TEST_F(FunctionPoolTest, PythonHandlerRunsWarmAndIsolated) {
  ::setenv("EVBUS_TEST_SECRET", "must-not-leak", 1);
  Create("py", "python3", "app.lambda_handler", {{"app.py", kPythonApp}});
  InvokeResult first = pool_->InvokeAndWait("py", R"({"n":1})");
  ASSERT_EQ(first.kind, InvokeResult::Kind::kSuccess)
      << first.status << first.payload << Log("py");
  common::Json a = *common::ParseJson(first.payload);
  EXPECT_EQ(a["calls"], 1);
  EXPECT_TRUE(a["secret"].is_null()) << first.payload;
  EXPECT_EQ(a["name"], "py");
  EXPECT_EQ(a["memory"], "128");
  EXPECT_GT(a["remaining"].get<int>(), 1000);
  EXPECT_LE(a["remaining"].get<int>(), 3000);
  EXPECT_EQ(a["event"]["n"], 1);

  InvokeResult second = pool_->InvokeAndWait("py", R"({"n":2})");
  ASSERT_EQ(second.kind, InvokeResult::Kind::kSuccess);
  common::Json b = *common::ParseJson(second.payload);
  EXPECT_EQ(b["calls"], 2) << "the warm environment is reused";
  EXPECT_EQ(b["pid"], a["pid"]);
  EXPECT_EQ(pool_->EnvironmentCount("py"), 1);

  std::string log = Log("py");
  EXPECT_TRUE(absl::StrContains(log, "START RequestId: " + first.request_id))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "checking https://example.test")) << log;
  EXPECT_TRUE(absl::StrContains(log, "END RequestId: " + second.request_id));
  EXPECT_TRUE(absl::StrContains(log, "Init Duration:")) << log;
  EXPECT_TRUE(absl::StrContains(log, "Memory Size: 128 MB\tMax Memory Used: "));
  EXPECT_TRUE(absl::StrContains(first.log_tail, "checking")) << first.log_tail;
  EXPECT_TRUE(absl::StrContains(first.log_tail, "REPORT RequestId"));
}

TEST_F(FunctionPoolTest, ErrorsTimeoutsAndCrashesAreDistinguished) {
  Create("py", "python3", "app.lambda_handler", {{"app.py", kPythonApp}}, 1);
  InvokeResult err = pool_->InvokeAndWait("py", R"({"fail":true})");
  ASSERT_EQ(err.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ(err.function_error, "Unhandled");
  common::Json e = *common::ParseJson(err.payload);
  EXPECT_EQ(e["errorType"], "ValueError");
  EXPECT_EQ(e["errorMessage"], "site is down");
  EXPECT_FALSE(e["stackTrace"].empty());

  InvokeResult timeout = pool_->InvokeAndWait("py", R"({"sleep":5})");
  ASSERT_EQ(timeout.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ(timeout.error_type, "Sandbox.Timedout");
  EXPECT_TRUE(
      absl::StrContains(timeout.payload, "Task timed out after 1.00 seconds"))
      << timeout.payload;

  InvokeResult crash = pool_->InvokeAndWait("py", R"({"exit":true})");
  ASSERT_EQ(crash.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ(crash.error_type, "Runtime.ExitError");
  EXPECT_TRUE(absl::StrContains(crash.payload, "exit status 3"))
      << crash.payload;

  // After all that, a fresh environment still works.
  InvokeResult ok = pool_->InvokeAndWait("py", "{}");
  EXPECT_EQ(ok.kind, InvokeResult::Kind::kSuccess) << ok.payload;
  std::string log = Log("py");
  EXPECT_TRUE(absl::StrContains(log, "Status: timeout")) << log;
  EXPECT_TRUE(absl::StrContains(log, "Error Type: Runtime.ExitError")) << log;
}

TEST_F(FunctionPoolTest, ImportErrorsFailInit) {
  Create("broken", "python3", "app.lambda_handler",
         {{"app.py", "import no_such_module\n"}});
  InvokeResult r = pool_->InvokeAndWait("broken", "{}");
  ASSERT_EQ(r.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ(r.error_type, "Runtime.ImportModuleError") << r.payload;
}

// After a failed init, cold starts of the same revision back off: an
// invocation in the window fails with the last init error without starting
// a process; after it, or with new code, environments start again.
TEST_F(FunctionPoolTest, FailedInitBacksOffColdStarts) {
  pool_->Stop();
  FunctionPoolOptions options;
  options.work_root = dir_.Join("run2");
  options.runtime_root = dir_.Join("runtimes2");
  options.init_failure_backoff = absl::Seconds(1);
  options.init_failure_backoff_max = absl::Seconds(1);
  pool_ = std::make_unique<FunctionPool>(*functions_, *logs_, registry_, clock_,
                                         options);
  ASSERT_TRUE(pool_->Start().ok());
  Create("broken", "python3", "app.lambda_handler",
         {{"app.py", "import no_such_module\n"}});
  auto init_reports = [&] {
    std::string log = Log("broken");
    int n = 0;
    for (size_t at = log.find("INIT_REPORT"); at != std::string::npos;
         at = log.find("INIT_REPORT", at + 1)) {
      ++n;
    }
    return n;
  };
  metrics::Counter backoffs = registry_.GetCounter(
      "evbus_function_init_backoff_total", "", {{"function", "broken"}});

  InvokeResult first = pool_->InvokeAndWait("broken", "{}");
  ASSERT_EQ(first.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ(first.error_type, "Runtime.ImportModuleError") << first.payload;
  EXPECT_EQ(init_reports(), 1);

  InvokeResult second = pool_->InvokeAndWait("broken", "{}");
  ASSERT_EQ(second.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ(second.function_error, "Unhandled");
  EXPECT_EQ(second.error_type, "Runtime.ImportModuleError");
  EXPECT_EQ(second.payload, first.payload);
  EXPECT_NE(second.request_id, first.request_id);
  EXPECT_EQ(init_reports(), 1);  // no second process
  EXPECT_EQ(backoffs.Value(), 1);
  EXPECT_EQ(pool_->EnvironmentCount("broken"), 0);

  absl::SleepFor(absl::Milliseconds(1100));
  InvokeResult third = pool_->InvokeAndWait("broken", "{}");
  EXPECT_EQ(third.error_type, "Runtime.ImportModuleError");
  EXPECT_EQ(init_reports(), 2);  // the backoff was over: a real start

  // New code is a new revision: it starts at once.
  evbus::v1::FunctionCode fixed;
  evbus::v1::CodeFile* f = fixed.add_files();
  f->set_path("app.py");
  f->set_content("def lambda_handler(event, context):\n    return 7\n");
  ASSERT_TRUE(functions_->UpdateCode("broken", fixed).ok());
  InvokeResult ok = pool_->InvokeAndWait("broken", "{}");
  EXPECT_EQ(ok.kind, InvokeResult::Kind::kSuccess) << ok.payload;
  EXPECT_EQ(ok.payload, "7");
}

TEST_F(FunctionPoolTest, ReservedConcurrencyThrottles) {
  Create("slow", "python3", "app.lambda_handler", {{"app.py", kPythonApp}}, 5,
         1);
  absl::Notification done;
  InvokeResult first;
  pool_->Invoke("slow", R"({"sleep":1})", {}, [&](InvokeResult r) {
    first = std::move(r);
    done.Notify();
  });
  InvokeResult second = pool_->InvokeAndWait("slow", "{}");
  EXPECT_EQ(second.kind, InvokeResult::Kind::kThrottled);
  EXPECT_TRUE(
      absl::StrContains(second.status.message(), "TooManyRequestsException"));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(first.kind, InvokeResult::Kind::kSuccess) << first.payload;

  Create("off", "python3", "app.lambda_handler", {{"app.py", kPythonApp}}, 3,
         0);
  InvokeResult off = pool_->InvokeAndWait("off", "{}");
  EXPECT_EQ(off.kind, InvokeResult::Kind::kThrottled);
  EXPECT_EQ(off.error_type, kReservedConcurrencyZero);
}

// Stop() with several environments mid-invocation fails each invocation
// once (it used to look at environments it had already taken out of the
// pool and crash).
TEST_F(FunctionPoolTest, StopFailsEveryRunningInvocation) {
  Create("busy", "python3", "app.lambda_handler", {{"app.py", kPythonApp}}, 30);
  constexpr int kRunning = 3;
  absl::Mutex mu;
  std::vector<InvokeResult> results;
  for (int i = 0; i < kRunning; ++i) {
    pool_->Invoke("busy", R"({"sleep":20})", {}, [&](InvokeResult r) {
      absl::MutexLock lock(&mu);
      results.push_back(std::move(r));
    });
  }
  // Wait (bounded) until all three environments run their invocation.
  for (int i = 0; i < 200; ++i) {
    if (absl::StrContains(Log("busy"), "checking")) {
      const std::string log = Log("busy");
      size_t n = 0;
      for (size_t at = log.find("checking"); at != std::string::npos;
           at = log.find("checking", at + 1)) {
        ++n;
      }
      if (n >= kRunning) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  pool_->Stop();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(results.size(), static_cast<size_t>(kRunning));
  for (const InvokeResult& r : results) {
    EXPECT_EQ(r.kind, InvokeResult::Kind::kFailed);
    EXPECT_TRUE(absl::StrContains(r.status.message(), "stopping")) << r.status;
  }
}

TEST_F(FunctionPoolTest, MemoryLimitKillsTheEnvironment) {
  if (pool_->MemoryEnforcement() == "measured (not enforced)") {
    GTEST_SKIP() << "no writable memory cgroup on this machine";
  }
  Create("hog", "python3", "app.lambda_handler", {{"app.py", kPythonApp}}, 10);
  InvokeResult r = pool_->InvokeAndWait("hog", R"({"eat":20})");
  ASSERT_EQ(r.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ(r.error_type, "Runtime.OutOfMemory") << r.payload;
  EXPECT_TRUE(absl::StrContains(Log("hog"), "Max Memory Used: 128 MB"));
}

TEST_F(FunctionPoolTest, NodeAsyncAndCallbackHandlers) {
  if (::access("/usr/bin/node", X_OK) != 0) GTEST_SKIP() << "no node";
  Create("js", "nodejs20.x", "index.handler",
         {{"index.js",
           "exports.handler = async (event, context) => {\n"
           "  console.log('hello', event.n);\n"
           "  if (event.fail) throw new TypeError('bad input');\n"
           "  return {n: event.n, left: context.getRemainingTimeInMillis() > "
           "0};\n};\n"
           "exports.cb = (event, context, callback) => callback(null, "
           "{cb: true});\n"}});
  InvokeResult r = pool_->InvokeAndWait("js", R"({"n":7})");
  ASSERT_EQ(r.kind, InvokeResult::Kind::kSuccess) << r.payload << r.status;
  EXPECT_EQ(*common::ParseJson(r.payload),
            *common::ParseJson(R"({"n":7,"left":true})"));
  InvokeResult err = pool_->InvokeAndWait("js", R"({"fail":true})");
  ASSERT_EQ(err.kind, InvokeResult::Kind::kFunctionError);
  EXPECT_EQ((*common::ParseJson(err.payload))["errorType"], "TypeError");
  EXPECT_TRUE(absl::StrContains(Log("js"), "INFO\thello 7")) << Log("js");
}

TEST_F(FunctionPoolTest, ProvidedRuntimeRunsItsOwnBootstrap) {
  // A custom runtime in shell: loop on /next, answer with curl.
  Create("custom", "provided.al2023", "function.handler",
         {{"bootstrap",
           "#!/bin/sh\n"
           "set -e\n"
           "API=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime\n"
           "while true; do\n"
           "  H=$(mktemp)\n"
           "  EVENT=$(curl -sS -D \"$H\" \"$API/invocation/next\")\n"
           "  ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' \"$H\" | tr -d "
           "'\\r' | cut -d' ' -f2)\n"
           "  echo \"custom runtime got $EVENT\"\n"
           "  curl -sS -X POST \"$API/invocation/$ID/response\" -d "
           "\"{\\\"echo\\\":$EVENT,\\\"handler\\\":\\\"$_HANDLER\\\"}\" "
           ">/dev/null\n"
           "done\n"}});
  InvokeResult r = pool_->InvokeAndWait("custom", R"({"x":1})");
  ASSERT_EQ(r.kind, InvokeResult::Kind::kSuccess) << r.payload << r.status;
  EXPECT_EQ(
      *common::ParseJson(r.payload),
      *common::ParseJson(R"({"echo":{"x":1},"handler":"function.handler"})"));
  EXPECT_TRUE(absl::StrContains(Log("custom"), "custom runtime got"));
}

TEST_F(FunctionPoolTest, UnknownFunctionFails) {
  InvokeResult r = pool_->InvokeAndWait("nope", "{}");
  EXPECT_EQ(r.kind, InvokeResult::Kind::kFailed);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace evbus::functions
