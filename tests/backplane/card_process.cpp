// A backplane card in its own process, for the cross-process UDP test: a model table,
// a BackplaneNode on UDP 127.0.0.1, and a TLS server (TCP 127.0.0.1) whose session
// cache is that card through the product's sessnic::attach. Prints "READY <backplane port> <tls port>" and serves until its
// stdin closes.
//
//   backplane_card_process --card 2 --key-file K --cert C --pkey P --peer 1@127.0.0.1:4000
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/attach.hpp"
#include "tls_test_support.hpp"

using namespace sessnic;
using namespace sessnic::backplane;

namespace {

struct Args {
  uint8_t card = 0;
  std::string key_file, cert, pkey;
  std::vector<PeerAddress> peers;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--card") a.card = static_cast<uint8_t>(std::stoi(v));
    else if (k == "--key-file") a.key_file = v;
    else if (k == "--cert") a.cert = v;
    else if (k == "--pkey") a.pkey = v;
    else if (k == "--peer") {
      const auto at = v.find('@'), colon = v.rfind(':');
      if (at == std::string::npos || colon == std::string::npos || colon < at) throw std::invalid_argument("--peer " + v);
      a.peers.push_back(PeerAddress{static_cast<uint8_t>(std::stoi(v.substr(0, at))), v.substr(at + 1, colon - at - 1),
                                    static_cast<uint16_t>(std::stoi(v.substr(colon + 1)))});
    } else {
      throw std::invalid_argument("unknown argument " + k);
    }
  }
  return a;
}

int listen_tcp(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = make_ipv4("127.0.0.1", 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0)
    throw std::runtime_error(std::string("tcp listen: ") + std::strerror(errno));
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  const Keyring keys = load_key_file(args.key_file);
  const Sealer sealer(keys);

  DeviceConfig dc;
  dc.card_id = args.card;
  dc.geometry = TableGeometry::small;
  auto dev = make_model_device(dc);

  NodeConfig cfg;
  cfg.card_id = args.card;
  cfg.mode = Mode::replicate;
  cfg.peers = args.peers;
  cfg.cluster_key = keys.current().bytes;
  auto udp = std::make_unique<UdpTransport>(cfg);
  const uint16_t bp_port = udp->local_port();
  BackplaneNode node(cfg, *dev, std::move(udp));
  Device& card = *dev;
  node.start();

  SslCtxPtr ctx = testtls::make_server_ctx(TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_file(ctx.get(), args.cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), args.pkey.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot load cert/key: " + testtls::drain_openssl_errors());
  AttachOptions ao;
  ao.sealer = &sealer;
  ao.service = "backplane-udp-test";
  const auto attachment = attach(ctx.get(), card, ao);

  uint16_t tls_port = 0;
  const int lfd = listen_tcp(tls_port);
  std::printf("READY %u %u\n", bp_port, tls_port);
  std::fflush(stdout);

  for (;;) {
    pollfd fds[2] = {{lfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, 2, 10000) <= 0) break;  // parent gone quiet: never linger
    if (fds[1].revents) break;              // stdin closed: done
    if (!(fds[0].revents & POLLIN)) continue;
    const int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    timeval tv{2, 0};
    ::setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SslPtr ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), cfd);
    if (SSL_accept(ssl.get()) == 1) {
      const char reply = SSL_session_reused(ssl.get()) ? 'R' : 'F';
      SSL_write(ssl.get(), &reply, 1);
      SSL_shutdown(ssl.get());
    }
    ::close(cfd);
  }
  ::close(lfd);
  node.stop();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "backplane_card_process: %s\n", e.what());
  return 2;
}
