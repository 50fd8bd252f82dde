#!/usr/bin/env bash
# Installs dependencies, builds lookout and runs the whole test suite with ctest:
#   1. release build: unit, golden, CLI, exposition, Prometheus and node_exporter parity tests;
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: the same suite again.
# Benchmarks (ctest label "bench") are not run here: see "Benchmarks" in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "== release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
(cd build && ctest -LE bench --output-on-failure -j "$jobs" --timeout 600)

echo "== ASan+UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLOOKOUT_SANITIZE=ON -DLOOKOUT_BUILD_BENCH=OFF
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest -LE bench --output-on-failure -j "$jobs" --timeout 600)
