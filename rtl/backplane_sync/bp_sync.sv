// Backplane sequence layer: the RTL subset of hls/backplane_sync.hpp (docs/rtl.md,
// "Backplane engine"). Frames are bit-compatible with the kernel (spec/wire.toml
// `frame`); what is implemented:
//   * HELLO: broadcast every HELLO_CYCLES (status 1 while a member's epoch is unknown),
//     a unicast reply when asked or when the sender has this card's epoch wrong.
//   * Epochs: learned from every frame; a larger epoch resets that peer's sequence
//     state (a transfer in flight to it answers FAILED); older epochs and frames meant
//     for another epoch of this card are dropped (the latter answered with a HELLO).
//   * Reliable frames: per-peer tx seq from 1, ONE retransmit slot (one reliable frame
//     in flight over all peers), resent every RTO_CYCLES, given up after MAX_RETRIES
//     (then `una` steps the receiver over it). Receive window of one: only seq ==
//     next expected is applied; lower seqs are duplicates (re-acked; a TRANSFER is
//     re-applied to answer its outcome again), higher ones are dropped (the sender
//     resends). Cumulative ack only: `sack` is always sent zero and ignored on input.
//   * TRANSFER from the host (a `header` beat, op TRANSFER, sync_cmd.dest = card):
//     EXPORT from the table, TRANSFER frame, finished by the outcome ACK (req = seq) ->
//     one result beat to the host (OK / MISS / EXPIRED / FAILED / BAD_CMD), as the
//     kernel's host_result() builds it.
//   * Receive: UPDATE / TRANSFER applied as PUT with the entry's version, DELETE as DEL;
//     ACK after the table answered (NACK if an UPDATE/DELETE was not applied; the
//     TRANSFER ACK carries the outcome).
//   * Replicate: the key of every stored host PUT (ev_*) is exported and sent as UPDATE
//     to every member whose epoch is known, one peer after the other.
// Not implemented (answered or counted, never hanging): TRANSFER_REQ / TRANSFER_RESULT /
// PULL / PULL_RESP / DIGEST are acked and ignored (rx_unhandled); relayed TRANSFER
// (sync_cmd.owner another card) answers FAILED; DEL replication, hub mode, peer-joined
// notices, RTT estimation and sack are absent.
`resetall
`default_nettype none
module bp_sync #(
    parameter int CARDS = 32,
    parameter int SLOT_BYTES = 256,
    parameter int EVQ_LOG2 = 4
) (
    input wire logic clk,
    input wire logic rst,

    input wire logic [      7:0] card_id,
    input wire logic [CARDS-1:0] peers,
    input wire logic             enable,
    input wire logic [      1:0] mode,
    // configuration registers (sessnic_top resolves 0 = synthesis default)
    input wire logic [     31:0] epoch,         // this card's epoch (nonzero while enabled)
    input wire logic [      7:0] hub_card,      // mode hub: where local writes go
    input wire logic [     31:0] rto_cycles,    // >= 1
    input wire logic [      7:0] max_retries,
    input wire logic [     31:0] hello_cycles,  // >= 1
    input wire logic [     31:0] now,           // card clock (the table's, seconds): TRANSFER deadlines

    // Host TRANSFER commands (header beats; extra beats are drained, answered BAD_CMD)
    input  wire logic [511:0] s_host_tdata,
    input  wire logic         s_host_tlast,
    input  wire logic         s_host_tvalid,
    output logic         s_host_tready,
    // Results towards the host: one beat (TLAST) per TRANSFER
    output logic [511:0] m_res_tdata,
    output logic         m_res_tvalid,
    input  wire logic         m_res_tready,

    // Card-rule events: host response headers (pushed; dropped and counted if full, which
    // sessnic_top prevents by holding host commands back while ev_room is short)
    input wire logic [511:0] ev_tdata,
    input wire logic         ev_valid,
    output logic [EVQ_LOG2:0] ev_room,

    // Local table: commands out, responses in (one response per command, in order)
    output logic [511:0] m_tbl_tdata,
    output logic         m_tbl_tlast,
    output logic         m_tbl_tvalid,
    input  wire logic         m_tbl_tready,
    input  wire logic [511:0] s_tbl_tdata,
    input  wire logic         s_tbl_tlast,
    input  wire logic         s_tbl_tvalid,
    output logic         s_tbl_tready,

    // Frames that passed bp_frame_check / frames to the link
    input  wire logic [511:0] s_rx_tdata,
    input  wire logic         s_rx_tlast,
    input  wire logic         s_rx_tvalid,
    output logic         s_rx_tready,
    output logic [511:0] m_tx_tdata,
    output logic         m_tx_tlast,
    output logic         m_tx_tvalid,
    input  wire logic         m_tx_tready,

    output logic [31:0] cnt_tx_frames,
    output logic [31:0] cnt_retransmits,
    output logic [31:0] cnt_giveups,
    output logic [31:0] cnt_applied,
    output logic [31:0] cnt_apply_failed,
    output logic [31:0] cnt_transfers_ok,
    output logic [31:0] cnt_transfers_failed,
    output logic [31:0] cnt_rx_dup,
    output logic [31:0] cnt_rx_window,
    output logic [31:0] cnt_rx_stale_epoch,
    output logic [31:0] cnt_not_sent,
    output logic [31:0] cnt_rx_unhandled,
    output logic [31:0] cnt_deletes_sent,
    output logic [31:0] cnt_peer_joins,
    output logic [31:0] cnt_rx_busy
);
  initial begin
    if (CARDS < 2 || CARDS > 255) $fatal(1, "bp_sync: CARDS must be 2..255");
    if (SLOT_BYTES < 64 || SLOT_BYTES % 64 != 0) $fatal(1, "bp_sync: SLOT_BYTES must be whole 64-byte beats");
    if (EVQ_LOG2 < 1 || EVQ_LOG2 > 8) $fatal(1, "bp_sync: EVQ_LOG2 must be 1..8");
  end

  // ---- wire constants (package-qualified: Yosys 0.23 has no `import`) ----------------
  localparam int F_FVER = sessnic_wire_pkg::FRAME_FVER_LSB;
  localparam int F_FTYPE = sessnic_wire_pkg::FRAME_FTYPE_LSB;
  localparam int F_SRC = sessnic_wire_pkg::FRAME_SRC_LSB;
  localparam int F_DST = sessnic_wire_pkg::FRAME_DST_LSB;
  localparam int F_EPOCH = sessnic_wire_pkg::FRAME_EPOCH_LSB;
  localparam int F_SEQ = sessnic_wire_pkg::FRAME_SEQ_LSB;
  localparam int F_ACK = sessnic_wire_pkg::FRAME_ACK_LSB;
  localparam int F_DST_EPOCH = sessnic_wire_pkg::FRAME_DST_EPOCH_LSB;
  localparam int F_PAYLOAD_LEN = sessnic_wire_pkg::FRAME_PAYLOAD_LEN_LSB;
  localparam int F_STATUS = sessnic_wire_pkg::FRAME_STATUS_LSB;
  localparam int F_REQ = sessnic_wire_pkg::FRAME_REQ_LSB;
  localparam int F_CRC = sessnic_wire_pkg::FRAME_CRC_LSB;
  localparam int F_UNA = sessnic_wire_pkg::FRAME_UNA_LSB;
  localparam int F_SACK = sessnic_wire_pkg::FRAME_SACK_LSB;
  localparam int H_OP = sessnic_wire_pkg::HEADER_OP_LSB;
  localparam int H_STATUS = sessnic_wire_pkg::HEADER_STATUS_LSB;
  localparam int H_KEY_LEN = sessnic_wire_pkg::HEADER_KEY_LEN_LSB;
  localparam int H_FLAGS = sessnic_wire_pkg::HEADER_FLAGS_LSB;
  localparam int H_TAG = sessnic_wire_pkg::HEADER_TAG_LSB;
  localparam int H_VERSION = sessnic_wire_pkg::HEADER_VERSION_LSB;
  localparam int H_EXPIRY = sessnic_wire_pkg::HEADER_EXPIRY_LSB;
  localparam int H_BLOB_LEN = sessnic_wire_pkg::HEADER_BLOB_LEN_LSB;
  localparam int H_AUX = sessnic_wire_pkg::HEADER_AUX_LSB;
  localparam int C_DEST = sessnic_wire_pkg::SYNC_CMD_DEST_LSB;
  localparam int C_OWNER = sessnic_wire_pkg::SYNC_CMD_OWNER_LSB;
  localparam logic [7:0] FRAME_VERSION = 8'(sessnic_wire_pkg::BP_CONST_FRAME_VERSION);
  localparam logic [7:0] BROADCAST = 8'(sessnic_wire_pkg::BP_CONST_BROADCAST);
  localparam logic [7:0] T_HELLO = 8'(sessnic_wire_pkg::FRAME_TYPE_HELLO);
  localparam logic [7:0] T_ACK = 8'(sessnic_wire_pkg::FRAME_TYPE_ACK);
  localparam logic [7:0] T_NACK = 8'(sessnic_wire_pkg::FRAME_TYPE_NACK);
  localparam logic [7:0] T_UPDATE = 8'(sessnic_wire_pkg::FRAME_TYPE_UPDATE);
  localparam logic [7:0] T_DELETE = 8'(sessnic_wire_pkg::FRAME_TYPE_DELETE);
  localparam logic [7:0] T_TRANSFER = 8'(sessnic_wire_pkg::FRAME_TYPE_TRANSFER);
  localparam logic [7:0] T_TRANSFER_REQ = 8'(sessnic_wire_pkg::FRAME_TYPE_TRANSFER_REQ);
  localparam logic [7:0] T_TRANSFER_RESULT = 8'(sessnic_wire_pkg::FRAME_TYPE_TRANSFER_RESULT);
  localparam int F_ARG = sessnic_wire_pkg::FRAME_ARG_LSB;
  localparam logic [7:0] OP_PUT = 8'(sessnic_wire_pkg::OPCODE_PUT);
  localparam logic [7:0] OP_DEL = 8'(sessnic_wire_pkg::OPCODE_DEL);
  localparam logic [7:0] OP_EXPORT = 8'(sessnic_wire_pkg::OPCODE_EXPORT);
  localparam logic [7:0] OP_TRANSFER = 8'(sessnic_wire_pkg::OPCODE_TRANSFER);
  localparam logic [7:0] ST_OK = 8'(sessnic_wire_pkg::STATUS_OK);
  localparam logic [7:0] ST_MISS = 8'(sessnic_wire_pkg::STATUS_MISS);
  localparam logic [7:0] ST_EVICTED = 8'(sessnic_wire_pkg::STATUS_EVICTED);
  localparam logic [7:0] ST_BAD_CMD = 8'(sessnic_wire_pkg::STATUS_BAD_CMD);
  localparam logic [7:0] ST_STALE = 8'(sessnic_wire_pkg::STATUS_STALE);
  localparam logic [7:0] ST_FAILED = 8'(sessnic_wire_pkg::STATUS_FAILED);
  localparam logic [1:0] MODE_REPLICATE = 2'(sessnic_wire_pkg::BP_MODE_REPLICATE);
  localparam logic [1:0] MODE_TRANSFER = 2'(sessnic_wire_pkg::BP_MODE_TRANSFER);
  localparam logic [1:0] MODE_HUB = 2'(sessnic_wire_pkg::BP_MODE_HUB);
  localparam logic [7:0] OP_GET = 8'(sessnic_wire_pkg::OPCODE_GET);
  localparam logic [7:0] OP_TAKE = 8'(sessnic_wire_pkg::OPCODE_TAKE);
  localparam logic [7:0] FL_TOMBSTONE = 8'(sessnic_wire_pkg::FLAGS_TOMBSTONE);
  localparam logic [7:0] FL_SINGLE_USE = 8'(sessnic_wire_pkg::FLAGS_SINGLE_USE);

  localparam int SLOT_BEATS = SLOT_BYTES / 64;
  localparam int MAX_BEATS = 2 + SLOT_BEATS;  // header + entry + blob
  localparam int IDX_W = $clog2(MAX_BEATS + 1);
  localparam int CW = $clog2(CARDS);
  localparam int EVQ = 1 << EVQ_LOG2;

  // ---- state ----------------------------------------------------------------------
  typedef enum logic [4:0] {
    S_IDLE,
    S_RX,         // collecting a frame into rxbuf
    S_RX_LOOK,    // the received header and its peer's state into registers
    S_RX_CMP,     // compares of the received fields against that state
    S_RX_DO,      // decide on the frame (flags), write peer state, describe the answer
    S_HOST,       // draining a host command's extra beats
    S_TBL_SEND,   // table command beats out
    S_TBL_WAIT,   // table response in
    S_AFTER_TBL,  // act on the table's answer
    S_STAMP,      // per-transmission header fields into tx_hdr_reg
    S_TX_CRC,     // CRC over the frame to send
    S_TX_SEND,    // frame beats out
    S_RES_BUILD,  // the result beat into res_reg from the registered outcome
    S_RESULT,     // host result beat out
    S_NEXT_PEER,  // fan-out: send the entry to the next destination
    S_EV_DEST     // a card-rule event: its destinations and frame
  } state_t;
  typedef enum logic [2:0] {
    P_NONE,
    P_APPLY,       // UPDATE / DELETE from a peer
    P_APPLY_XFER,  // TRANSFER from a peer
    P_EXPORT_XFER, // host TRANSFER
    P_EXPORT_REPL  // replicate a local PUT
  } pend_t;

  state_t state_reg;
  pend_t pend_reg;
  logic [511:0] rxbuf[MAX_BEATS];
  logic [511:0] txbuf[MAX_BEATS];  // the retransmit slot's frame (beat 0 unused: tx_hdr)
  logic [IDX_W-1:0] idx_reg, tx_n_reg;
  logic rx_over_reg;

  // per peer
  logic [31:0] peer_epoch[CARDS];
  logic [31:0] tx_next[CARDS];
  logic [31:0] rx_base[CARDS];

  // the retransmit slot
  logic slot_valid_reg, slot_outcome_reg;
  logic [7:0] slot_peer_reg;
  logic [31:0] slot_seq_reg, slot_req_reg;
  logic [511:0] slot_hdr_reg;  // frame header without the per-transmission fields
  logic [IDX_W-1:0] slot_n_reg;
  logic [7:0] slot_retries_reg;
  // Retransmit timing (the kernel's rto_of / rtt_sample): a free-running cycle count, the
  // slot's last transmission, and per peer a Jacobson/Karels RTT estimate (srtt x8,
  // rttvar x4) with an exponential backoff (Karn: only never-resent frames are sampled).
  logic [31:0] cyc_reg, slot_sent_reg, slot_deadline_reg, host_deadline_reg;
  logic slot_first_reg, slot_timeout_reg, deadline_hit_reg;
  logic [1:0] slot_hold_reg;
  logic [31:0] srtt[CARDS];
  logic [31:0] rttvar[CARDS];
  logic [2:0] backoff[CARDS];
  logic [31:0] est_reg, slot_rto_reg, elapsed_reg, rtt_m_reg;
  logic [2:0] bo_reg;
  logic rtt_go_reg;
  logic [CW-1:0] rtt_peer_reg;
  logic [CARDS-1:0] peer_up_reg;  // down after max retries, up again when heard
  // Relayed TRANSFER: the host TRANSFER waiting for the owner's TRANSFER_RESULT (one at a
  // time; later host TRANSFERs wait), and who asked for the transfer this card runs.
  logic relay_valid_reg, relay_kill_reg, relay_deadline_hit_reg, host_relay_reg, res_relay_reg;
  logic [511:0] relay_hdr_reg;
  logic [7:0] relay_owner_reg, xfer_origin_reg, slot_origin_reg, res_origin_reg;
  logic [31:0] relay_deadline_reg;
  logic [CARDS-1:0] bcast_todo_reg;  // fan-out: peers still to send the entry to
  logic [CARDS-1:0] ev_dest_reg;     // the current event's destinations (card rules)
  logic [7:0] fan_type_reg;          // UPDATE or DELETE
  logic [511:0] ev_hdr_reg;          // the event being handled (a host response header)

  // frame being transmitted
  logic [511:0] tx_hdr_reg;
  logic [31:0] crc_reg;
  state_t tx_ret_reg;

  // table command
  logic [511:0] tbl_hdr_reg;
  logic [IDX_W-1:0] tbl_n_reg;  // blob beats after the header
  logic [7:0] tbl_st_reg;
  logic [31:0] tbl_tag_reg;

  // apply context
  logic [7:0] ap_src_reg;
  logic [31:0] ap_seq_reg;

  // host transfer
  logic [511:0] res_reg;
  // the outcome the deciding state chose; S_RES_BUILD makes the beat from it, so the
  // 512-bit result multiplexer is not behind those states' decisions
  logic res_entry_reg;  // 1: from the entry beat txbuf[1], 0: from res_reg (host header)
  logic [31:0] res_tag_reg;
  logic [7:0] res_st_reg, res_dest_reg;
  logic [31:0] host_tag_reg;
  logic [7:0] host_dest_reg;
  logic host_bad_reg;

  logic [31:0] hello_timer_reg;

  // replicate event queue (key headers)
  logic [511:0] evq[EVQ];
  logic [EVQ_LOG2:0] evq_wr_reg, evq_rd_reg;
  wire evq_empty = evq_wr_reg == evq_rd_reg;
  wire evq_full = (evq_wr_reg - evq_rd_reg) == (EVQ_LOG2 + 1)'(EVQ);
  logic [EVQ_LOG2:0] ev_room_reg;
  assign ev_room = ev_room_reg;
  always_ff @(posedge clk) ev_room_reg <= (EVQ_LOG2 + 1)'(EVQ) - (evq_wr_reg - evq_rd_reg);

  logic [31:0] c_tx_reg, c_rtx_reg, c_giveup_reg, c_applied_reg, c_apfail_reg, c_xok_reg, c_xfail_reg;
  logic [31:0] c_dup_reg, c_window_reg, c_stale_reg, c_notsent_reg, c_unhandled_reg, c_delsent_reg;
  assign cnt_deletes_sent = c_delsent_reg;
  logic [31:0] c_joins_reg, c_busy_reg;
  assign cnt_rx_busy = c_busy_reg;
  assign cnt_peer_joins = c_joins_reg;
  assign cnt_tx_frames = c_tx_reg;
  assign cnt_retransmits = c_rtx_reg;
  assign cnt_giveups = c_giveup_reg;
  assign cnt_applied = c_applied_reg;
  assign cnt_apply_failed = c_apfail_reg;
  assign cnt_transfers_ok = c_xok_reg;
  assign cnt_transfers_failed = c_xfail_reg;
  assign cnt_rx_dup = c_dup_reg;
  assign cnt_rx_window = c_window_reg;
  assign cnt_rx_stale_epoch = c_stale_reg;
  assign cnt_not_sent = c_notsent_reg;
  assign cnt_rx_unhandled = c_unhandled_reg;

  // ---- helpers ------------------------------------------------------------------------
  // The kernel's rto_of(): base << backoff, at most rto << 6.
  function automatic logic [31:0] rto_clamp(input logic [31:0] base, input logic [2:0] bo, input logic [31:0] floor_rto);
    logic [38:0] r, cap;
    r = {7'h0, base} << bo;
    cap = {7'h0, floor_rto} << 6;
    rto_clamp = r > cap ? cap[31:0] : r[31:0];
  endfunction
  function automatic logic [31:0] abs_diff(input logic [31:0] a, input logic [31:0] b);
    abs_diff = a > b ? a - b : b - a;
  endfunction
  function automatic logic [IDX_W-1:0] beats_of(input logic [15:0] len);
    beats_of = IDX_W'((17'(len) + 17'd63) >> 6);
  endfunction

  // member with a known epoch (the kernel's up_ without the down state)
  function automatic logic known(input logic [7:0] p, input logic [CARDS-1:0] pe_known);
    known = 1'b0;
    for (int i = 0; i < CARDS; i++) if (p == 8'(i)) known = pe_known[i];
  endfunction

  logic [CARDS-1:0] member, epoch_known;
  always_comb begin
    for (int i = 0; i < CARDS; i++) begin
      member[i] = peers[i] && 8'(i) != card_id;
      // live: epoch known and not declared down (the kernel's up_)
      epoch_known[i] = member[i] && peer_epoch[i] != 32'h0 && peer_up_reg[i];
    end
  end
  wire any_unknown = (member & ~epoch_known) != '0;

  // The received frame's header fields.
  // The header of the frame in rxbuf; fver, crc and sack were checked (bp_frame_check)
  // or are not part of the subset (sack), so some bits are not read here.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [511:0] rh_reg;  // rxbuf[0], registered in S_RX_LOOK
  wire [511:0] rh = rh_reg;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [7:0] rx_type = rh[F_FTYPE+:8];
  wire [7:0] rx_src = rh[F_SRC+:8];
  wire [7:0] rx_dst = rh[F_DST+:8];
  wire [31:0] rx_epoch = rh[F_EPOCH+:32];
  wire [31:0] rx_dst_epoch = rh[F_DST_EPOCH+:32];
  wire [31:0] rx_seq = rh[F_SEQ+:32];
  wire [31:0] rx_ack = rh[F_ACK+:32];
  wire [31:0] rx_una = rh[F_UNA+:32];
  wire [31:0] rx_req = rh[F_REQ+:32];
  wire [7:0] rx_status = rh[F_STATUS+:8];
  wire [15:0] rx_plen = rh[F_PAYLOAD_LEN+:16];
  wire [511:0] rx_entry = rxbuf[1];
  wire [CW-1:0] rs = rx_src[CW-1:0];
  // S_RX_LOOK: the sender's state; S_RX_CMP: the compares S_RX_DO decides on
  logic [31:0] pe_src_reg, rxb_src_reg, txn_src_reg, una_src_reg, seq1_reg;
  logic f_stale_reg, f_restart_reg, f_learn_reg, f_hello_reply_reg, f_dst_epoch_bad_reg, f_slot_peer_reg;
  logic f_ack_rel_reg, f_req_match_reg, f_una_gt_reg, f_malformed_reg, f_up_reg, f_busy_reg, f_relay_match_reg;
  logic lt_una_reg, lt_rxb_reg, eq_una_reg, eq_rxb_reg;
  wire f_seq_lt = f_una_gt_reg ? lt_una_reg : lt_rxb_reg;  // seq < max(una, base)
  wire f_seq_eq = f_una_gt_reg ? eq_una_reg : eq_rxb_reg;  // seq == max(una, base)
  wire [31:0] base_eff = f_una_gt_reg ? rx_una : rxb_src_reg;  // max(una, base)
  // a frame to send: header (ctl_frame or the slot's) and its per-transmission fields
  logic [511:0] d_hdr_reg;
  logic [31:0] d_dep_reg, d_ack_reg, d_una_reg;

  // Per-transmission header fields, as the kernel's transmit() fills them.
  function automatic logic [511:0] stamp(input logic [511:0] h, input logic [7:0] me, input logic [31:0] dep,
                                         input logic [31:0] ack, input logic [31:0] una, input logic [31:0] ep);
    logic uni;
    stamp = h;
    uni = h[F_DST+:8] != BROADCAST;
    stamp[F_FVER+:8] = FRAME_VERSION;
    stamp[F_SRC+:8] = me;
    stamp[F_EPOCH+:32] = ep;
    stamp[F_DST_EPOCH+:32] = uni ? dep : 32'h0;
    stamp[F_ACK+:32] = uni ? ack : 32'h0;
    stamp[F_UNA+:32] = uni ? una : 32'h0;
    stamp[F_SACK+:192] = '0;
    stamp[F_CRC+:32] = 32'h0;
  endfunction

  function automatic logic [511:0] ctl_frame(input logic [7:0] t, input logic [7:0] dst, input logic [31:0] req,
                                             input logic [7:0] st);
    ctl_frame = '0;
    ctl_frame[F_FTYPE+:8] = t;
    ctl_frame[F_DST+:8] = dst;
    ctl_frame[F_REQ+:32] = req;
    ctl_frame[F_STATUS+:8] = st;
  endfunction

  // The kernel's host_result(): entry fields kept, host fields replaced.
  function automatic logic [511:0] result_beat(input logic [511:0] e, input logic [31:0] tag, input logic [7:0] st,
                                               input logic [7:0] dest, input logic [7:0] me);
    result_beat = e;
    result_beat[H_OP+:8] = OP_TRANSFER;
    result_beat[H_STATUS+:8] = st;
    result_beat[H_TAG+:32] = tag;
    result_beat[H_BLOB_LEN+:16] = 16'h0;
    result_beat[H_AUX+:64] = 64'h0;
    result_beat[C_DEST+:8] = dest;
    result_beat[C_OWNER+:8] = me;
  endfunction

  // EXPORT of the key in h (the kernel's table_command(): host-only and entry fields zero).
  function automatic logic [511:0] export_cmd(input logic [511:0] h, input logic [31:0] tag);
    export_cmd = h;
    export_cmd[H_OP+:8] = OP_EXPORT;
    export_cmd[H_STATUS+:8] = 8'h0;
    export_cmd[H_TAG+:32] = tag;
    export_cmd[H_VERSION+:64] = 64'h0;
    export_cmd[H_EXPIRY+:32] = 32'h0;
    export_cmd[H_FLAGS+:8] = 8'h0;
    export_cmd[H_BLOB_LEN+:16] = 16'h0;
    export_cmd[H_AUX+:64] = 64'h0;
  endfunction

  // Frame to a peer: the stamp uses that peer's state.
  function automatic logic [31:0] una_of(input logic [7:0] p, input logic sv, input logic [7:0] sp,
                                         input logic [31:0] sseq, input logic [31:0] nxt);
    una_of = (sv && sp == p) ? sseq : nxt;
  endfunction

  // ---- outputs ------------------------------------------------------------------------
  logic [511:0] tx_beat;
  always_comb begin
    tx_beat = (idx_reg == '0) ? tx_hdr_reg : txbuf[idx_reg];
  end
  assign m_tx_tdata = tx_beat;
  assign m_tx_tvalid = state_reg == S_TX_SEND;
  assign m_tx_tlast = idx_reg + 1'b1 == tx_n_reg;

  assign s_rx_tready = state_reg == S_RX;
  assign s_host_tready = state_reg == S_HOST;
  assign s_tbl_tready = state_reg == S_TBL_WAIT;
  assign m_res_tdata = res_reg;
  assign m_res_tvalid = state_reg == S_RESULT;

  logic [511:0] tbl_beat;
  always_comb tbl_beat = (idx_reg == '0) ? tbl_hdr_reg : rxbuf[IDX_W'(idx_reg + IDX_W'(1))];
  assign m_tbl_tdata = tbl_beat;
  assign m_tbl_tvalid = state_reg == S_TBL_SEND;
  assign m_tbl_tlast = idx_reg == tbl_n_reg;

  logic [31:0] crc_out;
  logic [511:0] crc_in_beat;
  always_comb crc_in_beat = (idx_reg == '0) ? tx_hdr_reg : txbuf[idx_reg];
  bp_crc32 crc_i (
      .crc_in (idx_reg == '0 ? 32'hFFFFFFFF : crc_reg),
      .data   (crc_in_beat),
      .crc_out(crc_out)
  );

  // ---- the engine ---------------------------------------------------------------------
  // next peer of a replicate fan-out
  // next peer of a replicate fan-out, registered: the find-first over CARDS bits is not
  // in front of the fan-out's decisions. todo_fresh_reg says it reflects bcast_todo_reg
  // (it lags a write of bcast_todo_reg by one cycle; S_NEXT_PEER waits that cycle).
  logic [7:0] next_peer, next_peer_reg;
  logic todo_fresh_reg;
  always_comb begin
    next_peer = BROADCAST;
    for (int i = CARDS - 1; i >= 0; i--) if (bcast_todo_reg[i]) next_peer = 8'(i);
  end

  // Destinations of the event in ev_hdr_reg (S_EV_DEST). The mode's: replicate = every
  // member, hub = the hub (none on the hub itself), transfer = none. The writer's (rule
  // 4): a consumed single-use entry written by another card that still holds a copy.
  wire [7:0] ev_op = ev_hdr_reg[H_OP+:8];
  wire [7:0] ev_writer = ev_hdr_reg[H_VERSION+:8];
  wire ev_consumed = ev_op == OP_TAKE || ev_op == OP_GET;
  wire ev_single = (ev_hdr_reg[H_FLAGS+:8] & FL_SINGLE_USE) != 8'h0;
  logic [CARDS-1:0] ev_mode_dest, ev_writer_dest;
  always_comb begin
    for (int i = 0; i < CARDS; i++) begin
      ev_mode_dest[i] = member[i] && (mode == MODE_REPLICATE || (mode == MODE_HUB && hub_card == 8'(i)));
      ev_writer_dest[i] = member[i] && ev_consumed && ev_single && ev_writer == 8'(i) &&
                          (mode == MODE_TRANSFER || (mode == MODE_HUB && hub_card != 8'(i)));
    end
  end

  wire [7:0] tbl_status = s_tbl_tdata[H_STATUS+:8];
  wire tbl_stored = tbl_st_reg == ST_OK || tbl_st_reg == ST_EVICTED || tbl_st_reg == ST_STALE;

  always_ff @(posedge clk) begin
    next_peer_reg <= next_peer;
    todo_fresh_reg <= 1'b1;  // cleared below in every cycle that writes bcast_todo_reg
    if (hello_timer_reg != 0) hello_timer_reg <= hello_timer_reg - 1'b1;
    // timers: registered in steps so no compare sits in front of the engine's decisions
    cyc_reg <= cyc_reg + 1'b1;
    est_reg <= (srtt[slot_peer_reg[CW-1:0]] >> 3) + rttvar[slot_peer_reg[CW-1:0]];
    bo_reg <= backoff[slot_peer_reg[CW-1:0]];
    slot_rto_reg <= rto_clamp(est_reg < rto_cycles ? rto_cycles : est_reg, bo_reg, rto_cycles);
    elapsed_reg <= cyc_reg - slot_sent_reg;
    if (slot_hold_reg != 0) slot_hold_reg <= slot_hold_reg - 1'b1;
    slot_timeout_reg <= slot_valid_reg && slot_hold_reg == 0 && elapsed_reg >= slot_rto_reg;
    deadline_hit_reg <= slot_valid_reg && slot_outcome_reg && slot_deadline_reg != 32'h0 && now >= slot_deadline_reg;
    relay_deadline_hit_reg <= relay_valid_reg && relay_deadline_reg != 32'h0 && now >= relay_deadline_reg;
    if (rtt_go_reg) begin
      rtt_go_reg <= 1'b0;
      backoff[rtt_peer_reg] <= '0;  // a clean sample: the path works at the estimate
      if (srtt[rtt_peer_reg] == 32'h0) begin
        srtt[rtt_peer_reg] <= (rtt_m_reg << 3) | 32'h1;
        rttvar[rtt_peer_reg] <= rtt_m_reg << 1;
      end else begin
        srtt[rtt_peer_reg] <= (srtt[rtt_peer_reg] - (srtt[rtt_peer_reg] >> 3) + rtt_m_reg) | 32'h1;
        rttvar[rtt_peer_reg] <= rttvar[rtt_peer_reg] - (rttvar[rtt_peer_reg] >> 2) +
            abs_diff(rtt_m_reg, srtt[rtt_peer_reg] >> 3);
      end
    end
    if (ev_valid) begin
      if (!evq_full) begin
        evq[evq_wr_reg[EVQ_LOG2-1:0]] <= ev_tdata;
        evq_wr_reg <= evq_wr_reg + 1'b1;
      end else c_notsent_reg <= c_notsent_reg + 1'b1;
    end

    case (state_reg)
      S_IDLE: begin
        if (s_rx_tvalid) begin  // disabled: received frames are drained (rx_unhandled)
          state_reg <= S_RX;
          idx_reg <= '0;
          rx_over_reg <= 1'b0;
        end else if (!enable) begin
          // nothing else while disabled
        end else if (deadline_hit_reg) begin
          // the host TRANSFER's deadline (its expiry field, card clock) passed: FAILED
          slot_valid_reg <= 1'b0;
          slot_timeout_reg <= 1'b0;
          deadline_hit_reg <= 1'b0;
          c_xfail_reg <= c_xfail_reg + 1'b1;
          res_entry_reg <= 1'b1;
          res_origin_reg <= slot_origin_reg;
          res_tag_reg <= slot_req_reg;
          res_st_reg <= ST_FAILED;
          res_dest_reg <= slot_peer_reg;
          state_reg <= S_RES_BUILD;
        end else if (slot_valid_reg && slot_timeout_reg) begin
          slot_timeout_reg <= 1'b0;
          if (slot_retries_reg >= max_retries) begin
            // give up: the peer is down (not sent to until heard again); the abandoned
            // seq is skipped by the receiver through `una`
            c_giveup_reg <= c_giveup_reg + 1'b1;
            slot_valid_reg <= 1'b0;
            peer_up_reg[slot_peer_reg[CW-1:0]] <= 1'b0;
            if (slot_outcome_reg) begin
              c_xfail_reg <= c_xfail_reg + 1'b1;
              res_entry_reg <= 1'b1;
              res_origin_reg <= slot_origin_reg;
              res_tag_reg <= slot_req_reg;
              res_st_reg <= ST_FAILED;
              res_dest_reg <= slot_peer_reg;
              state_reg <= S_RES_BUILD;
            end else state_reg <= S_NEXT_PEER;
          end else begin
            slot_retries_reg <= slot_retries_reg + 1'b1;
            slot_sent_reg <= cyc_reg;
            slot_hold_reg <= 2'd3;
            slot_first_reg <= 1'b0;
            if (backoff[slot_peer_reg[CW-1:0]] < 3'd6) backoff[slot_peer_reg[CW-1:0]] <= backoff[slot_peer_reg[CW-1:0]] + 1'b1;
            c_rtx_reg <= c_rtx_reg + 1'b1;
            d_hdr_reg <= slot_hdr_reg;
            d_dep_reg <= peer_epoch[slot_peer_reg[CW-1:0]];
            d_ack_reg <= rx_base[slot_peer_reg[CW-1:0]];
            d_una_reg <= slot_seq_reg;
            tx_n_reg <= slot_n_reg;
            tx_ret_reg <= S_IDLE;
            idx_reg <= '0;
            state_reg <= S_STAMP;
          end
        end else if (hello_timer_reg == 0) begin
          hello_timer_reg <= hello_cycles;
          d_hdr_reg <= ctl_frame(T_HELLO, BROADCAST, 32'h0, {7'h0, any_unknown});
          d_dep_reg <= 32'h0;
          d_ack_reg <= 32'h0;
          d_una_reg <= 32'h0;
          tx_n_reg <= IDX_W'(1);
          tx_ret_reg <= S_IDLE;
          idx_reg <= '0;
          state_reg <= S_STAMP;
        end else if (!slot_valid_reg && bcast_todo_reg != '0) begin
          state_reg <= S_NEXT_PEER;
        end else if (relay_valid_reg && (relay_kill_reg || relay_deadline_hit_reg || !known(relay_owner_reg, epoch_known))) begin
          // a relayed TRANSFER whose owner went down or restarted, or whose deadline passed
          relay_valid_reg <= 1'b0;
          relay_kill_reg <= 1'b0;
          relay_deadline_hit_reg <= 1'b0;
          c_xfail_reg <= c_xfail_reg + 1'b1;
          res_entry_reg <= 1'b0;
          res_relay_reg <= 1'b1;
          res_origin_reg <= BROADCAST;
          res_tag_reg <= relay_hdr_reg[H_TAG+:32];
          res_st_reg <= ST_FAILED;
          res_dest_reg <= relay_hdr_reg[C_DEST+:8];
          state_reg <= S_RES_BUILD;
        end else if (!slot_valid_reg && !relay_valid_reg && s_host_tvalid) begin
          // host TRANSFER header
          host_tag_reg <= s_host_tdata[H_TAG+:32];
          host_dest_reg <= s_host_tdata[C_DEST+:8];
          host_deadline_reg <= s_host_tdata[H_EXPIRY+:32];
          res_reg <= s_host_tdata;
          host_bad_reg <= s_host_tdata[H_KEY_LEN+:8] == 8'h0 || s_host_tdata[H_KEY_LEN+:8] > 8'd32 ||
                          s_host_tdata[H_BLOB_LEN+:16] != 16'h0 || !s_host_tlast ||
                          s_host_tdata[H_OP+:8] != OP_TRANSFER;
          host_relay_reg <= s_host_tdata[C_OWNER+:8] != BROADCAST && s_host_tdata[C_OWNER+:8] != card_id;
          xfer_origin_reg <= BROADCAST;
          state_reg <= S_HOST;
        end else if (!slot_valid_reg && !evq_empty) begin
          evq_rd_reg <= evq_rd_reg + 1'b1;
          ev_hdr_reg <= evq[evq_rd_reg[EVQ_LOG2-1:0]];
          state_reg <= S_EV_DEST;
        end
      end

      S_HOST: begin
        // first beat was seen in S_IDLE (still on the bus: tready is asserted here)
        if (s_host_tvalid && s_host_tlast) begin
          if (host_bad_reg) begin
            c_xfail_reg <= c_xfail_reg + 1'b1;
            res_entry_reg <= 1'b0;
            res_origin_reg <= BROADCAST;
            res_tag_reg <= host_tag_reg;
            res_st_reg <= ST_BAD_CMD;
            res_dest_reg <= host_dest_reg;
            state_reg <= S_RES_BUILD;
          end else if (host_relay_reg) begin
            // relayed: TRANSFER_REQ (the key) to the owner, which answers TRANSFER_RESULT
            if (known(res_reg[C_OWNER+:8], epoch_known)) begin
              relay_valid_reg <= 1'b1;
              relay_kill_reg <= 1'b0;
              relay_hdr_reg <= res_reg;
              relay_owner_reg <= res_reg[C_OWNER+:8];
              relay_deadline_reg <= host_deadline_reg;
              txbuf[1] <= export_cmd(res_reg, 32'h0);
              txbuf[1][H_OP+:8] <= OP_TRANSFER;
              slot_valid_reg <= 1'b1;
              slot_outcome_reg <= 1'b0;
              slot_origin_reg <= BROADCAST;
              slot_peer_reg <= res_reg[C_OWNER+:8];
              slot_seq_reg <= tx_next[res_reg[C_OWNER+:CW]];
              tx_next[res_reg[C_OWNER+:CW]] <= tx_next[res_reg[C_OWNER+:CW]] + 1'b1;
              slot_req_reg <= 32'h0;
              slot_retries_reg <= '0;
              slot_sent_reg <= cyc_reg;
              slot_hold_reg <= 2'd3;
              slot_first_reg <= 1'b1;
              slot_timeout_reg <= 1'b0;
              slot_deadline_reg <= 32'h0;
              slot_hdr_reg <= ctl_frame(T_TRANSFER_REQ, res_reg[C_OWNER+:8], host_tag_reg, 8'h0);
              slot_hdr_reg[F_ARG+:8] <= host_dest_reg;
              slot_hdr_reg[F_SEQ+:32] <= tx_next[res_reg[C_OWNER+:CW]];
              slot_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64;
              slot_n_reg <= IDX_W'(2);
              state_reg <= S_NEXT_PEER;
            end else begin
              c_xfail_reg <= c_xfail_reg + 1'b1;
              res_entry_reg <= 1'b0;
              res_origin_reg <= BROADCAST;
              res_tag_reg <= host_tag_reg;
              res_st_reg <= ST_FAILED;
              res_dest_reg <= host_dest_reg;
              state_reg <= S_RES_BUILD;
            end
          end else begin
            pend_reg <= P_EXPORT_XFER;
            tbl_hdr_reg <= export_cmd(res_reg, tbl_tag_reg);
            idx_reg <= '0;
            tbl_n_reg <= '0;
            state_reg <= S_TBL_SEND;
          end
        end else if (s_host_tvalid) host_bad_reg <= 1'b1;
      end

      S_RX: begin
        if (s_rx_tvalid) begin
          if (idx_reg < IDX_W'(MAX_BEATS)) begin
            rxbuf[idx_reg] <= s_rx_tdata;
            idx_reg <= idx_reg + 1'b1;
          end else rx_over_reg <= 1'b1;
          if (s_rx_tlast) state_reg <= enable ? S_RX_LOOK : S_IDLE;
          if (s_rx_tlast && !enable) c_unhandled_reg <= c_unhandled_reg + 1'b1;
        end
      end

      S_RX_LOOK: begin
        rh_reg <= rxbuf[0];
        pe_src_reg <= peer_epoch[rxbuf[0][F_SRC+:CW]];
        rxb_src_reg <= rx_base[rxbuf[0][F_SRC+:CW]];
        txn_src_reg <= tx_next[rxbuf[0][F_SRC+:CW]];
        state_reg <= S_RX_CMP;
      end

      S_RX_CMP: begin
        f_stale_reg <= rx_over_reg || rx_epoch == 32'h0 || rx_epoch < pe_src_reg;
        f_restart_reg <= rx_epoch > pe_src_reg && pe_src_reg != 32'h0;
        f_learn_reg <= rx_epoch > pe_src_reg;
        f_up_reg <= peer_up_reg[rs];
        f_hello_reply_reg <= rx_status == 8'h1 || (rx_dst != BROADCAST && rx_dst_epoch != epoch);
        f_dst_epoch_bad_reg <= rx_dst_epoch != epoch;
        f_slot_peer_reg <= slot_valid_reg && slot_peer_reg == rx_src;
        f_ack_rel_reg <= rx_ack > slot_seq_reg;
        f_req_match_reg <= rx_req == slot_seq_reg;
        f_una_gt_reg <= rx_una > rxb_src_reg;
        // the receive base after the sender's una is max(una, base): seq is compared with
        // both here, S_RX_DO picks by f_una_gt_reg (no compare feeds another in one cycle)
        lt_una_reg <= rx_seq < rx_una;
        lt_rxb_reg <= rx_seq < rxb_src_reg;
        eq_una_reg <= rx_seq == rx_una;
        eq_rxb_reg <= rx_seq == rxb_src_reg;
        f_busy_reg <= rx_type == T_TRANSFER_REQ && (slot_valid_reg || bcast_todo_reg != '0);
        f_relay_match_reg <= relay_valid_reg && relay_owner_reg == rx_src && relay_hdr_reg[H_TAG+:32] == rx_req;
        f_malformed_reg <= (rx_type == T_UPDATE || rx_type == T_DELETE || rx_type == T_TRANSFER ||
                            rx_type == T_TRANSFER_REQ) &&
                           (rx_plen < 16'd64 || rx_entry[H_KEY_LEN+:8] == 8'h0 || rx_entry[H_KEY_LEN+:8] > 8'd32 ||
                            rx_entry[H_BLOB_LEN+:16] != rx_plen - 16'd64);
        seq1_reg <= rx_seq + 1'b1;
        una_src_reg <= una_of(rx_src, slot_valid_reg, slot_peer_reg, slot_seq_reg, txn_src_reg);
        state_reg <= S_RX_DO;
      end

      S_RX_DO: begin
        state_reg <= S_IDLE;
        if (f_stale_reg) begin
          c_stale_reg <= c_stale_reg + 1'b1;
        end else if (f_restart_reg) begin
          // the peer restarted: its sequence state is new, a transfer in flight to it
          // FAILS; the frame itself is dropped (the sender resends or says HELLO again)
          peer_epoch[rs] <= rx_epoch;
          tx_next[rs] <= 32'h1;
          rx_base[rs] <= 32'h1;
          srtt[rs] <= 32'h0;
          rttvar[rs] <= 32'h0;
          backoff[rs] <= '0;
          peer_up_reg[rs] <= 1'b1;
          c_joins_reg <= c_joins_reg + 1'b1;
          if (relay_valid_reg && relay_owner_reg == rx_src) relay_kill_reg <= 1'b1;
          c_stale_reg <= c_stale_reg + 1'b1;
          if (f_slot_peer_reg) begin
            slot_valid_reg <= 1'b0;
            if (slot_outcome_reg) begin
              c_xfail_reg <= c_xfail_reg + 1'b1;
              res_entry_reg <= 1'b1;
              res_origin_reg <= slot_origin_reg;
              res_tag_reg <= slot_req_reg;
              res_st_reg <= ST_FAILED;
              res_dest_reg <= slot_peer_reg;
              state_reg <= S_RES_BUILD;
            end else state_reg <= S_NEXT_PEER;
          end
        end else begin
          if (f_learn_reg) peer_epoch[rs] <= rx_epoch;  // learned
          if (!f_up_reg) begin  // first heard, or heard again after it was declared down
            peer_up_reg[rs] <= 1'b1;
            c_joins_reg <= c_joins_reg + 1'b1;
          end
          if (rx_type == T_HELLO) begin
            if (f_hello_reply_reg) begin
              d_hdr_reg <= ctl_frame(T_HELLO, rx_src, 32'h0, 8'h0);
              d_dep_reg <= rx_epoch;
              d_ack_reg <= rxb_src_reg;
              d_una_reg <= una_src_reg;
              tx_n_reg <= IDX_W'(1);
              tx_ret_reg <= S_IDLE;
              idx_reg <= '0;
              state_reg <= S_STAMP;
            end
          end else if (f_dst_epoch_bad_reg) begin
            // meant for an earlier life of this card: tell the sender our epoch
            c_stale_reg <= c_stale_reg + 1'b1;
            d_hdr_reg <= ctl_frame(T_HELLO, rx_src, 32'h0, 8'h0);
            d_dep_reg <= rx_epoch;
            d_ack_reg <= rxb_src_reg;
            d_una_reg <= una_src_reg;
            tx_n_reg <= IDX_W'(1);
            tx_ret_reg <= S_IDLE;
            idx_reg <= '0;
            state_reg <= S_STAMP;
          end else begin
            // ---- acks (cumulative) and una ----
            if (f_slot_peer_reg) begin
              if (!slot_outcome_reg && f_ack_rel_reg) begin
                slot_valid_reg <= 1'b0;
                rtt_go_reg <= slot_first_reg;
                rtt_peer_reg <= slot_peer_reg[CW-1:0];
                rtt_m_reg <= cyc_reg - slot_sent_reg;
              end
              if (slot_outcome_reg && (rx_type == T_ACK || rx_type == T_NACK) && f_req_match_reg) begin
                slot_valid_reg <= 1'b0;
                rtt_go_reg <= slot_first_reg;
                rtt_peer_reg <= slot_peer_reg[CW-1:0];
                rtt_m_reg <= cyc_reg - slot_sent_reg;
                if (rx_status == ST_OK) c_xok_reg <= c_xok_reg + 1'b1;
                else c_xfail_reg <= c_xfail_reg + 1'b1;
                res_entry_reg <= 1'b1;
                res_origin_reg <= slot_origin_reg;
                res_tag_reg <= slot_req_reg;
                res_st_reg <= rx_status;
                res_dest_reg <= slot_peer_reg;
                state_reg <= S_RES_BUILD;
              end
            end
            if (f_una_gt_reg) rx_base[rs] <= rx_una;
            if (rx_type == T_ACK || rx_type == T_NACK) begin
              // done above
            end else if (rx_seq == 32'h0) begin
              c_unhandled_reg <= c_unhandled_reg + 1'b1;
            end else if (f_malformed_reg) begin
              c_unhandled_reg <= c_unhandled_reg + 1'b1;  // malformed entry (kernel: rx_bad_len)
            end else if (f_seq_lt) begin
              // duplicate: re-ack; a TRANSFER is re-applied to answer its outcome again
              c_dup_reg <= c_dup_reg + 1'b1;
              if (rx_type == T_TRANSFER) begin
                pend_reg <= P_APPLY_XFER;
                state_reg <= S_TBL_SEND;
              end else begin
                d_hdr_reg <= ctl_frame(T_ACK, rx_src, 32'h0, 8'h0);
                d_dep_reg <= rx_epoch;
                d_ack_reg <= base_eff;
                d_una_reg <= una_src_reg;
                tx_n_reg <= IDX_W'(1);
                tx_ret_reg <= S_IDLE;
                state_reg <= S_STAMP;
              end
            end else if (!f_seq_eq) begin
              c_window_reg <= c_window_reg + 1'b1;  // beyond the one-frame window: resent later
            end else if (f_busy_reg) begin
              // a TRANSFER_REQ needs the retransmit slot: not taken, the sender retries
              c_busy_reg <= c_busy_reg + 1'b1;
            end else begin
              rx_base[rs] <= seq1_reg;
              if (rx_type == T_UPDATE || rx_type == T_DELETE) begin
                pend_reg <= P_APPLY;
                state_reg <= S_TBL_SEND;
              end else if (rx_type == T_TRANSFER) begin
                pend_reg <= P_APPLY_XFER;
                state_reg <= S_TBL_SEND;
              end else if (rx_type == T_TRANSFER_REQ || rx_type == T_TRANSFER_RESULT) begin
                // ack now; then TRANSFER_REQ: export the key and transfer it to `arg` for
                // the sender (its result goes back as TRANSFER_RESULT); TRANSFER_RESULT:
                // the answer to this card's relayed host TRANSFER (a stale one is dropped)
                d_hdr_reg <= ctl_frame(T_ACK, rx_src, 32'h0, 8'h0);
                d_dep_reg <= rx_epoch;
                d_ack_reg <= seq1_reg;
                d_una_reg <= una_src_reg;
                tx_n_reg <= IDX_W'(1);
                tx_ret_reg <= S_IDLE;
                state_reg <= S_STAMP;
                if (rx_type == T_TRANSFER_REQ) begin
                  pend_reg <= P_EXPORT_XFER;
                  host_tag_reg <= rx_req;
                  host_dest_reg <= rh[F_ARG+:8];
                  host_deadline_reg <= 32'h0;
                  xfer_origin_reg <= rx_src;
                  tx_ret_reg <= S_TBL_SEND;
                end else if (f_relay_match_reg) begin
                  relay_valid_reg <= 1'b0;
                  if (rx_status == ST_OK) c_xok_reg <= c_xok_reg + 1'b1;
                  else c_xfail_reg <= c_xfail_reg + 1'b1;
                  res_entry_reg <= 1'b0;
                  res_relay_reg <= 1'b1;
                  res_origin_reg <= BROADCAST;
                  res_tag_reg <= rx_req;
                  res_st_reg <= rx_status;
                  res_dest_reg <= rh[F_ARG+:8];
                  tx_ret_reg <= S_RES_BUILD;
                end
              end else begin
                // reliable types outside the subset: acked, ignored
                c_unhandled_reg <= c_unhandled_reg + 1'b1;
                d_hdr_reg <= ctl_frame(T_ACK, rx_src, 32'h0, 8'h0);
                d_dep_reg <= rx_epoch;
                d_ack_reg <= seq1_reg;
                d_una_reg <= una_src_reg;
                tx_n_reg <= IDX_W'(1);
                tx_ret_reg <= S_IDLE;
                state_reg <= S_STAMP;
              end
            end
            // the table command that applies the entry (used when S_TBL_SEND follows)
            tbl_hdr_reg <= rx_entry;
            tbl_hdr_reg[H_OP+:8] <= rx_type == T_DELETE ? OP_DEL : OP_PUT;
            tbl_hdr_reg[H_STATUS+:8] <= 8'h0;
            tbl_hdr_reg[H_TAG+:32] <= tbl_tag_reg;
            tbl_hdr_reg[H_AUX+:64] <= 64'h0;
            if (rx_type == T_DELETE) begin
              tbl_hdr_reg[H_BLOB_LEN+:16] <= 16'h0;
              tbl_hdr_reg[H_FLAGS+:8] <= 8'h0;
            end
            tbl_n_reg <= rx_type == T_DELETE ? '0 : beats_of(rx_entry[H_BLOB_LEN+:16]);
            if (rx_type == T_TRANSFER_REQ) begin
              tbl_hdr_reg <= export_cmd(rx_entry, tbl_tag_reg);
              tbl_n_reg <= '0;
            end
            idx_reg <= '0;
            ap_src_reg <= rx_src;
            ap_seq_reg <= rx_seq;
          end
        end
      end

      S_TBL_SEND: begin
        if (m_tbl_tready) begin
          if (m_tbl_tlast) begin
            state_reg <= S_TBL_WAIT;
            tbl_tag_reg <= tbl_tag_reg + 1'b1;
            idx_reg <= '0;
          end else idx_reg <= idx_reg + 1'b1;
        end
      end

      S_TBL_WAIT: begin
        if (s_tbl_tvalid) begin
          if (idx_reg == '0) tbl_st_reg <= tbl_status;
          if (idx_reg == '0 && (pend_reg == P_EXPORT_XFER || pend_reg == P_EXPORT_REPL)) begin
            // the entry beat for the wire: response minus host-only fields
            txbuf[1] <= s_tbl_tdata;
            txbuf[1][H_OP+:8] <= OP_PUT;
            txbuf[1][H_STATUS+:8] <= 8'h0;
            txbuf[1][H_TAG+:32] <= 32'h0;
            txbuf[1][H_AUX+:64] <= 64'h0;
            if (s_tbl_tdata[H_STATUS+:8] != ST_OK) txbuf[1][H_BLOB_LEN+:16] <= 16'h0;
          end else if (idx_reg <= IDX_W'(SLOT_BEATS) && (pend_reg == P_EXPORT_XFER || pend_reg == P_EXPORT_REPL)) begin
            txbuf[IDX_W'(idx_reg+IDX_W'(1))] <= s_tbl_tdata;
          end
          if (idx_reg <= IDX_W'(SLOT_BEATS)) idx_reg <= idx_reg + 1'b1;
          if (s_tbl_tlast) state_reg <= S_AFTER_TBL;
        end
      end

      S_AFTER_TBL: begin
        state_reg <= S_IDLE;
        pend_reg <= P_NONE;
        idx_reg <= '0;
        case (pend_reg)
          P_APPLY, P_APPLY_XFER: begin
            if (tbl_stored || (pend_reg == P_APPLY && tbl_st_reg == ST_MISS)) c_applied_reg <= c_applied_reg + 1'b1;
            else c_apfail_reg <= c_apfail_reg + 1'b1;
            if (pend_reg == P_APPLY_XFER)
              d_hdr_reg <= ctl_frame(T_ACK, ap_src_reg, ap_seq_reg, tbl_stored ? ST_OK : tbl_st_reg);
            else if (tbl_stored || tbl_st_reg == ST_MISS) d_hdr_reg <= ctl_frame(T_ACK, ap_src_reg, 32'h0, 8'h0);
            else d_hdr_reg <= ctl_frame(T_NACK, ap_src_reg, ap_seq_reg, tbl_st_reg);
            d_dep_reg <= peer_epoch[ap_src_reg[CW-1:0]];
            d_ack_reg <= rx_base[ap_src_reg[CW-1:0]];
            d_una_reg <= una_of(ap_src_reg, slot_valid_reg, slot_peer_reg, slot_seq_reg, tx_next[ap_src_reg[CW-1:0]]);
            tx_n_reg <= IDX_W'(1);
            tx_ret_reg <= S_IDLE;
            state_reg <= S_STAMP;
          end
          P_EXPORT_XFER: begin
            if (tbl_st_reg != ST_OK) begin
              c_xfail_reg <= c_xfail_reg + 1'b1;
              res_entry_reg <= 1'b1;
              res_origin_reg <= xfer_origin_reg;
              res_tag_reg <= host_tag_reg;
              res_st_reg <= tbl_st_reg;
              res_dest_reg <= host_dest_reg;
              state_reg <= S_RES_BUILD;
            end else if (host_dest_reg == card_id) begin
              c_xok_reg <= c_xok_reg + 1'b1;
              res_entry_reg <= 1'b1;
              res_origin_reg <= xfer_origin_reg;
              res_tag_reg <= host_tag_reg;
              res_st_reg <= ST_OK;
              res_dest_reg <= host_dest_reg;
              state_reg <= S_RES_BUILD;
            end else if (known(host_dest_reg, epoch_known)) begin
              slot_valid_reg <= 1'b1;
              slot_outcome_reg <= 1'b1;
              slot_peer_reg <= host_dest_reg;
              slot_seq_reg <= tx_next[host_dest_reg[CW-1:0]];
              tx_next[host_dest_reg[CW-1:0]] <= tx_next[host_dest_reg[CW-1:0]] + 1'b1;
              slot_req_reg <= host_tag_reg;
              slot_retries_reg <= '0;
              slot_sent_reg <= cyc_reg;
              slot_hold_reg <= 2'd3;
              slot_first_reg <= 1'b1;
              slot_timeout_reg <= 1'b0;
              slot_deadline_reg <= host_deadline_reg;
              slot_origin_reg <= xfer_origin_reg;
              slot_hdr_reg <= ctl_frame(T_TRANSFER, host_dest_reg, host_tag_reg, 8'h0);
              slot_hdr_reg[F_SEQ+:32] <= tx_next[host_dest_reg[CW-1:0]];
              slot_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64 + txbuf[1][H_BLOB_LEN+:16];
              slot_n_reg <= IDX_W'(2) + beats_of(txbuf[1][H_BLOB_LEN+:16]);
              state_reg <= S_NEXT_PEER;  // sends the slot (bcast_todo is empty)
            end else begin
              c_xfail_reg <= c_xfail_reg + 1'b1;
              res_entry_reg <= 1'b1;
              res_origin_reg <= xfer_origin_reg;
              res_tag_reg <= host_tag_reg;
              res_st_reg <= ST_FAILED;
              res_dest_reg <= host_dest_reg;
              state_reg <= S_RES_BUILD;
            end
          end
          P_EXPORT_REPL: begin
            if (tbl_st_reg == ST_OK) begin
              bcast_todo_reg <= ev_dest_reg & epoch_known;
              fan_type_reg <= T_UPDATE;
              todo_fresh_reg <= 1'b0;
              if ((ev_dest_reg & ~epoch_known) != '0) c_notsent_reg <= c_notsent_reg + 1'b1;
            end
          end
          default: ;
        endcase
      end

      // Replicate fan-out (and the first transmission of a TRANSFER slot).
      S_NEXT_PEER: begin
        idx_reg <= '0;
        if (slot_valid_reg) begin
          // a freshly filled slot: first transmission
          d_hdr_reg <= slot_hdr_reg;
          d_dep_reg <= peer_epoch[slot_peer_reg[CW-1:0]];
          d_ack_reg <= rx_base[slot_peer_reg[CW-1:0]];
          d_una_reg <= slot_seq_reg;
          tx_n_reg <= slot_n_reg;
          tx_ret_reg <= S_IDLE;
          state_reg <= S_STAMP;
        end else if (bcast_todo_reg == '0) begin
          bcast_todo_reg <= '0;
          todo_fresh_reg <= 1'b0;
          state_reg <= S_IDLE;
        end else if (todo_fresh_reg) begin
          bcast_todo_reg[next_peer_reg[CW-1:0]] <= 1'b0;
          todo_fresh_reg <= 1'b0;
          if (epoch_known[next_peer_reg[CW-1:0]]) begin
            slot_valid_reg <= 1'b1;
            slot_outcome_reg <= 1'b0;
            slot_peer_reg <= next_peer_reg;
            slot_seq_reg <= tx_next[next_peer_reg[CW-1:0]];
            tx_next[next_peer_reg[CW-1:0]] <= tx_next[next_peer_reg[CW-1:0]] + 1'b1;
            slot_req_reg <= 32'h0;
            slot_retries_reg <= '0;
            slot_sent_reg <= cyc_reg;
            slot_hold_reg <= 2'd3;
            slot_first_reg <= 1'b1;
            slot_timeout_reg <= 1'b0;
            slot_deadline_reg <= 32'h0;
            slot_hdr_reg <= ctl_frame(fan_type_reg, next_peer_reg, 32'h0, 8'h0);
            slot_hdr_reg[F_SEQ+:32] <= tx_next[next_peer_reg[CW-1:0]];
            slot_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64 + txbuf[1][H_BLOB_LEN+:16];
            slot_n_reg <= IDX_W'(2) + beats_of(txbuf[1][H_BLOB_LEN+:16]);
            // next cycle: S_NEXT_PEER sees slot_valid and transmits
          end else c_notsent_reg <= c_notsent_reg + 1'b1;
        end
      end

      // Card rules 1, 2 and 4 (docs/rtl.md "Card rules"): the destinations of one event.
      // PUT stored -> UPDATE (the entry is exported first); DEL -> DELETE with the
      // tombstone's version; TAKE / consumed single-use GET -> DELETE with the tombstone
      // version the table put in aux, and to the writer card if it still holds a copy.
      S_EV_DEST: begin
        idx_reg <= '0;
        tbl_n_reg <= '0;
        ev_dest_reg <= ev_mode_dest | ev_writer_dest;
        if (ev_op == OP_PUT) begin
          if (ev_mode_dest == '0) begin
            // no destination in this mode (transfer; the hub itself): nothing to count
            state_reg <= S_IDLE;
          end else begin
            pend_reg <= P_EXPORT_REPL;
            tbl_hdr_reg <= export_cmd(ev_hdr_reg, tbl_tag_reg);
            state_reg <= S_TBL_SEND;
          end
        end else begin
          // the DELETE entry beat: key, ctx, tombstone version and expiry, no blob
          txbuf[1] <= ev_hdr_reg;
          txbuf[1][H_OP+:8] <= OP_DEL;
          txbuf[1][H_STATUS+:8] <= 8'h0;
          txbuf[1][H_TAG+:32] <= 32'h0;
          txbuf[1][H_AUX+:64] <= 64'h0;
          txbuf[1][H_FLAGS+:8] <= FL_TOMBSTONE;
          txbuf[1][H_BLOB_LEN+:16] <= 16'h0;
          if (ev_op != OP_DEL) txbuf[1][H_VERSION+:64] <= ev_hdr_reg[H_AUX+:64];
          if ((ev_mode_dest | ev_writer_dest) == '0) begin
            // no destination in this mode (transfer; the hub itself): nothing to count
            state_reg <= S_IDLE;
          end else begin
            c_delsent_reg <= c_delsent_reg + 1'b1;
            bcast_todo_reg <= (ev_mode_dest | ev_writer_dest) & epoch_known;
            fan_type_reg <= T_DELETE;
            todo_fresh_reg <= 1'b0;
            if (((ev_mode_dest | ev_writer_dest) & ~epoch_known) != '0) c_notsent_reg <= c_notsent_reg + 1'b1;
            state_reg <= S_NEXT_PEER;
          end
        end
      end

      S_STAMP: begin
        tx_hdr_reg <= stamp(d_hdr_reg, card_id, d_dep_reg, d_ack_reg, d_una_reg, epoch);
        idx_reg <= '0;
        state_reg <= S_TX_CRC;
      end

      S_TX_CRC: begin
        crc_reg <= crc_out;
        if (idx_reg + 1'b1 == tx_n_reg) begin
          tx_hdr_reg[F_CRC+:32] <= ~crc_out;
          idx_reg <= '0;
          state_reg <= S_TX_SEND;
        end else idx_reg <= idx_reg + 1'b1;
      end

      S_TX_SEND: begin
        if (m_tx_tready) begin
          if (m_tx_tlast) begin
            c_tx_reg <= c_tx_reg + 1'b1;
            idx_reg <= '0;
            state_reg <= tx_ret_reg;
          end else idx_reg <= idx_reg + 1'b1;
        end
      end

      S_RES_BUILD: begin
        res_relay_reg <= 1'b0;
        if (res_origin_reg != BROADCAST) begin
          // the transfer was asked for by a peer (TRANSFER_REQ): TRANSFER_RESULT to it,
          // reliable, in the slot (free: the transfer just left it, or never took it)
          if (known(res_origin_reg, epoch_known)) begin
            slot_valid_reg <= 1'b1;
            slot_outcome_reg <= 1'b0;
            slot_origin_reg <= BROADCAST;
            slot_peer_reg <= res_origin_reg;
            slot_seq_reg <= tx_next[res_origin_reg[CW-1:0]];
            tx_next[res_origin_reg[CW-1:0]] <= tx_next[res_origin_reg[CW-1:0]] + 1'b1;
            slot_req_reg <= 32'h0;
            slot_retries_reg <= '0;
            slot_sent_reg <= cyc_reg;
            slot_hold_reg <= 2'd3;
            slot_first_reg <= 1'b1;
            slot_timeout_reg <= 1'b0;
            slot_deadline_reg <= 32'h0;
            slot_hdr_reg <= ctl_frame(T_TRANSFER_RESULT, res_origin_reg, res_tag_reg, res_st_reg);
            slot_hdr_reg[F_ARG+:8] <= res_dest_reg;
            slot_hdr_reg[F_SEQ+:32] <= tx_next[res_origin_reg[CW-1:0]];
            slot_n_reg <= IDX_W'(1);
            state_reg <= S_NEXT_PEER;
          end else begin
            c_notsent_reg <= c_notsent_reg + 1'b1;  // requester gone; it times out on its own
            state_reg <= S_IDLE;
          end
        end else begin
          res_reg <= result_beat(res_entry_reg ? txbuf[1] : (res_relay_reg ? relay_hdr_reg : res_reg), res_tag_reg,
                                 res_st_reg, res_dest_reg, card_id);
          state_reg <= S_RESULT;
        end
      end

      S_RESULT: begin
        if (m_res_tready) state_reg <= S_IDLE;
      end

      default: state_reg <= S_IDLE;
    endcase

    if (rst) begin
      state_reg <= S_IDLE;
      pend_reg <= P_NONE;
      idx_reg <= '0;
      slot_valid_reg <= 1'b0;
      bcast_todo_reg <= '0;
      todo_fresh_reg <= 1'b0;
      hello_timer_reg <= '0;
      evq_wr_reg <= '0;
      evq_rd_reg <= '0;
      tbl_tag_reg <= 32'h80000000;
      for (int i = 0; i < CARDS; i++) begin
        peer_epoch[i] <= 32'h0;
        tx_next[i] <= 32'h1;
        rx_base[i] <= 32'h1;
      end
      c_tx_reg <= '0;
      c_rtx_reg <= '0;
      c_giveup_reg <= '0;
      c_applied_reg <= '0;
      c_apfail_reg <= '0;
      c_xok_reg <= '0;
      c_xfail_reg <= '0;
      c_dup_reg <= '0;
      c_window_reg <= '0;
      c_stale_reg <= '0;
      c_notsent_reg <= '0;
      c_unhandled_reg <= '0;
      c_delsent_reg <= '0;
      c_joins_reg <= '0;
      c_busy_reg <= '0;
      peer_up_reg <= '0;
      relay_valid_reg <= 1'b0;
      relay_kill_reg <= 1'b0;
      res_relay_reg <= 1'b0;
      res_origin_reg <= BROADCAST;
      slot_origin_reg <= BROADCAST;
      xfer_origin_reg <= BROADCAST;
      rtt_go_reg <= 1'b0;
      slot_timeout_reg <= 1'b0;
      deadline_hit_reg <= 1'b0;
      slot_hold_reg <= '0;
      cyc_reg <= '0;
      for (int i = 0; i < CARDS; i++) begin
        srtt[i] <= 32'h0;
        rttvar[i] <= 32'h0;
        backoff[i] <= '0;
      end
    end
  end

endmodule
`resetall
