#!/usr/bin/env bash
# Runs the cocotb benches (sim/cocotb/<module>/, docs/verification.md) through pytest +
# cocotb-test and prints each simulator run's cocotb summary and coverage lines; the full
# log goes to <build>/cocotb-<sim>.log. A failing bench fails the script.
#
#   scripts/run_pytest.sh [build-dir]      # make test (CI): Icarus every bench and geometry,
#                                          # Verilator one geometry per bench
#   SIM=verilator scripts/run_pytest.sh    # one simulator only
#   SESSNIC_COCOTB_ALL=1 ...               # every geometry on Verilator too (make cocotb)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls sim/cocotb/*/test_*.py >/dev/null 2>&1; then
  exit 0
fi
build=${1:-build}
export SESSNIC_PYREF=${SESSNIC_PYREF:-$PWD/$build/python}
if ! ls "$SESSNIC_PYREF"/sessnic_ref*.so >/dev/null 2>&1; then
  echo "run_pytest: $SESSNIC_PYREF/sessnic_ref*.so missing (cmake --build $build --target sessnic_ref)" >&2
  exit 1
fi
mkdir -p "$build"
rc=0
for sim in ${SIM:-icarus verilator}; do
  log="$build/cocotb-$sim.log"
  echo "cocotb benches on $sim (log: $log)"
  SIM=$sim .venv/bin/python -m pytest -q -rs -p no:cacheprovider -o log_cli=true --log-cli-level=INFO \
    sim/cocotb >"$log" 2>&1 || rc=1
  grep -E 'TESTS=[0-9]+ PASS|coverage |FAIL |SKIPPED|^=+ .*(passed|failed)|Error' "$log" |
    sed -E 's/^INFO +cocotb:simulator.py:[0-9]+ +//' | sed -E 's/^ +//' || true
done
exit $rc
