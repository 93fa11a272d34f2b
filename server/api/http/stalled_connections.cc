#include "server/api/http/stalled_connections.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"

namespace evbus::api {
namespace {

// A request in progress keeps its peer's entry even when a scan misses the
// socket (accepted after the scan listed the sockets); an entry no scan has
// seen for this long belongs to a closed connection.
constexpr absl::Duration kForgetUnseen = absl::Minutes(2);

// The address of a socket address as cpp-httplib writes remote_addr
// (getnameinfo, numeric: an IPv6 link-local one with its %scope), and its
// port; empty when not IPv4 or IPv6.
std::string AddressOf(const sockaddr_storage& a, socklen_t len, int* port) {
  if (a.ss_family == AF_INET) {
    *port = ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  } else if (a.ss_family == AF_INET6) {
    *port = ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  } else {
    return "";
  }
  char text[NI_MAXHOST] = {};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, text,
                  sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) {
    return "";
  }
  return text;
}

// The peer of `fd` when it is a connection accepted on local port `port`
// (not the listening socket itself); empty otherwise. `inode`, when given,
// gets the socket's inode number, which grows with each socket made (so
// orders connections by when they were accepted; fd numbers are reused).
std::string AcceptedPeer(int fd, int port, ino_t* inode = nullptr) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return "";
  if (inode != nullptr) *inode = st.st_ino;
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return "";
  }
  int local_port = 0;
  if (AddressOf(local, len, &local_port).empty() || local_port != port) {
    return "";
  }
  int listening = 0;
  socklen_t opt_len = sizeof(listening);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &opt_len) != 0 ||
      listening != 0) {
    return "";
  }
  sockaddr_storage peer{};
  len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    return "";
  }
  int peer_port = 0;
  std::string address = AddressOf(peer, len, &peer_port);
  if (address.empty()) return "";
  return absl::StrCat(address, ":", peer_port);
}

}  // namespace

StalledConnections::StalledConnections(StalledConnectionsOptions options)
    : options_(options) {}

StalledConnections::~StalledConnections() { Stop(); }

absl::Time StalledConnections::Now() const {
  return options_.clock != nullptr ? options_.clock->Now() : absl::Now();
}

void StalledConnections::Start(int port) {
  {
    absl::MutexLock lock(&mu_);
    port_ = port;
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void StalledConnections::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void StalledConnections::RequestBegan(const std::string& peer) {
  absl::MutexLock lock(&mu_);
  Peer& p = peers_[peer];
  if (p.last_seen == absl::Time()) {
    p.since = p.last_seen = p.first_seen = Now();
  }
  ++p.in_request;
}

void StalledConnections::RequestEnded(const std::string& peer) {
  absl::MutexLock lock(&mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  if (it->second.in_request > 0) --it->second.in_request;
  it->second.since = Now();
}

size_t StalledConnections::PeerCountForTesting() const {
  absl::MutexLock lock(&mu_);
  return peers_.size();
}

uint64_t StalledConnections::closed_count() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

int StalledConnections::ScanOnce(absl::Time now) {
  int port = 0;
  {
    absl::MutexLock lock(&mu_);
    port = port_;
  }
  if (port <= 0) return 0;
  struct Open {
    int fd;
    ino_t inode;
    std::string peer;
  };
  std::vector<Open> open;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  const int own = dirfd(dir);
  // Bounded: a process has finitely many descriptors (RLIMIT_NOFILE).
  for (dirent* e = readdir(dir); e != nullptr; e = readdir(dir)) {
    int fd = -1;
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd == own) continue;
    ino_t inode = 0;
    std::string peer = AcceptedPeer(fd, port, &inode);
    if (!peer.empty()) open.push_back({fd, inode, std::move(peer)});
  }
  closedir(dir);

  const size_t queued =
      options_.queued_connections ? options_.queued_connections() : 0;
  std::vector<std::pair<int, std::string>> stalled;
  {
    absl::MutexLock lock(&mu_);
    // Connections without a request, newest first (by first sight, then by
    // socket inode, which follows accept order): the first `queued` of them
    // wait for a thread (the queue is first come, first served), and their
    // clock starts only when they leave it.
    std::vector<std::pair<std::pair<absl::Time, ino_t>, Peer*>> idle;
    for (const Open& o : open) {
      Peer& p = peers_[o.peer];
      if (p.last_seen == absl::Time()) p.since = p.first_seen = now;
      p.last_seen = now;
      if (p.in_request == 0) idle.push_back({{p.first_seen, o.inode}, &p});
    }
    std::sort(idle.begin(), idle.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < idle.size() && i < queued; ++i) {
      idle[i].second->since = now;
    }
    for (const Open& o : open) {
      Peer& p = peers_[o.peer];
      if (p.in_request == 0 && now - p.since >= options_.header_timeout) {
        stalled.emplace_back(o.fd, o.peer);
        p.since = now;  // once per timeout, should the shutdown not take
      }
    }
    for (auto it = peers_.begin(); it != peers_.end();) {
      const bool gone = it->second.last_seen != now &&
                        (it->second.in_request == 0 ||
                         now - it->second.last_seen > kForgetUnseen);
      it = gone ? peers_.erase(it) : std::next(it);
    }
  }
  int closed = 0;
  for (const auto& [fd, peer] : stalled) {
    // The descriptor may have been closed and reused since the listing:
    // shut it down only if it is still that connection. (A reuse between
    // this check and shutdown(2) would need the connection closed and
    // another accepted with the same peer address and port in between.)
    if (AcceptedPeer(fd, port) != peer) continue;
    if (shutdown(fd, SHUT_RDWR) == 0) ++closed;
  }
  if (closed > 0) {
    absl::MutexLock lock(&mu_);
    closed_ += static_cast<uint64_t>(closed);
    options_.closed_counter.Increment(closed);
  }
  if (closed > 0) {
    EVBUS_LOG(WARNING) << "HTTP listener: closed " << closed
                       << " connection(s) that sent no complete request in "
                       << absl::FormatDuration(options_.header_timeout)
                       << " (--http-header-timeout-seconds)";
  }
  return closed;
}

void StalledConnections::Run() {
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping),
                               options_.scan_interval)) {
        return;
      }
    }
    ScanOnce(Now());
  }
}

}  // namespace evbus::api
