# Packages rtl/kernel/sessnic_kernel.sv as a Vitis RTL kernel (.xo), user-managed control.
#   vivado -mode batch -source package_xo.tcl -tclargs <xo> <part> <build_id> <sources_file>
# <sources_file>: the RTL sources in dependency order, one per line (kernel_sources.cmake
# prints them from rtl/sources.cmake). Run by scripts/vitis/build_xclbin.sh (`make xclbin`).
if {$argc != 4} {
  puts "usage: package_xo.tcl <xo> <part> <build_id> <sources_file>"
  exit 2
}
lassign $argv xo part build_id sources_file
set here [file dirname [file normalize [info script]]]
set work [file dirname [file normalize $xo]]/sessnic_kernel_pkg
file delete -force $work
file mkdir $work

set f [open $sources_file r]
set sources [split [string trim [read $f]] "\n"]
close $f

create_project -force sessnic_kernel_pkg $work/prj -part $part
add_files -norecurse $sources
foreach s $sources { set_property file_type SystemVerilog [get_files $s] }
set_property top sessnic_kernel [current_fileset]
# BUILD_ID: [31:16] the ring contract (spec/wire.toml [ring] CONTRACT), [15:0] the build.
set_property generic "BUILD_ID=32'h[format %08X $build_id]" [current_fileset]
update_compile_order -fileset sources_1

ipx::package_project -root_dir $work/ip -vendor sessnic.org -library kernel -taxonomy /KernelIP \
  -import_files -set_current true
set core [ipx::current_core]
set_property name sessnic_kernel $core
set_property version 1.0 $core

# Clock, reset, interrupt and the AXI interfaces on ap_clk.
ipx::infer_bus_interface ap_clk xilinx.com:signal:clock_rtl:1.0 $core
ipx::infer_bus_interface ap_rst_n xilinx.com:signal:reset_rtl:1.0 $core
ipx::infer_bus_interface interrupt xilinx.com:signal:interrupt_rtl:1.0 $core
foreach busif {s_axi_control m_axi_gmem m_axis_net_tx s_axis_net_rx} {
  ipx::associate_bus_interfaces -busif $busif -clock ap_clk $core
}
ipx::associate_bus_interfaces -clock ap_clk -reset ap_rst_n $core
set_property value ACTIVE_HIGH [ipx::add_bus_parameter SENSITIVITY [ipx::get_bus_interfaces interrupt -of_objects $core]]

# s_axi_control: 4 KiB; the pointer registers named so kernel.xml's args bind to them.
set mm [ipx::get_memory_maps s_axi_control -of_objects $core]
set ab [ipx::get_address_blocks -of_objects $mm]
set_property range 4096 $ab
foreach {name offset} {cmd_ring 0x188 rsp_ring 0x194 status_block 0x1A0} {
  set reg [ipx::add_register $name $ab]
  set_property address_offset $offset $reg
  set_property size 64 $reg
  set_property value m_axi_gmem [ipx::add_register_parameter ASSOCIATED_BUSIF $reg]
}

set_property sdx_kernel true $core
set_property sdx_kernel_type rtl $core
set_property vitis_drc {ctrl_protocol user_managed} $core
set_property ipi_drc {ignore_freq_hz true} $core
ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity -kernel $core
ipx::save_core $core
close_project

package_xo -force -xo_path $xo -kernel_name sessnic_kernel -ctrl_protocol user_managed \
  -ip_directory $work/ip -kernel_xml $here/kernel.xml
puts "package_xo.tcl: wrote $xo"
exit 0
