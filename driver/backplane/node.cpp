#include "sessnic/backplane/node.hpp"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <cstring>

#include "sessnic/backplane/frame_auth.hpp"
#include "sessnic/log_limiter.hpp"
#include "sessnic/session_identity.hpp"

namespace sessnic::backplane {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kRecvBatch = 256;  // datagrams taken per wake-up
// Frames handed to the card between two service() calls: the card acks when its input
// runs dry, so a chunk's acks leave before the next chunk and the sender's window moves.
constexpr std::size_t kAckChunk = 48;
// Longest idle sleep when the card names its next deadline (see idle_wait()).
constexpr uint64_t kMaxIdleSleepUs = 1'000'000;

// Answers routed to a peer's direct port, not yet sent: a PULL's (source card, req) and
// the port it came from. Few are in flight; the oldest goes when full (its answer then
// goes to the node address, as any retransmission does).
constexpr std::size_t kMaxRoutes = 64;

// The node whose direct port this thread has claimed (claim_direct): the frames it sends
// leave from that port.
thread_local const void* tl_direct_claim = nullptr;

// Slot of a frame type in NodeStats::*_frames_by_type (0 = unknown type).
std::size_t type_slot(const Beat& header) {
  const uint64_t t = wire::get_field(header.data, wire::frame::ftype);
  return t < kFrameTypeSlots ? static_cast<std::size_t>(t) : 0;
}

wire::BpMode card_mode(Mode m) {
  switch (m) {
    case Mode::replicate: return wire::BpMode::REPLICATE;
    case Mode::transfer: return wire::BpMode::TRANSFER;
    case Mode::hub: return wire::BpMode::HUB;
  }
  return wire::BpMode::REPLICATE;
}

// The pump sleeps almost always and runs for microseconds when a frame comes, and every
// hop of a transfer is one pump wake-up: on a host whose cores are busy with TLS
// handshakes, a normal thread waits for a time slice (milliseconds) before it can
// forward a frame. Cluster messaging daemons (corosync, for one) run their network thread
// at a real-time priority for the same reason. SCHED_FIFO 1 is the lowest such priority;
// it needs CAP_SYS_NICE (or RLIMIT_RTPRIO); without it the pump runs as a normal thread.
void raise_pump_priority(uint8_t card) {
  sched_param sp{};
  sp.sched_priority = 1;
  const int e = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &sp);
  if (e != 0)
    spdlog::info("backplane card {}: the pump runs at normal priority (SCHED_FIFO refused: {}); transfers wait for "
                 "a time slice on a busy host (grant the process CAP_SYS_NICE)",
                 card, std::strerror(e));
}

}  // namespace

uint32_t epoch_from_clock() {
  using namespace std::chrono;
  const int64_t ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const int64_t units = (ms - 1735689600000LL) / 100;  // since 2025-01-01
  return units > 0 ? static_cast<uint32_t>(units) : 1u;
}

CardRegisters card_registers(const NodeConfig& cfg, uint32_t epoch) {
  CardRegisters r;
  r.card = cfg.card_id;
  r.mode = card_mode(cfg.mode);
  r.hub = cfg.hub_card;
  r.epoch = epoch;
  for (const PeerAddress& p : cfg.peers) r.members[p.card / 64] |= 1ull << (p.card % 64);
  r.passive = cfg.passive;
  r.rto = static_cast<uint64_t>(cfg.rto.count());
  r.max_retries = cfg.max_retries;
  r.hello_interval = static_cast<uint64_t>(cfg.hello_interval.count());
  r.deadline = static_cast<uint64_t>(cfg.transfer_deadline.count());
  r.pull_deadline = static_cast<uint64_t>(cfg.pull_deadline.count());
  return r;
}

// The pump's own counters: written by the pump thread, read by stats().
struct BackplaneNode::Counters {
  explicit Counters(const std::array<uint8_t, 32>& key) : auth(key), tx_auth(key), direct_auth(key) {}
  FrameAuth auth;  // pump thread only (decode)
  // Sending: the pump thread or a caller (send_from_caller), one at a time and in the
  // order the card made the frames (pump_out).
  std::mutex send_mu;
  FrameAuth tx_auth;  // guarded by send_mu
  std::vector<Beat> tx_frame;  // guarded by send_mu
  // A thread is inside transport_->send; datagrams made meanwhile wait in tx_queue for
  // it (pump_out). Both guarded by send_mu.
  bool sending = false;
  std::vector<Datagram> tx_queue;
  // Pure acks waiting (NodeConfig::ack_delay), at most one per peer: the newest, due when
  // the first of them was held. Guarded by send_mu; `acks_due` (0: none) is read by
  // idle_wait() on the pump thread, which alone holds acks.
  struct HeldAck {
    uint8_t dst;
    uint64_t due;
    std::vector<uint8_t> bytes;
  };
  std::vector<HeldAck> held_acks;
  std::atomic<uint64_t> acks_due{0};
  uint64_t acks_superseded = 0, acks_delayed_sent = 0;  // guarded by send_mu
  uint64_t caller_sends = 0;   // guarded by mu
  // Direct answers. A thread reading its answer off the direct port decodes with its own
  // FrameAuth (the pump's is the pump's); claims count the threads waiting on the port.
  std::mutex direct_mu;
  FrameAuth direct_auth;  // guarded by direct_mu
  std::mutex claim_mu;
  int claims = 0;  // guarded by claim_mu
  struct Route {
    uint8_t src;
    uint32_t req;
    uint64_t route;
  };
  std::vector<Route> routes;  // guarded by send_mu
  uint64_t rx_direct = 0, tx_routed = 0;  // guarded by mu
  LogLimiter bad_mac_log;
  mutable std::mutex mu;
  uint64_t rx_datagrams = 0, rx_truncated = 0, rx_too_long = 0, rx_bad_mac = 0, rx_bad_length = 0, rx_refused = 0;
  uint64_t tx_datagrams = 0, tx_bytes = 0;
  std::atomic<uint64_t> sleeps{0};
  // Host time a host command first put a frame out since the pump last sent (0: none);
  // set by the device's wake callback, taken by pump_out.
  std::atomic<uint64_t> frame_ready_at{0};
  LatencyHistogram turnaround, handoff;  // guarded by mu
  std::array<uint64_t, kFrameTypeSlots> tx_by_type{}, rx_by_type{};
};

BackplaneNode::BackplaneNode(const NodeConfig& cfg, Device& card, std::unique_ptr<Transport> transport)
    : cfg_(cfg), ports_(card.backplane_ports()), epoch_(cfg.epoch ? cfg.epoch : epoch_from_clock()),
      transport_(std::move(transport)), counters_(std::make_unique<Counters>(cfg.cluster_key)) {
  if (!ports_) throw std::invalid_argument("backplane: the " + card.kind() + " device has no backplane ports");
  if (!identity::valid_card(cfg_.card_id))
    throw std::invalid_argument("backplane: card id 255 is the broadcast address");
  if (!transport_) throw std::invalid_argument("backplane: no transport");
  if (cfg_.rto.count() <= 0) throw std::invalid_argument("backplane: rto must be positive");
  const std::size_t largest = wire::BEAT_BYTES * 2 + wire::SLOT_BYTES + FrameAuth::kTagBytes;
  if (cfg_.mtu < largest)
    throw std::invalid_argument("backplane: mtu " + std::to_string(cfg_.mtu) + " is below the largest frame (" +
                                std::to_string(largest) + " bytes)");
  bool hub_known = cfg_.mode != Mode::hub || cfg_.hub_card == cfg_.card_id;
  for (const PeerAddress& p : cfg_.peers) {
    if (!identity::valid_card(p.card) || p.card == cfg_.card_id)
      throw std::invalid_argument("backplane: bad peer card id " + std::to_string(p.card));
    hub_known = hub_known || p.card == cfg_.hub_card;
  }
  if (!hub_known) throw std::invalid_argument("backplane: mode hub but hub card is not in the peer list");
  if (card.card_id() != cfg_.card_id)
    throw std::invalid_argument("backplane: node card " + std::to_string(cfg_.card_id) + " on a device of card " +
                                std::to_string(card.card_id()));
  if (!ports_->write_registers(card_registers(cfg_, epoch_)))
    spdlog::warn("backplane card {}: the {} device takes no register writes; it runs with its own settings",
                 cfg_.card_id, card.kind());
  if (cfg_.send_from_caller) ports_->on_frames_out([this] {
    std::vector<Datagram> out;
    if (pump_out(out, true) != 0) {
      std::lock_guard lock(counters_->mu);
      ++counters_->caller_sends;
    }
  });
  // Direct answers need the waiting thread's frames to leave from that thread.
  if (cfg_.send_from_caller && transport_->has_direct())
    ports_->on_direct([this](bool on) { claim_direct(on); }, [this] { return poll_direct(); });
  ports_->on_wake_at([t = transport_.get()](uint64_t host_us) { t->wake_at(host_us); });
  ports_->on_frame_ready([t = transport_.get(), c = counters_.get()] {
    uint64_t none = 0;
    c->frame_ready_at.compare_exchange_strong(none, host_time_us(), std::memory_order_relaxed);
    t->wake();
  });
}

BackplaneNode::~BackplaneNode() {
  stop();
  ports_->on_frames_out(nullptr);  // waits for a caller inside pump_out
  ports_->on_direct(nullptr, nullptr);  // waits for direct waits in progress
  ports_->on_frame_ready(nullptr);
  ports_->on_wake_at(nullptr);
}

void BackplaneNode::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void BackplaneNode::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  transport_->wake();
  thread_.join();
}

void BackplaneNode::run() {
  if (cfg_.pump_realtime) raise_pump_priority(cfg_.card_id);
  std::vector<std::vector<uint8_t>> inbound;
  std::vector<Datagram> outbound;
  std::vector<Beat> beats;
  Counters& c = *counters_;
  bool busy = true;
  std::size_t last_sent = 0;  // datagrams the last pump_out handed off
  while (!stop_.load(std::memory_order_acquire)) {
    inbound.clear();
    if (!busy) {
      c.sleeps.fetch_add(1, std::memory_order_relaxed);
      transport_->forget_wake_at();  // before idle_wait() asks the card: its answer has them
    }
    transport_->receive(inbound, kRecvBatch, busy ? std::chrono::microseconds(0) : idle_wait());
    const uint64_t got_at = inbound.empty() ? 0 : host_time_us();
    std::size_t answered = 0;  // frames sent in reply to `inbound`
    for (std::size_t first = 0; first < inbound.size(); first += kAckChunk) {
      const std::size_t end = std::min(inbound.size(), first + kAckChunk);
      for (std::size_t i = first; i < end; ++i) {
        beats.clear();
        (void)deliver(inbound[i], c.auth, beats, i);
      }
      ports_->service(host_time_us());
      last_sent = pump_out(outbound);
      answered += last_sent;
    }
    const bool worked = ports_->service(host_time_us());
    const std::size_t sent = last_sent;
    last_sent = pump_out(outbound);
    answered += last_sent;
    if (answered != 0 && got_at != 0) {
      std::lock_guard lock(c.mu);
      c.turnaround.add_us(static_cast<double>(host_time_us() - got_at));
    }
    busy = !inbound.empty() || worked || sent != 0;
  }
}

// One received datagram: MAC check, counters, to the card. True when the card took an
// authentic frame (`beats` holds it). `auth`: the calling thread's. `index`: its place in
// the pump's last receive() (for an answer's route), or kNotReceived.
bool BackplaneNode::deliver(const std::vector<uint8_t>& d, FrameAuth& auth, std::vector<Beat>& beats,
                            std::size_t index) {
  Counters& c = *counters_;
  const DecodeError e = auth.decode(d, cfg_.mtu, beats);
  // The route is known before the card can answer the PULL (any thread's service() may).
  if (e == DecodeError::none && index != kNotReceived &&
      wire::get_field(beats.front().data, wire::frame::ftype) == static_cast<uint64_t>(wire::FrameType::PULL))
    learn_route(beats.front(), transport_->reply_route(index, static_cast<uint8_t>(wire::get_field(
                                                                  beats.front().data, wire::frame::src))));
  std::lock_guard lock(c.mu);
  ++c.rx_datagrams;
  switch (e) {
    case DecodeError::none:
      if (ports_->give_frame(beats)) {
        ++c.rx_by_type[type_slot(beats.front())];
        return true;
      }
      ++c.rx_refused;
      break;
    case DecodeError::truncated: ++c.rx_truncated; break;
    case DecodeError::too_long: ++c.rx_too_long; break;
    case DecodeError::bad_length: ++c.rx_bad_length; break;
    case DecodeError::bad_mac:
      ++c.rx_bad_mac;
      if (const auto held = c.bad_mac_log.admit()) {
        // The source byte is unauthenticated: a hint for the operator, nothing more.
        const unsigned claimed = d.size() > 2 ? d[2] : 255u;
        spdlog::warn(
            "backplane card {}: dropped a frame that failed authentication (claimed source card {}, {} bytes): "
            "a peer with another cluster key, or forged/corrupted traffic; {} more since the last report, {} in "
            "total",
            cfg_.card_id, claimed, d.size(), *held, c.rx_bad_mac);
      }
      break;
  }
  return false;
}

// An authentic PULL that came from its sender's direct port: the card's PULL_RESP to it
// goes back there (pump_out), once.
void BackplaneNode::learn_route(const Beat& pull, uint64_t route) {
  if (route == 0) return;
  Counters& c = *counters_;
  std::lock_guard lock(c.send_mu);
  if (c.routes.size() >= kMaxRoutes) c.routes.erase(c.routes.begin());
  c.routes.push_back({static_cast<uint8_t>(wire::get_field(pull.data, wire::frame::src)),
                      static_cast<uint32_t>(wire::get_field(pull.data, wire::frame::req)), route});
}

void BackplaneNode::claim_direct(bool on) {
  Counters& c = *counters_;
  std::lock_guard lock(c.claim_mu);
  if (on) {
    // The pump stops watching the port: an answer there wakes nobody but the waiter's look.
    if (c.claims++ == 0) transport_->watch_direct(false);
    tl_direct_claim = this;
  } else {
    // Watched again: an answer that came after the waiter stopped looking wakes the pump
    // (at once, if it is there already), which delivers it as any other frame.
    if (--c.claims == 0) transport_->watch_direct(true);
    tl_direct_claim = nullptr;
  }
}

// The waiting thread's look at the direct port: the pump's receive path on this thread.
bool BackplaneNode::poll_direct() {
  Counters& c = *counters_;
  static thread_local std::vector<std::vector<uint8_t>> in;
  static thread_local std::vector<Beat> beats;
  in.clear();
  transport_->receive_direct(in, kAckChunk);
  if (in.empty()) return false;
  {
    std::lock_guard lock(c.direct_mu);
    for (const std::vector<uint8_t>& d : in) {
      beats.clear();
      (void)deliver(d, c.direct_auth, beats, kNotReceived);
    }
  }
  {
    std::lock_guard lock(c.mu);
    c.rx_direct += in.size();
  }
  // The card applies the frame and runs the completions (the waiter's among them) here.
  ports_->service(host_time_us());
  // Its frames out (the card's ack of the answer) as the pump would: a pure ack is held
  // (ack_delay), and the pump is asked to wake when it is due.
  std::vector<Datagram> out;
  pump_out(out, true, true);
  if (const uint64_t due = c.acks_due.load(std::memory_order_relaxed); due != 0) transport_->wake_at(due);
  return true;
}

// Idle: how long the transport may sleep (a datagram or a wake() from the device ends it
// early). Until the card's next timer when the device tells it; else a poll, so the
// card's timers (retransmit, HELLO, request deadlines) run even when nothing arrives.
std::chrono::microseconds BackplaneNode::idle_wait() const {
  std::optional<uint64_t> due = ports_->next_deadline_us();
  const auto poll = std::chrono::microseconds(std::clamp<int64_t>(cfg_.rto.count() / 2, 100, 1000));
  if (const uint64_t acks = counters_->acks_due.load(std::memory_order_relaxed); acks != 0)
    due = std::min(due.value_or(acks), acks);
  if (!due) return poll;
  const uint64_t now = host_time_us();
  // Due already, yet service() found nothing to do (e.g. work that waits for a peer's
  // acks): poll rather than spin.
  if (*due <= now) return poll;
  // The card always has a HELLO timer; the cap only bounds a sleep should a device
  // fail to wake the pump.
  return std::chrono::microseconds(std::min<uint64_t>(*due - now, kMaxIdleSleepUs));
}

// Caller holds send_mu. The pump thread holds acks (`may_hold`): it computes its next
// wake-up from them (idle_wait). A caller holds them only where it arms the pump's timer
// for them (poll_direct); any other caller's frame sends at once.
bool BackplaneNode::hold_ack(const std::vector<Beat>& frame, uint8_t dst, uint64_t now, bool may_hold) {
  Counters& c = *counters_;
  auto held = std::find_if(c.held_acks.begin(), c.held_acks.end(), [&](const auto& h) { return h.dst == dst; });
  const Beat& h = frame.front();
  const bool pure_ack = frame.size() == 1 &&
                        wire::get_field(h.data, wire::frame::ftype) == static_cast<uint64_t>(wire::FrameType::ACK) &&
                        wire::get_field(h.data, wire::frame::req) == 0 && wire::get_field(h.data, wire::frame::status) == 0;
  if (!pure_ack || !may_hold) {
    // This frame carries the ack state of the one held (it was stamped later), unless it
    // is a broadcast HELLO (no ack fields).
    if (held != c.held_acks.end() && dst != static_cast<uint8_t>(wire::BpConst::BROADCAST)) {
      ++c.acks_superseded;
      c.held_acks.erase(held);
    }
    return false;
  }
  if (held == c.held_acks.end()) {
    c.held_acks.push_back({dst, now + static_cast<uint64_t>(cfg_.ack_delay.count()), {}});
    held = c.held_acks.end() - 1;
  } else {
    ++c.acks_superseded;  // the newer ack says everything the older one did
  }
  held->bytes.clear();  // encode() appends
  c.tx_auth.encode(frame, held->bytes);
  return true;
}

// Caller holds send_mu: the held acks whose delay ran out join `outbound`.
void BackplaneNode::release_acks(std::vector<Datagram>& outbound, uint64_t now) {
  Counters& c = *counters_;
  uint64_t due = 0;
  for (auto it = c.held_acks.begin(); it != c.held_acks.end();) {
    if (it->due > now) {
      due = due == 0 ? it->due : std::min(due, it->due);
      ++it;
      continue;
    }
    outbound.push_back(Datagram{it->dst, std::move(it->bytes)});
    ++c.acks_delayed_sent;
    it = c.held_acks.erase(it);
  }
  c.acks_due.store(due, std::memory_order_relaxed);
}

// Every frame the card has on frame_out, MAC'd, to the transport (pure acks may wait:
// NodeConfig::ack_delay); how many datagrams this call handed off.
//
// send_mu covers taking and encoding the frames, not the send itself: a caller's
// sendmmsg (a PULL) wakes the peer, whose answer wakes this node's pump while the
// caller may still be inside the syscall (preempted by the pumps it woke). Were the
// send under the lock, the pump would block on it: two context switches on the
// client's path. Instead one thread at a time sends (`sending`), and a thread that
// finds another sending queues its datagrams for it (`tx_queue`): the sender sends
// them right after its own, so datagrams leave in the order the card made them, and
// the ack/sack state stamped in a later frame is never overtaken by an earlier one.
std::size_t BackplaneNode::pump_out(std::vector<Datagram>& outbound, bool from_caller, bool hold_acks) {
  Counters& c = *counters_;
  std::unique_lock send_lock(c.send_mu);
  outbound.clear();
  std::vector<Beat>& frame = c.tx_frame;
  std::array<uint64_t, kFrameTypeSlots> by_type{};
  const bool may_hold = (!from_caller || hold_acks) && cfg_.ack_delay.count() > 0;
  const bool direct = from_caller && tl_direct_claim == this;
  const uint64_t now = host_time_us();
  uint64_t routed = 0;
  while (ports_->take_frame(frame)) {
    Datagram d;
    d.dst = static_cast<uint8_t>(wire::get_field(frame[0].data, wire::frame::dst));
    d.direct = direct;
    if ((may_hold || !c.held_acks.empty()) && hold_ack(frame, d.dst, now, may_hold)) continue;
    if (!c.routes.empty() && wire::get_field(frame[0].data, wire::frame::ftype) ==
                                 static_cast<uint64_t>(wire::FrameType::PULL_RESP)) {
      const auto req = static_cast<uint32_t>(wire::get_field(frame[0].data, wire::frame::req));
      const auto r = std::find_if(c.routes.begin(), c.routes.end(),
                                  [&](const Counters::Route& x) { return x.src == d.dst && x.req == req; });
      if (r != c.routes.end()) {  // first transmission only: a retransmission goes to the node address
        d.route = r->route;
        c.routes.erase(r);
        ++routed;
      }
    }
    ++by_type[type_slot(frame.front())];
    c.tx_auth.encode(frame, d.bytes);
    outbound.push_back(std::move(d));
  }
  // A claim routes this thread's frames up to its PULL, the command it was taken for. The
  // thread may then serve other connections before the claim ends (an early pull waits for
  // its hello), or the claim may end on another thread of a shared io loop: later frames go
  // as usual, so no other answer is sent to a port only this claim's waiter reads.
  if (direct && by_type[static_cast<std::size_t>(wire::FrameType::PULL)] != 0) tl_direct_claim = nullptr;
  if (!c.held_acks.empty() || c.acks_due.load(std::memory_order_relaxed) != 0) {
    const std::size_t before = outbound.size();
    release_acks(outbound, now);
    by_type[static_cast<std::size_t>(wire::FrameType::ACK)] += outbound.size() - before;
  }
  if (outbound.empty()) {
    // The wake was for a timer, not a frame (or a caller sent it): nothing was handed off.
    if (!from_caller) c.frame_ready_at.store(0, std::memory_order_relaxed);
    return 0;
  }
  const std::size_t n = outbound.size();
  {
    std::lock_guard lock(c.mu);
    for (std::size_t t = 0; t < kFrameTypeSlots; ++t) c.tx_by_type[t] += by_type[t];
    c.tx_datagrams += n;
    c.tx_routed += routed;
    for (const Datagram& d : outbound) c.tx_bytes += d.bytes.size();
  }
  const uint64_t ready = from_caller ? 0 : c.frame_ready_at.exchange(0, std::memory_order_relaxed);
  if (c.sending) {  // the thread inside transport_->send sends these next
    std::move(outbound.begin(), outbound.end(), std::back_inserter(c.tx_queue));
  } else {
    c.sending = true;
    for (;;) {
      send_lock.unlock();
      transport_->send(outbound);
      send_lock.lock();
      if (c.tx_queue.empty()) break;
      outbound.swap(c.tx_queue);
      c.tx_queue.clear();
    }
    c.sending = false;
  }
  send_lock.unlock();
  if (ready != 0) {
    std::lock_guard lock(c.mu);
    c.handoff.add_us(static_cast<double>(host_time_us() - ready));
  }
  return n;
}

bool BackplaneNode::peer_up(uint8_t card) const {
  CardStatus s;
  return ports_->read_status(s) && s.peer_up[card];
}

bool BackplaneNode::wait_for_peers(std::chrono::milliseconds deadline) const {
  const auto until = Clock::now() + deadline;
  for (;;) {
    CardStatus s;
    bool all = ports_->read_status(s);
    for (const PeerAddress& p : cfg_.peers) all = all && s.peer_up[p.card];
    if (all) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::size_t NodeStats::peers_up() const {
  return static_cast<std::size_t>(std::count_if(peers.begin(), peers.end(), [](const PeerState& p) { return p.up; }));
}

NodeStats BackplaneNode::stats() const {
  NodeStats s;
  s.card_id = cfg_.card_id;
  s.mode = cfg_.mode;
  CardStatus cs;
  (void)ports_->read_status(cs);
  for (const PeerAddress& p : cfg_.peers) s.peers.push_back(PeerState{p.card, cs.peer_up[p.card]});
  s.kernel = cs.bp_stats;
  s.catchup_pushed = cs.bp_stats[wire::BP_STATS_CATCHUP_PUSHED];
  {
    const Counters& c = *counters_;
    std::lock_guard lock(c.mu);
    s.tx_frames_by_type = c.tx_by_type;
    s.rx_frames_by_type = c.rx_by_type;
    s.rx_datagrams = c.rx_datagrams;
    s.rx_truncated = c.rx_truncated;
    s.rx_too_long = c.rx_too_long;
    s.rx_bad_mac = c.rx_bad_mac;
    s.rx_bad_length = c.rx_bad_length;
    s.rx_refused = c.rx_refused;
    s.tx_datagrams = c.tx_datagrams;
    s.tx_bytes = c.tx_bytes;
    s.turnaround = c.turnaround;
    s.handoff = c.handoff;
    s.caller_sends = c.caller_sends;
    s.rx_direct = c.rx_direct;
    s.tx_routed = c.tx_routed;
  }
  {
    Counters& c = *counters_;
    std::lock_guard lock(c.send_mu);
    s.acks_superseded = c.acks_superseded;
    s.acks_delayed_sent = c.acks_delayed_sent;
  }
  s.socket_wait = transport_->socket_wait();
  s.tx_errors = transport_->send_errors();
  s.pump_sleeps = counters_->sleeps.load(std::memory_order_relaxed);
  return s;
}

}  // namespace sessnic::backplane
