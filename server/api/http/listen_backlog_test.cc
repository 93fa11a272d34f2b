// BindWithFullBacklog over real loopback sockets: a burst of connections is
// queued by the kernel (not dropped), and the server still serves.
#include "server/api/http/listen_backlog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"

namespace evbus::api {
namespace {

// Starts `n` non-blocking connections to 127.0.0.1:port and returns how
// many complete within `wait_ms` (no one accepts them meanwhile).
int ConnectBurst(int port, int n, int wait_ms) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<pollfd> fds;
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) break;
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    fds.push_back({fd, POLLOUT, 0});
  }
  // A socket stops being polled (fd < 0) once its connect completed or
  // failed; the others are waited for, up to wait_ms in all (a dropped SYN
  // is retransmitted only after 1 s).
  std::vector<int> open(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) open[i] = fds[i].fd;
  int connected = 0;
  int settled = 0;
  for (int round = 0; round < wait_ms / 10 && settled < n; ++round) {
    for (pollfd& p : fds) p.revents = 0;
    (void)::poll(fds.data(), fds.size(), 10);
    for (pollfd& p : fds) {
      if (p.fd < 0 || (p.revents & (POLLOUT | POLLERR | POLLHUP)) == 0) {
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) ++connected;
      ++settled;
      p.fd = -1;
    }
  }
  for (int fd : open) ::close(fd);
  return connected;
}

// httplib's own backlog is 5: of 64 connections at once, the kernel would
// queue 6 and drop the others' SYNs (each client then waits 1 s for its
// retransmission). Nothing accepts here, so the queue is all there is.
TEST(BindWithFullBacklogTest, ABurstOfConnectionsIsQueuedNotDropped) {
  httplib::Server server;
  const int port = BindWithFullBacklog(server, "127.0.0.1", 0);
  ASSERT_GT(port, 0);
  EXPECT_EQ(ConnectBurst(port, 64, 500), 64);
}

TEST(BindWithFullBacklogTest, ServesAndReportsABusyPort) {
  httplib::Server server;
  server.Get("/hi", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello", "text/plain");
  });
  const int port = BindWithFullBacklog(server, "127.0.0.1", 0);
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  httplib::Client client("127.0.0.1", port);
  int status = 0;
  std::string body;
  for (int i = 0; i < 100 && status == 0; ++i) {
    if (httplib::Result r = client.Get("/hi")) {
      status = r->status;
      body = r->body;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "hello");
  // The port is taken: a second server cannot bind it.
  httplib::Server other;
  EXPECT_EQ(BindWithFullBacklog(other, "127.0.0.1", port), -1);
  server.stop();
  t.join();
}

}  // namespace
}  // namespace evbus::api
