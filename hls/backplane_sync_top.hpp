// Card-level geometry and the HLS top-level entry point of the backplane sync engine.
#pragma once
#include "backplane_sync.hpp"

namespace sessnic {

// On-card: card ids 0..15, 64 frames in flight (64 x 6 beats of BRAM).
#ifndef SESSNIC_HW_BP_CARDS
#define SESSNIC_HW_BP_CARDS 16
#endif
#ifndef SESSNIC_HW_BP_RTX
#define SESSNIC_HW_BP_RTX 64
#endif
using HwBackplane = BackplaneSync<SESSNIC_HW_BP_CARDS, SESSNIC_HW_BP_RTX>;

void backplane_sync(hls::stream<Beat>& cmd_in, hls::stream<Beat>& rsp_out, hls::stream<Beat>& tbl_cmd,
                    hls::stream<Beat>& tbl_rsp, hls::stream<Beat>& frame_in, hls::stream<Beat>& frame_out,
                    const BackplaneConfig& cfg, bool reconfigure, uint64_t now);

}  // namespace sessnic
