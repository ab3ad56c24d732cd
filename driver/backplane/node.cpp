#include "sessnic/backplane/node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

#include "backplane_sync.hpp"
#include "key_index.hpp"
#include "sessnic/backplane/frame_auth.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/log_limiter.hpp"

namespace sessnic::backplane {
namespace {

// Blob bytes are copied as beat words: byte 0 = bits 7:0 of word 0 (spec/wire.toml).
static_assert(std::endian::native == std::endian::little, "little-endian hosts only");
using Clock = std::chrono::steady_clock;
constexpr uint8_t kNoCard = static_cast<uint8_t>(wire::BpConst::BROADCAST);
constexpr std::size_t kRecvBatch = 256;       // datagrams taken per wake-up
constexpr std::size_t kCmdBeatsInFlight = 512;
constexpr std::size_t kAckChunk = 48;  // inbound datagrams applied between ack flushes

// Slot of a frame type in NodeStats::*_frames_by_type (0 = unknown type).
std::size_t type_slot(const Beat& header) {
  const uint64_t t = wire::get_field(header.data, wire::frame::ftype);
  return t < kFrameTypeSlots ? static_cast<std::size_t>(t) : 0;
}

// A host command for the kernel (layout `header`, aux split as `sync_cmd`).
std::vector<Beat> sync_command(wire::Opcode op, uint32_t tag, const SessionKey& key, uint64_t version,
                               uint32_t expiry, uint8_t flags, uint8_t dest, uint8_t owner,
                               std::span<const uint8_t> blob) {
  Command c;
  c.op = op;
  c.tag = tag;
  c.key = key;
  c.version = version;
  c.expiry = expiry;
  c.flags = flags;
  c.aux = static_cast<uint64_t>(dest) | (static_cast<uint64_t>(owner) << 8);
  c.blob.assign(blob.begin(), blob.end());
  std::vector<Beat> beats;
  codec::encode(c, beats);
  return beats;
}

SessionKey key_of(const Beat& h) {
  SessionKey k;
  k.len = static_cast<uint8_t>(std::min<uint64_t>(wire::get_field(h.data, wire::header::key_len), wire::KEY_MAX_BYTES));
  k.ctx = static_cast<uint8_t>(wire::get_field(h.data, wire::header::ctx));
  for (unsigned i = 0; i < k.len; ++i) k.id[i] = static_cast<uint8_t>(h.data[1 + i / 8] >> (8 * (i % 8)));
  return k;
}

// The kernel's table commands (header beat + blob beats) as a driver Command. The codec
// goes the other way only; this is the one place that parses a command beat.
Command command_of(const std::vector<Beat>& beats) {
  const Beat& h = beats.front();
  Command c;
  c.op = static_cast<wire::Opcode>(wire::get_field(h.data, wire::header::op));
  c.tag = static_cast<uint32_t>(wire::get_field(h.data, wire::header::tag));
  c.key = key_of(h);
  c.version = wire::get_field(h.data, wire::header::version);
  c.expiry = static_cast<uint32_t>(wire::get_field(h.data, wire::header::expiry));
  c.flags = static_cast<uint8_t>(wire::get_field(h.data, wire::header::flags));
  const std::size_t len = wire::get_field(h.data, wire::header::blob_len);
  c.blob.resize(len);
  for (std::size_t off = 0, b = 1; off < len && b < beats.size(); off += wire::BEAT_BYTES, ++b)
    std::memcpy(c.blob.data() + off, beats[b].data, std::min<std::size_t>(wire::BEAT_BYTES, len - off));
  return c;
}

// A table response as beats for the kernel's tbl_rsp stream.
void write_response(const Response& r, hls::stream<Beat>& out) {
  Beat h;
  clear_beat(h);
  wire::set_field(h.data, wire::header::op, static_cast<uint64_t>(r.op));
  wire::set_field(h.data, wire::header::status, static_cast<uint64_t>(r.status));
  wire::set_field(h.data, wire::header::key_len, r.key.len);
  wire::set_field(h.data, wire::header::flags, r.flags);
  wire::set_field(h.data, wire::header::tag, r.tag);
  for (unsigned i = 0; i < r.key.len; ++i) h.data[1 + i / 8] |= static_cast<uint64_t>(r.key.id[i]) << (8 * (i % 8));
  wire::set_field(h.data, wire::header::version, r.version);
  wire::set_field(h.data, wire::header::expiry, r.expiry);
  wire::set_field(h.data, wire::header::ctx, r.key.ctx);
  wire::set_field(h.data, wire::header::blob_len, r.blob.size());
  wire::set_field(h.data, wire::header::aux, r.card);
  const unsigned nb = beats_for(static_cast<unsigned>(r.blob.size()));
  h.last = nb == 0;
  out.write(h);
  for (unsigned b = 0; b < nb; ++b) {
    Beat d;
    clear_beat(d);
    const std::size_t off = std::size_t{b} * wire::BEAT_BYTES;
    std::memcpy(d.data, r.blob.data() + off, std::min<std::size_t>(wire::BEAT_BYTES, r.blob.size() - off));
    d.last = b + 1 == nb;
    out.write(d);
  }
}

Response local_result(wire::Opcode op, const SessionKey& key, uint8_t card, wire::Status st) {
  Response r;
  r.op = op;
  r.key = key;
  r.card = card;
  r.status = st;
  return r;
}

}  // namespace

uint32_t epoch_from_clock() {
  using namespace std::chrono;
  const int64_t ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const int64_t units = (ms - 1735689600000LL) / 100;  // since 2025-01-01
  return units > 0 ? static_cast<uint32_t>(units) : 1u;
}

struct BackplaneNode::Impl {
  struct CatchUp {
    uint8_t dest;
    std::vector<IndexEntry> entries;
    std::size_t next = 0;
  };

  Impl(BackplaneNode& owner, std::unique_ptr<Transport> t)
      : node(owner), transport(std::move(t)), auth(owner.cfg_.cluster_key), kernel(std::make_unique<ModelBackplane>()),
        start(Clock::now()) {}

  uint64_t ticks() const {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
  }

  void remember(const SessionKey& key, uint64_t version, uint32_t expiry, bool tomb) {
    if (version == 0) return;
    std::lock_guard lock(index_mu);
    index.remember(key, version, expiry, tomb);
  }

  // Wakes the node thread only when the queue was empty: otherwise it is awake or has
  // a wake-up pending already (one syscall per burst, not per session).
  bool enqueue_event(std::vector<Beat> beats) {
    bool was_empty;
    {
      std::lock_guard lock(queue_mu);
      if (events.size() >= node.cfg_.max_queued_events) {
        ++events_dropped;
        return false;
      }
      was_empty = events.empty();
      events.push_back(std::move(beats));
    }
    if (was_empty) transport->wake();
    return true;
  }

  // A tag no blocking or asynchronous waiter holds (0 is never used). Caller holds result_mu.
  uint32_t unused_tag() {
    uint32_t tag;
    do tag = ++next_tag;
    while (tag == 0 || results.count(tag) || async_waiters.count(tag));
    return tag;
  }

  uint32_t register_waiter() {
    std::lock_guard lock(result_mu);
    const uint32_t tag = unused_tag();
    results.emplace(tag, std::nullopt);
    return tag;
  }

  uint32_t register_async(Clock::time_point until, Response timeout_answer, std::function<void(Response)> done) {
    std::lock_guard lock(result_mu);
    const uint32_t tag = unused_tag();
    if (stopping) {
      ready.emplace_back(std::move(done), std::move(timeout_answer));
      return tag;
    }
    async_waiters.emplace(tag, AsyncWaiter{until, std::move(timeout_answer), std::move(done)});
    return tag;
  }

  // Completes async waiters whose answer arrived (queued in `ready`) or whose deadline
  // passed. Called with no node lock held, so a callback may call into the node again.
  void fire_ready() {
    std::vector<std::pair<std::function<void(Response)>, Response>> now_ready;
    {
      std::lock_guard lock(result_mu);
      const auto now = Clock::now();
      for (auto it = async_waiters.begin(); it != async_waiters.end();) {
        if (stopping || it->second.until <= now) {
          ready.emplace_back(std::move(it->second.done), std::move(it->second.timeout_answer));
          it = async_waiters.erase(it);
        } else {
          ++it;
        }
      }
      now_ready.swap(ready);
    }
    for (auto& [done, r] : now_ready) done(std::move(r));
  }

  Response wait_result(uint32_t tag, Response timeout_answer, std::chrono::microseconds deadline) {
    std::unique_lock lock(result_mu);
    result_cv.wait_for(lock, deadline, [&] {
      auto it = results.find(tag);
      return stopping || (it != results.end() && it->second.has_value());
    });
    auto it = results.find(tag);
    Response r = std::move(timeout_answer);
    if (it != results.end() && it->second) r = std::move(*it->second);
    results.erase(tag);
    return r;
  }

  // A request (TRANSFER, pull) is latency-bound: if the node thread is not inside the
  // kernel right now, the caller runs the kernel itself and sends the frame, saving one
  // thread hand-off; otherwise the node thread picks it up.
  void request(std::vector<Beat> beats) {
    {
      std::lock_guard lock(queue_mu);
      requests.push_back(std::move(beats));
    }
    std::unique_lock lock(kernel_mu, std::try_to_lock);
    if (!lock.owns_lock() || stop_flag.load(std::memory_order_acquire) || !thread.joinable()) {
      if (lock.owns_lock()) lock.unlock();
      transport->wake();
      return;
    }
    const uint64_t now = ticks();
    feed_commands();
    while (kernel->step(now, io)) serve_table();
    std::vector<Datagram> outbound;
    flush_output(outbound);
    lock.unlock();
    fire_ready();
  }

  // ---- node thread -----------------------------------------------------------------
  void run() {
    std::vector<std::vector<uint8_t>> inbound;
    std::vector<Datagram> outbound;
    std::vector<Beat> beats;
    bool busy = true;
    while (!stop_flag.load(std::memory_order_acquire)) {
      inbound.clear();
      std::chrono::microseconds timeout{0};
      if (!busy) {
        const uint64_t now = ticks();
        uint64_t next;
        {
          std::lock_guard lock(kernel_mu);
          next = kernel->next_deadline();
        }
        // Capped at the rto floor: a request run inline by a caller (see request()) may
        // have armed a retransmit timer after this thread computed its sleep.
        const uint64_t cap = static_cast<uint64_t>(std::max<int64_t>(node.cfg_.rto.count(), 1000));
        timeout = std::chrono::microseconds(next > now ? std::min<uint64_t>(next - now, cap) : 0);
      }
      transport->receive(inbound, kRecvBatch, timeout);
      std::unique_lock lock(kernel_mu);
      const uint64_t now = ticks();
      // Inbound in chunks: the kernel acks when its input runs dry, so a chunk's acks
      // leave before the next chunk is applied and the sender's window keeps moving.
      for (std::size_t first = 0; first < inbound.size(); first += kAckChunk) {
        const std::size_t end = std::min(inbound.size(), first + kAckChunk);
        for (std::size_t i = first; i < end; ++i) accept_datagram(inbound[i], beats);
        while (kernel->step(now, io)) serve_table();
        flush_output(outbound);
      }
      const bool more_input = feed_commands();
      while (kernel->step(now, io)) serve_table();
      kernel->service_timers(now, io);
      serve_table();
      flush_output(outbound);
      // Busy: more host input can go in right now (not held back by the kernel).
      busy = more_input && cmd_in.empty();
      lock.unlock();
      fire_ready();
    }
  }

  void accept_datagram(const std::vector<uint8_t>& d, std::vector<Beat>& beats) {
    ++rx_datagrams;
    beats.clear();
    switch (auth.decode(d, node.cfg_.mtu, beats)) {
      case DecodeError::none:
        ++rx_by_type[type_slot(beats.front())];
        for (const Beat& b : beats) frame_in.write(b);
        break;
      case DecodeError::truncated: ++rx_truncated; break;
      case DecodeError::too_long: ++rx_too_long; break;
      case DecodeError::bad_mac:
        ++rx_bad_mac;
        report_bad_mac(d);
        break;
      case DecodeError::bad_length: ++rx_bad_length; break;
    }
  }

  // A peer configured with another cluster key is cut off from the cluster: every frame
  // it sends fails here. Counted always; logged at most every 10 s (it comes in floods).
  void report_bad_mac(const std::vector<uint8_t>& d) {
    const auto held = bad_mac_log.admit();
    if (!held) return;
    // The source byte is unauthenticated: a hint for the operator, nothing more.
    const unsigned claimed = d.size() > 2 ? d[2] : 255u;
    spdlog::warn(
        "backplane card {}: dropped a frame that failed authentication (claimed source card {}, {} bytes): a peer "
        "with another cluster key, or forged/corrupted traffic; {} more since the last report, {} in total",
        node.cfg_.card_id, claimed, d.size(), *held, rx_bad_mac);
  }

  void flush_output(std::vector<Datagram>& outbound) {
    collect_output(outbound);
    if (outbound.empty()) return;
    transport->send(outbound);
    tx_datagrams += outbound.size();
    for (const Datagram& d : outbound) tx_bytes += d.bytes.size();
    outbound.clear();
  }

  // Moves queued host work into the kernel's input: requests first, then catch-up, then
  // events. Returns true while queued work remains.
  bool feed_commands() {
    std::lock_guard lock(queue_mu);
    while (cmd_in.size() < kCmdBeatsInFlight && !requests.empty()) {
      for (const Beat& b : requests.front()) cmd_in.write(b);
      requests.pop_front();
    }
    while (cmd_in.size() < kCmdBeatsInFlight && !catchups.empty()) {
      CatchUp& c = catchups.front();
      if (c.next == c.entries.size()) {
        catchups.pop_front();
        continue;
      }
      push_catchup(c.dest, c.entries[c.next++]);
    }
    while (cmd_in.size() < kCmdBeatsInFlight && !events.empty()) {
      for (const Beat& b : events.front()) cmd_in.write(b);
      events.pop_front();
    }
    return !requests.empty() || !catchups.empty() || !events.empty();
  }

  void push_catchup(uint8_t dest, const IndexEntry& e) {
    if (e.tomb) {
      for (const Beat& b : sync_command(wire::Opcode::DEL, 0, e.key, e.version, e.expiry, 0, dest, kNoCard, {}))
        cmd_in.write(b);
      ++catchup_pushed;
      return;
    }
    if (!node.local_) return;
    const Response r = node.local_->export_entry(e.key);
    if (r.status != wire::Status::OK) return;  // gone (expired, deleted since)
    for (const Beat& b : sync_command(wire::Opcode::PUT, 0, e.key, r.version, r.expiry, r.flags, dest, kNoCard, r.blob))
      cmd_in.write(b);
    ++catchup_pushed;
  }

  // One whole message (beats through TLAST) from a kernel output stream into `out`.
  // The kernel writes whole messages, so the beats are all there.
  static void read_message(hls::stream<Beat>& in, std::vector<Beat>& out) {
    out.clear();
    Beat b;
    do {
      b = in.read();
      out.push_back(b);
    } while (!b.last);
  }

  // Runs every complete table command of the kernel against the local device.
  void serve_table() {
    while (!tbl_cmd.empty()) {
      std::vector<Beat> beats;
      read_message(tbl_cmd, beats);
      const Command c = command_of(beats);
      Response r;
      if (!node.local_) {
        r = codec::local_response(c, c.op == wire::Opcode::EXPORT ? wire::Status::MISS : wire::Status::FAILED);
      } else {
        std::vector<Response> out;
        node.local_->execute(std::span<const Command>(&c, 1), out);
        r = out.empty() ? codec::local_response(c, wire::Status::FAILED) : std::move(out.front());
      }
      const bool wrote = r.status == wire::Status::OK || r.status == wire::Status::EVICTED ||
                         (c.op == wire::Opcode::DEL && r.status == wire::Status::MISS);
      if ((c.op == wire::Opcode::PUT || c.op == wire::Opcode::DEL) && wrote)
        remember(c.key, r.version, r.expiry, c.op == wire::Opcode::DEL);
      r.tag = c.tag;
      write_response(r, tbl_rsp);
    }
  }

  void collect_output(std::vector<Datagram>& outbound) {
    std::vector<Beat> frame;
    while (!frame_out.empty()) {
      read_message(frame_out, frame);
      Datagram d;
      d.dst = static_cast<uint8_t>(wire::get_field(frame[0].data, wire::frame::dst));
      ++tx_by_type[type_slot(frame[0])];
      auth.encode(frame, d.bytes);
      outbound.push_back(std::move(d));
    }
    while (!rsp_out.empty()) {
      const Beat h = rsp_out.read();  // results are single beats
      const auto op = static_cast<wire::Opcode>(wire::get_field(h.data, wire::header::op));
      const auto dest = static_cast<uint8_t>(wire::get_field(h.data, wire::sync_cmd::dest));
      if (op == wire::Opcode::NOP) {
        if (wire::get_field(h.data, wire::header::flags) == 0) peer_joined(dest);  // 1: it has no table
        continue;
      }
      Response r = local_result(op, key_of(h), dest,
                                static_cast<wire::Status>(wire::get_field(h.data, wire::header::status)));
      r.tag = static_cast<uint32_t>(wire::get_field(h.data, wire::header::tag));
      r.version = wire::get_field(h.data, wire::header::version);
      r.expiry = static_cast<uint32_t>(wire::get_field(h.data, wire::header::expiry));
      {
        std::lock_guard lock(result_mu);
        if (auto a = async_waiters.find(r.tag); a != async_waiters.end()) {
          ready.emplace_back(std::move(a->second.done), std::move(r));
          async_waiters.erase(a);
          continue;
        }
        auto it = results.find(r.tag);
        if (it == results.end()) continue;  // the caller gave up already
        it->second = std::move(r);
      }
      result_cv.notify_all();
    }
  }

  // A peer came up or restarted: push what it should hold (see docs/backplane.md).
  void peer_joined(uint8_t card) {
    spdlog::info("backplane card {}: peer card {} is up (joined or restarted)", node.cfg_.card_id, card);
    const Mode m = node.cfg_.mode;
    const bool push = m == Mode::replicate || (m == Mode::hub && card == node.cfg_.hub_card);
    if (!push) return;
    CatchUp c{card, {}, 0};
    {
      std::lock_guard lock(index_mu);
      c.entries = index.snapshot();
    }
    if (c.entries.empty()) return;
    std::lock_guard lock(queue_mu);
    catchups.push_back(std::move(c));
  }

  BackplaneNode& node;
  std::unique_ptr<Transport> transport;
  FrameAuth auth;
  std::unique_ptr<ModelBackplane> kernel;
  Clock::time_point start;
  std::thread thread;
  std::atomic<bool> stop_flag{false};

  // Kernel, streams and wire counters: only whoever holds kernel_mu (the node thread, or
  // a caller running a request inline) touches them; stats() reads under the lock too.
  mutable std::mutex kernel_mu;
  hls::stream<Beat> cmd_in, rsp_out, tbl_cmd, tbl_rsp, frame_in, frame_out;
  ModelBackplane::Io io{cmd_in, rsp_out, tbl_cmd, tbl_rsp, frame_in, frame_out};
  uint64_t rx_datagrams = 0, rx_truncated = 0, rx_too_long = 0, rx_bad_mac = 0, rx_bad_length = 0;
  uint64_t tx_datagrams = 0, tx_bytes = 0, catchup_pushed = 0;
  std::array<uint64_t, kFrameTypeSlots> tx_by_type{}, rx_by_type{};
  LogLimiter bad_mac_log;

  std::mutex queue_mu;
  std::deque<std::vector<Beat>> requests, events;
  std::deque<CatchUp> catchups;
  uint64_t events_dropped = 0;

  std::mutex result_mu;
  std::condition_variable result_cv;
  std::unordered_map<uint32_t, std::optional<Response>> results;
  struct AsyncWaiter {
    Clock::time_point until;
    Response timeout_answer;
    std::function<void(Response)> done;
  };
  std::unordered_map<uint32_t, AsyncWaiter> async_waiters;  // transfer_async callers
  std::vector<std::pair<std::function<void(Response)>, Response>> ready;  // answered, to be called
  uint32_t next_tag = 0;
  bool stopping = false;

  std::mutex index_mu;
  KeyIndex index;
};

BackplaneNode::BackplaneNode(const NodeConfig& cfg, Device* local, std::unique_ptr<Transport> transport)
    : cfg_(cfg), local_(local), epoch_(cfg.epoch ? cfg.epoch : epoch_from_clock()) {
  if (cfg_.card_id == kNoCard) throw std::invalid_argument("backplane: card id 255 is the broadcast address");
  if (!transport) throw std::invalid_argument("backplane: no transport");
  if (cfg_.rto.count() <= 0) throw std::invalid_argument("backplane: rto must be positive");
  const std::size_t largest = wire::BEAT_BYTES * 2 + wire::SLOT_BYTES + FrameAuth::kTagBytes;
  if (cfg_.mtu < largest)
    throw std::invalid_argument("backplane: mtu " + std::to_string(cfg_.mtu) + " is below the largest frame (" +
                                std::to_string(largest) + " bytes)");
  BackplaneConfig k;
  k.card = cfg_.card_id;
  k.epoch = epoch_;
  k.hub = cfg_.hub_card;
  k.mode = cfg_.mode == Mode::replicate ? wire::BpMode::REPLICATE
           : cfg_.mode == Mode::hub     ? wire::BpMode::HUB
                                        : wire::BpMode::TRANSFER;
  k.rto = static_cast<uint64_t>(cfg_.rto.count());
  k.max_retries = cfg_.max_retries;
  k.hello_interval = static_cast<uint64_t>(cfg_.hello_interval.count());
  k.passive = local_ == nullptr;
  bool hub_known = cfg_.mode != Mode::hub || cfg_.hub_card == cfg_.card_id;
  for (const PeerAddress& p : cfg_.peers) {
    if (p.card == kNoCard || p.card == cfg_.card_id)
      throw std::invalid_argument("backplane: bad peer card id " + std::to_string(p.card));
    k.peers[p.card / 64] |= 1ull << (p.card % 64);
    hub_known = hub_known || p.card == cfg_.hub_card;
  }
  if (!hub_known) throw std::invalid_argument("backplane: mode hub but hub card is not in the peer list");
  impl_ = std::make_unique<Impl>(*this, std::move(transport));
  impl_->kernel->configure(k);
}

BackplaneNode::~BackplaneNode() { stop(); }

void BackplaneNode::start() {
  if (impl_->thread.joinable()) return;
  impl_->stop_flag = false;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void BackplaneNode::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stop_flag = true;
  impl_->transport->wake();
  impl_->thread.join();
  {
    std::lock_guard lock(impl_->result_mu);
    impl_->stopping = true;
  }
  impl_->result_cv.notify_all();
  impl_->fire_ready();  // async waiters answer FAILED
}

bool BackplaneNode::publish_put(const SessionKey& key, uint64_t version, uint32_t expiry, uint8_t flags,
                                std::span<const uint8_t> blob) {
  if (blob.size() > wire::SLOT_BYTES || blob.empty() || version == 0 || key.len == 0) {
    std::lock_guard lock(impl_->queue_mu);
    ++impl_->events_dropped;
    return false;
  }
  impl_->remember(key, version, expiry, false);
  if (cfg_.mode == Mode::transfer) return true;  // nothing replicated; catch-up not needed
  return impl_->enqueue_event(sync_command(wire::Opcode::PUT, 0, key, version, expiry, flags, kNoCard, kNoCard, blob));
}

bool BackplaneNode::publish_del(const SessionKey& key, uint64_t version, uint32_t expiry) {
  if (version == 0 || key.len == 0) return false;
  impl_->remember(key, version, expiry, true);
  if (cfg_.mode == Mode::transfer) return true;
  return impl_->enqueue_event(sync_command(wire::Opcode::DEL, 0, key, version, expiry, 0, kNoCard, kNoCard, {}));
}

bool BackplaneNode::publish_del_to(uint8_t card, const SessionKey& key, uint64_t version, uint32_t expiry) {
  if (version == 0 || key.len == 0 || card == cfg_.card_id) return false;
  return impl_->enqueue_event(sync_command(wire::Opcode::DEL, 0, key, version, expiry, 0, card, kNoCard, {}));
}

Response BackplaneNode::transfer(const SessionKey& key, uint8_t owner, uint8_t dest,
                                 std::chrono::microseconds deadline) {
  const uint32_t tag = impl_->register_waiter();
  impl_->request(sync_command(wire::Opcode::TRANSFER, tag, key, 0, 0, 0, dest, owner, {}));
  return impl_->wait_result(tag, local_result(wire::Opcode::TRANSFER, key, dest, wire::Status::FAILED), deadline);
}

void BackplaneNode::transfer_async(const SessionKey& key, uint8_t owner, uint8_t dest,
                                   std::chrono::microseconds deadline, std::function<void(Response)> done) {
  const uint32_t tag = impl_->register_async(Clock::now() + deadline,
                                             local_result(wire::Opcode::TRANSFER, key, dest, wire::Status::FAILED),
                                             std::move(done));
  impl_->request(sync_command(wire::Opcode::TRANSFER, tag, key, 0, 0, 0, dest, owner, {}));
  impl_->fire_ready();  // answered inline (the owner is this card), or the node is stopped
}

Response BackplaneNode::pull(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline) {
  const uint32_t tag = impl_->register_waiter();
  impl_->request(sync_command(wire::Opcode::GET, tag, key, 0, 0, 0, kNoCard, from, {}));
  return impl_->wait_result(tag, local_result(wire::Opcode::GET, key, from, wire::Status::FAILED), deadline);
}

bool BackplaneNode::peer_up(uint8_t card) const {
  std::lock_guard lock(impl_->kernel_mu);
  return impl_->kernel->peer_up(card);
}

bool BackplaneNode::wait_for_peers(std::chrono::milliseconds deadline) const {
  const auto until = Clock::now() + deadline;
  for (;;) {
    bool all = true;
    for (const PeerAddress& p : cfg_.peers) all = all && peer_up(p.card);
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
  {
    std::lock_guard lock(impl_->kernel_mu);
    for (const PeerAddress& p : cfg_.peers) s.peers.push_back(PeerState{p.card, impl_->kernel->peer_up(p.card)});
    for (unsigned i = 0; i < wire::BP_STATS_COUNT; ++i) s.kernel[i] = impl_->kernel->counter(i);
    s.tx_frames_by_type = impl_->tx_by_type;
    s.rx_frames_by_type = impl_->rx_by_type;
    s.rx_datagrams = impl_->rx_datagrams;
    s.rx_truncated = impl_->rx_truncated;
    s.rx_too_long = impl_->rx_too_long;
    s.rx_bad_mac = impl_->rx_bad_mac;
    s.rx_bad_length = impl_->rx_bad_length;
    s.tx_datagrams = impl_->tx_datagrams;
    s.tx_bytes = impl_->tx_bytes;
    s.catchup_pushed = impl_->catchup_pushed;
  }
  s.tx_errors = impl_->transport->send_errors();
  std::lock_guard lock(impl_->queue_mu);
  s.events_dropped = impl_->events_dropped;
  return s;
}

}  // namespace sessnic::backplane
