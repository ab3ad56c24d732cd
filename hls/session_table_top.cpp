// Vitis HLS top for the session-ID table (synthesis and C-simulation).
// Free-running (ap_ctrl_none): every call either runs one command or, when the
// command stream is idle, one step of the background expiry sweep.
#include "session_table_top.hpp"

namespace sessnic {

void session_table(hls::stream<AxisBeat>& cmd, hls::stream<AxisBeat>& rsp, uint8_t card_id, uint32_t reset_gen) {
#pragma HLS TOP name = session_table
#pragma HLS INTERFACE mode = axis port = cmd
#pragma HLS INTERFACE mode = axis port = rsp
#pragma HLS INTERFACE mode = s_axilite port = card_id
#pragma HLS INTERFACE mode = s_axilite port = reset_gen
#pragma HLS INTERFACE mode = ap_ctrl_none port = return
  // Card state lives in on-chip memory: metadata partitioned by way so every way's
  // tag is compared in the same cycle; blob slots in URAM, reshaped to one 512-bit beat
  // per word so a blob beat is one read or write. A static takes its initial value at
  // compile time (the bitstream: empty table), never from an argument, so the card id
  // register is applied on every call instead of at construction.
  static HwTable table;
#pragma HLS ARRAY_PARTITION variable = table.meta_ dim = 2 type = complete
#pragma HLS ARRAY_RESHAPE variable = table.blob_ dim = 3 type = cyclic factor = 8
#pragma HLS BIND_STORAGE variable = table.blob_ type = ram_2p impl = uram
  // The reset path: ap_rst_n does not clear block/Ultra RAM contents, so a host reset
  // is a register write; a generation number (not a level) so it acts exactly once.
  static uint32_t reset_seen = 0;
  table.set_card(card_id);
  if (reset_gen != reset_seen) {
    reset_seen = reset_gen;
    table.reset(card_id);
    return;
  }
  if (!table.step(cmd, rsp)) table.sweep_step();
}

}  // namespace sessnic
