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
# Left out: the fuzzer (its own sanitized build), the benchmark harness (not
# built here), and the deploy test, which checks the release binaries'
# shared libraries against the container's package list (libasan is none).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j2 -LE fuzz \
  -E '^integration\.(test_bench|test_deploy)$' --timeout 900
