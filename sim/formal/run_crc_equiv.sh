#!/usr/bin/env bash
# Proves rtl/backplane_sync/bp_crc32.sv (512-bit beat) equal to the HLS CRC step
# (hls/backplane_crc32.hpp) for all 2^544 inputs {crc_in, data}, with Yosys 0.23:
#   1. crc_ref_gen writes the kernel's step as hls_crc32_ref (its affine map read off the
#      kernel on the 545 basis inputs, checked against the kernel on random inputs);
#   2. the miter (crc32_miter.sv) is flattened and must consist of XOR-only logic after
#      constant folding ($xor, $reduce_xor, $xnor, $not): both sides are then affine over GF(2);
#   3. Yosys `eval` shows diff == 0 at the zero input and at each of the 544 unit inputs.
# Two affine maps equal at 0 and at every unit vector are equal everywhere, so 2 + 3 prove
# the equivalence (a SAT miter over XOR trees of ~270 inputs does not finish). Exits
# non-zero on any difference. FORMAL_CRC_POLY=<hex> builds the RTL with another polynomial
# (the mutation check: must fail).
#   run_crc_equiv.sh <crc_ref_gen> <bp_crc32.sv>
set -euo pipefail
gen=$1 rtl=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$tmp/hls_crc32_ref.v" >/dev/null
poly=""
[ -n "${FORMAL_CRC_POLY:-}" ] && poly="chparam -set POLY 32'h$FORMAL_CRC_POLY bp_crc32;"
python3 - "$tmp/check.ys" "$rtl" "$tmp/hls_crc32_ref.v" "$here/crc32_miter.sv" "$poly" <<'PY'
import sys
out, rtl, ref, miter, poly = sys.argv[1:]
lines = [f"read_verilog -sv {rtl} {ref} {miter}", poly, "hierarchy -top crc32_miter", "prep -top crc32_miter",
         "flatten", "opt -full -fine", "opt_clean",
         "select -assert-none t:* t:$xor %d t:$reduce_xor %d t:$xnor %d t:$not %d",
         "eval -set crc_in 32'd0 -set data 512'd0 -show diff"]
for i in range(544):
    crc, data = (1 << i, 0) if i < 32 else (0, 1 << (i - 32))
    lines.append(f"eval -set crc_in 32'h{crc:x} -set data 512'h{data:x} -show diff")
open(out, "w").write("\n".join(lines) + "\n")
PY
if ! yosys -q -l "$tmp/yosys.log" -s "$tmp/check.ys" >/dev/null 2>&1; then
  grep -E 'ERROR|Assertion' "$tmp/yosys.log" | head -5
  echo "formal: bp_crc32 equivalence FAILED (not XOR-only logic, or Yosys error)"
  exit 1
fi
evals=$(grep -c 'Eval result: \\diff = ' "$tmp/yosys.log" || true)
bad=$(grep 'Eval result: \\diff = ' "$tmp/yosys.log" | grep -vc '= 0\.$' || true)
if [ "$evals" -ne 545 ] || [ "$bad" -ne 0 ]; then
  echo "formal: bp_crc32 differs from the HLS CRC on $bad of $evals basis inputs"
  exit 1
fi
echo "formal: bp_crc32 == HLS CRC step for all 2^544 inputs (XOR-only netlist, equal on 545 basis inputs)"
