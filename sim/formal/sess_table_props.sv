// FORMAL wrapper of rtl/sess_table/sess_table.sv (unchanged, smallest geometry): the
// response stream keeps the AXI4-Stream rule (valid held until ready, data and last
// stable while stalled) and never answers without a command: every response frame
// ends after the command it answers was taken whole, so at any time the finished
// responses are at most the finished commands, and a response beat is only offered
// while a command is unanswered. Bounded (run_formal.sh, sat -seq): the table's state
// (RAMs, hash pipeline) is too large for an induction invariant here.
module sess_table_props #(
    parameter int SETS_LOG2 = 1,
    parameter int WAYS = 1,
    parameter int SLOT_BYTES = 64
) (
    input logic         clk,
    input logic         rst,
    input logic [7:0]   card_id,
    input logic         sweep_enable,
    input logic [511:0] s_cmd_tdata,
    input logic         s_cmd_tlast,
    input logic         s_cmd_tvalid,
    input logic         m_rsp_tready
);
  logic s_cmd_tready, m_rsp_tlast, m_rsp_tvalid, flushing;
  logic [511:0] m_rsp_tdata;
  logic [1023:0] stats_flat;
  sess_table #(.SETS_LOG2(SETS_LOG2), .WAYS(WAYS), .SLOT_BYTES(SLOT_BYTES)) dut (.*);

  logic started = 1'b0;
  logic [5:0] cmds, rsps;  // frames finished since the reset
  always_ff @(posedge clk) begin
    if (rst) begin
      started <= 1'b1;
      cmds <= '0;
      rsps <= '0;
    end else begin
      cmds <= cmds + 6'(s_cmd_tvalid && s_cmd_tready && s_cmd_tlast);
      rsps <= rsps + 6'(m_rsp_tvalid && m_rsp_tready && m_rsp_tlast);
    end
  end

  stream_hold_props #(.W(513)) rsp_hold (
      .clk, .rst, .check(started), .valid(m_rsp_tvalid), .ready(m_rsp_tready),
      .payload({m_rsp_tlast, m_rsp_tdata}));

  always_comb begin
    if (started && !rst) begin
      assert (rsps <= cmds);
      if (m_rsp_tvalid) assert (rsps < cmds);
    end
  end
endmodule
