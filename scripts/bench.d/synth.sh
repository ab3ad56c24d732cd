#!/usr/bin/env bash
# Yosys synthesis of the Vitis kernel wrapper sessnic_kernel (every RTL module: the card
# top sessnic_top with the table and the backplane engine, the ring engine, the control
# split, the kernel registers and the Ethernet framing) for AMD UltraScale+
# (synth_xilinx -family xcup). Prints per module LUT, FF, BRAM36, URAM, DSP, LUT RAM and
# the LUT levels of its longest register-to-register path (measured by
# scripts/synth/lut_levels.py, the same way for every module: docs/rtl.md, "Synthesis"),
# then the flattened kernel. Fails on any latch. Under `make bench` it writes
# $SESSNIC_BENCH_PARTS/synth.json (resources of the card top sessnic_top).
#
# Geometry: SESSNIC_SYNTH_SETS_LOG2 (default 8 = 256 sets x 4 ways x 256 B) keeps Yosys
# within a few CPU-minutes; the card (12) differs only in RAM depth (more RAM, the same
# logic). Yosys 0.23 cannot read the PeakRDL register block as generated (unpacked
# structs, `automatic` block variables), so a copy made Yosys-readable by
# scripts/synth/yosys_regs.sh is generated into the build directory for every run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SETS_LOG2=${SESSNIC_SYNTH_SETS_LOG2:-8}
WAYS=${SESSNIC_SYNTH_WAYS:-4}
OUT="$BUILD/synth"
mkdir -p "$OUT"
command -v yosys >/dev/null || { echo "synth: yosys not installed (make deps)"; exit 1; }

bash scripts/synth/yosys_regs.sh rtl/regs "$OUT/regs"
SRC="rtl/common/sessnic_wire_pkg.sv $OUT/regs/sessnic_regs_pkg.sv $OUT/regs/sessnic_regs.sv
     rtl/common/sess_ram_sdp.sv rtl/common/sess_axis_fifo.sv rtl/sess_table/sess_table.sv
     rtl/backplane_sync/bp_crc32.sv rtl/backplane_sync/bp_frame_check.sv rtl/backplane_sync/bp_sync.sv
     rtl/sessnic_top.sv
     rtl/host_if/sess_ring_fetch.sv rtl/host_if/sess_ring_writer.sv rtl/host_if/sess_ring_engine.sv
     rtl/kernel/sess_axil_split.sv rtl/kernel/sess_kernel_regs.sv rtl/kernel/sess_eth_tx.sv
     rtl/kernel/sess_eth_rx.sv rtl/kernel/sessnic_kernel.sv"

cat > "$OUT/sessnic_top.ys" <<YS
read_verilog -sv $(echo $SRC)
chparam -set SETS_LOG2 $SETS_LOG2 -set WAYS $WAYS -set SLOT_BYTES 256 sessnic_kernel
synth_xilinx -family xcup -top sessnic_kernel
select -assert-none t:LDCE t:LDPE t:\$dlatch t:\$_DLATCH_*
write_json $OUT/hier.json
flatten
opt_clean
write_json $OUT/flat.json
tee -q -o $OUT/stat.txt stat
YS

# The netlists depend only on the sources, the script and the Yosys version: when none
# changed since the last successful run, its netlists are reused (a `make bench` after a
# software-only change skips the several CPU-minutes of synthesis).
# SESSNIC_SYNTH_FORCE=1 runs Yosys anyway.
inputs_hash=$( { cat $SRC "$OUT/sessnic_top.ys"; yosys -V; } | sha256sum | cut -d' ' -f1)
if [ "${SESSNIC_SYNTH_FORCE:-0}" != 1 ] && [ -s "$OUT/hier.json" ] && [ -s "$OUT/flat.json" ] &&
   [ "$(cat "$OUT/inputs.sha256" 2>/dev/null)" = "$inputs_hash" ]; then
  echo "synth: sources, script and Yosys unchanged since the last run: reusing $OUT/hier.json, flat.json"
else
  rm -f "$OUT/inputs.sha256"
  echo "synth: yosys synth_xilinx -family xcup, sessnic_kernel SETS_LOG2=$SETS_LOG2 WAYS=$WAYS (log: $OUT/yosys.log)"
  start=$(date +%s)
  if ! yosys -q -l "$OUT/yosys.log" "$OUT/sessnic_top.ys" >/dev/null 2>&1; then
    tail -20 "$OUT/yosys.log"
    echo "synth: FAILED (a latch, or a Yosys error above)"
    exit 1
  fi
  echo "synth: $(( $(date +%s) - start ))s wall, latches 0"
  echo "$inputs_hash" > "$OUT/inputs.sha256"
fi
python3 scripts/synth/report.py "$OUT/hier.json" "$OUT/flat.json" sessnic_kernel sessnic_top \
  ${SESSNIC_BENCH_PARTS:+"$SESSNIC_BENCH_PARTS/synth.json"}
