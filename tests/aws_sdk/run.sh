#!/usr/bin/env bash
# Runs the AWS SDK suite against the built evbusd ($EVBUS_BIN_DIR, default
# ../../build/bin). Installs the pinned SDK clients from package-lock.json
# when node_modules is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
  touch node_modules
fi

# One bounded run; extra arguments go to node --test (e.g. a file name).
if [ "$#" -gt 0 ]; then
  exec timeout 600 node --test "$@"
fi
exec timeout 600 node --test
