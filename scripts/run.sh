#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, and start evbusd
# in the foreground with its RocksDB store in ./data and the bundled example
# stack: the website health check (examples/website-health-check) against a
# local page served on 127.0.0.1:8080, checked every minute, so that a
# function fires, its logs stream (`evbus logs tail health-check --follow`)
# and /metrics move within a minute.
#   gRPC on 127.0.0.1:4010 (the evbus CLI's default), HTTP on 127.0.0.1:4011.
# Extra arguments go to evbusd (e.g. --smtp-url smtp://127.0.0.1:2525).
# EVBUS_NO_EXAMPLE=1 starts evbusd alone.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
args=(--data-dir ./data --grpc-listen 127.0.0.1:4010 --http-listen 127.0.0.1:4011)
if [ "${EVBUS_NO_EXAMPLE:-0}" != "1" ]; then
  # The page the health check reads; it stops with this script.
  /usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 \
    --directory examples/website-health-check/site >/dev/null 2>&1 &
  page=$!
  trap 'kill "$page" 2>/dev/null || true' EXIT
  export SITE_URL="${SITE_URL:-http://127.0.0.1:8080/}"
  export CHECK_RATE="${CHECK_RATE:-rate(1 minute)}"
  args+=(--stack examples/website-health-check/stack.yaml)
  # Functions run as `nobody` when this runs as root: let them reach ./data.
  mkdir -p data && chmod 755 data
  echo "evbus: health check of $SITE_URL every minute; try" \
       "'./build/bin/evbus logs tail health-check --follow'" >&2
fi
./build/bin/evbusd "${args[@]}" "$@"
