// File: server/api/http/listen_backlog.h
//
// BindWithFullBacklog: binds a cpp-httplib server, alone on its port, and
// gives its listening socket an accept backlog of SOMAXCONN.
//
// Debian's cpp-httplib (0.11) is a compiled library that listens with a
// backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed when the library was
// built). A burst of new connections overflows it: the kernel drops the
// extra SYNs, and each of those clients waits a full second for its SYN to
// be retransmitted. A thousand schedules firing webhooks in one second, or
// a fleet of SDK clients starting at once, made that burst. On Linux,
// listen() on a socket that already listens sets a new backlog, so the
// socket is found through httplib's socket-options hook and listened on
// again after the bind.
//
// Thread safety: call once per server, before listen_after_bind().
//
// Example:
//   httplib::Server server;
//   int port = BindWithFullBacklog(server, "127.0.0.1", 0);
//   std::thread t([&] { server.listen_after_bind(); });
#pragma once

#include <string>

namespace httplib {
class Server;
}

namespace evbus::api {

// Binds `server` to host:port (port 0: any free port), then raises the
// listening socket's backlog to SOMAXCONN (4096; the kernel caps it at
// net.core.somaxconn). Returns the bound port, or -1 when the bind failed
// (also when another socket holds the port: the socket gets SO_REUSEADDR
// but not httplib's default SO_REUSEPORT, as evbusd's gRPC listener).
// Replaces the server's socket options.
int BindWithFullBacklog(httplib::Server& server, const std::string& host,
                        int port);

}  // namespace evbus::api
