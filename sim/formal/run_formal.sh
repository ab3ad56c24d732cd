#!/usr/bin/env bash
# Checks a FORMAL wrapper of sim/formal/ with Yosys 0.23: bounded model check of every
# assert for DEPTH (default 24) cycles from an arbitrary initial state, with the reset
# asserted at any point (the wrapper only checks after a reset). Exits non-zero when a
# property fails; FORMAL_LOG=<file> keeps Yosys's log with the counterexample.
#   run_formal.sh <wrapper module> <dut files...>
set -euo pipefail
top=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
depth=${FORMAL_DEPTH:-24}
yosys -q -p "read_verilog -formal -sv $* $here/$top.sv; prep -top $top; flatten; memory; opt_clean;
             sat -seq $depth -prove-asserts -set-init-undef -set-def-inputs -verify -show-ports $top" \
  > "${FORMAL_LOG:-/dev/null}" 2>&1 || { echo "formal: $top FAILED (log: ${FORMAL_LOG:-rerun with FORMAL_LOG=file})"; exit 1; }
echo "formal: $top holds for $depth cycles from any reset (sat -seq $depth)"
