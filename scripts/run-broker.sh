#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the broker on its secure embedded defaults:
# localhost:5555, keys generated once in ~/.local/state/zrelay (or $ZRELAY_STATE_DIR), clients
# authenticated. Extra arguments go to zrelay-broker (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh zrelay-broker zrelay-keygen >&2
exec ./build/broker/zrelay-broker "$@"
