// The host ring engine (issue 12, spec: the host rings contract in docs/alveo-rtl.md):
// an AXI4 master that fetches the command ring into the card's command stream
// (sess_ring_fetch) and writes the card's responses into the response ring and the
// status block (sess_ring_writer). This module holds the ring registers' behaviour:
// doorbell checks, the error word, the soft reset and the idle flag.
//
// Doorbells: CMD_DOORBELL must satisfy cmd_tail_old <= v <= cmd_head + size (free-running
// 32-bit counters, compared as distances from cmd_head); RSP_DOORBELL must satisfy
// rsp_head_old <= v <= rsp_tail (slots written). Another value is ignored and recorded as an error.
//
// Error word (RING_STATUS and status-block word 2): [7:0] the first error code since the
// last clear/reset (ERR_*), [8] fault (a bus error: the engine stops fetching until a
// reset), [31:16] errors counted (saturating).
//
// Soft reset (`soft_reset` pulse, RING_CTRL.reset): stop issuing AXI requests, wait for
// every outstanding burst and B response (an AXI master may not abandon a burst), then
// hold the card and the engine in reset for RESET_CYCLES: indices back to 0, errors
// cleared. `card_rst` resets sessnic_top with it, so no half-fed command stays in the card.
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
    input  wire logic                  clear_error,
    output logic      [          31:0] cmd_head,
    output logic      [          31:0] cmd_tail,
    output logic      [          31:0] rsp_head,
    output logic      [          31:0] rsp_tail,
    output logic      [          31:0] error_word,
    output logic                       idle,
    output logic                       resetting,
    output logic                       irq,          // one-cycle pulse
    output logic                       card_rst,

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

  // Error codes (RING_STATUS.error, status-block error word [7:0]).
  localparam logic [7:0] ERR_NONE = 8'd0;
  localparam logic [7:0] ERR_BAD_DESCRIPTOR = 8'd1;  // answered BAD_CMD
  localparam logic [7:0] ERR_CMD_DOORBELL = 8'd2;  // cmd_tail out of range, ignored
  localparam logic [7:0] ERR_RSP_DOORBELL = 8'd3;  // rsp_head out of range, ignored
  localparam logic [7:0] ERR_RING_CONFIG = 8'd4;  // size_log2 not 4..16 or base not aligned
  localparam logic [7:0] ERR_AXI_READ = 8'd5;  // SLVERR/DECERR on a ring read (fault)
  localparam logic [7:0] ERR_AXI_WRITE = 8'd6;  // SLVERR/DECERR on a ring write (fault)

  // ---- soft reset sequencing ------------------------------------------------------------
  typedef enum logic [1:0] {
    E_RUN,
    E_DRAIN,
    E_RESET
  } estate_e;
  estate_e est_reg;
  logic [7:0] rcnt_reg;
  logic irst_reg;  // engine + card reset
  wire irst = rst || irst_reg;

  // ---- configuration check ------------------------------------------------------------------
  wire size_ok = cmd_size_log2 >= 5'd4 && cmd_size_log2 <= 5'd16 && rsp_size_log2 >= 5'd4 && rsp_size_log2 <= 5'd16;
  wire align_ok = cmd_base[11:0] == 12'd0 && rsp_base[11:0] == 12'd0 && status_base[5:0] == 6'd0;
  wire cfg_ok = size_ok && align_ok;
  logic cfg_err_reg;  // the bad configuration was already counted

  logic fault_reg;
  wire w_run = enable && cfg_ok && est_reg == E_RUN;
  wire f_run = w_run && !fault_reg;

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
  logic f_reads_busy, f_holding, f_read_error, w_busy, w_pending, w_write_error;
  logic bad_valid, bad_ready;
  logic [DATA_WIDTH-1:0] bad_hdr;
  logic [31:0] err_word;

  sess_ring_fetch #(
      .ADDR_WIDTH(ADDR_WIDTH),
      .DATA_WIDTH(DATA_WIDTH),
      .SLOT_BYTES(SLOT_BYTES),
      .BURST_BEATS(BURST_BEATS)
  ) fetch_i (
      .clk(clk),
      .rst(irst),
      .run(f_run),
      .base(cmd_base),
      .size_log2(cmd_size_log2),
      .tail(cmd_tail_reg),
      .head(f_head),
      .reads_busy(f_reads_busy),
      .holding(f_holding),
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
      .bad_ready(bad_ready)
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
      .base(rsp_base),
      .size_log2(rsp_size_log2),
      .status_base(status_base),
      .rsp_head(rsp_head_reg),
      .cmd_head(f_head),
      .error_word(err_word),
      .irq_enable(irq_enable),
      .irq_coalesce(irq_coalesce),
      .rsp_tail(w_tail),
      .rsp_written(w_written),
      .busy(w_busy),
      .pending(w_pending),
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

  // ---- errors ---------------------------------------------------------------------------------
  logic [7:0] err_code_reg;
  logic [15:0] err_cnt_reg;
  logic ev_valid;
  logic [7:0] ev_code;
  always_comb begin
    // One error event per cycle at most is recorded by code; the rarer ones first.
    ev_valid = 1'b1;
    if (f_read_error) ev_code = ERR_AXI_READ;
    else if (w_write_error) ev_code = ERR_AXI_WRITE;
    else if (bad_valid && bad_ready) ev_code = ERR_BAD_DESCRIPTOR;
    else if (cmd_doorbell_we && db_open && !cmd_db_ok) ev_code = ERR_CMD_DOORBELL;
    else if (rsp_doorbell_we && db_open && !rsp_db_ok) ev_code = ERR_RSP_DOORBELL;
    else if (enable && !cfg_ok && !cfg_err_reg) ev_code = ERR_RING_CONFIG;
    else begin
      ev_valid = 1'b0;
      ev_code = ERR_NONE;
    end
  end
  assign err_word = {err_cnt_reg, 7'd0, fault_reg, err_code_reg};

  always_ff @(posedge clk) begin
    if (ev_valid) begin
      if (err_code_reg == ERR_NONE) err_code_reg <= ev_code;
      if (err_cnt_reg != 16'hFFFF) err_cnt_reg <= err_cnt_reg + 16'd1;
    end
    if (f_read_error || w_write_error) fault_reg <= 1'b1;
    if (enable && !cfg_ok) cfg_err_reg <= 1'b1;
    else if (cfg_ok) cfg_err_reg <= 1'b0;
    if (clear_error) begin
      err_code_reg <= ERR_NONE;
      err_cnt_reg <= '0;
    end
    if (cmd_doorbell_we && db_open && cmd_db_ok) cmd_tail_reg <= cmd_doorbell;
    if (rsp_doorbell_we && db_open && rsp_db_ok) rsp_head_reg <= rsp_doorbell;

    case (est_reg)
      E_RUN: if (soft_reset) est_reg <= E_DRAIN;
      E_DRAIN: begin
        if (!f_reads_busy && !w_busy) begin
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
        end
      end
    endcase
    if (irst) begin
      err_code_reg <= ERR_NONE;
      err_cnt_reg <= '0;
      fault_reg <= 1'b0;
      cfg_err_reg <= 1'b0;
      cmd_tail_reg <= '0;
      rsp_head_reg <= '0;
    end
    if (rst) begin
      est_reg <= E_RUN;
      irst_reg <= 1'b0;
      rcnt_reg <= '0;
    end
  end

  assign cmd_head = f_head;
  assign cmd_tail = cmd_tail_reg;
  assign rsp_head = rsp_head_reg;
  assign rsp_tail = w_tail;
  assign error_word = err_word;
  assign resetting = est_reg != E_RUN;
  assign card_rst = irst;
  assign idle = est_reg == E_RUN && !f_reads_busy && !f_holding && f_head == cmd_tail_reg && !w_busy &&
                !(w_run && w_pending);
endmodule
`resetall
