#include "router.hpp"

#include <limits>

namespace sessnic::dispatch {

Router::Router(const config::ClusterConfig& cfg) : policy_(cfg.dispatcher.policy) {
  for (auto& s : cfg.servers) backends_.push_back({s.name, s.card, s.listen, s.proxy_protocol});
  active_.assign(backends_.size(), 0);
  healthy_.assign(backends_.size(), true);  // optimistic until the first health check says otherwise
  for (auto& r : cfg.routes) {
    Group g;
    for (auto& name : r.servers)
      for (size_t i = 0; i < backends_.size(); ++i)
        if (backends_[i].name == name) g.members.push_back(i);
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

std::optional<size_t> Router::choose(const ClientHello& hello, const std::string& client) {
  std::lock_guard lock(mu_);
  Group* g = match(hello);
  if (!g || g->members.empty()) return std::nullopt;
  if (policy_ == config::Policy::affinity) {
    auto it = sticky_.find(client);
    if (it != sticky_.end() && healthy_[it->second])
      for (size_t m : g->members)
        if (m == it->second) return m;
  }
  std::optional<size_t> best;
  size_t best_load = std::numeric_limits<size_t>::max();
  size_t n = g->members.size();
  for (size_t k = 0; k < n; ++k) {
    size_t m = g->members[(g->next + k) % n];
    if (healthy_[m] && active_[m] < best_load) {
      best = m;
      best_load = active_[m];
    }
  }
  if (!best) {
    // Every member failed its last health check: try anyway rather than refuse (a server
    // that just started, or a probe that lost a race); a dead one fails the connect.
    for (size_t k = 0; k < n; ++k) {
      size_t m = g->members[(g->next + k) % n];
      if (active_[m] < best_load) {
        best = m;
        best_load = active_[m];
      }
    }
  }
  g->next = (g->next + 1) % n;
  if (best && policy_ == config::Policy::affinity) {
    if (sticky_.size() > 100000) sticky_.clear();  // bounded memory under address churn
    sticky_[client] = *best;
  }
  return best;
}

void Router::connection_opened(size_t b) {
  std::lock_guard lock(mu_);
  ++active_[b];
}
void Router::connection_closed(size_t b) {
  std::lock_guard lock(mu_);
  if (active_[b]) --active_[b];
}
void Router::set_healthy(size_t b, bool h) {
  std::lock_guard lock(mu_);
  healthy_[b] = h;
}
bool Router::healthy(size_t b) const {
  std::lock_guard lock(mu_);
  return healthy_[b];
}
size_t Router::active(size_t b) const {
  std::lock_guard lock(mu_);
  return active_[b];
}
std::optional<size_t> Router::by_card(uint8_t card) const {
  for (size_t i = 0; i < backends_.size(); ++i)
    if (backends_[i].card == card) return i;
  return std::nullopt;
}

}  // namespace sessnic::dispatch
