// Small synchronous AXI4-Stream FIFO. The output side (tdata/tlast/tvalid) comes
// straight from registers, and s_full is registered, so a producer can decide to push
// without a combinational path from the consumer's tready.
module sess_axis_fifo #(
    parameter int WIDTH = 512,
    parameter int DEPTH_LOG2 = 2
) (
    input  logic             clk,
    input  logic             rst,
    input  logic             s_valid,  // push (ignored while s_full)
    input  logic [WIDTH-1:0] s_data,
    input  logic             s_last,
    output logic             s_full,
    output logic [WIDTH-1:0] m_tdata,
    output logic             m_tlast,
    output logic             m_tvalid,
    input  logic             m_tready
);
  localparam int DEPTH = 1 << DEPTH_LOG2;

  logic [WIDTH:0] mem[DEPTH];
  logic [DEPTH_LOG2:0] wr_ptr_reg, rd_ptr_reg;

  wire push = s_valid && !s_full;
  wire pop = m_tvalid && m_tready;

  assign s_full = (wr_ptr_reg[DEPTH_LOG2-1:0] == rd_ptr_reg[DEPTH_LOG2-1:0]) &&
                  (wr_ptr_reg[DEPTH_LOG2] != rd_ptr_reg[DEPTH_LOG2]);
  assign m_tvalid = wr_ptr_reg != rd_ptr_reg;
  assign {m_tlast, m_tdata} = mem[rd_ptr_reg[DEPTH_LOG2-1:0]];

  always_ff @(posedge clk) begin
    if (push) mem[wr_ptr_reg[DEPTH_LOG2-1:0]] <= {s_last, s_data};
    if (rst) begin
      wr_ptr_reg <= '0;
      rd_ptr_reg <= '0;
    end else begin
      if (push) wr_ptr_reg <= wr_ptr_reg + 1'b1;
      if (pop) rd_ptr_reg <= rd_ptr_reg + 1'b1;
    end
  end
endmodule
