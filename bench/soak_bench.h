// File: bench/soak_bench.h
//
// `evbus-bench soak`: mixed load on a running evbusd for a while — PutEvents
// at a steady rate onto a bus whose rule fans out to a loopback webhook
// (10 % of answers are 500s, so retries run), a log target and an
// asynchronous function, plus a rate(1 minute) rule schedule — and a sample
// every few seconds of the daemon's RSS, open file descriptors and delivery
// queue depth (from /proc and /metrics), to show nothing leaks. Prints one
// JSON line per sample and a summary.
#pragma once

#include <string>

namespace evbus::bench {

struct SoakOptions {
  std::string endpoint = "127.0.0.1:4010";
  std::string http = "127.0.0.1:4011";
  int daemon_pid = 0;  // required: /proc/PID is sampled
  double duration_seconds = 60;
  double rate = 500;  // events per second
  double sample_seconds = 5;
};

int RunSoak(const SoakOptions& options);

}  // namespace evbus::bench
