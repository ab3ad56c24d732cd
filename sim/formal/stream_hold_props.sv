// The handshake rule of one valid/ready channel that the DUT drives (AXI4-Stream, or an
// AXI4 AW/W channel): once valid is high while ready is low, on the next cycle valid is
// still high and the payload is unchanged. Instantiated by the FORMAL wrappers of
// sim/formal/ on each of their DUT's output channels.
module stream_hold_props #(
    parameter int W = 8
) (
    input logic         clk,
    input logic         rst,
    input logic         check,  // the wrapper has seen a reset (the DUT's state is defined)
    input logic         valid,
    input logic         ready,
    input logic [W-1:0] payload
);
  logic [W-1:0] held;
  logic stalled = 1'b0;
  always_ff @(posedge clk) begin
    held <= payload;
    stalled <= !rst && valid && !ready;
  end
  always_comb begin
    if (check && !rst && stalled) begin
      assert (valid);
      assert (payload == held);
    end
  end
endmodule
