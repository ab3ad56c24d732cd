// The dispatcher as a backplane node: it holds no sessions itself (except the central
// repository in hub mode) and asks owner cards to move sessions to the chosen server.
#include <fmt/format.h>

#include "backplane_nodes.hpp"
#include "make_mover.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::dispatch {
namespace {

class BackplaneMover : public SessionMover {
 public:
  explicit BackplaneMover(const config::ClusterConfig& cfg)
      : ctx_(session_id_context(cfg.tls.session_context)[0]) {
    auto keys = load_key_file(cfg.key_file);
    auto nc = config::node_config(cfg, cfg.dispatcher.card, keys);
    if (nc.mode == backplane::Mode::hub && nc.hub_card == nc.card_id) {
      // The dispatcher's card is the central repository: give it a table.
      DeviceConfig dc;
      dc.card_id = nc.card_id;
      repository_ = open_device(dc);
    }
    node_ = std::make_unique<backplane::BackplaneNode>(nc, repository_.get(),
                                                       std::make_unique<backplane::UdpTransport>(nc));
    node_->start();
    // Servers start first (cluster up, tests); hearing from them before the first client
    // arrives makes the first transfer as fast as the rest. Not fatal if one is missing.
    if (!node_->wait_for_peers(std::chrono::milliseconds(2000)))
      fmt::print(stderr, "sessnic-dispatch: not every backplane peer answered yet; continuing\n");
  }
  ~BackplaneMover() override { node_->stop(); }

  MoveResult move(std::span<const uint8_t> id, uint8_t owner, uint8_t dest, std::chrono::microseconds deadline) override {
    Response r = node_->transfer(SessionKey::make(id, ctx_), owner, dest, deadline);
    if (r.status == wire::Status::OK) return MoveResult::moved;
    if (r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED) return MoveResult::not_found;
    return MoveResult::failed;
  }

 private:
  uint8_t ctx_;
  std::unique_ptr<Device> repository_;
  std::unique_ptr<backplane::BackplaneNode> node_;
};

}  // namespace

std::shared_ptr<SessionMover> make_mover(const config::ClusterConfig& cfg) {
  if (!cfg.dispatcher.backplane) return nullptr;
  return std::make_shared<BackplaneMover>(cfg);
}

}  // namespace sessnic::dispatch
