// AXI4-Stream register slice (a skid buffer, as verilog-axis's axis_register with
// REG_TYPE=2): cuts every combinational path through it in both directions at full
// throughput. m_tdata/m_tlast/m_tvalid and s_tready come straight from flip-flops, so
// neither the producer's tvalid/tdata logic nor the consumer's tready logic adds to the
// other side's paths. Costs one cycle of latency and two beats of flip-flops (the output
// register and the skid register that catches the beat accepted while the consumer
// stalls).
`resetall
`default_nettype none
module sess_axis_register #(
    parameter int WIDTH = 512
) (
    input  wire logic             clk,
    input  wire logic             rst,
    input  wire logic [WIDTH-1:0] s_tdata,
    input  wire logic             s_tlast,
    input  wire logic             s_tvalid,
    output logic                  s_tready,
    output logic      [WIDTH-1:0] m_tdata,
    output logic                  m_tlast,
    output logic                  m_tvalid,
    input  wire logic             m_tready
);
  initial begin
    if (WIDTH < 1) $fatal(1, "sess_axis_register: WIDTH must be >= 1");
  end

  logic s_ready_reg, m_valid_reg, t_valid_reg;
  logic [WIDTH-1:0] m_data_reg, t_data_reg;
  logic m_last_reg, t_last_reg;

  // Ready next cycle when the consumer takes a beat now, or when the skid register is
  // empty and will stay so (nothing is accepted now that the output cannot hold).
  wire s_ready_early = m_tready || (!t_valid_reg && (!m_valid_reg || !s_tvalid));

  always_ff @(posedge clk) begin
    s_ready_reg <= s_ready_early;
    if (s_ready_reg) begin
      if (m_tready || !m_valid_reg) begin  // the output register is free: input to output
        m_valid_reg <= s_tvalid;
        m_data_reg <= s_tdata;
        m_last_reg <= s_tlast;
      end else begin  // the output stalls: the beat accepted now waits in the skid register
        t_valid_reg <= s_tvalid;
        t_data_reg <= s_tdata;
        t_last_reg <= s_tlast;
      end
    end else if (m_tready) begin  // input held off: the skid register moves to the output
      m_valid_reg <= t_valid_reg;
      m_data_reg <= t_data_reg;
      m_last_reg <= t_last_reg;
      t_valid_reg <= 1'b0;
    end
    if (rst) begin
      s_ready_reg <= 1'b0;
      m_valid_reg <= 1'b0;
      t_valid_reg <= 1'b0;
    end
  end

  assign s_tready = s_ready_reg;
  assign m_tvalid = m_valid_reg;
  assign m_tdata = m_data_reg;
  assign m_tlast = m_last_reg;
endmodule
`resetall
