// FORMAL wrapper of rtl/backplane_sync/bp_frame_check.sv (unchanged) for a proof by
// temporal induction (run_formal.sh FORMAL_MODE=prove), the unbounded counterpart of
// bp_frame_check_props.sv's bounded check. Its properties need no counters that wrap
// (an induction starts from any state, where "passed <= taken" of 6-bit counters fails):
//   * the passed-frame stream keeps the AXI4-Stream rule (valid held until ready, data
//     and last stable while stalled);
//   * no verdict without a frame: a verdict only while a frame taken has none yet;
//   * no output without an input: a beat is offered only while a frame that passed its
//     checks (verdict OK) has not finished passing, and one such frame at a time.
// The induction invariant ties the two wrapper bits to the DUT's pipeline registers,
// reached through probe_* wires (FORMAL_PROBES, connected after flattening).
module bp_frame_check_ind_props #(
    parameter int CARDS = 4,
    parameter int SLOT_BYTES = 64
) (
    input logic             clk,
    input logic             rst,
    input logic [7:0]       card_id,
    input logic [CARDS-1:0] peers,
    input logic [511:0]     s_frame_tdata,
    input logic             s_frame_tlast,
    input logic             s_frame_tvalid,
    input logic             m_frame_tready,
    input logic [31:0]      crc_any  // the abstracted CRC's value (bp_crc32_free.sv)
);
  localparam int MAX_BEATS = 2 + SLOT_BYTES / 64;
  localparam int IDX_BITS = $clog2(MAX_BEATS + 1);
  logic s_frame_tready, m_frame_tlast, m_frame_tvalid, verdict_valid;
  logic [511:0] m_frame_tdata;
  logic [2:0] verdict;
  logic [31:0] rx_frames, rx_bad_version, rx_bad_len, rx_bad_crc, rx_not_mine;
  bp_frame_check #(.CARDS(CARDS), .SLOT_BYTES(SLOT_BYTES)) dut (.*);
  wire unused_crc_any = ^crc_any;

  logic started = 1'b0;
  logic fin = 1'b0;      // a frame was taken whole and has no verdict yet
  logic pass_ok = 1'b0;  // a frame with verdict OK has not finished passing
  wire take_last = s_frame_tvalid && s_frame_tready && s_frame_tlast;
  wire pass_last = m_frame_tvalid && m_frame_tready && m_frame_tlast;
  wire ok_verdict = verdict_valid && verdict == 3'd0;
  always_ff @(posedge clk) begin
    if (rst) begin
      started <= 1'b1;
      fin <= 1'b0;
      pass_ok <= 1'b0;
    end else begin
      fin <= take_last ? 1'b1 : (verdict_valid ? 1'b0 : fin);
      pass_ok <= ok_verdict ? 1'b1 : (pass_last ? 1'b0 : pass_ok);
    end
  end

  stream_hold_props #(.W(513)) out_hold (
      .clk, .rst, .check(started), .valid(m_frame_tvalid), .ready(m_frame_tready),
      .payload({m_frame_tlast, m_frame_tdata}));

  // The DUT's pipeline, for the induction invariant only (connected by run_formal.sh).
  logic probe_in_valid, probe_in_last, probe_chk_valid, probe_chk_len, probe_sending;
  logic [IDX_BITS-1:0] probe_rd_idx, probe_send_len;
  logic [16:0] probe_in_beats;
  wire in_tail = probe_in_valid && probe_in_last;

  always_comb begin
    if (started && !rst) begin
      assert (!verdict_valid || fin);
      assert (!m_frame_tvalid || pass_ok);
      assert (!(ok_verdict && pass_ok));
      // induction invariant: a frame's tail is in exactly one stage from its last beat
      // to its verdict; sending is the OK frame from its verdict to its last beat out
      assert (32'(in_tail) + 32'(probe_chk_valid) + 32'(verdict_valid) <= 1);
      assert (fin == (in_tail || probe_chk_valid || verdict_valid));
      if (probe_chk_valid || verdict_valid) assert (!probe_in_valid);
      // a frame whose length passed has 1..MAX_BEATS beats (the send length)
      if (probe_chk_valid && !probe_chk_len) assert (probe_in_beats != '0 && probe_in_beats <= 17'(MAX_BEATS));
      assert (probe_sending == (pass_ok || ok_verdict));
      if (probe_sending) begin
        assert (!probe_in_valid && !probe_chk_valid);
        assert (probe_send_len != '0 && probe_send_len <= IDX_BITS'(MAX_BEATS) && probe_rd_idx <= probe_send_len);
        if (!m_frame_tvalid) assert (probe_rd_idx == '0);
      end
      if (m_frame_tvalid) assert (probe_sending && m_frame_tlast == (probe_rd_idx == probe_send_len));
    end
  end
endmodule
