#!/usr/bin/env bash
# Installs the dependencies and builds zrelay into ./build (Release with debug info).
# Arguments, if any, name the targets to build (default: everything, tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build -j "$(nproc)" "${targets[@]}"
