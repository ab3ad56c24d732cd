#include "router.hpp"

#include <fmt/format.h>

#include <limits>
#include <system_error>

namespace sessnic::dispatch {

asio::ip::tcp::endpoint resolve_endpoint(const config::Endpoint& e) {
  std::error_code ec;
  auto addr = asio::ip::make_address(e.host == "localhost" ? "127.0.0.1" : e.host, ec);
  if (ec) throw std::system_error(ec, fmt::format("address '{}' (use a numeric IP)", e.host));
  return {addr, e.port};
}

Router::Router(const config::ClusterConfig& cfg, const Router* previous) : policy_(cfg.dispatcher.policy) {
  for (auto& s : cfg.servers) {
    std::shared_ptr<Backend> b;
    if (previous)
      for (auto& old : previous->backends_)
        if (old->name == s.name && old->card == s.card && old->addr.str() == s.listen.str() &&
            old->proxy_protocol == s.proxy_protocol && old->session_pull == s.session_pull)
          b = old;
    if (!b) {
      b = std::make_shared<Backend>();
      b->name = s.name;
      b->card = s.card;
      b->addr = s.listen;
      b->endpoint = resolve_endpoint(s.listen);
      b->proxy_protocol = s.proxy_protocol;
      b->session_pull = s.session_pull;
    }
    backends_.push_back(std::move(b));
  }
  for (auto& r : cfg.routes) {
    Group g;
    for (auto& name : r.servers)
      for (size_t i = 0; i < backends_.size(); ++i)
        if (backends_[i]->name == name) g.members.push_back(i);
    size_t gi = groups_.size();
    groups_.push_back(std::move(g));
    if (!r.sni.empty()) {
      if (r.sni.rfind("*.", 0) == 0) sni_wildcard_.emplace_back(r.sni.substr(1), gi);  // ".suffix"
      else sni_exact_.emplace_back(r.sni, gi);
    } else if (!r.alpn.empty()) {
      alpn_.emplace_back(r.alpn, gi);
    }
    if (r.is_default && !default_group_) default_group_ = gi;
  }
}

Router::Group* Router::match(const ClientHello& hello) {
  if (!hello.sni.empty()) {
    for (auto& [name, gi] : sni_exact_)
      if (name == hello.sni) return &groups_[gi];
    for (auto& [suffix, gi] : sni_wildcard_)
      if (hello.sni.size() > suffix.size() && hello.sni.compare(hello.sni.size() - suffix.size(), suffix.size(), suffix) == 0)
        return &groups_[gi];
  }
  for (auto& proto : hello.alpn)
    for (auto& [name, gi] : alpn_)
      if (name == proto) return &groups_[gi];
  return default_group_ ? &groups_[*default_group_] : nullptr;
}

std::shared_ptr<Backend> Router::choose(const ClientHello& hello, const std::string& client) {
  Group* g = match(hello);
  if (!g || g->members.empty()) return nullptr;
  // The content policy takes no lock: loads and health are atomics, the rotation too. The
  // affinity baseline's client map needs one.
  std::unique_lock<std::mutex> lock;
  std::optional<size_t> best;
  if (policy_ == config::Policy::affinity) {
    lock = std::unique_lock(mu_);
    auto it = sticky_.find(client);
    if (it != sticky_.end() && backends_[it->second]->healthy)
      for (size_t m : g->members)
        if (m == it->second) best = m;
  }
  if (!best) {
    const size_t n = g->members.size();
    const size_t start = g->next->fetch_add(1, std::memory_order_relaxed) % n;
    const auto least_loaded = [&](bool healthy_only) {
      std::optional<size_t> pick;
      size_t pick_load = std::numeric_limits<size_t>::max();
      for (size_t k = 0; k < n; ++k) {
        const size_t m = g->members[(start + k) % n];
        const size_t load = backends_[m]->active.load(std::memory_order_relaxed);
        if ((!healthy_only || backends_[m]->healthy) && load < pick_load) {
          pick = m;
          pick_load = load;
        }
      }
      return pick;
    };
    best = least_loaded(true);
    // Every member failed its last health check: try anyway rather than refuse (a server
    // that just started, or a probe that lost a race); a dead one fails the connect.
    if (!best) best = least_loaded(false);
    if (!best) return nullptr;
    if (policy_ == config::Policy::affinity) {
      if (sticky_.size() > 100000) sticky_.clear();  // bounded memory under address churn
      sticky_[client] = *best;
    }
  }
  auto& b = backends_[*best];
  ++b->active;  // counted now, so the next choice already sees it
  ++b->routed;
  return b;
}

std::shared_ptr<Backend> Router::by_card(uint8_t card) const {
  for (auto& b : backends_)
    if (b->card == card) return b;
  return nullptr;
}

std::string Router::render_metrics() const {
  std::string o;
  o += "# HELP sessnic_dispatch_routed_total Connections routed per server.\n"
       "# TYPE sessnic_dispatch_routed_total counter\n";
  for (auto& b : backends_) o += fmt::format("sessnic_dispatch_routed_total{{server=\"{}\"}} {}\n", b->name, b->routed.load());
  o += "# HELP sessnic_dispatch_server_up Health check result per server (1 up).\n"
       "# TYPE sessnic_dispatch_server_up gauge\n";
  for (auto& b : backends_)
    o += fmt::format("sessnic_dispatch_server_up{{server=\"{}\"}} {}\n", b->name, b->healthy.load() ? 1 : 0);
  o += "# HELP sessnic_dispatch_server_connections Open connections per server.\n"
       "# TYPE sessnic_dispatch_server_connections gauge\n";
  for (auto& b : backends_)
    o += fmt::format("sessnic_dispatch_server_connections{{server=\"{}\"}} {}\n", b->name, b->active.load());
  return o;
}

}  // namespace sessnic::dispatch
