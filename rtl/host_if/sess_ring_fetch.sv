// Command side of the ring engine: reads command-ring slots over the AXI4 read channels
// (AR/R) into a beat FIFO and turns them into the card's command stream, one checked
// message at a time.
//
// Fetch: every slot between the fetch pointer and cmd_tail is requested, in bursts that
// never cross a BURST_BEATS-slot boundary (so never a 4 KiB page, and never the end of
// the ring, which is at least 16 slots and 4 KiB aligned). A burst is issued only when
// the FIFO has room for all its beats (credits = beats requested and not yet popped),
// so R is never back-pressured by the parser.
//
// Parse (spec/wire.toml [ring]): a header is checked in the order blob_len <= SLOT_BYTES,
// whole message before cmd_tail, opcode, key_len (0 only on unkeyed ops). A good
// message goes to m_cmd with TLAST on its last beat; a bad one is dropped and its header
// handed to the writer as a BAD_CMD answer (bad_*, with the ring_error code). A bad
// length (BAD_BLOB_LEN, PAST_TAIL) cannot frame what follows, so every slot up to
// cmd_tail is dropped; otherwise just the message's slots. cmd_head advances as slots
// leave the FIFO.
//
// Drain (before a ring reset): no new read is issued, a message half-way to the card is
// finished (the card must never see half a command), every other fetched beat is dropped.
`resetall
`default_nettype none
module sess_ring_fetch #(
    parameter int ADDR_WIDTH = 64,
    parameter int DATA_WIDTH = 512,
    parameter int SLOT_BYTES = 256,  // the card's blob slot: a longer blob is a bad descriptor
    parameter int BURST_BEATS = 16,
    parameter int FIFO_LOG2 = 5
) (
    input wire logic clk,
    input wire logic rst,

    input  wire logic                  run,        // enabled, configured, not draining
    input  wire logic                  drain,
    input  wire logic [           7:0] card_id,    // aux of the BAD_CMD answers
    input  wire logic [ADDR_WIDTH-1:0] base,
    input  wire logic [           4:0] size_log2,
    input  wire logic [          31:0] tail,       // cmd_tail (host doorbell, checked)
    output logic      [          31:0] head,       // cmd_head: slots consumed
    output logic                       reads_busy, // a read burst requested or outstanding
    output logic                       holding,    // fetched beats not yet passed on
    output logic                       mid_msg,    // the card has part of a message

    // AXI4 read address / data (INCR bursts of whole 64-byte slots)
    output logic                  m_axi_arvalid,
    input  wire logic                  m_axi_arready,
    output logic [ADDR_WIDTH-1:0] m_axi_araddr,
    output logic [           7:0] m_axi_arlen,
    input  wire logic                  m_axi_rvalid,
    output logic                  m_axi_rready,
    input  wire logic [DATA_WIDTH-1:0] m_axi_rdata,
    input  wire logic                  m_axi_rlast,
    input  wire logic [           1:0] m_axi_rresp,
    output logic                  read_error,  // pulse: an R beat answered SLVERR/DECERR

    // Commands towards the card
    output logic [DATA_WIDTH-1:0] m_cmd_tdata,
    output logic                  m_cmd_tlast,
    output logic                  m_cmd_tvalid,
    input  wire logic                  m_cmd_tready,

    // A bad descriptor: its header, to be answered BAD_CMD
    output logic                  bad_valid,
    output logic [DATA_WIDTH-1:0] bad_hdr,
    input  wire logic                  bad_ready,
    output logic                  bad_event,  // pulse: a bad descriptor was taken
    output logic [           7:0] bad_code    // its spec/wire.toml [ring_error] code
);
  initial begin
    if (DATA_WIDTH != 512) $fatal(1, "sess_ring_fetch: DATA_WIDTH must be 512 (one 64-byte slot per beat)");
    if (ADDR_WIDTH < 32 || ADDR_WIDTH > 64) $fatal(1, "sess_ring_fetch: ADDR_WIDTH must be 32..64");
    if (BURST_BEATS < 1 || BURST_BEATS > 16 || (BURST_BEATS & (BURST_BEATS - 1)) != 0)
      $fatal(1, "sess_ring_fetch: BURST_BEATS must be a power of two, 1..16");
    if ((1 << FIFO_LOG2) < BURST_BEATS) $fatal(1, "sess_ring_fetch: the FIFO must hold one burst");
    if (SLOT_BYTES < 64 || SLOT_BYTES > 65535) $fatal(1, "sess_ring_fetch: SLOT_BYTES must be 64..65535");
  end

  localparam int BL2 = $clog2(BURST_BEATS);
  localparam int CAP = 1 << FIFO_LOG2;
  localparam int H_OP = sessnic_wire_pkg::HEADER_OP_LSB;
  localparam int H_STATUS = sessnic_wire_pkg::HEADER_STATUS_LSB;
  localparam int H_KEY_LEN = sessnic_wire_pkg::HEADER_KEY_LEN_LSB;
  localparam int H_BLOB_LEN = sessnic_wire_pkg::HEADER_BLOB_LEN_LSB;
  localparam int H_AUX = sessnic_wire_pkg::HEADER_AUX_LSB;
  localparam int KEY_MAX = sessnic_wire_pkg::KEY_MAX_BYTES;
  localparam logic [7:0] OP_PUT = 8'(sessnic_wire_pkg::OPCODE_PUT);
  localparam logic [7:0] OP_GET = 8'(sessnic_wire_pkg::OPCODE_GET);
  localparam logic [7:0] OP_TAKE = 8'(sessnic_wire_pkg::OPCODE_TAKE);
  localparam logic [7:0] OP_DEL = 8'(sessnic_wire_pkg::OPCODE_DEL);
  localparam logic [7:0] OP_EXPORT = 8'(sessnic_wire_pkg::OPCODE_EXPORT);
  localparam logic [7:0] OP_TRANSFER = 8'(sessnic_wire_pkg::OPCODE_TRANSFER);
  localparam logic [7:0] OP_SCAN = 8'(sessnic_wire_pkg::OPCODE_SCAN);  // the highest opcode the card takes
  localparam logic [7:0] ST_BAD_CMD = 8'(sessnic_wire_pkg::STATUS_BAD_CMD);
  // spec/wire.toml [ring_error]
  localparam logic [7:0] E_BAD_OPCODE = 8'd1;
  localparam logic [7:0] E_BAD_KEY_LEN = 8'd2;
  localparam logic [7:0] E_BAD_BLOB_LEN = 8'd3;
  localparam logic [7:0] E_PAST_TAIL = 8'd4;

  logic [31:0] mask_reg;  // ring slots - 1 (size_log2 is configuration: registered)
  always_ff @(posedge clk) mask_reg <= (32'd1 << size_log2) - 32'd1;

  // ---- fetch: AR bursts ------------------------------------------------------------
  logic [31:0] fetch_reg;  // next slot to request
  logic [FIFO_LOG2:0] credit_reg;  // beats requested and not yet popped (<= CAP)
  logic [31:0] rbeats_reg;  // beats requested and not yet received
  logic arvalid_reg;
  logic [ADDR_WIDTH-1:0] araddr_reg;
  logic [7:0] arlen_reg;

  // The next burst (slots published and not requested, cut at the burst boundary) is
  // registered: it lags fetch_reg and tail by a cycle, which is safe because a burst
  // holds arvalid_reg for at least the cycle after it is issued (no issue then), and
  // tail only grows (a stale tail asks for fewer slots, never for unpublished ones).
  wire [31:0] want = tail - fetch_reg;
  wire [BL2:0] to_boundary = (BL2 + 1)'(BURST_BEATS) - {1'b0, fetch_reg[BL2-1:0]};
  logic [BL2:0] burst_reg;
  always_ff @(posedge clk) begin
    burst_reg <= (want < 32'(to_boundary)) ? want[BL2:0] : to_boundary;
    if (rst) burst_reg <= '0;
  end
  wire [BL2:0] burst = burst_reg;
  wire can_issue = run && !arvalid_reg && burst_reg != '0 &&
                   ((FIFO_LOG2 + 2)'(credit_reg) + (FIFO_LOG2 + 2)'(burst_reg)) <= (FIFO_LOG2 + 2)'(CAP);
  logic pop;  // a beat leaves the FIFO (forwarded or skipped)
  wire r_beat = m_axi_rvalid && m_axi_rready;

  assign m_axi_arvalid = arvalid_reg;
  assign m_axi_araddr = araddr_reg;
  assign m_axi_arlen = arlen_reg;

  always_ff @(posedge clk) begin
    if (can_issue) begin
      arvalid_reg <= 1'b1;
      araddr_reg <= {base[ADDR_WIDTH-1:12], 12'd0} + ({{(ADDR_WIDTH - 32) {1'b0}}, fetch_reg & mask_reg} << 6);
      arlen_reg <= 8'(burst) - 8'd1;
      fetch_reg <= fetch_reg + 32'(burst);
    end else if (m_axi_arready) begin
      arvalid_reg <= 1'b0;
    end
    credit_reg <= credit_reg + (can_issue ? (FIFO_LOG2 + 1)'(burst) : '0) - (FIFO_LOG2 + 1)'(pop);
    rbeats_reg <= rbeats_reg + (can_issue ? 32'(burst) : 32'd0) - 32'(r_beat);
    if (rst) begin
      arvalid_reg <= 1'b0;
      araddr_reg <= '0;
      arlen_reg <= '0;
      fetch_reg <= '0;
      credit_reg <= '0;
      rbeats_reg <= '0;
    end
  end

  // ---- R beats into the FIFO (room is guaranteed by the credits) ---------------------
  // Every beat is checked as if it were a header on its way in (the checks are then
  // flip-flops when the parser needs them, so the parser's pop stays shallow): the
  // header checks of the parse below and the message's blob beats travel with the beat.
  // `fits` is judged against cmd_tail as it is when the beat arrives: a message must be
  // published whole (spec/wire.toml [ring]), and the header's slot was published then.
  localparam int CHK_W = 4 + 11;  // {blob_bad, past_tail, bad_op, bad_key_len}, blob beats
  logic fifo_full;
  logic [DATA_WIDTH+CHK_W-1:0] f_word;
  logic [DATA_WIDTH-1:0] f_data;
  logic f_valid, f_last_unused;
  logic [31:0] rslot_reg;  // slot index of the next R beat (R returns bursts in order)
  assign m_axi_rready = !fifo_full;
  assign read_error = r_beat && m_axi_rresp[1];

  wire [7:0] r_op = m_axi_rdata[H_OP+:8];
  wire [7:0] r_key_len = m_axi_rdata[H_KEY_LEN+:8];
  wire [15:0] r_blob_len = m_axi_rdata[H_BLOB_LEN+:16];
  wire [10:0] r_blob_beats = 11'((17'(r_blob_len) + 17'd63) >> 6);
  wire r_keyed = r_op == OP_PUT || r_op == OP_GET || r_op == OP_TAKE || r_op == OP_DEL || r_op == OP_EXPORT ||
                 r_op == OP_TRANSFER;
  wire [3:0] r_chk = {32'(r_blob_len) > 32'(SLOT_BYTES), !(32'(r_blob_beats) < tail - rslot_reg),
                      r_op > OP_SCAN, r_key_len > 8'(KEY_MAX) || (r_keyed && r_key_len == 8'd0)};
  always_ff @(posedge clk) begin
    if (r_beat) rslot_reg <= rslot_reg + 32'd1;
    if (rst) rslot_reg <= '0;
  end

  sess_axis_fifo #(
      .WIDTH(DATA_WIDTH + CHK_W),
      .DEPTH_LOG2(FIFO_LOG2)
  ) rfifo (
      .clk(clk),
      .rst(rst),
      .s_valid(m_axi_rvalid),
      .s_data({r_chk, r_blob_beats, m_axi_rdata}),
      .s_last(m_axi_rlast),
      .s_full(fifo_full),
      .m_tdata(f_word),
      .m_tlast(f_last_unused),
      .m_tvalid(f_valid),
      .m_tready(pop)
  );
  assign f_data = f_word[DATA_WIDTH-1:0];

  // ---- parse: check headers, forward or skip ------------------------------------------
  typedef enum logic [1:0] {
    P_HDR,
    P_BLOB,
    P_SKIP
  } pstate_e;
  pstate_e pstate_reg;
  logic [31:0] head_reg;
  logic [16:0] left_reg;  // beats of the message still to forward / skip (up to a whole ring)
  logic badv_reg;
  logic [DATA_WIDTH-1:0] badh_reg;

  // The header checks, computed on the way into the FIFO (above).
  wire [10:0] blob_beats = f_word[DATA_WIDTH+:11];
  wire blob_bad = f_word[DATA_WIDTH+14];
  wire fits = !f_word[DATA_WIDTH+13];  // header + blob beats <= the slots published
  wire [31:0] avail = tail - head_reg;  // slots the host published from this one on
  logic [7:0] code;
  always_comb begin
    if (blob_bad) code = E_BAD_BLOB_LEN;
    else if (!fits) code = E_PAST_TAIL;
    else if (f_word[DATA_WIDTH+12]) code = E_BAD_OPCODE;
    else if (f_word[DATA_WIDTH+11]) code = E_BAD_KEY_LEN;
    else code = 8'd0;
  end
  wire bad = |f_word[DATA_WIDTH+11+:4];
  // Slots to drop after the header: the message, or everything up to cmd_tail.
  wire [16:0] skip_after = (blob_bad || !fits) ? 17'(avail - 32'd1) : 17'(blob_beats);

  // Output stage: a registered FIFO, so m_cmd_* come from flip-flops.
  logic out_full;
  wire fwd = f_valid && !out_full && (pstate_reg == P_BLOB || (pstate_reg == P_HDR && !bad && !drain));
  wire fwd_last = pstate_reg == P_HDR ? blob_beats == 11'd0 : left_reg == 17'd1;
  wire take_bad = f_valid && pstate_reg == P_HDR && bad && !badv_reg && !drain;
  wire skip = f_valid && (pstate_reg == P_SKIP || (pstate_reg == P_HDR && drain));
  assign pop = fwd || take_bad || skip;
  assign bad_event = take_bad;
  assign bad_code = code;

  sess_axis_fifo #(
      .WIDTH(DATA_WIDTH),
      .DEPTH_LOG2(1)
  ) ofifo (
      .clk(clk),
      .rst(rst),
      .s_valid(fwd),
      .s_data(f_data),
      .s_last(fwd_last),
      .s_full(out_full),
      .m_tdata(m_cmd_tdata),
      .m_tlast(m_cmd_tlast),
      .m_tvalid(m_cmd_tvalid),
      .m_tready(m_cmd_tready)
  );

  always_ff @(posedge clk) begin
    if (pop) head_reg <= head_reg + 32'd1;
    case (pstate_reg)
      P_HDR: begin
        if (fwd && !fwd_last) begin
          pstate_reg <= P_BLOB;
          left_reg <= 17'(blob_beats);
        end
        if (take_bad) begin
          badv_reg <= 1'b1;
          badh_reg <= f_data;
          badh_reg[H_STATUS+:8] <= ST_BAD_CMD;
          badh_reg[H_BLOB_LEN+:16] <= 16'd0;  // the answer carries no blob
          badh_reg[H_AUX+:64] <= {56'd0, card_id};  // answers carry the card id
          if (skip_after != 17'd0) begin
            pstate_reg <= P_SKIP;
            left_reg <= skip_after;
          end
        end
      end
      P_BLOB: begin
        if (fwd) begin
          left_reg <= left_reg - 17'd1;
          if (fwd_last) pstate_reg <= P_HDR;
        end
      end
      default: begin  // P_SKIP
        if (f_valid) begin
          left_reg <= left_reg - 17'd1;
          if (left_reg == 17'd1) pstate_reg <= P_HDR;
        end
      end
    endcase
    if (badv_reg && (bad_ready || drain)) badv_reg <= 1'b0;
    if (rst) begin
      pstate_reg <= P_HDR;
      head_reg <= '0;
      left_reg <= '0;
      badv_reg <= 1'b0;
      badh_reg <= '0;
    end
  end

  assign head = head_reg;
  assign bad_valid = badv_reg;
  assign bad_hdr = badh_reg;
  assign reads_busy = arvalid_reg || rbeats_reg != 32'd0;
  assign holding = f_valid || m_cmd_tvalid || badv_reg;
  assign mid_msg = pstate_reg == P_BLOB || m_cmd_tvalid;

  logic unused_ok;
  assign unused_ok = &{1'b0, f_last_unused, m_axi_rresp[0], base[11:0]};
endmodule
`resetall
