#!/usr/bin/env bash
# Generates the register block, C header and Markdown docs from spec/regs.rdl with
# PeakRDL (installed in .venv by `make deps`):
#   rtl/regs/sessnic_regs.sv, rtl/regs/sessnic_regs_pkg.sv  (AXI4-Lite, flat ports)
#   driver/include/sessnic/sessnic_regs.h
#   docs/regs.md
# `--check` regenerates into a temporary directory and fails if the checked-in files
# differ (the rtl_regs_up_to_date ctest), or if the generated block cannot be flattened
# for Icarus 11 (sim/cocotb/common/icarus_compat.py: the Icarus cocotb benches compile
# the register block with its unpacked structs flattened, at build time).
set -euo pipefail
cd "$(dirname "$0")/.."
PEAKRDL=${PEAKRDL:-.venv/bin/peakrdl}
FILES=(rtl/regs/sessnic_regs.sv rtl/regs/sessnic_regs_pkg.sv driver/include/sessnic/sessnic_regs.h docs/regs.md)

generate() {
  local out=$1
  mkdir -p "$out/rtl/regs" "$out/driver/include/sessnic" "$out/docs"
  "$PEAKRDL" regblock spec/regs.rdl -o "$out/rtl/regs" --cpuif axi4-lite-flat --default-reset rst
  "$PEAKRDL" c-header spec/regs.rdl -o "$out/driver/include/sessnic/sessnic_regs.h"
  "$PEAKRDL" markdown spec/regs.rdl -o "$out/docs/regs.md"
}

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  status=0
  for f in "${FILES[@]}"; do
    if ! diff -u "$f" "$tmp/$f" >/dev/null; then
      echo "stale: $f (run 'make regs' after editing spec/regs.rdl)"
      status=1
    fi
  done
  if ! python3 sim/cocotb/common/icarus_compat.py "$tmp/flat" rtl/common/sessnic_wire_pkg.sv \
      "$tmp/rtl/regs/sessnic_regs_pkg.sv" "$tmp/rtl/regs/sessnic_regs.sv" rtl/sessnic_top.sv >/dev/null; then
    echo "the register block no longer flattens for Icarus (sim/cocotb/common/icarus_compat.py)"
    status=1
  fi
  exit $status
fi
generate .
