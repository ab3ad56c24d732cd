// Card-level geometry and the Vitis HLS top-level entry point of the whole card
// (hls/card_top.hpp: table + backplane sync + card rules).
#pragma once
#include "axis_beat.hpp"
#include "card_top.hpp"

namespace sessnic {

// On-card: the table kernel's geometry (2^14 sets x 4 ways), card ids 0..15, 64 frames
// in flight, 32 host requests waiting on the backplane.
#ifndef SESSNIC_HW_CARD_SETS_LOG2
#define SESSNIC_HW_CARD_SETS_LOG2 14
#endif
using HwCard = CardTop<SESSNIC_HW_CARD_SETS_LOG2, 4, 16, 64, 32, wire::SLOT_BYTES, AxisBeat>;

// host_cmd/host_rsp/frame_in/frame_out: AXI4-Stream (512-bit TDATA + TLAST). now_in: the
// card's free-running tick counter as a stream (as backplane_sync's). regs /
// configure_gen: AXI4-Lite; a new configure_gen applies the registers once (a restart
// with a new epoch). bp_stats: the counters (spec/wire.toml [bp_stats]) read back.
void sessnic_card(hls::stream<AxisBeat>& host_cmd, hls::stream<AxisBeat>& host_rsp, hls::stream<AxisBeat>& frame_in,
                  hls::stream<AxisBeat>& frame_out, hls::stream<uint64_t>& now_in, const CardRegisters& regs,
                  uint32_t configure_gen, uint64_t bp_stats[wire::BP_STATS_COUNT]);

}  // namespace sessnic
