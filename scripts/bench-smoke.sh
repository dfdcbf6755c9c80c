#!/usr/bin/env bash
# CI smoke run of the benchmarks with tiny counts: every workload of zrelay-bench runs through
# zrelay and both references, and every micro-benchmark runs once. It checks that they work,
# not how fast they are (docs/benchmarks.md has the numbers and how to get them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh zrelay-bench zrelay-microbench
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 600 build/bench/zrelay-bench --quick | tee "$out"
# A CURVE row must have a zrelay number: "n/a" there means zrelay did not run.
if grep -E '^\| [^|]+\| [^|]+\| CURVE \| n/a' "$out"; then
  echo "bench-smoke: zrelay did not run in the rows above" >&2
  exit 1
fi
rows=$(grep -c '| CURVE |' "$out")
[ "$rows" -ge 40 ] || { echo "bench-smoke: only $rows CURVE rows" >&2; exit 1; }
timeout 300 build/bench/micro/zrelay-microbench --benchmark_min_time=0.01
