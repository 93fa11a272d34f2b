#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, and start evbusd
# in the foreground with its RocksDB store in ./data.
#   gRPC on 127.0.0.1:4010 (the evbus CLI's default), HTTP on 127.0.0.1:4011.
# Extra arguments go to evbusd (e.g. --grpc-listen 127.0.0.1:0).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/bin/evbusd --data-dir ./data --grpc-listen 127.0.0.1:4010 \
  --http-listen 127.0.0.1:4011 "$@"
