// File: server/common/token_file.h
//
// Reads a bearer token from a file: one line (a trailing newline is
// dropped) of 16 to 512 printable ASCII characters without spaces. evbusd
// reads its gRPC token this way (`--grpc-token-file`), and the CLI the
// token it sends (`--token-file`), so the two agree on what a token file
// holds.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::common {

inline constexpr size_t kMinTokenLength = 16;
inline constexpr size_t kMaxTokenLength = 512;

// InvalidArgument naming `field` and the file when it cannot be read or
// holds no valid token.
absl::StatusOr<std::string> LoadTokenFile(const std::string& path,
                                          absl::string_view field);

}  // namespace evbus::common
