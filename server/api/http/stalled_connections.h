// File: server/api/http/stalled_connections.h
//
// StalledConnections: closes HTTP connections that hold a connection thread
// without a request to show for it (a "slowloris" defence). cpp-httplib's
// read timeout applies to each read, so a client that sends its request
// line and headers one byte every few seconds, or keeps a keep-alive
// connection open the same way, holds its thread for as long as it likes;
// --http-max-connections such clients stopped the listener (QA G #6).
//
// A connection is stalled when no request has been handled on it for
// `header_timeout`, counted from when the scan first saw it open or from the
// end of its last request: it has not sent a complete request head in that
// time. While a request is being handled (the route runs, reads its body,
// or writes its answer) the connection is never stalled, however long that
// takes (a 15-minute Invoke, a 50 MB upload).
//
// How: a thread scans the process's sockets every `scan_interval`
// (/proc/self/fd; sockets whose local port is the listener's and that are
// not the listening socket), and shuts a stalled one down (shutdown(2),
// SHUT_RDWR): its connection thread's read then fails, and cpp-httplib
// closes it. The routes report each request's start and end by the peer's
// address (RequestBegan / RequestEnded, from the server's pre- and
// post-routing handlers). Linux only (/proc); elsewhere nothing is closed.
//
// Thread safety: thread-safe.
//
// Example:
//   StalledConnections stalled({.header_timeout = absl::Seconds(20)});
//   server.set_pre_routing_handler(... stalled.RequestBegan(peer) ...);
//   server.set_post_routing_handler(... stalled.RequestEnded(peer) ...);
//   stalled.Start(port);
//   ...
//   stalled.Stop();
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/metrics/registry.h"

namespace evbus::api {

struct StalledConnectionsOptions {
  // The longest a connection may go without a request being handled on it.
  // Default: 20 s.
  absl::Duration header_timeout = absl::Seconds(20);
  // How often the sockets are scanned. Default: 1 s.
  absl::Duration scan_interval = absl::Seconds(1);
  // The time for `since` (tests use a ManualClock). Null: the real clock,
  // whatever clock evbusd gives events.
  const common::Clock* clock = nullptr;
  // Counts the connections shut down (default: counts nowhere).
  metrics::Counter closed_counter;
  // How many accepted connections wait for a connection thread
  // (ConnectionThreads::QueuedCount). Those are the newest connections
  // without a request: their timeout starts when they leave the queue, not
  // when they were accepted. Null: none wait.
  std::function<size_t()> queued_connections;
};

class StalledConnections {
 public:
  explicit StalledConnections(StalledConnectionsOptions options);
  ~StalledConnections();  // Stop()
  StalledConnections(const StalledConnections&) = delete;
  StalledConnections& operator=(const StalledConnections&) = delete;

  // Starts scanning for connections accepted on local port `port`.
  void Start(int port);
  // Stops the scan thread. Idempotent.
  void Stop();

  // A request from `peer` ("address:port", as cpp-httplib reports
  // remote_addr and remote_port) is being handled / has been answered.
  void RequestBegan(const std::string& peer);
  void RequestEnded(const std::string& peer);

  // One scan at `now`: shuts down the connections that are stalled, and
  // forgets those that are gone. Returns how many it shut down. (Start's
  // thread calls it; tests call it directly.)
  int ScanOnce(absl::Time now);

  // Connections shut down so far.
  uint64_t closed_count() const;

  // Connections (peers) it keeps state for (tests).
  size_t PeerCountForTesting() const;

 private:
  struct Peer {
    int in_request = 0;    // requests being handled now
    absl::Time since;      // first seen open, or the last request's end
    absl::Time last_seen;  // by a scan (or RequestBegan)
    absl::Time first_seen;
  };
  void Run();
  absl::Time Now() const;

  const StalledConnectionsOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, Peer> peers_ ABSL_GUARDED_BY(mu_);
  int port_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t closed_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace evbus::api
