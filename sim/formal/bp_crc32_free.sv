// Formal abstraction of rtl/backplane_sync/bp_crc32.sv: the same ports, an output that
// may take any value in every cycle. Its value is a free input of the wrapper
// (bp_frame_check_props.crc_any), connected by run_formal.sh after flattening
// (FORMAL_PROBES "dut.crc_i.any_crc=crc_any"): a free input is a defined value each
// cycle, where a $anyseq cell reads as undefined (X) under `sat -set-init-undef`.
// A wrapper that proves its properties with this module in place of the CRC proves them
// for every CRC, the real one included; the CRC itself is proven equal to the HLS CRC
// separately (formal_crc32_equiv). It spares the SAT solver the CRC's 32 XOR trees over
// 544 inputs in every step.
module bp_crc32 #(
    parameter logic [31:0] POLY = 32'hEDB88320,
    parameter int DATA_W = 512
) (
    input  logic [      31:0] crc_in,
    input  logic [DATA_W-1:0] data,
    output logic [      31:0] crc_out
);
  logic [31:0] any_crc;  // driven from outside after flattening (see above)
  assign crc_out = any_crc;
endmodule
