#!/usr/bin/env bash
# Installs zrelay into a temporary prefix and builds and runs examples/quickstart against it,
# the way a user's own project would use find_package(zrelay).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build --prefix "$prefix/install" >/dev/null
cmake -S examples/quickstart -B "$prefix/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/build" -j "$(nproc)"
"$prefix/build/quickstart"
echo "install check: the installed package builds and runs examples/quickstart"
