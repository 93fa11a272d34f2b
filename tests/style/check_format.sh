#!/usr/bin/env bash
# Fails when any C++ file of ours differs from clang-format's output
# (STYLE.md rule 14: clang-format 14, .clang-format at the repository root).
set -euo pipefail
cd "$(dirname "$0")/../.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.cc' '*.h')
else
  files=$(find server client bench tests -name '*.cc' -o -name '*.h')
fi
bad=0
for f in $files; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f (run: clang-format -i $f)"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "all $(echo "$files" | wc -w) files are clang-formatted"
exit "$bad"
