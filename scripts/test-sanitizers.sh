#!/usr/bin/env bash
# Builds evbus with AddressSanitizer + UndefinedBehaviorSanitizer (Debug, in
# ./build-asan) and runs the unit, integration and conformance tests against
# it (STYLE.md rule 16). Slower than scripts/test.sh; not part of .ci/run yet.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DEVBUS_SANITIZE=address,undefined -DEVBUS_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"${JOBS:-2}"
cd build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j2 -LE fuzz --timeout 900
