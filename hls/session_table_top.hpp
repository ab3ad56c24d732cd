// Card-level geometry and the HLS top-level entry point of the session table.
#pragma once
#include "axis_beat.hpp"
#include "session_table.hpp"

namespace sessnic {

// On-card geometry: 4096 sets x 4 ways = 16,384 sessions (5 MB of URAM on a U250/U280).
// The model device uses the larger ModelTable; behaviour is identical.
#ifndef SESSNIC_HW_SETS_LOG2
#define SESSNIC_HW_SETS_LOG2 12
#endif
using HwTable = SessionTable<SESSNIC_HW_SETS_LOG2, 4>;

// cmd / rsp: AXI4-Stream, 512-bit TDATA + TLAST (spec/wire.toml `header` + blob beats).
// card_id, reset_gen: AXI4-Lite registers. Writing reset_gen a value other than the last
// one seen empties the table and zeroes clock and counters (as at power-on).
void session_table(hls::stream<AxisBeat>& cmd, hls::stream<AxisBeat>& rsp, uint8_t card_id, uint32_t reset_gen);

}  // namespace sessnic
