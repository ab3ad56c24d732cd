// The kernel's own registers on s_axi_control: the ring registers of spec/regs.rdl
// (0x180-0x1B8, the same offsets and fields; the ring engine sits beside the card, so
// the kernel answers them itself) and the network framing registers (0x200-0x214,
// kernel-only; docs/alveo-rtl.md). Writes take whole 32-bit words. Doorbells and
// RING_CTRL.reset are one-cycle strobes.
//
// RING_STATUS: [7:0] error, [8] idle (spec/regs.rdl), and kernel extras [16] fault,
// [17] ring reset in progress, [18] interrupt pending. The interrupt output is
// `pending && irq_enable`; pending is set by the engine and cleared by an RSP_DOORBELL
// write (the host has taken its responses) or a ring reset.
`resetall
`default_nettype none
module sess_kernel_regs #(
    parameter int ADDR_WIDTH = 12,
    parameter logic [31:0] BUILD_ID = 32'h0001_0000,  // [31:16] ring contract version, [15:0] build
    parameter logic [15:0] ETHERTYPE = 16'h88B5  // IEEE 802 local experimental EtherType 1
) (
    input wire logic clk,
    input wire logic rst,

    input  wire logic                  l_we,
    input  wire logic [ADDR_WIDTH-1:0] l_waddr,
    input  wire logic [          31:0] l_wdata,
    input  wire logic                  l_re,
    input  wire logic [ADDR_WIDTH-1:0] l_raddr,
    output logic      [          31:0] l_rdata,

    // ring engine
    output logic [63:0] cmd_base,
    output logic [ 4:0] cmd_size_log2,
    output logic [63:0] rsp_base,
    output logic [ 4:0] rsp_size_log2,
    output logic [63:0] status_base,
    output logic        enable,
    output logic        irq_enable,
    output logic [ 7:0] irq_coalesce,
    output logic        cmd_doorbell_we,
    output logic        rsp_doorbell_we,
    output logic [31:0] doorbell,
    output logic        soft_reset,
    input  wire logic [31:0] cmd_head,
    input  wire logic [31:0] cmd_tail,
    input  wire logic [31:0] rsp_head,
    input  wire logic [31:0] rsp_tail,
    input  wire logic [ 7:0] error_code,
    input  wire logic        fault,
    input  wire logic        idle,
    input  wire logic        resetting,
    input  wire logic        irq_pulse,
    output logic             irq_out,  // the kernel's `interrupt`

    // network framing
    output logic [39:0] mac_prefix,
    output logic [15:0] ethertype,
    input  wire logic [31:0] net_tx_frames,
    input  wire logic [31:0] net_rx_frames,
    input  wire logic [31:0] net_rx_drop_full,
    input  wire logic [31:0] net_rx_drop_bad
);
  // spec/regs.rdl offsets (ring_ctrl .. build_id).
  localparam logic [ADDR_WIDTH-1:0] A_RING_CTRL = 'h180;
  localparam logic [ADDR_WIDTH-1:0] A_RING_STATUS = 'h184;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_BASE_LO = 'h188;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_BASE_HI = 'h18C;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_SIZE_LOG2 = 'h190;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_BASE_LO = 'h194;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_BASE_HI = 'h198;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_SIZE_LOG2 = 'h19C;
  localparam logic [ADDR_WIDTH-1:0] A_STATUS_BASE_LO = 'h1A0;
  localparam logic [ADDR_WIDTH-1:0] A_STATUS_BASE_HI = 'h1A4;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_DOORBELL = 'h1A8;  // reads the accepted cmd_tail
  localparam logic [ADDR_WIDTH-1:0] A_RSP_DOORBELL = 'h1AC;  // reads the accepted rsp_head
  localparam logic [ADDR_WIDTH-1:0] A_CMD_HEAD = 'h1B0;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_TAIL = 'h1B4;
  localparam logic [ADDR_WIDTH-1:0] A_BUILD_ID = 'h1B8;
  // Kernel-only: the network framing.
  localparam logic [ADDR_WIDTH-1:0] A_MAC_PREFIX_LO = 'h200;  // prefix bytes 1..4 ([31:24] = byte 1)
  localparam logic [ADDR_WIDTH-1:0] A_MAC_PREFIX_HI = 'h204;  // [7:0] prefix byte 0, [31:16] EtherType
  localparam logic [ADDR_WIDTH-1:0] A_NET_TX_FRAMES = 'h208;
  localparam logic [ADDR_WIDTH-1:0] A_NET_RX_FRAMES = 'h20C;
  localparam logic [ADDR_WIDTH-1:0] A_NET_RX_DROP_FULL = 'h210;
  localparam logic [ADDR_WIDTH-1:0] A_NET_RX_DROP_BAD = 'h214;

  logic [63:0] cmd_base_reg, rsp_base_reg, status_base_reg;
  logic [4:0] cmd_size_reg, rsp_size_reg;
  logic enable_reg, irq_enable_reg, irq_pending_reg;
  logic [7:0] coalesce_reg;
  logic cmd_db_reg, rsp_db_reg, reset_reg;
  logic [31:0] doorbell_reg;
  logic [39:0] mac_reg;
  logic [15:0] etype_reg;

  always_ff @(posedge clk) begin
    cmd_db_reg <= 1'b0;
    rsp_db_reg <= 1'b0;
    reset_reg <= 1'b0;
    if (irq_pulse) irq_pending_reg <= 1'b1;
    if (l_we) begin
      case (l_waddr)
        A_CMD_BASE_LO: cmd_base_reg[31:0] <= l_wdata;
        A_CMD_BASE_HI: cmd_base_reg[63:32] <= l_wdata;
        A_CMD_SIZE_LOG2: cmd_size_reg <= l_wdata[4:0];
        A_RSP_BASE_LO: rsp_base_reg[31:0] <= l_wdata;
        A_RSP_BASE_HI: rsp_base_reg[63:32] <= l_wdata;
        A_RSP_SIZE_LOG2: rsp_size_reg <= l_wdata[4:0];
        A_STATUS_BASE_LO: status_base_reg[31:0] <= l_wdata;
        A_STATUS_BASE_HI: status_base_reg[63:32] <= l_wdata;
        A_CMD_DOORBELL: begin
          cmd_db_reg <= 1'b1;
          doorbell_reg <= l_wdata;
        end
        A_RSP_DOORBELL: begin
          rsp_db_reg <= 1'b1;
          doorbell_reg <= l_wdata;
          if (!irq_pulse) irq_pending_reg <= 1'b0;
        end
        A_RING_CTRL: begin
          enable_reg <= l_wdata[0];
          irq_enable_reg <= l_wdata[1];
          reset_reg <= l_wdata[2];
          coalesce_reg <= l_wdata[15:8];
          if (l_wdata[2]) irq_pending_reg <= 1'b0;
        end
        A_MAC_PREFIX_LO: mac_reg[31:0] <= l_wdata;
        A_MAC_PREFIX_HI: begin
          mac_reg[39:32] <= l_wdata[7:0];
          etype_reg <= l_wdata[31:16];
        end
        default: ;
      endcase
    end
    if (rst) begin
      cmd_base_reg <= '0;
      rsp_base_reg <= '0;
      status_base_reg <= '0;
      cmd_size_reg <= 5'd4;
      rsp_size_reg <= 5'd4;
      enable_reg <= 1'b0;
      irq_enable_reg <= 1'b0;
      irq_pending_reg <= 1'b0;
      coalesce_reg <= 8'd0;
      cmd_db_reg <= 1'b0;
      rsp_db_reg <= 1'b0;
      reset_reg <= 1'b0;
      doorbell_reg <= '0;
      mac_reg <= 40'h02_53_45_53_53;  // locally administered 02:53:45:53:53 ("SESS")
      etype_reg <= ETHERTYPE;
    end
  end

  always_comb begin
    case (l_raddr)
      A_RING_CTRL: l_rdata = {16'd0, coalesce_reg, 6'd0, irq_enable_reg, enable_reg};
      A_RING_STATUS: l_rdata = {13'd0, irq_pending_reg, resetting, fault, 7'd0, idle, error_code};
      A_CMD_BASE_LO: l_rdata = cmd_base_reg[31:0];
      A_CMD_BASE_HI: l_rdata = cmd_base_reg[63:32];
      A_CMD_SIZE_LOG2: l_rdata = {27'd0, cmd_size_reg};
      A_RSP_BASE_LO: l_rdata = rsp_base_reg[31:0];
      A_RSP_BASE_HI: l_rdata = rsp_base_reg[63:32];
      A_RSP_SIZE_LOG2: l_rdata = {27'd0, rsp_size_reg};
      A_STATUS_BASE_LO: l_rdata = status_base_reg[31:0];
      A_STATUS_BASE_HI: l_rdata = status_base_reg[63:32];
      A_CMD_DOORBELL: l_rdata = cmd_tail;
      A_RSP_DOORBELL: l_rdata = rsp_head;
      A_CMD_HEAD: l_rdata = cmd_head;
      A_RSP_TAIL: l_rdata = rsp_tail;
      A_BUILD_ID: l_rdata = BUILD_ID;
      A_MAC_PREFIX_LO: l_rdata = mac_reg[31:0];
      A_MAC_PREFIX_HI: l_rdata = {etype_reg, 8'd0, mac_reg[39:32]};
      A_NET_TX_FRAMES: l_rdata = net_tx_frames;
      A_NET_RX_FRAMES: l_rdata = net_rx_frames;
      A_NET_RX_DROP_FULL: l_rdata = net_rx_drop_full;
      A_NET_RX_DROP_BAD: l_rdata = net_rx_drop_bad;
      default: l_rdata = 32'd0;
    endcase
  end

  assign cmd_base = cmd_base_reg;
  assign cmd_size_log2 = cmd_size_reg;
  assign rsp_base = rsp_base_reg;
  assign rsp_size_log2 = rsp_size_reg;
  assign status_base = status_base_reg;
  assign enable = enable_reg;
  assign irq_enable = irq_enable_reg;
  assign irq_coalesce = coalesce_reg;
  assign cmd_doorbell_we = cmd_db_reg;
  assign rsp_doorbell_we = rsp_db_reg;
  assign doorbell = doorbell_reg;
  assign soft_reset = reset_reg;
  assign irq_out = irq_pending_reg && irq_enable_reg;
  assign mac_prefix = mac_reg;
  assign ethertype = etype_reg;

  logic unused_ok;
  assign unused_ok = &{1'b0, l_re};
endmodule
`resetall
