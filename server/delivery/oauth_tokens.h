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

#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/delivery/dispatcher.h"

namespace evbus::delivery {

class OAuthTokens final : public TokenSource {
 public:
  // Told the outcome of every token request made (not of cached answers).
  using Observer =
      std::function<void(const OAuthClient& client, const absl::Status&)>;

  explicit OAuthTokens(common::Clock& clock, Observer observer = nullptr)
      : clock_(clock), observer_(std::move(observer)) {}
  // Unavailable when the endpoint cannot be reached or answers without an
  // access_token.
  absl::StatusOr<std::string> Token(const OAuthClient& client) override;
  void Invalidate(const OAuthClient& client) override;

 private:
  absl::StatusOr<std::string> Request(const OAuthClient& client);

  struct Cached {
    std::string token;
    absl::Time expires;
  };
  common::Clock& clock_;
  const Observer observer_;
  absl::Mutex mu_;
  std::map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::delivery
