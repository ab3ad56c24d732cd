// Used when the backplane library is not part of the build: a lone model card.
#include "server_device.hpp"

#include <fmt/format.h>

#include "sessnic/open_device.hpp"

namespace sessnic::server {
namespace {
class LocalCard : public ServerCard {
 public:
  explicit LocalCard(uint8_t card) {
    DeviceConfig dc;
    dc.card_id = card;
    device_ = open_device(dc);
  }
  Device& device() override { return *device_; }
  std::string describe() const override { return fmt::format("model card {} (no backplane)", device_->card_id()); }

 private:
  std::unique_ptr<Device> device_;
};
}  // namespace

std::unique_ptr<ServerCard> open_server_card(const config::ClusterConfig&, const config::ServerConfig& self,
                                             const Keyring&) {
  return std::make_unique<LocalCard>(self.card);
}

}  // namespace sessnic::server
