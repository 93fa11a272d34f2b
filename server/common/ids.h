// File: server/common/ids.h
//
// Identifiers: event ids are random (version 4) UUIDs, as EventBridge's.
// Thread-safe.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace evbus::common {

// A fresh lowercase UUIDv4 string, e.g. "0cc35aee-07b3-415a-a941-9c1f1a357958".
std::string NewUuidV4();

// True when `s` has the 8-4-4-4-12 lowercase/uppercase hex form.
bool IsUuid(absl::string_view s);

}  // namespace evbus::common
