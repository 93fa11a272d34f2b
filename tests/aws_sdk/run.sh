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

# The pinned SDK warns once per file that releases after January 2027 need
# Node 22; that is not a test result.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED="${AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:-true}"

# One bounded run; extra arguments go to node --test (e.g. a file name).
if [ "$#" -gt 0 ]; then
  exec timeout 600 node --test "$@"
fi
exec timeout 600 node --test
