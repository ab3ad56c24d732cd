// Vitis HLS top for the backplane sync engine (synthesis and C-simulation).
// Free-running (ap_ctrl_none): every call does one unit of work and checks one
// retransmit timer. `reconfigure` (pulsed by the host after writing the config
// registers) restarts the engine with a new epoch.
#include "backplane_sync_top.hpp"

namespace sessnic {

void backplane_sync(hls::stream<AxisBeat>& cmd_in, hls::stream<AxisBeat>& rsp_out, hls::stream<AxisBeat>& tbl_cmd,
                    hls::stream<AxisBeat>& tbl_rsp, hls::stream<AxisBeat>& frame_in, hls::stream<AxisBeat>& frame_out,
                    hls::stream<uint64_t>& now_in, const BackplaneConfig& cfg, bool reconfigure) {
#pragma HLS TOP name = backplane_sync
#pragma HLS INTERFACE mode = axis port = cmd_in
#pragma HLS INTERFACE mode = axis port = rsp_out
#pragma HLS INTERFACE mode = axis port = tbl_cmd
#pragma HLS INTERFACE mode = axis port = tbl_rsp
#pragma HLS INTERFACE mode = axis port = frame_in
#pragma HLS INTERFACE mode = axis port = frame_out
#pragma HLS INTERFACE mode = axis port = now_in
#pragma HLS INTERFACE mode = s_axilite port = cfg
#pragma HLS INTERFACE mode = s_axilite port = reconfigure
#pragma HLS INTERFACE mode = ap_ctrl_none port = return
  static HwBackplane engine;
#pragma HLS ARRAY_PARTITION variable = engine.rx_map_ dim = 2 type = complete
#pragma HLS BIND_STORAGE variable = engine.frames_ type = ram_2p impl = bram
#pragma HLS AGGREGATE variable = engine.frames_ compact = bit
  static uint64_t now = 0;
  uint64_t t;
  if (now_in.read_nb(t)) now = t;  // the newest tick; none waiting: time stands still
  if (reconfigure) engine.configure(cfg);
  HwBackplane::Io io{cmd_in, rsp_out, tbl_cmd, tbl_rsp, frame_in, frame_out};
  engine.step(now, io);
}

}  // namespace sessnic
