#include "server/api/grpc/call_authorizer.h"

#include <openssl/crypto.h>

#include <string_view>

namespace evbus::api {
namespace {

constexpr std::string_view kBearer = "Bearer ";

}  // namespace

const CallAuthorizer& CallAuthorizer::Open() {
  static const CallAuthorizer* const open = new CallAuthorizer();
  return *open;
}

grpc::Status CallAuthorizer::Check(grpc::ServerContextBase* context) const {
  if (token_.empty()) return grpc::Status::OK;
  // A context no gRPC call stands behind: the AWS endpoint calling the
  // service in-process, after its own authentication.
  if (context->c_call() == nullptr) return grpc::Status::OK;
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(
        grpc::StatusCode::UNAUTHENTICATED,
        "MissingAuthenticationTokenException: Missing Authentication Token");
  }
  const std::string_view given(it->second.data(), it->second.size());
  const bool bearer = given.size() == kBearer.size() + token_.size() &&
                      given.substr(0, kBearer.size()) == kBearer;
  if (!bearer || CRYPTO_memcmp(given.data() + kBearer.size(), token_.data(),
                               token_.size()) != 0) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "UnrecognizedClientException: The security token "
                        "included in the request is invalid.");
  }
  return grpc::Status::OK;
}

}  // namespace evbus::api
