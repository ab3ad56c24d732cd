// Vitis HLS top for the session-ID table (synthesis and C-simulation).
// Free-running (ap_ctrl_none): every call either runs one command or, when the
// command stream is idle, one step of the background expiry sweep.
#include "session_table_top.hpp"

namespace sessnic {

void session_table(hls::stream<Beat>& cmd, hls::stream<Beat>& rsp, uint8_t card_id) {
#pragma HLS INTERFACE mode = axis port = cmd
#pragma HLS INTERFACE mode = axis port = rsp
#pragma HLS INTERFACE mode = s_axilite port = card_id
#pragma HLS INTERFACE mode = ap_ctrl_none port = return
  // Card state lives in on-chip memory: metadata partitioned by way so every way's
  // tag is compared in the same cycle; blob slots in URAM. A static takes its initial
  // value at compile time (the bitstream: empty table), never from an argument, so
  // the card id register is applied on every call instead of at construction.
  static HwTable table;
#pragma HLS ARRAY_PARTITION variable = table.meta_ dim = 2 type = complete
#pragma HLS BIND_STORAGE variable = table.blob_ type = ram_2p impl = uram
  table.set_card(card_id);
  if (!table.step(cmd, rsp)) table.sweep_step();
}

}  // namespace sessnic
