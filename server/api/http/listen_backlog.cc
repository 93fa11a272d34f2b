#include "server/api/http/listen_backlog.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "httplib.h"
#include "server/common/logging.h"

namespace evbus::api {

int BindWithFullBacklog(httplib::Server& server, const std::string& host,
                        int port) {
  // httplib calls the hook on each socket it tries, before binding it, and
  // stops at the first that binds: the last one seen is the listener.
  auto listener = std::make_shared<socket_t>(INVALID_SOCKET);
  server.set_socket_options([listener](socket_t sock) {
    // SO_REUSEADDR, so that a restart rebinds at once; not httplib's default
    // SO_REUSEPORT, with which a second process binds the same port too and
    // takes a share of its connections.
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *listener = sock;
  });
  int bound = -1;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound > 0 && *listener != INVALID_SOCKET &&
      ::listen(*listener, SOMAXCONN) != 0) {
    // Not fatal: the listener still serves, with httplib's backlog.
    EVBUS_LOG(WARNING) << "cannot raise the accept backlog of " << host << ":"
                       << bound << ": " << std::strerror(errno);
  }
  return bound;
}

}  // namespace evbus::api
