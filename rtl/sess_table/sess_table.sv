// Session-ID table: the RTL twin of the HLS kernel hls/session_table.hpp.
//
// Every command gets the response the kernel gives it (status, metadata, blob bytes,
// counters, STATS blob, set index, victim way, tombstones, Lamport versions); the
// equivalence test in tests/rtl/ checks that beat for beat. The kernel's header comment
// lists the rules; this file only explains how the hardware schedules them.
//
// Pipeline (one command in flight in the execute stage "ex"):
//   accept  The header beat is decoded, the set index is hashed straight from tdata and
//           every way's metadata and blob slot of that set are read in parallel
//           (one simple dual-port RAM per way, synchronous read).
//   payload PUT payload beats are staged in ex (up to one slot, the rest drained and
//           counted so the framing can be checked against blob_len).
//   execute One cycle: tag compare across all ways, expiry, victim choice, Lamport
//           version, counters; writes the metadata of up to two ways and the whole
//           blob slot (one wide write); queues the response header. The next header
//           is accepted in the same cycle, so GETs to different sets run at one
//           command per cycle until the response stream (one beat per cycle) is the
//           limit.
//   respond Header and blob beats go through a small FIFO with registered outputs.
// Same-set hazard: the RAMs return old data when read and written in the same cycle,
// so a header accepted while the previous command writes its set is re-read one cycle
// later (a one-cycle stall, never stale data).
//
// The idle sweep (sweep_enable) uses the same execute stage: when no command is waiting
// it reads one set and frees its expired ways, like the kernel's sweep_step().
// FLUSH (and reset) clear one set per cycle; no command is accepted until done.
`resetall
`default_nettype none
module sess_table #(
    parameter int SETS_LOG2 = 6,
    parameter int WAYS = 4,
    parameter int SLOT_BYTES = 256,
    parameter BLOB_RAM_STYLE = "block",
    // Card contract (cardrtl's minimal edit; the re-pipelined table does this always): a
    // TAKE or a GET that consumes a SINGLE_USE entry answers the tombstone's version in aux.
    parameter bit TAKE_AUX_TOMBSTONE = 1'b0
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

  initial begin
    if (SLOT_BYTES % BEAT_BYTES != 0 || SLOT_BYTES >= 65536) $fatal(1, "SLOT_BYTES: whole beats, < 64 KiB");
    if (WAYS < 1 || WAYS > 16) $fatal(1, "WAYS must be 1..16");
    if (SETS_LOG2 < 1 || SETS_LOG2 > 20) $fatal(1, "SETS_LOG2 must be 1..20");
    if (STATS_WORDS * 64 != 1024) $fatal(1, "stats_flat width must follow STATS_WORDS");
  end

  // ---------------------------------------------------------------- helpers
  // Bytes past key_len are forced to zero so padding cannot split a key.
  function automatic logic [255:0] mask_key(input logic [255:0] key, input logic [7:0] key_len);
    logic [255:0] k;
    for (int i = 0; i < 32; i++) k[i*8+:8] = (8'(i) < key_len) ? key[i*8+:8] : 8'h00;
    mask_key = k;  // (no `return`: Yosys 0.23)
  endfunction

  // XOR fold of the zero-padded id, its length and ctx (SessionTable::set_index).
  function automatic logic [SETS_LOG2-1:0] set_of(input logic [255:0] key, input logic [7:0] key_len,
                                                  input logic [7:0] ctx);
    logic [63:0] h;
    h = key[63:0] ^ key[127:64] ^ key[191:128] ^ key[255:192] ^ {ctx, 56'h0} ^ {56'h0, key_len};
    h = h ^ (h >> 32);
    h = h ^ (h >> 16);
    set_of = h[SETS_LOG2-1:0];
  endfunction

  function automatic logic [GOT_BITS-1:0] beats_for(input logic [15:0] len);
    beats_for = GOT_BITS'((17'(len) + 17'd63) >> 6);
  endfunction

  // ---------------------------------------------------------------- state
  logic ex_valid_reg, ex_complete_reg, ex_rd_ok_reg, ex_sweep_reg;
  logic [511:0] ex_hdr_reg;  // command header beat
  logic [255:0] ex_key_reg;
  logic [SETS_LOG2-1:0] ex_set_reg;
  logic [GOT_BITS-1:0] ex_got_reg;
  logic [SLOT_BITS-1:0] ex_stage_reg;

  logic [31:0] now_reg;
  logic [63:0] lamport_reg;
  // Counters are updated one cycle late so their 64-bit adders are not at the end of
  // the execute stage's decision logic: the value of counter i is always
  // cnt_reg[i] + delta_reg[i] (the last fired command's change, not yet added).
  logic [NCNT*64-1:0] cnt_reg;  // counter i at [i*64 +: 64]
  logic [NCNT*8-1:0] delta_reg;  // signed change of counter i at [i*8 +: 8]
  logic [NCNT*64-1:0] cnt_now;  // cnt_reg + delta_reg
  logic [SETS_LOG2-1:0] sweep_set_reg;
  logic flush_active_reg;
  logic [SETS_LOG2-1:0] flush_idx_reg;
  logic [BUF_BITS-1:0] snd_buf_reg;
  logic [15:0] snd_left_reg;

  // ---------------------------------------------------------------- memories
  logic rd_en;
  logic [SETS_LOG2-1:0] rd_addr, wr_addr;
  logic [WAYS-1:0] m_we, b_we;  // what the command in ex would write
  logic [WAYS-1:0] m_we_q, b_we_q;  // what is written this cycle
  logic [WAYS*META_W-1:0] rd_meta, wr_meta;  // way w at [w*META_W +: META_W]
  logic [WAYS*SLOT_BITS-1:0] rd_blob;
  logic [SLOT_BITS-1:0] wr_blob;

  for (genvar w = 0; w < WAYS; w++) begin : g_way
    sess_ram_sdp #(
        .WIDTH(META_W),
        .ADDR_BITS(SETS_LOG2)
    ) meta_ram (
        .clk(clk),
        .wr_en(m_we_q[w]),
        .wr_addr(wr_addr),
        .wr_data(wr_meta[w*META_W+:META_W]),
        .rd_en(rd_en),
        .rd_addr(rd_addr),
        .rd_data(rd_meta[w*META_W+:META_W])
    );
    sess_ram_sdp #(
        .WIDTH(SLOT_BITS),
        .ADDR_BITS(SETS_LOG2),
        .RAM_STYLE(BLOB_RAM_STYLE)
    ) blob_ram (
        .clk(clk),
        .wr_en(b_we_q[w]),
        .wr_addr(wr_addr),
        .wr_data(wr_blob),
        .rd_en(rd_en),
        .rd_addr(rd_addr),
        .rd_data(rd_blob[w*SLOT_BITS+:SLOT_BITS])
    );
  end

  // Metadata fields of the set read for ex (info = key_len | flags | ctx | blob_len).
  logic [WAYS*256-1:0] rd_key;
  logic [WAYS*64-1:0] rd_ver;
  logic [WAYS*32-1:0] rd_exp;
  logic [WAYS*6-1:0] rd_klen;
  logic [WAYS*2-1:0] rd_flags;
  logic [WAYS*8-1:0] rd_ctx;
  logic [WAYS*16-1:0] rd_blen;
  always_comb begin
    for (int w = 0; w < WAYS; w++) begin
      rd_key[w*256+:256] = rd_meta[w*META_W+:256];
      rd_ver[w*64+:64] = rd_meta[w*META_W+256+:64];
      rd_exp[w*32+:32] = rd_meta[w*META_W+320+:32];
      rd_klen[w*6+:6] = rd_meta[w*META_W+352+:6];
      rd_flags[w*2+:2] = rd_meta[w*META_W+358+:2];
      rd_ctx[w*8+:8] = rd_meta[w*META_W+360+:8];
      rd_blen[w*16+:16] = rd_meta[w*META_W+368+:16];
    end
  end

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

  // ---------------------------------------------------------------- STATS blob
  always_comb begin
    for (int i = 0; i < STATS_WORDS; i++) stats_flat[i*64+:64] = 64'h0;
    for (int i = 0; i < NCNT; i++) begin
      cnt_now[i*64+:64] = cnt_reg[i*64+:64] + {{56{delta_reg[i*8+7]}}, delta_reg[i*8+:8]};
      stats_flat[i*64+:64] = cnt_now[i*64+:64];
    end
    stats_flat[STATS_LAMPORT*64+:64] = lamport_reg;
    stats_flat[STATS_NOW*64+:64] = {32'h0, now_reg};
    stats_flat[STATS_CARD*64+:64] = {56'h0, card_id};
  end
  assign flushing = flush_active_reg;

  // ---------------------------------------------------------------- execute stage
  logic [7:0] op, key_len;
  logic [15:0] blob_len;
  logic is_put, keyed;
  logic [7:0] pre;  // validation outcome (OK, BAD_CMD, TOO_LARGE)

  always_comb begin
    op = ex_hdr_reg[H_OP+:W_OP];
    key_len = ex_hdr_reg[H_KEY_LEN+:W_KEY_LEN];
    blob_len = ex_hdr_reg[H_BLOB_LEN+:W_BLOB_LEN];
    is_put = op == OPCODE_PUT;
    keyed = op == OPCODE_PUT || op == OPCODE_GET || op == OPCODE_TAKE || op == OPCODE_DEL || op == OPCODE_EXPORT;
    if (ex_got_reg != beats_for(blob_len)) pre = STATUS_BAD_CMD;
    else if (op >= OPCODE_TRANSFER) pre = STATUS_BAD_CMD;  // TRANSFER belongs to backplane_sync
    else if (!is_put && blob_len != 0) pre = STATUS_BAD_CMD;
    else if (keyed && (key_len == 0 || key_len > 8'(KEY_MAX_BYTES))) pre = STATUS_BAD_CMD;
    else if (is_put && blob_len == 0) pre = STATUS_BAD_CMD;
    else if (is_put && blob_len > SLOT_BYTES16) pre = STATUS_TOO_LARGE;
    else pre = STATUS_OK;
  end

  // Decisions of the command in ex; applied only in the cycle it fires.
  logic [WAYS-1:0] m_new;  // way gets the new entry (else a write frees the way)
  logic [63:0] new_ver;
  logic [31:0] new_exp;
  logic [1:0] new_flags;
  logic [15:0] new_blen;
  logic signed [7:0] live_d, tomb_d;
  logic [NCNT*5-1:0] inc;  // increment of counter i at [i*5 +: 5]
  logic [63:0] lamport_n;
  logic [31:0] now_n;
  logic [7:0] st;
  logic [63:0] mo_ver;
  logic [31:0] mo_exp;
  logic [1:0] mo_flags;
  logic [15:0] rsp_len;
  logic rsp_stats, flush_go;
  logic [WAYS-1:0] rsp_way_oh;

  // Scratch of the procedural block below.
  logic [WAYS*6-1:0] v_klen;  // key_len of each way after this command's frees
  logic found, free_fw, found_live, do_write, need_ver, vict_ok, live_ok, tomb_new, consume;
  logic [WAYS-1:0] fw_oh, vw_oh, tw_oh;
  logic [63:0] f_ver, req_ver, ver;
  logic [31:0] f_exp;
  logic [1:0] f_flags, rank;
  localparam int VKEY_W = 2 + 32 + 5;  // victim key: rank | expiry | way
  logic [WAYS*VKEY_W-1:0] vkey;
  logic [15:0] f_blen;

  always_comb begin
    m_we = '0;
    m_new = '0;
    b_we = '0;
    new_ver = '0;
    new_exp = '0;
    new_flags = '0;
    new_blen = '0;
    live_d = '0;
    tomb_d = '0;
    inc = '0;
    lamport_n = lamport_reg;
    now_n = now_reg;
    st = STATUS_OK;
    mo_ver = '0;
    mo_exp = '0;
    mo_flags = '0;
    rsp_len = '0;
    rsp_stats = 1'b0;
    rsp_way_oh = '0;
    flush_go = 1'b0;
    v_klen = rd_klen;
    do_write = 1'b0;
    need_ver = 1'b0;
    req_ver = ex_hdr_reg[H_VERSION+:W_VERSION];
    ver = '0;
    tomb_new = 1'b0;
    consume = 1'b0;
    tw_oh = '0;

    // Tag compare across every way at once; the lowest matching way wins.
    found = 1'b0;
    fw_oh = '0;
    for (int w = 0; w < WAYS; w++) begin
      if (!found && {2'b0, rd_klen[w*6+:6]} == key_len && rd_ctx[w*8+:8] == ex_hdr_reg[H_CTX+:W_CTX] && rd_key[w*256+:256] == ex_key_reg) begin
        found = 1'b1;
        fw_oh[w] = 1'b1;
      end
    end
    f_ver = '0;
    f_exp = '0;
    f_flags = '0;
    f_blen = '0;
    for (int w = 0; w < WAYS; w++) begin
      if (fw_oh[w]) begin
        f_ver = rd_ver[w*64+:64];
        f_exp = rd_exp[w*32+:32];
        f_flags = rd_flags[w*2+:2];
        f_blen = rd_blen[w*16+:16];
      end
    end
    // An expired entry protects nothing: a keyed command frees it first (not a PUT
    // that is itself already expired: that one answers EXPIRED before any lookup).
    free_fw = ex_valid_reg && !ex_sweep_reg && pre == STATUS_OK && keyed && found && now_reg >= f_exp &&
              !(is_put && ex_hdr_reg[H_EXPIRY+:W_EXPIRY] <= now_reg);
    found_live = found && !free_fw;

    if (free_fw) begin
      for (int w = 0; w < WAYS; w++) begin
        if (fw_oh[w]) begin
          if (f_flags[0]) tomb_d = tomb_d - 8'sd1;
          else live_d = live_d - 8'sd1;
          v_klen[w*6+:6] = '0;
          m_we[w] = 1'b1;
        end
      end
    end

    // Victim for an insert, on the set as it is after the free above: a free way, else
    // an expired one, else the earliest expiry (lowest way on ties); a tombstone insert
    // (live_ok = 0) never displaces a live entry. Every way gets a unique key
    // {rank, expiry if evictable, way}; the smallest wins. All pairs are compared at
    // once (one compare deep) instead of way after way.
    live_ok = is_put;
    for (int w = 0; w < WAYS; w++) begin
      if (v_klen[w*6+:6] == 0) rank = 2'd0;
      else if (now_reg >= rd_exp[w*32+:32]) rank = 2'd1;
      else if (live_ok || rd_flags[w*2]) rank = 2'd2;
      else rank = 2'd3;
      vkey[w*VKEY_W+:VKEY_W] = {rank, rank == 2'd2 ? rd_exp[w*32+:32] : 32'h0, 5'(w)};
    end
    vict_ok = 1'b0;
    for (int w = 0; w < WAYS; w++) begin
      vw_oh[w] = 1'b1;
      for (int v = 0; v < WAYS; v++)
        if (v != w && vkey[w*VKEY_W+:VKEY_W] > vkey[v*VKEY_W+:VKEY_W]) vw_oh[w] = 1'b0;
      if (vw_oh[w] && vkey[w*VKEY_W+VKEY_W-2+:2] != 2'd3) vict_ok = 1'b1;
    end
    if (!vict_ok) vw_oh = '0;

    if (ex_sweep_reg) begin
      // Idle sweep: free every expired way of this set.
      for (int w = 0; w < WAYS; w++) begin
        if (rd_klen[w*6+:6] != 0 && now_reg >= rd_exp[w*32+:32]) begin
          m_we[w] = 1'b1;
          if (rd_flags[w*2]) tomb_d = tomb_d - 8'sd1;
          else live_d = live_d - 8'sd1;
          inc[STATS_SWEPT*5+:5] = inc[STATS_SWEPT*5+:5] + 5'd1;
        end
      end
    end else if (pre != STATUS_OK) begin
      st = pre;
      if (pre == STATUS_TOO_LARGE) inc[STATS_TOO_LARGE*5+:5] = 5'd1;
      else inc[STATS_BAD_CMD*5+:5] = 5'd1;
    end else begin
      case (op)
        OPCODE_SET_TIME: now_n = ex_hdr_reg[H_AUX+:32];
        OPCODE_FLUSH: flush_go = 1'b1;
        OPCODE_STATS: begin
          rsp_len = 16'(STATS_WORDS * 8);
          rsp_stats = 1'b1;
        end
        OPCODE_PUT: begin
          if (ex_hdr_reg[H_EXPIRY+:W_EXPIRY] <= now_reg) begin
            st = STATUS_EXPIRED;
            inc[STATS_EXPIRED*5+:5] = 5'd1;
          end else begin
            need_ver = 1'b1;
            if (found_live) begin
              tw_oh = fw_oh;
              mo_ver = f_ver;
              mo_exp = f_exp;
              mo_flags = f_flags;
              // STALE if older, duplicate (OK, no change) if equal; the version is
              // compared below once it is known.
            end else begin
              tw_oh = vw_oh;
              for (int w = 0; w < WAYS; w++) begin
                // Displacing a tombstone is no eviction; only a live entry counts.
                if (vw_oh[w] && v_klen[w*6+:6] != 0 && !rd_flags[w*2] && now_reg < rd_exp[w*32+:32]) begin
                  st = STATUS_EVICTED;
                  inc[STATS_EVICTIONS*5+:5] = 5'd1;
                end
              end
            end
          end
        end
        OPCODE_DEL: need_ver = 1'b1;
        OPCODE_GET, OPCODE_TAKE, OPCODE_EXPORT: begin
          inc[STATS_GETS*5+:5] = 5'd1;
          if (!found || f_flags[0]) begin
            inc[STATS_MISSES*5+:5] = 5'd1;
            st = STATUS_MISS;
          end else if (now_reg >= f_exp) begin
            inc[STATS_EXPIRED*5+:5] = 5'd1;
            st = STATUS_EXPIRED;
          end else begin
            inc[STATS_HITS*5+:5] = 5'd1;
            mo_ver = f_ver;
            mo_exp = f_exp;
            mo_flags = f_flags;
            consume = op == OPCODE_TAKE || (op == OPCODE_GET && f_flags[1]);
            rsp_len = f_blen;
            rsp_way_oh = fw_oh;
            if (consume) begin
              need_ver = 1'b1;
              req_ver = '0;
            end
          end
        end
        default: ;  // NOP
      endcase
    end

    // Lamport clock: local writes take the next version; remote ones advance the clock.
    if (need_ver) begin
      if (req_ver == 0) begin
        lamport_n = lamport_reg + 64'd1;
        ver = {lamport_n[63-CARD_BITS:0], card_id};
      end else begin
        if ({8'h0, req_ver[63:CARD_BITS]} > lamport_reg) lamport_n = {8'h0, req_ver[63:CARD_BITS]};
        ver = req_ver;
      end
    end

    if (!ex_sweep_reg && pre == STATUS_OK) begin
      if (op == OPCODE_PUT && need_ver) begin
        if (found_live && ver < f_ver) begin
          st = STATUS_STALE;
          inc[STATS_STALE*5+:5] = 5'd1;
        end else if (found_live && ver == f_ver) begin
          st = STATUS_OK;  // duplicate delivery of the same write
        end else begin
          do_write = 1'b1;
          new_ver = ver;
          new_exp = ex_hdr_reg[H_EXPIRY+:W_EXPIRY];
          new_flags = ex_hdr_reg[H_FLAGS+:2] & 2'b10;  // only SINGLE_USE is taken from the caller
          new_blen = blob_len;
          inc[STATS_PUTS*5+:5] = 5'd1;
          b_we = tw_oh;
        end
      end else if (op == OPCODE_DEL) begin
        st = STATUS_MISS;
        if (found_live) begin
          mo_ver = f_ver;
          mo_exp = f_exp;
          mo_flags = f_flags;
          if (ver <= f_ver) begin
            if (ver == f_ver && f_flags[0]) st = STATUS_MISS;  // duplicate delete
            else begin
              st = STATUS_STALE;
              inc[STATS_STALE*5+:5] = 5'd1;
            end
          end else begin
            do_write = 1'b1;
            tw_oh = fw_oh;
            tomb_new = 1'b1;
            new_ver = ver;
            new_exp = ex_hdr_reg[H_EXPIRY+:W_EXPIRY] > f_exp ? ex_hdr_reg[H_EXPIRY+:W_EXPIRY] : f_exp;
            new_flags = 2'b01;
            if (!f_flags[0]) begin
              inc[STATS_DELETES*5+:5] = 5'd1;
              st = STATUS_OK;
            end
          end
        end else if (ex_hdr_reg[H_EXPIRY+:W_EXPIRY] > now_reg && vict_ok) begin
          // Unknown key: remember the delete so a reordered older PUT cannot revive it.
          do_write = 1'b1;
          tw_oh = vw_oh;
          tomb_new = 1'b1;
          new_ver = ver;
          new_exp = ex_hdr_reg[H_EXPIRY+:W_EXPIRY];
          new_flags = 2'b01;
        end
      end else if (consume) begin
        do_write = 1'b1;
        tw_oh = fw_oh;
        tomb_new = 1'b1;
        new_ver = ver;
        new_exp = f_exp;
        new_flags = 2'b01;
        inc[STATS_DELETES*5+:5] = 5'd1;
      end
    end

    // write_meta: frees whatever the target way held, then stores the new entry.
    if (do_write) begin
      for (int w = 0; w < WAYS; w++) begin
        if (tw_oh[w]) begin
          if (v_klen[w*6+:6] != 0) begin
            if (rd_flags[w*2]) tomb_d = tomb_d - 8'sd1;
            else live_d = live_d - 8'sd1;
          end
          m_we[w] = 1'b1;
          m_new[w] = 1'b1;
        end
      end
      if (tomb_new) tomb_d = tomb_d + 8'sd1;
      else live_d = live_d + 8'sd1;
      if (op == OPCODE_PUT || op == OPCODE_DEL) begin  // consume reports the entry as it was
        mo_ver = new_ver;
        mo_exp = new_exp;
        mo_flags = new_flags;
      end
    end
  end

  // ---------------------------------------------------------------- handshakes
  logic ex_fire, hdr_slot, hdr_accept, pay_accept, sweep_go, reread, any_write;
  logic [511:0] hdr_in;
  logic [255:0] in_key;
  logic [SETS_LOG2-1:0] in_set;

  assign hdr_in = s_cmd_tdata;
  assign in_key = mask_key(hdr_in[H_KEY+:W_KEY], hdr_in[H_KEY_LEN+:W_KEY_LEN]);
  assign in_set = set_of(in_key, hdr_in[H_KEY_LEN+:W_KEY_LEN], hdr_in[H_CTX+:W_CTX]);

  assign ex_fire = ex_valid_reg && ex_complete_reg && ex_rd_ok_reg && !flush_active_reg &&
                   (ex_sweep_reg || (!fifo_full && snd_left_reg == 0));
  // A FLUSH blocks the next header until every set is cleared.
  assign hdr_slot = !flush_active_reg &&
                    (!ex_valid_reg || (ex_fire && !(ex_sweep_reg == 1'b0 && pre == STATUS_OK && op == OPCODE_FLUSH)));
  assign hdr_accept = s_cmd_tvalid && hdr_slot;
  assign pay_accept = s_cmd_tvalid && ex_valid_reg && !ex_complete_reg;
  assign s_cmd_tready = hdr_slot || (ex_valid_reg && !ex_complete_reg);
  assign sweep_go = sweep_enable && !flush_active_reg && !ex_valid_reg && !s_cmd_tvalid;
  assign reread = ex_valid_reg && !ex_rd_ok_reg;
  assign any_write = ex_fire && (|m_we);

  assign rd_en = hdr_accept || reread || sweep_go;
  assign rd_addr = hdr_accept ? in_set : (reread ? ex_set_reg : sweep_set_reg);
  assign wr_addr = flush_active_reg ? flush_idx_reg : ex_set_reg;

  // Last payload beat of a stored blob (blob_len >= 1) and the bytes kept in it.
  logic [15:0] blob_len_m1, last_beat;
  logic [63:0] tail_keep;
  always_comb begin
    blob_len_m1 = blob_len - 16'd1;
    last_beat = blob_len_m1 >> 6;
    tail_keep = 64'hFFFF_FFFF_FFFF_FFFF >> (6'd63 - blob_len_m1[5:0]);
  end

  // Write data: the new entry, or a freed way (info = 0: key_len 0 means empty).
  always_comb begin
    for (int w = 0; w < WAYS; w++) begin
      if (flush_active_reg) wr_meta[w*META_W+:META_W] = '0;
      else if (m_new[w]) wr_meta[w*META_W+:META_W] = {new_blen, ex_hdr_reg[H_CTX+:W_CTX], new_flags, key_len[5:0], new_exp, new_ver, ex_key_reg};
      else wr_meta[w*META_W+:META_W] = {32'h0, rd_exp[w*32+:32], rd_ver[w*64+:64], rd_key[w*256+:256]};
    end
    // Bytes past blob_len are zeroed so a stored slot never holds caller junk: beats
    // before the last are kept whole, the last keeps a thermometer of bytes, later
    // beats (never sent) are zero. Per beat, not per byte, to keep the logic small.
    for (int b = 0; b < SLOT_BEATS; b++)
      for (int i = 0; i < 64; i++)
        wr_blob[(b*64+i)*8+:8] = (16'(b) < last_beat || (16'(b) == last_beat && tail_keep[i])) ?
                                 ex_stage_reg[(b*64+i)*8+:8] : 8'h00;
  end

  // Write enables are qualified here so the decision logic above stays readable.
  always_comb begin
    m_we_q = flush_active_reg ? '1 : (ex_fire ? m_we : '0);
    b_we_q = (ex_fire && !flush_active_reg) ? b_we : '0;
  end

  // ---------------------------------------------------------------- response
  logic [511:0] rsp_hdr;
  logic [SLOT_BITS-1:0] rsp_blob;
  always_comb begin
    rsp_hdr = ex_hdr_reg;
    rsp_hdr[H_STATUS+:W_STATUS] = st;
    rsp_hdr[H_BLOB_LEN+:W_BLOB_LEN] = rsp_len;
    rsp_hdr[H_AUX+:W_AUX] = (TAKE_AUX_TOMBSTONE && consume && do_write) ? W_AUX'(new_ver) : {56'h0, card_id};
    rsp_hdr[H_VERSION+:W_VERSION] = mo_ver;
    rsp_hdr[H_EXPIRY+:W_EXPIRY] = mo_exp;
    rsp_hdr[H_FLAGS+:W_FLAGS] = {6'h0, mo_flags};
    rsp_hdr[H_KEY+:W_KEY] = ex_key_reg;
    rsp_blob = '0;
    for (int w = 0; w < WAYS; w++) if (rsp_way_oh[w]) rsp_blob = rd_blob[w*SLOT_BITS+:SLOT_BITS];
  end

  assign fifo_push = (ex_fire && !ex_sweep_reg) || snd_left_reg != 0;
  assign fifo_data = (ex_fire && !ex_sweep_reg) ? rsp_hdr : snd_buf_reg[511:0];
  assign fifo_last = (ex_fire && !ex_sweep_reg) ? (rsp_len == 0) : (snd_left_reg == 16'd1);

  // ---------------------------------------------------------------- registers
  always_ff @(posedge clk) begin
    // ex stage
    if (hdr_accept) begin
      ex_valid_reg <= 1'b1;
      ex_complete_reg <= s_cmd_tlast;
      ex_rd_ok_reg <= !(any_write && ex_set_reg == in_set);
      ex_sweep_reg <= 1'b0;
      ex_hdr_reg <= hdr_in;
      ex_key_reg <= in_key;
      ex_set_reg <= in_set;
      ex_got_reg <= '0;
    end else if (sweep_go) begin
      ex_valid_reg <= 1'b1;
      ex_complete_reg <= 1'b1;
      ex_rd_ok_reg <= 1'b1;
      ex_sweep_reg <= 1'b1;
      ex_set_reg <= sweep_set_reg;
    end else if (ex_fire) begin
      ex_valid_reg <= 1'b0;
    end else begin
      if (pay_accept) begin
        for (int b = 0; b < SLOT_BEATS; b++)
          if (ex_got_reg == GOT_BITS'(b)) ex_stage_reg[b*512+:512] <= s_cmd_tdata;
        if (ex_got_reg != '1) ex_got_reg <= ex_got_reg + 1'b1;
        if (s_cmd_tlast) ex_complete_reg <= 1'b1;
      end
      if (reread) ex_rd_ok_reg <= 1'b1;
    end

    // table state changed by the command (or sweep step) that fires
    if (ex_fire) begin
      now_reg <= now_n;
      lamport_reg <= lamport_n;
      if (ex_sweep_reg) sweep_set_reg <= sweep_set_reg + 1'b1;
    end

    // counters: fold in the previous change, record this cycle's
    cnt_reg <= cnt_now;
    delta_reg <= '0;
    if (ex_fire) begin
      for (int i = 0; i < NCNT; i++) begin
        if (i == STATS_LIVE) delta_reg[i*8+:8] <= live_d;
        else if (i == STATS_TOMBSTONES) delta_reg[i*8+:8] <= tomb_d;
        else delta_reg[i*8+:8] <= {3'b0, inc[i*5+:5]};
      end
      if (flush_go) begin  // FLUSH empties the table: both counts restart at zero
        cnt_reg[STATS_LIVE*64+:64] <= '0;
        cnt_reg[STATS_TOMBSTONES*64+:64] <= '0;
      end
    end

    // flush: one set per cycle
    if (flush_active_reg) begin
      flush_idx_reg <= flush_idx_reg + 1'b1;
      if (flush_idx_reg == SETS_LOG2'(SETS - 1)) flush_active_reg <= 1'b0;
    end else if (ex_fire && flush_go) begin
      flush_active_reg <= 1'b1;
      flush_idx_reg <= '0;
    end

    // response sender: blob beats after the header
    if (ex_fire && !ex_sweep_reg) begin
      snd_left_reg <= 16'(beats_for(rsp_len));
      snd_buf_reg <= '0;
      if (rsp_stats) snd_buf_reg[STATS_BITS-1:0] <= stats_flat;
      else snd_buf_reg[SLOT_BITS-1:0] <= rsp_blob;
    end else if (snd_left_reg != 0 && !fifo_full) begin
      snd_left_reg <= snd_left_reg - 1'b1;
      snd_buf_reg <= snd_buf_reg >> 512;
    end

    if (rst) begin
      ex_valid_reg <= 1'b0;
      ex_complete_reg <= 1'b0;
      ex_rd_ok_reg <= 1'b0;
      ex_sweep_reg <= 1'b0;
      now_reg <= '0;
      lamport_reg <= '0;
      cnt_reg <= '0;
      delta_reg <= '0;
      sweep_set_reg <= '0;
      flush_active_reg <= 1'b1;  // power-on: clear every set before the first command
      flush_idx_reg <= '0;
      snd_left_reg <= '0;
    end
  end
endmodule
`resetall
