#!/bin/sh
# clang-format --dry-run --Werror on every C++ file of lookout's own sources (ctest lint.format).
# Fails when it cannot list them (not a git checkout) rather than checking nothing.
#   usage: check-format.sh CLANG_FORMAT
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files --cached --others --exclude-standard \
  'agent/*.cc' 'agent/*.h' 'exporters/*.cc' 'exporters/*.h' 'include/*.h' \
  'tests/unit/*.cc' 'tests/unit/*.h' 'tests/bench/*.cc' 'tests/fuzz/*.cc')
[ -n "$files" ] || { echo "no C++ files found (not a git checkout?)" >&2; exit 1; }
# shellcheck disable=SC2086  # paths have no spaces (checked by the first line)
echo "$files" | grep -q ' ' && { echo "a path with a space" >&2; exit 1; }
"${1:-clang-format}" --dry-run --Werror $files
echo "$(echo "$files" | wc -l) files formatted"
