#include "bench/functions_bench.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "evbus/v1/function.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(
      v.size() - 1,
      static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())))];
}

// "Duration: 0.53 ms" of the REPORT line in a log tail.
double ReportedDuration(const std::string& tail) {
  size_t at = tail.rfind("REPORT RequestId");
  if (at == std::string::npos) return 0;
  at = tail.find("Duration: ", at);
  if (at == std::string::npos) return 0;
  size_t end = tail.find(" ms", at);
  double d = 0;
  (void)absl::SimpleAtod(tail.substr(at + 10, end - at - 10), &d);
  return d;
}

// Time to start python3, import what the runtime client imports, and exit.
double InterpreterStartMs(const std::string& python) {
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl(python.c_str(), python.c_str(), "-u", "-c",
          "import http.client, json, os, sys, time, traceback, importlib, "
          "logging, decimal",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return Ms(Clock::now() - start);
}

bool CreateFunction(evbus::v1::FunctionService::Stub& stub,
                    const std::string& name, int reserved) {
  evbus::v1::CreateFunctionRequest req;
  evbus::v1::Function* fn = req.mutable_function();
  fn->set_function_name(name);
  fn->set_runtime("python3");
  fn->set_handler("app.handler");
  fn->set_timeout(30);
  if (reserved > 0) fn->set_reserved_concurrent_executions(reserved);
  evbus::v1::CodeFile* f = req.mutable_code()->add_files();
  f->set_path("app.py");
  f->set_content("def handler(event, context):\n    return event\n");
  grpc::ClientContext c;
  evbus::v1::Function out;
  grpc::Status s = stub.CreateFunction(&c, req, &out);
  if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    std::fprintf(stderr, "create %s: %s\n", name.c_str(),
                 s.error_message().c_str());
    return false;
  }
  return true;
}

double InvocationsCounted(httplib::Client& http, const std::string& name) {
  auto r = http.Get("/metrics");
  if (!r || r->status != 200) return -1;
  std::string key = absl::StrCat("evbus_function_invocations_total{function=\"",
                                 name, "\"} ");
  size_t at = r->body.find(key);
  if (at == std::string::npos) return 0;
  size_t end = r->body.find('\n', at);
  double v = 0;
  (void)absl::SimpleAtod(r->body.substr(at + key.size(), end - at - key.size()),
                         &v);
  return v;
}

}  // namespace

int RunFunctionsBench(const FunctionsBenchOptions& o) {
  auto channel =
      grpc::CreateChannel(o.endpoint, grpc::InsecureChannelCredentials());
  auto stub = evbus::v1::FunctionService::NewStub(channel);
  if (!CreateFunction(*stub, "bench-sync", 0) ||
      !CreateFunction(*stub, "bench-async", o.concurrency)) {
    return 1;
  }
  auto invoke = [&](const std::string& name, const std::string& type,
                    evbus::v1::InvokeResponse* out) {
    evbus::v1::InvokeRequest req;
    req.set_function_name(name);
    req.set_payload(R"({"n":1})");
    req.set_invocation_type(type);
    req.set_log_type("Tail");
    grpc::ClientContext c;
    return stub->Invoke(&c, req, out);
  };

  // Warm synchronous invocations.
  evbus::v1::InvokeResponse r;
  if (!invoke("bench-sync", "", &r).ok()) return 1;
  std::vector<double> rtt, overhead, handler;
  for (int i = 0; i < o.warm_invocations; ++i) {
    auto start = Clock::now();
    grpc::Status s = invoke("bench-sync", "", &r);
    double ms = Ms(Clock::now() - start);
    if (!s.ok() || !r.function_error().empty()) return 1;
    double d = ReportedDuration(r.log_result());
    rtt.push_back(ms);
    handler.push_back(d);
    overhead.push_back(ms - d);
  }

  // Cold starts: a configuration change retires the warm environment.
  std::vector<double> cold, interpreter;
  for (int i = 0; i < o.cold_invocations; ++i) {
    evbus::v1::UpdateFunctionConfigurationRequest u;
    u.mutable_function()->set_function_name("bench-sync");
    u.mutable_function()->set_description(absl::StrCat("cold ", i));
    u.add_update_mask("description");
    grpc::ClientContext c;
    evbus::v1::Function out;
    if (!stub->UpdateFunctionConfiguration(&c, u, &out).ok()) return 1;
    auto start = Clock::now();
    if (!invoke("bench-sync", "", &r).ok()) return 1;
    cold.push_back(Ms(Clock::now() - start));
    interpreter.push_back(InterpreterStartMs(o.python));
  }

  // Asynchronous invocations with `concurrency` warm environments.
  httplib::Client http("http://" + o.http);
  for (int i = 0; i < o.concurrency; ++i) invoke("bench-async", "Event", &r);
  double base = 0;
  for (int tries = 0; tries < 200; ++tries) {
    base = InvocationsCounted(http, "bench-async");
    if (base >= o.concurrency) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto start = Clock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < o.concurrency; ++t) {
    senders.emplace_back([&] {
      auto own = evbus::v1::FunctionService::NewStub(channel);
      for (int i = next.fetch_add(1); i < o.async_invocations;
           i = next.fetch_add(1)) {
        evbus::v1::InvokeRequest req;
        req.set_function_name("bench-async");
        req.set_payload(R"({"n":1})");
        req.set_invocation_type("Event");
        grpc::ClientContext c;
        evbus::v1::InvokeResponse out;
        (void)own->Invoke(&c, req, &out);
      }
    });
  }
  for (auto& t : senders) t.join();
  double queued_s = Ms(Clock::now() - start) / 1000;
  double done = base;
  for (int tries = 0; tries < 6000 && done < base + o.async_invocations;
       ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    done = InvocationsCounted(http, "bench-async");
  }
  double total_s = Ms(Clock::now() - start) / 1000;

  std::printf(
      "{\"warm_invocations\":%d,\"warm_rtt_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
      "\"handler_ms_p50\":%.3f,"
      "\"evbus_overhead_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
      "\"cold_rtt_ms_p50\":%.1f,\"interpreter_start_ms_p50\":%.1f,"
      "\"cold_overhead_ms_p50\":%.1f,"
      "\"async\":{\"invocations\":%d,\"environments\":%d,"
      "\"queued_per_s\":%.0f,\"completed\":%.0f,\"completed_per_s\":%.0f}}\n",
      o.warm_invocations, Pct(rtt, 50), Pct(rtt, 99), Pct(handler, 50),
      Pct(overhead, 50), Pct(overhead, 99), Pct(cold, 50), Pct(interpreter, 50),
      Pct(cold, 50) - Pct(interpreter, 50), o.async_invocations, o.concurrency,
      o.async_invocations / std::max(queued_s, 1e-9), done - base,
      (done - base) / std::max(total_s, 1e-9));
  return 0;
}

}  // namespace evbus::bench
