// File: bench/http_limit.h
//
// `evbus-bench http-limit`: the machine's own ceiling for webhook delivery.
// Starts the same do-nothing loopback receiver the e2e and put-events
// benchmarks use (cpp-httplib, one thread per keep-alive connection) and
// drives it with a libcurl multi client over C keep-alive connections, the
// way evbusd's dispatcher does, posting an event-sized body as fast as the
// machine allows. Deliveries/s of evbusd are quoted as a ratio of this.
#pragma once

namespace evbus::bench {

struct HttpLimitOptions {
  int connections = 64;  // like a webhook target's MaxConcurrency
  double duration_seconds = 10;
  int payload_bytes = 1300;  // about one 1 KB event in its envelope
  int receiver_threads = 72;
};

// Prints one JSON object (requests, requests_per_second, errors); returns 0
// when at least one request succeeded.
int RunHttpLimit(const HttpLimitOptions& options);

}  // namespace evbus::bench
