// The host ring engine (issue 12; the contract is spec/wire.toml [ring] and the ring
// registers of spec/regs.rdl; docs/alveo-rtl.md): an AXI4 master that fetches the command
// ring into the card's command stream (sess_ring_fetch) and writes the card's responses
// into the response ring and the status block (sess_ring_writer). This module holds the
// ring registers' behaviour: doorbell checks, errors, the ring reset and the idle flag.
//
// Doorbells: CMD_DOORBELL must satisfy cmd_tail_old <= v <= cmd_head + size (free-running
// 32-bit counters, compared as distances from cmd_head); RSP_DOORBELL must satisfy
// rsp_head_old <= v <= rsp_tail (slots written). Another value is ignored (BAD_DOORBELL).
// A ring whose size is not 4..16 (log2), or an AXI error answer, stops the engine with
// AXI_ERROR (`fault`) until a ring reset. The low 12 bits of the ring bases and the low
// 6 bits of the status base are ignored.
//
// Ring reset (`soft_reset`, RING_CTRL.reset): no new AXI request; every outstanding
// burst and B completes (an AXI master may not abandon a burst); a command half-way into
// the card is finished, the answers of every command the card holds are taken and
// dropped (the card itself is not reset: its table and registers stay). Then heads,
// tails and errors return to 0, `resets` counts one more, and the status block is
// written with it even while the ring is disabled: that is the host's acknowledgement.
`resetall
`default_nettype none
module sess_ring_engine #(
    parameter int ADDR_WIDTH = 64,
    parameter int DATA_WIDTH = 512,
    parameter int SLOT_BYTES = 256,
    parameter int BURST_BEATS = 16,
    parameter int RESET_CYCLES = 16
) (
    input wire logic clk,
    input wire logic rst,

    // Ring registers (values as written by the host)
    input  wire logic [ADDR_WIDTH-1:0] cmd_base,
    input  wire logic [           4:0] cmd_size_log2,
    input  wire logic [ADDR_WIDTH-1:0] rsp_base,
    input  wire logic [           4:0] rsp_size_log2,
    input  wire logic [ADDR_WIDTH-1:0] status_base,
    input  wire logic                  enable,
    input  wire logic                  irq_enable,
    input  wire logic [           7:0] irq_coalesce,
    input  wire logic                  cmd_doorbell_we,
    input  wire logic [          31:0] cmd_doorbell,
    input  wire logic                  rsp_doorbell_we,
    input  wire logic [          31:0] rsp_doorbell,
    input  wire logic                  soft_reset,
    input  wire logic [           7:0] card_id,
    output logic      [          31:0] cmd_head,
    output logic      [          31:0] cmd_tail,
    output logic      [          31:0] rsp_head,
    output logic      [          31:0] rsp_tail,
    output logic      [           7:0] error_code,   // spec/wire.toml [ring_error], most recent
    output logic                       fault,        // stopped by AXI_ERROR until a ring reset
    output logic      [          31:0] bad_descs,
    output logic      [          31:0] resets,
    output logic                       idle,
    output logic                       resetting,
    output logic                       irq,          // one-cycle pulse

    // AXI4 master (INCR bursts of 64-byte beats; one ID)
    output logic                  m_axi_awvalid,
    input  wire logic                  m_axi_awready,
    output logic [ADDR_WIDTH-1:0] m_axi_awaddr,
    output logic [           7:0] m_axi_awlen,
    output logic [           2:0] m_axi_awsize,
    output logic [           1:0] m_axi_awburst,
    output logic                  m_axi_wvalid,
    input  wire logic                  m_axi_wready,
    output logic [DATA_WIDTH-1:0] m_axi_wdata,
    output logic [DATA_WIDTH/8-1:0] m_axi_wstrb,
    output logic                  m_axi_wlast,
    input  wire logic                  m_axi_bvalid,
    output logic                  m_axi_bready,
    input  wire logic [           1:0] m_axi_bresp,
    output logic                  m_axi_arvalid,
    input  wire logic                  m_axi_arready,
    output logic [ADDR_WIDTH-1:0] m_axi_araddr,
    output logic [           7:0] m_axi_arlen,
    output logic [           2:0] m_axi_arsize,
    output logic [           1:0] m_axi_arburst,
    input  wire logic                  m_axi_rvalid,
    output logic                  m_axi_rready,
    input  wire logic [DATA_WIDTH-1:0] m_axi_rdata,
    input  wire logic                  m_axi_rlast,
    input  wire logic [           1:0] m_axi_rresp,

    // The card's command / response streams
    output logic [DATA_WIDTH-1:0] m_cmd_tdata,
    output logic                  m_cmd_tlast,
    output logic                  m_cmd_tvalid,
    input  wire logic                  m_cmd_tready,
    input  wire logic [DATA_WIDTH-1:0] s_rsp_tdata,
    input  wire logic                  s_rsp_tlast,
    input  wire logic                  s_rsp_tvalid,
    output logic                  s_rsp_tready
);
  initial begin
    if (RESET_CYCLES < 2 || RESET_CYCLES > 255) $fatal(1, "sess_ring_engine: RESET_CYCLES must be 2..255");
  end

  // spec/wire.toml [ring_error] (the descriptor codes come from sess_ring_fetch).
  localparam logic [7:0] ERR_BAD_DOORBELL = 8'd5;
  localparam logic [7:0] ERR_AXI_ERROR = 8'd6;

  // ---- soft reset sequencing ------------------------------------------------------------
  typedef enum logic [1:0] {
    E_RUN,
    E_DRAIN,
    E_RESET
  } estate_e;
  estate_e est_reg;
  logic [7:0] rcnt_reg;
  logic irst_reg;  // the engine's own reset (never the card's)
  wire irst = rst || irst_reg;

  // ---- configuration check ------------------------------------------------------------------
  wire cfg_ok = cmd_size_log2 >= 5'd4 && cmd_size_log2 <= 5'd16 && rsp_size_log2 >= 5'd4 && rsp_size_log2 <= 5'd16;
  logic fault_reg;
  logic ack_reg;  // a ring reset not yet acknowledged in the status block
  logic [31:0] resets_reg, bad_reg;
  logic [31:0] w_pub_resets;
  wire draining = est_reg == E_DRAIN;
  wire w_run = enable && cfg_ok && est_reg == E_RUN;
  wire f_run = w_run && !fault_reg;
  wire st_run = cfg_ok && est_reg == E_RUN && (enable || ack_reg);

  // ---- doorbells -----------------------------------------------------------------------------
  logic [31:0] cmd_tail_reg, rsp_head_reg;
  logic [31:0] f_head, w_tail, w_written;
  wire [31:0] cmd_size = 32'd1 << cmd_size_log2;
  wire cmd_db_ok = (cmd_doorbell - f_head) <= cmd_size && (cmd_doorbell - f_head) >= (cmd_tail_reg - f_head);
  // Against the slots written, not the tail whose status write is still awaiting its B:
  // the host may see the block before the engine sees the B.
  wire rsp_db_ok = (rsp_doorbell - rsp_head_reg) <= (w_written - rsp_head_reg);
  wire db_open = est_reg == E_RUN;

  // ---- the two halves ------------------------------------------------------------------------
  logic f_reads_busy, f_holding, f_mid, f_read_error, w_busy, w_pending, w_holding, w_write_error;
  logic bad_valid, bad_ready, bad_event;
  logic [7:0] bad_code;
  logic [DATA_WIDTH-1:0] bad_hdr;
  logic [7:0] err_code_reg;

  // Commands the card holds (headers given, answers not yet back): a ring reset waits
  // for their answers so none lands in the re-initialised ring.
  logic [15:0] in_card_reg;
  logic cmd_first_reg;
  wire cmd_hdr = m_cmd_tvalid && m_cmd_tready && cmd_first_reg;
  wire rsp_end = s_rsp_tvalid && s_rsp_tready && s_rsp_tlast;
  always_ff @(posedge clk) begin
    if (m_cmd_tvalid && m_cmd_tready) cmd_first_reg <= m_cmd_tlast;
    in_card_reg <= in_card_reg + 16'(cmd_hdr) - 16'(rsp_end && in_card_reg != 16'd0);
    if (rst) begin
      cmd_first_reg <= 1'b1;
      in_card_reg <= '0;
    end
  end

  sess_ring_fetch #(
      .ADDR_WIDTH(ADDR_WIDTH),
      .DATA_WIDTH(DATA_WIDTH),
      .SLOT_BYTES(SLOT_BYTES),
      .BURST_BEATS(BURST_BEATS)
  ) fetch_i (
      .clk(clk),
      .rst(irst),
      .run(f_run),
      .drain(draining),
      .card_id(card_id),
      .base(cmd_base),
      .size_log2(cmd_size_log2),
      .tail(cmd_tail_reg),
      .head(f_head),
      .reads_busy(f_reads_busy),
      .holding(f_holding),
      .mid_msg(f_mid),
      .m_axi_arvalid(m_axi_arvalid),
      .m_axi_arready(m_axi_arready),
      .m_axi_araddr(m_axi_araddr),
      .m_axi_arlen(m_axi_arlen),
      .m_axi_rvalid(m_axi_rvalid),
      .m_axi_rready(m_axi_rready),
      .m_axi_rdata(m_axi_rdata),
      .m_axi_rlast(m_axi_rlast),
      .m_axi_rresp(m_axi_rresp),
      .read_error(f_read_error),
      .m_cmd_tdata(m_cmd_tdata),
      .m_cmd_tlast(m_cmd_tlast),
      .m_cmd_tvalid(m_cmd_tvalid),
      .m_cmd_tready(m_cmd_tready),
      .bad_valid(bad_valid),
      .bad_hdr(bad_hdr),
      .bad_ready(bad_ready),
      .bad_event(bad_event),
      .bad_code(bad_code)
  );

  sess_ring_writer #(
      .ADDR_WIDTH(ADDR_WIDTH),
      .DATA_WIDTH(DATA_WIDTH),
      .SLOT_BYTES(SLOT_BYTES),
      .BURST_BEATS(BURST_BEATS)
  ) writer_i (
      .clk(clk),
      .rst(irst),
      .run(w_run),
      .st_run(st_run),
      .drop(draining),
      .base(rsp_base),
      .size_log2(rsp_size_log2),
      .status_base(status_base),
      .rsp_head(rsp_head_reg),
      .cmd_head(f_head),
      .error_code(err_code_reg),
      .bad_descs(bad_reg),
      .resets(resets_reg),
      .pub_resets(w_pub_resets),
      .irq_enable(irq_enable),
      .irq_coalesce(irq_coalesce),
      .rsp_tail(w_tail),
      .rsp_written(w_written),
      .busy(w_busy),
      .pending(w_pending),
      .holding(w_holding),
      .irq(irq),
      .write_error(w_write_error),
      .s_rsp_tdata(s_rsp_tdata),
      .s_rsp_tlast(s_rsp_tlast),
      .s_rsp_tvalid(s_rsp_tvalid),
      .s_rsp_tready(s_rsp_tready),
      .bad_valid(bad_valid),
      .bad_hdr(bad_hdr),
      .bad_ready(bad_ready),
      .m_axi_awvalid(m_axi_awvalid),
      .m_axi_awready(m_axi_awready),
      .m_axi_awaddr(m_axi_awaddr),
      .m_axi_awlen(m_axi_awlen),
      .m_axi_wvalid(m_axi_wvalid),
      .m_axi_wready(m_axi_wready),
      .m_axi_wdata(m_axi_wdata),
      .m_axi_wlast(m_axi_wlast),
      .m_axi_bvalid(m_axi_bvalid),
      .m_axi_bready(m_axi_bready),
      .m_axi_bresp(m_axi_bresp)
  );

  assign m_axi_awsize = 3'd6;  // 64 bytes per beat
  assign m_axi_arsize = 3'd6;
  assign m_axi_awburst = 2'b01;  // INCR
  assign m_axi_arburst = 2'b01;
  assign m_axi_wstrb = '1;

  // ---- errors (the most recent code is kept) -------------------------------------------------
  wire db_bad = (cmd_doorbell_we && db_open && !cmd_db_ok) || (rsp_doorbell_we && db_open && !rsp_db_ok);
  wire axi_bad = f_read_error || w_write_error || (enable && !cfg_ok && est_reg == E_RUN && !fault_reg);

  always_ff @(posedge clk) begin
    if (bad_event) begin
      err_code_reg <= bad_code;
      bad_reg <= bad_reg + 32'd1;
    end
    if (db_bad) err_code_reg <= ERR_BAD_DOORBELL;
    if (axi_bad) begin
      err_code_reg <= ERR_AXI_ERROR;
      fault_reg <= 1'b1;
    end
    if (cmd_doorbell_we && db_open && cmd_db_ok) cmd_tail_reg <= cmd_doorbell;
    if (rsp_doorbell_we && db_open && rsp_db_ok) rsp_head_reg <= rsp_doorbell;
    if (ack_reg && w_pub_resets == resets_reg) ack_reg <= 1'b0;

    case (est_reg)
      E_RUN: if (soft_reset) est_reg <= E_DRAIN;
      E_DRAIN: begin
        if (!f_reads_busy && !f_holding && !f_mid && !w_busy && !w_holding && in_card_reg == 16'd0) begin
          est_reg <= E_RESET;
          irst_reg <= 1'b1;
          rcnt_reg <= 8'(RESET_CYCLES);
        end
      end
      default: begin  // E_RESET
        rcnt_reg <= rcnt_reg - 8'd1;
        if (rcnt_reg == 8'd1) begin
          irst_reg <= 1'b0;
          est_reg <= E_RUN;
          resets_reg <= resets_reg + 32'd1;
          ack_reg <= 1'b1;
        end
      end
    endcase
    if (irst) begin
      err_code_reg <= '0;
      bad_reg <= '0;
      fault_reg <= 1'b0;
      cmd_tail_reg <= '0;
      rsp_head_reg <= '0;
    end
    if (rst) begin
      est_reg <= E_RUN;
      irst_reg <= 1'b0;
      rcnt_reg <= '0;
      resets_reg <= '0;
      ack_reg <= 1'b0;
    end
  end

  assign cmd_head = f_head;
  assign cmd_tail = cmd_tail_reg;
  assign rsp_head = rsp_head_reg;
  assign rsp_tail = w_tail;
  assign error_code = err_code_reg;
  assign fault = fault_reg;
  assign bad_descs = bad_reg;
  assign resets = resets_reg;
  assign resetting = est_reg != E_RUN;
  // Nothing in flight: every fetched command answered, every answer and then the status
  // block written. Registered, because the writer's `pending` (a compare of everything it
  // published) and the register read path would otherwise make one combinational path
  // across three modules (10 LUT levels, docs/rtl.md "Paths across modules"). A register
  // alone shows a host write one cycle late: a host that writes RING_CTRL.reset or a
  // command doorbell and reads RING_STATUS next must not see the `idle` of before its
  // write. Those strobes therefore clear it in the cycle they arrive, before their effect
  // (est_reg, cmd_tail_reg) reaches the flags; every other input changes by itself and
  // is seen one cycle later, as if read one cycle earlier. A command doorbell that does
  // not move the tail shows not-idle for that one cycle.
  logic idle_reg;
  always_ff @(posedge clk) begin
    idle_reg <= est_reg == E_RUN && !ack_reg && !f_reads_busy && !f_holding && f_head == cmd_tail_reg &&
                !w_busy && !w_holding && !(st_run && w_pending) && in_card_reg == 16'd0 &&
                !soft_reset && !cmd_doorbell_we;
    if (rst) idle_reg <= 1'b0;
  end
  assign idle = idle_reg;
endmodule
`resetall
