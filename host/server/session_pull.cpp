#include "session_pull.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace sessnic::server {
namespace {

// For a card without asynchronous completions only: each pull is one backplane round trip
// that blocks its worker (Device::pull). A full queue means the owner is not answering, and
// the handshake goes on without the session rather than wait in line.
constexpr unsigned kPullThreads = 8;
constexpr size_t kMaxQueued = 1024;
// The dispatcher sets the budget (its pull_deadline_us); this only bounds what a header
// can ask of a server.
constexpr std::chrono::microseconds kMaxBudget{1'000'000};
// After waiting the whole budget for the dispatcher's move: one pull of at most this long.
constexpr std::chrono::microseconds kLastTry{2'000};

struct Hint {
  uint8_t owner;
  std::chrono::microseconds budget;
  bool move_in_flight;
  const std::atomic<int>* loop_busy;  // the connection's io loop (null: do not spin)
};

void free_hint(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<Hint*>(ptr); }

int hint_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_hint);
  return index;
}

void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

struct SessionPull::State {
  std::atomic<uint64_t> hinted{0}, local{0}, pulled{0}, landed{0}, not_found{0}, failed{0}, late{0}, busy{0};
  // Waits whose completion has not run yet: the destructor lets them finish, because each
  // completion resumes a handshake on an io_context that must still exist.
  std::mutex mu;
  std::condition_variable idle;
  size_t in_flight = 0;

  void begin() {
    std::lock_guard lock(mu);
    ++in_flight;
  }
  void end() {
    std::lock_guard lock(mu);
    if (--in_flight == 0) idle.notify_all();
  }
  void count(const Response& r, bool awaited) {
    if (r.ok()) bump(awaited ? landed : pulled);
    else if (r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED) bump(not_found);
    else bump(failed);
  }
};

SessionPull::SessionPull(SSL_CTX* ctx, Device& card, uint8_t ctx_id, std::chrono::microseconds spin)
    : card_(card),
      ctx_id_(ctx_id),
      spin_(spin),
      state_(std::make_shared<State>()),
      workers_(std::make_unique<redis::Workers>(kPullThreads, kMaxQueued)) {
  (void)hint_index();  // the index exists before the first connection needs it
  lookup_ = HelloLookup::install(ctx, [this](HelloLookupRequest& r, std::function<void()> done) {
    fetch(r, std::move(done));
  });
}

SessionPull::~SessionPull() {
  lookup_.reset();   // no new pulls
  workers_.reset();  // blocking pulls in flight answer by their budget
  // Asynchronous ones too (the card answers FAILED at the deadline, or when it closes).
  std::unique_lock lock(state_->mu);
  state_->idle.wait_for(lock, 2 * kMaxBudget, [&] { return state_->in_flight == 0; });
}

void SessionPull::set_hint(SSL* ssl, const proxy_v2::PullHint& hint, const std::atomic<int>* loop_busy) {
  auto* h = new Hint{hint.owner, std::min(hint.budget, kMaxBudget), hint.move_in_flight, loop_busy};
  delete static_cast<Hint*>(SSL_get_ex_data(ssl, hint_index()));
  if (SSL_set_ex_data(ssl, hint_index(), h) != 1) delete h;
}

void SessionPull::fetch(HelloLookupRequest& req, std::function<void()> done) {
  const auto* hint = req.ssl ? static_cast<const Hint*>(SSL_get_ex_data(req.ssl, hint_index())) : nullptr;
  if (hint == nullptr || hint->owner == card_.card_id()) return done();
  State& st = *state_;
  bump(st.hinted);
  const SessionKey key = SessionKey::make(req.session_id, ctx_id_);
  // Here already (replicated, moved early, or pulled for an earlier connection).
  if (card_.export_entry(key).ok()) {
    bump(st.local);
    return done();
  }
  const auto left = hint->budget;
  if (left.count() <= 0) {
    bump(st.late);
    return done();
  }
  const uint8_t owner = hint->owner;
  // The answer is a round trip through two other threads away (~60-150 µs here). Pausing
  // the handshake puts this io thread to sleep and makes the card's pump wake it again;
  // when no other connection of its loop is busy, the callback may wait here instead (the
  // pump's completion then finds no resume to post: one sleep and wake-up less per pull;
  // on a quiet machine a change 21-51 µs shorter, on a loaded one no difference showed:
  // docs/backplane.md). With others busy, never: they would wait behind it.
  if (spin_.count() > 0 && hint->loop_busy != nullptr && hint->loop_busy->load(std::memory_order_relaxed) <= 1)
    req.spin = std::min(spin_, left);
  if (card_.async_native()) {
    auto answered = [state = state_, done](bool awaited) {
      return [state, done, awaited](Response r) {
        state->count(r, awaited);
        done();  // posts the handshake back to its io thread
        state->end();
      };
    };
    st.begin();
    if (hint->move_in_flight) {
      // The dispatcher's move started before the hello was even forwarded: it usually
      // lands before, or soon after, this hello. Pulling as well would race it; only when
      // it has not landed by the deadline, one short pull from the owner is the last try
      // (a move refused on the way leaves the session where it was).
      Device* card = &card_;
      auto last_try = [card, key, owner, landed = answered(true), pulled = answered(false)](Response r) {
        if (r.ok()) return landed(std::move(r));
        card->pull_async(key, owner, kLastTry, pulled);
      };
      SessionWait w = card_.await_session(key, left, std::move(last_try));
      if (w) {
        w.release();  // answered by the card at the latest at the deadline
        return;
      }
    }
    // Waiting for it here: the PULL leaves from the backplane's direct port, the owner
    // answers there and this thread reads the answer itself (req.poll), so this card's
    // pump does not wake between the answer and the wait (docs/backplane.md, "The answer
    // goes to the waiting thread"). The claim ends with the wait (HelloLookup drops poll).
    if (req.spin.count() > 0) {
      if (auto w = std::make_shared<DirectWait>(card_.direct_wait()); *w) req.poll = [w] { return w->poll(); };
    }
    card_.pull_async(key, owner, left, answered(false));
    return;
  }
  const bool queued = workers_->submit([state = state_, this, key, owner, left, done] {
    state->count(card_.pull(key, owner, left), false);
    done();
  });
  if (!queued) {
    bump(st.busy);
    done();
  }
}

SessionPullCounters SessionPull::counters() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  const State& s = *state_;
  const HelloLookupCounters l = lookup_ ? lookup_->counters() : HelloLookupCounters{};
  return {get(s.hinted), get(s.local),     get(s.pulled), get(s.landed), get(s.not_found),
          get(s.failed), get(s.late),      get(s.busy),   l.spun,        l.spin_done};
}

std::string SessionPull::metrics_text() const {
  const SessionPullCounters c = counters();
  std::string t =
      "# HELP sessnic_server_session_pulls_total Hellos with the dispatcher's pull hint, by what the server did.\n"
      "# TYPE sessnic_server_session_pulls_total counter\n";
  for (auto [label, n] : {std::pair{"local", c.local}, {"pulled", c.pulled}, {"landed", c.landed},
                          {"not_found", c.not_found}, {"failed", c.failed}, {"late", c.late}, {"busy", c.busy}})
    t += fmt::format("sessnic_server_session_pulls_total{{result=\"{}\"}} {}\n", label, n);
  t += fmt::format(
      "# HELP sessnic_server_session_pull_spins_total Pulls the ClientHello callback waited for on its io thread "
      "(pull_spin_us), by whether the answer came within the wait.\n"
      "# TYPE sessnic_server_session_pull_spins_total counter\n"
      "sessnic_server_session_pull_spins_total{{result=\"answered\"}} {}\n"
      "sessnic_server_session_pull_spins_total{{result=\"paused\"}} {}\n",
      c.spin_done, c.spun - c.spin_done);
  return t;
}

}  // namespace sessnic::server
