// File: server/functions/loopback_peer.h
//
// Who is on the other end of a loopback TCP connection: the uid that owns
// the connecting socket, read from the kernel's table (/proc/net/tcp).
// The Runtime API of an execution environment listens on 127.0.0.1 and
// answers only connections whose socket belongs to the environment's own
// uid, so that no other process (another function included) can take its
// invocations or answer them (SO_PEERCRED exists for Unix sockets only, and
// unmodified Lambda runtimes speak HTTP over TCP).
//
// Thread safety: thread-safe (reads a file per call).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace evbus::functions {

// The uid owning the IPv4 socket `peer_ip`:`peer_port` connected to
// 127.0.0.1:`local_port` (our listener), or nullopt when no such
// connection is in `tcp_table` (the text of /proc/net/tcp).
std::optional<uid_t> LoopbackPeerUidIn(absl::string_view tcp_table,
                                       const std::string& peer_ip,
                                       int peer_port, int local_port);

// The same for the live connection: asks the kernel for that one socket
// (netlink sock_diag), or reads /proc/net/tcp where that is not available.
std::optional<uid_t> LoopbackPeerUid(const std::string& peer_ip, int peer_port,
                                     int local_port);

}  // namespace evbus::functions
