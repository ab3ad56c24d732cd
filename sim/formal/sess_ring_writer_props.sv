// FORMAL wrapper of rtl/host_if/sess_ring_writer.sv (unchanged): its AXI4 write address
// and data channels keep the handshake rule (valid held until ready, address/length and
// data/last stable while stalled); no write data without an address for it: the W beats
// taken never exceed the beats of the bursts whose address was taken or is being offered
// (AXI lets a slave take W before AW, so the offered one counts), and no W beat is offered
// beyond them. The AXI slave and the host side are free inputs, except that `run` and
// `drop` are never high together (sess_ring_engine: run = enabled, configured and not
// draining; drop = draining). Bounded (sat -seq).
module sess_ring_writer_props #(
    parameter int ADDR_WIDTH = 32,
    parameter int SLOT_BYTES = 64,
    parameter int BURST_BEATS = 2,
    parameter int FIFO_LOG2 = 1,
    parameter int BATCH = 2
) (
    input logic                  clk,
    input logic                  rst,
    input logic                  run,
    input logic                  st_run,
    input logic                  drop,
    input logic [ADDR_WIDTH-1:0] base,
    input logic [4:0]            size_log2,
    input logic [ADDR_WIDTH-1:0] status_base,
    input logic [31:0]           rsp_head,
    input logic [31:0]           cmd_head,
    input logic [7:0]            error_code,
    input logic [31:0]           bad_descs,
    input logic [31:0]           resets,
    input logic                  irq_enable,
    input logic [7:0]            irq_coalesce,
    input logic [511:0]          s_rsp_tdata,
    input logic                  s_rsp_tlast,
    input logic                  s_rsp_tvalid,
    input logic                  bad_valid,
    input logic [511:0]          bad_hdr,
    input logic                  m_axi_awready,
    input logic                  m_axi_wready,
    input logic                  m_axi_bvalid,
    input logic [1:0]            m_axi_bresp
);
  logic [31:0] pub_resets, rsp_tail, rsp_written;
  logic busy, pending, holding, irq, write_error, s_rsp_tready, bad_ready;
  logic m_axi_awvalid, m_axi_wvalid, m_axi_wlast, m_axi_bready;
  logic [ADDR_WIDTH-1:0] m_axi_awaddr;
  logic [7:0] m_axi_awlen;
  logic [511:0] m_axi_wdata;
  sess_ring_writer #(.ADDR_WIDTH(ADDR_WIDTH), .SLOT_BYTES(SLOT_BYTES), .BURST_BEATS(BURST_BEATS),
                     .FIFO_LOG2(FIFO_LOG2), .BATCH(BATCH)) dut (.*);

  logic started = 1'b0;
  logic [11:0] aw_beats, w_beats;  // beats announced on AW / taken on W since the reset (no wrap in N cycles)
  always_ff @(posedge clk) begin
    if (rst) begin
      started <= 1'b1;
      {aw_beats, w_beats} <= '0;
    end else begin
      if (m_axi_awvalid && m_axi_awready) aw_beats <= aw_beats + 12'(m_axi_awlen) + 12'd1;
      w_beats <= w_beats + 12'(m_axi_wvalid && m_axi_wready);
    end
  end

  stream_hold_props #(.W(ADDR_WIDTH + 8)) aw_hold (
      .clk, .rst, .check(started), .valid(m_axi_awvalid), .ready(m_axi_awready),
      .payload({m_axi_awlen, m_axi_awaddr}));
  stream_hold_props #(.W(513)) w_hold (
      .clk, .rst, .check(started), .valid(m_axi_wvalid), .ready(m_axi_wready),
      .payload({m_axi_wlast, m_axi_wdata}));

  always_comb assume (!(run && drop));

  wire [12:0] announced = 13'(aw_beats) + (m_axi_awvalid ? 13'(m_axi_awlen) + 13'd1 : 13'd0);
  always_comb begin
    if (started && !rst) begin
      assert (13'(w_beats) <= announced);
      if (m_axi_wvalid) assert (13'(w_beats) < announced);
    end
  end
endmodule
