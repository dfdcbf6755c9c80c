#!/usr/bin/env bash
# Installs what zrelay needs to build and test on Debian bookworm (run as root, or with sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config ccache
  dpkg-dev patch  # third_party/libzmq/build.sh: apt-get source, the patches
  libzmq3-dev cppzmq-dev libsodium-dev libboost-serialization-dev
  libcli11-dev libspdlog-dev libtomlplusplus-dev
  liblmdb-dev  # the store of durable groups (broker/durable_store.*)
  googletest libgtest-dev libgmock-dev
  libbenchmark-dev  # bench/micro (zrelay-microbench)
  libczmq-dev   # tests only: checks that CZMQ reads our certificates and we read its
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# libzmq itself: Debian's source with zrelay's patches, built once (third_party/libzmq/README.md).
bash "$(dirname "$0")/../third_party/libzmq/build.sh"
