# The RTL source lists, each defined once, in dependency order (packages first, then
# each module after the modules it instantiates). Used to verilate (sim/verilated,
# driver/verilator) and to lint (tests/rtl): include(${CMAKE_SOURCE_DIR}/rtl/sources.cmake).
# Not used by scripts/bench.d/synth.sh (Yosys) or sim/cocotb/test_sess_table.py, which
# list the sess_table sources themselves.
#
# Plain directory-scoped variables and no include guard, so every includer sees them.
set(SESSNIC_RTL_DIR ${CMAKE_SOURCE_DIR}/rtl)

# The session table.
set(SESSNIC_RTL_SESS_TABLE_SV
    ${SESSNIC_RTL_DIR}/common/sessnic_wire_pkg.sv
    ${SESSNIC_RTL_DIR}/common/sess_ram_sdp.sv
    ${SESSNIC_RTL_DIR}/common/sess_axis_fifo.sv
    ${SESSNIC_RTL_DIR}/sess_table/sess_table.sv)

# The backplane receive front end (frame checks + CRC).
set(SESSNIC_RTL_BP_FRAME_CHECK_SV
    ${SESSNIC_RTL_DIR}/common/sessnic_wire_pkg.sv
    ${SESSNIC_RTL_DIR}/backplane_sync/bp_crc32.sv
    ${SESSNIC_RTL_DIR}/backplane_sync/bp_frame_check.sv)

# The backplane engine.
set(SESSNIC_RTL_BP_SYNC_SV
    ${SESSNIC_RTL_DIR}/common/sessnic_wire_pkg.sv
    ${SESSNIC_RTL_DIR}/backplane_sync/bp_crc32.sv
    ${SESSNIC_RTL_DIR}/backplane_sync/bp_sync.sv)

# The card top: registers + table + backplane front end and engine. The shared files
# (sessnic_wire_pkg.sv, bp_crc32.sv) appear once, at their first (dependency) position.
set(SESSNIC_RTL_TOP_SV
    ${SESSNIC_RTL_DIR}/common/sessnic_wire_pkg.sv
    ${SESSNIC_RTL_DIR}/regs/sessnic_regs_pkg.sv
    ${SESSNIC_RTL_DIR}/regs/sessnic_regs.sv
    ${SESSNIC_RTL_SESS_TABLE_SV}
    ${SESSNIC_RTL_BP_FRAME_CHECK_SV}
    ${SESSNIC_RTL_BP_SYNC_SV}
    ${SESSNIC_RTL_DIR}/sessnic_top.sv)
list(REMOVE_DUPLICATES SESSNIC_RTL_TOP_SV)

# The host ring engine (AXI4 master over the command/response rings).
set(SESSNIC_RTL_RING_ENGINE_SV
    ${SESSNIC_RTL_DIR}/common/sessnic_wire_pkg.sv
    ${SESSNIC_RTL_DIR}/common/sess_axis_fifo.sv
    ${SESSNIC_RTL_DIR}/host_if/sess_ring_fetch.sv
    ${SESSNIC_RTL_DIR}/host_if/sess_ring_writer.sv
    ${SESSNIC_RTL_DIR}/host_if/sess_ring_engine.sv)

# The Vitis RTL kernel: control split + kernel registers + ring engine + Ethernet
# framing + the card top.
set(SESSNIC_RTL_KERNEL_SV
    ${SESSNIC_RTL_TOP_SV}
    ${SESSNIC_RTL_RING_ENGINE_SV}
    ${SESSNIC_RTL_DIR}/kernel/sess_axil_split.sv
    ${SESSNIC_RTL_DIR}/kernel/sess_kernel_regs.sv
    ${SESSNIC_RTL_DIR}/kernel/sess_eth_tx.sv
    ${SESSNIC_RTL_DIR}/kernel/sess_eth_rx.sv
    ${SESSNIC_RTL_DIR}/common/sess_axis_register.sv
    ${SESSNIC_RTL_DIR}/kernel/sessnic_kernel.sv)
list(REMOVE_DUPLICATES SESSNIC_RTL_KERNEL_SV)
