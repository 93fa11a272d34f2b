// File: server/api/http/http_server.h
//
// HttpServer: evbusd's HTTP listener (cpp-httplib, a thread per connection;
// HTTPS when HttpOptions::tls is set). Serves /healthz, /readyz and /metrics;
// the AWS-compatible endpoint registers its routes on it. Connections get
// threads as they arrive (up to HttpOptions::max_connection_threads,
// ConnectionThreads), so idle or slow connections cannot hold up /healthz or
// other clients, and connections that trickle in a request head are closed
// after HttpOptions::header_timeout_seconds (StalledConnections).
//
// Thread safety: Start/Stop from one thread; handlers run concurrently.
//
// Example:
//   HttpServer http({.host = "127.0.0.1", .port = 0}, probes);
//   EVBUS_RETURN_IF_ERROR(http.Start());
//   int port = http.port();
//   ...
//   http.Stop();
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/common/server_certificate.h"
#include "server/metrics/registry.h"

namespace httplib {
class Server;
}

namespace evbus::api {

class ConnectionThreads;
class StalledConnections;

struct HttpOptions {
  // Address to bind. Default: 127.0.0.1.
  std::string host = "127.0.0.1";
  // Port; 0 picks a free one. Default: 0.
  int port = 0;
  // Most connections served at once, each on its own thread; beyond that
  // new connections wait for one to close. Default: 256.
  size_t max_connection_threads = 256;
  // How long an open connection may wait, idle, for its next request
  // (the first one included) before it is closed. Default: 5 s.
  int keep_alive_timeout_seconds = 5;
  // Timeout of each read of a request (line, headers, body). Default: 5 s.
  int read_timeout_seconds = 5;
  // The longest a connection may go without a complete request head (its
  // first, or the next after a keep-alive answer) before it is closed,
  // however slowly its bytes trickle in (StalledConnections). 0: never.
  // Default: 20 s.
  int header_timeout_seconds = 20;
  // Counts the connections closed for header_timeout_seconds (default:
  // counts nowhere).
  metrics::Counter stalled_closed;
  // Set: serve HTTPS only, each new connection presenting the chain this
  // holds at that moment (TLS 1.2 or later). Default: plain HTTP.
  std::shared_ptr<const common::ServerCertificate> tls;
};

// What the health endpoints ask.
struct HttpProbes {
  // OK when the store is open and not latched; else /readyz is 503 with the
  // message.
  std::function<absl::Status()> ready;
  // Prometheus text exposition for /metrics.
  std::function<std::string()> metrics;
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, HttpProbes probes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on a background thread. Unavailable when the
  // address cannot be bound, or OpenSSL refuses HttpOptions::tls.
  absl::Status Start();
  // Stops accepting and joins the listener thread. Idempotent.
  void Stop();
  // The bound port (after Start).
  int port() const { return port_; }

  // The underlying server, for other components' routes (registered before
  // Start).
  httplib::Server& server() { return *server_; }

 private:
  HttpOptions options_;
  HttpProbes probes_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<StalledConnections> stalled_;  // null: no header timeout
  // The task queue cpp-httplib made (it owns it and deletes it when its
  // accept loop ends, which clears this first).
  absl::Mutex threads_mu_;
  ConnectionThreads* threads_ ABSL_GUARDED_BY(threads_mu_) = nullptr;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace evbus::api
