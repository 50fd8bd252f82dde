#!/usr/bin/env bash
# Installs dependencies, builds lookout and runs it with the embedded default config.
# Afterwards, from another shell: curl localhost:9464/metrics
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-local -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOKOUT_BUILD_TESTS=OFF
cmake --build build-local --target lookout
exec ./build-local/lookout "$@"
