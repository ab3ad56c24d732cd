#!/usr/bin/env bash
# Quick single-module synthesis of the backplane engine bp_sync alone (issue 11): Yosys
# synth_xilinx -family xcup with the parameters sessnic_top gives it (CARDS 32, 256-byte
# slots, EVQ_LOG2 6, catch-up over SETS_LOG2=8 x 4 ways as `make synth` uses), then the
# LUT levels of its longest register-to-register path (scripts/synth/lut_levels.py, the
# same measurement as make synth) and its cell counts. Minutes instead of the whole
# kernel's run; for iterating on bp_sync's timing.
#   scripts/synth/bp_sync_quick.sh [OUT_DIR]      (default build/synth_bp_sync)
# SESSNIC_SYNTH_TIMEOUT (seconds, default 3600) bounds the Yosys run.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-build/synth_bp_sync}
mkdir -p "$OUT"
command -v yosys >/dev/null || { echo "bp_sync_quick: yosys not installed (make deps)"; exit 1; }
SRC="rtl/common/sessnic_wire_pkg.sv rtl/common/sess_ram_sdp.sv rtl/backplane_sync/bp_crc32.sv"
for f in rtl/backplane_sync/bp_sync*.sv; do SRC="$SRC $f"; done

cat > "$OUT/bp_sync.ys" <<YS
read_verilog -sv $SRC
chparam -set CARDS 32 -set SLOT_BYTES 256 -set EVQ_LOG2 6 -set CATCHUP_SLOTS 1024 bp_sync
synth_xilinx -family xcup -top bp_sync
select -assert-none t:LDCE t:LDPE t:\$dlatch t:\$_DLATCH_*
write_json $OUT/hier.json
tee -q -o $OUT/stat.txt stat
YS

echo "bp_sync_quick: yosys synth_xilinx -family xcup -top bp_sync (log: $OUT/yosys.log)"
if ! /usr/bin/time -v -o "$OUT/time.txt" timeout "${SESSNIC_SYNTH_TIMEOUT:-3600}" \
     yosys -q -l "$OUT/yosys.log" "$OUT/bp_sync.ys" >/dev/null 2>&1; then
  tail -20 "$OUT/yosys.log"
  grep -E "Elapsed|User time|Maximum resident" "$OUT/time.txt" || true
  echo "bp_sync_quick: FAILED (timeout, a latch, or a Yosys error above)"
  exit 1
fi
grep -E "Elapsed \(wall|User time|System time|Maximum resident" "$OUT/time.txt"
# the last (top) stat block: resources of bp_sync with its submodules
awk '/=== design hierarchy ===/{h=1} h' "$OUT/stat.txt" | grep -E "LUT[1-6]|FD[A-Z]+|RAMB|URAM|RAM[0-9]+[MX]|SRL|CARRY|MUXF|cells" | sed 's/^/  /'
echo "module lut_levels cells start end:"
# (lut_levels.py treats a multi-port LUT RAM cell as one node; the per-peer tables as
# RAM32M16 can make it see a false loop and stop with a KeyError: docs/rtl.md)
python3 scripts/synth/lut_levels.py "$OUT/hier.json" ||
  { echo "bp_sync_quick: lut_levels.py failed on $OUT/hier.json (netlist kept)"; exit 1; }
