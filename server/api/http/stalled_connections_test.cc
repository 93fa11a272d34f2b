// StalledConnections over real loopback sockets and a manual clock: which
// connections it shuts down, and which it leaves alone.
#include "server/api/http/stalled_connections.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"

namespace evbus::api {
namespace {

// A listening socket on 127.0.0.1 and the connections accepted from it.
class Loopback {
 public:
  Loopback() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener_, 16), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Loopback() { ::close(listener_); }

  int port() const { return port_; }

  // Connects a client; returns its fd and sets *server to the accepted end
  // and *peer to the client's address as the server sees it.
  int Connect(int* server, std::string* peer) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(
        ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    *server = ::accept(listener_, reinterpret_cast<sockaddr*>(&from), &len);
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
    *peer = absl::StrCat(text, ":", ntohs(from.sin_port));
    return client;
  }

 private:
  int listener_ = -1;
  int port_ = 0;
};

// True when the connection's server end was shut down: a read from it
// returns end-of-file at once, and the client sees end-of-file too.
bool WasShutDown(int server, int client) {
  char c;
  timeval tv{.tv_sec = 2, .tv_usec = 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return ::recv(server, &c, 1, MSG_DONTWAIT) == 0 &&
         ::recv(client, &c, 1, 0) == 0;
}

bool IsOpen(int server) {
  char c;
  return ::recv(server, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

class StalledConnectionsTest : public ::testing::Test {
 protected:
  StalledConnectionsTest()
      : clock_(absl::FromUnixSeconds(1'700'000'000)),
        stalled_({.header_timeout = absl::Seconds(10),
                  .scan_interval = absl::Hours(1),  // scans are the test's
                  .clock = &clock_,
                  .queued_connections = [this] { return queued_.load(); }}) {
    stalled_.Start(loopback_.port());
  }

  absl::Time At(int seconds) {
    clock_.Set(absl::FromUnixSeconds(1'700'000'000 + seconds));
    return clock_.Now();
  }

  Loopback loopback_;
  common::ManualClock clock_;
  std::atomic<size_t> queued_{0};
  StalledConnections stalled_;
};

TEST_F(StalledConnectionsTest,
       AConnectionWithoutARequestIsShutDownAfterTheTimeout) {
  int server = -1;
  std::string peer;
  const int client = loopback_.Connect(&server, &peer);
  EXPECT_EQ(stalled_.ScanOnce(At(0)), 0);  // first seen
  EXPECT_EQ(stalled_.ScanOnce(At(9)), 0);
  EXPECT_TRUE(IsOpen(server));
  EXPECT_EQ(stalled_.ScanOnce(At(10)), 1);
  EXPECT_TRUE(WasShutDown(server, client));
  EXPECT_EQ(stalled_.closed_count(), 1u);
  // The listening socket is never one of them: it still accepts.
  int second = -1;
  const int other = loopback_.Connect(&second, &peer);
  EXPECT_TRUE(IsOpen(second));
  ::close(client);
  ::close(server);
  ::close(other);
  ::close(second);
}

TEST_F(StalledConnectionsTest,
       ARequestBeingHandledIsNeverCutAndTheNextGetsTheFullTimeout) {
  int server = -1;
  std::string peer;
  const int client = loopback_.Connect(&server, &peer);
  EXPECT_EQ(stalled_.ScanOnce(At(0)), 0);
  stalled_.RequestBegan(peer);  // e.g. a 15-minute Invoke
  EXPECT_EQ(stalled_.ScanOnce(At(5)), 0);
  EXPECT_EQ(stalled_.ScanOnce(At(900)), 0);
  EXPECT_TRUE(IsOpen(server));
  At(901);
  stalled_.RequestEnded(peer);  // the keep-alive wait starts now
  EXPECT_EQ(stalled_.ScanOnce(At(910)), 0);
  EXPECT_TRUE(IsOpen(server));
  EXPECT_EQ(stalled_.ScanOnce(At(911)), 1);
  EXPECT_TRUE(WasShutDown(server, client));
  ::close(client);
  ::close(server);
}

TEST_F(StalledConnectionsTest, ARequestStartedBeforeTheScanSawTheSocketCounts) {
  // RequestBegan may come before any scan has listed the connection (it was
  // accepted after the listing): the request still protects it.
  int server = -1;
  std::string peer;
  const int client = loopback_.Connect(&server, &peer);
  At(0);
  stalled_.RequestBegan(peer);
  EXPECT_EQ(stalled_.ScanOnce(At(60)), 0);
  EXPECT_TRUE(IsOpen(server));
  EXPECT_EQ(stalled_.PeerCountForTesting(), 1u);
  // Ends unmatched by a scan in between: forgotten once the socket is gone.
  stalled_.RequestEnded(peer);
  ::close(client);
  ::close(server);
  EXPECT_EQ(stalled_.ScanOnce(At(120)), 0);
  EXPECT_EQ(stalled_.PeerCountForTesting(), 0u);
  // An unknown peer's end is ignored: no entry is made for it.
  stalled_.RequestEnded("127.0.0.1:1");
  EXPECT_EQ(stalled_.PeerCountForTesting(), 0u);
  EXPECT_EQ(stalled_.closed_count(), 0u);
}

TEST_F(StalledConnectionsTest,
       ConnectionsWaitingForAThreadStartTheirClockWhenTheyGetOne) {
  int old_server = -1;
  int new_server = -1;
  std::string peer;
  const int old_client = loopback_.Connect(&old_server, &peer);
  EXPECT_EQ(stalled_.ScanOnce(At(0)), 0);
  const int new_client = loopback_.Connect(&new_server, &peer);
  queued_ = 1;  // the newest connection waits for a thread
  EXPECT_EQ(stalled_.ScanOnce(At(5)), 0);
  EXPECT_EQ(stalled_.ScanOnce(At(10)), 1);  // the older one, served, stalled
  EXPECT_TRUE(WasShutDown(old_server, old_client));
  ::close(old_client);  // as cpp-httplib closes what failed to read
  ::close(old_server);
  EXPECT_EQ(stalled_.ScanOnce(At(15)), 0);
  EXPECT_TRUE(IsOpen(new_server));
  queued_ = 0;  // it gets a thread after the scan at 15 s
  EXPECT_EQ(stalled_.ScanOnce(At(24)), 0);
  EXPECT_TRUE(IsOpen(new_server));
  EXPECT_EQ(stalled_.ScanOnce(At(25)), 1);
  EXPECT_TRUE(WasShutDown(new_server, new_client));
  ::close(new_client);
  ::close(new_server);
}

}  // namespace
}  // namespace evbus::api
