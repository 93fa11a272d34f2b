// File: server/api/grpc/status_conversion.h
//
// absl::Status → grpc::Status, the single conversion point. Codes map 1:1;
// the message (which starts with the AWS exception name) is kept, cut in
// its middle when it is too long for gRPC's metadata (a constraint message
// echoes the value: an 8 KB Input made the client fail with "received
// initial metadata size exceeds limit" instead of the error).
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace evbus::api {

// The longest message sent whole (gRPC clients take 8 KiB of metadata by
// default, the message among it).
inline constexpr size_t kMaxStatusMessageBytes = 4096;

// `message`, or its first and last ~2 KB around a note of what was left
// out (never splitting a UTF-8 sequence).
std::string FitStatusMessage(absl::string_view message);

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace evbus::api
