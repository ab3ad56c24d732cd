// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) of one 512-bit beat per cycle:
// the backplane frame check of spec/wire.toml (`frame.crc`), bit-exact with
// hls/backplane_crc32.hpp (bytes little-endian, each byte LSB first). Purely
// combinational; the caller registers the running value between beats.
module bp_crc32 (
    input  logic [ 31:0] crc_in,   // running value (0xFFFFFFFF before the first beat)
    input  logic [511:0] data,
    output logic [ 31:0] crc_out   // running value after the beat (final = ~crc_out)
);
  localparam logic [31:0] POLY = 32'hEDB88320;

  always_comb begin
    crc_out = crc_in;
    for (int i = 0; i < 512; i++) crc_out = (crc_out >> 1) ^ ((crc_out[0] ^ data[i]) ? POLY : 32'h0);
  end
endmodule
