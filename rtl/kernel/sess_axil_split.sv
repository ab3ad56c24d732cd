// The kernel's s_axi_control, split by address: the local window [WIN_LO, WIN_HI) and
// everything from LOCAL_BASE up go to a simple local register bus (write strobe / read
// strobe with a same-cycle read mux: the kernel's ring and network registers), the rest
// to the card's register block (an AXI4-Lite slave, sessnic_top's s_axil_*).
//
// One transaction per direction at a time (control traffic; no throughput needed): AW
// and W are taken in any order, the write is done, then B; AR is taken, the read is
// done, then R. Every output is a register.
`resetall
`default_nettype none
module sess_axil_split #(
    parameter int ADDR_WIDTH = 12,
    parameter int CARD_ADDR_WIDTH = 9,
    parameter logic [ADDR_WIDTH-1:0] WIN_LO = 12'h180,
    parameter logic [ADDR_WIDTH-1:0] WIN_HI = 12'h1BC,
    parameter logic [ADDR_WIDTH-1:0] LOCAL_BASE = 12'h200
) (
    input wire logic clk,
    input wire logic rst,

    input  wire logic                  s_awvalid,
    output logic                       s_awready,
    input  wire logic [ADDR_WIDTH-1:0] s_awaddr,
    input  wire logic                  s_wvalid,
    output logic                       s_wready,
    input  wire logic [          31:0] s_wdata,
    input  wire logic [           3:0] s_wstrb,
    output logic                       s_bvalid,
    input  wire logic                  s_bready,
    output logic      [           1:0] s_bresp,
    input  wire logic                  s_arvalid,
    output logic                       s_arready,
    input  wire logic [ADDR_WIDTH-1:0] s_araddr,
    output logic                       s_rvalid,
    input  wire logic                  s_rready,
    output logic      [          31:0] s_rdata,
    output logic      [           1:0] s_rresp,

    // the card's register block
    output logic                       m_awvalid,
    input  wire logic                  m_awready,
    output logic [CARD_ADDR_WIDTH-1:0] m_awaddr,
    output logic                       m_wvalid,
    input  wire logic                  m_wready,
    output logic [               31:0] m_wdata,
    output logic [                3:0] m_wstrb,
    input  wire logic                  m_bvalid,
    output logic                       m_bready,
    input  wire logic [           1:0] m_bresp,
    output logic                       m_arvalid,
    input  wire logic                  m_arready,
    output logic [CARD_ADDR_WIDTH-1:0] m_araddr,
    input  wire logic                  m_rvalid,
    output logic                       m_rready,
    input  wire logic [          31:0] m_rdata,
    input  wire logic [           1:0] m_rresp,

    // local registers: l_we / l_re for one cycle; l_rdata is read in the l_re cycle
    output logic                  l_we,
    output logic [ADDR_WIDTH-1:0] l_waddr,
    output logic [          31:0] l_wdata,
    output logic                  l_re,
    output logic [ADDR_WIDTH-1:0] l_raddr,
    input  wire logic [     31:0] l_rdata
);
  initial begin
    if (CARD_ADDR_WIDTH >= ADDR_WIDTH) $fatal(1, "sess_axil_split: CARD_ADDR_WIDTH must be below ADDR_WIDTH");
    if (LOCAL_BASE < (ADDR_WIDTH)'(1 << CARD_ADDR_WIDTH)) $fatal(1, "sess_axil_split: LOCAL_BASE overlaps the card block");
  end

  function automatic logic is_local(input logic [ADDR_WIDTH-1:0] a);
    is_local = (a >= WIN_LO && a < WIN_HI) || a >= LOCAL_BASE;  // (no `return`: Yosys 0.23)
  endfunction

  // ---- writes -------------------------------------------------------------------------------
  typedef enum logic [1:0] {
    WR_TAKE,   // collecting AW and W
    WR_CARD,   // forwarded to the card block, waiting for its B
    WR_RESP    // B towards the host
  } wr_e;
  wr_e wst_reg;
  logic aw_have_reg, w_have_reg, m_aw_reg, m_w_reg, bvalid_reg, we_reg;
  logic [ADDR_WIDTH-1:0] awaddr_reg;
  logic [31:0] wdata_reg;
  logic [3:0] wstrb_reg;
  logic [1:0] bresp_reg;

  assign s_awready = wst_reg == WR_TAKE && !aw_have_reg;
  assign s_wready = wst_reg == WR_TAKE && !w_have_reg;
  assign s_bvalid = bvalid_reg;
  assign s_bresp = bresp_reg;
  assign m_awvalid = m_aw_reg;
  assign m_awaddr = awaddr_reg[CARD_ADDR_WIDTH-1:0];
  assign m_wvalid = m_w_reg;
  assign m_wdata = wdata_reg;
  assign m_wstrb = wstrb_reg;
  assign m_bready = wst_reg == WR_CARD && !m_aw_reg && !m_w_reg;
  assign l_we = we_reg;
  assign l_waddr = awaddr_reg;
  assign l_wdata = wdata_reg;

  always_ff @(posedge clk) begin
    we_reg <= 1'b0;
    case (wst_reg)
      WR_TAKE: begin
        if (s_awvalid && s_awready) begin
          aw_have_reg <= 1'b1;
          awaddr_reg <= s_awaddr;
        end
        if (s_wvalid && s_wready) begin
          w_have_reg <= 1'b1;
          wdata_reg <= s_wdata;
          wstrb_reg <= s_wstrb;
        end
        if (aw_have_reg && w_have_reg) begin
          aw_have_reg <= 1'b0;
          w_have_reg <= 1'b0;
          if (!is_local(awaddr_reg)) begin
            m_aw_reg <= 1'b1;
            m_w_reg <= 1'b1;
            wst_reg <= WR_CARD;
          end else begin
            // Local registers take whole words (every strobe of the AXI4-Lite driver).
            we_reg <= 1'b1;
            bresp_reg <= 2'b00;
            bvalid_reg <= 1'b1;
            wst_reg <= WR_RESP;
          end
        end
      end
      WR_CARD: begin
        if (m_awready) m_aw_reg <= 1'b0;
        if (m_wready) m_w_reg <= 1'b0;
        if (m_bvalid && m_bready) begin
          bresp_reg <= m_bresp;
          bvalid_reg <= 1'b1;
          wst_reg <= WR_RESP;
        end
      end
      default: begin  // WR_RESP
        if (s_bready) begin
          bvalid_reg <= 1'b0;
          wst_reg <= WR_TAKE;
        end
      end
    endcase
    if (rst) begin
      wst_reg <= WR_TAKE;
      aw_have_reg <= 1'b0;
      w_have_reg <= 1'b0;
      m_aw_reg <= 1'b0;
      m_w_reg <= 1'b0;
      bvalid_reg <= 1'b0;
      we_reg <= 1'b0;
      awaddr_reg <= '0;
      wdata_reg <= '0;
      wstrb_reg <= '0;
      bresp_reg <= '0;
    end
  end

  // ---- reads --------------------------------------------------------------------------------
  typedef enum logic [1:0] {
    RD_TAKE,
    RD_LOCAL,
    RD_CARD,
    RD_RESP
  } rd_e;
  rd_e rdst_reg;
  logic m_ar_reg, rvalid_reg;
  logic [ADDR_WIDTH-1:0] araddr_reg;
  logic [31:0] rdata_reg;
  logic [1:0] rresp_reg;

  assign s_arready = rdst_reg == RD_TAKE;
  assign s_rvalid = rvalid_reg;
  assign s_rdata = rdata_reg;
  assign s_rresp = rresp_reg;
  assign m_arvalid = m_ar_reg;
  assign m_araddr = araddr_reg[CARD_ADDR_WIDTH-1:0];
  assign m_rready = rdst_reg == RD_CARD && !m_ar_reg;
  assign l_re = rdst_reg == RD_LOCAL;
  assign l_raddr = araddr_reg;

  always_ff @(posedge clk) begin
    case (rdst_reg)
      RD_TAKE: begin
        if (s_arvalid) begin
          araddr_reg <= s_araddr;
          if (!is_local(s_araddr)) begin
            m_ar_reg <= 1'b1;
            rdst_reg <= RD_CARD;
          end else begin
            rdst_reg <= RD_LOCAL;
          end
        end
      end
      RD_LOCAL: begin
        rdata_reg <= l_rdata;
        rresp_reg <= 2'b00;
        rvalid_reg <= 1'b1;
        rdst_reg <= RD_RESP;
      end
      RD_CARD: begin
        if (m_arready) m_ar_reg <= 1'b0;
        if (m_rvalid && m_rready) begin
          rdata_reg <= m_rdata;
          rresp_reg <= m_rresp;
          rvalid_reg <= 1'b1;
          rdst_reg <= RD_RESP;
        end
      end
      default: begin  // RD_RESP
        if (s_rready) begin
          rvalid_reg <= 1'b0;
          rdst_reg <= RD_TAKE;
        end
      end
    endcase
    if (rst) begin
      rdst_reg <= RD_TAKE;
      m_ar_reg <= 1'b0;
      rvalid_reg <= 1'b0;
      araddr_reg <= '0;
      rdata_reg <= '0;
      rresp_reg <= '0;
    end
  end
endmodule
`resetall
