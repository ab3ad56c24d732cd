#!/usr/bin/env bash
# make xclbin PLATFORM=<platform> TARGET=hw|hw_emu [NET_XO=<cmac_0.xo>] [BUILD_ID=0x0001nnnn]
# Packages rtl/kernel/sessnic_kernel.sv (package_xo.tcl) and links it with the network
# kernel on the card's link configuration (link_<card>.cfg, chosen from PLATFORM) into
# build/vitis/sessnic_<card>_<target>.xclbin. Needs AMD Vitis (v++, vivado on PATH);
# without it, says so and exits 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
PLATFORM=${PLATFORM:-}
TARGET=${TARGET:-hw}
OUT=${OUT:-build/vitis}
BUILD_ID=${BUILD_ID:-0x00010000}

fail() { echo "make xclbin: $*" >&2; exit 2; }

[ -n "$PLATFORM" ] || fail "set PLATFORM (e.g. xilinx_u280_gen3x16_xdma_1_202211_1)"
case "$TARGET" in hw|hw_emu) ;; *) fail "TARGET must be hw or hw_emu, not '$TARGET'" ;; esac
case "$PLATFORM" in
  *u250*) card=u250; part=xcu250-figd2104-2L-e ;;
  *u280*) card=u280; part=xcu280-fsvh2892-2L-e ;;
  *u55c*) card=u55c; part=xcu55c-fsvh2892-2L-e ;;
  *) fail "no link configuration for platform '$PLATFORM' (have: u250, u280, u55c in scripts/vitis/)" ;;
esac
command -v v++ >/dev/null 2>&1 || fail "Vitis not found (no v++ on PATH): source <Vitis>/settings64.sh, or build elsewhere"
command -v vivado >/dev/null 2>&1 || fail "Vivado not found (no vivado on PATH): source <Vitis>/settings64.sh"
[ -n "${NET_XO:-}" ] && [ -f "$NET_XO" ] || fail "set NET_XO to the network kernel's .xo (cmac_0 of xup_vitis_network_example)"

mkdir -p "$OUT"
cmake -DSESSNIC_SOURCE_DIR="$PWD" -P scripts/vitis/kernel_sources.cmake > "$OUT/kernel_sources.txt"
vivado -mode batch -nojournal -nolog -source scripts/vitis/package_xo.tcl \
  -tclargs "$OUT/sessnic_kernel.xo" "$part" "$((BUILD_ID))" "$OUT/kernel_sources.txt"
v++ --link --target "$TARGET" --platform "$PLATFORM" --config "scripts/vitis/link_$card.cfg" \
  --temp_dir "$OUT/_x_${card}_$TARGET" --kernel_frequency 300 \
  -o "$OUT/sessnic_${card}_$TARGET.xclbin" "$OUT/sessnic_kernel.xo" "$NET_XO"
echo "make xclbin: wrote $OUT/sessnic_${card}_$TARGET.xclbin"
