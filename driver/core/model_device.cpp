// The `model` device: the HLS card top (hls/card_top.hpp: session table + backplane
// sync + card rules) running in-process. Production servers use it when no card is
// present, so it is the same kernel code the card runs, fed through the same codec as
// every device.
//
// Threading: one mutex around the card and its four streams. Whoever holds it runs the
// card (execute() callers and the backplane pump alike) and files every response it
// sees under its tag; a caller waits until all of its own tags are answered. Commands
// get device-unique tags on the wire and their own tag back, so TRANSFER/PULL answers
// that overtake later commands still reach the right caller.
//
// Asynchronous commands (execute_async) get a tag like any other, but their answer is
// posted to the completion queue instead of a waiting caller; session waits
// (await_session) are looked up with a non-consuming EXPORT after a batch of received
// frames that stored something, only while waiters exist. The pump delivers both from service(), outside the
// lock: no thread hand-off between the frame that answers and the callback.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "card_top.hpp"
#include "sessnic/backplane_ports.hpp"
#include "sessnic/card_clock.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/completion_queue.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic {
namespace {

// Host requests waiting on the backplane at once (the dispatcher's transfers in flight).
constexpr unsigned kPending = 256;
// Beats of received frames the card may have queued before give_frame() says "not now".
constexpr std::size_t kFrameInBeats = 1 << 14;
// Card rounds per drive() (see there).
constexpr unsigned kStepsPerDrive = 2048;
// A caller never waits longer than its longest card deadline plus this, even if the card
// were to lose an answer (it does not: this is the "never hang" guard).
constexpr uint64_t kAnswerGuardUs = 5'000'000;

template <typename Card>
class ModelDevice final : public Device, public BackplanePorts {
 public:
  explicit ModelDevice(const DeviceConfig& config)
      // new, not make_unique<>(): the constructor writes only the table's metadata; the
      // blob array (the bulk of ~300 MB for the full geometry) is left untouched so the
      // OS maps its pages on first use.
      : card_(new Card(config.card_id)),
        clock_(config.clock ? config.clock : wall_clock_seconds),
        sweep_steps_(config.sweep_steps_per_batch) {
    if (config.prefault) prefault();
    CardRegisters r;  // a card alone: no members, so nothing is sent until the pump writes its registers
    r.card = config.card_id;
    card_->configure(r);
    card_id_.store(r.card, std::memory_order_relaxed);
  }

  ~ModelDevice() override {
    std::unordered_map<uint32_t, AsyncCommand> left;
    {
      std::lock_guard lock(mu_);
      left.swap(async_);
    }
    for (auto& [tag, a] : left) completions_->post(std::move(a.done), codec::local_response(a.cmd, wire::Status::FAILED));
    completions_->close();  // waiters answered FAILED, everything delivered on this thread
  }

  std::string kind() const override { return "model"; }
  // Without the lock: every new session asks (its id's owner hint), and the card's
  // registers change only in write_registers(), which updates this copy.
  uint8_t card_id() const override { return card_id_.load(std::memory_order_relaxed); }
  BackplanePorts* backplane_ports() override { return this; }

  bool async_native() const override {
    std::lock_guard lock(mu_);
    return static_cast<bool>(wake_);
  }

  void execute_async(Command cmd, Completion done) override {
    std::unique_lock lock(mu_);
    if (!wake_) {  // no pump would deliver the answer
      lock.unlock();
      return Device::execute_async(std::move(cmd), std::move(done));
    }
    if (!codec::encodable(cmd)) {
      completions_->post(std::move(done), codec::local_response(cmd, wire::Status::TOO_LARGE));
      wake_();
      return;
    }
    const uint64_t longest = cmd.expiry ? cmd.expiry : card_->registers().deadline;
    const uint64_t give_up = host_time_us() + longest + card_->registers().pull_deadline + kAnswerGuardUs;
    const uint32_t time_tag = sync_clock();
    const uint32_t tag = submit(cmd);
    async_.emplace(tag, AsyncCommand{std::move(cmd), give_up, std::move(done)});
    drive(host_time_us());
    if (time_tag != 0 && !done_.erase(time_tag)) abandoned_.insert(time_tag);  // nobody waits for it
    if (async_.count(tag)) send_frames_here(lock);  // not answered at once: its frames leave from here
    wake_pump_if_needed();
    if (completions_->has_ready()) wake_();
  }

  SessionWait await_session(const SessionKey& key, std::chrono::microseconds deadline, Completion done) override {
    std::lock_guard lock(mu_);
    if (!wake_) return {};
    const uint64_t id =
        completions_->add_waiter(key, host_time_us() + static_cast<uint64_t>(std::max<int64_t>(deadline.count(), 0)),
                                 std::move(done));
    if (id == 0) return {};
    recheck_ = true;  // it may be here already
    wake_();
    return SessionWait(completions_, id);
  }

  void execute(std::span<const Command> cmds, std::vector<Response>& out) override {
    const std::size_t base = out.size();
    out.resize(base + cmds.size());
    std::vector<uint32_t> tags(cmds.size(), 0);
    std::unique_lock lock(mu_);
    uint64_t longest = 0;
    bool stores = false;
    const uint32_t time_tag = sync_clock();
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      const Command& c = cmds[i];
      if (!codec::encodable(c)) {
        out[base + i] = codec::local_response(c, wire::Status::TOO_LARGE);
        continue;
      }
      tags[i] = submit(c);
      stores = stores || c.op == wire::Opcode::PUT;
      if (c.op == wire::Opcode::TRANSFER || c.op == wire::Opcode::PULL)
        longest = std::max<uint64_t>(longest, c.expiry ? c.expiry : card_->registers().deadline);
    }
    const uint64_t give_up = host_time_us() + longest + card_->registers().pull_deadline + kAnswerGuardUs;
    drive(host_time_us());
    // A caller about to wait for the backplane (TRANSFER, PULL, a hub pull) sends the
    // frames itself; replication frames of answered commands are left to the pump, which
    // batches them.
    bool waits = false;
    for (std::size_t i = 0; i < cmds.size() && !waits; ++i) waits = tags[i] != 0 && !done_.count(tags[i]);
    if (waits) send_frames_here(lock);
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      if (tags[i] == 0) continue;
      Response r;
      if (!wait_answer(lock, tags[i], give_up, r)) r = codec::local_response(cmds[i], wire::Status::FAILED);
      r.tag = cmds[i].tag;
      out[base + i] = std::move(r);
    }
    finish_commands(lock, time_tag, give_up, stores);
  }

  // execute() of one command without its per-batch bookkeeping: the answer is taken
  // straight from the card's response port (no tag vector, no answer map) when the card
  // gives it within this drive - every table command; TRANSFER, PULL and a hub pull
  // go the general way.
  Response execute_one(Command cmd) override {
    if (cmd.op == wire::Opcode::TRANSFER || cmd.op == wire::Opcode::PULL || !codec::encodable(cmd))
      return Device::execute_one(std::move(cmd));
    std::unique_lock lock(mu_);
    const uint32_t time_tag = sync_clock();
    const uint32_t tag = submit(cmd);
    Response r;
    direct_tag_ = tag;
    direct_out_ = &r;
    direct_got_ = false;
    drive(host_time_us());
    direct_tag_ = 0;
    direct_out_ = nullptr;
    // The guard deadline needs a clock read of its own: only when something waits.
    uint64_t give_up = 0;
    if (!direct_got_ || time_tag != 0) [[unlikely]]
      give_up = host_time_us() + card_->registers().pull_deadline + kAnswerGuardUs;
    if (!direct_got_) [[unlikely]] {
      // Not answered in this drive (a hub pull on a miss, or the card's round limit).
      send_frames_here(lock);
      if (!wait_answer(lock, tag, give_up, r)) r = codec::local_response(cmd, wire::Status::FAILED);
    }
    r.tag = cmd.tag;
    finish_commands(lock, time_tag, give_up, cmd.op == wire::Opcode::PUT);
    return r;
  }

  // The end of every synchronous command run (execute, execute_one): the clock command's
  // answer, the sweep steps, a waiter re-check after a host PUT, the pump's wake-up.
  void finish_commands(std::unique_lock<std::mutex>& lock, uint32_t time_tag, uint64_t give_up, bool stores) {
    if (time_tag != 0) {
      Response ignored;
      (void)wait_answer(lock, time_tag, give_up, ignored);
    }
    for (unsigned i = 0; i < sweep_steps_; ++i) card_->sweep_step();
    if (stores && wake_ && completions_->has_waiters()) {  // a host PUT may be what a waiter waits for
      recheck_ = true;
      wake_();
    }
    wake_pump_if_needed();
  }

  // ---- BackplanePorts ------------------------------------------------------------
  bool take_frame(std::vector<Beat>& frame) override {
    std::lock_guard lock(mu_);
    if (fout_.empty()) return false;
    frame.clear();
    Beat b;
    do {
      b = fout_.read();
      frame.push_back(b);
    } while (!b.last && !fout_.empty());
    fout_known_ -= std::min(fout_known_, frame.size());  // the oldest beats go first
    return true;
  }

  bool give_frame(std::span<const Beat> frame) override {
    if (frame.empty()) return true;
    std::lock_guard lock(mu_);
    if (fin_.size() + frame.size() > kFrameInBeats) return false;
    for (std::size_t i = 0; i < frame.size(); ++i) {
      Beat b = frame[i];
      b.last = i + 1 == frame.size();
      fin_.write(b);
    }
    return true;  // the card takes it on the next service() (the pump batches frames, then acks)
  }

  bool service(uint64_t now_us) override {
    bool any;
    {
      std::lock_guard lock(mu_);
      any = drive(now_us);
      // The pump takes what its own service() made right after (BackplanePorts): a host
      // command that finds those frames still there has no reason to wake it.
      fout_known_ = fout_.size();
      // Waiters are looked up when the card stored something from the backplane (every
      // such store counts in bp_stats.applied), a waiter is new, or a host PUT ran: not
      // on acks, hellos or frames that changed nothing.
      if (recheck_ || card_->bp_counter(wire::BP_STATS_APPLIED) != applied_seen_) look_up_waiters();
      completions_->expire(now_us);
      expire_async(now_us);
    }
    // Completions go before the pump sends this round's frames (acks, results): the
    // waiter is the handshake on the critical path; the peer's ack is not.
    return completions_->run() != 0 || any;
  }

  bool write_registers(const CardRegisters& r) override {
    std::lock_guard lock(mu_);
    card_->configure(r);
    card_id_.store(card_->registers().card, std::memory_order_relaxed);
    Beat b;
    while (!fin_.empty()) b = fin_.read();
    while (!fout_.empty()) b = fout_.read();
    fout_known_ = 0;
    return true;
  }

  bool read_status(CardStatus& s) override {
    std::lock_guard lock(mu_);
    for (unsigned i = 0; i < wire::BP_STATS_COUNT; ++i) s.bp_stats[i] = card_->bp_counter(i);
    for (unsigned p = 0; p < s.peer_up.size(); ++p) s.peer_up[p] = card_->sync().peer_up(p);
    return true;
  }

  void on_frame_ready(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
  }

  void on_wake_at(std::function<void(uint64_t)> wake_at) override {
    std::lock_guard lock(mu_);
    wake_at_ = std::move(wake_at);
  }

  void on_frames_out(std::function<void()> send) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return senders_ == 0; });  // a caller may be inside the old one
    send_ = std::move(send);
  }

  void on_direct(std::function<void(bool)> claim, std::function<bool()> poll) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return direct_users_ == 0; });  // a DirectWait may still use the old ones
    direct_claim_ = std::move(claim);
    direct_poll_ = std::move(poll);
  }

  DirectWait direct_wait() override {
    std::unique_lock lock(mu_);
    if (!direct_claim_ || !direct_poll_ || !wake_) return {};
    std::function<void(bool)> claim = direct_claim_;
    std::function<bool()> poll = direct_poll_;
    ++direct_users_;
    lock.unlock();
    claim(true);
    return DirectWait(std::move(poll), [this, claim] {
      claim(false);
      std::lock_guard l(mu_);
      if (--direct_users_ == 0) cv_.notify_all();
    });
  }

  std::optional<uint64_t> next_deadline_us() override {
    std::lock_guard lock(mu_);
    told_deadline_ = earliest_deadline();
    return told_deadline_;
  }

 private:
  // Maps every page of the card now (contents untouched: the kernel zero-fills them).
  void prefault() {
#ifdef MADV_POPULATE_WRITE
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<uintptr_t>(card_.get());
    const uintptr_t first = (begin + page - 1) & ~(page - 1);
    const uintptr_t last = (begin + sizeof(Card)) & ~(page - 1);
    if (last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#endif
  }

  // A device-unique, nonzero tag. Caller holds mu_.
  uint32_t next_tag() {
    uint32_t t;
    // The maps are empty on the common path (one command, answered at once): skip their
    // hash lookups (bucket arrays that would otherwise be pulled into the cache).
    do t = ++tag_;
    while (t == 0 || (!done_.empty() && done_.count(t)) || (!abandoned_.empty() && abandoned_.count(t)) ||
           (!async_.empty() && async_.count(t)));
    return t;
  }

  // Encodes `c` under a fresh tag onto the card's command port. Caller holds mu_.
  uint32_t submit(const Command& c) {
    const uint32_t tag = next_tag();
    beats_.clear();
    codec::encode(c, beats_);
    wire::set_field(beats_.front().data, wire::header::tag, tag);
    for (const Beat& b : beats_) hcmd_.write(b);
    return tag;
  }

  // SET_TIME whenever the clock's second changed since the last batch; its tag, or 0.
  uint32_t sync_clock() {
    const uint32_t now = clock_();
    const std::optional<Command> c = clock_sync_.due(now);
    if (!c) return 0;
    clock_sync_.ran(now);
    return submit(*c);
  }

  // Runs the card until it is idle, or for at most kStepsPerDrive rounds (background
  // work - a catch-up walk of a million slots - must not hold the lock for long: host
  // commands go first inside the card, and between drives other callers get the lock),
  // and files its responses. Caller holds mu_.
  bool drive(uint64_t now) {
    typename Card::Ports io{hcmd_, hrsp_, fin_, fout_};
    bool any = false;
    for (unsigned n = 0; n < kStepsPerDrive && card_->step(now, io); ++n) any = true;
    bool answered = false;
    while (!hrsp_.empty()) {
      Response r = codec::read_response(hrsp_);
      if (r.tag == direct_tag_ && direct_tag_ != 0) {
        *direct_out_ = std::move(r);
        direct_got_ = true;
        continue;
      }
      if (!abandoned_.empty() && abandoned_.erase(r.tag)) continue;
      if (auto a = async_.find(r.tag); a != async_.end()) {
        r.tag = a->second.cmd.tag;
        completions_->post(std::move(a->second.done), std::move(r));
        async_.erase(a);
        continue;
      }
      done_[r.tag] = std::move(r);
      answered = true;
    }
    if (answered) cv_.notify_all();
    return any;
  }

  // Waits (driving the card with the clock, so its deadlines fire even without a pump)
  // until `tag` is answered. False past `give_up`: the tag is abandoned.
  bool wait_answer(std::unique_lock<std::mutex>& lock, uint32_t tag, uint64_t give_up, Response& r) {
    for (;;) {
      auto it = done_.find(tag);
      if (it != done_.end()) {
        r = std::move(it->second);
        done_.erase(it);
        return true;
      }
      const uint64_t now = host_time_us();
      if (now >= give_up) {
        abandoned_.insert(tag);
        return false;
      }
      wake_pump_if_needed();
      cv_.wait_for(lock, std::chrono::microseconds(200));
      drive(host_time_us());
    }
  }

  // The frames a host command just made leave from this thread (on_frames_out), outside
  // the lock: no wake-up of the pump on the transfer path. Caller holds mu_ via `lock`.
  void send_frames_here(std::unique_lock<std::mutex>& lock) {
    if (!send_ || fout_.empty()) return;
    const std::function<void()> send = send_;
    ++senders_;
    lock.unlock();
    send();
    lock.lock();
    if (--senders_ == 0) cv_.notify_all();
  }

  // After a host command ran the card: the pump sends the frames it made, and wakes by
  // the deadline if the command armed a timer earlier than the one the pump sleeps on.
  //
  // Only frames the pump does not know of call for it: the frames on frame_out that its
  // own service() made, or that an earlier wake announced, it takes anyway. A handshake's
  // card GET right after a pull's completion (run by the pump's service()) finds the
  // card's ack of the PULL_RESP there, the pump not having taken it yet: waking the pump
  // for it cost a pump pass ahead of the handshake's next flight (docs/backplane.md).
  void wake_pump_if_needed() {
    if (!wake_) return;
    const uint64_t d = earliest_deadline();
    const bool new_frames = fout_.size() > fout_known_;
    if (!new_frames && d >= told_deadline_ && !completions_->has_ready()) return;
    told_deadline_ = d;
    // Only a timer moved earlier (the frames a waiting caller made left from its thread):
    // the pump wakes when it is due, not now.
    if (wake_at_ && !new_frames && !completions_->has_ready()) return wake_at_(d);
    fout_known_ = fout_.size();
    wake_();
  }

  // The card's next timer or the earliest session wait's deadline. Caller holds mu_.
  uint64_t earliest_deadline() const {
    const uint64_t d = card_->next_deadline();
    const std::optional<uint64_t> w = completions_->earliest_deadline();
    return w ? std::min(d, *w) : d;
  }

  // One non-consuming EXPORT per waiter, run as one batch. Caller holds mu_.
  void look_up_waiters() {
    recheck_ = false;
    applied_seen_ = card_->bp_counter(wire::BP_STATS_APPLIED);
    if (!completions_->has_waiters()) return;
    looking_.clear();
    completions_->waiting(looking_);
    if (looking_.empty()) return;
    look_tags_.clear();
    Command c;
    c.op = wire::Opcode::EXPORT;
    for (const CompletionQueue::Waiting& w : looking_) {
      c.key = w.key;
      look_tags_.push_back(submit(c));
    }
    drive(host_time_us());
    for (std::size_t i = 0; i < looking_.size(); ++i) {
      auto it = done_.find(look_tags_[i]);
      if (it == done_.end()) {  // unanswered in this drive (cannot happen: EXPORT is local)
        abandoned_.insert(look_tags_[i]);
        continue;
      }
      Response r = std::move(it->second);
      done_.erase(it);
      if (r.ok()) completions_->complete(looking_[i].id, std::move(r));
    }
  }

  // The never-hang guard for asynchronous commands (the card answers by its deadline).
  // Caller holds mu_.
  void expire_async(uint64_t now) {
    for (auto it = async_.begin(); it != async_.end();) {
      if (it->second.give_up > now) {
        ++it;
        continue;
      }
      abandoned_.insert(it->first);
      completions_->post(std::move(it->second.done), codec::local_response(it->second.cmd, wire::Status::FAILED));
      it = async_.erase(it);
    }
  }

  struct AsyncCommand {
    Command cmd;
    uint64_t give_up;
    Completion done;
  };

  mutable std::mutex mu_;
  std::atomic<uint8_t> card_id_{0};  // card_->registers().card, readable without mu_
  std::condition_variable cv_;
  std::unique_ptr<Card> card_;
  hls::stream<Beat> hcmd_, hrsp_, fin_, fout_;
  // Beats at the head of fout_ the pump will take without another wake: made by its
  // service(), or announced by a wake already (wake_pump_if_needed). Guarded by mu_.
  std::size_t fout_known_ = 0;
  std::vector<Beat> beats_;
  std::unordered_map<uint32_t, Response> done_;
  std::unordered_set<uint32_t> abandoned_;
  uint32_t tag_ = 0;
  std::function<uint32_t()> clock_;
  unsigned sweep_steps_;
  CardClockSync clock_sync_;
  std::function<void()> wake_;
  std::function<void(uint64_t)> wake_at_;  // on_wake_at
  std::function<void()> send_;  // on_frames_out
  unsigned senders_ = 0;        // callers inside a copy of send_
  std::function<void(bool)> direct_claim_;  // on_direct
  std::function<bool()> direct_poll_;
  unsigned direct_users_ = 0;  // DirectWaits alive (they hold copies of the two)
  uint64_t told_deadline_ = 0;  // the pump's last next_deadline_us() answer (0: it polls)
  std::shared_ptr<CompletionQueue> completions_ = std::make_shared<CompletionQueue>();
  std::unordered_map<uint32_t, AsyncCommand> async_;  // tag -> asynchronous command in flight
  // execute_one()'s answer slot, filled by drive(). Guarded by mu_; set only while that
  // caller holds it.
  uint32_t direct_tag_ = 0;
  Response* direct_out_ = nullptr;
  bool direct_got_ = false;
  bool recheck_ = false;       // a waiter came, or a host PUT ran, since the waiters were looked up
  uint64_t applied_seen_ = 0;  // bp_stats.applied at the last look-up
  std::vector<CompletionQueue::Waiting> looking_;  // look_up_waiters() scratch
  std::vector<uint32_t> look_tags_;
};

}  // namespace

uint32_t wall_clock_seconds() { return static_cast<uint32_t>(std::time(nullptr)); }

uint64_t host_time_us() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

std::unique_ptr<Device> make_model_device(const DeviceConfig& config) {
  // Every 8-bit card id but the broadcast; 4096 frames in flight (as the old software node).
  switch (config.geometry) {
    case TableGeometry::full:
      return std::make_unique<ModelDevice<CardTop<18, 4, 255, 4096, kPending>>>(config);
    case TableGeometry::small:
      return std::make_unique<ModelDevice<CardTop<10, 4, 255, 4096, kPending>>>(config);
    case TableGeometry::tiny:
      return std::make_unique<ModelDevice<CardTop<2, 2, 255, 4096, kPending>>>(config);
  }
  throw std::invalid_argument("unknown table geometry");
}

}  // namespace sessnic
