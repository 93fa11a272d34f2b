#include "server/functions/loopback_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace evbus::functions {
namespace {

// A listening socket on 127.0.0.1 (an ephemeral port).
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 4);
    socklen_t n = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  // Accepts one connection; returns the peer's port (closes the socket).
  int AcceptPeerPort() {
    sockaddr_in a{};
    socklen_t n = sizeof(a);
    const int c = ::accept(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    if (c < 0) return -1;
    ::close(c);
    return ntohs(a.sin_port);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

int ConnectTo(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The local port of a connected socket.
int LocalPort(int fd) {
  sockaddr_in a{};
  socklen_t n = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  return ntohs(a.sin_port);
}

TEST(LoopbackPeerTest, ReadsTheKernelsTableFormat) {
  const std::string table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
      "retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000     0        0 1193 1 0 100 0 0 10 0\n"
      "   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 "
      "00000000 65534        0 2001 1 0 20 4 30 10 -1\n"
      "   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 "
      "00000000     0        0 2002 1 0 20 4 30 10 -1\n";
  // 127.0.0.1:50000 (0xC350) connected to our 127.0.0.1:8080 (0x1F90).
  EXPECT_EQ(LoopbackPeerUidIn(table, "127.0.0.1", 50000, 8080), 65534u);
  // The same client connected to another listener is not found here.
  EXPECT_EQ(LoopbackPeerUidIn(table, "127.0.0.1", 50000, 8081), std::nullopt);
  // A listening socket (remote 0.0.0.0:0) is never a peer.
  EXPECT_EQ(LoopbackPeerUidIn(table, "127.0.0.1", 8080, 0), std::nullopt);
  EXPECT_EQ(LoopbackPeerUidIn(table, "127.0.0.1", 50001, 8080), std::nullopt);
  EXPECT_EQ(LoopbackPeerUidIn(table, "not an ip", 50000, 8080), std::nullopt);
  EXPECT_EQ(LoopbackPeerUidIn("", "127.0.0.1", 50000, 8080), std::nullopt);
}

TEST(LoopbackPeerTest, FindsTheOwnerOfALiveConnection) {
  Listener listener;
  const int fd = ConnectTo(listener.port());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(LoopbackPeerUid("127.0.0.1", LocalPort(fd), listener.port()),
            ::geteuid());
  // Nothing connects from another port.
  EXPECT_EQ(LoopbackPeerUid("127.0.0.1", LocalPort(fd) ^ 1, listener.port()),
            std::nullopt);
  ::close(fd);
}

TEST(LoopbackPeerTest, TellsAnotherUsersConnectionApart) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  Listener listener;
  int report[2];  // child -> parent: the child's local port
  int done[2];    // parent -> child: closed when the child may exit
  ASSERT_EQ(::pipe(report), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    // As nobody's uid: connect, report, and hold the connection open until
    // the parent closes its end of `done`.
    ::close(report[0]);
    ::close(done[1]);
    if (::setuid(65534) != 0) ::_exit(1);
    const int fd = ConnectTo(listener.port());
    const int port = fd < 0 ? -1 : LocalPort(fd);
    (void)!::write(report[1], &port, sizeof(port));
    char c;
    (void)!::read(done[0], &c, 1);  // EOF when the parent closes
    ::_exit(0);
  }
  ::close(report[1]);
  ::close(done[0]);
  int port = -1;
  const ssize_t got = ::read(report[0], &port, sizeof(port));
  ::close(report[0]);
  EXPECT_EQ(got, static_cast<ssize_t>(sizeof(port)));
  if (got == static_cast<ssize_t>(sizeof(port)) && port > 0) {
    EXPECT_EQ(LoopbackPeerUid("127.0.0.1", port, listener.port()), 65534u);
    EXPECT_EQ(listener.AcceptPeerPort(), port);
  } else {
    ADD_FAILURE() << "the child could not connect";
  }
  ::close(done[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
}

}  // namespace
}  // namespace evbus::functions
