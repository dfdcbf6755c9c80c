#!/usr/bin/env bash
# Installs zrelay into a temporary prefix and checks what a user gets there: examples/quickstart
# built with find_package(zrelay), a program built with pkg-config's flags alone, the installed
# programs working together, and the systemd unit (if systemd-analyze works here).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d)
broker_pid=
cleanup() {
  if [ -n "$broker_pid" ]; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  rm -rf "$prefix"
}
trap cleanup EXIT
fail() {
  echo "install check: $*" >&2
  exit 1
}

install="$prefix/install"
cmake --install build --prefix "$install" >/dev/null
cmake -S examples/quickstart -B "$prefix/build" -G Ninja -DCMAKE_PREFIX_PATH="$install" >/dev/null
cmake --build "$prefix/build" -j "$(nproc)"
"$prefix/build/quickstart"
echo "install check: the installed package builds and runs examples/quickstart"
# A project that found the system's libzmq first is refused instead of linked against it.
mkdir -p "$prefix/wrong-order"
printf '%s\n' 'cmake_minimum_required(VERSION 3.20)' 'project(wrong_order CXX)' \
  'find_package(cppzmq CONFIG REQUIRED)' 'find_package(zrelay CONFIG REQUIRED)' >"$prefix/wrong-order/CMakeLists.txt"
if cmake -S "$prefix/wrong-order" -B "$prefix/wrong-order/build" -DCMAKE_PREFIX_PATH="$install" >"$prefix/wrong-order.log" 2>&1; then
  fail "find_package(zrelay) after the system's libzmq was accepted"
fi
grep -q "not zrelay's patched libzmq" "$prefix/wrong-order.log" || { cat "$prefix/wrong-order.log" >&2; fail "no clear refusal"; }
echo "install check: the system's libzmq found first is refused, with the reason"
# It links zrelay's patched libzmq (third_party/libzmq) statically, not the system's shared one.
[ -f "$install/lib/zrelay/libzmq/lib/libzmq.a" ] || fail "the patched libzmq is not installed"
libraries=$(ldd "$prefix/build/quickstart")  # not piped into grep -q: pipefail and SIGPIPE
if grep -q 'libzmq\.so' <<<"$libraries"; then
  fail "examples/quickstart loads a shared libzmq instead of zrelay's patched one"
fi

unit=lib/systemd/system/zrelay-broker.service
config=etc/zrelay/broker.toml
for file in bin/zrelay bin/zrelay-broker bin/zrelay-keygen "$unit" "$config" share/doc/zrelay/broker.toml.example; do
  [ -e "$install/$file" ] || fail "$file is not installed"
done

# The installed broker with its installed config, on a free port and a state directory of its own.
export ZRELAY_STATE_DIR="$prefix/state"
"$install/bin/zrelay-broker" --config "$install/$config" --bind 'tcp://127.0.0.1:*' >"$prefix/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 400); do  # up to 20 s
  grep -q '^listening on ' "$prefix/broker.log" && break
  kill -0 "$broker_pid" 2>/dev/null || break
  sleep 0.05
done
address=$(sed -n 's/^listening on //p' "$prefix/broker.log")
[ -n "$address" ] || { cat "$prefix/broker.log" >&2; fail "the installed zrelay-broker did not start"; }
export ZRELAY_BROKER="$address"

# A program built with nothing but the flags of the installed zrelay.pc.
cat >"$prefix/pkg_config_check.cpp" <<'EOF'
#include <chrono>
#include <iostream>
#include <string>

#include <boost/serialization/string.hpp>
#include <zrelay/endpoint.hpp>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string state = argv[2];
  zrelay::EndpointOptions options;
  options.broker = argv[1];
  options.broker_certificate = state + "/broker";
  options.certificate_file = state + "/client";
  options.groups = {"pkg-config"};
  zrelay::Endpoint endpoint(options);
  endpoint.produce(std::string("built with pkg-config"), "pkg-config");
  endpoint.notify("pkg-config");
  const auto got = endpoint.pop(1, std::chrono::seconds(10));
  if (got.empty() || got.front().as<std::string>() != "built with pkg-config") return 1;
  return 0;
}
EOF
pc_dir=$(dirname "$(find "$install" -name zrelay.pc)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs zrelay)
# shellcheck disable=SC2086  # the flags are words
g++ -std=c++20 "$prefix/pkg_config_check.cpp" -o "$prefix/pkg_config_check" $flags
"$prefix/pkg_config_check" "$address" "$ZRELAY_STATE_DIR" || fail "the program built with pkg-config failed"
libraries=$(ldd "$prefix/pkg_config_check")
if grep -q 'libzmq\.so' <<<"$libraries"; then
  fail "the program built with pkg-config loads a shared libzmq instead of zrelay's patched one"
fi
echo "install check: a program built with pkg-config --cflags --libs zrelay runs"

# The installed command-line client against the installed broker, keys from the state directory.
"$install/bin/zrelay" produce install-check "through the installed zrelay"
got=$("$install/bin/zrelay" consume install-check)
[ "$got" = "through the installed zrelay" ] || fail "zrelay consume printed '$got'"
echo "install check: the installed zrelay and zrelay-broker work together"

# systemd-analyze verify, where it works at all (containers often lack systemd): a trivial unit
# must pass first. Warnings count as failures for the real one.
if command -v systemd-analyze >/dev/null 2>&1; then
  printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$prefix/probe.service"
  if probe=$(systemd-analyze verify "$prefix/probe.service" 2>&1) && [ -z "$probe" ]; then
    report=$(systemd-analyze verify "$install/$unit" 2>&1) || fail "systemd-analyze verify: $report"
    [ -z "$report" ] || fail "systemd-analyze verify: $report"
    echo "install check: systemd-analyze verify accepts the unit"
  fi
fi
