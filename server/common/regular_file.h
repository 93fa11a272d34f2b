// File: server/common/regular_file.h
//
// Reads a small file a setting names (a token, a certificate), refusing
// anything but a regular file: a FIFO would block start-up, a device such
// as /dev/zero never end; and warns about secrets others can read.
//
// Thread safety: thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::common {

// At most `max_bytes` of `path` (the caller refuses a file that fills
// them, if it must be shorter). InvalidArgument naming `field` and the file
// when it cannot be read or is not a regular file.
absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            absl::string_view field,
                                            size_t max_bytes);

// Logs a warning when `path` (a secret: a key, a token) can be read by
// users other than its owner.
void WarnIfReadableByOthers(const std::string& path, absl::string_view field);

}  // namespace evbus::common
