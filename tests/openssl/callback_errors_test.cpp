// No exception crosses OpenSSL's C frames: a device that throws (here: the model device
// behind a decorator that throws on chosen opcodes) costs the cache, never the
// handshake. Each exception is counted in callback_errors.
#include <atomic>
#include <stdexcept>

#include "cluster_fixture.hpp"
#include "connection_endings.hpp"

namespace sessnic::test {
namespace {

using testtls::handshake;

class ThrowingDevice final : public Device {
 public:
  explicit ThrowingDevice(std::unique_ptr<Device> inner) : inner_(std::move(inner)) {}
  std::string kind() const override { return inner_->kind(); }
  uint8_t card_id() const override { return inner_->card_id(); }
  void execute(std::span<const Command> cmds, std::vector<Response>& out) override {
    for (const Command& c : cmds)
      if (c.op == throw_on.load()) throw std::runtime_error("device failure (test)");
    inner_->execute(cmds, out);
  }
  std::atomic<wire::Opcode> throw_on{wire::Opcode::NOP};

 private:
  std::unique_ptr<Device> inner_;
};

struct FailingServer {
  SslCtxPtr ctx;
  ThrowingDevice* device = nullptr;
  std::unique_ptr<Device> owner;
  Sealer sealer{Keyring(test_key(1, 1))};
  std::unique_ptr<Attachment> attachment;
  explicit FailingServer(int version) : ctx(testtls::make_server_ctx(version)) {
    DeviceConfig cfg;
    cfg.card_id = 1;
    cfg.geometry = TableGeometry::small;
    auto d = std::make_unique<ThrowingDevice>(make_model_device(cfg));
    device = d.get();
    owner = std::move(d);
    AttachOptions ao;
    ao.sealer = &sealer;
    attachment = attach(ctx.get(), *owner, ao);
  }
};

class CallbackErrors : public ::testing::TestWithParam<int> {};

TEST_P(CallbackErrors, ThrowingPutLosesTheCacheNotTheHandshake) {
  FailingServer s(GetParam());
  s.device->throw_on = wire::Opcode::PUT;
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto first = handshake(client.get(), s.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  const AttachCounters c = s.attachment->counters();
  EXPECT_EQ(c.callback_errors, 1u) << c;
  EXPECT_EQ(c.stores, 0u);
  // Nothing stored, so the next offer is a full handshake, not a failure.
  s.device->throw_on = wire::Opcode::NOP;
  auto second = handshake(client.get(), s.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_FALSE(second.reused_server);
}

TEST_P(CallbackErrors, ThrowingLookupMeansAFullHandshake) {
  FailingServer s(GetParam());
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto first = handshake(client.get(), s.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  s.device->throw_on = GetParam() == TLS1_3_VERSION ? wire::Opcode::TAKE : wire::Opcode::GET;
  auto second = handshake(client.get(), s.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_FALSE(second.reused_server);
  EXPECT_EQ(s.attachment->counters().callback_errors, 1u) << s.attachment->counters();
  // The device recovers: its entry is still there and resumes.
  s.device->throw_on = wire::Opcode::NOP;
  if (GetParam() == TLS1_2_VERSION) {
    auto third = handshake(client.get(), s.ctx.get(), first.client_session.get());
    ASSERT_TRUE(third.ok) << third.error;
    EXPECT_TRUE(third.reused_server) << s.attachment->counters();
  }
}

TEST_P(CallbackErrors, ExplicitRemoveReportsTheDeviceFailureToItsCaller) {
  // remove() is a C++ call: the exception reaches the caller, nothing is counted as a
  // callback error.
  FailingServer s(GetParam());
  s.device->throw_on = wire::Opcode::DEL;
  const std::array<uint8_t, 32> id{1, 2, 3};
  EXPECT_THROW(s.attachment->remove(id), std::runtime_error);
  EXPECT_EQ(s.attachment->counters().callback_errors, 0u);
}

INSTANTIATE_TEST_SUITE_P(Tls, CallbackErrors, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) { return info.param == TLS1_2_VERSION ? "v12" : "v13"; });

}  // namespace
}  // namespace sessnic::test
