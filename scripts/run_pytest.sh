#!/usr/bin/env bash
# Runs the cocotb benches (sim/cocotb/<module>/, docs/verification.md) through pytest +
# cocotb-test and prints each simulator run's cocotb summary and coverage lines; the full
# log goes to <build>/cocotb-<sim>.log. A failing bench fails the script.
#
#   scripts/run_pytest.sh [build-dir]      # make test (CI): Icarus every bench, Verilator the
#                                          # benches of SESSNIC_VERILATOR_CI; the first
#                                          # parameter set of each (sessnic_tb.ci_sample)
#   SIM=verilator scripts/run_pytest.sh    # one simulator only
#   SESSNIC_COCOTB_ALL=1 ...               # every bench and parameter set (make cocotb)
# CI budget: a Verilator bench costs a model build (C++ compile), most of its time, so CI
# samples the benches there; make cocotb SIM=verilator runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls sim/cocotb/*/test_*.py >/dev/null 2>&1; then
  exit 0
fi
build=${1:-build}
case $build in /*) build_abs=$build ;; *) build_abs=$PWD/$build ;; esac  # an absolute build dir too
export SESSNIC_PYREF=${SESSNIC_PYREF:-$build_abs/python}
if ! ls "$SESSNIC_PYREF"/sessnic_ref*.so >/dev/null 2>&1; then
  echo "run_pytest: $SESSNIC_PYREF/sessnic_ref*.so missing (cmake --build $build --target sessnic_ref)" >&2
  exit 1
fi
mkdir -p "$build"
rc=0
for sim in ${SIM:-icarus verilator}; do
  log="$build/cocotb-$sim.log"
  echo "cocotb benches on $sim (log: $log)"
  targets=(sim/cocotb)
  if [ "$sim" = verilator ] && [ -z "${SESSNIC_COCOTB_ALL:-}" ]; then
    read -r -a benches <<<"${SESSNIC_VERILATOR_CI:-sess_table bp_frame_check bp_crc32}"
    targets=("${benches[@]/#/sim/cocotb/}")
  fi
  start=$SECONDS
  SIM=$sim .venv/bin/python -m pytest -q -rs -p no:cacheprovider -o log_cli=true --log-cli-level=INFO \
    "${targets[@]}" >"$log" 2>&1 || rc=1
  grep -E 'TESTS=[0-9]+ PASS|coverage |FAIL |SKIPPED|^=+ .*(passed|failed)|Error' "$log" |
    sed -E 's/^INFO +cocotb:simulator.py:[0-9]+ +//' | sed -E 's/^ +//' || true
  echo "cocotb benches on $sim: $((SECONDS - start)) s (${targets[*]})"
done
exit $rc
