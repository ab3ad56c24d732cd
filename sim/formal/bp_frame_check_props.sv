// FORMAL wrapper of rtl/backplane_sync/bp_frame_check.sv (unchanged): the passed-frame
// stream keeps the AXI4-Stream rule (valid held until ready, data and last stable while
// stalled); nothing comes out that did not come in (beats passed <= beats taken, frames
// passed <= frames taken); one verdict per frame taken, never more. Bounded (sat -seq).
module bp_frame_check_props #(
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
  logic s_frame_tready, m_frame_tlast, m_frame_tvalid, verdict_valid;
  logic [511:0] m_frame_tdata;
  logic [2:0] verdict;
  logic [31:0] rx_frames, rx_bad_version, rx_bad_len, rx_bad_crc, rx_not_mine;
  bp_frame_check #(.CARDS(CARDS), .SLOT_BYTES(SLOT_BYTES)) dut (.*);
  // crc_any feeds the abstracted CRC (run_formal.sh FORMAL_PROBES), unused here otherwise
  wire unused_crc_any = ^crc_any;

  logic started = 1'b0;
  logic [5:0] beats_in, beats_out, frames_in, frames_out, verdicts;
  always_ff @(posedge clk) begin
    if (rst) begin
      started <= 1'b1;
      {beats_in, beats_out, frames_in, frames_out, verdicts} <= '0;
    end else begin
      beats_in <= beats_in + 6'(s_frame_tvalid && s_frame_tready);
      beats_out <= beats_out + 6'(m_frame_tvalid && m_frame_tready);
      frames_in <= frames_in + 6'(s_frame_tvalid && s_frame_tready && s_frame_tlast);
      frames_out <= frames_out + 6'(m_frame_tvalid && m_frame_tready && m_frame_tlast);
      verdicts <= verdicts + 6'(verdict_valid);
    end
  end

  stream_hold_props #(.W(513)) out_hold (
      .clk, .rst, .check(started), .valid(m_frame_tvalid), .ready(m_frame_tready),
      .payload({m_frame_tlast, m_frame_tdata}));

  always_comb begin
    if (started && !rst) begin
      assert (beats_out <= beats_in);
      assert (frames_out <= frames_in);
      assert (verdicts <= frames_in);
      if (m_frame_tvalid) assert (beats_out < beats_in);
    end
  end
endmodule
