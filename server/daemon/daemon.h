// File: server/daemon/daemon.h
//
// The composition root: builds every component from DaemonConfig in
// dependency order, serves until SIGINT/SIGTERM, then stops them in reverse
// order. Nothing depends on this folder.
#pragma once

#include "server/config/daemon_config.h"

namespace evbus::daemon {

// Runs evbusd. Returns the process exit code: 0 after an orderly shutdown,
// 1 when start-up fails (the reason is logged).
// REQUIRES: SIGINT and SIGTERM are blocked in every thread (main() blocks
// them before anything starts a thread).
int Run(const config::DaemonConfig& config);

}  // namespace evbus::daemon
