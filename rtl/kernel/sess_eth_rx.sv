// Ethernet frames from a network kernel (a MAC-like stream: no back-pressure) into the
// card's backplane RX port, through a drop FIFO. The first beat of a frame is the
// prefix of sess_eth_tx: it is checked (dst MAC = mac_prefix + any card id, or
// broadcast; EtherType; encapsulation version 1) and not stored; the card's frame checks
// (version, length, CRC, destination id) follow in sessnic_top.
//
// A frame is stored only if the FIFO has room for the longest frame when it starts, and
// is committed (made visible to the reader) only at its TLAST, whole and well formed
// (every TKEEP bit set, at most MAX_BEATS beats). Every frame not passed on is counted:
// rx_drop_full (no room: the card is slower than the link), rx_drop_bad (not ours or
// malformed). The RX port is never back-pressured (s_tready is 1).
`resetall
`default_nettype none
module sess_eth_rx #(
    parameter int DEPTH_LOG2 = 6,
    parameter int MAX_BEATS = 6  // longest backplane frame in beats (1 + 1 + SLOT_BYTES/64)
) (
    input wire logic clk,
    input wire logic rst,

    input wire logic [39:0] mac_prefix,
    input wire logic [15:0] ethertype,
    output logic     [31:0] rx_frames,
    output logic     [31:0] rx_drop_full,
    output logic     [31:0] rx_drop_bad,

    input  wire logic [511:0] s_tdata,
    input  wire logic [ 63:0] s_tkeep,
    input  wire logic         s_tlast,
    input  wire logic         s_tvalid,
    output logic              s_tready,

    output logic [511:0] m_tdata,
    output logic         m_tlast,
    output logic         m_tvalid,
    input  wire logic    m_tready
);
  initial begin
    if (DEPTH_LOG2 < 2 || DEPTH_LOG2 > 12) $fatal(1, "sess_eth_rx: DEPTH_LOG2 must be 2..12");
    if (MAX_BEATS < 2 || MAX_BEATS > (1 << DEPTH_LOG2)) $fatal(1, "sess_eth_rx: MAX_BEATS must be 2..depth");
  end

  localparam int DEPTH = 1 << DEPTH_LOG2;

  logic [512:0] mem[DEPTH];
  logic [DEPTH_LOG2:0] wr_reg, commit_reg, rd_reg;  // wr_reg runs ahead of commit_reg inside a frame
  logic in_frame_reg, keep_reg, bad_reg;  // inside a frame; storing it; it turned out malformed
  logic [DEPTH_LOG2:0] beats_reg;  // beats of the frame stored so far
  logic [31:0] frames_reg, full_reg, badc_reg;

  // Prefix checks on the first beat.
  logic [47:0] dst_mac;
  always_comb
    for (int i = 0; i < 6; i++) dst_mac[(5-i)*8+:8] = s_tdata[i*8+:8];  // dst_mac[47:40] = first byte
  wire mac_ok = dst_mac == 48'hFFFF_FFFF_FFFF || dst_mac[47:8] == mac_prefix;
  wire prefix_ok = mac_ok && {s_tdata[12*8+:8], s_tdata[13*8+:8]} == ethertype && s_tdata[14*8+:8] == 8'd1 &&
                   s_tkeep == '1 && !s_tlast;
  wire [DEPTH_LOG2:0] used = commit_reg - rd_reg;
  wire room = (DEPTH_LOG2 + 1)'(DEPTH) - used >= (DEPTH_LOG2 + 1)'(MAX_BEATS);
  wire beat_ok = s_tkeep == '1 && beats_reg < (DEPTH_LOG2 + 1)'(MAX_BEATS);

  assign s_tready = 1'b1;

  always_ff @(posedge clk) begin
    if (s_tvalid) begin
      if (!in_frame_reg) begin
        // The prefix beat: decide for the whole frame.
        in_frame_reg <= !s_tlast;
        keep_reg <= prefix_ok && room;
        bad_reg <= 1'b0;
        beats_reg <= '0;
        if (!prefix_ok) badc_reg <= badc_reg + 32'd1;
        else if (!room) full_reg <= full_reg + 32'd1;
      end else begin
        if (keep_reg && !bad_reg && beat_ok) begin
          mem[wr_reg[DEPTH_LOG2-1:0]] <= {s_tlast, s_tdata};
          wr_reg <= wr_reg + 1'b1;
          beats_reg <= beats_reg + 1'b1;
        end
        if (keep_reg && !beat_ok) bad_reg <= 1'b1;
        if (s_tlast) begin
          in_frame_reg <= 1'b0;
          if (keep_reg) begin
            if (!bad_reg && beat_ok) begin
              commit_reg <= wr_reg + 1'b1;
              frames_reg <= frames_reg + 32'd1;
            end else begin
              wr_reg <= commit_reg;  // forget the partial frame
              badc_reg <= badc_reg + 32'd1;
            end
          end
        end
      end
    end
    if (rst) begin
      wr_reg <= '0;
      commit_reg <= '0;
      in_frame_reg <= 1'b0;
      keep_reg <= 1'b0;
      bad_reg <= 1'b0;
      beats_reg <= '0;
      frames_reg <= '0;
      full_reg <= '0;
      badc_reg <= '0;
    end
  end

  // Read side: committed beats into an output register.
  logic [511:0] out_data_reg;
  logic out_last_reg, out_valid_reg;
  wire load = rd_reg != commit_reg && (!out_valid_reg || m_tready);
  always_ff @(posedge clk) begin
    if (load) begin
      {out_last_reg, out_data_reg} <= mem[rd_reg[DEPTH_LOG2-1:0]];
      rd_reg <= rd_reg + 1'b1;
      out_valid_reg <= 1'b1;
    end else if (m_tready) begin
      out_valid_reg <= 1'b0;
    end
    if (rst) begin
      rd_reg <= '0;
      out_valid_reg <= 1'b0;
    end
  end
  assign m_tdata = out_data_reg;
  assign m_tlast = out_last_reg;
  assign m_tvalid = out_valid_reg;
  assign rx_frames = frames_reg;
  assign rx_drop_full = full_reg;
  assign rx_drop_bad = badc_reg;
endmodule
`resetall
