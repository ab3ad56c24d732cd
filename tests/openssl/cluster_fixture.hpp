// A small cluster for OpenSSL tests: servers with the same certificate, each with its
// own SSL_CTX, its own model device (own card id) and a sealer; nothing shared except
// what a test copies between devices, exactly as the backplane's transfer does.
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>

#include "sessnic/attach.hpp"
#include "sessnic/open_device.hpp"
#include "tls_test_support.hpp"

namespace sessnic {
// For gtest failure messages (found by ADL).
inline std::ostream& operator<<(std::ostream& os, const AttachCounters& c) { return os << to_string(c); }
}  // namespace sessnic

namespace sessnic::test {

inline ClusterKey test_key(uint32_t id, uint8_t fill) {
  std::array<uint8_t, 32> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(fill * 7 + i);
  return ClusterKey(id, b);
}

// A clock tests can move: seconds since the epoch, starting at the wall clock.
struct TestClock {
  std::shared_ptr<std::atomic<uint32_t>> now = std::make_shared<std::atomic<uint32_t>>(wall_clock_seconds());
  std::function<uint32_t()> fn() const {
    return [n = now] { return n->load(); };
  }
};

struct Server {
  SslCtxPtr ctx;
  std::unique_ptr<Device> device;
  std::unique_ptr<Sealer> sealer;
  std::unique_ptr<Attachment> attachment;
  AttachCounters counters() const { return attachment->counters(); }
};

struct ServerOptions {
  uint8_t card = 1;
  int max_version = TLS1_3_VERSION;
  ClusterKey key = test_key(1, 1);
  bool require_client_cert = false;
  TestClock device_clock;
  TestClock host_clock;
  TableGeometry geometry = TableGeometry::small;
};

inline Server make_server(const ServerOptions& o) {
  Server s;
  s.ctx = testtls::make_server_ctx(o.max_version, o.require_client_cert);
  DeviceConfig cfg;
  cfg.card_id = o.card;
  cfg.geometry = o.geometry;
  cfg.clock = o.device_clock.fn();
  s.device = make_model_device(cfg);
  s.sealer = std::make_unique<Sealer>(Keyring(o.key));
  AttachOptions ao;
  ao.sealer = s.sealer.get();
  ao.service = "travel";
  ao.clock = o.host_clock.fn();
  s.attachment = attach(s.ctx.get(), *s.device, ao);
  return s;
}

// The id the server stored a client session under: for TLS 1.3 stateful tickets the
// PSK identity (the ticket) is the server's session id; for TLS 1.2 the session id.
inline SessionKey server_key(SSL_SESSION* client_session, const Attachment& a) {
  const unsigned char* tick = nullptr;
  size_t tick_len = 0;
  SSL_SESSION_get0_ticket(client_session, &tick, &tick_len);
  if (tick_len > 0) return SessionKey::make(std::span(tick, tick_len), a.ctx_id());
  unsigned int len = 0;
  const unsigned char* id = SSL_SESSION_get_id(client_session, &len);
  return SessionKey::make(std::span(id, len), a.ctx_id());
}

// EXPORT on `from`, PUT with the exported version on `to`: the backplane's transfer.
inline Response copy_entry(Device& from, Device& to, const SessionKey& key) {
  const Response x = from.export_entry(key);
  if (x.status != wire::Status::OK) return x;
  return to.put(key, x.blob, x.expiry, x.flags, x.version);
}

}  // namespace sessnic::test
