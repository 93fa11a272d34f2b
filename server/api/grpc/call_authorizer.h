// File: server/api/grpc/call_authorizer.h
//
// CallAuthorizer: the gRPC listener's authentication. When evbusd is given a
// token (`--grpc-token-file`), every call must carry the metadata
//   authorization: Bearer <token>
// and is refused with UNAUTHENTICATED otherwise, in AWS's words:
//   MissingAuthenticationTokenException: Missing Authentication Token
//   UnrecognizedClientException: The security token included in the request
//   is invalid.
// Without a token every caller is accepted (the default, as before).
//
// Calls made in-process by the AWS-compatible endpoint (a ServerContext not
// attached to a gRPC call) are not checked here: that endpoint authenticates
// its callers itself (SigV4, `--aws-credentials`).
//
// gRPC's own services (health, reflection) are not covered: they change
// nothing and reveal no resource.
//
// Example:
//   absl::StatusOr<std::string> token =
//       common::LoadTokenFile("/etc/evbus/token", "grpc_token_file");
//   CallAuthorizer auth(*token);
//   grpc::Status denied = auth.Check(context);
//   if (!denied.ok()) return denied;
//
// Thread safety: immutable once built; Check is thread-safe.
#pragma once

#include <string>

#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace evbus::api {

class CallAuthorizer {
 public:
  // An empty token accepts every call.
  explicit CallAuthorizer(std::string token = "") : token_(std::move(token)) {}

  // The authorizer that accepts every call (no token).
  static const CallAuthorizer& Open();

  bool enabled() const { return !token_.empty(); }
  // The token ("" when none): for evbusd's own in-process calls.
  const std::string& token() const { return token_; }

  // OK, or UNAUTHENTICATED with the AWS exception name in the message.
  grpc::Status Check(grpc::ServerContextBase* context) const;

 private:
  std::string token_;
};

}  // namespace evbus::api
