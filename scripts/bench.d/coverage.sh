#!/usr/bin/env bash
# make bench step: RTL line/toggle coverage of the module cocotb benches on Verilator
# (sim/coverage/run_coverage.sh); writes $SESSNIC_BENCH_PARTS/rtl_coverage.json with
# rtl_line_coverage_<module> and rtl_toggle_coverage_<module> for every module the cocotb
# benches reach. Four coverage model builds (sess_table, bp_sync, bp_frame_check,
# sessnic_top; -O1, ccache) and their runs: see docs/verification.md for the measured time;
# minutes when the models are unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
exec ./sim/coverage/run_coverage.sh "$BUILD"
