// File: bench/functions_bench.h
//
// `evbus-bench functions`: the speed of functions (issue goals, measured on
// a running evbusd):
//   * warm synchronous invoke of a tiny Python handler: round trip, and
//     evbus's overhead = round trip - the handler's own Duration (REPORT);
//   * cold start: round trip of the first invoke in a new environment,
//     against the interpreter's own start-up (python3 importing what the
//     runtime client imports, spawned and timed here);
//   * asynchronous invocations/s with 8 warm environments (reserved
//     concurrency 8), counted through /metrics.
#pragma once

#include <string>

namespace evbus::bench {

struct FunctionsBenchOptions {
  std::string endpoint = "127.0.0.1:4010";
  std::string http = "127.0.0.1:4011";
  int warm_invocations = 2000;
  int cold_invocations = 20;
  int async_invocations = 5000;
  int concurrency = 8;
  std::string python = "/usr/bin/python3";
};

int RunFunctionsBench(const FunctionsBenchOptions& options);

}  // namespace evbus::bench
