// Response side of the ring engine: merges the card's responses with the engine's own
// BAD_CMD answers (whole messages; a card message is never split), buffers each message
// whole, writes it into the response ring over the AXI4 write channels (AW/W/B), then
// publishes the `ring_status` beat (spec/wire.toml: cmd_head, rsp_tail, error,
// bad_descs, resets) in the 64-byte status block and raises the interrupt.
//
// `drop` (draining before a ring reset): responses are taken from the card and
// discarded, so the card can finish what it was given; nothing new is written.
//
// Ordering: the status block is written only after the B responses of every response
// slot it covers, so a host that sees rsp_tail in the status block finds the slots
// written. A message is written only when all its slots are free (rsp_tail - rsp_head +
// beats <= size) and all its beats are buffered, so a W burst never waits for the card
// (the engine can always drain its bursts before a reset). Up to BATCH messages are
// written before the status block is refreshed; the block is refreshed at once when no
// further message is ready.
//
// Interrupt: a one-cycle `irq` after a status write that advanced rsp_tail, when
// irq_enable and (irq_coalesce messages were published since the last one, or no
// further message is waiting: a quiet ring is never left without its interrupt).
`resetall
`default_nettype none
module sess_ring_writer #(
    parameter int ADDR_WIDTH = 64,
    parameter int DATA_WIDTH = 512,
    parameter int SLOT_BYTES = 256,  // the card's blob slot: longest response = 1 + SLOT_BYTES/64 beats
    parameter int BURST_BEATS = 16,
    parameter int FIFO_LOG2 = 4,
    parameter int BATCH = 8
) (
    input wire logic clk,
    input wire logic rst,

    input  wire logic                  run,           // write responses (enabled, configured, not draining)
    input  wire logic                  st_run,        // write the status block when it changed
    input  wire logic                  drop,          // discard responses (draining)
    input  wire logic [ADDR_WIDTH-1:0] base,
    input  wire logic [           4:0] size_log2,
    input  wire logic [ADDR_WIDTH-1:0] status_base,
    input  wire logic [          31:0] rsp_head,      // host doorbell (checked)
    input  wire logic [          31:0] cmd_head,      // to publish
    input  wire logic [           7:0] error_code,    // to publish
    input  wire logic [          31:0] bad_descs,     // to publish
    input  wire logic [          31:0] resets,        // to publish
    output logic      [          31:0] pub_resets,    // resets as last published
    input  wire logic                  irq_enable,
    input  wire logic [           7:0] irq_coalesce,  // messages per interrupt (0 = 1)
    output logic      [          31:0] rsp_tail,      // published in the status block
    output logic      [          31:0] rsp_written,   // slots written (>= rsp_tail): what a host may have seen
    output logic                       busy,          // an AXI write in progress or B outstanding
    output logic                       pending,       // a message or a status update waiting
    output logic                       holding,       // response beats buffered
    output logic                       irq,
    output logic                       write_error,   // pulse: a B answered SLVERR/DECERR

    // Card responses (whole messages, TLAST on the last beat)
    input  wire logic [DATA_WIDTH-1:0] s_rsp_tdata,
    input  wire logic                  s_rsp_tlast,
    input  wire logic                  s_rsp_tvalid,
    output logic                       s_rsp_tready,
    // Engine answers (one header beat)
    input  wire logic                  bad_valid,
    input  wire logic [DATA_WIDTH-1:0] bad_hdr,
    output logic                       bad_ready,

    output logic                  m_axi_awvalid,
    input  wire logic                  m_axi_awready,
    output logic [ADDR_WIDTH-1:0] m_axi_awaddr,
    output logic [           7:0] m_axi_awlen,
    output logic                  m_axi_wvalid,
    input  wire logic                  m_axi_wready,
    output logic [DATA_WIDTH-1:0] m_axi_wdata,
    output logic                  m_axi_wlast,
    input  wire logic                  m_axi_bvalid,
    output logic                  m_axi_bready,
    input  wire logic [           1:0] m_axi_bresp
);
  localparam int MAX_MSG = 1 + (SLOT_BYTES + 63) / 64;
  initial begin
    if (DATA_WIDTH != 512) $fatal(1, "sess_ring_writer: DATA_WIDTH must be 512 (one 64-byte slot per beat)");
    if (ADDR_WIDTH < 32 || ADDR_WIDTH > 64) $fatal(1, "sess_ring_writer: ADDR_WIDTH must be 32..64");
    if (BURST_BEATS < 1 || BURST_BEATS > 16 || (BURST_BEATS & (BURST_BEATS - 1)) != 0)
      $fatal(1, "sess_ring_writer: BURST_BEATS must be a power of two, 1..16");
    if ((1 << FIFO_LOG2) < MAX_MSG) $fatal(1, "sess_ring_writer: the FIFO must hold the longest response");
    if (MAX_MSG > 16) $fatal(1, "sess_ring_writer: SLOT_BYTES too large for a 16-slot ring");
    if (BATCH < 1 || BATCH > 255) $fatal(1, "sess_ring_writer: BATCH must be 1..255");
  end

  localparam int BL2 = $clog2(BURST_BEATS);
  localparam int H_BLOB_LEN = sessnic_wire_pkg::HEADER_BLOB_LEN_LSB;

  // ---- merge: whole messages, the card's first once one has started ---------------------
  logic mid_reg;  // inside a card message
  logic fifo_full;
  wire take_bad = !mid_reg && bad_valid;
  wire in_valid = take_bad ? 1'b1 : s_rsp_tvalid;
  wire [DATA_WIDTH-1:0] in_data = take_bad ? bad_hdr : s_rsp_tdata;
  wire in_last = take_bad ? 1'b1 : s_rsp_tlast;
  wire push = in_valid && !fifo_full;
  assign bad_ready = take_bad && !fifo_full;
  assign s_rsp_tready = !take_bad && !fifo_full;

  // A beat carries the slots of the message it would head (header + blob beats),
  // computed on the way in so the write FSM compares flip-flops.
  logic [DATA_WIDTH+5-1:0] f_word;
  logic [DATA_WIDTH-1:0] f_data;
  logic f_valid, f_last;
  logic pop;
  wire [15:0] in_blob_len = in_data[H_BLOB_LEN+:16];
  wire [4:0] in_msg_beats = 5'd1 + 5'((17'(in_blob_len) + 17'd63) >> 6);
  sess_axis_fifo #(
      .WIDTH(DATA_WIDTH + 5),
      .DEPTH_LOG2(FIFO_LOG2)
  ) wfifo (
      .clk(clk),
      .rst(rst),
      .s_valid(in_valid),
      .s_data({in_msg_beats, in_data}),
      .s_last(in_last),
      .s_full(fifo_full),
      .m_tdata(f_word),
      .m_tlast(f_last),
      .m_tvalid(f_valid),
      .m_tready(pop)
  );

  // Complete messages buffered (a message is written only once all of it is here).
  logic [FIFO_LOG2+1:0] msgs_reg;
  logic msg_done;  // the writer popped a message's last beat

  // ---- write FSM --------------------------------------------------------------------------
  typedef enum logic [2:0] {
    W_IDLE,
    W_AW,
    W_DATA,
    W_ST_AW,
    W_ST_W,
    W_ST_B
  } wstate_e;
  wstate_e st_reg;
  assign f_data = f_word[DATA_WIDTH-1:0];
  // size_log2 is configuration: mask and size are registered.
  logic [31:0] mask, size;
  always_ff @(posedge clk) begin
    mask <= (32'd1 << size_log2) - 32'd1;
    size <= 32'd1 << size_log2;
  end
  logic [31:0] tail_wr_reg;  // slots written (B may be outstanding)
  logic [31:0] slot_reg;  // next slot of the current message
  logic [4:0] left_reg;  // beats of the current message still to write
  logic [BL2:0] burst_reg;  // beats of the current burst still to write
  logic [7:0] batch_reg;  // messages written since the last status write
  logic [31:0] pub_head_reg, pub_tail_reg, pub_bad_reg, pub_resets_reg;  // as in the status block
  logic [7:0] pub_err_reg, st_err_reg;
  logic [31:0] st_head_reg, st_tail_reg, st_bad_reg, st_resets_reg;  // being written
  logic [15:0] irq_cnt_reg;  // messages published since the last interrupt
  logic [5:0] bout_reg;  // B responses outstanding
  logic awvalid_reg, irq_reg;
  logic [ADDR_WIDTH-1:0] awaddr_reg;
  logic [7:0] awlen_reg;

  wire [4:0] msg_beats = f_word[DATA_WIDTH+:5];
  // Free response slots, registered from the tail as it will be after this cycle and the
  // host's rsp_head as it is (a cycle late, it only grows: never more room than there is).
  logic [31:0] room_reg;
  wire msg_ready = msgs_reg != '0 && f_valid && 32'(msg_beats) <= room_reg;
  wire dirty = pub_head_reg != cmd_head || pub_tail_reg != tail_wr_reg || pub_err_reg != error_code ||
               pub_bad_reg != bad_descs || pub_resets_reg != resets;
  wire [BL2:0] to_boundary = (BL2 + 1)'(BURST_BEATS) - {1'b0, slot_reg[BL2-1:0]};
  wire [BL2:0] burst = ({1'b0, left_reg} < 6'(to_boundary)) ? (BL2 + 1)'(left_reg) : to_boundary;
  wire aw_done = m_axi_awvalid && m_axi_awready;
  wire w_beat = m_axi_wvalid && m_axi_wready;
  wire b_beat = m_axi_bvalid && m_axi_bready;

  wire discard = st_reg == W_IDLE && drop && f_valid;
  assign pop = (st_reg == W_DATA && w_beat) || discard;
  assign msg_done = (st_reg == W_DATA && w_beat && left_reg == 5'd1) || (discard && f_last);
  assign m_axi_awvalid = awvalid_reg;
  assign m_axi_awaddr = awaddr_reg;
  assign m_axi_awlen = awlen_reg;
  assign m_axi_wvalid = (st_reg == W_DATA && f_valid) || st_reg == W_ST_W;
  // The ring_status beat: cmd_head [31:0], rsp_tail [63:32], error [71:64], bad_descs
  // [127:96], resets [159:128].
  assign m_axi_wdata = st_reg == W_ST_W ?
      {352'd0, st_resets_reg, st_bad_reg, 24'd0, st_err_reg, st_tail_reg, st_head_reg} : f_data;
  assign m_axi_wlast = st_reg == W_ST_W || burst_reg == (BL2 + 1)'(1);
  assign m_axi_bready = 1'b1;
  assign write_error = b_beat && m_axi_bresp[1];

  wire [31:0] published = st_tail_reg - pub_tail_reg;  // slots newly published
  wire [15:0] irq_cnt = irq_cnt_reg + 16'(batch_reg);
  wire [15:0] coalesce = irq_coalesce == 8'd0 ? 16'd1 : 16'(irq_coalesce);

  always_ff @(posedge clk) begin
    irq_reg <= 1'b0;
    if (aw_done) awvalid_reg <= 1'b0;
    case (st_reg)
      W_IDLE: begin
        if (st_run && dirty && (batch_reg >= 8'(BATCH) || !run || !msg_ready)) begin
          st_reg <= W_ST_AW;
        end else if (run && msg_ready) begin
          slot_reg <= tail_wr_reg;
          left_reg <= msg_beats;
          st_reg <= W_AW;
        end
      end
      W_AW: begin
        // The previous burst's address must have been taken first.
        if (!awvalid_reg || aw_done) begin
          awvalid_reg <= 1'b1;
          awaddr_reg <= {base[ADDR_WIDTH-1:12], 12'd0} + ({{(ADDR_WIDTH - 32) {1'b0}}, slot_reg & mask} << 6);
          awlen_reg <= 8'(burst) - 8'd1;
          burst_reg <= burst;
          st_reg <= W_DATA;
        end
      end
      W_DATA: begin
        if (w_beat) begin
          slot_reg <= slot_reg + 32'd1;
          left_reg <= left_reg - 5'd1;
          burst_reg <= burst_reg - 1'b1;
          if (left_reg == 5'd1) begin
            tail_wr_reg <= slot_reg + 32'd1;
            batch_reg <= batch_reg + 8'd1;
            st_reg <= W_IDLE;
          end else if (burst_reg == (BL2 + 1)'(1)) begin
            st_reg <= W_AW;
          end
        end
      end
      W_ST_AW: begin
        // Every response slot acknowledged before the block that publishes it.
        if (bout_reg == '0 && !awvalid_reg) begin
          st_head_reg <= cmd_head;
          st_tail_reg <= tail_wr_reg;
          st_err_reg <= error_code;
          st_bad_reg <= bad_descs;
          st_resets_reg <= resets;
          awvalid_reg <= 1'b1;
          awaddr_reg <= {status_base[ADDR_WIDTH-1:6], 6'd0};
          awlen_reg <= 8'd0;
          st_reg <= W_ST_W;
        end
      end
      W_ST_W: begin
        if (w_beat) st_reg <= W_ST_B;
      end
      default: begin  // W_ST_B
        if (bout_reg == '0 && !awvalid_reg) begin
          pub_head_reg <= st_head_reg;
          pub_tail_reg <= st_tail_reg;
          pub_err_reg <= st_err_reg;
          pub_bad_reg <= st_bad_reg;
          pub_resets_reg <= st_resets_reg;
          batch_reg <= '0;
          st_reg <= W_IDLE;
          if (published != 32'd0) begin
            if (irq_enable && (irq_cnt >= coalesce || msgs_reg == '0)) begin
              irq_reg <= 1'b1;
              irq_cnt_reg <= '0;
            end else if (irq_enable) begin
              irq_cnt_reg <= irq_cnt;
            end
          end
        end
      end
    endcase
    msgs_reg <= msgs_reg + (FIFO_LOG2 + 2)'(push && in_last) - (FIFO_LOG2 + 2)'(msg_done);
    room_reg <= size - (((st_reg == W_DATA && w_beat && left_reg == 5'd1) ? slot_reg + 32'd1 : tail_wr_reg) - rsp_head);
    bout_reg <= bout_reg + 6'(aw_done) - 6'(b_beat);
    if (push) mid_reg <= !take_bad && !in_last;
    if (rst) begin
      st_reg <= W_IDLE;
      mid_reg <= 1'b0;
      msgs_reg <= '0;
      room_reg <= '0;
      tail_wr_reg <= '0;
      slot_reg <= '0;
      left_reg <= '0;
      burst_reg <= '0;
      batch_reg <= '0;
      pub_head_reg <= '0;
      pub_tail_reg <= '0;
      pub_err_reg <= '0;
      pub_bad_reg <= '0;
      pub_resets_reg <= '0;
      st_bad_reg <= '0;
      st_resets_reg <= '0;
      st_head_reg <= '0;
      st_tail_reg <= '0;
      st_err_reg <= '0;
      irq_cnt_reg <= '0;
      bout_reg <= '0;
      awvalid_reg <= 1'b0;
      awaddr_reg <= '0;
      awlen_reg <= '0;
      irq_reg <= 1'b0;
    end
  end

  assign rsp_tail = pub_tail_reg;
  assign rsp_written = tail_wr_reg;
  assign irq = irq_reg;
  assign busy = st_reg != W_IDLE || bout_reg != '0 || awvalid_reg;
  assign pending = msgs_reg != '0 || dirty;
  assign holding = msgs_reg != '0 || f_valid;
  assign pub_resets = pub_resets_reg;

  logic unused_ok;
  assign unused_ok = &{1'b0, m_axi_bresp[0], status_base[5:0], base[11:0]};
endmodule
`resetall
