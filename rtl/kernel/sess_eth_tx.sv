// Backplane frames out to a network kernel as Ethernet frames: each frame gets one
// 64-byte prefix beat (dst MAC, src MAC, EtherType, encapsulation version 1, zero pad)
// in front of its unchanged beats, so every beat of the backplane frame stays 64-byte
// aligned (no byte shifter) and the frame crosses an Ethernet switch. MACs are
// mac_prefix (5 bytes) followed by the card id: src from the frame's `src`, dst from its
// `dst` (BROADCAST -> ff:ff:ff:ff:ff:ff). Frames are whole beats, so TKEEP is all ones.
// Outputs come from a registered 2-deep FIFO.
`resetall
`default_nettype none
module sess_eth_tx (
    input wire logic clk,
    input wire logic rst,

    input wire logic [39:0] mac_prefix,
    input wire logic [15:0] ethertype,
    output logic     [31:0] tx_frames,

    input  wire logic [511:0] s_tdata,
    input  wire logic         s_tlast,
    input  wire logic         s_tvalid,
    output logic              s_tready,

    output logic [511:0] m_tdata,
    output logic [ 63:0] m_tkeep,
    output logic         m_tlast,
    output logic         m_tvalid,
    input  wire logic    m_tready
);
  localparam int F_SRC = sessnic_wire_pkg::FRAME_SRC_LSB;
  localparam int F_DST = sessnic_wire_pkg::FRAME_DST_LSB;
  localparam logic [7:0] BROADCAST = 8'(sessnic_wire_pkg::BP_CONST_BROADCAST);

  // Byte i of a beat is bits [8i+7:8i]; MAC and EtherType bytes go on the wire first
  // byte first (network order).
  function automatic logic [47:0] mac_bytes(input logic [39:0] prefix, input logic [7:0] card);
    for (int i = 0; i < 5; i++) mac_bytes[i*8+:8] = prefix[(4-i)*8+:8];
    mac_bytes[40+:8] = card;
    if (card == BROADCAST) mac_bytes = 48'hFFFF_FFFF_FFFF;
  endfunction

  wire [511:0] prefix_beat = {
    384'd0,  // bytes 16..63
    8'd0,  // byte 15: reserved
    8'd1,  // byte 14: encapsulation version
    ethertype[7:0], ethertype[15:8],  // bytes 12..13
    mac_bytes(mac_prefix, s_tdata[F_SRC+:8]),  // bytes 6..11
    mac_bytes(mac_prefix, s_tdata[F_DST+:8])  // bytes 0..5
  };

  logic pre_reg;  // the next output beat is a prefix
  logic full;
  logic [31:0] frames_reg;
  wire push = s_tvalid && !full;
  assign s_tready = !pre_reg && !full;

  sess_axis_fifo #(
      .WIDTH(512),
      .DEPTH_LOG2(1)
  ) ofifo (
      .clk(clk),
      .rst(rst),
      .s_valid(push),
      .s_data(pre_reg ? prefix_beat : s_tdata),
      .s_last(!pre_reg && s_tlast),
      .s_full(full),
      .m_tdata(m_tdata),
      .m_tlast(m_tlast),
      .m_tvalid(m_tvalid),
      .m_tready(m_tready)
  );
  assign m_tkeep = '1;

  always_ff @(posedge clk) begin
    if (push) begin
      pre_reg <= !pre_reg ? s_tlast : 1'b0;
      if (!pre_reg && s_tlast) frames_reg <= frames_reg + 32'd1;
    end
    if (rst) begin
      pre_reg <= 1'b1;
      frames_reg <= '0;
    end
  end
  assign tx_frames = frames_reg;
endmodule
`resetall
