// The dispatcher as a proxy, in-process, in front of real TCP echo backends: forwarding
// (PROXY v2 + the exact hello bytes, any segmentation), routing and balancing, the
// transfer decision, hostile input (non-TLS, truncated, oversized, slow, floods), health
// checks, metrics and graceful drain. Every connection is a real socket on 127.0.0.1.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "backplane_nodes.hpp"
#include "cluster_config.hpp"
#include "dispatcher.hpp"
#include "make_mover.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"
#include "echo_backend.hpp"
#include "hello_builder.hpp"
#include "local_cluster.hpp"
#include "proxy_protocol.hpp"
#include "pull_hint.hpp"
#include "session_mover.hpp"

namespace sessnic::dispatch {
namespace testing {
uint32_t tcp_segments_in(int fd);  // segments_in.cpp
}  // namespace testing
namespace {
using namespace std::chrono_literals;
using testing::Bytes;
using testing::EchoBackend;

struct Client {
  int fd = -1;
  explicit Client(uint16_t port, const char* source = nullptr) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source) {  // another loopback address: another client as far as the dispatcher knows
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &src.sin_addr);
      ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  void send(const Bytes& b) { (void)!::send(fd, b.data(), b.size(), MSG_NOSIGNAL); }
  void send(const std::string& s) { (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }
  uint16_t local_port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  // Reads exactly n bytes, or fewer if the peer closes / the timeout passes.
  Bytes read(size_t n, std::chrono::milliseconds timeout = 3000ms) {
    Bytes out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      uint8_t buf[4096];
      ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) break;
      out.insert(out.end(), buf, buf + r);
    }
    return out;
  }
  // True when the dispatcher closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = 3000ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    uint8_t b;
    return ::recv(fd, &b, 1, 0) <= 0;
  }
};

class DispatchProxy : public ::testing::Test {
 protected:
  struct Options {
    std::string dispatcher;  // extra [dispatcher] lines
    bool dead_server = false;
    std::string tail;        // extra tables ([tls], [backplane])
    std::filesystem::path key_file = "unused.key";
    std::vector<uint16_t> backplane_ports;  // dispatcher, a, b: backplane addresses (0 = none)
    std::shared_ptr<SessionMover> mover;
    std::string server_a;  // extra [[server]] lines for server a
    uint16_t b_port = 0;   // another backend as server b instead of the echo
  };
  void start(const std::string& extra_dispatcher = "", bool with_dead_server = false) {
    start(Options{.dispatcher = extra_dispatcher, .dead_server = with_dead_server});
  }
  static std::string config_text(const Options& o, uint16_t a_port, uint16_t b_port) {
    auto bp = [&o](size_t i) {
      return i >= o.backplane_ports.size() || o.backplane_ports[i] == 0 ? std::string() : fmt::format("backplane = \"127.0.0.1:{}\"\n", o.backplane_ports[i]);
    };
    std::string toml = fmt::format(R"([cluster]
key_file = "{}"
cert = "unused.pem"
key = "unused.pem"
[dispatcher]
listen = "127.0.0.1:0"
metrics = "127.0.0.1:0"
hello_timeout_ms = 300
health_interval_ms = 100
connect_timeout_ms = 500
max_connections = 8
{}{}
[[server]]
name = "a"
card = 1
listen = "127.0.0.1:{}"
content = "."
proxy_protocol = true
{}{}[[server]]
name = "b"
card = 2
listen = "127.0.0.1:{}"
content = "."
{})",
                                   o.key_file.string(), o.dispatcher, bp(0), a_port, o.server_a, bp(1), b_port, bp(2));
    std::string group = R"(["a", "b"])";
    if (o.dead_server) {
      toml += fmt::format("[[server]]\nname = \"dead\"\ncard = 3\nlisten = \"127.0.0.1:{}\"\ncontent = \".\"\n",
                          testing::free_tcp_port());
      group = R"(["dead", "a"])";
    }
    toml += "[[route]]\nsni = \"a.test\"\nservers = [\"a\"]\n[[route]]\nsni = \"b.test\"\nservers = [\"b\"]\n";
    toml += fmt::format("[[route]]\nsni = \"*.lb.test\"\nservers = {}\n", group);
    return toml + o.tail;
  }
  void start(const Options& o, Dispatcher::ConfigSource reload_from = {}) {
    cfg_ = config::parse_cluster_config(config_text(o, a_.port(), o.b_port ? o.b_port : b_.port()), "proxy_test.toml");
    d_ = std::make_unique<Dispatcher>(cfg_, o.mover, std::move(reload_from));
    thread_ = std::thread([this] {
      d_->run();
      returned_ = true;
    });
  }
  void TearDown() override {
    if (d_) d_->stop();
    if (thread_.joinable()) thread_.join();
  }
  static Bytes hello(const std::string& sni, Bytes session = {}, size_t fragment = 16384) {
    return testing::client_hello({.session_id = std::move(session), .sni = sni}, fragment);
  }
  // Which backend answered: a's echo starts with the PROXY v2 signature, b's with the hello.
  bool via_a(Client& c, const Bytes& h) {
    c.send(h);
    auto echo = c.read(1);
    return !echo.empty() && echo[0] == 0x0d;
  }
  // Sends `h` to a (whose server wants PROXY v2): the echo is the 28-byte header with the
  // client's own port, then exactly `h`.
  void expect_forwarded_with_proxy_header(Client& c, const Bytes& h) {
    c.send(h);
    auto echo = c.read(28 + h.size());
    ASSERT_EQ(echo.size(), 28 + h.size());
    EXPECT_EQ(proxy_v2::decode(echo).addr.src_port, c.local_port());
    EXPECT_EQ(Bytes(echo.begin() + 28, echo.end()), h);
  }
  // Sends a hello for a session card b (2) owns to a (a session_pull server): the echo is a
  // PROXY v2 header with the 5-byte pull-hint TLV and the offered session's TLV (format
  // byte + the 32-byte id), then exactly the hello. Returns the hint.
  std::optional<proxy_v2::PullHint> forwarded_pull_hint() {
    Bytes owned_by_b(32, 5);
    owned_by_b[0] = 2;
    Bytes h = hello("a.test", owned_by_b);
    Client c(d_->port());
    c.send(h);
    constexpr size_t kHeader = 28 + 3 + 5 + 3 + 1 + 32;  // addresses + the two TLVs
    auto echo = c.read(kHeader + h.size());
    EXPECT_EQ(echo.size(), kHeader + h.size());
    if (echo.size() != kHeader + h.size()) return std::nullopt;
    auto pp = proxy_v2::decode(echo);
    EXPECT_EQ(pp.status, proxy_v2::DecodeStatus::ok);
    EXPECT_EQ(pp.header_len, kHeader);
    EXPECT_EQ(Bytes(echo.begin() + kHeader, echo.end()), h);
    auto hint = proxy_v2::find_pull_hint(pp);
    if (hint) {
      EXPECT_EQ(hint->session_id, owned_by_b);  // the server pulls it before reading the hello
    }
    return hint;
  }
  // GET `path` on the dispatcher's metrics port: the whole response, head and body.
  std::string metrics_port_get(const std::string& path) {
    Client m(d_->metrics_port());
    m.send(fmt::format("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", path));
    auto r = m.read(1 << 20, 2000ms);
    return std::string(r.begin(), r.end());
  }
  std::string metrics_text() { return metrics_port_get("/metrics"); }
  bool metrics_show(const std::string& line) { return metrics_text().find(line) != std::string::npos; }
  template <class F>
  static bool eventually(F f, std::chrono::milliseconds t = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < deadline) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return f();
  }

  EchoBackend a_, b_;
  std::atomic<bool> returned_{false};
  config::ClusterConfig cfg_;
  std::unique_ptr<Dispatcher> d_;
  std::thread thread_;
};

TEST_F(DispatchProxy, ForwardsProxyHeaderAndExactHelloByteByByte) {
  start();
  Client c(d_->port());
  Bytes h = hello("a.test", {}, 40);  // several records too
  for (uint8_t byte : h) c.send(Bytes{byte});
  auto echo = c.read(28 + h.size());
  ASSERT_EQ(echo.size(), 28 + h.size());
  auto pp = proxy_v2::decode(echo);
  ASSERT_EQ(pp.status, proxy_v2::DecodeStatus::ok);
  EXPECT_EQ(pp.header_len, 28u);
  EXPECT_EQ(pp.addr.src_port, c.local_port());  // the real client address reaches the server
  EXPECT_EQ(Bytes(echo.begin() + 28, echo.end()), h);
  // then a plain splice, both ways
  c.send(std::string("application data"));
  auto more = c.read(16);
  EXPECT_EQ(std::string(more.begin(), more.end()), "application data");
  EXPECT_EQ(d_->metrics().hellos_parsed.load(), 1u);
}

// A server that answers the first connection bringing bytes (health probes and spares
// bring none) with "abc" and its FIN in one segment once told to, then records what the
// client still sends until the client's FIN.
class FinBackend {
 public:
  explicit FinBackend(size_t hello_size) : hello_size_(hello_size) {
    fd_ = testing::listen_on_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~FinBackend() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::atomic<bool> got_hello{false}, go{false}, client_done{false};
  std::string after;  // what came after the hello, complete once client_done

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (serve(c)) return;
    }
  }
  // True once it has served the client.
  bool serve(int c) {
    std::string in;
    char buf[4096];
    ssize_t n;
    while (in.size() < hello_size_ && (n = ::recv(c, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<size_t>(n));
    if (in.size() < hello_size_) {
      ::close(c);
      return false;
    }
    got_hello = true;
    while (!go && !stop_) std::this_thread::sleep_for(1ms);
    (void)!::send(c, "abc", 3, MSG_NOSIGNAL | MSG_MORE);
    ::shutdown(c, SHUT_WR);  // the FIN rides on "abc"
    while ((n = ::recv(c, buf, sizeof buf, 0)) > 0) after.append(buf, static_cast<size_t>(n));
    client_done = true;
    ::close(c);
    return true;
  }
  size_t hello_size_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The server's last bytes and its FIN reach the client in one segment, as they left the
// server (the dispatcher reads the EOF with the bytes and sends the FIN with them: one
// wake-up of the client, not two), and the half-close is still passed on: the client
// can still send, and the server gets it before the client's FIN.
TEST_F(DispatchProxy, TheServersLastBytesAndItsFinReachTheClientInOneSegment) {
  Bytes h = hello("b.test");
  FinBackend server(h.size());
  start(Options{.dispatcher = "warm_connections = 0\n", .b_port = server.port()});
  Client c(d_->port());
  ASSERT_GE(c.fd, 0);
  c.send(h);
  ASSERT_TRUE(eventually([&] { return server.got_hello.load(); }));
  std::this_thread::sleep_for(250ms);  // the hello's ACK and any window update are in
  const uint32_t before = testing::tcp_segments_in(c.fd);
  server.go = true;
  auto got = c.read(3);
  EXPECT_EQ(std::string(got.begin(), got.end()), "abc");
  EXPECT_TRUE(c.closed_by_peer());  // the server's FIN, passed on
  EXPECT_EQ(testing::tcp_segments_in(c.fd) - before, 1u) << "the bytes and the FIN in one segment";
  c.send(std::string("xyz"));
  ::shutdown(c.fd, SHUT_WR);
  ASSERT_TRUE(eventually([&] { return server.client_done.load(); }));
  EXPECT_EQ(server.after, "xyz");
}

TEST_F(DispatchProxy, RoutesByContentAndBalancesWithinAGroup) {
  start();
  {
    Client c(d_->port());
    EXPECT_TRUE(via_a(c, hello("a.test")));
  }
  {
    Client c(d_->port());
    EXPECT_FALSE(via_a(c, hello("b.test")));
  }
  // two concurrent connections to one load-balanced name go to different servers
  Client c1(d_->port()), c2(d_->port());
  bool first = via_a(c1, hello("www.lb.test"));
  bool second = via_a(c2, hello("shop.lb.test"));
  EXPECT_NE(first, second);
  // and a name without a route (and no default) is refused with a reason
  Client c3(d_->port());
  c3.send(hello("nowhere.test"));
  EXPECT_TRUE(c3.closed_by_peer());
  EXPECT_TRUE(eventually([&] { return d_->metrics().closes(CloseReason::no_route) == 1; }));
}

// A real backplane: the dispatcher's node (card 0) and card 2's node, in this process on
// loopback UDP. Card 2 answers until it dies; its peers only learn that after their
// retransmissions give up (seconds), so every transfer it owns now waits for nothing.
class DeadOwner {
 public:
  DeadOwner() {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sessnic-proxy-test-{}", ::getpid());
    std::filesystem::create_directories(dir_);
    key_file = dir_ / "cluster.key";
    generate_key_file(key_file, 1);
    // The dispatcher (card 0) and card 2 only: card 1 needs no node for this test.
    ports = {testing::free_udp_port(), 0, testing::free_udp_port()};
  }
  ~DeadOwner() {
    if (node_) node_->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void start_owner(const config::ClusterConfig& cfg) {
    DeviceConfig dc;
    dc.card_id = 2;
    table_ = open_device(dc);
    auto nc = config::node_config(cfg, 2, load_key_file(key_file));
    node_ = std::make_unique<backplane::BackplaneNode>(nc, *table_, std::make_unique<backplane::UdpTransport>(nc));
    node_->start();
  }
  void kill_owner() { node_->stop(); }
  std::filesystem::path key_file;
  std::vector<uint16_t> ports;

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Device> table_;
  std::unique_ptr<backplane::BackplaneNode> node_;
};

TEST_F(DispatchProxy, TransferDecisionNeverStallsTheClient) {
  DeadOwner owner;
  Options o{.dispatcher = "transfer_deadline_us = 150000\nmax_transfers_in_flight = 4\n",
            .key_file = owner.key_file,
            .backplane_ports = owner.ports};
  auto cfg = config::parse_cluster_config(config_text(o, a_.port(), b_.port()), "proxy_test.toml");
  owner.start_owner(cfg);
  o.mover = make_mover(cfg, 3000ms);  // returns once card 2 answered: the dispatcher sees it up
  owner.kill_owner();
  start(o);

  // Six clients at once offer sessions owned by the dead card 2 and are routed to card 1:
  // four transfers wait (the bound), two are over it. Nobody waits past the deadline.
  constexpr int kClients = 6;
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<Bytes> hellos;
  for (int i = 0; i < kClients; ++i) {
    Bytes id(32, static_cast<uint8_t>(i + 1));
    id[0] = 2;
    hellos.push_back(hello("a.test", id));
    clients.push_back(std::make_unique<Client>(d_->port()));
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kClients; ++i) clients[i]->send(hellos[i]);
  for (int i = 0; i < kClients; ++i) {
    auto echo = clients[i]->read(28 + hellos[i].size(), 2000ms);
    EXPECT_EQ(echo.size(), 28 + hellos[i].size()) << "client " << i;  // forwarded in every case
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(waited, 150ms + 100ms) << "client " << i << " waited "
                                     << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms";
  }
  auto& m = d_->metrics();
  // The four waited for the deadline (the backplane may also give up on one sooner).
  EXPECT_TRUE(eventually([&] {
    return m.transfers(TransferOutcome::timeout) + m.transfers(TransferOutcome::failed) == 4;
  })) << m.transfers(TransferOutcome::timeout) << " " << m.transfers(TransferOutcome::failed);
  EXPECT_GE(m.transfers(TransferOutcome::timeout), 1u);
  EXPECT_EQ(m.transfers(TransferOutcome::overload), 2u);
  EXPECT_EQ(m.transfers(TransferOutcome::moved), 0u);
  EXPECT_TRUE(eventually([&] { return m.transfers_in_flight.load() == 0; }));  // the node gave up on them too

  // The session of the target's own card, and one of a card this cluster does not have.
  Bytes owned_by_a(32, 7), random_owner(32, 7);
  owned_by_a[0] = 1;
  random_owner[0] = 200;
  for (auto* id : {&owned_by_a, &random_owner}) {
    Client c(d_->port());
    EXPECT_TRUE(via_a(c, hello("a.test", *id)));
  }
  EXPECT_EQ(m.resumption_attempts.load(), kClients + 2u);
  EXPECT_EQ(m.transfers(TransferOutcome::already_there), 1u);
  EXPECT_EQ(m.transfers(TransferOutcome::unknown_owner), 1u);
}

// A server that pulls (session_pull = true): the hello is forwarded at once with a pull
// hint naming the owner card and the server's budget, and nothing is asked on the backplane -
// here there is none at all, which would make a transfer `failed`.
TEST_F(DispatchProxy, SessionPullServerGetsTheHintInsteadOfATransfer) {
  start(Options{.dispatcher = "transfer_deadline_us = 150000\npull_deadline_us = 40000\n", .server_a = "session_pull = true\n"});
  const auto hint = forwarded_pull_hint();
  ASSERT_TRUE(hint);
  EXPECT_EQ(hint->owner, 2);
  EXPECT_EQ(hint->budget.count(), 40000);  // pull_deadline_us, for the server's wait
  auto& m = d_->metrics();
  EXPECT_EQ(m.transfers(TransferOutcome::server_pull), 1u);
  EXPECT_EQ(m.transfers(TransferOutcome::failed), 0u);
  EXPECT_EQ(m.transfers(TransferOutcome::moved), 0u);
  // early_move is off: no move was asked either (asked here, with no backplane, it would
  // be counted `failed`; see EarlyMoveOnFiresTheMoveAtTheHello).
  EXPECT_EQ(m.early_moves(TransferOutcome::failed), 0u);
  EXPECT_EQ(m.transfers_in_flight.load(), 0u);

  // A session already on a's card, and a hello without one: no hint, as before.
  Bytes owned_by_a(32, 6);
  owned_by_a[0] = 1;
  for (const Bytes& id : {owned_by_a, Bytes{}}) {
    Client c2(d_->port());
    Bytes h2 = hello("a.test", id);
    c2.send(h2);
    auto e2 = c2.read(28 + h2.size());
    ASSERT_EQ(e2.size(), 28 + h2.size());
    auto p2 = proxy_v2::decode(e2);
    EXPECT_EQ(p2.header_len, 28u);
    EXPECT_TRUE(p2.tlvs.empty());
  }
  EXPECT_EQ(m.transfers(TransferOutcome::server_pull), 1u);
  EXPECT_EQ(m.transfers(TransferOutcome::already_there), 1u);
}

// early_move = true: the dispatcher asks for the move at the hello (here there is no
// backplane, so it is answered `failed` at once) and the hello still goes out at once.
TEST_F(DispatchProxy, EarlyMoveOnFiresTheMoveAtTheHello) {
  start(Options{.dispatcher = "pull_deadline_us = 40000\nearly_move = true\n", .server_a = "session_pull = true\n"});
  const auto hint = forwarded_pull_hint();
  ASSERT_TRUE(hint);
  EXPECT_EQ(hint->owner, 2);
  EXPECT_FALSE(hint->move_in_flight);  // it could not be asked: the server pulls
  auto& m = d_->metrics();
  EXPECT_EQ(m.transfers(TransferOutcome::server_pull), 1u);
  EXPECT_EQ(m.early_moves(TransferOutcome::failed), 1u);
}

TEST_F(DispatchProxy, Tls13FullHandshakeAsksNoTransfer) {
  start();
  Bytes compat(32, 9);
  compat[0] = 2;  // looks like card b's session, but it is TLS 1.3's random legacy id
  Client c(d_->port());
  EXPECT_TRUE(via_a(c, testing::client_hello({.session_id = compat, .sni = "a.test", .versions = {0x0304, 0x0303}})));
  auto& m = d_->metrics();
  EXPECT_EQ(m.resumption_attempts.load(), 0u);
  for (size_t i = 0; i < static_cast<size_t>(TransferOutcome::count_); ++i)
    EXPECT_EQ(m.transfers(static_cast<TransferOutcome>(i)), 0u) << to_string(static_cast<TransferOutcome>(i));
  // A TLS 1.3 resumption names its session in the PSK identity.
  Client r(d_->port());
  EXPECT_TRUE(via_a(r, testing::client_hello(
                           {.session_id = compat, .sni = "a.test", .versions = {0x0304}, .psk_ids = {Bytes(32, 2)}})));
  EXPECT_EQ(m.resumption_attempts.load(), 1u);
  EXPECT_EQ(m.transfers(TransferOutcome::failed), 1u);  // no backplane here: counted, forwarded
}

TEST_F(DispatchProxy, ServersCappedAtTls12ReadTheLegacyId) {
  start(Options{.tail = "[tls]\nmax_version = \"1.2\"\n"});
  Bytes id(32, 9);
  id[0] = 2;
  Client c(d_->port());
  EXPECT_TRUE(via_a(c, testing::client_hello({.session_id = id, .sni = "a.test", .versions = {0x0304, 0x0303}})));
  EXPECT_EQ(d_->metrics().resumption_attempts.load(), 1u);
  EXPECT_EQ(d_->metrics().transfers(TransferOutcome::failed), 1u);
}

TEST_F(DispatchProxy, SharingOffNeverTransfers) {
  start("sharing = false");
  Bytes owned_by_b(32, 7);
  owned_by_b[0] = 2;
  Client c(d_->port());
  EXPECT_TRUE(via_a(c, hello("a.test", owned_by_b)));
  EXPECT_EQ(d_->metrics().transfers(TransferOutcome::sharing_off), 1u);
  EXPECT_EQ(d_->metrics().transfers(TransferOutcome::failed), 0u);
}

TEST_F(DispatchProxy, AffinityPolicyPinsAClient) {
  start("policy = \"affinity\"");
  std::vector<bool> where;
  for (int i = 0; i < 4; ++i) {
    Client c(d_->port());
    where.push_back(via_a(c, hello("x.lb.test")));
  }
  EXPECT_EQ(std::count(where.begin(), where.end(), where[0]), 4);  // same server every time
  // A pinned connection counts in its server's load like any other (and is given back
  // when it ends: no wrap-around below zero).
  EXPECT_TRUE(eventually([&] {
    const auto text = d_->router()->render_metrics();
    return text.find("server_connections{server=\"a\"} 0\n") != std::string::npos &&
           text.find("server_connections{server=\"b\"} 0\n") != std::string::npos;
  })) << d_->router()->render_metrics();
}

TEST_F(DispatchProxy, HostileInputIsClosedWithACountedReason) {
  start();
  auto& m = d_->metrics();
  {
    Client c(d_->port());
    c.send(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(d_->port());
    Bytes big = testing::client_hello({.sni = "a.test", .padding_ext_bytes = 60000});
    c.send(Bytes(big.begin(), big.begin() + 20));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(d_->port());
    Bytes h = hello("a.test");
    h[9 + 2 + 32] = 40;  // legacy_session_id length 40
    c.send(h);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(d_->port());
    Bytes h = hello("a.test");
    c.send(Bytes(h.begin(), h.begin() + 30));
    ::shutdown(c.fd, SHUT_WR);  // truncated: the client gives up mid-hello
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(d_->port());  // slow sender: a few bytes, then nothing
    c.send(Bytes{22, 3, 1});
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.closed_by_peer(3000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  }
  EXPECT_TRUE(eventually([&] { return m.closes(CloseReason::hello_timeout) == 1; }));
  EXPECT_EQ(m.parse_failures(ParseError::not_tls), 1u);
  EXPECT_EQ(m.parse_failures(ParseError::hello_too_large), 1u);
  EXPECT_EQ(m.parse_failures(ParseError::bad_session_id), 1u);
  EXPECT_EQ(m.parse_failures(ParseError::truncated), 1u);
  EXPECT_EQ(m.closes(CloseReason::parse_error), 4u);
  EXPECT_EQ(m.hellos_parsed.load(), 0u);
  // and the proxy still serves a good client
  Client ok(d_->port());
  EXPECT_TRUE(via_a(ok, hello("a.test")));
}

TEST_F(DispatchProxy, ConnectionFloodIsLimited) {
  start();
  std::vector<std::unique_ptr<Client>> flood;
  for (int i = 0; i < 12; ++i) flood.push_back(std::make_unique<Client>(d_->port()));
  std::this_thread::sleep_for(100ms);  // well inside the 300 ms hello timeout
  int refused = 0;
  for (auto& c : flood) refused += c->closed_by_peer(0ms) ? 1 : 0;
  EXPECT_EQ(refused, 4);  // max_connections = 8
  EXPECT_EQ(d_->metrics().closes(CloseReason::connection_limit), 4u);
  flood.clear();  // the idle ones go away; service resumes
  EXPECT_TRUE(eventually([&] { return d_->metrics().connections_active.load() == 0; }));
  Client ok(d_->port());
  EXPECT_TRUE(via_a(ok, hello("a.test")));
}

TEST_F(DispatchProxy, HealthChecksSkipADeadServer) {
  start("", /*with_dead_server=*/true);
  EXPECT_TRUE(eventually([&] { return d_->router()->render_metrics().find("server_up{server=\"dead\"} 0") != std::string::npos; }));
  for (int i = 0; i < 4; ++i) {
    Client c(d_->port());
    EXPECT_TRUE(via_a(c, hello("x.lb.test")));  // never the dead one
  }
}

TEST_F(DispatchProxy, MetricsEndpointServesPrometheusText) {
  start();
  {
    Client c(d_->port());
    EXPECT_TRUE(via_a(c, hello("a.test")));
  }
  const std::string text = metrics_text();
  EXPECT_EQ(text.rfind("HTTP/1.1 200 OK", 0), 0u) << text;
  EXPECT_NE(text.find("sessnic_dispatch_hellos_parsed_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sessnic_dispatch_routed_total{server=\"a\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE sessnic_dispatch_transfer_latency_seconds histogram"), std::string::npos);
  Client bad(d_->metrics_port());
  bad.send(std::string("GET /secret HTTP/1.1\r\n\r\n"));
  auto r = bad.read(1 << 16, 2000ms);
  EXPECT_EQ(std::string(r.begin(), r.end()).rfind("HTTP/1.1 404", 0), 0u);
}

// Warm connections: the dispatcher opens `warm_connections` spares to each server before
// any client comes, and a routed hello goes out on one of them (exact bytes, PROXY v2
// header first); with 0 it connects per client as before.
TEST_F(DispatchProxy, HelloGoesOutOnAWarmConnection) {
  start("warm_connections = 2\n");
  // Both servers have their spares before any client connected (the servers also see
  // the health checker's probes, so their own counts say less).
  ASSERT_TRUE(eventually([&] { return metrics_show("sessnic_dispatch_warm_connections 4\n"); }));
  {
    Client c(d_->port());
    ASSERT_NO_FATAL_FAILURE(expect_forwarded_with_proxy_header(c, hello("a.test")));
  }
  EXPECT_NE(metrics_text().find("sessnic_dispatch_warm_connections_used_total 1\n"), std::string::npos)
      << metrics_text();
  // The spare it took is replaced.
  EXPECT_TRUE(eventually([&] { return metrics_show("sessnic_dispatch_warm_connections 4\n"); }));
}

TEST_F(DispatchProxy, NoWarmConnectionsWhenOff) {
  start("warm_connections = 0\n");
  Client c(d_->port());
  EXPECT_TRUE(via_a(c, hello("a.test")));
  const std::string text = metrics_text();
  EXPECT_NE(text.find("sessnic_dispatch_warm_connections 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sessnic_dispatch_warm_connections_used_total 0\n"), std::string::npos) << text;
}

// Warm connections are on by default (2 spares per server): the connect to the server is
// off the client's path.
TEST_F(DispatchProxy, WarmConnectionsAreOnByDefault) {
  start();
  ASSERT_TRUE(eventually([&] { return metrics_show("sessnic_dispatch_warm_connections 4\n"); }))
      << metrics_text();
  Client c(d_->port());
  EXPECT_TRUE(via_a(c, hello("a.test")));
  EXPECT_NE(metrics_text().find("sessnic_dispatch_warm_connections_used_total 1\n"), std::string::npos)
      << metrics_text();
}

// io_threads = 2: two event loops, each with its own SO_REUSEPORT listener on the one port.
// The kernel spreads the clients (by their address and port) over both, both forward, and
// each takes the spares it opened itself (one per server each: warm_connections = 2
// shared by two loops). A reload reaches both loops' copies of the routes.
TEST_F(DispatchProxy, TwoLoopsBothAcceptAndForward) {
  std::string next;
  std::mutex mu;
  start(Options{.dispatcher = "warm_connections = 2\nio_threads = 2\n"}, [&] {
    std::lock_guard lock(mu);
    return config::parse_cluster_config(next, "reloaded.toml");
  });
  ASSERT_TRUE(eventually([&] { return metrics_show("sessnic_dispatch_warm_connections 4\n"); })) << metrics_text();
  constexpr int kClients = 40;  // all on one loop by chance: 2^-39
  for (int i = 0; i < kClients; ++i) {
    Client c(d_->port());
    ASSERT_NO_FATAL_FAILURE(expect_forwarded_with_proxy_header(c, hello("a.test")));
    c.send(std::string("ping"));  // and the splice works both ways
    auto more = c.read(4);
    ASSERT_EQ(std::string(more.begin(), more.end()), "ping");
  }
  const auto per_loop = d_->accepted_per_loop();
  ASSERT_EQ(per_loop.size(), 2u);
  EXPECT_GT(per_loop[0], 0u);
  EXPECT_GT(per_loop[1], 0u);
  EXPECT_EQ(per_loop[0] + per_loop[1], uint64_t{kClients});
  EXPECT_EQ(d_->metrics().connections_total.load(), uint64_t{kClients});
  EXPECT_TRUE(eventually([&] { return d_->metrics().connections_active.load() == 0; }));
  // Every hello that found a spare of its loop went out on it (the first few clients of a
  // loop may come before its spare is replaced).
  EXPECT_TRUE(eventually([&] { return metrics_show("sessnic_dispatch_warm_connections 4\n"); })) << metrics_text();
  EXPECT_EQ(metrics_text().find("sessnic_dispatch_warm_connections_used_total 0\n"), std::string::npos);

  {
    std::lock_guard lock(mu);
    next = config_text(Options{.dispatcher = "warm_connections = 2\nio_threads = 2\n"}, a_.port(), b_.port());
    const std::string from = "sni = \"a.test\"\nservers = [\"a\"]";
    auto at = next.find(from);
    ASSERT_NE(at, std::string::npos);
    next.replace(at, from.size(), "sni = \"a.test\"\nservers = [\"b\"]");
  }
  d_->reload(config::parse_cluster_config(next, "reloaded.toml"));
  const auto before = d_->accepted_per_loop();
  for (int i = 0; i < kClients; ++i) {
    Client c(d_->port());
    EXPECT_FALSE(via_a(c, hello("a.test"))) << "client " << i;  // b now, on either loop
  }
  const auto after = d_->accepted_per_loop();
  EXPECT_GT(after[0], before[0]);
  EXPECT_GT(after[1], before[1]);
}

// A drain with two loops: both listeners close at once, a connection open on either loop
// finishes, and run() returns when the last one ends.
TEST_F(DispatchProxy, DrainWithTwoLoopsWaitsForConnectionsOnEither) {
  start("io_threads = 2\n");
  std::vector<std::unique_ptr<Client>> open;
  // Until both loops hold one (each new client lands on either loop).
  for (int i = 0; i < 40; ++i) {
    const auto per_loop = d_->accepted_per_loop();
    if (per_loop[0] > 0 && per_loop[1] > 0) break;
    open.push_back(std::make_unique<Client>(d_->port()));
    ASSERT_TRUE(via_a(*open.back(), hello("a.test")));
  }
  ASSERT_GT(d_->accepted_per_loop()[0], 0u);
  ASSERT_GT(d_->accepted_per_loop()[1], 0u);
  ASSERT_LE(open.size(), 8u) << "max_connections";
  const uint16_t port = d_->port();
  d_->drain();
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 8; ++i) {  // every listener is closed
    Client late(port);
    EXPECT_TRUE(late.fd < 0 || late.closed_by_peer(1000ms)) << i;
  }
  for (auto& c : open) {
    c->send(std::string("ping"));
    auto echo = c->read(28 + hello("a.test").size() - 1 + 4, 1000ms);
    ASSERT_GE(echo.size(), 4u);
    EXPECT_EQ(std::string(echo.end() - 4, echo.end()), "ping");
  }
  EXPECT_FALSE(returned_.load());
  while (open.size() > 1) open.pop_back();
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(returned_.load());  // the last one is still open
  open.clear();
  EXPECT_TRUE(eventually([&] { return returned_.load(); }, 2000ms));
  EXPECT_EQ(d_->metrics().connections_active.load(), 0u);
}

// The hello is written right after connect(2), before the connect is known to be done. A
// server whose accept queue is full never completes it: the write waits, and
// connect_timeout_ms (500 here) closes the client and counts backend_connect.
TEST_F(DispatchProxy, ConnectThatNeverCompletesTimesOut) {
  // backlog 0: one queued connection fills the accept queue; later SYNs are dropped.
  const int hole = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(hole, 0), 0);
  socklen_t len = sizeof a;
  ::getsockname(hole, reinterpret_cast<sockaddr*>(&a), &len);
  Client blocker(ntohs(a.sin_port));
  ASSERT_GE(blocker.fd, 0);
  cfg_ = config::parse_cluster_config(config_text(Options{.dispatcher = "warm_connections = 0\n"}, ntohs(a.sin_port), b_.port()),
                                      "proxy_test.toml");
  d_ = std::make_unique<Dispatcher>(cfg_, nullptr);
  thread_ = std::thread([this] { d_->run(); });
  Client c(d_->port());
  c.send(hello("a.test"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer(3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);
  EXPECT_TRUE(eventually([&] { return d_->metrics().closes(CloseReason::backend_connect) == 1; }));
  ::close(hole);
}

// A server that refuses: the write after connect(2) fails, the client is closed at once,
// backend_connect is counted and the server is marked down (with the default warm
// connections: spares to a refusing server are never handed out).
TEST_F(DispatchProxy, RefusedConnectClosesTheClientAndMarksTheServerDown) {
  const uint16_t dead = testing::free_tcp_port();
  cfg_ = config::parse_cluster_config(config_text(Options{}, dead, b_.port()),
                                      "proxy_test.toml");
  d_ = std::make_unique<Dispatcher>(cfg_, nullptr);
  thread_ = std::thread([this] { d_->run(); });
  Client c(d_->port());
  c.send(hello("a.test"));
  EXPECT_TRUE(c.closed_by_peer(2000ms));
  EXPECT_TRUE(eventually([&] { return d_->metrics().closes(CloseReason::backend_connect) == 1; }));
  EXPECT_NE(d_->router()->render_metrics().find("server_up{server=\"a\"} 0"), std::string::npos)
      << d_->router()->render_metrics();
}

// One timer per connection: it first fires at the hello deadline and then waits again
// for the idle deadline, counted from the last byte either way.
TEST_F(DispatchProxy, IdleTimeoutCountsFromTheLastByte) {
  start("idle_timeout_ms = 400\n");
  Client c(d_->port());
  ASSERT_TRUE(via_a(c, hello("a.test")));
  (void)c.read(28 + hello("a.test").size() - 1, 500ms);  // the rest of the echo
  for (int i = 0; i < 6; ++i) {  // 900 ms in all: longer than the idle and the hello timeouts
    std::this_thread::sleep_for(150ms);
    c.send(std::string("x"));
    auto echo = c.read(1, 1000ms);
    ASSERT_EQ(echo.size(), 1u) << "closed while active, round " << i;
  }
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer(3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_TRUE(eventually([&] { return d_->metrics().closes(CloseReason::idle_timeout) == 1; }));
}

TEST_F(DispatchProxy, DrainLetsOpenConnectionsFinish) {
  start();
  Client open(d_->port());
  ASSERT_TRUE(via_a(open, hello("a.test")));
  const uint16_t port = d_->port(), metrics_port = d_->metrics_port();
  d_->drain();
  std::this_thread::sleep_for(100ms);
  Client late(port);  // the listener is closed: refused or closed at once
  EXPECT_TRUE(late.fd < 0 || late.closed_by_peer(1000ms));
  Client metrics(metrics_port);  // so is the metrics endpoint: a successor may bind both
  EXPECT_LT(metrics.fd, 0);
  // the open connection still works until the client ends it
  open.send(std::string("ping"));
  auto echo = open.read(28 + hello("a.test").size() - 1 + 4, 1000ms);
  EXPECT_EQ(std::string(echo.end() - 4, echo.end()), "ping");
  EXPECT_FALSE(returned_.load());  // one connection is still open: run() waits for it
  ::close(open.fd);
  open.fd = -1;
  // run() returns once the last connection is gone, long before drain_timeout (10 s)
  EXPECT_TRUE(eventually([&] { return returned_.load(); }, 2000ms));
  EXPECT_EQ(d_->metrics().connections_active.load(), 0u);
}

TEST_F(DispatchProxy, OneSourceCannotTakeEverySlot) {
  start("max_connections_per_source = 3");
  // One client address opens as many connections as the dispatcher has slots (8)...
  std::vector<std::unique_ptr<Client>> hog;
  for (int i = 0; i < 8; ++i) hog.push_back(std::make_unique<Client>(d_->port(), "127.0.0.2"));
  std::this_thread::sleep_for(50ms);  // inside the 300 ms hello timeout: they are all open
  int refused = 0;
  for (auto& c : hog) refused += c->closed_by_peer(0ms) ? 1 : 0;
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(d_->metrics().closes(CloseReason::source_limit), 5u);
  // ...and other clients still get in.
  Client other(d_->port(), "127.0.0.3"), local(d_->port());
  EXPECT_TRUE(via_a(other, hello("a.test")));
  EXPECT_TRUE(via_a(local, hello("a.test")));
  EXPECT_EQ(d_->metrics().closes(CloseReason::connection_limit), 0u);
}

TEST_F(DispatchProxy, SighupSwapsRoutesAndKeepsOpenConnections) {
  std::string next;  // what the "file" says at the next SIGHUP
  std::mutex mu;
  start(Options{}, [&] {
    std::lock_guard lock(mu);
    return config::parse_cluster_config(next, "reloaded.toml");
  });
  Client before(d_->port());
  Bytes h = hello("a.test");
  ASSERT_TRUE(via_a(before, h));
  {
    // a.test moves to server b (and b keeps its own name).
    std::lock_guard lock(mu);
    next = config_text(Options{}, a_.port(), b_.port());
    auto at = next.find("sni = \"a.test\"\nservers = [\"a\"]");
    ASSERT_NE(at, std::string::npos);
    next.replace(at, std::string("sni = \"a.test\"\nservers = [\"a\"]").size(), "sni = \"a.test\"\nservers = [\"b\"]");
  }
  ::kill(::getpid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return d_->metrics().reloads_ok.load() == 1; }));
  Client after(d_->port());
  EXPECT_FALSE(via_a(after, h));  // now served by b
  // the connection opened before the reload still reaches a
  before.send(std::string("still here"));
  auto echo = before.read(28 + h.size() - 1 + 10, 1000ms);
  EXPECT_EQ(std::string(echo.end() - 10, echo.end()), "still here");
  // A broken file is refused and changes nothing.
  {
    std::lock_guard lock(mu);
    next = "[cluster\n";
  }
  ::kill(::getpid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return d_->metrics().reloads_failed.load() == 1; }));
  Client again(d_->port());
  EXPECT_FALSE(via_a(again, h));
}

TEST_F(DispatchProxy, HealthzSaysWhyNot) {
  start();
  auto healthz = [this] { return metrics_port_get("/healthz"); };
  EXPECT_EQ(healthz().rfind("HTTP/1.1 200", 0), 0u);
  a_.stop_listening();
  b_.stop_listening();
  EXPECT_TRUE(eventually([&] { return healthz().find("503") != std::string::npos; })) << healthz();
  EXPECT_NE(healthz().find("no server is up"), std::string::npos);
}

TEST(DispatchProxyV2, EncodeDecodeRoundTripAndRejects) {
  proxy_v2::Address a;
  a.src = {127, 0, 0, 9};
  a.dst = {127, 0, 0, 1};
  a.src_port = 40000;
  a.dst_port = 8443;
  auto h = proxy_v2::encode(a);
  ASSERT_EQ(h.size(), 28u);
  auto d = proxy_v2::decode(h);
  ASSERT_EQ(d.status, proxy_v2::DecodeStatus::ok);
  EXPECT_EQ(d.addr.src_string(), "127.0.0.9:40000");
  EXPECT_EQ(proxy_v2::decode(std::span<const uint8_t>(h.data(), 20)).status, proxy_v2::DecodeStatus::need_more);
  auto bad = h;
  bad[3] = 'X';
  EXPECT_EQ(proxy_v2::decode(bad).status, proxy_v2::DecodeStatus::bad);
  bad = h;
  bad[14] = 0xff;  // length beyond our limit
  EXPECT_EQ(proxy_v2::decode(bad).status, proxy_v2::DecodeStatus::bad);
  std::string tls = "\x16\x03\x01";
  EXPECT_EQ(proxy_v2::decode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(tls.data()), 3)).status,
            proxy_v2::DecodeStatus::bad);
}

// A TRANSFER copies: every card a session was moved to keeps a copy, so the dispatcher
// does not fire a move toward one of them again (the server finds it, or pulls it).
TEST(DispatchSessionLocations, EveryCardASessionWasMovedToHoldsACopyUntilForgotten) {
  SessionLocations loc(2);
  const Bytes a(32, 1), b(32, 2), c(32, 3);
  EXPECT_FALSE(loc.find(a));
  EXPECT_FALSE(loc.holds(a, 2));
  loc.set(a, 2);
  loc.set(a, 3);
  EXPECT_EQ(loc.find(a), 3);
  EXPECT_TRUE(loc.holds(a, 2));
  EXPECT_TRUE(loc.holds(a, 3));
  EXPECT_FALSE(loc.holds(a, 1));
  loc.set(b, 1);
  loc.set(c, 1);  // capacity 2: the least recently used (a) is forgotten
  EXPECT_FALSE(loc.holds(a, 2));
  EXPECT_FALSE(loc.find(a));
  EXPECT_TRUE(loc.holds(c, 1));
  // Looked up by the id's bytes, length included: a prefix of a known id is unknown.
  EXPECT_FALSE(loc.find(Bytes(16, 3)));
  EXPECT_FALSE(loc.holds(Bytes(16, 3), 1));
}

// Nothing moved yet (servers that pull): nothing is found, and the first move is.
TEST(DispatchSessionLocations, EmptyUntilTheFirstMove) {
  SessionLocations loc;
  const Bytes a(32, 1);
  EXPECT_FALSE(loc.find(a));
  EXPECT_FALSE(loc.holds(a, 2));
  loc.set(a, 2);
  EXPECT_EQ(loc.find(a), 2);
  EXPECT_TRUE(loc.holds(a, 2));
}

TEST(DispatchProxyV2, TlvsRoundTripAndBadFramingIsRefused) {
  proxy_v2::Address a;
  a.src = {127, 0, 0, 9};
  a.src_port = 40000;
  const proxy_v2::Tlv other{0xE3, {1, 2, 3}};
  const proxy_v2::PullHint hint{7, std::chrono::microseconds(1500)};
  const std::vector<proxy_v2::Tlv> tlvs{other, proxy_v2::encode_pull_hint(hint)};
  auto h = proxy_v2::encode(a, tlvs);
  ASSERT_EQ(h.size(), 28u + 6 + 8);
  auto d = proxy_v2::decode(h);
  ASSERT_EQ(d.status, proxy_v2::DecodeStatus::ok);
  EXPECT_EQ(d.header_len, h.size());
  EXPECT_EQ(d.tlvs, tlvs);
  EXPECT_EQ(proxy_v2::find_pull_hint(d), hint);
  // A budget past the 24-bit field is clamped, not wrapped.
  EXPECT_EQ(proxy_v2::decode_pull_hint(proxy_v2::encode_pull_hint({1, std::chrono::seconds(100)}))->budget.count(),
            (1 << 24) - 1);
  // "Move in flight" (format 2, one flags byte more) round-trips; format 1 stays 5 bytes.
  const proxy_v2::PullHint moving{3, std::chrono::microseconds(10000), true};
  const auto moving_tlv = proxy_v2::encode_pull_hint(moving);
  EXPECT_EQ(moving_tlv.value.size(), 6u);
  EXPECT_EQ(proxy_v2::decode_pull_hint(moving_tlv), moving);
  EXPECT_EQ(proxy_v2::encode_pull_hint(hint).value.size(), 5u);
  EXPECT_FALSE(proxy_v2::decode_pull_hint({proxy_v2::kTypePullHint, {2, 7, 0, 0, 1, 1, 0}}));
  EXPECT_FALSE(proxy_v2::decode_pull_hint({proxy_v2::kTypePullHint, {1, 7, 0, 0, 1, 1}}));
  // A hint of another format or length is not a hint (the connection goes on without one).
  EXPECT_FALSE(proxy_v2::decode_pull_hint({proxy_v2::kTypePullHint, {2, 7, 0, 0, 1}}));
  EXPECT_FALSE(proxy_v2::decode_pull_hint({proxy_v2::kTypePullHint, {1, 7, 0, 1}}));
  // A TLV that runs past the header, or a stray byte after the last one: a bad header.
  auto bad = h;
  bad[28 + 2] = 9;  // first TLV claims 9 bytes
  EXPECT_EQ(proxy_v2::decode(bad).status, proxy_v2::DecodeStatus::bad);
  bad = h;
  bad.push_back(0);
  bad[15] = static_cast<uint8_t>(bad[15] + 1);
  EXPECT_EQ(proxy_v2::decode(bad).status, proxy_v2::DecodeStatus::bad);
}

// The offered session goes in a TLV of its own next to the hint: a hint without it (an
// older dispatcher) decodes as before, with no id; an id TLV that is malformed (unknown
// format, empty, longer than 32 bytes) is ignored and the hint stands without it; an id
// without a hint is no hint.
TEST(DispatchProxyV2, PullHintCarriesTheOfferedSessionAndOldHintsStillDecode) {
  proxy_v2::Address a;
  a.src = {127, 0, 0, 9};
  const Bytes id(32, 0x42);
  const proxy_v2::PullHint hint{2, std::chrono::microseconds(40000), false, id};
  std::vector<proxy_v2::Tlv> tlvs;
  proxy_v2::append_pull_hint(tlvs, hint);
  ASSERT_EQ(tlvs.size(), 2u);
  EXPECT_EQ(tlvs[0], proxy_v2::encode_pull_hint(hint));  // the hint itself: format 1, as before
  EXPECT_EQ(tlvs[0].value.size(), 5u);
  EXPECT_EQ(tlvs[1].type, proxy_v2::kTypePullHintSession);
  EXPECT_EQ(tlvs[1].value.size(), 33u);
  auto d = proxy_v2::decode(proxy_v2::encode(a, tlvs));
  ASSERT_EQ(d.status, proxy_v2::DecodeStatus::ok);
  EXPECT_EQ(proxy_v2::find_pull_hint(d), hint);
  // With "move in flight" (format 2) and a short id.
  const proxy_v2::PullHint moving{3, std::chrono::microseconds(900), true, Bytes{7}};
  tlvs.clear();
  proxy_v2::append_pull_hint(tlvs, moving);
  EXPECT_EQ(proxy_v2::find_pull_hint(proxy_v2::decode(proxy_v2::encode(a, tlvs))), moving);

  // Old hints (formats 1 and 2, no id TLV): decoded with no id.
  for (bool in_flight : {false, true}) {
    const proxy_v2::PullHint old{5, std::chrono::microseconds(1234), in_flight};
    const std::vector<proxy_v2::Tlv> only{proxy_v2::encode_pull_hint(old)};
    const auto got = proxy_v2::find_pull_hint(proxy_v2::decode(proxy_v2::encode(a, only)));
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, old);
    EXPECT_TRUE(got->session_id.empty());
  }
  // No id to send (none offered, or longer than a card's ids): the hint alone.
  for (const Bytes& none : {Bytes{}, Bytes(33, 1)}) {
    tlvs.clear();
    proxy_v2::append_pull_hint(tlvs, {1, std::chrono::microseconds(10), false, none});
    EXPECT_EQ(tlvs.size(), 1u);
  }
  // A malformed id TLV: the hint without an id (the server pulls from its ClientHello callback).
  Bytes long_id(1 + 33, 9);
  long_id[0] = 1;
  for (const Bytes& bad : {Bytes{2, 1, 2, 3}, Bytes{1}, Bytes{}, long_id}) {
    const std::vector<proxy_v2::Tlv> t{proxy_v2::encode_pull_hint({4, std::chrono::microseconds(10)}),
                                       {proxy_v2::kTypePullHintSession, bad}};
    const auto got = proxy_v2::find_pull_hint(proxy_v2::decode(proxy_v2::encode(a, t)));
    ASSERT_TRUE(got) << bad.size();
    EXPECT_EQ(got->owner, 4);
    EXPECT_TRUE(got->session_id.empty()) << bad.size();
  }
  // The id without a hint (or with a malformed hint): no hint at all.
  const std::vector<proxy_v2::Tlv> lone{{proxy_v2::kTypePullHintSession, {1, 1, 2, 3}}};
  EXPECT_FALSE(proxy_v2::find_pull_hint(proxy_v2::decode(proxy_v2::encode(a, lone))));
  const std::vector<proxy_v2::Tlv> bad_hint{{proxy_v2::kTypePullHint, {9, 1, 0, 0, 1}},
                                            {proxy_v2::kTypePullHintSession, {1, 1, 2, 3}}};
  EXPECT_FALSE(proxy_v2::find_pull_hint(proxy_v2::decode(proxy_v2::encode(a, bad_hint))));
}

}  // namespace
}  // namespace sessnic::dispatch
