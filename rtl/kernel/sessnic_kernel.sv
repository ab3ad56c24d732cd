// sessnic as a Vitis RTL kernel (user-managed control: the host reaches s_axi_control
// with xrt::ip read_register/write_register; no ap_ctrl handshake).
//
//   s_axi_control  spec/regs.rdl: the card's registers (sessnic_top), except the ring
//                  registers 0x180-0x1B8, answered by sess_kernel_regs beside the ring
//                  engine; 0x200-0x214 the network framing registers (sess_kernel_regs)
//   m_axi_gmem     the host rings and status block (sess_ring_engine)
//   m_axis_net_tx / s_axis_net_rx   backplane frames in Ethernet framing towards a
//                  network kernel (sess_eth_tx / sess_eth_rx; the RX side takes a
//                  MAC-like stream without back-pressure through a drop FIFO)
//   interrupt      ring completion (RING_CTRL.irq_enable; cleared in RING_STATUS)
//
// ap_rst_n resets everything; RING_CTRL.reset resets the ring engine only (the card's
// table and registers and the network counters stay; sess_ring_engine.sv).
`resetall
`default_nettype none
module sessnic_kernel #(
    parameter int C_M_AXI_GMEM_ADDR_WIDTH = 64,
    parameter int C_M_AXI_GMEM_DATA_WIDTH = 512,
    parameter int C_S_AXI_CONTROL_ADDR_WIDTH = 12,
    parameter int SETS_LOG2 = 12,
    parameter int WAYS = 4,
    parameter int SLOT_BYTES = 256,
    parameter BLOB_RAM_STYLE = "ultra",
    parameter logic [31:0] BUILD_ID = 32'h0001_0000,  // [31:16] ring contract (spec/wire.toml [ring] CONTRACT)
    parameter int NET_RX_DEPTH_LOG2 = 6
) (
    input wire logic ap_clk,
    input wire logic ap_rst_n,

    input  wire logic                                  s_axi_control_awvalid,
    output logic                                       s_axi_control_awready,
    input  wire logic [C_S_AXI_CONTROL_ADDR_WIDTH-1:0] s_axi_control_awaddr,
    input  wire logic                                  s_axi_control_wvalid,
    output logic                                       s_axi_control_wready,
    input  wire logic [                          31:0] s_axi_control_wdata,
    input  wire logic [                           3:0] s_axi_control_wstrb,
    output logic                                       s_axi_control_bvalid,
    input  wire logic                                  s_axi_control_bready,
    output logic      [                           1:0] s_axi_control_bresp,
    input  wire logic                                  s_axi_control_arvalid,
    output logic                                       s_axi_control_arready,
    input  wire logic [C_S_AXI_CONTROL_ADDR_WIDTH-1:0] s_axi_control_araddr,
    output logic                                       s_axi_control_rvalid,
    input  wire logic                                  s_axi_control_rready,
    output logic      [                          31:0] s_axi_control_rdata,
    output logic      [                           1:0] s_axi_control_rresp,

    output logic                                   m_axi_gmem_awvalid,
    input  wire logic                              m_axi_gmem_awready,
    output logic [    C_M_AXI_GMEM_ADDR_WIDTH-1:0] m_axi_gmem_awaddr,
    output logic [                            7:0] m_axi_gmem_awlen,
    output logic [                            2:0] m_axi_gmem_awsize,
    output logic [                            1:0] m_axi_gmem_awburst,
    output logic                                   m_axi_gmem_wvalid,
    input  wire logic                              m_axi_gmem_wready,
    output logic [    C_M_AXI_GMEM_DATA_WIDTH-1:0] m_axi_gmem_wdata,
    output logic [C_M_AXI_GMEM_DATA_WIDTH/8-1:0] m_axi_gmem_wstrb,
    output logic                                   m_axi_gmem_wlast,
    input  wire logic                              m_axi_gmem_bvalid,
    output logic                                   m_axi_gmem_bready,
    input  wire logic [                        1:0] m_axi_gmem_bresp,
    output logic                                   m_axi_gmem_arvalid,
    input  wire logic                              m_axi_gmem_arready,
    output logic [    C_M_AXI_GMEM_ADDR_WIDTH-1:0] m_axi_gmem_araddr,
    output logic [                            7:0] m_axi_gmem_arlen,
    output logic [                            2:0] m_axi_gmem_arsize,
    output logic [                            1:0] m_axi_gmem_arburst,
    input  wire logic                              m_axi_gmem_rvalid,
    output logic                                   m_axi_gmem_rready,
    input  wire logic [C_M_AXI_GMEM_DATA_WIDTH-1:0] m_axi_gmem_rdata,
    input  wire logic                              m_axi_gmem_rlast,
    input  wire logic [                        1:0] m_axi_gmem_rresp,

    output logic [511:0] m_axis_net_tx_tdata,
    output logic [ 63:0] m_axis_net_tx_tkeep,
    output logic         m_axis_net_tx_tlast,
    output logic         m_axis_net_tx_tvalid,
    input  wire logic    m_axis_net_tx_tready,
    input  wire logic [511:0] s_axis_net_rx_tdata,
    input  wire logic [ 63:0] s_axis_net_rx_tkeep,
    input  wire logic         s_axis_net_rx_tlast,
    input  wire logic         s_axis_net_rx_tvalid,
    output logic              s_axis_net_rx_tready,

    // Vitis's name for a kernel interrupt; also a C++ word Verilator warns about.
    /* verilator lint_off SYMRSVDWORD */
    output logic interrupt
    /* verilator lint_on SYMRSVDWORD */
);
  initial begin
    if (C_S_AXI_CONTROL_ADDR_WIDTH < 10) $fatal(1, "sessnic_kernel: s_axi_control needs at least 10 address bits");
  end

  logic rst_reg;  // ap_rst_n, registered (Vitis drives it synchronous to ap_clk)
  always_ff @(posedge ap_clk) rst_reg <= !ap_rst_n;
  // The card id as written to the card's register (spec/regs.rdl card @ 0x08): the ring
  // engine's own BAD_CMD answers carry it in aux like the card's answers.
  logic [7:0] card_id_reg;

  // ---- control: card block below 0x200, kernel registers above -------------------------
  logic c_awvalid, c_awready, c_wvalid, c_wready, c_bvalid, c_bready, c_arvalid, c_arready;
  logic c_rvalid, c_rready;
  logic [8:0] c_awaddr, c_araddr;
  logic [31:0] c_wdata, c_rdata;
  logic [3:0] c_wstrb;
  logic [1:0] c_bresp, c_rresp;
  logic l_we, l_re;
  logic [C_S_AXI_CONTROL_ADDR_WIDTH-1:0] l_waddr, l_raddr;
  logic [31:0] l_wdata, l_rdata;

  sess_axil_split #(
      .ADDR_WIDTH(C_S_AXI_CONTROL_ADDR_WIDTH),
      .CARD_ADDR_WIDTH(9),
      .WIN_LO(C_S_AXI_CONTROL_ADDR_WIDTH'('h180)),
      .WIN_HI(C_S_AXI_CONTROL_ADDR_WIDTH'('h1BC)),
      .LOCAL_BASE(C_S_AXI_CONTROL_ADDR_WIDTH'('h200))
  ) ctrl_split (
      .clk(ap_clk),
      .rst(rst_reg),
      .s_awvalid(s_axi_control_awvalid),
      .s_awready(s_axi_control_awready),
      .s_awaddr(s_axi_control_awaddr),
      .s_wvalid(s_axi_control_wvalid),
      .s_wready(s_axi_control_wready),
      .s_wdata(s_axi_control_wdata),
      .s_wstrb(s_axi_control_wstrb),
      .s_bvalid(s_axi_control_bvalid),
      .s_bready(s_axi_control_bready),
      .s_bresp(s_axi_control_bresp),
      .s_arvalid(s_axi_control_arvalid),
      .s_arready(s_axi_control_arready),
      .s_araddr(s_axi_control_araddr),
      .s_rvalid(s_axi_control_rvalid),
      .s_rready(s_axi_control_rready),
      .s_rdata(s_axi_control_rdata),
      .s_rresp(s_axi_control_rresp),
      .m_awvalid(c_awvalid),
      .m_awready(c_awready),
      .m_awaddr(c_awaddr),
      .m_wvalid(c_wvalid),
      .m_wready(c_wready),
      .m_wdata(c_wdata),
      .m_wstrb(c_wstrb),
      .m_bvalid(c_bvalid),
      .m_bready(c_bready),
      .m_bresp(c_bresp),
      .m_arvalid(c_arvalid),
      .m_arready(c_arready),
      .m_araddr(c_araddr),
      .m_rvalid(c_rvalid),
      .m_rready(c_rready),
      .m_rdata(c_rdata),
      .m_rresp(c_rresp),
      .l_we(l_we),
      .l_waddr(l_waddr),
      .l_wdata(l_wdata),
      .l_re(l_re),
      .l_raddr(l_raddr),
      .l_rdata(l_rdata)
  );

  // ---- kernel registers -------------------------------------------------------------------
  logic [63:0] cmd_base, rsp_base, status_base;
  logic [4:0] cmd_size_log2, rsp_size_log2;
  logic enable, irq_enable, cmd_db_we, rsp_db_we, soft_reset, irq_pulse;
  logic [7:0] irq_coalesce, error_code;
  logic [31:0] doorbell, cmd_head, cmd_tail, rsp_head, rsp_tail, bad_descs, resets;
  logic idle, resetting, fault;

  always_ff @(posedge ap_clk) begin
    if (c_awvalid && c_awready && c_awaddr == 9'h008) card_id_reg <= c_wdata[7:0];
    if (rst_reg) card_id_reg <= '0;
  end
  logic [39:0] mac_prefix;
  logic [15:0] ethertype;
  logic [31:0] net_tx_frames, net_rx_frames, net_rx_drop_full, net_rx_drop_bad;

  sess_kernel_regs #(
      .ADDR_WIDTH(C_S_AXI_CONTROL_ADDR_WIDTH),
      .BUILD_ID(BUILD_ID)
  ) kregs (
      .clk(ap_clk),
      .rst(rst_reg),
      .l_we(l_we),
      .l_waddr(l_waddr),
      .l_wdata(l_wdata),
      .l_re(l_re),
      .l_raddr(l_raddr),
      .l_rdata(l_rdata),
      .cmd_base(cmd_base),
      .cmd_size_log2(cmd_size_log2),
      .rsp_base(rsp_base),
      .rsp_size_log2(rsp_size_log2),
      .status_base(status_base),
      .enable(enable),
      .irq_enable(irq_enable),
      .irq_coalesce(irq_coalesce),
      .cmd_doorbell_we(cmd_db_we),
      .rsp_doorbell_we(rsp_db_we),
      .doorbell(doorbell),
      .soft_reset(soft_reset),
      .cmd_head(cmd_head),
      .cmd_tail(cmd_tail),
      .rsp_head(rsp_head),
      .rsp_tail(rsp_tail),
      .error_code(error_code),
      .fault(fault),
      .idle(idle),
      .resetting(resetting),
      .irq_pulse(irq_pulse),
      .irq_out(interrupt),
      .mac_prefix(mac_prefix),
      .ethertype(ethertype),
      .net_tx_frames(net_tx_frames),
      .net_rx_frames(net_rx_frames),
      .net_rx_drop_full(net_rx_drop_full),
      .net_rx_drop_bad(net_rx_drop_bad)
  );

  // ---- ring engine ---------------------------------------------------------------------------
  logic [511:0] cmd_tdata, rsp_tdata, card_rsp_tdata;
  logic cmd_tlast, cmd_tvalid, cmd_tready, rsp_tlast, rsp_tvalid, rsp_tready;
  logic card_rsp_tlast, card_rsp_tvalid, card_rsp_tready;

  sess_ring_engine #(
      .ADDR_WIDTH(C_M_AXI_GMEM_ADDR_WIDTH),
      .DATA_WIDTH(C_M_AXI_GMEM_DATA_WIDTH),
      .SLOT_BYTES(SLOT_BYTES)
  ) ring (
      .clk(ap_clk),
      .rst(rst_reg),
      .cmd_base(cmd_base[C_M_AXI_GMEM_ADDR_WIDTH-1:0]),
      .cmd_size_log2(cmd_size_log2),
      .rsp_base(rsp_base[C_M_AXI_GMEM_ADDR_WIDTH-1:0]),
      .rsp_size_log2(rsp_size_log2),
      .status_base(status_base[C_M_AXI_GMEM_ADDR_WIDTH-1:0]),
      .enable(enable),
      .irq_enable(irq_enable),
      .irq_coalesce(irq_coalesce),
      .cmd_doorbell_we(cmd_db_we),
      .cmd_doorbell(doorbell),
      .rsp_doorbell_we(rsp_db_we),
      .rsp_doorbell(doorbell),
      .soft_reset(soft_reset),
      .card_id(card_id_reg),
      .cmd_head(cmd_head),
      .cmd_tail(cmd_tail),
      .rsp_head(rsp_head),
      .rsp_tail(rsp_tail),
      .error_code(error_code),
      .fault(fault),
      .bad_descs(bad_descs),
      .resets(resets),
      .idle(idle),
      .resetting(resetting),
      .irq(irq_pulse),
      .m_axi_awvalid(m_axi_gmem_awvalid),
      .m_axi_awready(m_axi_gmem_awready),
      .m_axi_awaddr(m_axi_gmem_awaddr),
      .m_axi_awlen(m_axi_gmem_awlen),
      .m_axi_awsize(m_axi_gmem_awsize),
      .m_axi_awburst(m_axi_gmem_awburst),
      .m_axi_wvalid(m_axi_gmem_wvalid),
      .m_axi_wready(m_axi_gmem_wready),
      .m_axi_wdata(m_axi_gmem_wdata),
      .m_axi_wstrb(m_axi_gmem_wstrb),
      .m_axi_wlast(m_axi_gmem_wlast),
      .m_axi_bvalid(m_axi_gmem_bvalid),
      .m_axi_bready(m_axi_gmem_bready),
      .m_axi_bresp(m_axi_gmem_bresp),
      .m_axi_arvalid(m_axi_gmem_arvalid),
      .m_axi_arready(m_axi_gmem_arready),
      .m_axi_araddr(m_axi_gmem_araddr),
      .m_axi_arlen(m_axi_gmem_arlen),
      .m_axi_arsize(m_axi_gmem_arsize),
      .m_axi_arburst(m_axi_gmem_arburst),
      .m_axi_rvalid(m_axi_gmem_rvalid),
      .m_axi_rready(m_axi_gmem_rready),
      .m_axi_rdata(m_axi_gmem_rdata),
      .m_axi_rlast(m_axi_gmem_rlast),
      .m_axi_rresp(m_axi_gmem_rresp),
      .m_cmd_tdata(cmd_tdata),
      .m_cmd_tlast(cmd_tlast),
      .m_cmd_tvalid(cmd_tvalid),
      .m_cmd_tready(cmd_tready),
      .s_rsp_tdata(rsp_tdata),
      .s_rsp_tlast(rsp_tlast),
      .s_rsp_tvalid(rsp_tvalid),
      .s_rsp_tready(rsp_tready)
  );

  // ---- network framing -------------------------------------------------------------------------
  logic [511:0] bp_tx_tdata, bp_rx_tdata;
  logic bp_tx_tlast, bp_tx_tvalid, bp_tx_tready, bp_rx_tlast, bp_rx_tvalid, bp_rx_tready;

  sess_eth_tx eth_tx (
      .clk(ap_clk),
      .rst(rst_reg),
      .mac_prefix(mac_prefix),
      .ethertype(ethertype),
      .tx_frames(net_tx_frames),
      .s_tdata(bp_tx_tdata),
      .s_tlast(bp_tx_tlast),
      .s_tvalid(bp_tx_tvalid),
      .s_tready(bp_tx_tready),
      .m_tdata(m_axis_net_tx_tdata),
      .m_tkeep(m_axis_net_tx_tkeep),
      .m_tlast(m_axis_net_tx_tlast),
      .m_tvalid(m_axis_net_tx_tvalid),
      .m_tready(m_axis_net_tx_tready)
  );

  sess_eth_rx #(
      .DEPTH_LOG2(NET_RX_DEPTH_LOG2),
      .MAX_BEATS(2 + (SLOT_BYTES + 63) / 64)
  ) eth_rx (
      .clk(ap_clk),
      .rst(rst_reg),
      .mac_prefix(mac_prefix),
      .ethertype(ethertype),
      .rx_frames(net_rx_frames),
      .rx_drop_full(net_rx_drop_full),
      .rx_drop_bad(net_rx_drop_bad),
      .s_tdata(s_axis_net_rx_tdata),
      .s_tkeep(s_axis_net_rx_tkeep),
      .s_tlast(s_axis_net_rx_tlast),
      .s_tvalid(s_axis_net_rx_tvalid),
      .s_tready(s_axis_net_rx_tready),
      .m_tdata(bp_rx_tdata),
      .m_tlast(bp_rx_tlast),
      .m_tvalid(bp_rx_tvalid),
      .m_tready(bp_rx_tready)
  );

  // ---- the card ----------------------------------------------------------------------------------
  logic [12*32-1:0] bp_counters;  // also in the card's registers
  sessnic_top #(
      .SETS_LOG2(SETS_LOG2),
      .WAYS(WAYS),
      .SLOT_BYTES(SLOT_BYTES),
      .BLOB_RAM_STYLE(BLOB_RAM_STYLE)
  ) card (
      .clk(ap_clk),
      .rst(rst_reg),
      .s_axil_awready(c_awready),
      .s_axil_awvalid(c_awvalid),
      .s_axil_awaddr(c_awaddr),
      .s_axil_awprot(3'd0),
      .s_axil_wready(c_wready),
      .s_axil_wvalid(c_wvalid),
      .s_axil_wdata(c_wdata),
      .s_axil_wstrb(c_wstrb),
      .s_axil_bready(c_bready),
      .s_axil_bvalid(c_bvalid),
      .s_axil_bresp(c_bresp),
      .s_axil_arready(c_arready),
      .s_axil_arvalid(c_arvalid),
      .s_axil_araddr(c_araddr),
      .s_axil_arprot(3'd0),
      .s_axil_rready(c_rready),
      .s_axil_rvalid(c_rvalid),
      .s_axil_rdata(c_rdata),
      .s_axil_rresp(c_rresp),
      .s_cmd_tdata(cmd_tdata),
      .s_cmd_tlast(cmd_tlast),
      .s_cmd_tvalid(cmd_tvalid),
      .s_cmd_tready(cmd_tready),
      .m_rsp_tdata(card_rsp_tdata),
      .m_rsp_tlast(card_rsp_tlast),
      .m_rsp_tvalid(card_rsp_tvalid),
      .m_rsp_tready(card_rsp_tready),
      .m_bp_tx_tdata(bp_tx_tdata),
      .m_bp_tx_tlast(bp_tx_tlast),
      .m_bp_tx_tvalid(bp_tx_tvalid),
      .m_bp_tx_tready(bp_tx_tready),
      .s_bp_rx_tdata(bp_rx_tdata),
      .s_bp_rx_tlast(bp_rx_tlast),
      .s_bp_rx_tvalid(bp_rx_tvalid),
      .s_bp_rx_tready(bp_rx_tready),
      .bp_counters(bp_counters)
  );

  // The card's responses reach the ring engine through a register slice: the card's
  // tvalid (read from its source-queue LUT RAM) and the ring writer's tready (its FIFO's
  // full flag and merge) would otherwise be one combinational path across three modules
  // (8 LUT levels, docs/rtl.md "Paths across modules"). One cycle of response latency.
  sess_axis_register #(
      .WIDTH(512)
  ) rsp_slice (
      .clk(ap_clk),
      .rst(rst_reg),
      .s_tdata(card_rsp_tdata),
      .s_tlast(card_rsp_tlast),
      .s_tvalid(card_rsp_tvalid),
      .s_tready(card_rsp_tready),
      .m_tdata(rsp_tdata),
      .m_tlast(rsp_tlast),
      .m_tvalid(rsp_tvalid),
      .m_tready(rsp_tready)
  );
  logic unused_ok;
 assign unused_ok = &{1'b0, bp_counters, bad_descs, resets, cmd_base[63:C_M_AXI_GMEM_ADDR_WIDTH-1], rsp_base[63:C_M_AXI_GMEM_ADDR_WIDTH-1],
                       status_base[63:C_M_AXI_GMEM_ADDR_WIDTH-1]};
endmodule
`resetall
