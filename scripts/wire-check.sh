#!/usr/bin/env bash
# Captures the loopback traffic of a real broker and the zrelay client with tshark and checks that
# a marker sent through the broker never appears in clear on the wire (CURVE encrypts it), while
# a control marker sent in clear to the same port does appear (the capture works). Needs root
# for the capture; installs tshark if missing. Skips (exit 0, with a message) where capturing on
# loopback is not possible at all, or a capture on loopback receives no packets at all.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tshark >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends tshark >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "wire check: $*" >&2
  exit 1
}
wait_for_line() {  # FILE PATTERN: up to 20 s
  for _ in $(seq 400); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

export ZRELAY_STATE_DIR="$work/state"
build/broker/zrelay-broker --bind 'tcp://127.0.0.1:*' >"$work/broker.log" 2>&1 &
pids+=($!)
wait_for_line "$work/broker.log" '^listening on ' || { cat "$work/broker.log" >&2; fail "the broker did not start"; }
address=$(sed -n 's/^listening on //p' "$work/broker.log")
port=${address##*:}
export ZRELAY_BROKER="$address"

tshark -i lo -f "tcp port $port" -w "$work/wire.pcapng" >"$work/tshark.log" 2>&1 &
pids+=($!)
if ! wait_for_line "$work/tshark.log" 'Capturing on'; then
  cat "$work/tshark.log" >&2
  echo "wire check: skipped (cannot capture on loopback here)"
  exit 0
fi

secret="zrelay-wire-secret-$RANDOM$RANDOM"
control="zrelay-wire-control-$RANDOM$RANDOM"
build/tools/zrelay produce wire "$secret" "$(printf '%s%.0s' "$secret" $(seq 1000))"
build/tools/zrelay broadcast wire-news "$secret"
got=$(build/tools/zrelay consume -n 2 wire | head -c 64)
[ "${got:0:${#secret}}" = "$secret" ] || fail "the marker did not come through the broker"
# The control: bytes in clear to the same port (the broker drops them as garbage).
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '%s' "$control" >&3
exec 3>&-
# tshark writes packets in order: once the control is in the file, everything before it is too.
for _ in $(seq 400); do
  grep -aq "$control" "$work/wire.pcapng" && break
  sleep 0.05
done
kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true

packets=$(tshark -r "$work/wire.pcapng" 2>/dev/null | wc -l)
if [ "$packets" -eq 0 ] && ! grep -aq "$control" "$work/wire.pcapng"; then
  # Some sandboxes accept a capture on lo but hand it no packets at all, not even the clear
  # control: such a capture can show nothing either way. (Any packet at all makes it count.)
  cat "$work/tshark.log" >&2
  echo "wire check: skipped (the capture on lo received no packets, not even the clear control)"
  exit 0
fi
[ "$packets" -gt 10 ] || fail "only $packets packets captured"
grep -aq "$control" "$work/wire.pcapng" || fail "the control marker sent in clear is not in the capture: the check would prove nothing"
if grep -aq "$secret" "$work/wire.pcapng"; then
  fail "the marker sent through the broker appears in clear on the wire"
fi
echo "wire check: $packets packets captured; the marker never appears in clear, the clear control does"
