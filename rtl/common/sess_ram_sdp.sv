// Simple dual-port RAM: one write port, one synchronous read port, one clock.
// Written in the plain form Vivado and Yosys (memory_libmap) both infer as block RAM
// (or UltraRAM with RAM_STYLE="ultra"). Read-during-write to the same address returns
// the OLD contents; sess_table relies on that and re-reads after a same-set write.
`resetall
`default_nettype none
module sess_ram_sdp #(
    parameter int WIDTH = 64,
    parameter int ADDR_BITS = 6,
    // Only read by synthesis (the ram_style attribute), which Verilator ignores.
    /* verilator lint_off UNUSEDPARAM */
    parameter RAM_STYLE = "block"
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire logic                 clk,
    input  wire logic                 wr_en,
    input  wire logic [ADDR_BITS-1:0] wr_addr,
    input  wire logic [WIDTH-1:0]     wr_data,
    input  wire logic                 rd_en,
    input  wire logic [ADDR_BITS-1:0] rd_addr,
    output logic      [WIDTH-1:0]     rd_data
);
  initial begin
    if (WIDTH < 1) $fatal(1, "sess_ram_sdp: WIDTH must be >= 1");
    if (ADDR_BITS < 1 || ADDR_BITS > 20) $fatal(1, "sess_ram_sdp: ADDR_BITS must be 1..20");
  end

  (* ram_style = RAM_STYLE *) logic [WIDTH-1:0] mem[1 << ADDR_BITS];

  always_ff @(posedge clk) begin
    if (wr_en) mem[wr_addr] <= wr_data;
    if (rd_en) rd_data <= mem[rd_addr];
  end
endmodule
`resetall
