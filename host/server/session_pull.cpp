#include "session_pull.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sessnic::server {
namespace {

// Each pull is one backplane round trip that blocks its worker (Device::pull), so a few
// threads carry thousands of pulls per second; a full queue means the owner is not
// answering, and the handshake goes on without the session rather than wait in line.
constexpr unsigned kPullThreads = 8;
constexpr size_t kMaxQueued = 1024;
// The dispatcher sets the budget (its transfer_deadline_us); this only bounds what a
// header can ask of a server thread.
constexpr std::chrono::microseconds kMaxBudget{1'000'000};

struct Hint {
  uint8_t owner;
  std::chrono::microseconds budget;
};

void free_hint(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<Hint*>(ptr); }

int hint_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_hint);
  return index;
}

void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

SessionPull::SessionPull(SSL_CTX* ctx, Device& card, uint8_t ctx_id)
    : card_(card), ctx_id_(ctx_id), workers_(std::make_unique<redis::Workers>(kPullThreads, kMaxQueued)) {
  (void)hint_index();  // the index exists before the first connection needs it
  lookup_ = HelloLookup::install(ctx, [this](const HelloLookupRequest& r, std::function<void()> done) {
    fetch(r, std::move(done));
  });
}

SessionPull::~SessionPull() {
  lookup_.reset();   // no new pulls
  workers_.reset();  // pulls in flight answer by their budget
}

void SessionPull::set_hint(SSL* ssl, const proxy_v2::PullHint& hint) {
  auto* h = new Hint{hint.owner, std::min(hint.budget, kMaxBudget)};
  delete static_cast<Hint*>(SSL_get_ex_data(ssl, hint_index()));
  if (SSL_set_ex_data(ssl, hint_index(), h) != 1) delete h;
}

void SessionPull::fetch(const HelloLookupRequest& req, std::function<void()> done) {
  const auto* hint = req.ssl ? static_cast<const Hint*>(SSL_get_ex_data(req.ssl, hint_index())) : nullptr;
  if (hint == nullptr || hint->owner == card_.card_id()) return done();
  bump(hinted_);
  const SessionKey key = SessionKey::make(req.session_id, ctx_id_);
  // Here already (replicated, or pulled for an earlier connection): nothing to wait for.
  if (card_.export_entry(key).ok()) {
    bump(local_);
    return done();
  }
  const auto left = hint->budget;
  if (left.count() <= 0) {
    bump(late_);
    return done();
  }
  const uint8_t owner = hint->owner;
  const bool queued = workers_->submit([this, key, owner, left, done] {
    const Response r = card_.pull(key, owner, left);
    if (r.ok()) bump(pulled_);
    else if (r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED) bump(not_found_);
    else bump(failed_);
    done();
  });
  if (!queued) {
    bump(busy_);
    done();
  }
}

SessionPullCounters SessionPull::counters() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {get(hinted_), get(local_), get(pulled_), get(not_found_), get(failed_), get(late_), get(busy_)};
}

std::string SessionPull::metrics_text() const {
  const SessionPullCounters c = counters();
  std::string t =
      "# HELP sessnic_server_session_pulls_total Hellos with the dispatcher's pull hint, by what the server did.\n"
      "# TYPE sessnic_server_session_pulls_total counter\n";
  for (auto [label, n] : {std::pair{"local", c.local}, {"pulled", c.pulled}, {"not_found", c.not_found},
                          {"failed", c.failed}, {"late", c.late}, {"busy", c.busy}})
    t += fmt::format("sessnic_server_session_pulls_total{{result=\"{}\"}} {}\n", label, n);
  return t;
}

}  // namespace sessnic::server
