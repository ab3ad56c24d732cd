// FORMAL wrapper of rtl/common/sess_axis_register.sv (the skid buffer): instantiates it
// unchanged, numbers the beats that go in (tdata = the input's beat count, tlast = its
// low bit) and checks that they come out in order, none lost or repeated, that at most
// two are held, that the output holds while stalled and that tvalid says exactly whether
// a beat is held. Proven by 2-valued temporal induction (run_formal.sh, FORMAL_MODE=prove2);
// the invariant names the slice's registers through the probe_* wires (FORMAL_PROBES).
module sess_axis_register_props #(
    parameter int WIDTH = 8
) (
    input logic clk,
    input logic rst,
    input logic s_tvalid,
    input logic m_tready
);
  logic [WIDTH-1:0] in_seq = '0, out_seq = '0;
  logic [1:0] count = '0;  // beats accepted minus beats delivered
  logic started = 1'b0;  // a reset has been seen
  logic s_tready, m_tlast, m_tvalid;
  logic [WIDTH-1:0] m_tdata;
  sess_axis_register #(.WIDTH(WIDTH)) dut (
      .clk(clk),
      .rst(rst),
      .s_tdata(in_seq),
      .s_tlast(in_seq[0]),
      .s_tvalid(s_tvalid),
      .s_tready(s_tready),
      .m_tdata(m_tdata),
      .m_tlast(m_tlast),
      .m_tvalid(m_tvalid),
      .m_tready(m_tready)
  );
  wire in_beat = s_tvalid && s_tready;
  wire out_beat = m_tvalid && m_tready;
  always_ff @(posedge clk) begin
    if (rst) begin
      in_seq <= '0;
      out_seq <= '0;
      count <= '0;
      started <= 1'b1;
    end else begin
      in_seq <= in_seq + WIDTH'(in_beat);
      out_seq <= out_seq + WIDTH'(out_beat);
      count <= count + 2'(in_beat) - 2'(out_beat);
    end
  end
  stream_hold_props #(.W(WIDTH + 1)) hold_m (
      .clk(clk), .rst(rst), .check(started), .valid(m_tvalid), .ready(m_tready), .payload({m_tlast, m_tdata}));
  // The slice's registers, for the induction invariant only (connected by run_formal.sh).
  logic probe_m_valid, probe_t_valid, probe_s_ready;
  logic [WIDTH-1:0] probe_m_data, probe_t_data;
  always_comb begin
    if (started && !rst) begin
      assert (count <= 2'd2);
      assert (m_tvalid == (count != 2'd0));
      // In order, none lost or repeated: the beat shown is the next one not yet delivered.
      if (m_tvalid) assert (m_tdata == out_seq && m_tlast == out_seq[0]);
      assert (in_seq - out_seq == WIDTH'(count));
      // Induction invariant: the held beats are the output and the skid register.
      assert (probe_m_valid == m_tvalid);
      assert (WIDTH'(count) == WIDTH'(probe_m_valid) + WIDTH'(probe_t_valid));
      if (probe_t_valid) assert (probe_m_valid && probe_t_data == out_seq + WIDTH'(1) && !probe_s_ready);
      if (probe_m_valid) assert (probe_m_data == out_seq);
    end
  end
endmodule
