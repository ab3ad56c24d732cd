// Backplane receive front end: the frame checks of hls/backplane_sync.hpp (on_frame),
// in the kernel's order, before a frame may touch any sequence state or the table:
//   1. fver != FRAME_VERSION                                   -> bad_version
//   2. more beats than a frame can hold, payload_len > 64 + SLOT_BYTES, or a beat count
//      other than 1 + ceil(payload_len/64)                     -> bad_len
//   3. CRC-32 over every beat with the crc field zero          -> bad_crc
//   4. src not a member (or this card), dst neither this card nor BROADCAST, unknown
//      frame type, or a broadcast that is not a HELLO          -> not_mine
// A frame is stored (store-and-forward, at most 2 + SLOT_BYTES/64 beats) while its CRC
// is computed one beat per cycle; a frame that passes is then sent on m_frame, one that
// fails is dropped and counted. Every frame also yields one verdict pulse.
`resetall
`default_nettype none
module bp_frame_check #(
    parameter int CARDS = 8,
    parameter int SLOT_BYTES = 256
) (
    input wire logic clk,
    input wire logic rst,

    input wire logic [      7:0] card_id,
    input wire logic [CARDS-1:0] peers,    // member bitmap (bit = card id)

    input  wire logic [511:0] s_frame_tdata,
    input  wire logic         s_frame_tlast,
    input  wire logic         s_frame_tvalid,
    output logic         s_frame_tready,

    output logic [511:0] m_frame_tdata,
    output logic         m_frame_tlast,
    output logic         m_frame_tvalid,
    input  wire logic         m_frame_tready,

    output logic       verdict_valid,  // one cycle per received frame
    output logic [2:0] verdict,        // VERDICT_* below

    output logic [31:0] rx_frames,
    output logic [31:0] rx_bad_version,
    output logic [31:0] rx_bad_len,
    output logic [31:0] rx_bad_crc,
    output logic [31:0] rx_not_mine
);
  initial begin
    if (CARDS < 1 || CARDS > 255) $fatal(1, "bp_frame_check: CARDS must be 1..255");
    if (SLOT_BYTES < 64 || SLOT_BYTES % 64 != 0) $fatal(1, "bp_frame_check: SLOT_BYTES must be whole 64-byte beats");
  end

  localparam logic [2:0] VERDICT_OK = 3'd0;
  localparam logic [2:0] VERDICT_BAD_VERSION = 3'd1;
  localparam logic [2:0] VERDICT_BAD_LEN = 3'd2;
  localparam logic [2:0] VERDICT_BAD_CRC = 3'd3;
  localparam logic [2:0] VERDICT_NOT_MINE = 3'd4;

  localparam int MAX_BEATS = 2 + SLOT_BYTES / 64;  // header + entry + blob
  localparam int MAX_PAYLOAD = 64 + SLOT_BYTES;
  localparam int IDX_BITS = $clog2(MAX_BEATS + 1);
  // Frame fields (package-qualified: Yosys 0.23 has no `import`).
  localparam int F_FVER = sessnic_wire_pkg::FRAME_FVER_LSB;
  localparam int F_FTYPE = sessnic_wire_pkg::FRAME_FTYPE_LSB;
  localparam int F_SRC = sessnic_wire_pkg::FRAME_SRC_LSB;
  localparam int F_DST = sessnic_wire_pkg::FRAME_DST_LSB;
  localparam int F_PAYLOAD_LEN = sessnic_wire_pkg::FRAME_PAYLOAD_LEN_LSB;
  localparam int F_CRC = sessnic_wire_pkg::FRAME_CRC_LSB;
  localparam logic [7:0] FRAME_VERSION = 8'(sessnic_wire_pkg::BP_CONST_FRAME_VERSION);
  localparam logic [7:0] BROADCAST = 8'(sessnic_wire_pkg::BP_CONST_BROADCAST);
  localparam logic [7:0] TYPE_HELLO = 8'(sessnic_wire_pkg::FRAME_TYPE_HELLO);
  localparam logic [7:0] TYPE_LAST = 8'(sessnic_wire_pkg::FRAME_TYPE_DIGEST);  // types are 1..DIGEST

  // Three stages, so no cycle holds more than one of: the CRC XOR trees, the length and
  // membership checks, the verdict and counter update.
  //   A (accept)  the beat is stored in buf_mem and registered (in_*_reg), the header
  //               fields the checks need are kept (hdr_reg), beats are counted.
  //   B (check)   the CRC of the registered beat is folded into crc_reg; on the last
  //               beat the version, length and membership checks are registered.
  //   C (verdict) the CRC compare picks the verdict, counters count, a good frame is sent.
  // A frame's last beat blocks the input until its verdict (two cycles), so buf_mem holds
  // one frame at a time. Output beats come from an output register (m_frame_*).
  logic sending_reg, out_valid_reg, out_last_reg;
  logic [511:0] out_data_reg;
  logic [15:0] n_reg;  // beats received of the current frame (saturating)
  logic [79:0] hdr_reg;  // the header fields the checks need (see hdr_fields)
  logic [31:0] crc_reg;
  logic [511:0] buf_mem[MAX_BEATS];
  logic [IDX_BITS-1:0] rd_idx_reg, send_len_reg;
  logic verdict_valid_reg;
  logic [2:0] verdict_reg;
  logic [31:0] cnt_frames_reg, cnt_version_reg, cnt_len_reg, cnt_crc_reg, cnt_not_mine_reg;
  // stage A -> B
  logic in_valid_reg, in_first_reg, in_last_reg;
  logic [511:0] in_beat_reg;  // crc field zeroed on a header beat
  logic [16:0] in_beats_reg;  // beats of the frame, valid with in_last_reg
  // stage B -> C
  logic chk_valid_reg, chk_version_reg, chk_len_reg, chk_not_mine_reg;

  wire tail_busy = (in_valid_reg && in_last_reg) || chk_valid_reg;
  wire accept = s_frame_tvalid && s_frame_tready;
  wire first = n_reg == 0;
  // fver | ftype | src | dst | payload_len | crc of a header beat. The other header
  // fields (epoch, seq, ack, sack, ...) belong to the sequence layer, not these checks.
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic [79:0] hdr_fields(input logic [511:0] b);
    hdr_fields = {b[F_FVER+:8], b[F_FTYPE+:8], b[F_SRC+:8], b[F_DST+:8], b[F_PAYLOAD_LEN+:16], b[F_CRC+:32]};
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // ---- stage B: CRC of the registered beat; the crc field counts as zero in its own sum
  logic [31:0] crc_next;
  bp_crc32 crc_i (
      .crc_in(in_first_reg ? 32'hFFFFFFFF : crc_reg),
      .data(in_beat_reg),
      .crc_out(crc_next)
  );

  // version, length and membership of the frame whose last beat is in stage B. Continuous
  // assignments, not an always_comb that writes then reads its own variables: Icarus 11
  // re-triggers such a block on its own writes and loops at time 0.
  // src is a member: a peer in the bitmap, not this card (out-of-range ids are not members)
  function automatic logic is_member(input logic [7:0] s, input logic [7:0] self, input logic [CARDS-1:0] map);
    is_member = 1'b0;
    for (int p = 0; p < CARDS; p++) if (s == 8'(p) && 8'(p) != self && map[p]) is_member = 1'b1;
  endfunction

  wire [15:0] plen = hdr_reg[47:32];
  wire [7:0] src = hdr_reg[63:56];
  wire [7:0] dst = hdr_reg[55:48];
  wire [7:0] ftype = hdr_reg[71:64];
  wire src_member = is_member(src, card_id, peers);
  wire bad_version = hdr_reg[79:72] != FRAME_VERSION;
  wire bad_len = in_beats_reg > 17'(MAX_BEATS) || 17'(plen) > 17'(MAX_PAYLOAD) ||
                 in_beats_reg != 17'd1 + ((17'(plen) + 17'd63) >> 6);
  wire not_mine = !src_member || (dst != card_id && dst != BROADCAST) || ftype == 8'd0 || ftype > TYPE_LAST ||
                  (dst == BROADCAST && ftype != TYPE_HELLO);

  // ---- stage C: the kernel's order of checks
  logic [2:0] check;
  always_comb begin
    if (chk_version_reg) check = VERDICT_BAD_VERSION;
    else if (chk_len_reg) check = VERDICT_BAD_LEN;
    else if (~crc_reg != hdr_reg[31:0]) check = VERDICT_BAD_CRC;
    else if (chk_not_mine_reg) check = VERDICT_NOT_MINE;
    else check = VERDICT_OK;
  end

  wire out_free = !out_valid_reg || m_frame_tready;
  wire load = sending_reg && rd_idx_reg != send_len_reg && out_free;

  assign s_frame_tready = !sending_reg && !tail_busy;
  assign m_frame_tvalid = out_valid_reg;
  assign m_frame_tdata = out_data_reg;
  assign m_frame_tlast = out_last_reg;
  assign verdict_valid = verdict_valid_reg;
  assign verdict = verdict_reg;
  assign rx_frames = cnt_frames_reg;
  assign rx_bad_version = cnt_version_reg;
  assign rx_bad_len = cnt_len_reg;
  assign rx_bad_crc = cnt_crc_reg;
  assign rx_not_mine = cnt_not_mine_reg;

  always_ff @(posedge clk) begin
    // stage A
    in_valid_reg <= accept;
    if (accept) begin
      if (n_reg < 16'(MAX_BEATS)) buf_mem[n_reg[IDX_BITS-1:0]] <= s_frame_tdata;
      if (first) hdr_reg <= hdr_fields(s_frame_tdata);
      in_beat_reg <= s_frame_tdata;
      if (first) in_beat_reg[F_CRC+:32] <= 32'h0;
      in_first_reg <= first;
      in_last_reg <= s_frame_tlast;
      in_beats_reg <= 17'(n_reg) + 17'd1;
      n_reg <= s_frame_tlast ? 16'h0 : (n_reg == 16'hFFFF ? n_reg : n_reg + 1'b1);
    end

    // stage B
    chk_valid_reg <= in_valid_reg && in_last_reg;
    if (in_valid_reg) begin
      crc_reg <= crc_next;
      chk_version_reg <= bad_version;
      chk_len_reg <= bad_len;
      chk_not_mine_reg <= not_mine;
    end

    // stage C
    verdict_valid_reg <= chk_valid_reg;
    if (chk_valid_reg) begin
      verdict_reg <= check;
      cnt_frames_reg <= cnt_frames_reg + 1'b1;
      case (check)
        VERDICT_BAD_VERSION: cnt_version_reg <= cnt_version_reg + 1'b1;
        VERDICT_BAD_LEN: cnt_len_reg <= cnt_len_reg + 1'b1;
        VERDICT_BAD_CRC: cnt_crc_reg <= cnt_crc_reg + 1'b1;
        VERDICT_NOT_MINE: cnt_not_mine_reg <= cnt_not_mine_reg + 1'b1;
        default: begin
          sending_reg <= 1'b1;
          rd_idx_reg <= '0;
          send_len_reg <= in_beats_reg[IDX_BITS-1:0];
        end
      endcase
    end

    // sender: buf_mem -> output register
    if (load) begin
      out_data_reg <= buf_mem[rd_idx_reg];
      out_last_reg <= rd_idx_reg + 1'b1 == send_len_reg;
      out_valid_reg <= 1'b1;
      rd_idx_reg <= rd_idx_reg + 1'b1;
    end else if (m_frame_tready) out_valid_reg <= 1'b0;
    if (out_valid_reg && m_frame_tready && out_last_reg) sending_reg <= 1'b0;

    if (rst) begin
      sending_reg <= 1'b0;
      out_valid_reg <= 1'b0;
      n_reg <= '0;
      in_valid_reg <= 1'b0;
      chk_valid_reg <= 1'b0;
      verdict_valid_reg <= 1'b0;
      cnt_frames_reg <= '0;
      cnt_version_reg <= '0;
      cnt_len_reg <= '0;
      cnt_crc_reg <= '0;
      cnt_not_mine_reg <= '0;
    end
  end
endmodule
`resetall
