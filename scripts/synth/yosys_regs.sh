#!/usr/bin/env bash
# Make the PeakRDL register block (rtl/regs/, generated, never edited by hand) readable by
# Yosys 0.23, which lacks unpacked structs and `automatic` variables in a block:
#   usage: yosys_regs.sh SRC_DIR OUT_DIR
# Both rewrites keep the logic: every struct holds packed members only, so `packed` changes
# no bit; the `automatic` variables sit in always_comb blocks that assign them before any
# read (synth.sh fails on a latch if one ever did not), so static storage is the same logic.
set -euo pipefail
src=$1 out=$2
mkdir -p "$out"
for f in sessnic_regs_pkg.sv sessnic_regs.sv; do
  sed -e 's/\bstruct {/struct packed {/g' -e 's/^\(\s*\)automatic /\1/' "$src/$f" > "$out/$f"
  if grep -qE '\bstruct \{|^\s*automatic ' "$out/$f"; then
    echo "yosys_regs: $f still has a construct Yosys 0.23 cannot read" >&2
    exit 1
  fi
done
