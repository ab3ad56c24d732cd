#!/usr/bin/env bash
# make coverage: line and toggle coverage of the RTL with `verilator --coverage-line
# --coverage-toggle` (toggle: signals up to 64 bits) over the module cocotb benches
# (sim/cocotb/<module>/ on Verilator, the first parameter set each). The Verilated
# GoogleTest harnesses (tests/rtl) are not instrumented: the figures are what the cocotb
# benches reach. Per module report on stdout; figures rtl_line_coverage_<module> and
# rtl_toggle_coverage_<module> in <build>/coverage/coverage.json (and
# $SESSNIC_BENCH_PARTS/rtl_coverage.json under make bench).
#
#   sim/coverage/run_coverage.sh [build-dir] [bench ...]   # default: the module benches
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
shift || true
benches=("$@")
# bp_crc32 has no bench of its own here: both bp_frame_check and bp_sync instantiate it, so
# their runs measure it, and a model build is saved. sessnic_top measures the top and its
# register block (sessnic_regs), and adds its traffic to the modules it instantiates.
[ ${#benches[@]} -gt 0 ] || benches=(sess_table bp_sync bp_frame_check sessnic_top)
out="$build/coverage"
mkdir -p "$out"
case $build in /*) build_abs=$build ;; *) build_abs=$PWD/$build ;; esac  # an absolute build dir too
export SESSNIC_PYREF=${SESSNIC_PYREF:-$build_abs/python}
if ! ls "$SESSNIC_PYREF"/sessnic_ref*.so >/dev/null 2>&1; then
  echo "coverage: $SESSNIC_PYREF/sessnic_ref*.so missing (cmake --build $build --target sessnic_ref)" >&2
  exit 1
fi
# Stale data from an earlier run must not count; only the benches run here are merged.
dirs=("${benches[@]/#/sim/cocotb/}")
find "${dirs[@]}" -path '*sim_build/verilator-*-cov/coverage.dat' -delete
start=$SECONDS
echo "coverage: cocotb benches on Verilator with --coverage-line --coverage-toggle (log: $out/cocotb.log)"
rc=0
SIM=verilator SESSNIC_COVERAGE=1 .venv/bin/python -m pytest -q -p no:cacheprovider \
  "${benches[@]/#/sim/cocotb/}" >"$out/cocotb.log" 2>&1 || rc=1
grep -E '^=+ .*(passed|failed)' "$out/cocotb.log" || true
echo "coverage: benches run in $((SECONDS - start)) s (${benches[*]})"
mapfile -t dats < <(find "${dirs[@]}" -path '*sim_build/verilator-*-cov/coverage.dat' | sort)
if [ "${#dats[@]}" -eq 0 ]; then
  echo "coverage: no coverage.dat written" >&2
  exit 1
fi
python3 sim/coverage/coverage_report.py "$out/coverage.json" "${dats[@]}"
if [ -n "${SESSNIC_BENCH_PARTS:-}" ]; then
  cp "$out/coverage.json" "$SESSNIC_BENCH_PARTS/rtl_coverage.json"
fi
exit $rc
