// Vitis HLS top for the whole card (synthesis and C-simulation). Free-running
// (ap_ctrl_none): every call is one CardTop::step, or an expiry-sweep step when idle.
#include "card_top_top.hpp"

namespace sessnic {

void sessnic_card(hls::stream<AxisBeat>& host_cmd, hls::stream<AxisBeat>& host_rsp, hls::stream<AxisBeat>& frame_in,
                  hls::stream<AxisBeat>& frame_out, hls::stream<uint64_t>& now_in, const CardRegisters& regs,
                  uint32_t configure_gen, uint64_t bp_stats[wire::BP_STATS_COUNT]) {
#pragma HLS TOP name = sessnic_card
#pragma HLS INTERFACE mode = axis port = host_cmd
#pragma HLS INTERFACE mode = axis port = host_rsp
#pragma HLS INTERFACE mode = axis port = frame_in
#pragma HLS INTERFACE mode = axis port = frame_out
#pragma HLS INTERFACE mode = axis port = now_in
#pragma HLS INTERFACE mode = s_axilite port = regs
#pragma HLS INTERFACE mode = s_axilite port = configure_gen
#pragma HLS INTERFACE mode = s_axilite port = bp_stats
#pragma HLS INTERFACE mode = ap_ctrl_none port = return
  // As the table and sync tops: state in on-chip memory, applied from registers (a
  // static's initial value is the bitstream's, never an argument).
  static HwCard card;
  // The same memory layout as the standalone tops (session_table_top.cpp,
  // backplane_sync_top.cpp): without it the card's table would read a blob beat as eight
  // words from one 2-port memory and miss II=1 (docs/table-kernel.md, loop by loop).
#pragma HLS ARRAY_PARTITION variable = card.table_.meta_ dim = 2 type = complete
#pragma HLS ARRAY_RESHAPE variable = card.table_.blob_ dim = 3 type = cyclic factor = 8
#pragma HLS BIND_STORAGE variable = card.table_.blob_ type = ram_2p impl = uram
#pragma HLS ARRAY_PARTITION variable = card.sync_.rx_map_ dim = 2 type = complete
#pragma HLS BIND_STORAGE variable = card.sync_.frames_ type = ram_2p impl = bram
#pragma HLS AGGREGATE variable = card.sync_.frames_ compact = bit
  static uint32_t configure_seen = 0;
  static uint64_t now = 0;
  uint64_t t;
  if (now_in.read_nb(t)) now = t;
  if (configure_gen != configure_seen) {
    configure_seen = configure_gen;
    card.configure(regs);
  }
  HwCard::Ports io{host_cmd, host_rsp, frame_in, frame_out};
  if (!card.step(now, io)) card.sweep_step();
stats:
  for (unsigned i = 0; i < wire::BP_STATS_COUNT; ++i) bp_stats[i] = card.bp_counter(i);
}

}  // namespace sessnic
