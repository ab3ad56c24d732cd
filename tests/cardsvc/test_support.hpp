// Shared set-up of the card service tests: a model card, a private socket directory,
// keys and blobs.
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "card_service.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/shm/service_device.hpp"

namespace sessnic::cardsvc::test {

inline std::unique_ptr<Device> model_card(uint8_t id, TableGeometry geometry = TableGeometry::small) {
  DeviceConfig cfg;
  cfg.card_id = id;
  cfg.geometry = geometry;
  return make_model_device(cfg);
}

inline SessionKey key_n(unsigned n) {
  std::array<uint8_t, 32> id{};
  uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : id) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    b = static_cast<uint8_t>(x >> 24);
  }
  return SessionKey::make(id, 1);
}

inline std::vector<uint8_t> blob(std::size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed ^ (i * 13));
  return v;
}

inline uint32_t later() { return wall_clock_seconds() + 300; }

// A fresh directory for one test's socket (removed at the end).
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "sessnic-cardsvc.XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path socket() const { return path / "run" / "card.sock"; }
};

inline CardServiceOptions options(const TempDir& dir, unsigned ring_log2 = 6) {
  CardServiceOptions o;
  o.socket = dir.socket();
  o.layout.cmd_log2 = o.layout.rsp_log2 = ring_log2;
  o.description = "model card under test";
  return o;
}

// A started card service on its own socket in front of a model card: what most tests
// begin with. Bind its parts by name: `auto&& [dir, card, svc] = ServedCard(3);`.
struct ServedCard {
  explicit ServedCard(uint8_t id, unsigned ring_log2 = 6, TableGeometry geometry = TableGeometry::small)
      : card(model_card(id, geometry)), svc(*card, options(dir, ring_log2)) {
    svc.start();
  }
  TempDir dir;
  std::unique_ptr<Device> card;
  CardService svc;
};

inline shm::ServiceDeviceOptions client_options(const TempDir& dir) {
  shm::ServiceDeviceOptions o;
  o.socket = dir.socket();
  o.command_timeout = std::chrono::milliseconds(2000);
  o.backoff_min = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(200);
  return o;
}

}  // namespace sessnic::cardsvc::test
