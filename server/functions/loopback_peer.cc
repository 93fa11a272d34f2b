#include "server/functions/loopback_peer.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace evbus::functions {
namespace {

// An IPv4 address and port as /proc/net/tcp prints them: the address's
// four bytes in memory order as one hex word, then the port in hex
// ("0100007F:1F90" is 127.0.0.1:8080).
std::optional<std::string> TableAddress(const std::string& ip, int port) {
  in_addr a;
  if (::inet_pton(AF_INET, ip.c_str(), &a) != 1) return std::nullopt;
  return absl::StrFormat("%08X:%04X", a.s_addr, port);
}

}  // namespace

std::optional<uid_t> LoopbackPeerUidIn(absl::string_view tcp_table,
                                       const std::string& peer_ip,
                                       int peer_port, int local_port) {
  const std::optional<std::string> local = TableAddress(peer_ip, peer_port);
  const std::optional<std::string> remote =
      TableAddress("127.0.0.1", local_port);
  if (!local.has_value() || !remote.has_value()) return std::nullopt;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(tcp_table, '\n')) {
    if (header) {  // "  sl  local_address rem_address   st ..."
      header = false;
      continue;
    }
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 8 || f[1] != *local || f[2] != *remote) continue;
    uint32_t uid = 0;
    if (!absl::SimpleAtoi(f[7], &uid)) return std::nullopt;
    return static_cast<uid_t>(uid);
  }
  return std::nullopt;
}

namespace {

// The kernel's answer for one connection, by its four-tuple (sock_diag's
// exact lookup: a hash probe, where reading /proc/net/tcp walks every
// socket, some 8 ms with 2,000 of them). nullopt: not found, or netlink's
// socket diagnostics are not available (then the caller reads the table).
enum class DiagResult { kFound, kNotFound, kUnavailable };

DiagResult DiagPeerUid(const in_addr& peer, int peer_port, int local_port,
                       uid_t* uid) {
  const int fd =
      ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return DiagResult::kUnavailable;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof(message);
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  message.request.sdiag_family = AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = ~0u;
  // The socket whose own end is peer:peer_port and whose other end is our
  // listener's 127.0.0.1:local_port: the connecting client's.
  message.request.id.idiag_sport = htons(static_cast<uint16_t>(peer_port));
  message.request.id.idiag_dport = htons(static_cast<uint16_t>(local_port));
  message.request.id.idiag_src[0] = peer.s_addr;
  message.request.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
  message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, &message, sizeof(message), 0,
               reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    ::close(fd);
    return DiagResult::kUnavailable;
  }
  alignas(nlmsghdr) char buffer[8192];
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
  ::close(fd);
  if (n < static_cast<ssize_t>(sizeof(nlmsghdr))) {
    return DiagResult::kUnavailable;
  }
  const auto* reply = reinterpret_cast<const nlmsghdr*>(buffer);
  if (!NLMSG_OK(reply, static_cast<size_t>(n))) {
    return DiagResult::kUnavailable;
  }
  if (reply->nlmsg_type == NLMSG_ERROR) {
    const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(reply));
    // ENOENT: no such connection. Anything else (no inet_diag support):
    // unavailable.
    return error->error == -ENOENT ? DiagResult::kNotFound
                                   : DiagResult::kUnavailable;
  }
  if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      reply->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
    return DiagResult::kUnavailable;
  }
  const auto* diag = static_cast<const inet_diag_msg*>(NLMSG_DATA(reply));
  *uid = static_cast<uid_t>(diag->idiag_uid);
  return DiagResult::kFound;
}

}  // namespace

std::optional<uid_t> LoopbackPeerUid(const std::string& peer_ip, int peer_port,
                                     int local_port) {
  in_addr peer;
  if (::inet_pton(AF_INET, peer_ip.c_str(), &peer) != 1) return std::nullopt;
  uid_t uid = 0;
  switch (DiagPeerUid(peer, peer_port, local_port, &uid)) {
    case DiagResult::kFound:
      return uid;
    case DiagResult::kNotFound:
      return std::nullopt;
    case DiagResult::kUnavailable:
      break;
  }
  std::ifstream in("/proc/net/tcp");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return LoopbackPeerUidIn(text.str(), peer_ip, peer_port, local_port);
}

}  // namespace evbus::functions
