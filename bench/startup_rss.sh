#!/usr/bin/env bash
# Idle RSS and first-request latency of a fresh evbusd, with and without the
# release of start-up pages (docs/performance.md, Start-up).
# Usage: bench/startup_rss.sh [BUILD_DIR] [RUNS]
set -euo pipefail
BUILD="${1:-build}"
RUNS="${2:-2}"
field() { /usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
rss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
one() {
  local release="$1" dir pid grpc t first second r0 r1 r2
  dir="$(mktemp -d)"
  "$BUILD/bin/evbusd" --data-dir "$dir/data" --grpc-listen 127.0.0.1:0 \
    --http-listen 127.0.0.1:0 --ready-file "$dir/ready" \
    --release_startup_pages="$release" 2>"$dir/log" &
  for _ in $(seq 100); do [ -s "$dir/ready" ] && break; sleep 0.05; done
  sleep 2
  pid="$(field "$dir/ready" pid)"; grpc="$(field "$dir/ready" grpc)"
  r0="$(rss "$pid")"
  local put=("$BUILD/bin/evbus" --endpoint "$grpc" put-events --entries
             '[{"Source":"a","DetailType":"x","Detail":"{}"}]')
  t=$(date +%s%N); "${put[@]}" >/dev/null; first=$(ms_since "$t")
  t=$(date +%s%N); "${put[@]}" >/dev/null; second=$(ms_since "$t")
  "$BUILD/bin/evbus" --endpoint "$grpc" list-rules >/dev/null
  "$BUILD/bin/evbus" --endpoint "$grpc" put-rule --name r \
    --event-pattern '{"source":["a"]}' >/dev/null
  r1="$(rss "$pid")"
  sleep 30
  r2="$(rss "$pid")"
  echo "release=$release idle_rss_kb=$r0 first_put_ms=$first" \
       "second_put_ms=$second rss_after_4_requests_kb=$r1 rss_30s_later_kb=$r2"
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
}
for _ in $(seq "$RUNS"); do one true; one false; done
