// File: server/functions/runtime_clients.h
//
// evbus's own Lambda runtime clients (server/functions/runtimes/), compiled
// into evbusd and written into the data directory at start.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace evbus::functions {

extern const char kPythonRuntimeClient[];
extern const char kNodeRuntimeClient[];

// Writes <root>/python/bootstrap.py and <root>/nodejs/bootstrap.js.
absl::Status WriteRuntimeClients(const std::string& root);

}  // namespace evbus::functions
