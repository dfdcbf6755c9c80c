#!/usr/bin/env bash
# Builds the test suite with sanitizers and runs it with CTest:
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (leaks included), in ./build-asan
#   tsan  ThreadSanitizer, in ./build-tsan; races inside libzmq and libsodium, which are not
#         instrumented, are suppressed by .ci/tsan.supp (see the comment there)
# Further arguments go to ctest, e.g. `-R 'Endpoint|Integration'`. ZRELAY_JOBS sets the build's
# parallelism (default: every core).
# Every process of the suite (tests, broker, test peers) writes its reports to
# <build dir>/sanitizer-reports/; the script fails if CTest fails or if any report was written,
# so a report from a child process that the test itself did not notice still fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
  asan) dir=build-asan; sanitize=address,undefined; shared_zmq=OFF ;;
  tsan) dir=build-tsan; sanitize=thread; shared_zmq=ON ;;
  *) echo "usage: $0 asan|tsan [ctest arguments...]" >&2; exit 64 ;;
esac
shift
jobs=${ZRELAY_JOBS:-$(nproc)}

bash scripts/install-deps.sh
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZRELAY_SANITIZE="$sanitize" \
  -DZRELAY_LIBZMQ_SHARED="$shared_zmq" >/dev/null
cmake --build "$dir" -j "$jobs" --target zrelay_tests

reports="$PWD/$dir/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
common="log_path=$reports/report:print_stacktrace=1"
export UBSAN_OPTIONS="$common:halt_on_error=1"
export ASAN_OPTIONS="$common:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export TSAN_OPTIONS="$common:suppressions=$PWD/.ci/tsan.supp:second_deadlock_stack=1:history_size=4"

status=0
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 600 "$@" || status=$?

if compgen -G "$reports/report*" >/dev/null; then
  echo "sanitizer reports ($mode) in $reports:" >&2
  for f in "$reports"/report*; do
    echo "===== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
[ "$status" -eq 0 ] && echo "sanitize $mode: no failure, no report"
exit "$status"
