// A TLS 1.2 server must have stored a new session in its card before the client can
// see the server's Finished: a client that completes its handshake and at once
// reconnects to another server (through the dispatcher, which asks the owner's card to
// move the session) must find the session there.
//
// Real pieces: `openssl s_client` as the client, an OpenSSL server on a plain socket BIO
// (as nginx and most applications use it) on loopback, model devices as the cards. The
// owner's device is slowed down on PUT (a card on a busy bus): without the early store
// the client has its Finished, has exited and the "transfer" (EXPORT on the owner, PUT
// on the other card, what the backplane does) finds nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "cluster_fixture.hpp"
#include "sessnic/codec.hpp"

namespace sessnic::test {
namespace {

using namespace std::chrono_literals;

// A device that takes `delay` before every PUT reaches the card beneath.
class SlowStoreDevice final : public Device {
 public:
  SlowStoreDevice(Device& inner, std::chrono::milliseconds delay) : inner_(inner), delay_(delay) {}
  std::string kind() const override { return inner_.kind(); }
  uint8_t card_id() const override { return inner_.card_id(); }
  void execute(std::span<const Command> cmds, std::vector<Response>& out) override {
    for (const Command& c : cmds)
      if (c.op == wire::Opcode::PUT) std::this_thread::sleep_for(delay_);
    inner_.execute(cmds, out);
  }

 private:
  Device& inner_;
  std::chrono::milliseconds delay_;
};

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// One-connection TLS server on 127.0.0.1 (a blocking socket BIO): handshake, answer one
// line, close_notify. Every socket call is bounded by a 10 s timeout.
class OneShotServer {
 public:
  explicit OneShotServer(SSL_CTX* ctx) : ctx_(ctx) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 4) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("OneShotServer: cannot listen on 127.0.0.1");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    ::shutdown(listener_, SHUT_RDWR);  // unblocks accept if no client came
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }

 private:
  void serve() {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SslPtr ssl(SSL_new(ctx_));
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) == 1) {
      char buf[256];
      if (SSL_read(ssl.get(), buf, sizeof buf) > 0) SSL_write(ssl.get(), "ok\n", 3);
      SSL_shutdown(ssl.get());
    }
    ERR_clear_error();
    ::close(fd);
  }

  SSL_CTX* ctx_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::string s_client(uint16_t port, const std::string& sess) {
  return run(fmt::format("printf 'hi\\n' | timeout 10 openssl s_client -connect 127.0.0.1:{} -tls1_2 {} 2>&1", port,
                         sess));
}

TEST(StoreBeforeFinished, Tls12ClientThatReconnectsAtOnceFindsItsSessionOnAnotherCard) {
  testtls::TempDir dir;
  const std::string file = (dir.path() / "sess.pem").string();

  // Owner D: attached to a device whose stores take 300 ms.
  ServerOptions od;
  od.card = 1;
  od.max_version = TLS1_2_VERSION;
  Server d = make_server(od);
  SlowStoreDevice slow(*d.device, 300ms);
  d.attachment.reset();  // re-attach D's context to the slow device
  AttachOptions ao;
  ao.sealer = d.sealer.get();
  ao.service = "travel";
  d.attachment = attach(d.ctx.get(), slow, ao);
  ServerOptions oe = od;
  oe.card = 2;
  Server e = make_server(oe);

  std::string first;
  {
    OneShotServer srv(d.ctx.get());
    // s_client writes -sess_out the moment its handshake completes (it then lingers until
    // the server answers): that moment is when a client could reconnect elsewhere.
    std::thread client([&] { first = s_client(srv.port(), "-sess_out " + file); });
    std::string pem;
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (pem.find("-----END SSL SESSION PARAMETERS-----") == std::string::npos &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(200us);
      std::ifstream f(file);
      pem.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    // At once, what the dispatcher does when the client comes back on E: move the
    // session from D's card to E's card.
    Response moved;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    SslSessionPtr sess(bio ? PEM_read_bio_SSL_SESSION(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (sess) moved = copy_entry(*d.device, *e.device, server_key(sess.get(), *d.attachment));
    client.join();
    ASSERT_TRUE(sess) << "no session from s_client:\n" << first;
    ASSERT_NE(first.find("\nNew, "), std::string::npos) << first;
    EXPECT_EQ(moved.status, wire::Status::OK)
        << "the client had its handshake before the owner's card had the session";
  }
  OneShotServer srv_e(e.ctx.get());
  const std::string second = s_client(srv_e.port(), "-sess_in " + file);
  EXPECT_NE(second.find("\nReused, "), std::string::npos) << second;
  EXPECT_EQ(e.counters().hits, 1u) << e.counters();
  EXPECT_EQ(d.counters().stores, 1u) << "stored once, not again at the end of the handshake: " << d.counters();
}

// The application's own info callback, set before attach(), still sees every event;
// detaching gives it back.
std::atomic<int> app_info_calls{0};
void app_info(const SSL*, int, int) { app_info_calls++; }

TEST(StoreBeforeFinished, TheApplicationsInfoCallbackStillRuns) {
  auto ctx = testtls::make_server_ctx(TLS1_2_VERSION);
  SSL_CTX_set_info_callback(ctx.get(), app_info);
  DeviceConfig cfg;
  cfg.card_id = 1;
  cfg.geometry = TableGeometry::small;
  auto device = make_model_device(cfg);
  Sealer sealer{Keyring(test_key(1, 1))};
  AttachOptions ao;
  ao.sealer = &sealer;
  auto attachment = attach(ctx.get(), *device, ao);
  auto client = testtls::make_client_ctx(TLS1_2_VERSION);
  auto r = testtls::handshake(client.get(), ctx.get());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_GT(app_info_calls.load(), 0);
  EXPECT_EQ(attachment->counters().stores, 1u) << attachment->counters();
  attachment.reset();
  EXPECT_EQ(SSL_CTX_get_info_callback(ctx.get()), &app_info);
}

}  // namespace
}  // namespace sessnic::test
