#!/usr/bin/env bash
# Builds the libzmq that zrelay links: Debian's own source package of libzmq 4.3.4 (zeromq3,
# Debian's patches applied by dpkg-source), then the patches in ./patches (see README.md), built
# with CMake as a static archive and a shared library (the TSan build links the shared one) and
# installed into one prefix that every build configuration uses:
#   ${ZRELAY_DEPS_DIR:-<project>/build-deps}/libzmq
# Nothing is done while the patches and this script are unchanged (a stamp file in the prefix
# records their hash; the top-level CMakeLists.txt checks the same hash). Needs deb-src entries
# for apt-get source: if the machine has none, they are derived from its Debian `deb` entries
# (sources.list, *.list and deb822 *.sources files) into files of our own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
deps="${ZRELAY_DEPS_DIR:-$root/build-deps}"
prefix="$deps/libzmq"
work="$deps/libzmq-src"
package=zeromq3
upstream=4.3.4
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

stamp="$(cat "$here/build.sh" "$here"/patches/*.patch | sha256sum | cut -d' ' -f1)"
if [ -f "$prefix/zrelay-stamp" ] && [ "$(cat "$prefix/zrelay-stamp")" = "$stamp" ]; then
  exit 0
fi

mkdir -p "$deps"
exec 9>"$deps/.libzmq.lock"
flock 9  # one build at a time; a second caller then finds it done
if [ -f "$prefix/zrelay-stamp" ] && [ "$(cat "$prefix/zrelay-stamp")" = "$stamp" ]; then
  exit 0
fi

# deb-src entries mirroring the machine's Debian deb entries, written afresh each time.
add_deb_src() {
  local one_line="" deb822=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    case "$f" in */zrelay-deb-src.list) continue ;; esac
    one_line+="$(sed -n 's/^deb \(.*debian.*\)$/deb-src \1/p' "$f")"$'\n'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in */zrelay-deb-src.sources) continue ;; esac
    grep -Eq '^URIs:.*debian' "$f" || continue
    deb822+="$(sed 's/^Types: deb$/Types: deb-src/' "$f")"$'\n\n'  # a blank line ends each stanza
  done
  if [ -z "${one_line//[[:space:]]/}" ] && [ -z "$deb822" ]; then
    echo "libzmq: no Debian apt source to derive a deb-src entry from" >&2
    exit 1
  fi
  [ -z "${one_line//[[:space:]]/}" ] || printf '%s' "$one_line" | $sudo tee /etc/apt/sources.list.d/zrelay-deb-src.list >/dev/null
  [ -z "$deb822" ] || printf '%s' "$deb822" | $sudo tee /etc/apt/sources.list.d/zrelay-deb-src.sources >/dev/null
  $sudo apt-get update -qq
}

# The candidate version of the source package (empty if apt knows no deb-src for it).
source_version() {
  { apt-cache showsrc "$package" 2>/dev/null || true; } | sed -n 's/^Version: //p' | sort -V | tail -1
}

version="$(source_version)"
if [ -z "$version" ]; then
  add_deb_src
  version="$(source_version)"
fi
case "$version" in
  "$upstream"-*) ;;
  *) echo "libzmq: source package $package is '$version', the patches are for $upstream" >&2; exit 1 ;;
esac

echo "libzmq: building $package $version with $(ls "$here/patches" | wc -l) zrelay patches into $prefix"
rm -rf "$work"
mkdir -p "$work"
(cd "$work" && apt-get source -qq "$package=$version" >/dev/null 2>&1) ||
  { echo "libzmq: apt-get source $package=$version failed" >&2; exit 1; }
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "$package-*" | head -1)"
for p in "$here"/patches/*.patch; do
  patch -d "$src" -p1 -s --no-backup-if-mismatch <"$p" || { echo "libzmq: $(basename "$p") does not apply" >&2; exit 1; }
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR="$deps" CCACHE_NOHASHDIR=1  # the same source in another clone hits the cache
staged="$work/prefix"  # installed here first: a failed build leaves the previous libzmq in place
log="$work/build.log"
if ! {
  cmake -S "$src" -B "$work/build" -G Ninja "${launcher[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_SHARED=ON -DBUILD_STATIC=ON -DBUILD_TESTS=OFF -DWITH_DOCS=OFF -DWITH_DOC=OFF \
    -DWITH_PERF_TOOL=OFF -DENABLE_DRAFTS=ON -DENABLE_WS=OFF -DWITH_LIBBSD=OFF \
    -DWITH_LIBSODIUM=ON -DENABLE_CURVE=ON -DENABLE_CPACK=OFF -DENABLE_PRECOMPILED=OFF -Wno-dev &&
    cmake --build "$work/build" -j "$(nproc)" &&
    DESTDIR="$staged" cmake --install "$work/build"
} >"$log" 2>&1; then
  echo "libzmq: the build failed; its last lines:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "$stamp" >"$staged$prefix/zrelay-stamp"
rm -rf "$prefix"
mv "$staged$prefix" "$prefix"
rm -rf "$work"
echo "libzmq: installed into $prefix"
