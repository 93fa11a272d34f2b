#!/usr/bin/env bash
# Command 2 of the README (and what .ci/run calls): install what is missing,
# build, and run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure -j2 --timeout 900
