// File: bench/put_events_load.h
//
// `evbus-bench put-events`: a gRPC PutEvents load generator. C callers, each
// on its own thread, send batches of B entries of N-byte Detail for S seconds
// and record acknowledgement latency. With --rules K (K >= 1) it first
// starts a do-nothing loopback webhook receiver and creates K rules on the
// bus: one matching every event it sends, with the receiver as its target,
// and K-1 that match none (so the cost of rules that cannot match shows);
// it reports how many deliveries arrived and removes the rules afterwards.
#pragma once

#include <string>

namespace evbus::bench {

struct PutEventsLoadOptions {
  std::string endpoint = "127.0.0.1:4010";
  int concurrency = 64;
  int batch = 10;
  int payload_bytes = 1000;
  double duration_seconds = 10;
  int channels = 4;  // callers are spread over this many HTTP/2 connections
  std::string event_bus_name;
  int rules = 0;  // 0: no rules (events are stored, not routed)
  // 0: one blocking thread per caller. N > 0: the `concurrency` calls are
  // kept in flight asynchronously by N threads (a lighter load generator).
  int client_threads = 0;
  // Set: connect with TLS, trusting these PEM CA certificates (evbusd
  // started with --grpc-tls-cert). Empty: plaintext.
  std::string tls_ca_file;
};

// Runs the load and prints one JSON object: events_per_second,
// calls_per_second, latency percentiles in ms, errors. Returns 0 on success.
int RunPutEventsLoad(const PutEventsLoadOptions& options);

}  // namespace evbus::bench
