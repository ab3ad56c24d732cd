// Heap allocations and lock acquisitions inside sessnic's session callbacks, per call, in
// real handshakes (issue 14: "four or more heap allocations and ten mutex acquisitions per
// session lookup on the server; nginx and HAProxy lookups allocate nothing").
//
// A separate executable from bench_resume: its malloc and lock calls are replaced by
// counting ones (call_counts.hpp), which must not touch bench_resume's timing.
//
// Cases, TLS 1.2 and 1.3 each (a server = its own SSL_CTX, model device and attachment):
//   lookup       resumption on the server that stored the session (the steady state
//                bench_resume times): the card's GET/TAKE and the decoded copy
//   store        TLS 1.3 only: the fresh ticket's new-session callback (i2d, seal, PUT)
//   lookup_moved first resumption on a server the session was moved to (EXPORT + PUT,
//                as the backplane's transfer): GET/TAKE, unseal, d2i_SSL_SESSION
//
// Writes $SESSNIC_BENCH_PARTS/openssl_counts.json: resume_{lookup,store,lookup_moved}_
// {allocs,locks}_tls{12,13}, each per callback call (averaged; every call of a case
// costs the same).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "callback_probe.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/open_device.hpp"
#include "tls_test_support.hpp"

namespace {

using sessnic::bench::CallbackCosts;
using sessnic::bench::CallbackProbe;
using sessnic::testtls::handshake;

struct CountServer {
  sessnic::SslCtxPtr ctx;
  std::unique_ptr<sessnic::Device> device;
  std::unique_ptr<sessnic::Attachment> attachment;
  std::unique_ptr<CallbackProbe> probe;
};

CountServer make_server(int version, uint8_t card, const sessnic::Sealer& sealer) {
  CountServer s;
  s.ctx = sessnic::testtls::make_server_ctx(version);
  sessnic::DeviceConfig cfg;
  cfg.card_id = card;
  cfg.geometry = sessnic::TableGeometry::small;  // the counts do not depend on the geometry
  s.device = sessnic::make_model_device(cfg);
  sessnic::AttachOptions ao;
  ao.sealer = &sealer;
  ao.service = "bench";
  s.attachment = sessnic::attach(s.ctx.get(), *s.device, ao);
  s.probe = std::make_unique<CallbackProbe>(s.ctx.get());
  return s;
}

[[noreturn]] void fail(const std::string& what) {
  fmt::print(stderr, "bench_resume_counts: {}\n", what);
  std::exit(1);
}

// The key the server stored the client's session under (TLS 1.3: the ticket is the id).
sessnic::SessionKey server_key(SSL_SESSION* s, const sessnic::Attachment& a) {
  const unsigned char* tick = nullptr;
  size_t tick_len = 0;
  SSL_SESSION_get0_ticket(s, &tick, &tick_len);
  if (tick_len > 0) return sessnic::SessionKey::make(std::span(tick, tick_len), a.ctx_id());
  unsigned int len = 0;
  const unsigned char* id = SSL_SESSION_get_id(s, &len);
  return sessnic::SessionKey::make(std::span(id, len), a.ctx_id());
}

struct PerCall {
  double allocs = 0, locks = 0;
};
PerCall per_call(uint64_t calls, const sessnic::bench::CallCounts& c) {
  if (calls == 0) fail("no callback call counted");
  return {static_cast<double>(c.allocations) / static_cast<double>(calls),
          static_cast<double>(c.locks) / static_cast<double>(calls)};
}

struct VersionCounts {
  PerCall lookup, store, lookup_moved;
};

VersionCounts count(int version, const sessnic::Sealer& sealer) {
  constexpr unsigned kResumes = 200, kMoves = 40;
  auto client = sessnic::testtls::make_client_ctx(TLS1_3_VERSION);
  CountServer a = make_server(version, 1, sealer);
  CountServer b = make_server(version, 2, sealer);
  VersionCounts out;

  auto r = handshake(client.get(), a.ctx.get());
  if (!r.ok) fail("full handshake: " + r.error);
  sessnic::SslSessionPtr session = std::move(r.client_session);
  for (unsigned i = 0; i < kResumes + 10; ++i) {
    if (i == 10) a.probe->reset();  // the first few warm up (card clock, pools)
    auto again = handshake(client.get(), a.ctx.get(), session.get());
    if (!again.ok || !again.reused_server) fail("resumption on the same server failed");
    session = std::move(again.client_session);
  }
  const CallbackCosts& same = a.probe->costs();
  out.lookup = per_call(same.lookups, same.lookup);
  if (version == TLS1_3_VERSION) out.store = per_call(same.stores, same.store);

  // Moved sessions: only the lookup on the second server is counted (its fresh TLS 1.3
  // ticket is the store case above).
  uint64_t moved_lookups = 0;
  sessnic::bench::CallCounts moved{};
  for (unsigned i = 0; i < kMoves; ++i) {
    auto full = handshake(client.get(), a.ctx.get());
    if (!full.ok) fail("full handshake: " + full.error);
    const sessnic::SessionKey key = server_key(full.client_session.get(), *a.attachment);
    const sessnic::Response x = a.device->export_entry(key);
    if (x.status != sessnic::wire::Status::OK || !b.device->put(key, x.blob, x.expiry, x.flags, x.version).ok())
      fail("moving the session to the second server failed");
    const CallbackCosts before = b.probe->costs();
    auto there = handshake(client.get(), b.ctx.get(), full.client_session.get());
    if (!there.ok || !there.reused_server) fail("resumption on the second server failed");
    moved_lookups += b.probe->costs().lookups - before.lookups;
    moved += b.probe->costs().lookup - before.lookup;
  }
  if (moved_lookups != kMoves) fail("expected one lookup per moved resumption");
  out.lookup_moved = per_call(moved_lookups, moved);
  return out;
}

}  // namespace

int main() {
  if (!sessnic::bench::call_counting_active()) fail("the counting malloc / lock replacements are not in effect");
  (void)sessnic::testtls::identity();
  std::array<uint8_t, 32> key{};
  key.fill(0x5e);
  const sessnic::Sealer sealer(sessnic::Keyring(sessnic::ClusterKey(1, key)));

  std::string json = "{";
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    const VersionCounts c = count(version, sealer);
    const char* v = version == TLS1_3_VERSION ? "tls13" : "tls12";
    fmt::print("  TLS {}: per lookup {:.2f} allocations, {:.2f} locks; moved session's lookup {:.2f}, {:.2f}",
               version == TLS1_3_VERSION ? "1.3" : "1.2", c.lookup.allocs, c.lookup.locks, c.lookup_moved.allocs,
               c.lookup_moved.locks);
    if (version == TLS1_3_VERSION) fmt::print("; per new ticket {:.2f}, {:.2f}", c.store.allocs, c.store.locks);
    fmt::print("\n");
    json += fmt::format("{}\"resume_lookup_allocs_{}\": {:.2f}, \"resume_lookup_locks_{}\": {:.2f}, "
                        "\"resume_lookup_moved_allocs_{}\": {:.2f}, \"resume_lookup_moved_locks_{}\": {:.2f}",
                        json.size() > 1 ? ", " : "", v, c.lookup.allocs, v, c.lookup.locks, v, c.lookup_moved.allocs, v,
                        c.lookup_moved.locks);
    if (version == TLS1_3_VERSION)
      json += fmt::format(", \"resume_store_allocs_{}\": {:.2f}, \"resume_store_locks_{}\": {:.2f}", v, c.store.allocs,
                          v, c.store.locks);
  }
  json += "}\n";
  fmt::print("{}", json);
  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS"); dir != nullptr && *dir != '\0') {
    std::ofstream out(std::string(dir) + "/openssl_counts.json");
    out << json;
    if (!out) fail(fmt::format("cannot write {}/openssl_counts.json", dir));
  }
  return 0;
}
