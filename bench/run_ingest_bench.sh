#!/usr/bin/env bash
# Reproduces the ingest numbers of docs/performance.md on this machine:
#   1. the machine's synced-write limit (RocksDB db_bench, Debian rocksdb-tools)
#   2. evbusd PutEvents, batches of 10 x 1 KB, 64 concurrent callers: with
#      one matching rule + webhook, with 99 more rules that match nothing,
#      and with no rules
#   3. evbusd PutEvents, single entries, 64 concurrent callers
#   4. end to end PutEvents -> loopback webhook at 1,000 events/s
#   5. the machine's own HTTP delivery limit (do-nothing receiver)
# Usage: bench/run_ingest_bench.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
BUILD="${1:-build}"
SECONDS_PER_RUN="${2:-10}"
WORK="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== db_bench fillrandom, sync, batch 10, 16 threads, 1000-byte values"
db_bench --benchmarks=fillrandom --sync=1 --batch_size=10 --threads=16 \
  --value_size=1000 --num=20000 --db="$WORK/db_bench" 2>/dev/null | grep -E '^fillrandom'

"$BUILD/bin/evbusd" --data-dir "$WORK/data" --grpc-listen 127.0.0.1:0 \
  --http-listen 127.0.0.1:0 --ready-file "$WORK/ready" 2>"$WORK/evbusd.log" &
PID=$!
for _ in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
GRPC=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['grpc'])" "$WORK/ready")

echo "== evbus-bench put-events, batch 10 x 1000 bytes, 64 callers, 1 matching rule"
"$BUILD/bin/evbus-bench" put-events --endpoint "$GRPC" --concurrency 64 \
  --batch 10 --payload-bytes 1000 --duration "$SECONDS_PER_RUN" --rules 1
echo "== the same with 99 more rules that match nothing"
"$BUILD/bin/evbus-bench" put-events --endpoint "$GRPC" --concurrency 64 \
  --batch 10 --payload-bytes 1000 --duration "$SECONDS_PER_RUN" --rules 100
echo "== evbus-bench put-events, batch 10 x 1000 bytes, 64 callers, no rules"
"$BUILD/bin/evbus-bench" put-events --endpoint "$GRPC" --concurrency 64 \
  --batch 10 --payload-bytes 1000 --duration "$SECONDS_PER_RUN"
echo "== evbus-bench put-events, single entry x 1000 bytes, 64 callers"
"$BUILD/bin/evbus-bench" put-events --endpoint "$GRPC" --concurrency 64 \
  --batch 1 --payload-bytes 1000 --duration "$SECONDS_PER_RUN"
echo "== the same two with an asynchronous load generator (1 client thread)"
"$BUILD/bin/evbus-bench" put-events --endpoint "$GRPC" --concurrency 64 \
  --batch 10 --payload-bytes 1000 --duration "$SECONDS_PER_RUN" --rules 1 \
  --client-threads 1
"$BUILD/bin/evbus-bench" put-events --endpoint "$GRPC" --concurrency 64 \
  --batch 1 --payload-bytes 1000 --duration "$SECONDS_PER_RUN" \
  --client-threads 1
echo "== evbus-bench e2e, 1,000 events/s to a loopback webhook"
"$BUILD/bin/evbus-bench" e2e --endpoint "$GRPC" --rate 1000 --concurrency 4 \
  --duration "$SECONDS_PER_RUN"
echo "== machine limit: do-nothing HTTP receiver, libcurl multi, 64 connections"
"$BUILD/bin/evbus-bench" http-limit --connections 64 --duration "$SECONDS_PER_RUN"
