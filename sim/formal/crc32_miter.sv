// Miter of rtl/backplane_sync/bp_crc32.sv and hls_crc32_ref (generated from the HLS CRC by
// crc_ref_gen.cpp): diff is nonzero wherever the two differ (run_crc_equiv.sh).
module crc32_miter (input logic [31:0] crc_in, input logic [511:0] data, output logic [31:0] diff);
  logic [31:0] rtl, ref_;
  bp_crc32 dut (.crc_in(crc_in), .data(data), .crc_out(rtl));
  hls_crc32_ref kernel (.crc_in(crc_in), .data(data), .crc_out(ref_));
  assign diff = rtl ^ ref_;
endmodule
