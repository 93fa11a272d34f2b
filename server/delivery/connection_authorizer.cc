#include "server/delivery/connection_authorizer.h"

#include <utility>

namespace evbus::delivery {

ConnectionAuthorizer::ConnectionAuthorizer(TokenSource& tokens)
    : tokens_(tokens), thread_([this] { Run(); }) {}

ConnectionAuthorizer::~ConnectionAuthorizer() { Stop(); }

void ConnectionAuthorizer::Authorize(OAuthClient client) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || waiting_.size() >= kMaxWaiting) return;
  waiting_.push_back(std::move(client));
}

void ConnectionAuthorizer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    waiting_.clear();
  }
  if (thread_.joinable()) thread_.join();
}

void ConnectionAuthorizer::Run() {
  for (;;) {
    OAuthClient client;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ConnectionAuthorizer* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                 return self->stopping_ || !self->waiting_.empty();
               },
          this));
      if (stopping_) return;
      client = std::move(waiting_.front());
      waiting_.pop_front();
    }
    // The outcome reaches the connection through the token source's
    // observer.
    tokens_.Invalidate(client);
    (void)tokens_.Token(client);
  }
}

}  // namespace evbus::delivery
