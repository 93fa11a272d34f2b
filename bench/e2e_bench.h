// File: bench/e2e_bench.h
//
// `evbus-bench e2e`: end-to-end latency from PutEvents to webhook receipt.
// Starts its own loopback HTTP receiver, creates a rule and a webhook target
// on the daemon, puts single-entry events at a fixed rate from C callers, and
// reports delivered/s and PutEvents→receipt latency percentiles.
#pragma once

#include <string>

namespace evbus::bench {

struct E2eOptions {
  std::string endpoint = "127.0.0.1:4010";
  int concurrency = 4;
  double rate = 1000;  // events per second in total; 0 = as fast as possible
  double duration_seconds = 10;
  int payload_bytes = 256;
  // cpp-httplib serves each keep-alive connection on one pool thread for
  // the connection's life, so this must be at least the connections the
  // daemon opens to the receiver (the target's MaxConcurrency, 64): with
  // fewer, the surplus connections sit unserved until their requests time
  // out and are retried.
  int receiver_threads = 72;
  int batch = 1;  // entries per PutEvents (1..10)
};

int RunE2e(const E2eOptions& options);

}  // namespace evbus::bench
