#!/usr/bin/env bash
# Configures and builds evbus into ./build (binaries in build/bin/).
# BUILD_TYPE (default Release) and JOBS (default 2) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${BUILD_TYPE:-Release}"
JOBS="${JOBS:-2}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build build -j"$JOBS"
