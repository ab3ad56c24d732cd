# Vitis HLS (classic `vitis_hls`, 2022.1+) script for the session-table kernel, or the
# card kernel (table + backplane, sessnic_card in hls/card_top.cpp).
#   vitis_hls -f run_hls.tcl            C-sim, synthesis, export of a Vitis .xo
#   SESSNIC_HLS_STEPS="csim" vitis_hls -f run_hls.tcl    only the C simulation
#   SESSNIC_HLS_KERNEL=card vitis_hls -f run_hls.tcl     the card kernel (synth, export)
# Environment: SESSNIC_PART (default Alveo U280), SESSNIC_HLS_STEPS (csim synth cosim export),
# SESSNIC_HLS_KERNEL (table, card).
set here [file dirname [file normalize [info script]]]
set part  [expr {[info exists ::env(SESSNIC_PART)] ? $::env(SESSNIC_PART) : "xcu280-fsvh2892-2L-e"}]
set kernel [expr {[info exists ::env(SESSNIC_HLS_KERNEL)] ? $::env(SESSNIC_HLS_KERNEL) : "table"}]
if {$kernel eq "card"} {
  # No C testbench here: the card kernel is tested in ctest against the model.
  set steps [expr {[info exists ::env(SESSNIC_HLS_STEPS)] ? $::env(SESSNIC_HLS_STEPS) : "synth export"}]
  set top sessnic_card
  open_project -reset sessnic_card_prj
  set_top $top
  add_files $here/../card_top.cpp -cflags "-I$here/.. -std=c++14"
} else {
  set steps [expr {[info exists ::env(SESSNIC_HLS_STEPS)] ? $::env(SESSNIC_HLS_STEPS) : "csim synth export"}]
  set top session_table
  open_project -reset session_table_prj
  set_top $top
  add_files $here/../session_table_top.cpp -cflags "-I$here/.. -std=c++14"
  add_files -tb $here/tb_session_table.cpp -cflags "-I$here/.. -std=c++14"
}

open_solution -reset -flow_target vitis solution1
set_part $part
create_clock -period 3.33 -name default   ;# 300 MHz
set_clock_uncertainty 27%

if {"csim"   in $steps} { csim_design -O }
if {"synth"  in $steps} { csynth_design }
if {"cosim"  in $steps} { cosim_design -trace_level none }
if {"export" in $steps} { export_design -format xo -output $here/$top.xo }
exit
