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

void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

// A pull started when the PROXY header was read (its hint named the offered session),
// while OpenSSL had not yet read the hello: the answer may come before the ClientHello
// callback asks for it, or after. Shared by the connection's hint and the pull's completion.
struct SessionPull::EarlyPull {
  std::vector<uint8_t> session_id;  // the id the hint named
  std::mutex mu;
  bool answered = false;        // the pull's completion ran
  std::function<void()> done;   // the ClientHello callback's, if it asked before the answer
};

struct SessionPull::Hint {
  uint8_t owner;
  std::chrono::microseconds budget;
  bool move_in_flight;
  const std::atomic<int>* loop_busy;  // the connection's io loop (null: do not spin)
  std::shared_ptr<EarlyPull> early;   // null: the pull starts in the ClientHello callback
  // The early pull's claim on the backplane's direct port (its PULL left from there, so
  // its answer comes there and nobody but this connection's thread reads it): handed to
  // the callback's wait, or dropped when there is none, so the pump watches the port again.
  std::shared_ptr<DirectWait> direct;
};

void SessionPull::free_hint(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<Hint*>(ptr); }

int SessionPull::hint_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_hint);
  return index;
}

struct SessionPull::State {
  std::atomic<uint64_t> hinted{0}, local{0}, pulled{0}, landed{0}, not_found{0}, failed{0}, late{0}, busy{0};
  std::atomic<uint64_t> early{0}, early_ready{0}, early_mismatch{0};
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

SessionPull::Hint* SessionPull::set_hint(SSL* ssl, const proxy_v2::PullHint& hint, const std::atomic<int>* loop_busy) {
  auto* h = new Hint{hint.owner, std::min(hint.budget, kMaxBudget), hint.move_in_flight, loop_busy, nullptr, nullptr};
  delete static_cast<Hint*>(SSL_get_ex_data(ssl, hint_index()));
  if (SSL_set_ex_data(ssl, hint_index(), h) == 1) return h;
  delete h;
  return nullptr;
}

void SessionPull::on_hint(SSL* ssl, const proxy_v2::PullHint& hint, const std::atomic<int>* loop_busy) {
  Hint* h = set_hint(ssl, hint, loop_busy);
  if (h == nullptr || hint.session_id.empty() || hint.owner == card_.card_id()) return;
  // The hello is on its way behind this header, and OpenSSL has yet to read and parse it
  // before the ClientHello callback would ask. Pulling now lets the owner's and this
  // card's pumps answer meanwhile (traced: the PULL leaves ~40 µs after the header, the
  // callback comes at ~55, the answer at ~90; docs/backplane.md "The pull starts at the
  // PROXY header"). Only a session the hello really offers is used (fetch() compares): a
  // pull for another id only puts a copy here.
  auto early = std::make_shared<EarlyPull>();
  early->session_id = hint.session_id;
  bump(state_->early);
  h->early = early;
  start(SessionKey::make(early->session_id, ctx_id_), *h, [early] {
    std::function<void()> done;
    {
      std::lock_guard lock(early->mu);
      early->answered = true;
      done.swap(early->done);
    }
    if (done) done();
  });
  std::lock_guard lock(early->mu);
  if (early->answered) h->direct.reset();  // here already, or nothing to wait for
}

void SessionPull::end_early_claim(SSL* ssl) {
  if (auto* h = static_cast<Hint*>(SSL_get_ex_data(ssl, hint_index()))) h->direct.reset();
}

void SessionPull::fetch(HelloLookupRequest& req, std::function<void()> done) {
  auto* hint = req.ssl ? static_cast<Hint*>(SSL_get_ex_data(req.ssl, hint_index())) : nullptr;
  if (hint == nullptr || hint->owner == card_.card_id()) return done();
  if (hint->early) {
    EarlyPull& e = *hint->early;
    // Leaving this scope without handing the claim to the wait ends it.
    std::shared_ptr<DirectWait> direct = std::move(hint->direct);
    if (e.session_id == req.session_id) {
      // The answer may be on the direct port already, unread: one look (it completes on
      // this thread, so before e.mu is taken).
      if (direct) direct->poll();
      std::unique_lock lock(e.mu);
      if (e.answered) {  // answered while OpenSSL read the hello: go on at once
        bump(state_->early_ready);
        return done();
      }
      e.done = std::move(done);
      lock.unlock();
      // In flight: wait for it as for a pull started here (pull_spin_us below), reading
      // its answer off the direct port on this thread.
      req.spin = spin_for(*hint, hint->budget);
      if (req.spin.count() > 0 && direct) req.poll = [direct] { return direct->poll(); };
      return;
    }
    // The hello offers another session than the header named (a changed or misbehaving
    // dispatcher): pull the offered one as if no id had come. The early pull's session
    // only lands here as a copy; the handshake never looks it up.
    bump(state_->early_mismatch);
  }
  start(SessionKey::make(req.session_id, ctx_id_), *hint, std::move(done), &req);
}

std::chrono::microseconds SessionPull::spin_for(const Hint& hint, std::chrono::microseconds left) const {
  // The answer is a round trip through two other threads away (~60-150 µs here). Pausing
  // the handshake puts this io thread to sleep and makes the card's pump wake it again;
  // when no other connection of its loop is busy, the callback may wait here instead (the
  // pump's completion then finds no resume to post: one sleep and wake-up less per pull;
  // on a quiet machine a change 21-51 µs shorter, on a loaded one no difference showed:
  // docs/backplane.md). With others busy, never: they would wait behind it.
  if (spin_.count() > 0 && hint.loop_busy != nullptr && hint.loop_busy->load(std::memory_order_relaxed) <= 1)
    return std::min(spin_, left);
  return {};
}

void SessionPull::start(const SessionKey& key, Hint& hint, std::function<void()> done, HelloLookupRequest* req) {
  State& st = *state_;
  bump(st.hinted);
  // Here already (replicated, moved early, or pulled for an earlier connection).
  if (card_.export_entry(key).ok()) {
    bump(st.local);
    return done();
  }
  const auto left = hint.budget;
  if (left.count() <= 0) {
    bump(st.late);
    return done();
  }
  const uint8_t owner = hint.owner;
  const auto spin = spin_for(hint, left);
  if (req != nullptr) req->spin = spin;
  if (card_.async_native()) {
    auto answered = [state = state_, done](bool awaited) {
      return [state, done, awaited](Response r) {
        state->count(r, awaited);
        done();  // posts the handshake back to its io thread
        state->end();
      };
    };
    st.begin();
    if (hint.move_in_flight) {
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
    // Waiting for it on this thread: the PULL leaves from the backplane's direct port, the
    // owner answers there and this thread reads the answer itself (req.poll), so this card's
    // pump does not wake between the answer and the wait (docs/backplane.md, "The answer
    // goes to the waiting thread"). The claim ends with the wait (HelloLookup drops poll);
    // an early pull's is kept with its hint until the callback's wait takes it (fetch).
    if (spin.count() > 0) {
      if (auto w = std::make_shared<DirectWait>(card_.direct_wait()); *w) {
        if (req != nullptr) req->poll = [w] { return w->poll(); };
        else hint.direct = std::move(w);
      }
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
  return {get(s.hinted), get(s.local), get(s.pulled), get(s.landed), get(s.not_found),   get(s.failed),
          get(s.late),   get(s.busy),  l.spun,        l.spin_done,   get(s.early),       get(s.early_ready),
          get(s.early_mismatch)};
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
  t += fmt::format(
      "# HELP sessnic_server_session_pulls_early_total Pulls started when the PROXY v2 header was read (the hint "
      "named the offered session); of those, answered before the ClientHello callback asked (ready), and those "
      "whose hello offered another session (mismatch: pulled again from the callback).\n"
      "# TYPE sessnic_server_session_pulls_early_total counter\n"
      "sessnic_server_session_pulls_early_total{{result=\"started\"}} {}\n"
      "sessnic_server_session_pulls_early_total{{result=\"ready\"}} {}\n"
      "sessnic_server_session_pulls_early_total{{result=\"mismatch\"}} {}\n",
      c.early, c.early_ready, c.early_mismatch);
  return t;
}

}  // namespace sessnic::server
