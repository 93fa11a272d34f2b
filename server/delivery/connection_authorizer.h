// File: server/delivery/connection_authorizer.h
//
// ConnectionAuthorizer: asks for a token as soon as an OAuth connection is
// created or updated, as EventBridge does, on a thread of its own, so that
// the connection's state (bus/ConnectionRegistry, told through the token
// source's observer) says whether its credentials work before an event
// needs them. A request bypasses the token cache: new credentials are
// tried, not a token the old ones got.
//
// Thread safety: thread-safe. Stop() (or the destructor) waits for the
// request in progress (at most the token source's timeout, 5 s).
#pragma once

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/delivery/dispatcher.h"

namespace evbus::delivery {

class ConnectionAuthorizer {
 public:
  // Requests beyond this many waiting are dropped (the connection stays
  // AUTHORIZING until a delivery asks for a token).
  static constexpr size_t kMaxWaiting = 1000;

  explicit ConnectionAuthorizer(TokenSource& tokens);
  ~ConnectionAuthorizer();
  ConnectionAuthorizer(const ConnectionAuthorizer&) = delete;
  ConnectionAuthorizer& operator=(const ConnectionAuthorizer&) = delete;

  // Queues a token request for `client`.
  void Authorize(OAuthClient client);
  // Ends the thread; requests still waiting are dropped.
  void Stop();

 private:
  void Run();

  TokenSource& tokens_;
  absl::Mutex mu_;
  std::deque<OAuthClient> waiting_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace evbus::delivery
