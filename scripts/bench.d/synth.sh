#!/usr/bin/env bash
# Yosys synthesis of the Vitis kernel wrapper sessnic_kernel and every RTL module under it
# (the card top sessnic_top with the table and the backplane engine, the ring engine, the
# control split, the kernel registers and the Ethernet framing) for AMD UltraScale+
# (synth_xilinx -family xcup), hierarchically (docs/rtl.md, "Synthesis"):
#   1. elaborate the kernel once (`hierarchy`): every module specialised to the real
#      parameters of its instances;
#   2. synthesize each specialised module in its own Yosys run (submodules as blackboxes),
#      SESSNIC_SYNTH_JOBS (2) at a time, each under SESSNIC_SYNTH_TIMEOUT seconds (1800); a
#      run that fails or times out is named, the others are still reported (it stays a
#      blackbox, so no totals are written), and the script fails;
#   3. assemble the mapped netlists (no resynthesis) into the kernel, hierarchical and
#      flattened, and print per module LUT, FF, BRAM36, URAM, DSP, LUT RAM and the LUT
#      levels of its longest register-to-register path (scripts/synth/lut_levels.py, the
#      same way for every module), and the flattened card top and kernel.
# Fails on any latch. Under `make bench` it writes $SESSNIC_BENCH_PARTS/synth.json.
#
# Geometry: SESSNIC_SYNTH_SETS_LOG2 (default 8 = 256 sets x 4 ways x 256 B); the card (12)
# differs only in RAM depth (more RAM, the same logic). Yosys 0.23 cannot read the PeakRDL
# register block as generated (unpacked structs, `automatic` block variables), so a copy
# made Yosys-readable by scripts/synth/yosys_regs.sh is generated into the build directory.
#
# Cache: the elaboration is reused while the sources and this script are unchanged, and
# each module's netlist while its elaborated text is (a change to one module re-runs only
# that module). SESSNIC_SYNTH_FORCE=1 runs everything anyway.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SETS_LOG2=${SESSNIC_SYNTH_SETS_LOG2:-8}
WAYS=${SESSNIC_SYNTH_WAYS:-4}
JOBS=${SESSNIC_SYNTH_JOBS:-2}
TIMEOUT=${SESSNIC_SYNTH_TIMEOUT:-1800}
OUT="$BUILD/synth"
mkdir -p "$OUT"
command -v yosys >/dev/null || { echo "synth: yosys not installed (make deps)"; exit 1; }
start=$(date +%s)

bash scripts/synth/yosys_regs.sh rtl/regs "$OUT/regs"
SRC="rtl/common/sessnic_wire_pkg.sv $OUT/regs/sessnic_regs_pkg.sv $OUT/regs/sessnic_regs.sv
     rtl/common/sess_ram_sdp.sv rtl/common/sess_axis_fifo.sv rtl/sess_table/sess_table.sv
     rtl/backplane_sync/bp_crc32.sv rtl/backplane_sync/bp_frame_check.sv rtl/backplane_sync/bp_sync.sv
     rtl/sessnic_top.sv
     rtl/host_if/sess_ring_fetch.sv rtl/host_if/sess_ring_writer.sv rtl/host_if/sess_ring_engine.sv
     rtl/kernel/sess_axil_split.sv rtl/kernel/sess_kernel_regs.sv rtl/kernel/sess_eth_tx.sv
     rtl/kernel/sess_eth_rx.sv rtl/common/sess_axis_register.sv rtl/kernel/sessnic_kernel.sv"

# 1. elaboration
cat > "$OUT/elab.ys" <<YS
read_verilog -sv $(echo $SRC)
hierarchy -top sessnic_kernel -chparam SETS_LOG2 $SETS_LOG2 -chparam WAYS $WAYS -chparam SLOT_BYTES 256
write_rtlil $OUT/elab.il
YS
elab_hash=$( { cat $SRC "$OUT/elab.ys"; yosys -V; } | sha256sum | cut -d' ' -f1)
force=()
[ "${SESSNIC_SYNTH_FORCE:-0}" = 1 ] && force=(--force)
if [ ${#force[@]} = 0 ] && [ -s "$OUT/elab.il" ] && [ "$(cat "$OUT/elab.sha256" 2>/dev/null)" = "$elab_hash" ]; then
  echo "synth: sources unchanged since the last run: reusing the elaborated design"
else
  rm -f "$OUT/elab.sha256"
  echo "synth: elaborating sessnic_kernel SETS_LOG2=$SETS_LOG2 WAYS=$WAYS (log: $OUT/elab.log)"
  # (at least 900 s: a short per-module timeout, e.g. to skip a slow module, must not stop it)
  if ! timeout "$(( TIMEOUT > 900 ? TIMEOUT : 900 ))" yosys -q -l "$OUT/elab.log" "$OUT/elab.ys" >/dev/null 2>&1; then
    tail -20 "$OUT/elab.log"
    echo "synth: FAILED to elaborate (a Yosys error above, or the timeout)"
    exit 1
  fi
  echo "$elab_hash" > "$OUT/elab.sha256"
fi

# 2. one Yosys run per module
echo "synth: synth_xilinx -family xcup per module, $JOBS at a time, ${TIMEOUT}s each (logs: $OUT/mod/*/yosys.log)"
status=0
python3 scripts/synth/run_modules.py "$OUT/elab.il" "$OUT" --jobs "$JOBS" --timeout "$TIMEOUT" "${force[@]}" || status=1

# 3. assembly of the mapped netlists: the cell library for the cell ports, every module's
# netlist, then the kernel hierarchical and flattened (no optimisation across modules)
{
  echo "read_verilog -lib -nowb +/xilinx/cells_sim.v"
  echo "read_verilog -lib -nowb +/xilinx/cells_xtra.v"
  sed 's/^/read_rtlil /' "$OUT/netlists.txt"
  echo "hierarchy -top sessnic_kernel"
  echo "write_json $OUT/hier.json"
  echo "flatten"
  echo "opt_clean"
  echo "write_json $OUT/flat.json"
  echo "tee -q -o $OUT/stat.txt stat"
} > "$OUT/assemble.ys"
if ! yosys -q -l "$OUT/assemble.log" "$OUT/assemble.ys" >/dev/null 2>&1; then
  tail -20 "$OUT/assemble.log"
  echo "synth: FAILED to assemble the module netlists"
  exit 1
fi
missing=$(paste -sd, "$OUT/missing.txt")
python3 scripts/synth/report.py "$OUT/hier.json" "$OUT/flat.json" sessnic_kernel sessnic_top \
  ${SESSNIC_BENCH_PARTS:+"$SESSNIC_BENCH_PARTS/synth.json"} --missing "$missing"
if [ $status != 0 ]; then
  echo "synth: FAILED after $(( $(date +%s) - start ))s wall: not synthesized: $missing (see above)"
  exit 1
fi
echo "synth: $(( $(date +%s) - start ))s wall, every module synthesized, latches 0"
