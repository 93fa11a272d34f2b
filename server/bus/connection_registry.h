// File: server/bus/connection_registry.h
//
// ConnectionRegistry: EventBridge connections and API destinations (spec
// eventbridge.md §9), persisted in the catalog. Secrets (passwords, API key
// values, client secrets, secret parameters, signing secrets) are stored but
// never returned by Describe/List. Resolve() turns an API destination into
// the HTTP call the dispatcher makes. An OAuth connection is AUTHORIZING
// until a token request answers (ConnectionOptions::authorize asks at once),
// then AUTHORIZED or DEAUTHORIZED (RecordAuthorization).
//
// Thread safety: thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evbus/v1/connection.pb.h"
#include "server/common/clock.h"
#include "server/delivery/dispatcher.h"
#include "server/storage/store.h"

namespace evbus::bus {

struct ConnectionOptions {
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // Asks for a token for an OAuth connection (delivery::ConnectionAuthorizer):
  // called when one is created or updated, and at Load for those still
  // AUTHORIZING. Unset: they stay AUTHORIZING until a delivery asks.
  std::function<void(delivery::OAuthClient)> authorize;
};

class ConnectionRegistry {
 public:
  ConnectionRegistry(storage::Store& store, common::Clock& clock,
                     ConnectionOptions options);
  absl::Status Load();

  absl::StatusOr<evbus::v1::Connection> CreateConnection(
      evbus::v1::Connection connection);
  absl::StatusOr<evbus::v1::Connection> DescribeConnection(
      const std::string& name) const;
  // Replaces the fields that are set in `update`.
  absl::StatusOr<evbus::v1::Connection> UpdateConnection(
      const evbus::v1::Connection& update);
  std::vector<evbus::v1::Connection> ListConnections(
      const std::string& prefix) const;
  absl::StatusOr<evbus::v1::Connection> DeleteConnection(
      const std::string& name);

  absl::StatusOr<evbus::v1::ApiDestination> CreateApiDestination(
      evbus::v1::ApiDestination destination);
  absl::StatusOr<evbus::v1::ApiDestination> DescribeApiDestination(
      const std::string& name) const;
  absl::StatusOr<evbus::v1::ApiDestination> UpdateApiDestination(
      const evbus::v1::ApiDestination& update);
  std::vector<evbus::v1::ApiDestination> ListApiDestinations(
      const std::string& prefix, const std::string& connection_arn) const;
  absl::Status DeleteApiDestination(const std::string& name);

  // The HTTP call for API destination `name`, with the connection's
  // authorization and parameters; nullopt when either is gone.
  std::optional<delivery::HttpEndpoint> Resolve(const std::string& name) const;

  // NotFound unless the API destination exists (PutTargets check).
  absl::Status CheckApiDestination(const std::string& name) const;

  // The outcome of a token request for the OAuth connection
  // `connection_arn` (delivery::OAuthTokens' observer): AUTHORIZED, or
  // DEAUTHORIZED with the error as StateReason. Stored when it changes.
  void RecordAuthorization(const std::string& connection_arn,
                           const absl::Status& result);

 private:
  absl::Status ValidateConnection(const evbus::v1::Connection& c) const;
  absl::Status ValidateDestination(const evbus::v1::ApiDestination& d) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status Persist(const char* kind, const std::string& name,
                       const std::string& value);

  storage::Store& store_;
  common::Clock& clock_;
  const ConnectionOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, evbus::v1::Connection> connections_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, evbus::v1::ApiDestination> destinations_
      ABSL_GUARDED_BY(mu_);
};

// A copy without secrets, as Describe/List return it.
evbus::v1::Connection Redacted(const evbus::v1::Connection& c);

}  // namespace evbus::bus
