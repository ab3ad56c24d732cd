// Small synchronous AXI4-Stream FIFO with registered outputs: m_tdata/m_tlast/m_tvalid
// come straight from flip-flops (an output register in front of the LUT-RAM storage), and
// s_full is a flip-flop (computed from the next pointers), so a producer can decide to push without a
// combinational path from the consumer's tready, and the consumer sees no RAM read delay.
// Holds 2^DEPTH_LOG2 beats in the RAM plus one in the output register. A beat pushed into
// an empty FIFO goes straight to the output register: it is visible the next cycle.
`resetall
`default_nettype none
module sess_axis_fifo #(
    parameter int WIDTH = 512,
    parameter int DEPTH_LOG2 = 2
) (
    input  wire logic             clk,
    input  wire logic             rst,
    input  wire logic             s_valid,  // push (ignored while s_full)
    input  wire logic [WIDTH-1:0] s_data,
    input  wire logic             s_last,
    output logic                  s_full,
    output logic      [WIDTH-1:0] m_tdata,
    output logic                  m_tlast,
    output logic                  m_tvalid,
    input  wire logic             m_tready
);
  initial begin
    if (WIDTH < 1) $fatal(1, "sess_axis_fifo: WIDTH must be >= 1");
    if (DEPTH_LOG2 < 1 || DEPTH_LOG2 > 10) $fatal(1, "sess_axis_fifo: DEPTH_LOG2 must be 1..10");
  end

  localparam int DEPTH = 1 << DEPTH_LOG2;

  logic [WIDTH:0] mem[DEPTH];
  logic [DEPTH_LOG2:0] wr_ptr_reg, rd_ptr_reg;
  logic [WIDTH-1:0] out_data_reg;
  logic out_last_reg, out_valid_reg;

  wire push = s_valid && !s_full;
  wire mem_empty = wr_ptr_reg == rd_ptr_reg;
  wire out_free = !out_valid_reg || m_tready;  // the output register takes a beat now
  wire direct = push && mem_empty && out_free;  // bypass the RAM when it is empty
  wire load = !mem_empty && out_free;

  logic full_reg;
  logic [DEPTH_LOG2:0] wr_ptr_next, rd_ptr_next;
  assign wr_ptr_next = (push && !direct) ? wr_ptr_reg + 1'b1 : wr_ptr_reg;
  assign rd_ptr_next = load ? rd_ptr_reg + 1'b1 : rd_ptr_reg;
  // The RAM is full next cycle when the output register stalls (so nothing is loaded from
  // the RAM) and it is full now or one short with a beat pushed now. Written so the
  // consumer's m_tready enters only the last gate: the full compare of the next pointers
  // put m_tready three LUT levels deep, behind any tready logic of the consumer.
  wire almost_full = (wr_ptr_reg - rd_ptr_reg) == (DEPTH_LOG2 + 1)'(DEPTH - 1);
  wire full_next = out_valid_reg && !m_tready && (full_reg || (s_valid && almost_full));
  assign s_full = full_reg;
  assign m_tvalid = out_valid_reg;
  assign m_tdata = out_data_reg;
  assign m_tlast = out_last_reg;

  always_ff @(posedge clk) begin
    if (push && !direct) mem[wr_ptr_reg[DEPTH_LOG2-1:0]] <= {s_last, s_data};
    // (direct || load) selects by mem_empty alone: one shared select per data bit.
    if (direct || load) {out_last_reg, out_data_reg} <= mem_empty ? {s_last, s_data} : mem[rd_ptr_reg[DEPTH_LOG2-1:0]];
    if (rst) begin
      wr_ptr_reg <= '0;
      rd_ptr_reg <= '0;
      out_valid_reg <= 1'b0;
      full_reg <= 1'b0;
    end else begin
      wr_ptr_reg <= wr_ptr_next;
      rd_ptr_reg <= rd_ptr_next;
      full_reg <= full_next;
      if (direct || load) out_valid_reg <= 1'b1;
      else if (m_tready) out_valid_reg <= 1'b0;
    end
  end
endmodule
`resetall
