#include "idle_connections.hpp"

#include <sys/resource.h>

#include "tls_test_support.hpp"

namespace sessnic::servertest {

using namespace std::chrono_literals;

size_t fd_budget(size_t spare) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur > spare ? static_cast<size_t>(rl.rlim_cur - spare) : 0;
}

IdleConnections::IdleConnections(uint16_t port, size_t count) : ctx_(testtls::make_client_ctx(TLS1_2_VERSION)) {
  SSL_CTX_set_mode(ctx_.get(), SSL_MODE_RELEASE_BUFFERS);  // idle clients hold no record buffers either
  conns_.reserve(count);
  SslSessionPtr session;
  for (size_t i = 0; i < count; ++i) {
    auto c = HttpsClient::connect(port, ctx_.get(), "localhost", session.get(), 10s, &error_);
    if (!c) {
      error_ = "connection " + std::to_string(i) + ": " + error_;
      return;
    }
    auto r = c->get("/");
    if (!r || r->status != 200) {
      error_ = "connection " + std::to_string(i) + ": no answer to its first request";
      return;
    }
    if (!session) session = c->session();
    conns_.push_back(std::move(c));
  }
}

size_t IdleConnections::probe(size_t stride) {
  size_t ok = 0;
  for (size_t i = 0; i < conns_.size(); i += stride) {
    auto r = conns_[i]->get("/");
    if (r && r->status == 200) ++ok;
  }
  return ok;
}

}  // namespace sessnic::servertest
