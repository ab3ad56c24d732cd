#!/usr/bin/env bash
# Checks a FORMAL wrapper of sim/formal/ with Yosys 0.23. Exits non-zero when a property
# fails; FORMAL_LOG=<file> keeps Yosys's log with the counterexample.
#   run_formal.sh <wrapper module> <dut files...>
# FORMAL_MODE=bmc (default): bounded model check of every assert for FORMAL_DEPTH (24)
#   cycles from an arbitrary initial state, the reset asserted at any point (the wrappers
#   only check after a reset): `sat -seq N`.
# FORMAL_MODE=prove: unbounded proof by temporal induction (`sat -tempinduct`): the
#   asserts hold in every reachable state, for any number of cycles. prove2: the same,
#   2-valued (as bmc; see below).
# FORMAL_PROBES="probe=dut.signal ...": wrapper wires named probe_* are connected to the
#   DUT's internal signals after flattening (Yosys 0.23 reads no hierarchical references),
#   so an induction invariant can name a pointer without editing rtl/.
set -euo pipefail
top=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
depth=${FORMAL_DEPTH:-24}
connect=""
for p in ${FORMAL_PROBES:-}; do
  connect+="connect -set ${p%%=*} ${p#*=}; "
done
case ${FORMAL_MODE:-bmc} in
  # bmc: 2-valued, no X modelling: the initial state is any state, as registers power up in
  # hardware, and what Verilog leaves X (an out-of-range select) may be any value. With
  # -set-init-undef/-set-def-inputs, Yosys's conservative X propagation carries an unreset
  # register's X into verdicts and fails checks that no hardware state fails.
  bmc) check="sat -seq $depth -prove-asserts -set-assumes -verify -show-ports $top"
       what="holds for $depth cycles from any state and any reset (sat -seq $depth, bounded)" ;;
  prove) check="sat -tempinduct -prove-asserts -set-assumes -set-init-undef -set-def-inputs -verify -show-ports $top"
         what="proven for every reachable state (sat -tempinduct, unbounded)" ;;
  # prove2: the same induction, 2-valued like bmc. With X modelling the induction step's
  # free state may hold X in registers the properties compare (a data register that was
  # never written), and X == X is not "true"; in hardware every register holds 0 or 1.
  prove2) check="sat -tempinduct -prove-asserts -set-assumes -verify -show-ports $top"
          what="proven for every reachable state (sat -tempinduct, unbounded, 2-valued)" ;;
  *) echo "formal: FORMAL_MODE is bmc, prove or prove2" >&2; exit 2 ;;
esac
log=${FORMAL_LOG:-/dev/null}
yosys -q -l "$log" -p "read_verilog -formal -sv $* $here/$top.sv; prep -top $top; flatten; $connect memory; opt_clean;
             $check" \
  >/dev/null 2>&1 || { echo "formal: $top FAILED (log: ${FORMAL_LOG:-rerun with FORMAL_LOG=file})"; exit 1; }
echo "formal: $top $what"
