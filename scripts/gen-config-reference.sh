#!/bin/sh
# Regenerates README.md's configuration reference from the components' option tables
# (`lookout --config.reference`). The unit test ConfigReference.ReadmeTableIsGenerated fails
# until this has been run after an option changed.
# usage: scripts/gen-config-reference.sh [BUILD_DIR]   (default: build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$build/lookout" --config.reference > "$table"
python3 - "$root/README.md" "$table" <<'PY'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read()
begin = "<!-- config-reference:begin (generated: lookout --config.reference) -->\n"
end = "<!-- config-reference:end -->"
text = open(readme).read()
b, e = text.index(begin), text.index(end)
open(readme, "w").write(text[: b + len(begin)] + table + text[e:])
PY
echo "README.md: configuration reference regenerated"
