// The kernel's own registers on s_axi_control (from 0x200; the card's block is below):
// the host rings (sess_ring_engine) and the network framing (sess_eth_tx / sess_eth_rx).
// Offsets are absolute s_axi_control byte addresses (docs/alveo-rtl.md has the table).
// Writes take whole 32-bit words. Doorbells and RING_CTRL.reset are one-cycle strobes.
`resetall
`default_nettype none
module sess_kernel_regs #(
    parameter int ADDR_WIDTH = 12,
    parameter logic [31:0] BUILD_ID = 32'h0001_0000,
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
    output logic        clear_error,
    input  wire logic [31:0] cmd_head,
    input  wire logic [31:0] cmd_tail,
    input  wire logic [31:0] rsp_head,
    input  wire logic [31:0] rsp_tail,
    input  wire logic [31:0] error_word,
    input  wire logic        idle,
    input  wire logic        resetting,
    input  wire logic        irq_pulse,
    output logic             interrupt,  // level: irq pending and enabled

    // network framing
    output logic [39:0] mac_prefix,
    output logic [15:0] ethertype,
    input  wire logic [31:0] net_tx_frames,
    input  wire logic [31:0] net_rx_frames,
    input  wire logic [31:0] net_rx_drop_full,
    input  wire logic [31:0] net_rx_drop_bad
);
  // Register offsets.
  localparam logic [ADDR_WIDTH-1:0] A_CMD_BASE_LO = 'h200;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_BASE_HI = 'h204;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_SIZE_LOG2 = 'h208;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_BASE_LO = 'h20C;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_BASE_HI = 'h210;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_SIZE_LOG2 = 'h214;
  localparam logic [ADDR_WIDTH-1:0] A_STATUS_BASE_LO = 'h218;
  localparam logic [ADDR_WIDTH-1:0] A_STATUS_BASE_HI = 'h21C;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_DOORBELL = 'h220;  // reads cmd_tail
  localparam logic [ADDR_WIDTH-1:0] A_RSP_DOORBELL = 'h224;  // reads rsp_head
  localparam logic [ADDR_WIDTH-1:0] A_RING_CTRL = 'h228;
  localparam logic [ADDR_WIDTH-1:0] A_RING_STATUS = 'h22C;
  localparam logic [ADDR_WIDTH-1:0] A_BUILD_ID = 'h230;
  localparam logic [ADDR_WIDTH-1:0] A_CMD_HEAD = 'h234;
  localparam logic [ADDR_WIDTH-1:0] A_RSP_TAIL = 'h238;
  localparam logic [ADDR_WIDTH-1:0] A_MAC_PREFIX_LO = 'h240;
  localparam logic [ADDR_WIDTH-1:0] A_MAC_PREFIX_HI = 'h244;  // [7:0] prefix[39:32], [31:16] EtherType
  localparam logic [ADDR_WIDTH-1:0] A_NET_TX_FRAMES = 'h248;
  localparam logic [ADDR_WIDTH-1:0] A_NET_RX_FRAMES = 'h24C;
  localparam logic [ADDR_WIDTH-1:0] A_NET_RX_DROP_FULL = 'h250;
  localparam logic [ADDR_WIDTH-1:0] A_NET_RX_DROP_BAD = 'h254;

  logic [63:0] cmd_base_reg, rsp_base_reg, status_base_reg;
  logic [4:0] cmd_size_reg, rsp_size_reg;
  logic enable_reg, irq_enable_reg, irq_pending_reg;
  logic [7:0] coalesce_reg;
  logic cmd_db_reg, rsp_db_reg, reset_reg, clear_reg;
  logic [31:0] doorbell_reg;
  logic [39:0] mac_reg;
  logic [15:0] etype_reg;

  always_ff @(posedge clk) begin
    cmd_db_reg <= 1'b0;
    rsp_db_reg <= 1'b0;
    reset_reg <= 1'b0;
    clear_reg <= 1'b0;
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
        end
        A_RING_CTRL: begin
          enable_reg <= l_wdata[0];
          irq_enable_reg <= l_wdata[1];
          reset_reg <= l_wdata[2];
          coalesce_reg <= l_wdata[15:8];
        end
        A_RING_STATUS: begin  // write 1 to bit 0: clear the error; to bit 11: clear the interrupt
          clear_reg <= l_wdata[0];
          if (l_wdata[11] && !irq_pulse) irq_pending_reg <= 1'b0;
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
      coalesce_reg <= 8'd1;
      cmd_db_reg <= 1'b0;
      rsp_db_reg <= 1'b0;
      reset_reg <= 1'b0;
      clear_reg <= 1'b0;
      doorbell_reg <= '0;
      mac_reg <= 40'h02_53_45_53_53;  // locally administered 02:53:45:53:53 ("SESS")
      etype_reg <= ETHERTYPE;
    end
  end

  wire [31:0] ring_status = {error_word[31:16], 4'd0, irq_pending_reg, resetting, idle, error_word[8:0]};
  always_comb begin
    case (l_raddr)
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
      A_RING_CTRL: l_rdata = {16'd0, coalesce_reg, 6'd0, irq_enable_reg, enable_reg};
      A_RING_STATUS: l_rdata = ring_status;
      A_BUILD_ID: l_rdata = BUILD_ID;
      A_CMD_HEAD: l_rdata = cmd_head;
      A_RSP_TAIL: l_rdata = rsp_tail;
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
  assign clear_error = clear_reg;
  assign interrupt = irq_pending_reg && irq_enable_reg;
  assign mac_prefix = mac_reg;
  assign ethertype = etype_reg;

  logic unused_ok;
  assign unused_ok = &{1'b0, l_re, error_word[15:9]};
endmodule
`resetall
