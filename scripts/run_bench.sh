#!/usr/bin/env bash
# Runs every benchmark executable in BUILD/bench/bin. Each writes its named figures
# as a flat JSON object to $SESSNIC_BENCH_PARTS/<name>.json; they are merged into
# BUILD/bench/summary.json (one flat object of numbers, see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export SESSNIC_BENCH_PARTS="$PWD/$BUILD/bench/parts"
rm -rf "$SESSNIC_BENCH_PARTS"; mkdir -p "$SESSNIC_BENCH_PARTS"
shopt -s nullglob
for b in "$BUILD"/bench/bin/*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
# Extra bench steps that are not executables (e.g. yosys synthesis) register as scripts.
for s in scripts/bench.d/*.sh; do
  echo "== $(basename "$s")"
  bash "$s" "$BUILD"
done
python3 scripts/bench_summary.py "$SESSNIC_BENCH_PARTS" "$BUILD/bench/summary.json"
