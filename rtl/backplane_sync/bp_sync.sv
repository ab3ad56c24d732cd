// Backplane engine and card rules of the RTL card (docs/rtl.md "Backplane engine and
// card rules"): the RTL counterpart of hls/backplane_sync.hpp + the card rules of
// hls/card_top.hpp. Frames are bit-compatible with the kernel (spec/wire.toml `frame`).
// What it implements:
//   * HELLO: broadcast every `hello_cycles` while a member is unknown or down (status 1,
//     "reply wanted"), every 16 x `hello_cycles` once every member is up (the kernel's
//     kIdleHelloFactor); a unicast reply when asked or when the sender has this card's
//     epoch wrong.
//   * Epochs: learned from every frame; a larger epoch resets that peer's sequence state
//     (a transfer in flight to it answers FAILED) and counts a peer join; older epochs
//     and frames meant for another epoch of this card are dropped (the latter answered
//     with a HELLO).
//   * Reliable frames: per-peer tx seq from 1 and a window of WIN (16) frames in flight
//     per peer, each kept in its peer's retransmit slot (seq % WIN) of a frame RAM.
//     Acks: cumulative `ack` plus the `sack` bitmap, both ways, as the kernel sends and
//     reads them. Only the peer's oldest unacked frame is resent on a timeout (the
//     kernel's check_timer); an ack whose sack shows a hole at that frame resends it at
//     once, once (fast retransmit). Timeout: the kernel's rto_of() (Jacobson/Karels
//     srtt/rttvar per peer, floor `rto_cycles`, doubled per timeout up to 64x until a
//     clean sample, Karn). After `max_retries` resends the peer is down (its frames are
//     abandoned: `una` tells the receiver) until it is heard again.
//   * Receive window of RXW (64) seqs per peer, as many as the HLS card keeps in flight:
//     out-of-order frames within [base, base+RXW) are applied once and sacked (entries
//     carry versions; the table is LWW); lower or already received seqs are duplicates
//     (re-acked; a TRANSFER is re-applied to answer its outcome again); beyond the
//     window = dropped (rx_window, the sender resends).
//   * Host TRANSFER (header beat, sync_cmd dest/owner, deadline in `expiry`): local
//     (EXPORT, TRANSFER frame, finished by the outcome ACK) or relayed (TRANSFER_REQ to
//     the owner, answered by its TRANSFER_RESULT). Serves TRANSFER_REQ from peers.
//   * Host PULL (opcode 10, aux.owner, deadline in `expiry`): PULL frame to the owner,
//     its PULL_RESP entry PUT here with its version; serves PULL from peers (EXPORT,
//     PULL_RESP; in transfer mode GET, so a SINGLE_USE entry moves: the PULL_RESP entry
//     then names the puller as writer, one lamport past the tombstone). Card rule 3: a
//     host GET/TAKE miss in hub mode on a spoke (handed here by sessnic_top as an event)
//     pulls from the hub and runs the GET/TAKE again (its answer goes to the host:
//     m_tbl_host), or answers the original miss.
//   * Receive: UPDATE / TRANSFER applied as PUT with the entry's version, DELETE as DEL;
//     ACK after the table answered (NACK if an UPDATE/DELETE was not applied; the
//     TRANSFER ACK carries the outcome).
//   * Card rules 1, 2, 4 (events from sessnic_top): UPDATE of a stored PUT, DELETE of a
//     tombstone, DELETE of a consumed entry (and to its writer), by mode; replicate mode
//     skips passive peers (HELLO arg bit 0: a table-less dispatcher node).
//   * Card rule 6, catch-up: a joined or restarted peer this card pushes to gets the
//     own table by a background SCAN walk (UPDATE per entry, DELETE per tombstone),
//     while its window has room (CATCHUP_SLOTS = SETS x WAYS; 0 = off).
// Not implemented: this card being passive (it always says HELLO arg 0); DIGEST frames
// (acked, counted in rx_unhandled). One TRANSFER and one pull in flight per card.
`resetall
`default_nettype none
module bp_sync #(
    parameter int CARDS = 32,
    parameter int SLOT_BYTES = 256,
    parameter int EVQ_LOG2 = 4,
    parameter int WIN_LOG2 = 4,  // reliable frames in flight per peer = 2^WIN_LOG2 (>= 16 by the card contract)
    parameter int RXW_LOG2 = 6,  // receive window per peer = 2^RXW_LOG2 seqs (>= the HLS card's 64 slots)
    parameter int CATCHUP_SLOTS = 0  // slots of the table (SETS x WAYS) a catch-up walk SCANs; 0 = no catch-up
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
    output logic         m_tbl_host,   // with m_tbl_*: this command's response goes to the host (hub pull rerun)
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
    output logic [31:0] cnt_rx_busy,
    output logic [31:0] cnt_catchup_pushed,  // frames sent by catch-up walks
    output logic [31:0] cnt_catchup_walks
);
  initial begin
    if (CARDS < 2 || CARDS > 255) $fatal(1, "bp_sync: CARDS must be 2..255");
    if (SLOT_BYTES < 64 || SLOT_BYTES % 64 != 0) $fatal(1, "bp_sync: SLOT_BYTES must be whole 64-byte beats");
    if (EVQ_LOG2 < 1 || EVQ_LOG2 > 8) $fatal(1, "bp_sync: EVQ_LOG2 must be 1..8");
    if (WIN_LOG2 < 4 || WIN_LOG2 > 7) $fatal(1, "bp_sync: WIN_LOG2 must be 4..7 (the sack field holds 192 bits)");
    if (RXW_LOG2 < WIN_LOG2 || RXW_LOG2 > 7) $fatal(1, "bp_sync: RXW_LOG2 must be WIN_LOG2..7 (the sack field holds 192 bits)");
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
  localparam logic [7:0] T_PULL = 8'(sessnic_wire_pkg::FRAME_TYPE_PULL);
  localparam logic [7:0] T_PULL_RESP = 8'(sessnic_wire_pkg::FRAME_TYPE_PULL_RESP);
  localparam logic [7:0] OP_PULL = 8'(sessnic_wire_pkg::OPCODE_PULL);
  localparam logic [7:0] ST_EXPIRED = 8'(sessnic_wire_pkg::STATUS_EXPIRED);
  localparam logic [7:0] OP_SCAN = 8'(sessnic_wire_pkg::OPCODE_SCAN);
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
  localparam int WIN = 1 << WIN_LOG2;
  localparam int WB = WIN_LOG2 + 1;           // 0..WIN
  localparam int RXW = 1 << RXW_LOG2;
  localparam int RB = RXW_LOG2 + 1;           // 0..RXW
  localparam int BW = $clog2(MAX_BEATS);      // beat index inside a retransmit slot
  localparam int RTX_AW = CW + WIN_LOG2 + BW; // frame RAM: {peer, seq % WIN, beat}

  // ---- state ----------------------------------------------------------------------
  typedef enum logic [4:0] {
    S_IDLE,
    S_RX,         // collecting a frame into rxbuf
    S_RX_LOOK,    // the received header and its peer's state into registers
    S_RX_CMP,     // compares of the received fields against that state
    S_RX_ACK,     // ack/sack -> released frames; receive window position of the seq
    S_RX_UNA,     // new oldest unacked frame; the receive map with this seq marked
    S_RX_WIN,     // the receive window's advance: per 8-seq group, full? and its first hole
    S_RX_CNT,     // ... and from those the seqs received in a row from the base
    S_RX_MAP,     // the new receive base and map, the new oldest unacked seq
    S_RX_DO,      // decide on the frame (flags), write peer state, describe the answer
    S_HOST,       // draining a host command's extra beats
    S_TBL_SEND,   // table command beats out
    S_TBL_WAIT,   // table response in
    S_AFTER_TBL,  // act on the table's answer
    S_STAMP,      // per-transmission header fields into tx_hdr_reg
    S_TX_CRC,     // CRC over the frame to send (a new reliable frame is stored meanwhile)
    S_TX_SEND,    // frame beats out
    S_RES_BUILD,  // the result beat into res_reg from the registered outcome
    S_RESULT,     // host result beat out
    S_NEXT_PEER,  // fan-out: the next destination's frame (nf_*), or the pending one
    S_ALLOC,      // a new reliable frame takes its peer's next seq and slot
    S_EV_DEST,    // a card-rule event: its destinations and kind into registers
    S_EV_GO,      // ... and its frame (or pull) from them
    S_RTX_COPY,   // a resend: the slot's beats from the frame RAM into rtbuf
    S_RTX_GO,     // a resend: per-peer fields for the stamp
    S_RTX_CHECK,  // a resend: its peer's state into registers
    S_RTX_DECIDE, // a resend: still due? give up, or copy the frame
    S_INIT        // after reset: the per-peer tables cleared, one peer per cycle
  } state_t;
  typedef enum logic [3:0] {
    P_NONE,
    P_APPLY,       // UPDATE / DELETE from a peer
    P_APPLY_XFER,  // TRANSFER from a peer
    P_EXPORT_XFER, // host TRANSFER (or one asked for by TRANSFER_REQ)
    P_EXPORT_REPL, // replicate a local PUT
    P_EXPORT_PULL, // a peer's PULL: export, answer PULL_RESP
    P_APPLY_PULL,  // the PULL_RESP of this card's pull: PUT with version
    P_RERUN,       // hub pull brought the entry: the host's GET/TAKE again (answer to the host)
    P_SCAN         // catch-up: one slot of the own table
  } pend_t;

  state_t state_reg;
  logic [CW-1:0] init_peer_reg;
  pend_t pend_reg;
  logic [511:0] rxbuf[MAX_BEATS];
  // staging of a frame's payload: beat 1 (the entry) in tx_entry_reg, blob beats from 2
  // in txbuf (beats 0 and 1 of txbuf unused)
  logic [511:0] tx_entry_reg;
  logic [511:0] txbuf[MAX_BEATS];
  logic [511:0] tx_stage_beat;  // beat idx_reg of the staged frame
  always_comb tx_stage_beat = idx_reg == IDX_W'(1) ? tx_entry_reg : txbuf[idx_reg];
  logic [511:0] rtbuf[MAX_BEATS];  // a resent frame, copied from the frame RAM
  logic [IDX_W-1:0] idx_reg, tx_n_reg;
  logic rx_over_reg;

  // Retransmit slots: peer p's frame with seq s lives at {p, s % WIN} (its window never
  // holds more than WIN seqs). Beat 0 is the header without the per-transmission fields.
  (* ram_style = "block" *) logic [511:0] rtx_ram[1 << RTX_AW];
  logic [RTX_AW-1:0] rtx_raddr_reg;
  logic [511:0] rtx_q;
  logic [31:0] sent_ram[1 << (CW + WIN_LOG2)];  // first transmission (cycle) per slot
  logic [31:0] sent_q_reg;

  // per peer. out_map / rsnt_map are relative to tx_una (bit j = seq tx_una + j):
  // outstanding (sent, not acked) / resent at least once (Karn: no RTT sample).
  // rx_map is relative to rx_base (bit j = seq rx_base + j received; bit 0 is 0); it is
  // the `sack` sent to that peer. No frame is buffered on receive: an accepted frame is
  // applied at once (entries carry versions), so the map is all the window costs.
  logic [31:0] peer_epoch[CARDS];
  logic [31:0] tx_next[CARDS];
  logic [31:0] tx_una[CARDS];
  logic [WIN-1:0] out_map[CARDS];
  logic [WIN-1:0] rsnt_map[CARDS];
  logic [31:0] una_sent[CARDS];    // when the oldest unacked frame was last (re)sent or became oldest
  logic [7:0] una_retries[CARDS];  // resends of the oldest unacked frame
  logic [CARDS-1:0] fast_done_reg; // the oldest frame was fast-retransmitted already
  logic [31:0] rx_base[CARDS];
  logic [RXW-1:0] rx_map[CARDS];
  logic [CARDS-1:0] win_full_reg;  // tx_next - tx_una == WIN (registered)

  // Retransmit timing (the kernel's rto_of / rtt_sample): a free-running cycle count and
  // per peer a Jacobson/Karels RTT estimate (srtt x8, rttvar x4) with an exponential
  // backoff (Karn: only never-resent frames are sampled).
  logic [31:0] cyc_reg, host_deadline_reg;
  logic [31:0] srtt[CARDS];
  logic [31:0] rttvar[CARDS];
  logic [2:0] backoff[CARDS];
  logic [31:0] rtt_m_reg;
  logic rtt_go_reg;
  logic [CW-1:0] rtt_peer_reg;  // (held through the update: the next sample is >= 7 cycles later)
  // the sample's update in registered steps: the peer's estimate read (go2), the new
  // srtt and the deviation computed (go3), written
  logic rtt_go2_reg, rtt_go3_reg, rtt_first_reg;
  logic [31:0] rtt_srtt_q_reg, rtt_var_q_reg, rtt_srtt_new_reg, rtt_var_part_reg, rtt_dev_reg;
  logic [CARDS-1:0] peer_up_reg;  // down after max retries, up again when heard
  logic [CARDS-1:0] passive_reg;  // the peer said (HELLO arg bit 0) it holds no table
  // Timer scan: one peer per cycle, its oldest frame's deadline in registered steps.
  // (stage 1: the peer's state; 2: the estimate at least the floor; 3: shifted by the
  // backoff; 4: capped, and the time since the frame was sent; then the compare)
  logic [CW-1:0] tm_p0_reg, tm_p1_reg, tm_p2_reg, tm_p3_reg, tm_p4_reg;
  logic tm_out1_reg, tm_out2_reg, tm_out3_reg, tm_out4_reg;
  logic [31:0] tm_sent1_reg, tm_sent2_reg, tm_sent3_reg, tm_sent4_reg, tm_est1_reg, tm_base2_reg;
  logic [31:0] tm_elapsed4_reg, tm_rto4_reg;
  logic [38:0] tm_sh3_reg;
  logic [2:0] tm_bo1_reg, tm_bo2_reg;
  logic tmo_valid_reg;
  logic [CW-1:0] tmo_peer_reg;
  logic [31:0] tmo_sent_reg;
  // fast retransmit request (from S_RX_DO, served in S_IDLE)
  logic frx_valid_reg;
  logic [CW-1:0] frx_peer_reg;
  // a resend being checked (S_RTX_CHECK -> S_RTX_DECIDE)
  logic [CW-1:0] rc_peer_reg;
  logic rc_fast_reg, rc_live_reg, rc_giveup_reg, rc_xpeer_reg, rc_xfirst_reg;
  logic [WIN_LOG2-1:0] rc_k_reg;  // the oldest frame's slot
  logic [31:0] rc_next_reg;
  logic [7:0] rc_retries_reg;
  logic [2:0] rc_backoff_reg;
  // a resend being prepared
  logic [CW-1:0] rt_peer_reg;
  logic [WIN_LOG2-1:0] rt_k_reg;
  logic [IDX_W-1:0] rt_cnt_reg;

  // The TRANSFER in flight (one at a time; later host TRANSFERs wait): finished only by
  // the outcome ACK whose req = its seq; its deadline is the host command's expiry.
  logic xfer_valid_reg, xfer_first_reg, deadline_hit_reg;
  logic [7:0] xfer_peer_reg, xf_origin_reg;
  logic [31:0] xfer_seq_reg, xfer_req_reg, xfer_deadline_reg, xfer_sent_reg;
  logic [511:0] xfer_entry_reg;  // the exported entry (for the host result)
  // Relayed TRANSFER: the host TRANSFER waiting for the owner's TRANSFER_RESULT (one at a
  // time), and who asked for the transfer this card runs.
  logic relay_valid_reg, relay_kill_reg, relay_deadline_hit_reg, host_relay_reg, res_relay_reg;
  logic [511:0] relay_hdr_reg;
  logic [7:0] relay_owner_reg, xfer_origin_reg, res_origin_reg;
  logic [31:0] relay_deadline_reg;
  logic [CARDS-1:0] bcast_todo_reg;  // fan-out: peers still to send the entry to
  logic [CARDS-1:0] ev_dest_reg;     // the current event's destinations (card rules)
  // and its kind (S_EV_DEST, for S_EV_GO): a hub pull, a PUT, any destination by mode /
  // at all, the hub can be sent to
  logic ev_pull_reg, ev_put_reg, ev_mode_any_reg, ev_any_reg, ev_hub_ok_reg;
  logic [7:0] fan_type_reg;          // UPDATE or DELETE
  logic [511:0] ev_hdr_reg;          // the event being handled (a host response header)

  // The pull in flight (one at a time): a host PULL (pl_hub 0) or a hub pull after a
  // GET/TAKE miss (pl_hub 1). Finished by the PULL_RESP from pl_peer with req = pl_req,
  // the peer going down or restarting, the host deadline (PULL's expiry) or a guard of
  // 256 x rto cycles (a PULL_RESP the peer could not send). pl_hdr: the host's PULL
  // header, or the original miss answer (also what a failed hub pull answers).
  logic pl_valid_reg, pl_hub_reg, pl_kill_reg, pl_timeout_reg;
  logic [7:0] pl_peer_reg;
  logic [31:0] pl_req_reg, pl_deadline_reg, pl_start_reg, pr_req_reg;
  logic [511:0] pl_hdr_reg;
  // A peer's PULL served in transfer mode is the table's GET, which consumes a SINGLE_USE
  // entry: pm_move says it did, pm_lamport is the lamport of the tombstone it left (the
  // response's aux). The PULL_RESP entry then names the puller as writer, one lamport
  // past that tombstone (the kernel's EXPORT_PULL), so its TAKE owes no DELETE here.
  logic pm_move_reg;
  logic [63-sessnic_wire_pkg::CARD_BITS:0] pm_lamport_reg;

  // Catch-up (card rule 6): a peer that joined (first heard, restarted, or heard again
  // after it was down) and that this card pushes to (replicate: it is not passive; hub:
  // it is the hub and this card is not) gets the own table, walked by SCAN 0 ..
  // CATCHUP_SLOTS-1 in the background (lowest priority, one slot when every target's
  // window has room): a live entry as UPDATE, a tombstone as DELETE. Joiners that arrive
  // during a walk wait in cu_pending for a full walk of their own.
  logic [CARDS-1:0] cu_pending_reg, cu_dest_reg;
  logic cu_active_reg, cu_ready_reg, cu_fan_reg, scan_tomb_reg;
  logic [31:0] cu_idx_reg, c_cu_pushed_reg, c_cu_walks_reg;
  assign cnt_catchup_pushed = c_cu_pushed_reg;
  assign cnt_catchup_walks = c_cu_walks_reg;

  // The next reliable frame to send (S_NEXT_PEER -> S_ALLOC): header without seq.
  logic nf_valid_reg, nf_outcome_reg;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [7:0] nf_peer_reg;  // a card id; bits above CW are zero for a member
  /* verilator lint_on UNUSEDSIGNAL */
  logic [511:0] nf_hdr_reg;
  logic [IDX_W-1:0] nf_n_reg;
  logic [31:0] al_next_reg, al_una_reg;

  // frame being transmitted
  logic [511:0] tx_hdr_reg;
  logic [31:0] crc_reg;
  state_t tx_ret_reg;
  logic tx_store_reg;   // a first transmission: store the beats in the slot
  logic tx_from_rt_reg; // a resend: beats from rtbuf
  logic [CW+WIN_LOG2-1:0] tx_slot_reg;

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
  logic res_entry_reg;  // 1: from the transfer's entry beat, 0: from res_reg (host header)
  logic res_pull_reg;   // the result of a host PULL (op PULL), else TRANSFER
  logic res_raw_reg;    // a failed hub pull: the original miss answer (pl_hdr) as it was
  logic res_rx_reg;     // a host PULL that stored the pulled entry: from rxbuf[1]
  logic [31:0] res_tag_reg;
  logic [7:0] res_st_reg, res_dest_reg;
  logic [31:0] host_tag_reg;
  logic [7:0] host_dest_reg;
  logic host_bad_reg, host_off_reg, host_pull_reg;

  logic [31:0] hello_timer_reg;

  // S_IDLE's conditions as single flops, so its priority chain starts at registers
  // (docs/rtl.md "Structure for timing"). Each is exact or one cycle late where a late
  // answer only defers a branch by a cycle:
  logic hello_due_reg;    // hello_timer_reg == 0 (exact: the next value's test)
  logic todo_empty_reg;   // bcast_todo_reg == 0 one cycle ago (exact while todo_fresh_reg)
  logic evq_any_reg;      // the event queue held an event one cycle ago (a pop leaves S_IDLE)
  logic relay_dead_reg;   // the relayed TRANSFER's owner gone / restarted / deadline (late)
  logic pl_dead_reg;      // the pull's peer gone / restarted / its time up (late)
  logic cu_pend_any_reg;  // cu_pending_reg != 0 one cycle ago
  logic host_valid_reg;   // a host command waits (one cycle ago; AXI-Stream holds it until
                          // S_HOST takes it, and S_HOST never returns to S_IDLE at once)
  logic cu_stop_reg;      // the catch-up walk is over, one cycle ago (a SCAN leaves S_IDLE;
                          // a walk's start clears it)

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
  function automatic logic [31:0] abs_diff(input logic [31:0] a, input logic [31:0] b);
    abs_diff = a > b ? a - b : b - a;
  endfunction
  function automatic logic [IDX_W-1:0] beats_of(input logic [15:0] len);
    beats_of = IDX_W'((17'(len) + 17'd63) >> 6);
  endfunction
  // count of trailing zeros (WIN if none)
  function automatic logic [WB-1:0] ctz(input logic [WIN-1:0] v);
    ctz = WB'(WIN);
    for (int i = WIN - 1; i >= 0; i--) if (v[i]) ctz = WB'(i);
  endfunction
  // bits [0, n) set
  function automatic logic [WIN-1:0] below(input logic [WB-1:0] n);
    for (int i = 0; i < WIN; i++) below[i] = WB'(i) < n;
  endfunction
  // v >> n with n in 0..WIN (WIN gives 0)
  function automatic logic [WIN-1:0] shr(input logic [WIN-1:0] v, input logic [WB-1:0] n);
    shr = n[WB-1] ? '0 : v >> n[WB-2:0];
  endfunction

  // the same for the receive map
  function automatic logic [RXW-1:0] shr_rx(input logic [RXW-1:0] v, input logic [RB-1:0] n);
    shr_rx = n[RB-1] ? '0 : v >> n[RB-2:0];
  endfunction

  // member with a known epoch (the kernel's up_ without the down state)
  // (an index, not a loop over CARDS compares: Yosys's proc pass expands such a loop into
  // one signal per iteration for every call)
  function automatic logic known(input logic [7:0] p, input logic [CARDS-1:0] pe_known);
    known = 32'(p) < CARDS && pe_known[p[CW-1:0]];
  endfunction

  // Kept in flops so `epoch_known` is one LUT level from registers: the members (the
  // configuration, registered) and which peers' epochs are nonzero (set where an epoch is
  // learnt, cleared where it is forgotten), instead of 32 compares of the epoch table.
  logic [CARDS-1:0] member_reg, pe_known_reg;
  always_ff @(posedge clk)
    for (int i = 0; i < CARDS; i++) member_reg[i] <= peers[i] && 8'(i) != card_id;
  logic [CARDS-1:0] member, epoch_known, can_send;
  always_comb begin
    member = member_reg;
    for (int i = 0; i < CARDS; i++) begin
      // live: epoch known and not declared down (the kernel's up_)
      epoch_known[i] = member_reg[i] && pe_known_reg[i] && peer_up_reg[i];
      can_send[i] = epoch_known[i] && !win_full_reg[i];
    end
  end
  wire any_unknown = (member & ~epoch_known) != '0;
  logic [31:0] hello_idle;  // hello_cycles x 16 (the kernel's kIdleHelloFactor), saturated
  always_comb hello_idle = hello_cycles[31:28] != 4'h0 ? 32'hFFFFFFFF : {hello_cycles[27:0], 4'h0};

  // The received frame's header fields.
  // The header of the frame in rxbuf; fver and crc were checked (bp_frame_check), so
  // some bits are not read here.
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
  wire [WIN-1:0] rx_sack = rh[F_SACK+:WIN];
  wire [511:0] rx_entry = rxbuf[1];
  wire [CW-1:0] rs = rx_src[CW-1:0];
  // S_RX_LOOK: the sender's state
  logic [31:0] pe_src_reg, rxb_src_reg, txn_src_reg, una_src_reg;
  logic [RXW-1:0] rxm_src_reg;
  logic [WIN-1:0] outm_src_reg, rsnt_src_reg;
  logic fd_src_reg;
  // S_RX_CMP: the compares
  logic f_stale_reg, f_restart_reg, f_learn_reg, f_hello_reply_reg, f_dst_epoch_bad_reg, f_xpeer_reg;
  logic f_req_match_reg, f_malformed_reg, f_up_reg, f_busy_reg, f_relay_match_reg, f_ackish_reg, f_pull_match_reg;
  logic [WB-1:0] offa_reg, nout_reg;
  logic [WIN_LOG2-1:0] xoff_reg;
  logic sack_ok_reg, rtt_ok_reg, una_gt_reg, gap_big_reg;
  logic [RXW_LOG2-1:0] gap_reg;
  logic [31:0] off_b_reg, off_u_reg;
  // the frame's type and a few field tests as flags (S_RX_CMP), so the decision in S_RX_DO
  // starts at single flops
  logic ty_hello_reg, ty_update_reg, ty_delete_reg, ty_transfer_reg, ty_treq_reg, ty_tres_reg, ty_pull_reg;
  logic ty_presp_reg, seq0_reg, st_ok_reg, relay_src_reg, pull_src_reg;
  // S_RX_ACK
  logic [WIN-1:0] outn_reg;
  logic [RXW-1:0] map1_reg;
  logic [31:0] base1_reg;
  logic rtt_ok2_reg, xdone_reg, neg_reg, inwin_reg, fast_cand_reg;
  logic acc_base_reg;  // the frame is accepted unless it is a duplicate
  logic [RXW_LOG2-1:0] offw_reg;
  // S_RX_UNA
  logic [WB-1:0] adv_reg;
  logic [WIN-1:0] outsh_reg, rsntsh_reg;
  logic [RXW-1:0] m1_reg;
  logic dup_reg, fast_reg;
  // S_RX_ACK: released frames are every seq below the ack and the sacked ones
  // (una-relative), except the TRANSFER in flight, which only its outcome ACK finishes.
  // (Computed from registers outside the engine's process, which only registers them.)
  logic [WIN-1:0] ack_rel, ack_prot, ack_outn;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [2*WIN-1:0] ack_sk;  // the sack shifted to una-relative; bits past the window drop
  /* verilator lint_on UNUSEDSIGNAL */
  logic ack_xdone, ack_rtt_ok;
  always_comb begin
    ack_sk = {{WIN{1'b0}}, rx_sack} << offa_reg;
    ack_prot = f_xpeer_reg ? (WIN'(1) << xoff_reg) : '0;
    ack_xdone = f_xpeer_reg && f_ackish_reg && f_req_match_reg;
    ack_rel = (below(offa_reg) | (sack_ok_reg ? ack_sk[WIN-1:0] : '0)) & below(nout_reg);
    ack_rel = (ack_rel & ~ack_prot) | (ack_xdone ? ack_prot : '0);
    ack_outn = outm_src_reg & ~ack_rel;
    // the frame just below the ack was outstanding and never resent: a clean sample
    ack_rtt_ok = rtt_ok_reg && outm_src_reg[WIN_LOG2'(offa_reg - 1'b1)] &&
                 !rsnt_src_reg[WIN_LOG2'(offa_reg - 1'b1)] && !ack_prot[WIN_LOG2'(offa_reg - 1'b1)];
  end
  // S_RX_UNA: how far the oldest unacked frame advances; is the seq a duplicate; is the
  // frame accepted (marked in the receive map)
  logic [WB-1:0] una_adv;
  logic [WIN-1:0] una_outsh, una_rsntsh;
  logic una_dup, una_acc;
  always_comb begin
    una_adv = outn_reg == '0 ? nout_reg : ctz(outn_reg);
    una_outsh = shr(outn_reg, una_adv);
    una_rsntsh = shr(rsnt_src_reg, una_adv);
    una_dup = neg_reg || (inwin_reg && map1_reg[offw_reg]);
    una_acc = acc_base_reg && !una_dup;
  end
  // S_RX_MAP: the receive window after this frame, the new oldest unacked seq
  logic [RB-1:0] rx_t_reg;  // received seqs in a row at the new base (S_RX_CNT)
  // the find-first over RXW bits in two registered steps: per group of 8, all received and
  // the first hole (S_RX_WIN), then the first group with a hole (S_RX_CNT)
  localparam int RG = RXW / 8;
  logic [RG-1:0] grp_full_reg;
  logic [3*RG-1:0] grp_hole_reg;
  function automatic logic [2:0] ctz8(input logic [7:0] v);
    ctz8 = 3'h0;
    for (int i = 7; i >= 0; i--) if (v[i]) ctz8 = 3'(i);
  endfunction
  function automatic logic [RB-1:0] first_hole(input logic [RG-1:0] full, input logic [3*RG-1:0] hole);
    first_hole = RB'(RXW);
    for (int g = RG - 1; g >= 0; g--) if (!full[g]) first_hole = RB'(g * 8) | RB'(hole[3*g+:3]);
  endfunction
  logic [31:0] base_new_reg, una_new_reg;
  logic [RXW-1:0] map_new_reg;
  // the sender joined: does this card catch it up (rule 6)? (a HELLO says passive itself)
  logic cu_push_reg;  // (S_RX_CMP)

  // a frame to send: header (ctl_frame or the slot's) and its per-transmission fields
  logic [511:0] d_hdr_reg;
  logic [31:0] d_dep_reg, d_ack_reg, d_una_reg;
  logic [RXW-1:0] d_sack_reg;

  // Per-transmission header fields, as the kernel's transmit() fills them.
  function automatic logic [511:0] stamp(input logic [511:0] h, input logic [7:0] me, input logic [31:0] dep,
                                         input logic [31:0] ack, input logic [31:0] una, input logic [RXW-1:0] sack,
                                         input logic [31:0] ep);
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
    stamp[F_SACK+:RXW] = uni ? sack : '0;
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
  function automatic logic [511:0] result_beat(input logic [511:0] e, input logic [7:0] op, input logic [31:0] tag,
                                               input logic [7:0] st, input logic [7:0] dest, input logic [7:0] me);
    result_beat = e;
    result_beat[H_OP+:8] = op;
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

  // ---- outputs ------------------------------------------------------------------------
  logic [511:0] tx_beat;
  always_comb begin
    tx_beat = (idx_reg == '0) ? tx_hdr_reg : (tx_from_rt_reg ? rtbuf[idx_reg] : tx_stage_beat);
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
  assign m_tbl_host = pend_reg == P_RERUN;

  logic [31:0] crc_out;
  bp_crc32 crc_i (
      .crc_in (idx_reg == '0 ? 32'hFFFFFFFF : crc_reg),
      .data   (tx_beat),
      .crc_out(crc_out)
  );

  // frame RAM: one write port (first transmission, S_TX_CRC), one registered read port
  always_ff @(posedge clk) begin
    if (state_reg == S_TX_CRC && tx_store_reg)
      rtx_ram[{tx_slot_reg, BW'(idx_reg)}] <= idx_reg == '0 ? d_hdr_reg : tx_stage_beat;
    rtx_q <= rtx_ram[rtx_raddr_reg];
  end

  // ---- the engine ---------------------------------------------------------------------
  // next peer of a replicate fan-out, registered: the find-first over CARDS bits is not
  // in front of the fan-out's decisions. todo_fresh_reg says it reflects bcast_todo_reg
  // (it lags a write of bcast_todo_reg by one cycle; S_NEXT_PEER waits that cycle).
  // (the lowest set bit isolated by a carry chain, x & -x, then encoded by OR trees: no
  // priority chain over CARDS bits)
  logic [7:0] next_peer, next_peer_reg;
  logic todo_fresh_reg, fan_ready_reg;
  logic [CARDS-1:0] todo_low;
  always_comb begin
    todo_low = bcast_todo_reg & (~bcast_todo_reg + CARDS'(1));
    next_peer = '0;
    for (int i = 0; i < CARDS; i++) if (todo_low[i]) next_peer = next_peer | 8'(i);
    if (bcast_todo_reg == '0) next_peer = BROADCAST;
  end

  // Destinations of the event in ev_hdr_reg (S_EV_DEST). The mode's: replicate = every
  // member, hub = the hub (none on the hub itself), transfer = none. The writer's (rule
  // 4): a consumed single-use entry written by another card that still holds a copy.
  wire [7:0] ev_op = ev_hdr_reg[H_OP+:8];
  wire [7:0] ev_writer = ev_hdr_reg[H_VERSION+:8];
  wire ev_consumed = ev_op == OP_TAKE || ev_op == OP_GET;
  wire ev_single = (ev_hdr_reg[H_FLAGS+:8] & FL_SINGLE_USE) != 8'h0;
  // a host GET/TAKE miss in hub mode (sessnic_top hands it here instead of to the host)
  wire ev_pull = ev_consumed && (ev_hdr_reg[H_STATUS+:8] == ST_MISS || ev_hdr_reg[H_STATUS+:8] == ST_EXPIRED);
  logic [CARDS-1:0] ev_mode_dest, ev_writer_dest;
  always_comb begin
    for (int i = 0; i < CARDS; i++) begin
      ev_mode_dest[i] = member[i] && ((mode == MODE_REPLICATE && !passive_reg[i]) || (mode == MODE_HUB && hub_card == 8'(i)));
      ev_writer_dest[i] = member[i] && ev_consumed && ev_single && ev_writer == 8'(i) &&
                          (mode == MODE_TRANSFER || (mode == MODE_HUB && hub_card != 8'(i)));
    end
  end

  wire [7:0] tbl_status = s_tbl_tdata[H_STATUS+:8];
  wire tbl_stored = tbl_st_reg == ST_OK || tbl_st_reg == ST_EVICTED || tbl_st_reg == ST_STALE;

  // Frame headers, table commands and sizes the engine's states register, computed
  // outside its process (one copy each; the process only selects among them).
  logic [511:0] hello_bcast_hdr;
  always_comb hello_bcast_hdr = ctl_frame(T_HELLO, BROADCAST, 32'h0, {7'h0, any_unknown});
  logic [511:0] host_pull_hdr;
  always_comb host_pull_hdr = ctl_frame(T_PULL, res_reg[C_OWNER+:8], host_tag_reg, 8'h0);
  logic [511:0] host_treq_hdr;
  always_comb host_treq_hdr = ctl_frame(T_TRANSFER_REQ, res_reg[C_OWNER+:8], host_tag_reg, 8'h0);
  logic [511:0] host_key_beat;
  always_comb host_key_beat = export_cmd(res_reg, 32'h0);
  logic [511:0] host_export_cmd;
  always_comb host_export_cmd = export_cmd(res_reg, tbl_tag_reg);
  logic [511:0] rx_hello_hdr;
  always_comb rx_hello_hdr = ctl_frame(T_HELLO, rx_src, 32'h0, 8'h0);
  logic [511:0] rx_ack_hdr;
  always_comb rx_ack_hdr = ctl_frame(T_ACK, rx_src, 32'h0, 8'h0);
  logic [IDX_W-1:0] rx_entry_beats;
  always_comb rx_entry_beats = beats_of(rx_entry[H_BLOB_LEN+:16]);
  logic [511:0] rx_export_cmd;
  always_comb rx_export_cmd = export_cmd(rx_entry, tbl_tag_reg);
  logic [511:0] ap_xfer_ack_hdr;
  always_comb ap_xfer_ack_hdr = ctl_frame(T_ACK, ap_src_reg, ap_seq_reg, tbl_stored ? ST_OK : tbl_st_reg);
  logic [511:0] ap_ack_hdr;
  always_comb ap_ack_hdr = ctl_frame(T_ACK, ap_src_reg, 32'h0, 8'h0);
  logic [511:0] ap_nack_hdr;
  always_comb ap_nack_hdr = ctl_frame(T_NACK, ap_src_reg, ap_seq_reg, tbl_st_reg);
  logic [511:0] xfer_frame_hdr;
  always_comb xfer_frame_hdr = ctl_frame(T_TRANSFER, host_dest_reg, host_tag_reg, 8'h0);
  logic [IDX_W-1:0] entry_blob_beats;
  always_comb entry_blob_beats = beats_of(tx_entry_reg[H_BLOB_LEN+:16]);
  logic [511:0] pull_resp_hdr;
  always_comb pull_resp_hdr = ctl_frame(T_PULL_RESP, ap_src_reg, pr_req_reg, tbl_st_reg);
  logic [511:0] fan_hdr;
  always_comb fan_hdr = ctl_frame(fan_type_reg, next_peer_reg, 32'h0, 8'h0);
  logic [511:0] ev_key_beat;
  always_comb ev_key_beat = export_cmd(ev_hdr_reg, 32'h0);
  logic [511:0] hub_pull_hdr;
  always_comb hub_pull_hdr = ctl_frame(T_PULL, hub_card, ev_hdr_reg[H_TAG+:32], 8'h0);
  logic [511:0] ev_export_cmd;
  always_comb ev_export_cmd = export_cmd(ev_hdr_reg, tbl_tag_reg);
  logic [511:0] stamped_hdr;
  always_comb stamped_hdr = stamp(d_hdr_reg, card_id, d_dep_reg, d_ack_reg, d_una_reg, d_sack_reg, epoch);
  logic [511:0] tres_hdr;
  always_comb tres_hdr = ctl_frame(T_TRANSFER_RESULT, res_origin_reg, res_tag_reg, res_st_reg);
  logic [IDX_W-1:0] d_hdr_beats;
  always_comb d_hdr_beats = beats_of(d_hdr_reg[F_PAYLOAD_LEN+:16]);
  // the kernel's rto_of(): base << backoff, at most rto << 6 (tm_sh3_reg: the shift)
  wire [38:0] tm_cap = {7'h0, rto_cycles} << 6;
  logic [511:0] result_hdr;
  always_comb
    result_hdr = result_beat(res_entry_reg ? xfer_entry_reg :
                             (res_relay_reg ? relay_hdr_reg : (res_rx_reg ? rxbuf[1] : res_reg)),
                             res_pull_reg ? OP_PULL : OP_TRANSFER, res_tag_reg, res_st_reg, res_dest_reg, card_id);

  // Entry beats for the wire. A key for PULL / TRANSFER_REQ (the host's or a hub pull's);
  // an exported entry (the table's response minus host-only fields); a DELETE's entry:
  // key, ctx, tombstone version (a TAKE / GET's is in aux) and expiry, no blob.
  logic [511:0] host_get_beat, host_treq_beat, ev_get_beat, tbl_entry_beat, ev_delete_beat;
  always_comb begin
    host_get_beat = host_key_beat;
    host_get_beat[H_OP+:8] = OP_GET;
    host_treq_beat = host_key_beat;
    host_treq_beat[H_OP+:8] = OP_TRANSFER;
    ev_get_beat = ev_key_beat;
    ev_get_beat[H_OP+:8] = OP_GET;
    tbl_entry_beat = s_tbl_tdata;
    tbl_entry_beat[H_OP+:8] = OP_PUT;
    tbl_entry_beat[H_STATUS+:8] = 8'h0;
    tbl_entry_beat[H_TAG+:32] = 32'h0;
    tbl_entry_beat[H_AUX+:64] = 64'h0;
    ev_delete_beat = ev_hdr_reg;
    ev_delete_beat[H_OP+:8] = OP_DEL;
    ev_delete_beat[H_STATUS+:8] = 8'h0;
    ev_delete_beat[H_TAG+:32] = 32'h0;
    ev_delete_beat[H_AUX+:64] = 64'h0;
    ev_delete_beat[H_FLAGS+:8] = FL_TOMBSTONE;
    ev_delete_beat[H_BLOB_LEN+:16] = 16'h0;
    if (ev_op != OP_DEL) ev_delete_beat[H_VERSION+:64] = ev_hdr_reg[H_AUX+:64];
  end

  // The first beat of a host TRANSFER / PULL, seen in S_IDLE; S_HOST answers or starts it.
  // off: the engine is disabled, so S_HOST answers FAILED.
  task automatic take_host_header(input logic off);
    host_tag_reg <= s_host_tdata[H_TAG+:32];
    host_dest_reg <= s_host_tdata[C_DEST+:8];
    host_deadline_reg <= s_host_tdata[H_EXPIRY+:32];
    res_reg <= s_host_tdata;
    host_bad_reg <= s_host_tdata[H_KEY_LEN+:8] == 8'h0 || s_host_tdata[H_KEY_LEN+:8] > 8'd32 ||
                    s_host_tdata[H_BLOB_LEN+:16] != 16'h0 || !s_host_tlast ||
                    (s_host_tdata[H_OP+:8] != OP_TRANSFER && s_host_tdata[H_OP+:8] != OP_PULL);
    host_off_reg <= off;
    host_pull_reg <= s_host_tdata[H_OP+:8] == OP_PULL;
    host_relay_reg <= s_host_tdata[C_OWNER+:8] != BROADCAST && s_host_tdata[C_OWNER+:8] != card_id;
    xfer_origin_reg <= BROADCAST;
    state_reg <= S_HOST;
  endtask

  // The TRANSFER in flight fails (its deadline passed, its destination went down or
  // restarted): FAILED to whoever asked (the host, or the TRANSFER_REQ's origin). The
  // frame stays in its slot as a plain reliable frame until acked. One copy for the
  // three places that end a transfer this way.
  task automatic fail_xfer_in_flight();
    xfer_valid_reg <= 1'b0;
    c_xfail_reg <= c_xfail_reg + 1'b1;
    res_entry_reg <= 1'b1;
    res_origin_reg <= xf_origin_reg;
    res_tag_reg <= xfer_req_reg;
    res_st_reg <= ST_FAILED;
    res_dest_reg <= xfer_peer_reg;
    state_reg <= S_RES_BUILD;
  endtask

  always_ff @(posedge clk) begin
    next_peer_reg <= next_peer;
    fan_ready_reg <= (todo_low & ~(epoch_known & win_full_reg)) != '0;
    todo_fresh_reg <= 1'b1;  // cleared below in every cycle that writes bcast_todo_reg
    todo_empty_reg <= bcast_todo_reg == '0;
    hello_due_reg <= hello_timer_reg <= 32'd1;  // (the HELLO branch below overrides: reloaded)
    evq_any_reg <= !evq_empty;
    relay_dead_reg <= relay_valid_reg && (relay_kill_reg || relay_deadline_hit_reg || !known(relay_owner_reg, epoch_known));
    pl_dead_reg <= pl_valid_reg && (pl_kill_reg || pl_timeout_reg || !known(pl_peer_reg, epoch_known));
    cu_pend_any_reg <= cu_pending_reg != '0;
    host_valid_reg <= s_host_tvalid && !s_host_tready;
    /* verilator lint_off UNSIGNED */  // (constant when CATCHUP_SLOTS = 0: no walk starts)
    cu_stop_reg <= (cu_dest_reg & epoch_known) == '0 || cu_idx_reg >= 32'(CATCHUP_SLOTS);
    /* verilator lint_on UNSIGNED */
    if (hello_timer_reg != 0) hello_timer_reg <= hello_timer_reg - 1'b1;
    cyc_reg <= cyc_reg + 1'b1;
    for (int i = 0; i < CARDS; i++) win_full_reg[i] <= (tx_next[i] - tx_una[i]) >= 32'(WIN);
    cu_ready_reg <= (cu_dest_reg & epoch_known & win_full_reg) == '0;
    // Retransmit timer scan: one peer per cycle, in registered steps so no compare sits in
    // front of the engine's decisions; a found timeout waits in tmo_* for S_IDLE, which
    // checks that it still holds (the frame was not acked or resent meanwhile).
    tm_p1_reg <= tm_p0_reg;
    tm_out1_reg <= epoch_known[tm_p0_reg] && tx_una[tm_p0_reg] != tx_next[tm_p0_reg];
    tm_sent1_reg <= una_sent[tm_p0_reg];
    tm_est1_reg <= (srtt[tm_p0_reg] >> 3) + rttvar[tm_p0_reg];
    tm_bo1_reg <= backoff[tm_p0_reg];
    tm_p2_reg <= tm_p1_reg;
    tm_out2_reg <= tm_out1_reg;
    tm_sent2_reg <= tm_sent1_reg;
    tm_base2_reg <= tm_est1_reg < rto_cycles ? rto_cycles : tm_est1_reg;
    tm_bo2_reg <= tm_bo1_reg;
    tm_p3_reg <= tm_p2_reg;
    tm_out3_reg <= tm_out2_reg;
    tm_sent3_reg <= tm_sent2_reg;
    tm_sh3_reg <= {7'h0, tm_base2_reg} << tm_bo2_reg;
    tm_p4_reg <= tm_p3_reg;
    tm_out4_reg <= tm_out3_reg;
    tm_sent4_reg <= tm_sent3_reg;
    tm_elapsed4_reg <= cyc_reg - tm_sent3_reg;
    tm_rto4_reg <= tm_sh3_reg > tm_cap ? tm_cap[31:0] : tm_sh3_reg[31:0];
    if (!tmo_valid_reg) begin
      tm_p0_reg <= tm_p0_reg == CW'(CARDS - 1) ? '0 : tm_p0_reg + 1'b1;
      if (tm_out4_reg && tm_elapsed4_reg >= tm_rto4_reg) begin
        tmo_valid_reg <= 1'b1;
        tmo_peer_reg <= tm_p4_reg;
        tmo_sent_reg <= tm_sent4_reg;
      end
    end
    deadline_hit_reg <= xfer_valid_reg && xfer_deadline_reg != 32'h0 && now >= xfer_deadline_reg;
    relay_deadline_hit_reg <= relay_valid_reg && relay_deadline_reg != 32'h0 && now >= relay_deadline_reg;
    pl_timeout_reg <= pl_valid_reg && ((pl_deadline_reg != 32'h0 && now >= pl_deadline_reg) ||
                                       (cyc_reg - pl_start_reg) > {rto_cycles[23:0], 8'h0});
    rtt_go2_reg <= 1'b0;
    rtt_go3_reg <= 1'b0;
    if (rtt_go_reg) begin
      rtt_go_reg <= 1'b0;
      rtt_go2_reg <= 1'b1;
      backoff[rtt_peer_reg] <= '0;  // a clean sample: the path works at the estimate
      rtt_srtt_q_reg <= srtt[rtt_peer_reg];
      rtt_var_q_reg <= rttvar[rtt_peer_reg];
    end
    if (rtt_go2_reg) begin
      rtt_go3_reg <= 1'b1;
      rtt_first_reg <= rtt_srtt_q_reg == 32'h0;
      rtt_srtt_new_reg <= rtt_srtt_q_reg == 32'h0 ? (rtt_m_reg << 3) | 32'h1 :
                          (rtt_srtt_q_reg - (rtt_srtt_q_reg >> 3) + rtt_m_reg) | 32'h1;
      rtt_var_part_reg <= rtt_srtt_q_reg == 32'h0 ? rtt_m_reg << 1 : rtt_var_q_reg - (rtt_var_q_reg >> 2);
      rtt_dev_reg <= abs_diff(rtt_m_reg, rtt_srtt_q_reg >> 3);
    end
    if (rtt_go3_reg) begin
      srtt[rtt_peer_reg] <= rtt_srtt_new_reg;
      rttvar[rtt_peer_reg] <= rtt_first_reg ? rtt_var_part_reg : rtt_var_part_reg + rtt_dev_reg;
    end
    if (ev_valid) begin
      if (!evq_full) begin
        evq[evq_wr_reg[EVQ_LOG2-1:0]] <= ev_tdata;
        evq_wr_reg <= evq_wr_reg + 1'b1;
      end else c_notsent_reg <= c_notsent_reg + 1'b1;
    end

    case (state_reg)
      // The per-peer tables are cleared by this walk (CARDS cycles after reset) rather than
      // all at once: one write port per table instead of CARDS, so they stay plain arrays
      // (Yosys's proc pass expanded the all-at-once reset into CARDS x 12 write ports).
      S_INIT: begin
        peer_epoch[init_peer_reg] <= 32'h0;
        tx_next[init_peer_reg] <= 32'h1;
        tx_una[init_peer_reg] <= 32'h1;
        out_map[init_peer_reg] <= '0;
        rsnt_map[init_peer_reg] <= '0;
        una_sent[init_peer_reg] <= '0;
        una_retries[init_peer_reg] <= '0;
        rx_base[init_peer_reg] <= 32'h1;
        rx_map[init_peer_reg] <= '0;
        srtt[init_peer_reg] <= 32'h0;
        rttvar[init_peer_reg] <= 32'h0;
        backoff[init_peer_reg] <= '0;
        init_peer_reg <= init_peer_reg + 1'b1;
        if (init_peer_reg == CW'(CARDS - 1)) state_reg <= S_IDLE;
      end

      S_IDLE: begin
        if (s_rx_tvalid) begin  // disabled: received frames are drained (rx_unhandled)
          state_reg <= S_RX;
          idx_reg <= '0;
          rx_over_reg <= 1'b0;
        end else if (!enable) begin
          // Nothing runs while disabled, but a host TRANSFER / PULL still gets its answer
          // (FAILED) instead of holding the card's command stream until the host gives up.
          if (!xfer_valid_reg && !relay_valid_reg && !pl_valid_reg && host_valid_reg) take_host_header(1'b1);
        end else if (deadline_hit_reg) begin
          // the host TRANSFER's deadline (its expiry field, card clock) passed: FAILED.
          // The frame stays in its slot as a plain reliable frame until acked.
          deadline_hit_reg <= 1'b0;
          fail_xfer_in_flight();
        end else if (frx_valid_reg) begin
          // fast retransmit of the peer's oldest frame (its sack showed the hole)
          frx_valid_reg <= 1'b0;
          rc_peer_reg <= frx_peer_reg;
          rc_fast_reg <= 1'b1;
          state_reg <= S_RTX_CHECK;
        end else if (tmo_valid_reg) begin
          tmo_valid_reg <= 1'b0;
          rc_peer_reg <= tmo_peer_reg;
          rc_fast_reg <= 1'b0;
          state_reg <= S_RTX_CHECK;
        end else if (hello_due_reg) begin
          // Liveness rides on traffic; once every member is up a HELLO only re-announces
          // the epoch, 16x less often (the kernel's kIdleHelloFactor).
          hello_timer_reg <= any_unknown ? hello_cycles : hello_idle;
          hello_due_reg <= 1'b0;  // (hello_cycles >= 1)
          d_hdr_reg <= hello_bcast_hdr;
          d_dep_reg <= 32'h0;
          d_ack_reg <= 32'h0;
          d_una_reg <= 32'h0;
          d_sack_reg <= '0;
          tx_n_reg <= IDX_W'(1);
          tx_ret_reg <= S_IDLE;
          tx_store_reg <= 1'b0;
          tx_from_rt_reg <= 1'b0;
          idx_reg <= '0;
          state_reg <= S_STAMP;
        end else if (todo_fresh_reg && fan_ready_reg) begin  // (fan_ready: bcast_todo_reg != 0)
          state_reg <= S_NEXT_PEER;
        end else if (relay_valid_reg && relay_dead_reg) begin
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
        end else if (pl_valid_reg && pl_dead_reg) begin
          // the pull's peer went down or restarted, or its time is up: a hub pull answers
          // the original miss, a host PULL FAILED
          pl_valid_reg <= 1'b0;
          pl_kill_reg <= 1'b0;
          pl_timeout_reg <= 1'b0;
          res_raw_reg <= pl_hub_reg;
          res_pull_reg <= 1'b1;
          res_entry_reg <= 1'b0;
          res_rx_reg <= 1'b0;
          res_reg <= pl_hdr_reg;
          res_origin_reg <= BROADCAST;
          res_tag_reg <= pl_req_reg;
          res_st_reg <= ST_FAILED;
          res_dest_reg <= pl_peer_reg;
          state_reg <= S_RES_BUILD;
        end else if (!xfer_valid_reg && !relay_valid_reg && !pl_valid_reg && todo_fresh_reg && todo_empty_reg &&
                     host_valid_reg) begin
          // host TRANSFER / PULL header
          take_host_header(1'b0);
        end else if (todo_fresh_reg && todo_empty_reg && !pl_valid_reg && evq_any_reg) begin
          evq_rd_reg <= evq_rd_reg + 1'b1;
          ev_hdr_reg <= evq[evq_rd_reg[EVQ_LOG2-1:0]];
          state_reg <= S_EV_DEST;
        end else if (todo_fresh_reg && todo_empty_reg && !cu_active_reg && cu_pend_any_reg) begin
          // a catch-up walk for the joiners so far
          cu_active_reg <= 1'b1;
          cu_stop_reg <= 1'b0;  // (its first slot follows; a walk with no live target stops after it)
          cu_dest_reg <= cu_pending_reg;
          cu_pending_reg <= '0;
          cu_idx_reg <= '0;
          c_cu_walks_reg <= c_cu_walks_reg + 1'b1;
        end else if (todo_fresh_reg && todo_empty_reg && cu_active_reg) begin
          if (cu_stop_reg) begin
            cu_active_reg <= 1'b0;  // done (a target that went down gets a new walk when back)
          end else if (cu_ready_reg) begin
            cu_dest_reg <= cu_dest_reg & epoch_known;
            pend_reg <= P_SCAN;
            tbl_hdr_reg <= '0;
            tbl_hdr_reg[H_OP+:8] <= OP_SCAN;
            tbl_hdr_reg[H_TAG+:32] <= tbl_tag_reg;
            tbl_hdr_reg[H_AUX+:64] <= {32'h0, cu_idx_reg};
            tbl_n_reg <= '0;
            idx_reg <= '0;
            cu_idx_reg <= cu_idx_reg + 1'b1;
            state_reg <= S_TBL_SEND;
          end
        end
      end

      // A resend (fast, or the timer scan's timeout): does it still hold (the peer is up,
      // its oldest frame is the one the timer saw, not acked or resent meanwhile)? The
      // lookups and compares are registered here; S_RTX_DECIDE acts on them.
      S_RTX_CHECK: begin
        rc_live_reg <= epoch_known[rc_peer_reg] && tx_una[rc_peer_reg] != tx_next[rc_peer_reg] &&
                       (rc_fast_reg || una_sent[rc_peer_reg] == tmo_sent_reg);
        rc_giveup_reg <= !rc_fast_reg && una_retries[rc_peer_reg] >= max_retries;
        rc_k_reg <= tx_una[rc_peer_reg][WIN_LOG2-1:0];
        rc_next_reg <= tx_next[rc_peer_reg];
        rc_retries_reg <= una_retries[rc_peer_reg];
        rc_backoff_reg <= backoff[rc_peer_reg];
        rc_xpeer_reg <= xfer_valid_reg && xfer_peer_reg[CW-1:0] == rc_peer_reg;
        rc_xfirst_reg <= xfer_valid_reg && xfer_peer_reg[CW-1:0] == rc_peer_reg && xfer_seq_reg == tx_una[rc_peer_reg];
        state_reg <= S_RTX_DECIDE;
      end

      S_RTX_DECIDE: begin
        state_reg <= S_IDLE;
        if (rc_live_reg && rc_giveup_reg) begin
          // give up: the peer is down (not sent to until heard again); its frames are
          // abandoned and `una` steps the receiver over them
          c_giveup_reg <= c_giveup_reg + 1'b1;
          peer_up_reg[rc_peer_reg] <= 1'b0;
          out_map[rc_peer_reg] <= '0;
          rsnt_map[rc_peer_reg] <= '0;
          tx_una[rc_peer_reg] <= rc_next_reg;
          una_retries[rc_peer_reg] <= '0;
          if (rc_xpeer_reg) fail_xfer_in_flight();
        end else if (rc_live_reg) begin
          if (!rc_fast_reg) begin
            una_retries[rc_peer_reg] <= rc_retries_reg + 1'b1;
            una_sent[rc_peer_reg] <= cyc_reg;
            if (rc_backoff_reg < 3'd6) backoff[rc_peer_reg] <= rc_backoff_reg + 1'b1;
          end
          c_rtx_reg <= c_rtx_reg + 1'b1;
          rsnt_map[rc_peer_reg][0] <= 1'b1;
          if (rc_xfirst_reg) xfer_first_reg <= 1'b0;
          rt_peer_reg <= rc_peer_reg;
          rt_k_reg <= rc_k_reg;
          rtx_raddr_reg <= {rc_peer_reg, rc_k_reg, BW'(0)};
          rt_cnt_reg <= '0;
          state_reg <= S_RTX_COPY;
        end
      end

      // A resend: the slot's beats into rtbuf (registered RAM read: beat b arrives the
      // cycle after its address), then the stamp with the peer's current fields.
      S_RTX_COPY: begin
        rt_cnt_reg <= rt_cnt_reg + 1'b1;
        rtx_raddr_reg <= {rt_peer_reg, rt_k_reg, BW'(rt_cnt_reg + 1'b1)};
        if (rt_cnt_reg != '0) rtbuf[rt_cnt_reg-1'b1] <= rtx_q;
        if (rt_cnt_reg == IDX_W'(1)) d_hdr_reg <= rtx_q;
        if (rt_cnt_reg == IDX_W'(MAX_BEATS)) state_reg <= S_RTX_GO;
      end

      S_RTX_GO: begin
        d_dep_reg <= peer_epoch[rt_peer_reg];
        d_ack_reg <= rx_base[rt_peer_reg];
        d_sack_reg <= rx_map[rt_peer_reg];
        d_una_reg <= tx_una[rt_peer_reg];
        tx_n_reg <= IDX_W'(1) + d_hdr_beats;
        tx_from_rt_reg <= 1'b1;
        tx_store_reg <= 1'b0;
        tx_ret_reg <= S_IDLE;
        idx_reg <= '0;
        state_reg <= S_STAMP;
      end

      S_HOST: begin
        // first beat was seen in S_IDLE (still on the bus: tready is asserted here)
        if (s_host_tvalid && s_host_tlast) begin
          if (host_bad_reg || host_off_reg) begin
            if (!host_pull_reg) c_xfail_reg <= c_xfail_reg + 1'b1;
            res_pull_reg <= host_pull_reg;
            res_entry_reg <= 1'b0;
            res_origin_reg <= BROADCAST;
            res_tag_reg <= host_tag_reg;
            res_st_reg <= host_bad_reg ? ST_BAD_CMD : ST_FAILED;
            res_dest_reg <= host_dest_reg;
            state_reg <= S_RES_BUILD;
          end else if (host_pull_reg) begin
            // PULL: the key to aux.owner, which exports it and answers PULL_RESP
            if (known(res_reg[C_OWNER+:8], can_send)) begin
              pl_valid_reg <= 1'b1;
              pl_hub_reg <= 1'b0;
              pl_kill_reg <= 1'b0;
              pl_peer_reg <= res_reg[C_OWNER+:8];
              pl_req_reg <= host_tag_reg;
              pl_hdr_reg <= res_reg;
              pl_deadline_reg <= host_deadline_reg;
              pl_start_reg <= cyc_reg;
              tx_entry_reg <= host_get_beat;
              nf_valid_reg <= 1'b1;
              nf_outcome_reg <= 1'b0;
              nf_peer_reg <= res_reg[C_OWNER+:8];
              nf_hdr_reg <= host_pull_hdr;
              nf_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64;
              nf_n_reg <= IDX_W'(2);
              state_reg <= S_NEXT_PEER;
            end else begin
              // not a live member (or this card), or its window is full: FAILED
              res_pull_reg <= 1'b1;
              res_entry_reg <= 1'b0;
              res_origin_reg <= BROADCAST;
              res_tag_reg <= host_tag_reg;
              res_st_reg <= ST_FAILED;
              res_dest_reg <= res_reg[C_OWNER+:8];
              state_reg <= S_RES_BUILD;
            end
          end else if (host_relay_reg) begin
            // relayed: TRANSFER_REQ (the key) to the owner, which answers TRANSFER_RESULT
            if (known(res_reg[C_OWNER+:8], can_send)) begin
              relay_valid_reg <= 1'b1;
              relay_kill_reg <= 1'b0;
              relay_hdr_reg <= res_reg;
              relay_owner_reg <= res_reg[C_OWNER+:8];
              relay_deadline_reg <= host_deadline_reg;
              tx_entry_reg <= host_treq_beat;
              nf_valid_reg <= 1'b1;
              nf_outcome_reg <= 1'b0;
              nf_peer_reg <= res_reg[C_OWNER+:8];
              nf_hdr_reg <= host_treq_hdr;
              nf_hdr_reg[F_ARG+:8] <= host_dest_reg;
              nf_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64;
              nf_n_reg <= IDX_W'(2);
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
            tbl_hdr_reg <= host_export_cmd;
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
        rxm_src_reg <= rx_map[rxbuf[0][F_SRC+:CW]];
        txn_src_reg <= tx_next[rxbuf[0][F_SRC+:CW]];
        una_src_reg <= tx_una[rxbuf[0][F_SRC+:CW]];
        outm_src_reg <= out_map[rxbuf[0][F_SRC+:CW]];
        rsnt_src_reg <= rsnt_map[rxbuf[0][F_SRC+:CW]];
        fd_src_reg <= fast_done_reg[rxbuf[0][F_SRC+:CW]];
        // first transmission of the frame just below the ack (the RTT sample)
        sent_q_reg <= sent_ram[{rxbuf[0][F_SRC+:CW], rxbuf[0][F_ACK+:WIN_LOG2] - 1'b1}];
        state_reg <= S_RX_CMP;
      end

      S_RX_CMP: begin
        f_stale_reg <= rx_over_reg || rx_epoch == 32'h0 || rx_epoch < pe_src_reg;
        f_restart_reg <= rx_epoch > pe_src_reg && pe_src_reg != 32'h0;
        f_learn_reg <= rx_epoch > pe_src_reg;
        f_up_reg <= peer_up_reg[rs];
        f_hello_reply_reg <= rx_status == 8'h1 || (rx_dst != BROADCAST && rx_dst_epoch != epoch);
        f_dst_epoch_bad_reg <= rx_dst_epoch != epoch;
        f_xpeer_reg <= xfer_valid_reg && xfer_peer_reg == rx_src;
        f_req_match_reg <= rx_req == xfer_seq_reg;
        f_ackish_reg <= rx_type == T_ACK || rx_type == T_NACK;
        ty_hello_reg <= rx_type == T_HELLO;
        cu_push_reg <= CATCHUP_SLOTS != 0 &&
                       ((mode == MODE_REPLICATE && !(rx_type == T_HELLO ? rh[F_ARG] : passive_reg[rs])) ||
                        (mode == MODE_HUB && rx_src == hub_card && card_id != hub_card));
        ty_update_reg <= rx_type == T_UPDATE;
        ty_delete_reg <= rx_type == T_DELETE;
        ty_transfer_reg <= rx_type == T_TRANSFER;
        ty_treq_reg <= rx_type == T_TRANSFER_REQ;
        ty_tres_reg <= rx_type == T_TRANSFER_RESULT;
        ty_pull_reg <= rx_type == T_PULL;
        ty_presp_reg <= rx_type == T_PULL_RESP;
        seq0_reg <= rx_seq == 32'h0;
        st_ok_reg <= rx_status == ST_OK;
        relay_src_reg <= relay_valid_reg && relay_owner_reg == rx_src;
        pull_src_reg <= pl_valid_reg && pl_peer_reg == rx_src;
        xoff_reg <= WIN_LOG2'(xfer_seq_reg - una_src_reg);
        // the ack, clamped to [una, tx_next] (an older ack releases nothing, a larger one
        // is bogus: the kernel clamps it to tx_next)
        if (rx_ack < una_src_reg) offa_reg <= '0;
        else if (rx_ack > txn_src_reg) offa_reg <= WB'(txn_src_reg - una_src_reg);
        else offa_reg <= WB'(rx_ack - una_src_reg);
        sack_ok_reg <= rx_ack >= una_src_reg && rx_ack <= txn_src_reg;
        rtt_ok_reg <= rx_ack > una_src_reg && rx_ack <= txn_src_reg;
        nout_reg <= WB'(txn_src_reg - una_src_reg);
        // the receive base after the sender's una is max(una, base) (the kernel's
        // skip_abandoned); seq is compared with both here, S_RX_ACK picks
        una_gt_reg <= rx_una > rxb_src_reg;
        gap_big_reg <= rx_una - rxb_src_reg >= 32'(RXW);
        gap_reg <= RXW_LOG2'(rx_una - rxb_src_reg);
        off_b_reg <= rx_seq - rxb_src_reg;
        off_u_reg <= rx_seq - rx_una;
        f_busy_reg <= (rx_type == T_TRANSFER_REQ && (xfer_valid_reg || bcast_todo_reg != '0)) ||
                      (rx_type == T_PULL && bcast_todo_reg != '0);
        f_pull_match_reg <= pl_valid_reg && pl_peer_reg == rx_src && pl_req_reg == rx_req;
        f_relay_match_reg <= relay_valid_reg && relay_owner_reg == rx_src && relay_hdr_reg[H_TAG+:32] == rx_req;
        f_malformed_reg <= (rx_type == T_UPDATE || rx_type == T_DELETE || rx_type == T_TRANSFER ||
                            rx_type == T_TRANSFER_REQ || rx_type == T_PULL ||
                            (rx_type == T_PULL_RESP && rx_status == ST_OK)) &&
                           (rx_plen < 16'd64 || rx_entry[H_KEY_LEN+:8] == 8'h0 || rx_entry[H_KEY_LEN+:8] > 8'd32 ||
                            rx_entry[H_BLOB_LEN+:16] != rx_plen - 16'd64);
        state_reg <= S_RX_ACK;
      end

      S_RX_ACK: begin
        // released: every seq below the ack, and the sacked ones (una-relative), except
        // the TRANSFER in flight, which only its outcome ACK finishes
        outn_reg <= ack_outn;
        xdone_reg <= ack_xdone;
        rtt_ok2_reg <= ack_rtt_ok;
        fast_cand_reg <= sack_ok_reg && rx_sack != '0;
        base1_reg <= una_gt_reg ? rx_una : rxb_src_reg;
        map1_reg <= !una_gt_reg ? rxm_src_reg : (gap_big_reg ? '0 : rxm_src_reg >> gap_reg);
        neg_reg <= una_gt_reg ? off_u_reg[31] : off_b_reg[31];
        inwin_reg <= una_gt_reg ? (off_u_reg < 32'(RXW)) : (off_b_reg < 32'(RXW));
        acc_base_reg <= !f_ackish_reg && !ty_hello_reg && !seq0_reg && !f_malformed_reg && !f_busy_reg &&
                        (una_gt_reg ? (off_u_reg < 32'(RXW)) : (off_b_reg < 32'(RXW)));
        offw_reg <= una_gt_reg ? off_u_reg[RXW_LOG2-1:0] : off_b_reg[RXW_LOG2-1:0];
        state_reg <= S_RX_UNA;
      end

      S_RX_UNA: begin
        adv_reg <= una_adv;
        outsh_reg <= una_outsh;
        rsntsh_reg <= una_rsntsh;
        // fast retransmit: the peer holds later frames but not our oldest one
        fast_reg <= fast_cand_reg && una_adv == offa_reg && una_adv < nout_reg && (una_adv != '0 || !fd_src_reg);
        dup_reg <= una_dup;
        m1_reg <= map1_reg | (una_acc ? (RXW'(1) << offw_reg) : '0);
        state_reg <= S_RX_WIN;
      end

      // the count of seqs received in a row from the base (a find-first over RXW bits)
      // registered apart from the shift and add that use it in S_RX_DO
      S_RX_WIN: begin
        for (int g = 0; g < RG; g++) begin
          grp_full_reg[g] <= &m1_reg[8*g+:8];
          grp_hole_reg[3*g+:3] <= ctz8(~m1_reg[8*g+:8]);
        end
        state_reg <= S_RX_CNT;
      end

      S_RX_CNT: begin
        rx_t_reg <= first_hole(grp_full_reg, grp_hole_reg);
        state_reg <= S_RX_MAP;
      end

      // the shift and add that use it, registered apart from S_RX_DO's decisions
      S_RX_MAP: begin
        base_new_reg <= base1_reg + 32'(rx_t_reg);
        map_new_reg <= shr_rx(m1_reg, rx_t_reg);
        una_new_reg <= una_src_reg + 32'(adv_reg);
        state_reg <= S_RX_DO;
      end

      S_RX_DO: begin
        state_reg <= S_IDLE;
        if (ty_hello_reg) passive_reg[rs] <= rh[F_ARG];  // as the kernel: before the epoch checks
        tx_store_reg <= 1'b0;
        tx_from_rt_reg <= 1'b0;
        idx_reg <= '0;
        if (f_stale_reg) begin
          c_stale_reg <= c_stale_reg + 1'b1;
        end else if (f_restart_reg) begin
          // the peer restarted: its sequence state is new, a transfer in flight to it
          // FAILS; the frame itself is dropped (the sender resends or says HELLO again)
          peer_epoch[rs] <= rx_epoch;
          pe_known_reg[rs] <= 1'b1;  // (rx_epoch > 0: not stale)
          tx_next[rs] <= 32'h1;
          tx_una[rs] <= 32'h1;
          out_map[rs] <= '0;
          rsnt_map[rs] <= '0;
          una_retries[rs] <= '0;
          fast_done_reg[rs] <= 1'b0;
          rx_base[rs] <= 32'h1;
          rx_map[rs] <= '0;
          srtt[rs] <= 32'h0;
          rttvar[rs] <= 32'h0;
          backoff[rs] <= '0;
          peer_up_reg[rs] <= 1'b1;
          c_joins_reg <= c_joins_reg + 1'b1;
          if (relay_src_reg) relay_kill_reg <= 1'b1;
          if (pull_src_reg) pl_kill_reg <= 1'b1;
          if (cu_push_reg) cu_pending_reg[rs] <= 1'b1;
          cu_dest_reg[rs] <= 1'b0;  // a walk running for its old life: a new one follows
          c_stale_reg <= c_stale_reg + 1'b1;
          if (f_xpeer_reg) begin
            fail_xfer_in_flight();
          end
        end else begin
          if (f_learn_reg) begin
            peer_epoch[rs] <= rx_epoch;  // learned
            pe_known_reg[rs] <= 1'b1;
          end
          if (!f_up_reg) begin  // first heard, or heard again after it was declared down
            peer_up_reg[rs] <= 1'b1;
            c_joins_reg <= c_joins_reg + 1'b1;
            if (cu_push_reg) cu_pending_reg[rs] <= 1'b1;
          end
          if (ty_hello_reg) begin
            if (f_hello_reply_reg) begin
              d_hdr_reg <= rx_hello_hdr;
              d_dep_reg <= rx_epoch;
              d_ack_reg <= rxb_src_reg;
              d_sack_reg <= rxm_src_reg;
              d_una_reg <= una_src_reg;
              tx_n_reg <= IDX_W'(1);
              tx_ret_reg <= S_IDLE;
              state_reg <= S_STAMP;
            end
          end else if (f_dst_epoch_bad_reg) begin
            // meant for an earlier life of this card: tell the sender our epoch
            c_stale_reg <= c_stale_reg + 1'b1;
            d_hdr_reg <= rx_hello_hdr;
            d_dep_reg <= rx_epoch;
            d_ack_reg <= rxb_src_reg;
            d_sack_reg <= rxm_src_reg;
            d_una_reg <= una_src_reg;
            tx_n_reg <= IDX_W'(1);
            tx_ret_reg <= S_IDLE;
            state_reg <= S_STAMP;
          end else begin
            // ---- acks (cumulative + selective): the new oldest unacked frame ----
            out_map[rs] <= outsh_reg;
            rsnt_map[rs] <= rsntsh_reg;
            tx_una[rs] <= una_new_reg;
            if (adv_reg != '0) begin
              // a new oldest frame: its timer starts now (the kernel re-arms the others)
              una_sent[rs] <= cyc_reg;
              una_retries[rs] <= '0;
              fast_done_reg[rs] <= 1'b0;
            end
            if (fast_reg) begin
              fast_done_reg[rs] <= 1'b1;
              frx_valid_reg <= 1'b1;
              frx_peer_reg <= rs;
            end
            if (rtt_ok2_reg) begin
              rtt_go_reg <= 1'b1;
              rtt_peer_reg <= rs;
              rtt_m_reg <= cyc_reg - sent_q_reg;
            end
            if (xdone_reg) begin
              // the outcome ACK of the TRANSFER in flight
              xfer_valid_reg <= 1'b0;
              if (xfer_first_reg) begin
                rtt_go_reg <= 1'b1;
                rtt_peer_reg <= rs;
                rtt_m_reg <= cyc_reg - xfer_sent_reg;
              end
              if (st_ok_reg) c_xok_reg <= c_xok_reg + 1'b1;
              else c_xfail_reg <= c_xfail_reg + 1'b1;
              res_entry_reg <= 1'b1;
              res_origin_reg <= xf_origin_reg;
              res_tag_reg <= xfer_req_reg;
              res_st_reg <= rx_status;
              res_dest_reg <= xfer_peer_reg;
              state_reg <= S_RES_BUILD;
            end
            // ---- receive window: una skip and this frame ----
            rx_base[rs] <= base_new_reg;
            rx_map[rs] <= map_new_reg;
            if (f_ackish_reg) begin
              // done above
            end else if (seq0_reg) begin
              c_unhandled_reg <= c_unhandled_reg + 1'b1;
            end else if (f_malformed_reg) begin
              c_unhandled_reg <= c_unhandled_reg + 1'b1;  // malformed entry (kernel: rx_bad_len)
            end else if (dup_reg) begin
              // duplicate: re-ack; a TRANSFER is re-applied to answer its outcome again
              c_dup_reg <= c_dup_reg + 1'b1;
              if (ty_transfer_reg) begin
                pend_reg <= P_APPLY_XFER;
                state_reg <= S_TBL_SEND;
              end else begin
                d_hdr_reg <= rx_ack_hdr;
                d_dep_reg <= rx_epoch;
                d_ack_reg <= base_new_reg;
                d_sack_reg <= map_new_reg;
                d_una_reg <= una_new_reg;
                tx_n_reg <= IDX_W'(1);
                tx_ret_reg <= S_IDLE;
                state_reg <= S_STAMP;
              end
            end else if (!inwin_reg) begin
              c_window_reg <= c_window_reg + 1'b1;  // beyond the receive window: resent later
            end else if (f_busy_reg) begin
              // a TRANSFER_REQ needs the transfer engine: not taken, the sender retries
              c_busy_reg <= c_busy_reg + 1'b1;
            end else begin
              if (ty_update_reg || ty_delete_reg) begin
                pend_reg <= P_APPLY;
                state_reg <= S_TBL_SEND;
              end else if (ty_transfer_reg) begin
                pend_reg <= P_APPLY_XFER;
                state_reg <= S_TBL_SEND;
              end else if (ty_treq_reg || ty_tres_reg) begin
                // ack now; then TRANSFER_REQ: export the key and transfer it to `arg` for
                // the sender (its result goes back as TRANSFER_RESULT); TRANSFER_RESULT:
                // the answer to this card's relayed host TRANSFER (a stale one is dropped)
                d_hdr_reg <= rx_ack_hdr;
                d_dep_reg <= rx_epoch;
                d_ack_reg <= base_new_reg;
                d_sack_reg <= map_new_reg;
                d_una_reg <= una_new_reg;
                tx_n_reg <= IDX_W'(1);
                tx_ret_reg <= S_IDLE;
                state_reg <= S_STAMP;
                if (ty_treq_reg) begin
                  pend_reg <= P_EXPORT_XFER;
                  host_tag_reg <= rx_req;
                  host_dest_reg <= rh[F_ARG+:8];
                  host_deadline_reg <= 32'h0;
                  xfer_origin_reg <= rx_src;
                  tx_ret_reg <= S_TBL_SEND;
                end else if (f_relay_match_reg) begin
                  relay_valid_reg <= 1'b0;
                  if (st_ok_reg) c_xok_reg <= c_xok_reg + 1'b1;
                  else c_xfail_reg <= c_xfail_reg + 1'b1;
                  res_entry_reg <= 1'b0;
                  res_relay_reg <= 1'b1;
                  res_origin_reg <= BROADCAST;
                  res_tag_reg <= rx_req;
                  res_st_reg <= rx_status;
                  res_dest_reg <= rh[F_ARG+:8];
                  tx_ret_reg <= S_RES_BUILD;
                end
              end else if (ty_pull_reg || ty_presp_reg) begin
                // ack now; then PULL: export the key, answer PULL_RESP (req = its req);
                // PULL_RESP: the answer of this card's pull (a stale one is dropped)
                d_hdr_reg <= rx_ack_hdr;
                d_dep_reg <= rx_epoch;
                d_ack_reg <= base_new_reg;
                d_sack_reg <= map_new_reg;
                d_una_reg <= una_new_reg;
                tx_n_reg <= IDX_W'(1);
                tx_ret_reg <= S_IDLE;
                state_reg <= S_STAMP;
                if (ty_pull_reg) begin
                  pend_reg <= P_EXPORT_PULL;
                  pr_req_reg <= rx_req;
                  tx_ret_reg <= S_TBL_SEND;
                end else if (f_pull_match_reg) begin
                  pl_valid_reg <= 1'b0;
                  if (st_ok_reg) begin
                    pend_reg <= P_APPLY_PULL;  // PUT with the entry's version
                    tx_ret_reg <= S_TBL_SEND;
                  end else begin
                    // the peer has no live entry: a hub pull answers the original miss,
                    // a host PULL the peer's status
                    res_raw_reg <= pl_hub_reg;
                    res_pull_reg <= 1'b1;
                    res_entry_reg <= 1'b0;
                    res_rx_reg <= 1'b0;
                    res_reg <= pl_hdr_reg;
                    res_origin_reg <= BROADCAST;
                    res_tag_reg <= pl_req_reg;
                    res_st_reg <= rx_status;
                    res_dest_reg <= pl_peer_reg;
                    tx_ret_reg <= S_RES_BUILD;
                  end
                end
              end else begin
                // reliable types outside the subset: acked, ignored
                c_unhandled_reg <= c_unhandled_reg + 1'b1;
                d_hdr_reg <= rx_ack_hdr;
                d_dep_reg <= rx_epoch;
                d_ack_reg <= base_new_reg;
                d_sack_reg <= map_new_reg;
                d_una_reg <= una_new_reg;
                tx_n_reg <= IDX_W'(1);
                tx_ret_reg <= S_IDLE;
                state_reg <= S_STAMP;
              end
            end
          end
        end
        // the table command that applies the entry (used when S_TBL_SEND follows)
        tbl_hdr_reg <= rx_entry;
        tbl_hdr_reg[H_OP+:8] <= ty_delete_reg ? OP_DEL : OP_PUT;
        tbl_hdr_reg[H_STATUS+:8] <= 8'h0;
        tbl_hdr_reg[H_TAG+:32] <= tbl_tag_reg;
        tbl_hdr_reg[H_AUX+:64] <= 64'h0;
        if (ty_delete_reg) begin
          tbl_hdr_reg[H_BLOB_LEN+:16] <= 16'h0;
          tbl_hdr_reg[H_FLAGS+:8] <= 8'h0;
        end
        tbl_n_reg <= ty_delete_reg ? '0 : rx_entry_beats;
        if (ty_treq_reg || ty_pull_reg) begin
          tbl_hdr_reg <= rx_export_cmd;
          tbl_n_reg <= '0;
        end
        // transfer mode: a PULL moves a SINGLE_USE entry (GET consumes exactly those)
        if (ty_pull_reg && mode == MODE_TRANSFER) tbl_hdr_reg[H_OP+:8] <= OP_GET;
        ap_src_reg <= rx_src;
        ap_seq_reg <= rx_seq;
      end

      S_TBL_SEND: begin
        if (m_tbl_tready) begin
          if (m_tbl_tlast) begin
            // a rerun's answer goes to the host (sessnic_top routes it by m_tbl_host)
            state_reg <= pend_reg == P_RERUN ? S_IDLE : S_TBL_WAIT;
            if (pend_reg == P_RERUN) pend_reg <= P_NONE;
            tbl_tag_reg <= tbl_tag_reg + 1'b1;
            idx_reg <= '0;
          end else idx_reg <= idx_reg + 1'b1;
        end
      end

      S_TBL_WAIT: begin
        if (s_tbl_tvalid) begin
          if (idx_reg == '0) tbl_st_reg <= tbl_status;
          if (idx_reg == '0 && pend_reg == P_SCAN) scan_tomb_reg <= (s_tbl_tdata[H_FLAGS+:8] & FL_TOMBSTONE) != 8'h0;
          if (idx_reg == '0 && pend_reg == P_EXPORT_PULL) begin
            pm_move_reg <= mode == MODE_TRANSFER && tbl_status == ST_OK && (s_tbl_tdata[H_FLAGS+:8] & FL_SINGLE_USE) != 8'h0;
            pm_lamport_reg <= s_tbl_tdata[H_AUX+sessnic_wire_pkg::CARD_BITS+:64-sessnic_wire_pkg::CARD_BITS];
          end
          if (idx_reg == '0 && (pend_reg == P_EXPORT_XFER || pend_reg == P_EXPORT_REPL || pend_reg == P_EXPORT_PULL ||
                                pend_reg == P_SCAN)) begin
            // the entry beat for the wire: response minus host-only fields
            tx_entry_reg <= tbl_entry_beat;
            if (tbl_status != ST_OK) tx_entry_reg[H_BLOB_LEN+:16] <= 16'h0;
            if (pend_reg == P_EXPORT_XFER) xfer_entry_reg <= tbl_entry_beat;
          end else if (idx_reg <= IDX_W'(SLOT_BEATS) &&
                       (pend_reg == P_EXPORT_XFER || pend_reg == P_EXPORT_REPL || pend_reg == P_EXPORT_PULL ||
                        pend_reg == P_SCAN)) begin
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
        tx_store_reg <= 1'b0;
        tx_from_rt_reg <= 1'b0;
        case (pend_reg)
          P_APPLY, P_APPLY_XFER: begin
            if (tbl_stored || (pend_reg == P_APPLY && tbl_st_reg == ST_MISS)) c_applied_reg <= c_applied_reg + 1'b1;
            else c_apfail_reg <= c_apfail_reg + 1'b1;
            if (pend_reg == P_APPLY_XFER)
              d_hdr_reg <= ap_xfer_ack_hdr;
            else if (tbl_stored || tbl_st_reg == ST_MISS) d_hdr_reg <= ap_ack_hdr;
            else d_hdr_reg <= ap_nack_hdr;
            d_dep_reg <= peer_epoch[ap_src_reg[CW-1:0]];
            d_ack_reg <= rx_base[ap_src_reg[CW-1:0]];
            d_sack_reg <= rx_map[ap_src_reg[CW-1:0]];
            d_una_reg <= tx_una[ap_src_reg[CW-1:0]];
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
            end else if (known(host_dest_reg, can_send)) begin
              xfer_valid_reg <= 1'b1;
              xfer_peer_reg <= host_dest_reg;
              xfer_req_reg <= host_tag_reg;
              xf_origin_reg <= xfer_origin_reg;
              xfer_deadline_reg <= host_deadline_reg;
              nf_valid_reg <= 1'b1;
              nf_outcome_reg <= 1'b1;
              nf_peer_reg <= host_dest_reg;
              nf_hdr_reg <= xfer_frame_hdr;
              nf_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64 + tx_entry_reg[H_BLOB_LEN+:16];
              nf_n_reg <= IDX_W'(2) + entry_blob_beats;
              state_reg <= S_NEXT_PEER;
            end else begin
              // destination down, unknown or its window full: FAILED (the kernel's can_send)
              c_xfail_reg <= c_xfail_reg + 1'b1;
              res_entry_reg <= 1'b1;
              res_origin_reg <= xfer_origin_reg;
              res_tag_reg <= host_tag_reg;
              res_st_reg <= ST_FAILED;
              res_dest_reg <= host_dest_reg;
              state_reg <= S_RES_BUILD;
            end
          end
          P_SCAN: begin
            // a live entry -> UPDATE, a tombstone -> DELETE (its version), to the targets
            if (tbl_st_reg == ST_OK) begin
              bcast_todo_reg <= cu_dest_reg & epoch_known;
              fan_type_reg <= scan_tomb_reg ? T_DELETE : T_UPDATE;
              cu_fan_reg <= 1'b1;
              todo_fresh_reg <= 1'b0;
              if (scan_tomb_reg) tx_entry_reg[H_BLOB_LEN+:16] <= 16'h0;
            end
          end
          P_EXPORT_REPL: begin
            if (tbl_st_reg == ST_OK) begin
              cu_fan_reg <= 1'b0;
              bcast_todo_reg <= ev_dest_reg & epoch_known;
              fan_type_reg <= T_UPDATE;
              todo_fresh_reg <= 1'b0;
              if ((ev_dest_reg & ~epoch_known) != '0) c_notsent_reg <= c_notsent_reg + 1'b1;
            end
          end
          P_EXPORT_PULL: begin
            // PULL_RESP to the requester: the entry if the export hit, else just the status
            if (pm_move_reg) tx_entry_reg[H_VERSION+:64] <= {pm_lamport_reg + 1'b1, ap_src_reg};
            if (known(ap_src_reg, can_send)) begin
              nf_valid_reg <= 1'b1;
              nf_outcome_reg <= 1'b0;
              nf_peer_reg <= ap_src_reg;
              nf_hdr_reg <= pull_resp_hdr;
              nf_hdr_reg[F_PAYLOAD_LEN+:16] <= tbl_st_reg == ST_OK ? 16'd64 + tx_entry_reg[H_BLOB_LEN+:16] : 16'd0;
              nf_n_reg <= tbl_st_reg == ST_OK ? IDX_W'(2) + entry_blob_beats : IDX_W'(1);
              state_reg <= S_NEXT_PEER;
            end else c_notsent_reg <= c_notsent_reg + 1'b1;
          end
          P_APPLY_PULL: begin
            if (tbl_stored) c_applied_reg <= c_applied_reg + 1'b1;
            else c_apfail_reg <= c_apfail_reg + 1'b1;
            if (tbl_stored && pl_hub_reg) begin
              // rule 3: the host's GET/TAKE again; its answer goes to the host
              pend_reg <= P_RERUN;
              tbl_hdr_reg <= pl_hdr_reg;
              tbl_hdr_reg[H_STATUS+:8] <= 8'h0;
              tbl_hdr_reg[H_VERSION+:64] <= 64'h0;
              tbl_hdr_reg[H_EXPIRY+:32] <= 32'h0;
              tbl_hdr_reg[H_FLAGS+:8] <= 8'h0;
              tbl_hdr_reg[H_BLOB_LEN+:16] <= 16'h0;
              tbl_hdr_reg[H_AUX+:64] <= 64'h0;
              tbl_n_reg <= '0;
              state_reg <= S_TBL_SEND;
            end else begin
              res_raw_reg <= pl_hub_reg;  // a hub pull that did not store: the original miss
              res_pull_reg <= 1'b1;
              res_entry_reg <= 1'b0;
              res_rx_reg <= tbl_stored;
              res_reg <= pl_hdr_reg;
              res_origin_reg <= BROADCAST;
              res_tag_reg <= pl_req_reg;
              res_st_reg <= tbl_stored ? ST_OK : tbl_st_reg;
              res_dest_reg <= pl_peer_reg;
              state_reg <= S_RES_BUILD;
            end
          end
          default: ;
        endcase
      end

      // Fan-out (one frame per destination whose window has room; S_IDLE comes back when
      // a full window opens) and the first transmission of a pending frame (nf_*).
      S_NEXT_PEER: begin
        idx_reg <= '0;
        if (nf_valid_reg) begin
          al_next_reg <= tx_next[nf_peer_reg[CW-1:0]];
          al_una_reg <= tx_una[nf_peer_reg[CW-1:0]];
          state_reg <= S_ALLOC;
        end else if (bcast_todo_reg == '0) begin
          state_reg <= S_IDLE;
        end else if (todo_fresh_reg) begin
          if (!epoch_known[next_peer_reg[CW-1:0]]) begin
            bcast_todo_reg[next_peer_reg[CW-1:0]] <= 1'b0;
            todo_fresh_reg <= 1'b0;
            c_notsent_reg <= c_notsent_reg + 1'b1;
          end else if (win_full_reg[next_peer_reg[CW-1:0]]) begin
            state_reg <= S_IDLE;  // its window is full: acks first
          end else begin
            bcast_todo_reg[next_peer_reg[CW-1:0]] <= 1'b0;
            todo_fresh_reg <= 1'b0;
            if (cu_fan_reg) c_cu_pushed_reg <= c_cu_pushed_reg + 1'b1;
            nf_valid_reg <= 1'b1;
            nf_outcome_reg <= 1'b0;
            nf_peer_reg <= next_peer_reg;
            nf_hdr_reg <= fan_hdr;
            nf_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64 + tx_entry_reg[H_BLOB_LEN+:16];
            nf_n_reg <= IDX_W'(2) + entry_blob_beats;
            // next cycle: S_NEXT_PEER sees nf_valid and allocates
          end
        end
      end

      // The frame takes seq tx_next of its peer and that seq's slot; S_TX_CRC stores it.
      S_ALLOC: begin
        nf_valid_reg <= 1'b0;
        tx_next[nf_peer_reg[CW-1:0]] <= al_next_reg + 1'b1;
        out_map[nf_peer_reg[CW-1:0]][WIN_LOG2'(al_next_reg - al_una_reg)] <= 1'b1;
        rsnt_map[nf_peer_reg[CW-1:0]][WIN_LOG2'(al_next_reg - al_una_reg)] <= 1'b0;
        if (al_next_reg == al_una_reg) begin
          // nothing was outstanding: this frame is the oldest, its timer starts now
          una_sent[nf_peer_reg[CW-1:0]] <= cyc_reg;
          una_retries[nf_peer_reg[CW-1:0]] <= '0;
          fast_done_reg[nf_peer_reg[CW-1:0]] <= 1'b0;
        end
        sent_ram[{nf_peer_reg[CW-1:0], al_next_reg[WIN_LOG2-1:0]}] <= cyc_reg;
        if (nf_outcome_reg) begin
          xfer_seq_reg <= al_next_reg;
          xfer_sent_reg <= cyc_reg;
          xfer_first_reg <= 1'b1;
        end
        d_hdr_reg <= nf_hdr_reg;
        d_hdr_reg[F_SEQ+:32] <= al_next_reg;
        d_dep_reg <= peer_epoch[nf_peer_reg[CW-1:0]];
        d_ack_reg <= rx_base[nf_peer_reg[CW-1:0]];
        d_sack_reg <= rx_map[nf_peer_reg[CW-1:0]];
        d_una_reg <= al_una_reg;
        tx_n_reg <= nf_n_reg;
        tx_store_reg <= 1'b1;
        tx_from_rt_reg <= 1'b0;
        tx_slot_reg <= {nf_peer_reg[CW-1:0], al_next_reg[WIN_LOG2-1:0]};
        tx_ret_reg <= S_NEXT_PEER;  // the rest of a fan-out
        idx_reg <= '0;
        state_reg <= S_STAMP;
      end

      // Card rules 1, 2 and 4 (docs/rtl.md "Card rules"): the destinations of one event.
      // PUT stored -> UPDATE (the entry is exported first); DEL -> DELETE with the
      // tombstone's version; TAKE / consumed single-use GET -> DELETE with the tombstone
      // version the table put in aux, and to the writer card if it still holds a copy.
      S_EV_DEST: begin
        idx_reg <= '0;
        tbl_n_reg <= '0;
        ev_dest_reg <= ev_mode_dest | ev_writer_dest;
        ev_pull_reg <= ev_pull;
        ev_put_reg <= ev_op == OP_PUT;
        ev_mode_any_reg <= ev_mode_dest != '0;
        ev_any_reg <= (ev_mode_dest | ev_writer_dest) != '0;
        ev_hub_ok_reg <= known(hub_card, can_send);
        state_reg <= S_EV_GO;
      end

      S_EV_GO: begin
        if (ev_pull_reg) begin
          // rule 3: a GET/TAKE miss on a hub-mode spoke pulls from the hub
          pl_hdr_reg <= ev_hdr_reg;
          pl_req_reg <= ev_hdr_reg[H_TAG+:32];
          pl_peer_reg <= hub_card;
          if (ev_hub_ok_reg) begin
            pl_valid_reg <= 1'b1;
            pl_hub_reg <= 1'b1;
            pl_kill_reg <= 1'b0;
            pl_deadline_reg <= 32'h0;
            pl_start_reg <= cyc_reg;
            tx_entry_reg <= ev_get_beat;
            nf_valid_reg <= 1'b1;
            nf_outcome_reg <= 1'b0;
            nf_peer_reg <= hub_card;
            nf_hdr_reg <= hub_pull_hdr;
            nf_hdr_reg[F_PAYLOAD_LEN+:16] <= 16'd64;
            nf_n_reg <= IDX_W'(2);
            state_reg <= S_NEXT_PEER;
          end else begin
            // the hub is down or unknown: the original miss
            res_raw_reg <= 1'b1;
            res_reg <= ev_hdr_reg;
            res_origin_reg <= BROADCAST;
            state_reg <= S_RES_BUILD;
          end
        end else if (ev_put_reg) begin
          if (!ev_mode_any_reg) begin
            // no destination in this mode (transfer; the hub itself): nothing to count
            state_reg <= S_IDLE;
          end else begin
            pend_reg <= P_EXPORT_REPL;
            tbl_hdr_reg <= ev_export_cmd;
            state_reg <= S_TBL_SEND;
          end
        end else begin
          // the DELETE entry beat: key, ctx, tombstone version and expiry, no blob
          tx_entry_reg <= ev_delete_beat;
          if (!ev_any_reg) begin
            // no destination in this mode (transfer; the hub itself): nothing to count
            state_reg <= S_IDLE;
          end else begin
            c_delsent_reg <= c_delsent_reg + 1'b1;
            cu_fan_reg <= 1'b0;
            bcast_todo_reg <= ev_dest_reg & epoch_known;
            fan_type_reg <= T_DELETE;
            todo_fresh_reg <= 1'b0;
            if ((ev_dest_reg & ~epoch_known) != '0) c_notsent_reg <= c_notsent_reg + 1'b1;
            state_reg <= S_NEXT_PEER;
          end
        end
      end

      S_STAMP: begin
        tx_hdr_reg <= stamped_hdr;
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
            tx_store_reg <= 1'b0;
            tx_from_rt_reg <= 1'b0;
            state_reg <= tx_ret_reg;
          end else idx_reg <= idx_reg + 1'b1;
        end
      end

      S_RES_BUILD: begin
        res_relay_reg <= 1'b0;
        if (res_origin_reg != BROADCAST) begin
          // the transfer was asked for by a peer (TRANSFER_REQ): TRANSFER_RESULT to it,
          // reliable
          if (known(res_origin_reg, can_send)) begin
            nf_valid_reg <= 1'b1;
            nf_outcome_reg <= 1'b0;
            nf_peer_reg <= res_origin_reg;
            nf_hdr_reg <= tres_hdr;
            nf_hdr_reg[F_ARG+:8] <= res_dest_reg;
            nf_n_reg <= IDX_W'(1);
            state_reg <= S_NEXT_PEER;
          end else begin
            c_notsent_reg <= c_notsent_reg + 1'b1;  // requester gone; it times out on its own
            state_reg <= S_IDLE;
          end
        end else begin
          res_pull_reg <= 1'b0;
          res_raw_reg <= 1'b0;
          res_rx_reg <= 1'b0;
          if (!res_raw_reg)
            res_reg <= result_hdr;
          state_reg <= S_RESULT;
        end
      end

      S_RESULT: begin
        if (m_res_tready) state_reg <= S_IDLE;
      end

      default: state_reg <= S_IDLE;
    endcase

    if (rst) begin
      state_reg <= S_INIT;
      pend_reg <= P_NONE;
      idx_reg <= '0;
      bcast_todo_reg <= '0;
      todo_fresh_reg <= 1'b0;
      hello_timer_reg <= '0;
      evq_wr_reg <= '0;
      evq_rd_reg <= '0;
      tbl_tag_reg <= 32'h80000000;
      init_peer_reg <= '0;
      fast_done_reg <= '0;
      win_full_reg <= '0;
      pe_known_reg <= '0;
      hello_due_reg <= 1'b1;
      relay_dead_reg <= 1'b0;
      pl_dead_reg <= 1'b0;
      evq_any_reg <= 1'b0;
      cu_pend_any_reg <= 1'b0;
      host_valid_reg <= 1'b0;
      cu_stop_reg <= 1'b1;
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
      passive_reg <= '0;
      xfer_valid_reg <= 1'b0;
      xfer_first_reg <= 1'b0;
      nf_valid_reg <= 1'b0;
      relay_valid_reg <= 1'b0;
      relay_kill_reg <= 1'b0;
      res_relay_reg <= 1'b0;
      res_pull_reg <= 1'b0;
      res_raw_reg <= 1'b0;
      res_rx_reg <= 1'b0;
      pl_valid_reg <= 1'b0;
      pl_kill_reg <= 1'b0;
      pl_timeout_reg <= 1'b0;
      cu_pending_reg <= '0;
      cu_dest_reg <= '0;
      cu_active_reg <= 1'b0;
      cu_fan_reg <= 1'b0;
      c_cu_pushed_reg <= '0;
      c_cu_walks_reg <= '0;
      res_origin_reg <= BROADCAST;
      xf_origin_reg <= BROADCAST;
      xfer_origin_reg <= BROADCAST;
      rtt_go_reg <= 1'b0;
      deadline_hit_reg <= 1'b0;
      tmo_valid_reg <= 1'b0;
      frx_valid_reg <= 1'b0;
      tm_p0_reg <= '0;
      tm_out1_reg <= 1'b0;
      tm_out2_reg <= 1'b0;
      tm_out3_reg <= 1'b0;
      tm_out4_reg <= 1'b0;
      rtt_go2_reg <= 1'b0;
      rtt_go3_reg <= 1'b0;
      tx_store_reg <= 1'b0;
      tx_from_rt_reg <= 1'b0;
      cyc_reg <= '0;
    end
  end

endmodule
`resetall
