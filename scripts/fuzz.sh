#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan + libFuzzer) in ./build-fuzz and
# runs each for SECONDS (default 60) on a copy of its seed corpus (fuzz/corpus/<target>), so the
# repository's corpus is left as it is. Fails on any crash, sanitizer report, leak, out-of-memory
# (-rss_limit_mb=2048, also per allocation) or timeout (-timeout=10 s per input); the input
# that did it is kept in build-fuzz/artifacts/. Prints the executions of every target.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]. ZRELAY_JOBS sets the build's parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_client_decoder fuzz_broker_decoder fuzz_certificate fuzz_payload fuzz_config fuzz_broker_core)
jobs=${ZRELAY_JOBS:-$(nproc)}

bash scripts/install-deps.sh
# clang and its libFuzzer runtime (Debian: clang-14 and libclang-rt-14-dev on bookworm; the
# runtime is only recommended by clang, so ask for it by name).
runtime_missing() {
  ! command -v clang++ >/dev/null ||
    [ ! -f "$(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a" ]
}
if runtime_missing; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev
  if runtime_missing; then echo "fuzz: clang's libFuzzer runtime is still missing" >&2; exit 1; fi
fi

cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DZRELAY_FUZZ=ON -DZRELAY_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$PWD/build-fuzz/artifacts"
mkdir -p "$artifacts"
export ASAN_OPTIONS="detect_leaks=1:print_stacktrace=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
summary=()
for target in "${targets[@]}"; do
  cp -r "fuzz/corpus/$target" "$work/$target"
  log="$work/$target.log"
  status=0
  "./build-fuzz/fuzz/$target" "$work/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$work/$target" -type f | wc -l)
  line="$target: ${runs:-?} executions in ${seconds} s (${rate:-?}/s), corpus ${corpus} inputs"
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    line="$line: FAILED (exit $status)"
    echo "----- $target (exit $status), last lines of its log:" >&2
    tail -n 60 "$log" >&2
    cp "$log" "$artifacts/$target.log"
  fi
  echo "$line"
  summary+=("$line")
done

echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (inputs and logs in $artifacts)" >&2
  exit 1
fi
