// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) of one DATA_W-bit beat per cycle:
// the backplane frame check of spec/wire.toml (`frame.crc`), bit-exact with
// hls/backplane_crc32.hpp (bytes little-endian, each byte LSB first). Purely
// combinational; the caller registers the running value between beats.
//
// A CRC step is linear over GF(2): every output bit is the XOR of a fixed subset of the
// 32 state bits and the DATA_W data bits. That subset (one row of the matrix) is computed
// from the polynomial at elaboration by running the bit-serial LFSR symbolically, as
// verilog-ethernet's lfsr.v does, so the hardware is 32 XOR trees (about 270 inputs each:
// 4 LUT6 levels) instead of DATA_W chained shift steps.
`resetall
`default_nettype none
module bp_crc32 #(
    parameter logic [31:0] POLY = 32'hEDB88320,  // reflected (LSB-first) polynomial
    parameter int DATA_W = 512
) (
    input  wire logic [    31:0] crc_in,   // running value (0xFFFFFFFF before the first beat)
    input  wire logic [DATA_W-1:0] data,
    output logic      [    31:0] crc_out   // running value after the beat (final = ~crc_out)
);
  localparam int IN_W = 32 + DATA_W;  // matrix columns: {data, crc_in}

  initial begin
    if (DATA_W < 8 || DATA_W % 8 != 0) $fatal(1, "bp_crc32: DATA_W must be a positive multiple of 8");
    if (POLY[31] != 1'b1) $fatal(1, "bp_crc32: POLY must be reflected with its x^0 term in bit 31");
  end

  // Row j (bits [j*IN_W +: IN_W]) says which of {data, crc_in} feed output bit j.
  function automatic logic [32*IN_W-1:0] crc_matrix(input logic [31:0] poly);
    // symbolic state: bit i of the register (at [i*IN_W +: IN_W]) as a set of inputs;
    // one flat vector, as Yosys 0.23 has no arrays in constant functions
    logic [32*IN_W-1:0] st;
    logic [IN_W-1:0] fb;
    for (int i = 0; i < 32; i++) begin
      st[i*IN_W+:IN_W] = '0;
      st[i*IN_W+i] = 1'b1;
    end
    for (int d = 0; d < DATA_W; d++) begin
      fb = st[0+:IN_W];
      fb[32+d] = ~fb[32+d];  // feedback = state[0] ^ data[d]
      for (int i = 0; i < 31; i++) st[i*IN_W+:IN_W] = st[(i+1)*IN_W+:IN_W] ^ (poly[i] ? fb : '0);
      st[31*IN_W+:IN_W] = poly[31] ? fb : '0;
    end
    crc_matrix = st;
  endfunction

  localparam logic [32*IN_W-1:0] MATRIX = crc_matrix(POLY);

  wire [IN_W-1:0] in_bits = {data, crc_in};
  for (genvar j = 0; j < 32; j++) begin : g_bit
    assign crc_out[j] = ^(in_bits & MATRIX[j*IN_W+:IN_W]);
  end
endmodule
`resetall
