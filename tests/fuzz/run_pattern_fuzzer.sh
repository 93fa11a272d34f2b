#!/usr/bin/env bash
# Builds the server/pattern libFuzzer target with clang++ (ASan + UBSan) and
# runs it for a bounded time on a copy of its seed corpus.
#
#   tests/fuzz/run_pattern_fuzzer.sh [OUT_DIR] [SECONDS] [BUILD_DIR]
#     OUT_DIR    where the binary, the working corpus and crash artifacts go
#                (default: ./pattern-fuzz)
#     SECONDS    how long to fuzz (default: 60)
#     BUILD_DIR  CMake build dir, for generated proto headers (optional)
#
# Exits non-zero when the build fails or the fuzzer finds a crash (the input
# is left in OUT_DIR as crash-*/leak-*/timeout-*). One compiler process at a
# time (the sources are compiled sequentially by one clang++ invocation).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "${1:-pattern-fuzz}" && cd "${1:-pattern-fuzz}" && pwd)"
seconds="${2:-60}"
build="${3:-${repo}/build}"
cxx="${CXX_FUZZ:-clang++}"

srcs=(
  server/pattern/fuzz/pattern_fuzzer.cc
  server/pattern/flat_event.cc
  server/pattern/literal_prefilter.cc
  server/pattern/pattern.cc
  server/pattern/rule_matcher.cc
  server/pattern/internal/case_fold.cc
  server/pattern/internal/ip.cc
  server/pattern/internal/pattern_json.cc
  server/pattern/internal/wildcard.cc
  server/common/huge_pages.cc
  server/common/utf8.cc
)
libs="$(pkg-config --libs absl_status absl_statusor absl_strings \
  absl_str_format absl_synchronization absl_hash absl_raw_hash_set simdjson)"

echo "run_pattern_fuzzer: building ${out}/pattern_fuzzer" >&2
(cd "${repo}" && "${cxx}" -std=c++20 -O1 -g \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"${repo}" -I"${build}/proto" "${srcs[@]}" ${libs} -pthread \
  -o "${out}/pattern_fuzzer")

rm -rf "${out}/corpus"
mkdir -p "${out}/corpus"
cp "${repo}"/server/pattern/fuzz/corpus/* "${out}/corpus/"

echo "run_pattern_fuzzer: fuzzing for ${seconds}s" >&2
cd "${out}"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
  ./pattern_fuzzer -max_total_time="${seconds}" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="${out}/" \
    "${out}/corpus"
