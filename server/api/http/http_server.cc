#include "server/api/http/http_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "server/api/http/connection_threads.h"
#include "server/api/http/listen_backlog.h"
#include "server/api/http/stalled_connections.h"

namespace evbus::api {
namespace {

// A plain server, or one speaking TLS with `tls` (is_valid() false when
// OpenSSL refuses it).
std::unique_ptr<httplib::Server> NewServer(
    const std::shared_ptr<const common::ServerCertificate>& tls) {
  if (tls == nullptr) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>(
      [&tls](SSL_CTX& ctx) { return tls->Serve(&ctx).ok(); });
}

}  // namespace

HttpServer::HttpServer(HttpOptions options, HttpProbes probes)
    : options_(std::move(options)),
      probes_(std::move(probes)),
      server_(NewServer(options_.tls)) {
  // cpp-httplib's own pool has a fixed number of threads, each held by a
  // connection for as long as it is open (idle ones too): 8 idle sockets
  // stalled the listener. cpp-httplib takes ownership of the queue (the one
  // raw `new` its API requires).
  const size_t max_threads = options_.max_connection_threads;
  server_->new_task_queue = [this, max_threads] {
    auto* threads =
        new ConnectionThreads({.min_threads = std::min<size_t>(4, max_threads),
                               .max_threads = max_threads,
                               .on_destroy = [this] {
                                 absl::MutexLock lock(&threads_mu_);
                                 threads_ = nullptr;
                               }});
    absl::MutexLock lock(&threads_mu_);
    threads_ = threads;
    return threads;
  };
  // Answers go out at once: without TCP_NODELAY every keep-alive request
  // after the first waited ~40 ms for Nagle and delayed ACKs.
  server_->set_tcp_nodelay(true);
  // Idle keep-alive connections are closed by the header timeout when it is
  // shorter: advertise the shorter one (Keep-Alive: timeout=N).
  server_->set_keep_alive_timeout(
      options_.header_timeout_seconds > 0
          ? std::min(options_.keep_alive_timeout_seconds,
                     options_.header_timeout_seconds)
          : options_.keep_alive_timeout_seconds);
  server_->set_read_timeout(options_.read_timeout_seconds);
  if (options_.header_timeout_seconds > 0) {
    stalled_ = std::make_unique<StalledConnections>(StalledConnectionsOptions{
        .header_timeout = absl::Seconds(options_.header_timeout_seconds),
        .closed_counter = options_.stalled_closed,
        // Under threads_mu_, which the queue's destructor takes to clear
        // the pointer: the queue cannot go while it is asked.
        .queued_connections = [this]() -> size_t {
          absl::MutexLock lock(&threads_mu_);
          return threads_ == nullptr ? 0 : threads_->QueuedCount();
        }});
    auto peer = [](const httplib::Request& req) {
      return absl::StrCat(req.remote_addr, ":", req.remote_port);
    };
    server_->set_pre_routing_handler(
        [this, peer](const httplib::Request& req, httplib::Response&) {
          stalled_->RequestBegan(peer(req));
          return httplib::Server::HandlerResponse::Unhandled;
        });
    // The logger runs once the answer is written (the post-routing handler
    // runs before): a large answer to a slow reader is still the request.
    // (When even the headers cannot be written, nothing ends the request;
    // the connection closes, and its entry is forgotten.)
    server_->set_logger(
        [this, peer](const httplib::Request& req, const httplib::Response&) {
          stalled_->RequestEnded(peer(req));
        });
  }
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get(
      "/readyz", [this](const httplib::Request&, httplib::Response& res) {
        absl::Status s = probes_.ready ? probes_.ready() : absl::OkStatus();
        if (s.ok()) {
          res.set_content("ready\n", "text/plain");
        } else {
          res.status = 503;
          res.set_content(absl::StrCat("not ready: ", s.message(), "\n"),
                          "text/plain");
        }
      });
  server_->Get("/metrics",
               [this](const httplib::Request&, httplib::Response& res) {
                 res.set_content(probes_.metrics ? probes_.metrics() : "",
                                 "text/plain; version=0.0.4; charset=utf-8");
               });
}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() {
  if (!server_->is_valid()) {
    return absl::UnavailableError(
        "cannot set up TLS for the HTTP listener with its certificate and "
        "key");
  }
  port_ = BindWithFullBacklog(*server_, options_.host, options_.port);
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot bind HTTP listener to ", options_.host, ":", options_.port));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  if (stalled_ != nullptr) stalled_->Start(port_);
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (stalled_ != nullptr) stalled_->Stop();
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace evbus::api
