// File: server/api/grpc/status_conversion.h
//
// absl::Status → grpc::Status, the single conversion point. Codes map 1:1;
// the message (which starts with the AWS exception name) is kept.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace evbus::api {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace evbus::api
