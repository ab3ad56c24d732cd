// Real UDP on 127.0.0.1 between separate processes: a TLS session created on card D
// (this process) is resumed through card E (a child process) after replication.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <sstream>

#include "child_process.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"
#include "sim_cluster.hpp"
#include "sessnic/attach.hpp"
#include "tls_test_support.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;

// One real TCP+TLS connection to 127.0.0.1:port offering `session`. Returns the
// server's verdict ('R' resumed, 'F' full) and whether the client saw a resumption.
struct Outcome {
  char server = 0;
  bool client_reused = false;
};
Outcome connect_tls(uint16_t port, SSL_CTX* client, SSL_SESSION* session) {
  Outcome o;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = make_ipv4("127.0.0.1", port);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return o;
  }
  SslPtr ssl(SSL_new(client));
  SSL_set_fd(ssl.get(), fd);
  if (session) SSL_set_session(ssl.get(), session);
  if (SSL_connect(ssl.get()) == 1) {
    o.client_reused = SSL_session_reused(ssl.get()) == 1;
    char c = 0;
    if (SSL_read(ssl.get(), &c, 1) == 1) o.server = c;
    SSL_shutdown(ssl.get());
  }
  ::close(fd);
  return o;
}

TEST(backplane_udp, SessionPutOnCardDIsResumableThroughCardEInAnotherProcess) {
  testtls::TempDir dir;
  const auto key_path = dir.path() / "cluster.key";
  generate_key_file(key_path, 7);
  const Keyring keys = load_key_file(key_path);
  const Sealer sealer(keys);
  const testtls::PemFiles pem = testtls::write_pem_files(dir.path());

  // Card D (1): this process.
  DeviceConfig dc;
  dc.card_id = 1;
  dc.geometry = TableGeometry::small;
  auto dev = make_model_device(dc);
  NodeConfig cfg;
  cfg.card_id = 1;
  cfg.mode = Mode::replicate;
  cfg.cluster_key = keys.current().bytes;
  cfg.peers = {PeerAddress{2, "127.0.0.1", 9}};  // E's port is known once E runs
  auto udp = std::make_unique<UdpTransport>(cfg);
  UdpTransport* udp_d = udp.get();
  BackplaneNode node(cfg, *dev, std::move(udp));
  Device& card_d = *dev;
  node.start();

  // Card E (2): a separate process.
  ChildProcess e(BACKPLANE_CARD_BIN, {"--card", "2", "--key-file", key_path.string(), "--cert", pem.cert.string(),
                                      "--pkey", pem.key.string(), "--peer",
                                      "1@127.0.0.1:" + std::to_string(udp_d->local_port())});
  std::istringstream ready(e.read_line(10s));
  std::string word;
  unsigned e_bp = 0, e_tls = 0;
  ready >> word >> e_bp >> e_tls;
  ASSERT_EQ(word, "READY");
  udp_d->set_peer(PeerAddress{2, "127.0.0.1", static_cast<uint16_t>(e_bp)});
  ASSERT_TRUE(node.wait_for_peers(5000ms)) << "card E never answered HELLO over UDP";

  // A real full handshake with card D's server; its session cache is card D, attached
  // exactly as sessnic-server attaches its own (same service name as card E's).
  SslCtxPtr server = testtls::make_server_ctx(TLS1_2_VERSION);
  AttachOptions ao;
  ao.sealer = &sealer;
  ao.service = "backplane-udp-test";
  const auto attachment = attach(server.get(), card_d, ao);
  SslCtxPtr client = testtls::make_client_ctx(TLS1_2_VERSION);
  testtls::HandshakeResult first = testtls::handshake(client.get(), server.get());
  ASSERT_TRUE(first.ok) << first.error;
  ASSERT_FALSE(first.reused_server);
  unsigned id_len = 0;
  const unsigned char* id = SSL_SESSION_get_id(first.client_session.get(), &id_len);
  const SessionKey key = SessionKey::make({id, id_len}, attachment->ctx_id());
  const Response stored = dev->export_entry(key);
  ASSERT_EQ(stored.status, wire::Status::OK) << "new_cb stored the sealed session on card D";
  EXPECT_NE(stored.blob.size(), 0u);

  // Through card E (real TCP to the other process): resumed once replication landed.
  Outcome o;
  ASSERT_TRUE(eventually(
      [&] {
        o = connect_tls(static_cast<uint16_t>(e_tls), client.get(), first.client_session.get());
        return o.server == 'R';
      },
      5000ms))
      << "server said '" << o.server << "'";
  EXPECT_TRUE(o.client_reused);
  EXPECT_GT(node.stats()[wire::BP_STATS_TX_FRAMES], 0u);

  // Control: a session the cluster never saw gets a full handshake at card E.
  SslCtxPtr lone = testtls::make_server_ctx(TLS1_2_VERSION);
  testtls::HandshakeResult foreign = testtls::handshake(client.get(), lone.get());
  ASSERT_TRUE(foreign.ok) << foreign.error;
  const Outcome f = connect_tls(static_cast<uint16_t>(e_tls), client.get(), foreign.client_session.get());
  EXPECT_EQ(f.server, 'F');
  EXPECT_FALSE(f.client_reused);

  EXPECT_EQ(e.finish(3000ms), 0) << "card E exits cleanly when told to";
  EXPECT_EQ(node.stats().rx_bad_mac, 0u);
  EXPECT_EQ(attachment->counters().stores, 1u) << to_string(attachment->counters());
}

}  // namespace
}  // namespace sessnic::backplane::test
