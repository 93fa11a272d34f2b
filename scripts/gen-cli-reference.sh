#!/usr/bin/env bash
# Writes docs/cli-reference.md from the CLI's own help, so the reference
# cannot drift from the binary (tests/integration/test_docs.py checks it).
#   scripts/gen-cli-reference.sh [path/to/evbus] > docs/cli-reference.md
set -euo pipefail
EVBUS="${1:-$(dirname "$0")/../build/bin/evbus}"
cat <<'HEADER'
# CLI reference

Generated from `evbus --help` by `scripts/gen-cli-reference.sh`; do not edit
by hand. Each verb also answers `evbus VERB --help`. Verbs and options are
named like the aws CLI's (`aws events`, `aws scheduler`, `aws lambda`,
`aws sns`, `aws cloudwatch`); JSON output uses the AWS API's member names.

```text
HEADER
"$EVBUS" --help 2>&1
echo '```'
