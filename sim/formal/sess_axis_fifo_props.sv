// FORMAL wrapper of rtl/common/sess_axis_fifo.sv: instantiates the FIFO unchanged and
// checks its ports against a reference occupancy counter. Proven by temporal induction
// (run_formal.sh, FORMAL_MODE=prove): the induction invariant ties the counter to the
// FIFO's pointers, which the probe_* wires reach (FORMAL_PROBES, connected after flatten).
module sess_axis_fifo_props #(
    parameter int WIDTH = 8,
    parameter int DEPTH_LOG2 = 2
) (
    input logic             clk,
    input logic             rst,
    input logic             s_valid,
    input logic [WIDTH-1:0] s_data,
    input logic             s_last,
    input logic             m_tready
);
  localparam int DEPTH = 1 << DEPTH_LOG2;
  // The RAM holds DEPTH beats and the registered output one more.
  localparam int CAPACITY = DEPTH + 1;
  logic s_full, m_tlast, m_tvalid;
  logic [WIDTH-1:0] m_tdata;
  sess_axis_fifo #(.WIDTH(WIDTH), .DEPTH_LOG2(DEPTH_LOG2)) dut (.*);

  // What went in minus what came out.
  logic [DEPTH_LOG2+1:0] count = '0;
  logic started = 1'b0;  // a reset has been seen
  always_ff @(posedge clk) begin
    if (rst) begin
      count <= '0;
      started <= 1'b1;
    end else count <= count + (s_valid && !s_full) - (m_tvalid && m_tready);
  end

  // The FIFO's state, for the induction invariant only (connected by run_formal.sh).
  logic [DEPTH_LOG2:0] probe_wr_ptr, probe_rd_ptr;
  logic probe_out_valid;
  wire [DEPTH_LOG2:0] stored = probe_wr_ptr - probe_rd_ptr;  // beats in the RAM

  logic [WIDTH-1:0] last_data;
  logic last_tlast, last_stalled = 1'b0;
  always_ff @(posedge clk) begin
    last_data <= m_tdata;
    last_tlast <= m_tlast;
    last_stalled <= !rst && m_tvalid && !m_tready;
  end

  always_comb begin
    if (started && !rst) begin
      // FIFO occupancy: never above its capacity; full and valid exactly as the count says.
      assert (count <= CAPACITY);
      assert (s_full == (count == CAPACITY));
      // No output without an input: valid only while something is stored.
      assert (m_tvalid == (count != 0));
      // Valid held until ready, data stable while stalled.
      if (last_stalled) assert (m_tvalid && m_tdata == last_data && m_tlast == last_tlast);
      // Induction invariant: the counter is the RAM's beats plus the output register's.
      assert (stored <= DEPTH);
      assert (count == stored + probe_out_valid);
      assert (probe_out_valid == m_tvalid);
    end
  end
endmodule
