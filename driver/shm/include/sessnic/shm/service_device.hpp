// The `service` device: this process's window on the host's card, owned by the card
// service (`sessnic-card`). It is the one ring driver's RingDevice (driver/ring) over a
// ShmRingBus: commands go through the shared-memory rings exactly as they would go to a
// hardware card's host rings.
//
// When the service goes away (restart, crash), the commands in flight and every command
// until it is back answer FAILED (the OpenSSL layer then does full handshakes); the
// device re-attaches on a later command, retrying with exponential backoff, and never
// blocks a caller longer than one command timeout.
#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "sessnic/device.hpp"

namespace sessnic::shm {

struct ServiceDeviceOptions {
  std::filesystem::path socket;
  std::chrono::milliseconds command_timeout{2000};  // one execute(); then the rings are dropped
  std::chrono::milliseconds attach_timeout{2000};   // waiting for the service's Welcome
  std::chrono::milliseconds backoff_min{50};        // first re-attach delay after an outage
  std::chrono::milliseconds backoff_max{2000};
};

struct ServiceDeviceCounters {
  std::atomic<uint64_t> attaches{0};         // successful attaches (the first included)
  std::atomic<uint64_t> attach_failures{0};  // re-attach attempts the service refused or missed
  std::atomic<uint64_t> outages{0};          // connections lost (service gone, timeout)
  std::atomic<uint64_t> failed_commands{0};  // commands answered FAILED because of an outage
};

class ServiceDevice final : public Device {
 public:
  // Attaches now; throws std::runtime_error with the reason when it cannot (no service,
  // refused, bad window), so a misconfiguration is reported where the card is opened.
  explicit ServiceDevice(ServiceDeviceOptions options);
  ~ServiceDevice() override;

  std::string kind() const override { return "service"; }
  uint8_t card_id() const override { return card_id_; }
  void execute(std::span<const Command> cmds, std::vector<Response>& out) override;

  // The service's description of its card, as given at the last attach.
  std::string description() const;
  bool connected() const;
  const ServiceDeviceCounters& counters() const { return counters_; }

 private:
  struct Connection;
  std::unique_ptr<Connection> attach();  // throws std::runtime_error
  void lost(const char* why);

  ServiceDeviceOptions opt_;
  mutable std::mutex mu_;  // one execute at a time on the rings
  std::unique_ptr<Connection> conn_;
  uint8_t card_id_ = 0;
  std::string description_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
  ServiceDeviceCounters counters_;
};

}  // namespace sessnic::shm
