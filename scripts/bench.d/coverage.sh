#!/usr/bin/env bash
# make bench step: RTL line/toggle coverage of the module cocotb benches on Verilator
# (sim/coverage/run_coverage.sh); writes $SESSNIC_BENCH_PARTS/rtl_coverage.json with
# rtl_line_coverage_<module> and rtl_toggle_coverage_<module>. Three coverage model builds
# (sess_table, bp_sync, bp_frame_check; -O1, ccache) and their runs: about 19 min wall on
# the shared machine under load, minutes when the models are unchanged and the machine idle.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
exec ./sim/coverage/run_coverage.sh "$BUILD"
