#!/usr/bin/env bash
# Runs every benchmark executable in BUILD/bench/bin. Each writes its named figures
# as a flat JSON object to $SESSNIC_BENCH_PARTS/<name>.json; they are merged into
# BUILD/bench/summary.json (one flat object of numbers, see docs/benchmarks.md).
#
# SESSNIC_BENCH_SKIP="coverage bench_nginx" skips the named steps (an executable's name, or a
# bench.d script's name without .sh), e.g. the slow RTL coverage step on a busy machine.
# A step that fails does not stop the others: the summary is written from the parts that
# exist, the failed steps are listed, and the script exits non-zero. So it does when a figure
# docs/benchmarks.md lists for a step that was not skipped is not in the summary, or the
# summary holds one the docs do not list (scripts/bench_summary.py says which).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
case $BUILD in /*) build_abs=$BUILD ;; *) build_abs=$PWD/$BUILD ;; esac  # benches run from anywhere
export SESSNIC_BENCH_PARTS="$build_abs/bench/parts"
rm -rf "$SESSNIC_BENCH_PARTS"; mkdir -p "$SESSNIC_BENCH_PARTS"
read -r -a skip <<<"${SESSNIC_BENCH_SKIP:-}"
skipped() {
  local s
  for s in "${skip[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}
failed=()
ran=()
shopt -s nullglob
for b in "$BUILD"/bench/bin/*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  if skipped "$name"; then echo "== $name (skipped: SESSNIC_BENCH_SKIP)"; continue; fi
  echo "== $name"
  ran+=("$name")
  "$b" || { echo "!! $name failed (exit $?)"; failed+=("$name"); }
done
# Extra bench steps that are not executables (e.g. yosys synthesis) register as scripts.
for s in scripts/bench.d/*.sh; do
  name=$(basename "$s" .sh)
  if skipped "$name"; then echo "== $name.sh (skipped: SESSNIC_BENCH_SKIP)"; continue; fi
  echo "== $name.sh"
  ran+=("$name")
  bash "$s" "$BUILD" || { echo "!! $name.sh failed (exit $?)"; failed+=("$name.sh"); }
done
summary_ok=1
python3 scripts/bench_summary.py "$SESSNIC_BENCH_PARTS" "$BUILD/bench/summary.json" \
  --ran "${ran[*]}" --skipped "${skip[*]}" || summary_ok=0
if ((${#failed[@]})); then
  echo "run_bench: failed: ${failed[*]}" >&2
fi
if ((!summary_ok)); then
  echo "run_bench: $BUILD/bench/summary.json is incomplete or lists figures docs/benchmarks.md does not (see bench_summary above)" >&2
fi
if ((${#failed[@]})) || ((!summary_ok)); then
  exit 1
fi
