#!/usr/bin/env bash
# Installs every Debian 12 package lookout's build, tests and benchmarks need. Idempotent.
#   scripts/install-deps.sh           build + test packages, and the npm test peers
#   scripts/install-deps.sh --build   the build packages only (the Containerfile's build stage)
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libyaml-cpp-dev zlib1g-dev libcurl4-openssl-dev openssl
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc libre2-dev
  prometheus-cpp-dev libsimdjson-dev libfmt-dev libdeflate-dev libssl-dev libsnappy-dev
)
TEST_PACKAGES=(
  # tests, fuzzers (clang's libFuzzer) and benchmarks; clang-format and clang-tidy for ctest
  # lint.format and lint.tidy
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format clang-tidy
  # pod_list_parse_bench compares the JSON parser (simdjson) with it
  nlohmann-json3-dev
  python3 python3-prometheus-client
  prometheus prometheus-node-exporter prometheus-alertmanager python3-yaml python3-kubernetes curl
  # the container image test (integration.image): buildah builds daemon-less as root, and
  # mmdebstrap makes the Debian base images when no registry is reachable
  buildah mmdebstrap
)
build_only=0
[ "${1:-}" = "--build" ] && build_only=1
PACKAGES=("${BUILD_PACKAGES[@]}")
[ "$build_only" -eq 1 ] || PACKAGES+=("${TEST_PACKAGES[@]}")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ "$build_only" -eq 0 ] || exit 0
# The Debian packages start services where systemd runs; tests start their own instances on
# free loopback ports, so stop the packaged ones to keep the machine quiet (ignore failures).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus prometheus-node-exporter prometheus-alertmanager \
    >/dev/null 2>&1 || true
fi
# Test peers from the npm registry (prom-client, the OpenTelemetry JS SDK), pinned by
# tests/peers/package-lock.json. Node.js itself comes from Debian when the image has none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
(cd "$(dirname "$0")/../tests/peers" && npm ci --no-audit --no-fund --loglevel=error)
