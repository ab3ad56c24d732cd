// Session-ID table: the RTL twin of the HLS kernel hls/session_table.hpp.
//
// Every command gets the response the kernel gives it (status, metadata, blob bytes,
// counters, STATS blob, set index, victim way, tombstones, Lamport versions); the
// equivalence test in tests/rtl/ checks that beat for beat. The kernel's header comment
// lists the rules; this file only explains how the hardware schedules them.
//
// Pipeline: seven register stages, s0 (input skid) .. s6 (decided, fires); the stage
// list is below ("pipeline overview") and in docs/rtl.md. The deepest path is 5 LUT
// levels (Yosys synth_xilinx -family xcup, scripts/synth/lut_levels.py; docs/rtl.md).
// Hazards: the RAMs return old data when a set is read in the cycle it is written, so a
// command waits in s1 while an earlier command that may write its set is in s2..s6;
// SET_TIME and FLUSH are global-state hazards (below). Different sets run one command
// per cycle; responses with blobs are bound by the response stream (one beat per cycle).
//
// The idle sweep (sweep_enable) enters s1 when no command is waiting: it reads one set
// and frees its expired ways, like the kernel's sweep_step().
// FLUSH (and reset) clear one set per cycle; no command is accepted until done.
`resetall
`default_nettype none
module sess_table #(
    parameter int SETS_LOG2 = 6,
    parameter int WAYS = 4,
    parameter int SLOT_BYTES = 256,
    parameter BLOB_RAM_STYLE = "block"
) (
    input wire logic clk,
    input wire logic rst,

    input wire logic [7:0] card_id,
    input wire logic       sweep_enable,

    // Commands: header beat + ceil(blob_len/64) payload beats, TLAST on the last.
    input  wire logic [511:0] s_cmd_tdata,
    input  wire logic         s_cmd_tlast,
    input  wire logic         s_cmd_tvalid,
    output logic         s_cmd_tready,

    // Responses, same framing.
    output logic [511:0] m_rsp_tdata,
    output logic         m_rsp_tlast,
    output logic         m_rsp_tvalid,
    input  wire logic         m_rsp_tready,

    // Status for the register block: the STATS blob as it would be sent now.
    // STATS_WORDS (16) x 64 bits; a literal because Yosys 0.23 cannot parse a package
    // reference in a port range (checked against the package below).
    output logic [1023:0] stats_flat,
    output logic          flushing
);

  // Names from the generated wire package (spec/wire.toml). Aliased here because
  // Yosys 0.23 supports no `import` and no struct members of a package typedef; header
  // fields are therefore part-selects at the package's HEADER_<FIELD>_LSB/_WIDTH.
  localparam int H_AUX = sessnic_wire_pkg::HEADER_AUX_LSB;
  localparam int W_AUX = sessnic_wire_pkg::HEADER_AUX_WIDTH;
  localparam int H_BLOB_LEN = sessnic_wire_pkg::HEADER_BLOB_LEN_LSB;
  localparam int W_BLOB_LEN = sessnic_wire_pkg::HEADER_BLOB_LEN_WIDTH;
  localparam int H_CTX = sessnic_wire_pkg::HEADER_CTX_LSB;
  localparam int W_CTX = sessnic_wire_pkg::HEADER_CTX_WIDTH;
  localparam int H_EXPIRY = sessnic_wire_pkg::HEADER_EXPIRY_LSB;
  localparam int W_EXPIRY = sessnic_wire_pkg::HEADER_EXPIRY_WIDTH;
  localparam int H_FLAGS = sessnic_wire_pkg::HEADER_FLAGS_LSB;
  localparam int W_FLAGS = sessnic_wire_pkg::HEADER_FLAGS_WIDTH;
  localparam int H_KEY = sessnic_wire_pkg::HEADER_KEY_LSB;
  localparam int W_KEY = sessnic_wire_pkg::HEADER_KEY_WIDTH;
  localparam int H_KEY_LEN = sessnic_wire_pkg::HEADER_KEY_LEN_LSB;
  localparam int W_KEY_LEN = sessnic_wire_pkg::HEADER_KEY_LEN_WIDTH;
  localparam int H_OP = sessnic_wire_pkg::HEADER_OP_LSB;
  localparam int W_OP = sessnic_wire_pkg::HEADER_OP_WIDTH;
  localparam int H_STATUS = sessnic_wire_pkg::HEADER_STATUS_LSB;
  localparam int W_STATUS = sessnic_wire_pkg::HEADER_STATUS_WIDTH;
  localparam int H_VERSION = sessnic_wire_pkg::HEADER_VERSION_LSB;
  localparam int W_VERSION = sessnic_wire_pkg::HEADER_VERSION_WIDTH;
  localparam int BEAT_BYTES = sessnic_wire_pkg::BEAT_BYTES;
  localparam int CARD_BITS = sessnic_wire_pkg::CARD_BITS;
  localparam int KEY_MAX_BYTES = sessnic_wire_pkg::KEY_MAX_BYTES;
  localparam logic [7:0] OPCODE_DEL = 8'(sessnic_wire_pkg::OPCODE_DEL);
  localparam logic [7:0] OPCODE_EXPORT = 8'(sessnic_wire_pkg::OPCODE_EXPORT);
  localparam logic [7:0] OPCODE_FLUSH = 8'(sessnic_wire_pkg::OPCODE_FLUSH);
  localparam logic [7:0] OPCODE_GET = 8'(sessnic_wire_pkg::OPCODE_GET);
  localparam logic [7:0] OPCODE_PUT = 8'(sessnic_wire_pkg::OPCODE_PUT);
  localparam logic [7:0] OPCODE_SCAN = 8'(sessnic_wire_pkg::OPCODE_SCAN);
  localparam logic [7:0] OPCODE_SET_TIME = 8'(sessnic_wire_pkg::OPCODE_SET_TIME);
  localparam logic [7:0] OPCODE_STATS = 8'(sessnic_wire_pkg::OPCODE_STATS);
  localparam logic [7:0] OPCODE_TAKE = 8'(sessnic_wire_pkg::OPCODE_TAKE);
  localparam logic [7:0] OPCODE_TRANSFER = 8'(sessnic_wire_pkg::OPCODE_TRANSFER);
  localparam int STATS_BAD_CMD = sessnic_wire_pkg::STATS_BAD_CMD;
  localparam int STATS_CARD = sessnic_wire_pkg::STATS_CARD;
  localparam int STATS_DELETES = sessnic_wire_pkg::STATS_DELETES;
  localparam int STATS_EVICTIONS = sessnic_wire_pkg::STATS_EVICTIONS;
  localparam int STATS_EXPIRED = sessnic_wire_pkg::STATS_EXPIRED;
  localparam int STATS_GETS = sessnic_wire_pkg::STATS_GETS;
  localparam int STATS_HITS = sessnic_wire_pkg::STATS_HITS;
  localparam int STATS_LAMPORT = sessnic_wire_pkg::STATS_LAMPORT;
  localparam int STATS_LIVE = sessnic_wire_pkg::STATS_LIVE;
  localparam int STATS_MISSES = sessnic_wire_pkg::STATS_MISSES;
  localparam int STATS_NOW = sessnic_wire_pkg::STATS_NOW;
  localparam int STATS_PUTS = sessnic_wire_pkg::STATS_PUTS;
  localparam int STATS_STALE = sessnic_wire_pkg::STATS_STALE;
  localparam int STATS_SWEPT = sessnic_wire_pkg::STATS_SWEPT;
  localparam int STATS_TOMBSTONES = sessnic_wire_pkg::STATS_TOMBSTONES;
  localparam int STATS_TOO_LARGE = sessnic_wire_pkg::STATS_TOO_LARGE;
  localparam int STATS_WORDS = sessnic_wire_pkg::STATS_WORDS;
  localparam logic [7:0] STATUS_BAD_CMD = 8'(sessnic_wire_pkg::STATUS_BAD_CMD);
  localparam logic [7:0] STATUS_EVICTED = 8'(sessnic_wire_pkg::STATUS_EVICTED);
  localparam logic [7:0] STATUS_EXPIRED = 8'(sessnic_wire_pkg::STATUS_EXPIRED);
  localparam logic [7:0] STATUS_MISS = 8'(sessnic_wire_pkg::STATUS_MISS);
  localparam logic [7:0] STATUS_OK = 8'(sessnic_wire_pkg::STATUS_OK);
  localparam logic [7:0] STATUS_STALE = 8'(sessnic_wire_pkg::STATUS_STALE);
  localparam logic [7:0] STATUS_TOO_LARGE = 8'(sessnic_wire_pkg::STATUS_TOO_LARGE);

  localparam int SETS = 1 << SETS_LOG2;
  localparam int SLOT_BEATS = SLOT_BYTES / BEAT_BYTES;
  localparam int SLOT_BITS = SLOT_BYTES * 8;
  localparam int STATS_BITS = STATS_WORDS * 64;
  localparam int BUF_BITS = SLOT_BITS > STATS_BITS ? SLOT_BITS : STATS_BITS;
  localparam int META_W = 384;  // key 256 | version 64 | expiry 32 | info 32 (as the kernel's Meta)
  localparam int GOT_BITS = 17;  // payload beat counter, saturating (blob_len needs <= 1024 beats)
  localparam int NCNT = STATS_LAMPORT;  // counters 0..12 are counted; 13..15 are state
  localparam logic [15:0] SLOT_BYTES16 = 16'(SLOT_BYTES);
  // SCAN slot index: set = idx / WAYS, way = idx % WAYS, idx < CAPACITY.
  localparam int CAPACITY = SETS * WAYS;
  localparam int IDX_BITS = $clog2(CAPACITY) + 1;

  initial begin
    if (SLOT_BYTES % BEAT_BYTES != 0 || SLOT_BYTES >= 65536) $fatal(1, "SLOT_BYTES: whole beats, < 64 KiB");
    if (WAYS < 1 || WAYS > 16) $fatal(1, "WAYS must be 1..16");
    if (SETS_LOG2 < 1 || SETS_LOG2 > 20) $fatal(1, "SETS_LOG2 must be 1..20");
    if (STATS_WORDS * 64 != 1024) $fatal(1, "stats_flat width must follow STATS_WORDS");
  end

  // ---------------------------------------------------------------- helpers
  // XOR fold of the zero-padded id, its length and ctx (SessionTable::set_index).
  function automatic logic [SETS_LOG2-1:0] set_of(input logic [255:0] key, input logic [7:0] key_len,
                                                  input logic [7:0] ctx);
    logic [63:0] h;
    h = key[63:0] ^ key[127:64] ^ key[191:128] ^ key[255:192] ^ {ctx, 56'h0} ^ {56'h0, key_len};
    h = h ^ (h >> 32);
    h = h ^ (h >> 16);
    set_of = h[SETS_LOG2-1:0];
  endfunction

  // Counter changes are popcounts of way masks, not chains of adders.
  function automatic logic [6:0] popcount(input logic [63:0] bits);
    logic [6:0] n;
    n = '0;
    for (int i = 0; i < 64; i++) n = n + 7'(bits[i]);
    popcount = n;
  endfunction

  function automatic logic [GOT_BITS-1:0] beats_for(input logic [15:0] len);
    beats_for = GOT_BITS'((17'(len) + 17'd63) >> 6);
  endfunction

  // ---------------------------------------------------------------- pipeline overview
  // Stage registers are named sN_*; a command moves one stage per cycle when `adv`
  // (the whole pipeline s2..s6 advances together; only s1 can hold while the rest moves).
  //   s0  input register (skid): TREADY from a flip-flop, TDATA/TLAST registered.
  //   s1  header decoded, key masked, set hashed (the RAM read address is this register);
  //       a PUT waits here for its payload beats, which go into a slot buffer.
  //   s2  metadata RAM read (issued on the s1 -> s2 move), RAM output latch
  //   s3  metadata RAM output register
  //   s4  per-way precompute: tag compare, expiry against now, victim rank, pairwise
  //       expiry order, request version and expiry against each way
  //   s5  select: hit way, victim way, the hit way's fields and flags (blob RAM read is
  //       issued on the s4 -> s5 move, so its output register is ready in s6)
  //   s6  decide: status, Lamport version and compare, writes, counter changes and the
  //       response header are registered; s6 writes the RAMs, queues the header and
  //       loads the blob or STATS beats for the sender ("fire").
  localparam int NSLOT = 4;  // PUT payload slots in flight (a PUT takes >= 2 input beats)
  localparam int VKEY_RANK_TOMB = 2;  // victim rank of an occupied, unexpired way it may take

  // ---------------------------------------------------------------- global state
  logic [31:0] now_reg;
  logic [63:0] lamport_reg, lamport_inc_reg;  // the clock and clock + 1 (next local version)
  logic [NCNT*64-1:0] cnt_reg;  // counter i at [i*64 +: 64]
  logic [SETS_LOG2-1:0] sweep_set_reg;
  logic flush_active_reg;
  logic [SETS_LOG2-1:0] flush_idx_reg;
  logic [BUF_BITS-1:0] snd_buf_reg;
  logic [15:0] snd_left_reg;
  logic snd_busy_reg;  // snd_left_reg != 0

  // ---------------------------------------------------------------- s0: input register
  // A two-entry skid buffer (main + skid register): s_cmd_tready is a flip-flop, so the
  // pipeline's stall logic never reaches the command port combinationally.
  logic s0_valid_reg, s0_last_reg, sk_valid_reg, sk_last_reg, s0_ready_reg;
  logic [511:0] s0_data_reg, sk_data_reg;
  logic [31:0] s0_keep_reg, sk_keep_reg, in_keep;  // key bytes below key_len (a header's)
  logic [SETS_LOG2-1:0] s0_set_reg, sk_set_reg, port_set;  // a header's set, hashed on the way in
  logic [255:0] port_key;
  logic [IDX_BITS-1:0] port_scan_idx;
  logic s0_take;  // s1 consumes the beat in s0_data_reg this cycle
  logic s0_out_free;  // s0_data_reg takes a new beat this cycle
  assign s_cmd_tready = s0_ready_reg;
  assign s0_out_free = !s0_valid_reg || s0_take;
  always_comb begin
    for (int i = 0; i < 32; i++) begin
      in_keep[i] = 8'(i) < s_cmd_tdata[H_KEY_LEN+:W_KEY_LEN];
      port_key[i*8+:8] = in_keep[i] ? s_cmd_tdata[H_KEY+i*8+:8] : 8'h00;
    end
    port_scan_idx = s_cmd_tdata[H_AUX+:IDX_BITS];
    // A SCAN's set is its slot index / WAYS (power-of-two WAYS: a bit select).
    port_set = s_cmd_tdata[H_OP+:W_OP] == OPCODE_SCAN ? SETS_LOG2'(port_scan_idx / IDX_BITS'(WAYS)) :
               set_of(port_key, s_cmd_tdata[H_KEY_LEN+:W_KEY_LEN], s_cmd_tdata[H_CTX+:W_CTX]);
  end
  always_ff @(posedge clk) begin
    if (s0_ready_reg) begin
      if (s0_out_free) begin
        s0_valid_reg <= s_cmd_tvalid;
        s0_data_reg <= s_cmd_tdata;
        s0_keep_reg <= in_keep;
        s0_set_reg <= port_set;
        s0_last_reg <= s_cmd_tlast;
      end else begin
        sk_valid_reg <= s_cmd_tvalid;  // s0 is busy: park the beat
        sk_data_reg <= s_cmd_tdata;
        sk_keep_reg <= in_keep;
        sk_set_reg <= port_set;
        sk_last_reg <= s_cmd_tlast;
      end
    end else if (s0_take) begin
      s0_valid_reg <= sk_valid_reg;
      s0_data_reg <= sk_data_reg;
      s0_keep_reg <= sk_keep_reg;
      s0_set_reg <= sk_set_reg;
      s0_last_reg <= sk_last_reg;
      sk_valid_reg <= 1'b0;
    end
    // Ready next cycle if s0 is taken now or the skid register stays empty.
    s0_ready_reg <= s0_take || (!sk_valid_reg && (!s0_valid_reg || !s_cmd_tvalid));
    if (rst) begin
      s0_valid_reg <= 1'b0;
      sk_valid_reg <= 1'b0;
      s0_ready_reg <= 1'b0;
    end
  end

  // ---------------------------------------------------------------- s1: header, payload
  logic s1_valid_reg, s1_complete_reg, s1_sweep_reg;
  logic [511:0] s1_hdr_reg;  // the header with the key masked past key_len
  logic [SETS_LOG2-1:0] s1_set_reg;
  logic [GOT_BITS-1:0] s1_got_reg, s1_need_reg;  // payload beats received / expected
  logic s1_bad_reg, s1_large_reg;  // header-only checks: BAD_CMD, TOO_LARGE
  logic s1_keyed_reg, s1_settime_reg, s1_flush_reg;
  logic s1_scan_reg;  // SCAN: reads way s1_sway_reg of set s1_set_reg, changes nothing
  logic [WAYS-1:0] s1_sway_reg;
  logic s1_slot_en_reg;  // the command has payload beats in slot s1_slot_reg
  logic [1:0] s1_slot_reg;
  logic [SLOT_BEATS-1:0] s1_beat_lt_reg, s1_beat_eq_reg;  // beat < / == the blob's last beat
  logic [63:0] s1_tail_reg;  // bytes kept of the last beat

  logic s0_is_hdr_reg;  // the beat in s0 starts a command
  logic [NSLOT*SLOT_BITS-1:0] slots_reg;  // PUT payloads, slot s at [s*SLOT_BITS +: SLOT_BITS]
  logic [1:0] slot_wr_reg;
  logic [2:0] slots_used_reg;

  // Decode of the header in s0.
  logic [511:0] in_hdr;
  logic [7:0] in_op, in_klen;
  logic [15:0] in_blen, in_blen_m1;
  logic in_is_put, in_keyed, in_is_scan, in_scan_oor;
  logic [SETS_LOG2-1:0] in_set;
  logic [IDX_BITS-1:0] in_scan_idx;
  logic [WAYS-1:0] in_scan_way;
  always_comb begin
    in_hdr = s0_data_reg;
    in_op = in_hdr[H_OP+:W_OP];
    in_klen = in_hdr[H_KEY_LEN+:W_KEY_LEN];
    in_blen = in_hdr[H_BLOB_LEN+:W_BLOB_LEN];
    in_blen_m1 = in_blen - 16'd1;
    in_is_put = in_op == OPCODE_PUT;
    in_keyed = in_op == OPCODE_PUT || in_op == OPCODE_GET || in_op == OPCODE_TAKE || in_op == OPCODE_DEL ||
               in_op == OPCODE_EXPORT;
    for (int i = 0; i < 32; i++) in_hdr[H_KEY+i*8+:8] = s0_keep_reg[i] ? s0_data_reg[H_KEY+i*8+:8] : 8'h00;
    in_set = s0_set_reg;  // the key hash, or a SCAN's slot set (computed on the way in)
    // SCAN reads the slot named by aux: range check and way here, set at the port.
    in_is_scan = in_op == OPCODE_SCAN;
    in_scan_oor = in_hdr[H_AUX+:W_AUX] >= 64'(CAPACITY);
    in_scan_idx = in_hdr[H_AUX+:IDX_BITS];
    in_scan_way = WAYS'(1) << (in_scan_idx % IDX_BITS'(WAYS));
  end

  // Pipeline control (defined below with the later stages).
  logic adv, s1_go, s1_hazard;
  logic s1_free;  // s1 can take a new header or sweep step this cycle
  logic hdr_load, pay_take, sweep_go;
  assign s1_free = !s1_valid_reg || s1_go;
  assign hdr_load = s0_valid_reg && s0_is_hdr_reg && s1_free && (s0_last_reg || slots_used_reg != 3'(NSLOT));
  assign pay_take = s0_valid_reg && !s0_is_hdr_reg && s1_valid_reg && !s1_complete_reg;
  assign s0_take = hdr_load || pay_take;
  assign sweep_go = sweep_enable && !flush_active_reg && !s1_valid_reg && !s0_valid_reg && !sk_valid_reg;

  always_ff @(posedge clk) begin
    if (s0_take) s0_is_hdr_reg <= s0_last_reg;
    if (hdr_load) begin
      s1_valid_reg <= 1'b1;
      s1_complete_reg <= s0_last_reg;
      s1_sweep_reg <= 1'b0;
      s1_hdr_reg <= in_hdr;
      s1_set_reg <= in_set;
      s1_got_reg <= '0;
      s1_need_reg <= beats_for(in_blen);
      // TRANSFER, PULL and unknown opcodes are never the table's; SCAN past the end.
      s1_bad_reg <= (in_op >= OPCODE_TRANSFER && !in_is_scan) || (in_is_scan && in_scan_oor) ||
                    (!in_is_put && in_blen != 0) ||
                    (in_keyed && (in_klen == 0 || in_klen > 8'(KEY_MAX_BYTES))) || (in_is_put && in_blen == 0);
      s1_scan_reg <= in_is_scan;
      s1_sway_reg <= in_scan_way;
      s1_large_reg <= in_is_put && in_blen > SLOT_BYTES16;
      s1_keyed_reg <= in_keyed;
      s1_settime_reg <= in_op == OPCODE_SET_TIME;
      s1_flush_reg <= in_op == OPCODE_FLUSH;
      s1_slot_en_reg <= !s0_last_reg;
      s1_slot_reg <= slot_wr_reg;
      for (int b = 0; b < SLOT_BEATS; b++) begin
        s1_beat_lt_reg[b] <= 16'(b) < (in_blen_m1 >> 6);
        s1_beat_eq_reg[b] <= 16'(b) == (in_blen_m1 >> 6);
      end
      s1_tail_reg <= 64'hFFFF_FFFF_FFFF_FFFF >> (6'd63 - in_blen_m1[5:0]);
      if (!s0_last_reg) slot_wr_reg <= slot_wr_reg + 1'b1;
    end else if (sweep_go) begin
      s1_valid_reg <= 1'b1;
      s1_complete_reg <= 1'b1;
      s1_sweep_reg <= 1'b1;
      s1_set_reg <= sweep_set_reg;
      s1_got_reg <= '0;
      s1_need_reg <= '0;
      s1_bad_reg <= 1'b0;
      s1_large_reg <= 1'b0;
      s1_keyed_reg <= 1'b0;
      s1_settime_reg <= 1'b0;
      s1_flush_reg <= 1'b0;
      s1_scan_reg <= 1'b0;
      s1_slot_en_reg <= 1'b0;
      sweep_set_reg <= sweep_set_reg + 1'b1;
    end else if (s1_go) begin
      s1_valid_reg <= 1'b0;
    end else if (pay_take) begin
      for (int s = 0; s < NSLOT; s++)
        for (int b = 0; b < SLOT_BEATS; b++)
          if (s1_slot_reg == 2'(s) && s1_got_reg == GOT_BITS'(b)) slots_reg[s*SLOT_BITS+b*512+:512] <= s0_data_reg;
      if (s1_got_reg != '1) s1_got_reg <= s1_got_reg + 1'b1;
      if (s0_last_reg) s1_complete_reg <= 1'b1;
    end
    if (rst) begin
      s1_valid_reg <= 1'b0;
      s0_is_hdr_reg <= 1'b1;
      slot_wr_reg <= '0;
      sweep_set_reg <= '0;
    end
  end

  // ---------------------------------------------------------------- s2..s6 command state
  // Fields every stage carries.
  logic s2_valid_reg, s3_valid_reg, s4_valid_reg, s5_valid_reg, s6_valid_reg;
  logic s2_sweep_reg, s3_sweep_reg, s4_sweep_reg, s5_sweep_reg, s6_sweep_reg;
  logic [511:0] s2_hdr_reg, s3_hdr_reg, s4_hdr_reg, s5_hdr_reg;
  logic [SETS_LOG2-1:0] s2_set_reg, s3_set_reg, s4_set_reg, s5_set_reg, s6_set_reg;
  logic [7:0] s2_pre_reg, s3_pre_reg, s4_pre_reg, s5_pre_reg;  // validation outcome
  logic s2_mw_reg, s3_mw_reg, s4_mw_reg, s5_mw_reg, s6_mw_reg;  // may write the set
  logic s2_settime_reg, s3_settime_reg;
  logic s2_flush_reg, s3_flush_reg, s4_flush_reg, s5_flush_reg, s6_flush_reg;
  logic s2_slot_en_reg, s3_slot_en_reg, s4_slot_en_reg, s5_slot_en_reg, s6_slot_en_reg;
  logic [1:0] s2_slot_reg, s3_slot_reg, s4_slot_reg, s5_slot_reg, s6_slot_reg;
  logic [SLOT_BEATS-1:0] s2_lt_reg, s3_lt_reg, s4_lt_reg, s5_lt_reg, s6_lt_reg;
  logic [SLOT_BEATS-1:0] s2_eq_reg, s3_eq_reg, s4_eq_reg, s5_eq_reg, s6_eq_reg;
  logic [63:0] s2_tail_reg, s3_tail_reg, s4_tail_reg, s5_tail_reg, s6_tail_reg;
  logic s2_scan_reg, s3_scan_reg;
  logic [WAYS-1:0] s2_sway_reg, s3_sway_reg;

  // Hazards of the command (or sweep step) in s1 against everything in flight:
  //  * same set: the RAMs return old data when a set is read in the cycle it is written,
  //    so s1 waits while any stage that may write its set (s2..s6) holds a command;
  //  * time: s4 compares expiries against now_reg, which a SET_TIME changes when it
  //    moves s5 -> s6; s1 waits while a SET_TIME is in s2 or s3 (from s4 on, it is
  //    decided before the waiting command reaches its s3 -> s4 compare);
  //  * FLUSH: nothing follows a FLUSH until every set is cleared.
  // The Lamport clock, the counters and the response sender live in one stage each
  // (s5 -> s6 and s6), so they need no hazard check.
  // The same-set check is kept as registered flags (hz_reg[k-2]: stage k may write s1's
  // set), computed when a command enters s1 against the stages as they will be, and
  // shifted with the pipeline, so s1's go signal is one OR away from flip-flops.
  logic s6_fire;
  logic [4:0] hz_reg;
  logic [5:0] cmp_s0, cmp_sw;  // [k-1]: stage k (1..6) may write the set of s0's header / the sweep's
  always_comb begin
    cmp_s0[0] = s1_valid_reg && (s1_sweep_reg || s1_keyed_reg) && s1_set_reg == s0_set_reg;
    cmp_s0[1] = s2_mw_reg && s2_set_reg == s0_set_reg;
    cmp_s0[2] = s3_mw_reg && s3_set_reg == s0_set_reg;
    cmp_s0[3] = s4_mw_reg && s4_set_reg == s0_set_reg;
    cmp_s0[4] = s5_mw_reg && s5_set_reg == s0_set_reg;
    cmp_s0[5] = s6_mw_reg && s6_set_reg == s0_set_reg;
    cmp_sw[0] = 1'b0;  // a sweep step enters only an empty s1
    cmp_sw[1] = s2_mw_reg && s2_set_reg == sweep_set_reg;
    cmp_sw[2] = s3_mw_reg && s3_set_reg == sweep_set_reg;
    cmp_sw[3] = s4_mw_reg && s4_set_reg == sweep_set_reg;
    cmp_sw[4] = s5_mw_reg && s5_set_reg == sweep_set_reg;
    cmp_sw[5] = s6_mw_reg && s6_set_reg == sweep_set_reg;
    s1_hazard = (|hz_reg) || s2_settime_reg || s3_settime_reg || s2_flush_reg || s3_flush_reg || s4_flush_reg ||
                s5_flush_reg || s6_flush_reg || flush_active_reg;
  end
  always_ff @(posedge clk) begin
    if (hdr_load || sweep_go) begin
      for (int k = 0; k < 5; k++)
        hz_reg[k] <= adv ? (hdr_load ? cmp_s0[k] : cmp_sw[k]) : (hdr_load ? cmp_s0[k+1] : cmp_sw[k+1]);
    end else if (adv) begin
      hz_reg <= {hz_reg[3:0], 1'b0};  // s1 stays: a bubble enters s2
    end
    if (rst) hz_reg <= '0;
  end
  // (No run-time `$fatal` cross-check of the flags against s1_set_reg here: a `$fatal`
  // in a clocked block makes Verilator 5.006 deadlock when a second model is destroyed,
  // which hung the two-card tests; RtlTableTeardown guards it. A missed hazard reads
  // stale metadata, which the same-set streams of RtlTableEquivalence would show.)
  assign adv = !s6_valid_reg || s6_fire;
  assign s1_go = s1_valid_reg && s1_complete_reg && adv && !s1_hazard;

  // s1 -> s2: the validation outcome needs the payload beat count.
  logic [7:0] s1_pre;
  always_comb begin
    if (s1_got_reg != s1_need_reg || s1_bad_reg) s1_pre = STATUS_BAD_CMD;
    else if (s1_large_reg) s1_pre = STATUS_TOO_LARGE;
    else s1_pre = STATUS_OK;
  end

  // ---------------------------------------------------------------- memories
  logic [WAYS-1:0] wr_meta_en, wr_blob_en;
  logic [SETS_LOG2-1:0] wr_addr;
  logic [WAYS*META_W-1:0] rd_meta, wr_meta;  // way w at [w*META_W +: META_W]
  logic [WAYS*SLOT_BITS-1:0] rd_blob;
  logic [SLOT_BITS-1:0] wr_blob;
  logic blob_rd;

  for (genvar w = 0; w < WAYS; w++) begin : g_way
    sess_ram_sdp #(
        .WIDTH(META_W),
        .ADDR_BITS(SETS_LOG2)
    ) meta_ram (
        .clk(clk),
        .wr_en(wr_meta_en[w]),
        .wr_addr(wr_addr),
        .wr_data(wr_meta[w*META_W+:META_W]),
        .rd_en(s1_go),
        .rd_addr(s1_set_reg),
        .rd_data(rd_meta[w*META_W+:META_W])
    );
    sess_ram_sdp #(
        .WIDTH(SLOT_BITS),
        .ADDR_BITS(SETS_LOG2),
        .RAM_STYLE(BLOB_RAM_STYLE)
    ) blob_ram (
        .clk(clk),
        .wr_en(wr_blob_en[w]),
        .wr_addr(wr_addr),
        .wr_data(wr_blob),
        .rd_en(blob_rd),
        .rd_addr(s4_set_reg),
        .rd_data(rd_blob[w*SLOT_BITS+:SLOT_BITS])
    );
  end
  assign blob_rd = adv && s4_valid_reg;

  // RAM output registers (s3 metadata, s6 blob).
  logic [WAYS*META_W-1:0] s3_meta_reg;
  logic [WAYS*SLOT_BITS-1:0] s6_blob_reg;

  // ---------------------------------------------------------------- s3 -> s4 precompute
  localparam int NCHUNK = 5;  // per way: 4 x 64 key bits, then key_len + ctx
  logic [7:0] s3_op, s3_klen;
  logic s3_is_put;
  logic [WAYS-1:0] p_empty, p_expired, p_tomb, p_single, p_req_lt, p_req_eq, p_hdr_gt, p_blen_nz;
  logic [WAYS*NCHUNK-1:0] p_chunk_eq;  // tag compare in chunks, ANDed in s4 -> s5
  logic [WAYS*2-1:0] p_rank;
  logic [WAYS*WAYS-1:0] p_egt;  // [w*WAYS+v]: way w's expiry orders after way v's (ties: higher way)
  logic p_hdr_expired;  // the command's own expiry <= now
  logic [255:0] p_skey;  // SCAN: the slot's key, key_len and ctx (for an OK answer)
  logic [5:0] p_sklen;
  logic [7:0] p_sctx;
  logic [WAYS*64-1:0] p_ver;
  logic [WAYS*32-1:0] p_exp;
  logic [WAYS*16-1:0] p_blen;
  always_comb begin
    s3_op = s3_hdr_reg[H_OP+:W_OP];
    s3_klen = s3_hdr_reg[H_KEY_LEN+:W_KEY_LEN];
    s3_is_put = s3_op == OPCODE_PUT;
    p_hdr_expired = s3_hdr_reg[H_EXPIRY+:W_EXPIRY] <= now_reg;
    for (int w = 0; w < WAYS; w++) begin
      // info = key_len | flags | ctx | blob_len
      p_ver[w*64+:64] = s3_meta_reg[w*META_W+256+:64];
      p_exp[w*32+:32] = s3_meta_reg[w*META_W+320+:32];
      p_blen[w*16+:16] = s3_meta_reg[w*META_W+368+:16];
      for (int c = 0; c < 4; c++)
        p_chunk_eq[w*NCHUNK+c] = s3_meta_reg[w*META_W+c*64+:64] == s3_hdr_reg[H_KEY+c*64+:64];
      p_chunk_eq[w*NCHUNK+4] = {2'b0, s3_meta_reg[w*META_W+352+:6]} == s3_klen &&
                               s3_meta_reg[w*META_W+360+:8] == s3_hdr_reg[H_CTX+:W_CTX];
      p_empty[w] = s3_meta_reg[w*META_W+352+:6] == 6'd0;
      // A SCAN "hits" the slot it names if that slot is occupied.
      if (s3_scan_reg)
        for (int c = 0; c < NCHUNK; c++) p_chunk_eq[w*NCHUNK+c] = s3_sway_reg[w] && !p_empty[w];
      p_expired[w] = now_reg >= p_exp[w*32+:32];
      p_tomb[w] = s3_meta_reg[w*META_W+358];
      p_single[w] = s3_meta_reg[w*META_W+359];
      p_blen_nz[w] = p_blen[w*16+:16] != 16'd0;
      p_req_lt[w] = s3_hdr_reg[H_VERSION+:W_VERSION] < p_ver[w*64+:64];
      p_req_eq[w] = s3_hdr_reg[H_VERSION+:W_VERSION] == p_ver[w*64+:64];
      p_hdr_gt[w] = s3_hdr_reg[H_EXPIRY+:W_EXPIRY] > p_exp[w*32+:32];
      // Victim rank: free, else expired, else one it may take (a tombstone insert never
      // displaces a live entry), else none.
      if (p_empty[w]) p_rank[w*2+:2] = 2'd0;
      else if (p_expired[w]) p_rank[w*2+:2] = 2'd1;
      else if (s3_is_put || p_tomb[w]) p_rank[w*2+:2] = 2'(VKEY_RANK_TOMB);
      else p_rank[w*2+:2] = 2'd3;
    end
    p_skey = '0;
    p_sklen = '0;
    p_sctx = '0;
    for (int w = 0; w < WAYS; w++) begin
      if (s3_sway_reg[w]) begin
        p_skey = s3_meta_reg[w*META_W+:256];
        p_sklen = s3_meta_reg[w*META_W+352+:6];
        p_sctx = s3_meta_reg[w*META_W+360+:8];
      end
    end
    for (int w = 0; w < WAYS; w++) begin
      for (int v = 0; v < WAYS; v++)
        p_egt[w*WAYS+v] = w > v ? p_exp[w*32+:32] >= p_exp[v*32+:32] : p_exp[w*32+:32] > p_exp[v*32+:32];
    end
  end

  logic [WAYS*NCHUNK-1:0] s4_chunk_eq_reg;
  logic [WAYS-1:0] s4_empty_reg, s4_expired_reg, s4_tomb_reg, s4_single_reg, s4_blen_nz_reg;
  logic [WAYS-1:0] s4_req_lt_reg, s4_req_eq_reg, s4_hdr_gt_reg;
  logic [WAYS*2-1:0] s4_rank_reg;
  logic [WAYS*WAYS-1:0] s4_egt_reg;
  logic s4_hdr_expired_reg, s4_req_zero_reg;
  logic [WAYS*64-1:0] s4_ver_reg;
  logic [WAYS*32-1:0] s4_exp_reg;
  logic [WAYS*16-1:0] s4_blen_reg;
  logic [255:0] s4_skey_reg, s5_skey_reg;
  logic [5:0] s4_sklen_reg, s5_sklen_reg;
  logic [7:0] s4_sctx_reg, s5_sctx_reg;

  // ---------------------------------------------------------------- s4 -> s5 select
  logic [7:0] s4_op;
  logic s4_keyed, s4_is_put;
  logic [WAYS-1:0] q_match, q_fw, q_vw_norm, q_vw_free;
  logic q_found, q_free_fw, q_vict_ok_norm, q_evicts_norm, q_f_expired;
  logic q_req_lt, q_req_eq, q_hdr_gt, q_f_tomb, q_f_single, q_f_blen_nz;
  logic [63:0] q_f_ver;
  logic [31:0] q_f_exp;
  logic [15:0] q_f_blen;
  logic [WAYS*WAYS-1:0] q_vgt;  // [w*WAYS+v]: victim key of way w > that of way v
  always_comb begin
    s4_op = s4_hdr_reg[H_OP+:W_OP];
    s4_is_put = s4_op == OPCODE_PUT;
    s4_keyed = s4_op == OPCODE_PUT || s4_op == OPCODE_GET || s4_op == OPCODE_TAKE || s4_op == OPCODE_DEL ||
               s4_op == OPCODE_EXPORT;
    // Hit: the lowest matching way.
    for (int w = 0; w < WAYS; w++) q_match[w] = &s4_chunk_eq_reg[w*NCHUNK+:NCHUNK];
    q_fw = q_match & (~q_match + 1'b1);
    q_found = |q_match;
    q_f_ver = '0;
    q_f_exp = '0;
    q_f_blen = '0;
    for (int w = 0; w < WAYS; w++) begin
      if (q_fw[w]) begin
        q_f_ver = s4_ver_reg[w*64+:64];
        q_f_exp = s4_exp_reg[w*32+:32];
        q_f_blen = s4_blen_reg[w*16+:16];
      end
    end
    q_f_expired = |(q_fw & s4_expired_reg);
    q_f_tomb = |(q_fw & s4_tomb_reg);
    q_f_single = |(q_fw & s4_single_reg);
    q_f_blen_nz = |(q_fw & s4_blen_nz_reg);
    q_req_lt = |(q_fw & s4_req_lt_reg);
    q_req_eq = |(q_fw & s4_req_eq_reg);
    q_hdr_gt = |(q_fw & s4_hdr_gt_reg);
    // An expired entry protects nothing: a keyed command frees it first (not a PUT
    // that is itself already expired: that one answers EXPIRED before any lookup).
    q_free_fw = s4_valid_reg && !s4_sweep_reg && s4_pre_reg == STATUS_OK && s4_keyed && q_found && q_f_expired &&
                !(s4_is_put && s4_hdr_expired_reg);
    // Victim on the set as it is after that free: with the hit way freed, the lowest
    // free way (the freed one or a lower empty one); otherwise the smallest victim key
    // {rank, expiry if rank 2, way}, all pairs compared at once. Both are registered;
    // the decide stage picks one.
    q_vw_free = (s4_empty_reg | q_fw) & (~(s4_empty_reg | q_fw) + 1'b1);
    for (int w = 0; w < WAYS; w++)
      for (int v = 0; v < WAYS; v++)
        q_vgt[w*WAYS+v] = s4_rank_reg[w*2+:2] > s4_rank_reg[v*2+:2] ||
                          (s4_rank_reg[w*2+:2] == s4_rank_reg[v*2+:2] &&
                           (s4_rank_reg[w*2+:2] == 2'(VKEY_RANK_TOMB) ? s4_egt_reg[w*WAYS+v] : w > v));
    q_vict_ok_norm = 1'b0;  // some way it may take (the smallest key is then one)
    for (int w = 0; w < WAYS; w++) begin
      q_vw_norm[w] = 1'b1;
      for (int v = 0; v < WAYS; v++)
        if (v != w && q_vgt[w*WAYS+v]) q_vw_norm[w] = 1'b0;
      if (s4_rank_reg[w*2+:2] != 2'd3) q_vict_ok_norm = 1'b1;
    end
    // Displacing a tombstone is no eviction; only a live entry counts.
    q_evicts_norm = |(q_vw_norm & ~s4_empty_reg & ~s4_tomb_reg & ~s4_expired_reg);
  end

  logic [WAYS-1:0] s5_fw_reg, s5_vw_norm_reg, s5_vw_free_reg, s5_empty_reg, s5_tomb_reg, s5_sweep_free_reg;
  logic s5_found_reg, s5_free_fw_reg, s5_vict_ok_norm_reg, s5_evicts_norm_reg, s5_f_expired_reg, s5_f_blen_nz_reg;
  logic s5_req_lt_reg, s5_req_eq_reg, s5_hdr_gt_reg, s5_f_tomb_reg, s5_f_single_reg, s5_hdr_expired_reg;
  logic s5_req_zero_reg, s5_pre_ok_reg, s5_hit_reg;
  logic s5_is_put_reg, s5_is_del_reg, s5_is_get_reg, s5_is_take_reg, s5_is_export_reg, s5_is_settime_reg,
      s5_is_flush_reg, s5_is_stats_reg, s5_is_scan_reg;
  logic [63:0] s5_f_ver_reg;
  logic [31:0] s5_f_exp_reg;
  logic [15:0] s5_f_blen_reg;

  // ---------------------------------------------------------------- s5 -> s6 decide
  logic [5:0] key_len6;  // stored key_len (a keyed command's is 1..32)
  logic [15:0] blob_len;
  logic [31:0] hdr_exp;
  logic [63:0] req_ver, req_hi, req_hi_inc;
  logic [63:0] ver_local, ver;
  logic local_lt, local_eq, ver_lt, ver_eq, ver_local_sel;

  logic [WAYS-1:0] m_we, m_new, b_we, tw_oh, vw_oh, rsp_way_oh, occ_after;
  logic [63:0] new_ver, mo_ver, lamport_n, lamport_inc_n;
  logic [63:0] mo_aux;  // response aux: the card id, or a consume's tombstone version
  logic [31:0] new_exp, mo_exp, now_n;
  logic [1:0] new_flags, mo_flags;
  logic [15:0] new_blen, rsp_len;
  logic [7:0] st;
  logic [NCNT-1:0] inc1;  // counters that count this command (one each)
  // Live/tombstone changes as way masks: {sweep frees, the expired hit's free, the way a
  // write replaces}; counted (popcount) when the command fires.
  logic [3*WAYS-1:0] live_dn, tomb_dn;
  logic live_up, tomb_up;
  logic found_live, need_ver, do_write, tomb_new, consume, rsp_stats, rsp_last, flush_go, vict_ok, evicts, lookup;
  logic scan_hit;  // SCAN answers OK with the slot's key
  always_comb begin
    key_len6 = s5_hdr_reg[H_KEY_LEN+:6];
    blob_len = s5_hdr_reg[H_BLOB_LEN+:W_BLOB_LEN];
    hdr_exp = s5_hdr_reg[H_EXPIRY+:W_EXPIRY];
    req_ver = s5_hdr_reg[H_VERSION+:W_VERSION];
    req_hi = {8'h0, req_ver[63:CARD_BITS]};
    req_hi_inc = req_hi + 64'd1;
    // The next local version and its order against the hit entry's.
    ver_local = {lamport_inc_reg[63-CARD_BITS:0], card_id};
    local_lt = ver_local < s5_f_ver_reg;
    local_eq = ver_local == s5_f_ver_reg;
    vw_oh = s5_free_fw_reg ? s5_vw_free_reg : s5_vw_norm_reg;
    vict_ok = s5_free_fw_reg || s5_vict_ok_norm_reg;
    evicts = !s5_free_fw_reg && s5_evicts_norm_reg;
    occ_after = ~s5_empty_reg & ~(s5_free_fw_reg ? s5_fw_reg : '0);
    found_live = s5_found_reg && !s5_free_fw_reg;
    lookup = s5_is_get_reg || s5_is_take_reg || s5_is_export_reg;
    consume = s5_pre_ok_reg && s5_hit_reg && (s5_is_take_reg || (s5_is_get_reg && s5_f_single_reg));

    m_we = '0;
    m_new = '0;
    b_we = '0;
    tw_oh = '0;
    new_ver = '0;
    new_exp = '0;
    new_flags = '0;
    new_blen = '0;
    inc1 = '0;
    lamport_n = lamport_reg;
    lamport_inc_n = lamport_inc_reg;
    now_n = now_reg;
    st = STATUS_OK;
    mo_ver = '0;
    mo_aux = {56'h0, card_id};
    mo_exp = '0;
    mo_flags = '0;
    rsp_len = '0;
    rsp_stats = 1'b0;
    rsp_way_oh = '0;
    flush_go = 1'b0;
    do_write = 1'b0;
    need_ver = 1'b0;
    tomb_new = 1'b0;
    scan_hit = 1'b0;
    rsp_last = !(s5_pre_ok_reg && (s5_is_stats_reg || (lookup && s5_hit_reg && s5_f_blen_nz_reg) ||
                                   (s5_is_scan_reg && s5_found_reg && !s5_f_expired_reg && !s5_f_tomb_reg)));

    if (s5_sweep_reg) begin
      // Idle sweep: free every expired way of this set.
      m_we = s5_sweep_free_reg;
      rsp_last = 1'b1;
    end else if (!s5_pre_ok_reg) begin
      st = s5_pre_reg;
      if (s5_pre_reg == STATUS_TOO_LARGE) inc1[STATS_TOO_LARGE] = 1'b1;
      else inc1[STATS_BAD_CMD] = 1'b1;
    end else if (s5_is_settime_reg) begin
      now_n = s5_hdr_reg[H_AUX+:32];
    end else if (s5_is_flush_reg) begin
      flush_go = 1'b1;
    end else if (s5_is_stats_reg) begin
      rsp_len = 16'(STATS_WORDS * 8);
      rsp_stats = 1'b1;
    end else if (s5_is_put_reg) begin
      if (s5_hdr_expired_reg) begin
        st = STATUS_EXPIRED;
        inc1[STATS_EXPIRED] = 1'b1;
      end else begin
        need_ver = 1'b1;
        if (found_live) begin
          tw_oh = s5_fw_reg;
          mo_ver = s5_f_ver_reg;
          mo_exp = s5_f_exp_reg;
          mo_flags = {s5_f_single_reg, s5_f_tomb_reg};
          // STALE if older, duplicate (OK, no change) if equal: below.
        end else begin
          tw_oh = vw_oh;
          if (evicts) begin
            st = STATUS_EVICTED;
            inc1[STATS_EVICTIONS] = 1'b1;
          end
        end
      end
    end else if (s5_is_del_reg) begin
      need_ver = 1'b1;
    end else if (s5_is_scan_reg) begin
      // The slot as it is: no consume, no free on expiry, no counter.
      if (!s5_found_reg || s5_f_expired_reg) st = STATUS_MISS;
      else begin
        scan_hit = 1'b1;
        mo_ver = s5_f_ver_reg;
        mo_exp = s5_f_exp_reg;
        mo_flags = {s5_f_single_reg, s5_f_tomb_reg};
        rsp_len = s5_f_tomb_reg ? 16'd0 : s5_f_blen_reg;
        rsp_way_oh = s5_fw_reg;
      end
    end else if (lookup) begin
      inc1[STATS_GETS] = 1'b1;
      if (!s5_found_reg || s5_f_tomb_reg) begin
        inc1[STATS_MISSES] = 1'b1;
        st = STATUS_MISS;
      end else if (s5_f_expired_reg) begin
        inc1[STATS_EXPIRED] = 1'b1;
        st = STATUS_EXPIRED;
      end else begin
        inc1[STATS_HITS] = 1'b1;
        mo_ver = s5_f_ver_reg;
        mo_exp = s5_f_exp_reg;
        mo_flags = {s5_f_single_reg, s5_f_tomb_reg};
        rsp_len = s5_f_blen_reg;
        rsp_way_oh = s5_fw_reg;
        need_ver = consume;
      end
    end  // else NOP

    // Lamport clock: local writes (and consumes) take the next version; remote ones
    // advance the clock.
    ver_local_sel = consume || s5_req_zero_reg;
    ver = ver_local_sel ? ver_local : req_ver;
    ver_lt = ver_local_sel ? local_lt : s5_req_lt_reg;
    ver_eq = ver_local_sel ? local_eq : s5_req_eq_reg;
    if (need_ver) begin
      if (ver_local_sel) begin
        lamport_n = lamport_inc_reg;
        lamport_inc_n = lamport_inc_reg + 64'd1;
      end else if (req_hi > lamport_reg) begin
        lamport_n = req_hi;
        lamport_inc_n = req_hi_inc;
      end
    end

    if (!s5_sweep_reg && s5_pre_ok_reg) begin
      if (s5_is_put_reg && need_ver) begin
        if (found_live && ver_lt) begin
          st = STATUS_STALE;
          inc1[STATS_STALE] = 1'b1;
        end else if (found_live && ver_eq) begin
          st = STATUS_OK;  // duplicate delivery of the same write
        end else begin
          do_write = 1'b1;
          new_ver = ver;
          new_exp = hdr_exp;
          new_flags = s5_hdr_reg[H_FLAGS+:2] & 2'b10;  // only SINGLE_USE is taken from the caller
          new_blen = blob_len;
          inc1[STATS_PUTS] = 1'b1;
          b_we = tw_oh;
        end
      end else if (s5_is_del_reg) begin
        st = STATUS_MISS;
        if (found_live) begin
          mo_ver = s5_f_ver_reg;
          mo_exp = s5_f_exp_reg;
          mo_flags = {s5_f_single_reg, s5_f_tomb_reg};
          if (ver_lt || ver_eq) begin
            if (ver_eq && s5_f_tomb_reg) st = STATUS_MISS;  // duplicate delete
            else begin
              st = STATUS_STALE;
              inc1[STATS_STALE] = 1'b1;
            end
          end else begin
            do_write = 1'b1;
            tw_oh = s5_fw_reg;
            tomb_new = 1'b1;
            new_ver = ver;
            new_exp = s5_hdr_gt_reg ? hdr_exp : s5_f_exp_reg;
            new_flags = 2'b01;
            if (!s5_f_tomb_reg) begin
              inc1[STATS_DELETES] = 1'b1;
              st = STATUS_OK;
            end
          end
        end else if (!s5_hdr_expired_reg && vict_ok) begin
          // Unknown key: remember the delete so a reordered older PUT cannot revive it.
          do_write = 1'b1;
          tw_oh = vw_oh;
          tomb_new = 1'b1;
          new_ver = ver;
          new_exp = hdr_exp;
          new_flags = 2'b01;
        end
      end else if (consume) begin
        do_write = 1'b1;
        tw_oh = s5_fw_reg;
        tomb_new = 1'b1;
        new_ver = ver;
        mo_aux = ver;  // card contract: a consume answers the tombstone's version in aux
        new_exp = s5_f_exp_reg;
        new_flags = 2'b01;
        inc1[STATS_DELETES] = 1'b1;
      end
    end

    // Frees (the expired hit, the way a write replaces, the sweep's) and the new entry.
    if (s5_free_fw_reg) m_we = m_we | s5_fw_reg;
    if (do_write) begin
      m_we = m_we | tw_oh;
      m_new = tw_oh;
      if (s5_is_put_reg || s5_is_del_reg) begin  // consume reports the entry as it was
        mo_ver = new_ver;
        mo_exp = new_exp;
        mo_flags = new_flags;
      end
    end
    live_dn = {{WAYS{s5_sweep_reg}} & s5_sweep_free_reg & ~s5_tomb_reg, {WAYS{s5_free_fw_reg}} & s5_fw_reg & ~s5_tomb_reg,
               {WAYS{do_write}} & tw_oh & occ_after & ~s5_tomb_reg};
    tomb_dn = {{WAYS{s5_sweep_reg}} & s5_sweep_free_reg & s5_tomb_reg, {WAYS{s5_free_fw_reg}} & s5_fw_reg & s5_tomb_reg,
               {WAYS{do_write}} & tw_oh & occ_after & s5_tomb_reg};
    live_up = do_write && !tomb_new;
    tomb_up = do_write && tomb_new;
  end

  // Response header.
  logic [511:0] rsp_hdr;
  always_comb begin
    rsp_hdr = s5_hdr_reg;
    rsp_hdr[H_STATUS+:W_STATUS] = st;
    rsp_hdr[H_BLOB_LEN+:W_BLOB_LEN] = rsp_len;
    rsp_hdr[H_AUX+:W_AUX] = mo_aux;
    rsp_hdr[H_VERSION+:W_VERSION] = mo_ver;
    rsp_hdr[H_EXPIRY+:W_EXPIRY] = mo_exp;
    rsp_hdr[H_FLAGS+:W_FLAGS] = {6'h0, mo_flags};
    if (scan_hit) begin
      rsp_hdr[H_KEY+:W_KEY] = s5_skey_reg;
      rsp_hdr[H_KEY_LEN+:W_KEY_LEN] = W_KEY_LEN'(s5_sklen_reg);
      rsp_hdr[H_CTX+:W_CTX] = s5_sctx_reg;
    end
  end

  // s6: the decision, applied when it fires.
  logic [511:0] s6_rsp_reg;
  logic [15:0] s6_rsp_len_reg;
  logic s6_rsp_stats_reg, s6_flush_go_reg, s6_rsp_last_reg;
  logic [WAYS-1:0] s6_rsp_way_reg, s6_m_we_reg, s6_m_new_reg, s6_b_we_reg, s6_sweep_free_reg;
  logic [META_W-1:0] s6_new_meta_reg;
  logic [NCNT-1:0] s6_inc1_reg;
  logic [3*WAYS-1:0] s6_live_dn_reg, s6_tomb_dn_reg;
  logic s6_live_up_reg, s6_tomb_up_reg;

  // ---------------------------------------------------------------- response FIFO
  logic fifo_full, fifo_push;
  logic [511:0] fifo_data;
  logic fifo_last;
  sess_axis_fifo #(
      .WIDTH(512),
      .DEPTH_LOG2(2)
  ) rsp_fifo (
      .clk(clk),
      .rst(rst),
      .s_valid(fifo_push),
      .s_data(fifo_data),
      .s_last(fifo_last),
      .s_full(fifo_full),
      .m_tdata(m_rsp_tdata),
      .m_tlast(m_rsp_tlast),
      .m_tvalid(m_rsp_tvalid),
      .m_tready(m_rsp_tready)
  );

  assign s6_fire = s6_valid_reg && (s6_sweep_reg || (!fifo_full && !snd_busy_reg));
  assign fifo_push = (s6_fire && !s6_sweep_reg) || snd_busy_reg;
  assign fifo_data = snd_busy_reg ? snd_buf_reg[511:0] : s6_rsp_reg;
  assign fifo_last = snd_busy_reg ? snd_left_reg == 16'd1 : s6_rsp_last_reg;

  // Writes: the flush clears one set per cycle (nothing else is in flight then).
  logic [SLOT_BITS-1:0] slot_data;
  always_comb begin
    slot_data = '0;
    for (int s = 0; s < NSLOT; s++) if (s6_slot_reg == 2'(s)) slot_data = slots_reg[s*SLOT_BITS+:SLOT_BITS];
    wr_addr = flush_active_reg ? flush_idx_reg : s6_set_reg;
    for (int w = 0; w < WAYS; w++)
      wr_meta[w*META_W+:META_W] = (!flush_active_reg && s6_m_new_reg[w]) ? s6_new_meta_reg : '0;
    wr_meta_en = flush_active_reg ? '1 : (s6_fire ? s6_m_we_reg : '0);
    wr_blob_en = (s6_fire && !flush_active_reg) ? s6_b_we_reg : '0;
    // Bytes past blob_len are zeroed so a stored slot never holds caller junk: beats
    // before the last are kept whole, the last keeps a thermometer of bytes, later
    // beats are zero.
    for (int b = 0; b < SLOT_BEATS; b++)
      for (int i = 0; i < 64; i++)
        wr_blob[(b*64+i)*8+:8] = (s6_lt_reg[b] || (s6_eq_reg[b] && s6_tail_reg[i])) ?
                                 slot_data[(b*64+i)*8+:8] : 8'h00;
  end

  // STATS blob / register view: counters as they stand after every fired command.
  always_comb begin
    for (int i = 0; i < STATS_WORDS; i++) stats_flat[i*64+:64] = 64'h0;
    for (int i = 0; i < NCNT; i++) stats_flat[i*64+:64] = cnt_reg[i*64+:64];
    stats_flat[STATS_LAMPORT*64+:64] = lamport_reg;
    stats_flat[STATS_NOW*64+:64] = {32'h0, now_reg};
    stats_flat[STATS_CARD*64+:64] = {56'h0, card_id};
  end
  assign flushing = flush_active_reg;

  logic [SLOT_BITS-1:0] rsp_blob;
  always_comb begin
    rsp_blob = '0;
    for (int w = 0; w < WAYS; w++) if (s6_rsp_way_reg[w]) rsp_blob = s6_blob_reg[w*SLOT_BITS+:SLOT_BITS];
  end

  // ---------------------------------------------------------------- registers
  always_ff @(posedge clk) begin
    if (adv) begin
      // s1 -> s2
      s2_valid_reg <= s1_go;
      s2_sweep_reg <= s1_sweep_reg;
      s2_hdr_reg <= s1_hdr_reg;
      s2_set_reg <= s1_set_reg;
      s2_pre_reg <= s1_pre;
      s2_mw_reg <= s1_go && (s1_sweep_reg || (s1_keyed_reg && s1_pre == STATUS_OK));
      s2_settime_reg <= s1_go && s1_settime_reg;
      s2_flush_reg <= s1_go && s1_flush_reg;
      s2_slot_en_reg <= s1_go && s1_slot_en_reg;
      s2_slot_reg <= s1_slot_reg;
      s2_lt_reg <= s1_beat_lt_reg;
      s2_eq_reg <= s1_beat_eq_reg;
      s2_tail_reg <= s1_tail_reg;
      s2_scan_reg <= s1_scan_reg;
      s2_sway_reg <= s1_sway_reg;
      // s2 -> s3
      s3_valid_reg <= s2_valid_reg;
      s3_sweep_reg <= s2_sweep_reg;
      s3_hdr_reg <= s2_hdr_reg;
      s3_set_reg <= s2_set_reg;
      s3_pre_reg <= s2_pre_reg;
      s3_mw_reg <= s2_mw_reg;
      s3_settime_reg <= s2_settime_reg;
      s3_flush_reg <= s2_flush_reg;
      s3_slot_en_reg <= s2_slot_en_reg;
      s3_slot_reg <= s2_slot_reg;
      s3_lt_reg <= s2_lt_reg;
      s3_eq_reg <= s2_eq_reg;
      s3_tail_reg <= s2_tail_reg;
      s3_scan_reg <= s2_scan_reg;
      s3_sway_reg <= s2_sway_reg;
      s3_meta_reg <= rd_meta;
      // s3 -> s4
      s4_valid_reg <= s3_valid_reg;
      s4_sweep_reg <= s3_sweep_reg;
      s4_hdr_reg <= s3_hdr_reg;
      s4_set_reg <= s3_set_reg;
      s4_pre_reg <= s3_pre_reg;
      s4_mw_reg <= s3_mw_reg;
      s4_flush_reg <= s3_flush_reg;
      s4_slot_en_reg <= s3_slot_en_reg;
      s4_slot_reg <= s3_slot_reg;
      s4_lt_reg <= s3_lt_reg;
      s4_eq_reg <= s3_eq_reg;
      s4_tail_reg <= s3_tail_reg;
      s4_skey_reg <= p_skey;
      s4_sklen_reg <= p_sklen;
      s4_sctx_reg <= p_sctx;
      s4_chunk_eq_reg <= p_chunk_eq;
      s4_blen_nz_reg <= p_blen_nz;
      s4_req_zero_reg <= s3_hdr_reg[H_VERSION+:W_VERSION] == 64'd0;
      s4_empty_reg <= p_empty;
      s4_expired_reg <= p_expired;
      s4_tomb_reg <= p_tomb;
      s4_single_reg <= p_single;
      s4_req_lt_reg <= p_req_lt;
      s4_req_eq_reg <= p_req_eq;
      s4_hdr_gt_reg <= p_hdr_gt;
      s4_rank_reg <= p_rank;
      s4_egt_reg <= p_egt;
      s4_hdr_expired_reg <= p_hdr_expired;
      s4_ver_reg <= p_ver;
      s4_exp_reg <= p_exp;
      s4_blen_reg <= p_blen;
      // s4 -> s5
      s5_valid_reg <= s4_valid_reg;
      s5_sweep_reg <= s4_sweep_reg;
      s5_hdr_reg <= s4_hdr_reg;
      s5_set_reg <= s4_set_reg;
      s5_pre_reg <= s4_pre_reg;
      s5_mw_reg <= s4_mw_reg;
      s5_flush_reg <= s4_flush_reg;
      s5_slot_en_reg <= s4_slot_en_reg;
      s5_slot_reg <= s4_slot_reg;
      s5_lt_reg <= s4_lt_reg;
      s5_eq_reg <= s4_eq_reg;
      s5_tail_reg <= s4_tail_reg;
      s5_skey_reg <= s4_skey_reg;
      s5_sklen_reg <= s4_sklen_reg;
      s5_sctx_reg <= s4_sctx_reg;
      s5_fw_reg <= q_fw;
      s5_vw_norm_reg <= q_vw_norm;
      s5_vw_free_reg <= q_vw_free;
      s5_empty_reg <= s4_empty_reg;
      s5_tomb_reg <= s4_tomb_reg;
      s5_sweep_free_reg <= ~s4_empty_reg & s4_expired_reg;
      s5_found_reg <= q_found;
      s5_free_fw_reg <= q_free_fw;
      s5_vict_ok_norm_reg <= q_vict_ok_norm;
      s5_evicts_norm_reg <= q_evicts_norm;
      s5_f_expired_reg <= q_f_expired;
      s5_f_blen_nz_reg <= q_f_blen_nz;
      s5_req_lt_reg <= q_req_lt;
      s5_req_eq_reg <= q_req_eq;
      s5_hdr_gt_reg <= q_hdr_gt;
      s5_f_tomb_reg <= q_f_tomb;
      s5_f_single_reg <= q_f_single;
      s5_hdr_expired_reg <= s4_hdr_expired_reg;
      s5_req_zero_reg <= s4_req_zero_reg;
      s5_pre_ok_reg <= s4_pre_reg == STATUS_OK;
      s5_hit_reg <= q_found && !q_f_tomb && !q_f_expired;
      s5_is_put_reg <= s4_op == OPCODE_PUT;
      s5_is_del_reg <= s4_op == OPCODE_DEL;
      s5_is_get_reg <= s4_op == OPCODE_GET;
      s5_is_take_reg <= s4_op == OPCODE_TAKE;
      s5_is_export_reg <= s4_op == OPCODE_EXPORT;
      s5_is_settime_reg <= s4_op == OPCODE_SET_TIME;
      s5_is_flush_reg <= s4_op == OPCODE_FLUSH;
      s5_is_stats_reg <= s4_op == OPCODE_STATS;
      s5_is_scan_reg <= s4_op == OPCODE_SCAN;
      s5_f_ver_reg <= q_f_ver;
      s5_f_exp_reg <= q_f_exp;
      s5_f_blen_reg <= q_f_blen;
      // s5 -> s6
      s6_valid_reg <= s5_valid_reg;
      s6_sweep_reg <= s5_sweep_reg;
      s6_set_reg <= s5_set_reg;
      s6_mw_reg <= s5_mw_reg;
      s6_flush_reg <= s5_flush_reg;
      s6_slot_en_reg <= s5_slot_en_reg;
      s6_slot_reg <= s5_slot_reg;
      s6_lt_reg <= s5_lt_reg;
      s6_eq_reg <= s5_eq_reg;
      s6_tail_reg <= s5_tail_reg;
      s6_rsp_reg <= rsp_hdr;
      s6_rsp_len_reg <= rsp_len;
      s6_rsp_last_reg <= rsp_last;
      s6_rsp_stats_reg <= rsp_stats;
      s6_rsp_way_reg <= rsp_way_oh;
      s6_flush_go_reg <= flush_go;
      s6_m_we_reg <= m_we;
      s6_m_new_reg <= m_new;
      s6_b_we_reg <= b_we;
      s6_new_meta_reg <= {new_blen, s5_hdr_reg[H_CTX+:W_CTX], new_flags, key_len6, new_exp, new_ver,
                          s5_hdr_reg[H_KEY+:W_KEY]};
      s6_inc1_reg <= inc1;
      s6_sweep_free_reg <= s5_sweep_reg ? s5_sweep_free_reg : '0;
      s6_live_up_reg <= live_up;
      s6_live_dn_reg <= live_dn;
      s6_tomb_up_reg <= tomb_up;
      s6_tomb_dn_reg <= tomb_dn;
      s6_blob_reg <= rd_blob;
      // global state decided with the command that moves s5 -> s6
      if (s5_valid_reg) begin
        now_reg <= now_n;
        lamport_reg <= lamport_n;
        lamport_inc_reg <= lamport_inc_n;
      end
    end

    // s6 fires: counters, slot release, flush start, response sender.
    if (s6_fire) begin
      for (int i = 0; i < NCNT; i++) begin
        if (i == STATS_LIVE)
          cnt_reg[i*64+:64] <= s6_flush_go_reg ? 64'h0 :
                               cnt_reg[i*64+:64] + 64'(s6_live_up_reg) - 64'(popcount(64'(s6_live_dn_reg)));
        else if (i == STATS_TOMBSTONES)
          cnt_reg[i*64+:64] <= s6_flush_go_reg ? 64'h0 :
                               cnt_reg[i*64+:64] + 64'(s6_tomb_up_reg) - 64'(popcount(64'(s6_tomb_dn_reg)));
        else if (i == STATS_SWEPT) cnt_reg[i*64+:64] <= cnt_reg[i*64+:64] + 64'(popcount(64'(s6_sweep_free_reg)));
        else cnt_reg[i*64+:64] <= cnt_reg[i*64+:64] + 64'(s6_inc1_reg[i]);
      end
    end
    if (hdr_load && !s0_last_reg && !(s6_fire && s6_slot_en_reg)) slots_used_reg <= slots_used_reg + 1'b1;
    else if (!(hdr_load && !s0_last_reg) && s6_fire && s6_slot_en_reg) slots_used_reg <= slots_used_reg - 1'b1;

    // flush: one set per cycle
    if (flush_active_reg) begin
      flush_idx_reg <= flush_idx_reg + 1'b1;
      if (flush_idx_reg == SETS_LOG2'(SETS - 1)) flush_active_reg <= 1'b0;
    end else if (s6_fire && s6_flush_go_reg) begin
      flush_active_reg <= 1'b1;
      flush_idx_reg <= '0;
    end

    // response sender: blob beats after the header
    if (s6_fire && !s6_sweep_reg) begin
      snd_left_reg <= 16'(beats_for(s6_rsp_len_reg));
      snd_busy_reg <= s6_rsp_len_reg != 0;
      snd_buf_reg <= '0;
      if (s6_rsp_stats_reg) snd_buf_reg[STATS_BITS-1:0] <= stats_flat;
      else snd_buf_reg[SLOT_BITS-1:0] <= rsp_blob;
    end else if (snd_busy_reg && !fifo_full) begin
      snd_left_reg <= snd_left_reg - 1'b1;
      snd_busy_reg <= snd_left_reg != 16'd1;
      snd_buf_reg <= snd_buf_reg >> 512;
    end

    if (rst) begin
      s2_valid_reg <= 1'b0;
      s3_valid_reg <= 1'b0;
      s4_valid_reg <= 1'b0;
      s5_valid_reg <= 1'b0;
      s6_valid_reg <= 1'b0;
      s2_mw_reg <= 1'b0;
      s3_mw_reg <= 1'b0;
      s4_mw_reg <= 1'b0;
      s5_mw_reg <= 1'b0;
      s6_mw_reg <= 1'b0;
      s2_settime_reg <= 1'b0;
      s3_settime_reg <= 1'b0;
      s2_flush_reg <= 1'b0;
      s3_flush_reg <= 1'b0;
      s4_flush_reg <= 1'b0;
      s5_flush_reg <= 1'b0;
      s6_flush_reg <= 1'b0;
      s2_slot_en_reg <= 1'b0;
      s3_slot_en_reg <= 1'b0;
      s4_slot_en_reg <= 1'b0;
      s5_slot_en_reg <= 1'b0;
      s6_slot_en_reg <= 1'b0;
      slots_used_reg <= '0;
      now_reg <= '0;
      lamport_reg <= '0;
      lamport_inc_reg <= 64'd1;
      cnt_reg <= '0;
      flush_active_reg <= 1'b1;  // power-on: clear every set before the first command
      flush_idx_reg <= '0;
      snd_left_reg <= '0;
      snd_busy_reg <= 1'b0;
    end
  end
endmodule
`resetall
