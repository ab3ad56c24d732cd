#include "cluster_config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <toml++/toml.h>

#include "sessnic/session_identity.hpp"
#include "tls_syntax.hpp"

namespace sessnic::config {
namespace {

// Carries the file name so every message can say where the problem is.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const toml::node* at, std::string_view field, std::string_view msg) const {
    size_t line = at ? at->source().begin.line : 0;
    throw ConfigError(fmt::format("{}:{}: {}: {}", file_, line, field, msg));
  }

  // Rejects keys the schema does not know, so a typo never silently means "default".
  void only_keys(const toml::table& t, std::string_view where, std::initializer_list<std::string_view> keys) const {
    for (auto&& [k, v] : t) {
      if (std::find(keys.begin(), keys.end(), k.str()) == keys.end())
        fail(&v, fmt::format("{}.{}", where, k.str()), "unknown field");
    }
  }

  template <class T>
  std::optional<T> get(const toml::table& t, std::string_view key, std::string_view where) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    auto v = n->value<T>();
    if (!v) fail(n, fmt::format("{}.{}", where, key), fmt::format("wrong type ({})", type_name<T>()));
    return v;
  }

  template <class T>
  T need(const toml::table& t, std::string_view key, std::string_view where) const {
    auto v = get<T>(t, key, where);
    if (!v) fail(&t, fmt::format("{}.{}", where, key), "missing required field");
    return *v;
  }

  int64_t ranged(const toml::table& t, std::string_view key, std::string_view where, int64_t def, int64_t lo,
                 int64_t hi) const {
    auto v = get<int64_t>(t, key, where);
    if (!v) return def;
    if (*v < lo || *v > hi) fail(t.get(key), fmt::format("{}.{}", where, key), fmt::format("must be in {}..{}", lo, hi));
    return *v;
  }

  Endpoint endpoint(const toml::table& t, std::string_view key, std::string_view where, std::optional<Endpoint> def) const {
    auto s = get<std::string>(t, key, where);
    if (!s) {
      if (def) return *def;
      fail(&t, fmt::format("{}.{}", where, key), "missing required field (host:port)");
    }
    auto e = parse_endpoint(*s);
    if (!e)
      fail(t.get(key), fmt::format("{}.{}", where, key),
           fmt::format("'{}' is not host:port (host: an IPv4 address, [IPv6 address] or localhost)", *s));
    return *e;
  }

 private:
  template <class T>
  static std::string_view type_name() {
    if constexpr (std::is_same_v<T, std::string>) return "expected a string";
    else if constexpr (std::is_same_v<T, bool>) return "expected true/false";
    else return "expected an integer";
  }
  std::string file_;
};

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

// Card ids: the session-identity contract (sessnic/session_identity.hpp).
constexpr int64_t kMaxCard = sessnic::identity::kMaxCard;

// One socket address a process of the cluster will bind, for the duplicate-port check.
struct Claim {
  const char* proto;  // "TCP" or "UDP"
  Endpoint ep;
  std::string field;
  const toml::node* at;  // for the line; nullptr for a default value
};

// Two binds collide on the same port when the hosts are equal or either is a wildcard.
bool collide(const Claim& a, const Claim& b) {
  return std::string_view(a.proto) == b.proto && a.ep.port != 0 && a.ep.port == b.ep.port &&
         (a.ep.host == b.ep.host || a.ep.wildcard() || b.ep.wildcard());
}

std::string where_is(const Claim& c) {
  return c.at ? fmt::format("{} (line {})", c.field, c.at->source().begin.line) : c.field + " (default)";
}

// Checks across fields: what each process would otherwise only discover when it starts
// (a bind that fails, a card id the engine drops, a route that can never match).
void check_cluster(const toml::table& root, const ClusterConfig& c, const Reader& r, bool check_files) {
  auto node = [&root](const std::string& path) { return root.at_path(path).node(); };

  // Ports: every TCP listener and every UDP backplane socket of the cluster, once.
  std::vector<Claim> claims;
  claims.push_back({"TCP", c.dispatcher.listen, "dispatcher.listen", node("dispatcher.listen")});
  claims.push_back({"TCP", c.dispatcher.metrics, "dispatcher.metrics", node("dispatcher.metrics")});
  if (c.dispatcher.backplane) claims.push_back({"UDP", *c.dispatcher.backplane, "dispatcher.backplane", node("dispatcher.backplane")});
  for (size_t i = 0; i < c.servers.size(); ++i) {
    auto w = fmt::format("server[{}]", i);
    claims.push_back({"TCP", c.servers[i].listen, w + ".listen", node(w + ".listen")});
    if (c.servers[i].metrics) claims.push_back({"TCP", *c.servers[i].metrics, w + ".metrics", node(w + ".metrics")});
    if (c.servers[i].backplane) claims.push_back({"UDP", *c.servers[i].backplane, w + ".backplane", node(w + ".backplane")});
  }
  if (c.dispatcher.metrics.port != 0 && c.dispatcher.metrics.str() == c.dispatcher.listen.str())
    r.fail(claims[1].at, "dispatcher.metrics", "must differ from dispatcher.listen (" + c.dispatcher.listen.str() + ")");
  for (size_t i = 0; i < claims.size(); ++i) {
    const Claim& me = claims[i];
    if (me.proto == std::string_view("UDP")) {
      if (me.ep.port == 0) r.fail(me.at, me.field, "a backplane node needs a fixed UDP port (its peers send to it), not 0");
      if (me.ep.ipv6()) r.fail(me.at, me.field, "the UDP backplane is IPv4 only");
    }
    for (size_t j = 0; j < i; ++j)
      if (collide(claims[j], me))
        r.fail(me.at, me.field, fmt::format("{} port {} is already used by {}", me.proto, me.ep.port, where_is(claims[j])));
  }

  // Hub mode: the central repository must be a card of this cluster that the others reach.
  if (c.backplane.mode == "hub") {
    const uint8_t hub = c.backplane.hub_card.value_or(c.dispatcher.card);
    const toml::node* at = c.backplane.hub_card ? node("backplane.hub_card") : node("backplane.mode");
    bool any_backplane = c.dispatcher.backplane.has_value();
    std::optional<bool> hub_has_backplane;
    if (hub == c.dispatcher.card) hub_has_backplane = c.dispatcher.backplane.has_value();
    for (auto& s : c.servers) {
      any_backplane |= s.backplane.has_value();
      if (s.card == hub) hub_has_backplane = s.backplane.has_value();
    }
    const char* field = c.backplane.hub_card ? "backplane.hub_card" : "backplane.mode";
    if (!hub_has_backplane)
      r.fail(at, field, fmt::format("hub card {} is neither the dispatcher's card nor a server's", hub));
    if (any_backplane && !*hub_has_backplane)
      r.fail(at, field, fmt::format("hub card {} has no backplane address, so no card can reach the hub", hub));
  }

  // Routes: the router takes the first match, so a second route for the same SNI (or the
  // same ALPN, or a second default) could never be used.
  for (size_t i = 0; i < c.routes.size(); ++i) {
    const RouteConfig& me = c.routes[i];
    const auto w = fmt::format("route[{}]", i);
    for (size_t j = 0; j < i; ++j) {
      const RouteConfig& earlier = c.routes[j];
      if (!me.sni.empty() && me.sni == earlier.sni)
        r.fail(node(w + ".sni"), w + ".sni", fmt::format("'{}' is already routed by route[{}] (line {})", me.sni, j, earlier.line));
      if (me.sni.empty() && earlier.sni.empty() && !me.alpn.empty() && me.alpn == earlier.alpn)
        r.fail(node(w + ".alpn"), w + ".alpn", fmt::format("'{}' is already routed by route[{}] (line {})", me.alpn, j, earlier.line));
      if (me.is_default && earlier.is_default)
        r.fail(node(w + ".default"), w + ".default", fmt::format("route[{}] (line {}) is already the default", j, earlier.line));
    }
    for (size_t k = 0; k < me.servers.size(); ++k)
      for (size_t l = 0; l < k; ++l)
        if (me.servers[k] == me.servers[l])
          r.fail(node(fmt::format("{}.servers[{}]", w, k)), w + ".servers", fmt::format("'{}' is listed twice", me.servers[k]));
  }

  if (!check_files) return;
  // TLS material: a typo must not silently become a self-signed certificate.
  for (auto [field, path] : {std::pair{"cluster.cert", &c.tls.cert}, std::pair{"cluster.key", &c.tls.key}}) {
    struct stat st{};
    if (::stat(path->c_str(), &st) != 0) {
      if (c.tls.throwaway_cert) continue;  // `sessnic cluster up` generates both
      r.fail(node(field), field,
             fmt::format("cannot read '{}' ({}); for a throwaway self-signed certificate while trying things out, "
                         "set throwaway_cert = true in [cluster]",
                         path->string(), std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) r.fail(node(field), field, fmt::format("'{}' is not a regular file", path->string()));
    if (path == &c.tls.key && (st.st_mode & S_IRWXO) != 0)
      r.fail(node(field), field,
             fmt::format("private key '{}' has mode {:04o}: others can read it; run: chmod 600 {}", path->string(),
                         st.st_mode & 07777, path->string()));
  }
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view s) {
  std::string host;
  std::string_view ps;
  if (!s.empty() && s.front() == '[') {  // [IPv6]:port, the one unambiguous IPv6 form
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = std::string(s.substr(1, close - 1));
    ps = s.substr(close + 2);
    in6_addr a6{};
    if (::inet_pton(AF_INET6, host.c_str(), &a6) != 1) return std::nullopt;
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    host = std::string(s.substr(0, colon));
    ps = s.substr(colon + 1);
    std::string lower = host;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    in_addr a4{};
    if (lower == "localhost") host = "127.0.0.1";  // the one name every process agrees on
    else if (::inet_pton(AF_INET, host.c_str(), &a4) != 1) return std::nullopt;  // also: IPv6 without []
  }
  if (ps.empty()) return std::nullopt;
  unsigned port = 0;
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port > 65535) return std::nullopt;
  return Endpoint{std::move(host), static_cast<uint16_t>(port)};
}

const ServerConfig* ClusterConfig::find_server(std::string_view name) const {
  for (auto& s : servers)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {
ClusterConfig parse(std::string_view text, const std::filesystem::path& name, bool check_files);
}  // namespace

ClusterConfig parse_cluster_config(std::string_view text, const std::filesystem::path& name) {
  return parse(text, name, false);
}

namespace {
// [redis] (issue 15). The password file's mode is checked where it is read (the process
// that connects), like the cluster key file.
void parse_redis(const Reader& r, const toml::table& t, const std::filesystem::path& base, ClusterConfig& c) {
  const std::string w = "redis";
  r.only_keys(t, w, {"addresses", "cluster", "user", "password_file", "tls", "tls_ca", "tls_cert", "tls_key",
                     "tls_server_name", "connect_timeout_ms", "io_timeout_ms", "on_unreachable", "prefix", "threads"});
  RedisConfig rc;
  const toml::array* a = t["addresses"].as_array();
  if (!a || a->empty()) r.fail(&t, "redis.addresses", "a list of \"host:port\" (one server, or seeds of a Redis Cluster)");
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& n = *a->get(i);
    auto s = n.value<std::string>();
    auto ep = s ? parse_endpoint(*s) : std::nullopt;
    if (!ep || ep->port == 0) r.fail(&n, fmt::format("redis.addresses[{}]", i), "must be \"host:port\" with a numeric address");
    rc.addresses.push_back(*ep);
  }
  rc.cluster = r.get<bool>(t, "cluster", w).value_or(false);
  rc.user = r.get<std::string>(t, "user", w).value_or("");
  if (auto p = r.get<std::string>(t, "password_file", w)) rc.password_file = resolve(base, *p);
  if (!rc.user.empty() && rc.password_file.empty()) r.fail(t.get("user"), "redis.user", "needs redis.password_file");
  rc.tls = r.get<bool>(t, "tls", w).value_or(false);
  for (auto [key, dst] : {std::pair{"tls_ca", &rc.tls_ca}, std::pair{"tls_cert", &rc.tls_cert}, std::pair{"tls_key", &rc.tls_key}})
    if (auto p = r.get<std::string>(t, key, w)) *dst = resolve(base, *p);
  rc.tls_server_name = r.get<std::string>(t, "tls_server_name", w).value_or("");
  if (rc.tls && rc.tls_ca.empty()) r.fail(t.get("tls"), "redis.tls_ca", "tls = true needs the CA that signed the Redis certificate");
  if (rc.tls_cert.empty() != rc.tls_key.empty()) r.fail(&t, "redis.tls_cert", "tls_cert and tls_key go together");
  rc.connect_timeout = std::chrono::milliseconds(r.ranged(t, "connect_timeout_ms", w, 200, 1, 60000));
  rc.io_timeout = std::chrono::milliseconds(r.ranged(t, "io_timeout_ms", w, 100, 1, 60000));
  rc.on_unreachable = r.get<std::string>(t, "on_unreachable", w).value_or("fail");
  if (rc.on_unreachable != "fail" && rc.on_unreachable != "degraded")
    r.fail(t.get("on_unreachable"), "redis.on_unreachable", "must be fail or degraded");
  rc.prefix = r.get<std::string>(t, "prefix", w).value_or("sessnic:");
  rc.threads = static_cast<unsigned>(r.ranged(t, "threads", w, 2, 1, 64));
  if (c.backplane.mode == "hub")
    r.fail(&t, "redis", "Redis is the central repository: backplane.mode must be transfer (or replicate), not hub");
  c.redis = std::move(rc);
}

ClusterConfig parse(std::string_view text, const std::filesystem::path& name, bool check_files) {
  toml::table root;
  try {
    root = toml::parse(text, name.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}: {}", name.string(), e.source().begin.line, e.description()));
  }
  Reader r(name.string());
  ClusterConfig c;
  c.source = name;
  auto base = name.has_parent_path() ? name.parent_path() : std::filesystem::path(".");
  r.only_keys(root, "", {"cluster", "dispatcher", "backplane", "server", "route", "tls", "redis"});

  // [cluster]: key file and TLS material shared by every server.
  const toml::table* cl = root["cluster"].as_table();
  if (!cl) r.fail(&root, "cluster", "missing [cluster] table");
  r.only_keys(*cl, "cluster", {"key_file", "cert", "key", "session_timeout_s", "session_context", "throwaway_cert"});
  c.key_file = resolve(base, r.need<std::string>(*cl, "key_file", "cluster"));
  c.tls.cert = resolve(base, r.need<std::string>(*cl, "cert", "cluster"));
  c.tls.key = resolve(base, r.need<std::string>(*cl, "key", "cluster"));
  c.tls.throwaway_cert = r.get<bool>(*cl, "throwaway_cert", "cluster").value_or(false);
  c.tls.session_timeout_s = static_cast<uint32_t>(r.ranged(*cl, "session_timeout_s", "cluster", 300, 1, 86400));
  if (auto ctx = r.get<std::string>(*cl, "session_context", "cluster")) {
    if (ctx->empty() || ctx->size() > 32) r.fail(cl->get("session_context"), "cluster.session_context", "1..32 bytes");
    c.tls.session_context = *ctx;
  }

  // [tls]: protocol versions, cipher lists, groups and certificates chosen by SNI.
  if (const toml::table* t = root["tls"].as_table()) {
    const std::string w = "tls";
    r.only_keys(*t, w, {"min_version", "max_version", "ciphers", "ciphersuites", "groups", "certificate"});
    auto version = [&](std::string_view key, std::string& out) {
      if (auto v = r.get<std::string>(*t, key, w)) {
        if (!tls_protocol_version(*v)) r.fail(t->get(key), fmt::format("tls.{}", key), fmt::format("'{}': must be \"1.2\" or \"1.3\"", *v));
        out = *v;
      }
    };
    version("min_version", c.tls.min_version);
    version("max_version", c.tls.max_version);
    if (*tls_protocol_version(c.tls.min_version) > *tls_protocol_version(c.tls.max_version))
      r.fail(t->get("min_version") ? t->get("min_version") : t->get("max_version"), "tls.min_version",
             fmt::format("{} is above max_version {}", c.tls.min_version, c.tls.max_version));
    auto list = [&](std::string_view key, std::string& out, std::string (*check)(const std::string&)) {
      if (auto v = r.get<std::string>(*t, key, w)) {
        if (v->empty()) r.fail(t->get(key), fmt::format("tls.{}", key), "must not be empty (leave it out for OpenSSL's default)");
        if (auto why = check(*v); !why.empty()) r.fail(t->get(key), fmt::format("tls.{}", key), fmt::format("'{}': {}", *v, why));
        out = *v;
      }
    };
    list("ciphers", c.tls.ciphers, check_tls12_cipher_list);
    list("ciphersuites", c.tls.ciphersuites, check_tls13_ciphersuites);
    list("groups", c.tls.groups, check_groups_list);
    if (const toml::node* certs_node = t->get("certificate")) {
      const toml::array* certs = certs_node->as_array();
      if (!certs) r.fail(certs_node, "tls.certificate", "must be an array of tables ([[tls.certificate]])");
      std::set<std::string> seen;
      for (size_t i = 0; i < certs->size(); ++i) {
        const toml::table* ct = (*certs)[i].as_table();
        std::string cw = fmt::format("tls.certificate[{}]", i);
        if (!ct) r.fail(&(*certs)[i], cw, "must be a table");
        r.only_keys(*ct, cw, {"sni", "cert", "key"});
        SniCertificate sc;
        sc.line = ct->source().begin.line;
        const toml::array* names = ct->get_as<toml::array>("sni");
        if (!names || names->empty()) r.fail(ct, cw + ".sni", "a non-empty list of host names is required");
        for (auto& n : *names) {
          auto name = n.value<std::string>();
          if (!name || name->empty()) r.fail(&n, cw + ".sni", "entries must be non-empty strings");
          std::string lower = *name;
          std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
          if (lower.find('*') != std::string::npos && (!lower.starts_with("*.") || lower.size() < 3 || lower.find('*', 1) != std::string::npos))
            r.fail(&n, cw + ".sni", fmt::format("'{}': a wildcard must be the whole first label (\"*.example.com\")", *name));
          if (!seen.insert(lower).second) r.fail(&n, cw + ".sni", fmt::format("'{}' already has a certificate", *name));
          sc.names.push_back(std::move(lower));
        }
        sc.cert = resolve(base, r.need<std::string>(*ct, "cert", cw));
        sc.key = resolve(base, r.need<std::string>(*ct, "key", cw));
        c.tls.certificates.push_back(std::move(sc));
      }
    }
  }

  if (const toml::table* bp = root["backplane"].as_table()) {
    r.only_keys(*bp, "backplane", {"mode", "hub_card"});
    if (bp->contains("hub_card")) c.backplane.hub_card = static_cast<uint8_t>(r.ranged(*bp, "hub_card", "backplane", 0, 0, kMaxCard));
    if (auto m = r.get<std::string>(*bp, "mode", "backplane")) {
      if (*m != "replicate" && *m != "transfer" && *m != "hub")
        r.fail(bp->get("mode"), "backplane.mode", "must be replicate, transfer or hub");
      c.backplane.mode = *m;
    }
  }

  if (const toml::table* rt = root["redis"].as_table()) parse_redis(r, *rt, base, c);

  // [dispatcher]
  if (const toml::table* d = root["dispatcher"].as_table()) {
    auto& dc = c.dispatcher;
    const std::string w = "dispatcher";
    r.only_keys(*d, w, {"listen", "metrics", "card", "backplane", "policy", "sharing", "transfer_deadline_us",
                        "hello_timeout_ms", "connect_timeout_ms", "idle_timeout_ms", "health_interval_ms",
                        "drain_timeout_ms", "max_connections", "max_hello_bytes", "io_threads",
                        "max_connections_per_source", "max_transfers_in_flight", "warm_connections",
                        "pull_deadline_us", "early_move"});
    dc.listen = r.endpoint(*d, "listen", w, dc.listen);
    dc.metrics = r.endpoint(*d, "metrics", w, dc.metrics);
    dc.card = static_cast<uint8_t>(r.ranged(*d, "card", w, 0, 0, kMaxCard));
    if (d->contains("backplane")) dc.backplane = r.endpoint(*d, "backplane", w, std::nullopt);
    if (auto p = r.get<std::string>(*d, "policy", w)) {
      if (*p == "content") dc.policy = Policy::content;
      else if (*p == "affinity") dc.policy = Policy::affinity;
      else r.fail(d->get("policy"), "dispatcher.policy", "must be content or affinity");
    }
    dc.sharing = r.get<bool>(*d, "sharing", w).value_or(true);
    dc.transfer_deadline = std::chrono::microseconds(r.ranged(*d, "transfer_deadline_us", w, 2000, 1, 1000000));
    dc.pull_deadline = std::chrono::microseconds(r.ranged(*d, "pull_deadline_us", w, 20000, 1, 1000000));
    dc.early_move = r.get<bool>(*d, "early_move", w).value_or(false);
    dc.hello_timeout = std::chrono::milliseconds(r.ranged(*d, "hello_timeout_ms", w, 5000, 1, 600000));
    dc.connect_timeout = std::chrono::milliseconds(r.ranged(*d, "connect_timeout_ms", w, 2000, 1, 600000));
    dc.idle_timeout = std::chrono::milliseconds(r.ranged(*d, "idle_timeout_ms", w, 60000, 1, 86400000));
    dc.health_interval = std::chrono::milliseconds(r.ranged(*d, "health_interval_ms", w, 1000, 10, 600000));
    dc.drain_timeout = std::chrono::milliseconds(r.ranged(*d, "drain_timeout_ms", w, 10000, 0, 600000));
    dc.max_connections = static_cast<size_t>(r.ranged(*d, "max_connections", w, 4096, 1, 1000000));
    dc.max_hello_bytes = static_cast<size_t>(r.ranged(*d, "max_hello_bytes", w, 32768, 512, 1 << 20));
    dc.io_threads = static_cast<unsigned>(r.ranged(*d, "io_threads", w, 1, 1, 64));
    dc.max_connections_per_source =
        static_cast<size_t>(r.ranged(*d, "max_connections_per_source", w, 256, 1, 1000000));
    dc.max_transfers_in_flight = static_cast<size_t>(r.ranged(*d, "max_transfers_in_flight", w, 256, 1, 100000));
    dc.warm_connections = static_cast<size_t>(r.ranged(*d, "warm_connections", w, 2, 0, 64));
  }

  // [[server]]
  const toml::array* servers = root["server"].as_array();
  if (!servers || servers->empty()) r.fail(&root, "server", "at least one [[server]] is required");
  std::set<int> cards{c.dispatcher.card};
  for (size_t i = 0; i < servers->size(); ++i) {
    const toml::table* t = (*servers)[i].as_table();
    std::string w = fmt::format("server[{}]", i);
    if (!t) r.fail(&(*servers)[i], w, "must be a table");
    r.only_keys(*t, w, {"name", "card", "listen", "backplane", "content", "proxy_protocol", "threads", "metrics",
                        "handshake_timeout_ms", "request_timeout_ms", "idle_timeout_ms", "send_timeout_ms",
                        "max_connections", "max_header_bytes", "device", "xclbin", "device_index",
                        "card_service", "session_pull", "pull_spin_us", "io_loops"});
    ServerConfig s;
    s.name = r.need<std::string>(*t, "name", w);
    if (s.name.empty()) r.fail(t->get("name"), w + ".name", "must not be empty");
    if (c.find_server(s.name)) r.fail(t->get("name"), w + ".name", fmt::format("duplicate server name '{}'", s.name));
    int64_t card = r.need<int64_t>(*t, "card", w);
    if (card < 1 || card > kMaxCard)
      r.fail(t->get("card"), w + ".card", fmt::format("must be in 1..{} (255 is the backplane broadcast address)", kMaxCard));
    if (!cards.insert(static_cast<int>(card)).second)
      r.fail(t->get("card"), w + ".card", fmt::format("card {} is already used", card));
    s.card = static_cast<uint8_t>(card);
    s.listen = r.endpoint(*t, "listen", w, std::nullopt);
    if (s.listen.port == 0) r.fail(t->get("listen"), w + ".listen", "a server needs a fixed port (the dispatcher connects to it)");
    if (t->contains("backplane")) s.backplane = r.endpoint(*t, "backplane", w, std::nullopt);
    s.content = resolve(base, r.need<std::string>(*t, "content", w));
    s.proxy_protocol = r.get<bool>(*t, "proxy_protocol", w).value_or(false);
    s.session_pull = r.get<bool>(*t, "session_pull", w).value_or(false);
    if (s.session_pull && !s.proxy_protocol)
      r.fail(t->get("session_pull"), w + ".session_pull", "needs proxy_protocol = true (the hint travels in the PROXY v2 header)");
    // The io thread is held while it waits: bounded well below a pull's budget. On by
    // default where the server pulls (docs/server.md: a change ~20-50 µs shorter on a quiet
    // machine; it only waits while nothing else of its loop is busy).
    const int64_t spin_default = s.session_pull ? kDefaultPullSpinUs : 0;
    s.pull_spin = std::chrono::microseconds(r.ranged(*t, "pull_spin_us", w, spin_default, 0, 1000));
    if (t->contains("pull_spin_us") && !s.session_pull)
      r.fail(t->get("pull_spin_us"), w + ".pull_spin_us", "only with session_pull = true (it waits for the server's pull)");
    s.threads = static_cast<unsigned>(r.ranged(*t, "threads", w, 1, 1, 256));
    if (const auto loops = r.get<std::string>(*t, "io_loops", w)) {
      if (*loops != "shared" && *loops != "per_thread")
        r.fail(t->get("io_loops"), w + ".io_loops", fmt::format("'{}': want \"shared\" or \"per_thread\"", *loops));
      s.per_thread_loops = *loops == "per_thread";
    }
    if (t->contains("metrics")) {
      auto m = r.endpoint(*t, "metrics", w, std::nullopt);
      if (m.port != 0) s.metrics = m;  // port 0: no endpoint
    }
    s.handshake_timeout = std::chrono::milliseconds(r.ranged(*t, "handshake_timeout_ms", w, 10000, 1, 600000));
    s.request_timeout = std::chrono::milliseconds(r.ranged(*t, "request_timeout_ms", w, 10000, 1, 600000));
    s.idle_timeout = std::chrono::milliseconds(r.ranged(*t, "idle_timeout_ms", w, 60000, 1, 86400000));
    s.send_timeout = std::chrono::milliseconds(r.ranged(*t, "send_timeout_ms", w, 10000, 1, 600000));
    s.max_connections = static_cast<size_t>(r.ranged(*t, "max_connections", w, 8192, 1, 1000000));
    s.max_header_bytes = static_cast<size_t>(r.ranged(*t, "max_header_bytes", w, 16384, 1024, 65536));  // http-parser caps a header block at 80 KiB
    s.device = r.get<std::string>(*t, "device", w).value_or("model");
    if (s.device != "model" && s.device != "verilator" && s.device != "xrt")
      r.fail(t->get("device"), w + ".device", "must be model, verilator or xrt");
    if (s.device == "verilator" && s.card >= 32)
      r.fail(t->get("card"), w + ".card", "must be below 32 for device = \"verilator\" (the RTL card's bp_peers is 32 bits)");
    if (s.device == "xrt") {
      const std::string x = r.need<std::string>(*t, "xclbin", w);
      if (x.empty()) r.fail(t->get("xclbin"), w + ".xclbin", "must be the path of the card's xclbin");
      s.xclbin = resolve(base, x);
      s.device_index = static_cast<unsigned>(r.ranged(*t, "device_index", w, 0, 0, 255));
    } else {
      for (const char* k : {"xclbin", "device_index"})
        if (t->contains(k)) r.fail(t->get(k), w + "." + k, "only for device = \"xrt\"");
    }
    if (t->contains("card_service")) {
      auto sock = r.need<std::string>(*t, "card_service", w);
      if (sock.empty()) r.fail(t->get("card_service"), w + ".card_service", "must be a socket path");
      s.card_service = resolve(base, sock);
    }
    c.servers.push_back(std::move(s));
  }

  // [[route]]
  const toml::array* routes = root["route"].as_array();
  if (!routes || routes->empty()) r.fail(&root, "route", "at least one [[route]] is required");
  for (size_t i = 0; i < routes->size(); ++i) {
    const toml::table* t = (*routes)[i].as_table();
    std::string w = fmt::format("route[{}]", i);
    if (!t) r.fail(&(*routes)[i], w, "must be a table");
    r.only_keys(*t, w, {"sni", "alpn", "default", "servers"});
    RouteConfig rc;
    rc.line = t->source().begin.line;
    rc.sni = r.get<std::string>(*t, "sni", w).value_or("");
    std::transform(rc.sni.begin(), rc.sni.end(), rc.sni.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    rc.alpn = r.get<std::string>(*t, "alpn", w).value_or("");
    rc.is_default = r.get<bool>(*t, "default", w).value_or(false);
    if (rc.sni.empty() && rc.alpn.empty() && !rc.is_default)
      r.fail(t, w, "needs sni, alpn or default = true");
    const toml::array* list = t->get_as<toml::array>("servers");
    if (!list || list->empty()) r.fail(t, w + ".servers", "a non-empty list of server names is required");
    for (auto& n : *list) {
      auto name = n.value<std::string>();
      if (!name) r.fail(&n, w + ".servers", "entries must be strings");
      if (!c.find_server(*name)) r.fail(&n, w + ".servers", fmt::format("no server named '{}'", *name));
      rc.servers.push_back(*name);
    }
    c.routes.push_back(std::move(rc));
  }
  check_cluster(root, c, r, check_files);
  return c;
}
}  // namespace

ClusterConfig load_cluster_config(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) throw ConfigError(fmt::format("{}: cannot read config file", file.string()));
  std::string text;
  {
    FILE* f = std::fopen(file.c_str(), "rb");
    if (!f) throw ConfigError(fmt::format("{}: cannot open config file", file.string()));
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return parse(text, file, true);
}

}  // namespace sessnic::config
