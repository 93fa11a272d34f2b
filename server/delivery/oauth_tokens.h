// File: server/delivery/oauth_tokens.h
//
// OAuthTokens: a TokenSource for OAUTH_CLIENT_CREDENTIALS connections. It
// asks the authorization endpoint for a client-credentials token (client id
// and secret as HTTP Basic, grant_type=client_credentials plus the
// connection's OAuth parameters), caches it until shortly before
// `expires_in`, and forgets it when a target answers 401 or 407.
//
// Thread safety: thread-safe. A cache miss makes one blocking HTTP request
// (timeout 5 s) on the caller's thread.
#pragma once

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/delivery/dispatcher.h"

namespace evbus::delivery {

class OAuthTokens final : public TokenSource {
 public:
  explicit OAuthTokens(common::Clock& clock) : clock_(clock) {}
  // Unavailable when the endpoint cannot be reached or answers without an
  // access_token.
  absl::StatusOr<std::string> Token(const OAuthClient& client) override;
  void Invalidate(const OAuthClient& client) override;

 private:
  struct Cached {
    std::string token;
    absl::Time expires;
  };
  common::Clock& clock_;
  absl::Mutex mu_;
  std::map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::delivery
