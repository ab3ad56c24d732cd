// Card-level geometry and the HLS top-level entry point of the session table.
#pragma once
#include "session_table.hpp"

namespace sessnic {

// On-card geometry: 4096 sets x 4 ways = 16,384 sessions (5 MB of URAM on a U250/U280).
// The model device uses the larger ModelTable; behaviour is identical.
#ifndef SESSNIC_HW_SETS_LOG2
#define SESSNIC_HW_SETS_LOG2 12
#endif
using HwTable = SessionTable<SESSNIC_HW_SETS_LOG2, 4>;

void session_table(hls::stream<Beat>& cmd, hls::stream<Beat>& rsp, uint8_t card_id);

}  // namespace sessnic
