#!/usr/bin/env bash
# Yosys synthesis of the session table for AMD UltraScale+ (synth_xilinx -family xcup).
# Prints LUT/FF/BRAM/URAM counts and the longest logic path, fails on any latch, and
# (under `make bench`) writes $SESSNIC_BENCH_PARTS/synth.json.
#
# Geometry: SESSNIC_SYNTH_SETS_LOG2 (default 8 = 256 sets x 4 ways x 256 B, 1024
# sessions) keeps Yosys at about 3 CPU-minutes; the card geometry (12) differs only in
# RAM depth (more BRAM, the same logic). The top synthesized is sess_table: Yosys 0.23 cannot read the
# PeakRDL register block (unpacked structs), so sessnic_top is checked by Verilator only.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SETS_LOG2=${SESSNIC_SYNTH_SETS_LOG2:-8}
WAYS=${SESSNIC_SYNTH_WAYS:-4}
OUT="$BUILD/synth"
mkdir -p "$OUT"
command -v yosys >/dev/null || { echo "synth: yosys not installed (make deps)"; exit 1; }

cat > "$OUT/sess_table.ys" <<YS
read_verilog -sv rtl/common/sessnic_wire_pkg.sv rtl/common/sess_ram_sdp.sv rtl/common/sess_axis_fifo.sv rtl/sess_table/sess_table.sv
chparam -set SETS_LOG2 $SETS_LOG2 -set WAYS $WAYS -set SLOT_BYTES 256 sess_table
synth_xilinx -family xcup -top sess_table -flatten
select -assert-none t:LDCE t:LDPE t:\$dlatch t:\$_DLATCH_*
tee -q -o $OUT/stat.txt stat
# Longest combinational path in cells (LUT/MUXF/CARRY): ltp does not know the Xilinx
# FF and RAM primitives as sequential, so they are cut out first (else every register
# and RAM looks like a combinational loop).
delete t:RAM* t:URAM* t:FD*
tee -q -o $OUT/ltp.txt ltp
YS

echo "synth: yosys synth_xilinx -family xcup, sess_table SETS_LOG2=$SETS_LOG2 WAYS=$WAYS (log: $OUT/yosys.log)"
start=$(date +%s)
if ! yosys -q -l "$OUT/yosys.log" "$OUT/sess_table.ys" >/dev/null 2>&1; then
  tail -20 "$OUT/yosys.log"
  echo "synth: FAILED (a latch, or a Yosys error above)"
  exit 1
fi
secs=$(( $(date +%s) - start ))

count() {  # sum of the counts of the cell types matching $1 in the stat report
  awk -v re="$1" '$1 ~ "^" re "$" && $2 ~ /^[0-9]+$/ {n += $2} END {print n + 0}' "$OUT/stat.txt"
}
# stat lines look like "     LUT6      1234"
lut=$(count 'LUT[1-6]')
ff=$(count 'FD[A-Z]*')
bram36=$(count 'RAMB36E2')
bram18=$(count 'RAMB18E2')
uram=$(count 'URAM288')
lutram=$(count 'RAM(32|64|128|256)[A-Z0-9]*')
levels=$(sed -n 's/.*(length=\([0-9]*\)).*/\1/p' "$OUT/ltp.txt" | head -1)
bram36_eq=$(awk -v a="$bram36" -v b="$bram18" 'BEGIN {print a + b / 2}')

echo "synth: ${secs}s wall  LUT $lut  FF $ff  RAMB36 $bram36  RAMB18 $bram18 (= $bram36_eq BRAM36)  URAM $uram  LUTRAM $lutram  longest path $levels levels  latches 0"
if [ -n "${SESSNIC_BENCH_PARTS:-}" ]; then
  cat > "$SESSNIC_BENCH_PARTS/synth.json" <<JSON
{
  "synth_lut": $lut,
  "synth_ff": $ff,
  "synth_bram36": $bram36_eq,
  "synth_uram": $uram,
  "synth_logic_levels": ${levels:-0}
}
JSON
fi
