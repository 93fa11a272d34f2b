// File: bench/restart_bench.h
//
// `evbus-bench restart`: crash recovery with a large delivery backlog (the
// goal "restart with 1,000,000 queued deliveries: ready <= 5 s and draining
// at full speed").
//
// In a fresh temp data dir it starts its own evbusd (--ready-file), creates
// a rule on the default bus whose webhook target (MaxConcurrency 64) points
// at a loopback port that is bound but not listening, so every delivery is
// refused and stays queued; puts N events (batches of B from C callers);
// kills the daemon with SIGKILL (every acknowledged event is durable) and
// waits for it; starts a do-nothing webhook receiver on that same port; and
// restarts evbusd on the same data dir. It measures spawn -> ready file,
// spawn -> first receipt, and receipts per second (sampled every second)
// until all N arrived or 300 s pass without progress, and prints one JSON
// object. Tasks refused before the crash keep their backoff due times, so a
// part of the backlog may only become due some time after the restart; the
// per-second samples show it.
#pragma once

#include <cstdint>
#include <string>

namespace evbus::bench {

struct RestartBenchOptions {
  std::string evbusd;  // the daemon binary (required)
  int64_t events = 1000000;
  int batch = 10;  // entries per PutEvents (1..10)
  int concurrency = 16;
  int payload_bytes = 256;  // Detail size of each event
  bool keep_data_dir = false;
  // One thread per keep-alive connection the daemon opens (64).
  int receiver_threads = 72;
  // The drain ends after this long without a receipt.
  double stall_seconds = 300;
};

// Returns 0 when every event put was delivered after the restart.
int RunRestartBench(const RestartBenchOptions& options);

}  // namespace evbus::bench
