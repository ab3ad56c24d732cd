// Card-level geometry and the HLS top-level entry point of the backplane sync engine.
#pragma once
#include "axis_beat.hpp"
#include "backplane_sync.hpp"

namespace sessnic {

// On-card: card ids 0..15, 64 frames in flight (64 x 6 beats of BRAM).
#ifndef SESSNIC_HW_BP_CARDS
#define SESSNIC_HW_BP_CARDS 16
#endif
#ifndef SESSNIC_HW_BP_RTX
#define SESSNIC_HW_BP_RTX 64
#endif
using HwBackplane = BackplaneSync<SESSNIC_HW_BP_CARDS, SESSNIC_HW_BP_RTX, wire::SLOT_BYTES, AxisBeat>;

// Every Beat port is AXI4-Stream (512-bit TDATA + TLAST). `now_in` is the card's
// free-running cycle counter as a stream, written by the shell whenever the stream has
// room (connect it through a FIFO of depth 1): each call takes the value waiting, if any,
// so time has a handshake instead of being an unqualified ap_none wire and lags the
// counter by at most one call. cfg / reconfigure are AXI4-Lite.
void backplane_sync(hls::stream<AxisBeat>& cmd_in, hls::stream<AxisBeat>& rsp_out, hls::stream<AxisBeat>& tbl_cmd,
                    hls::stream<AxisBeat>& tbl_rsp, hls::stream<AxisBeat>& frame_in, hls::stream<AxisBeat>& frame_out,
                    hls::stream<uint64_t>& now_in, const BackplaneConfig& cfg, bool reconfigure);

}  // namespace sessnic
