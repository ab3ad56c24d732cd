// The one ring driver: see sessnic/ring/ring_driver.hpp for the contract it implements.
#include "sessnic/ring/ring_driver.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "sessnic/ring/ring_regs.hpp"

namespace sessnic::ring {

static_assert(std::endian::native == std::endian::little,
              "ring slots hold beats byte for byte; a big-endian host would need swapping");

// A batch in flight: which commands went to the card under which driver tags.
struct RingDriver::Batch {
  std::span<const Command> cmds;
  std::vector<std::size_t> to_send;  // indices into cmds, in ring order
  uint32_t base_tag = 0;             // to_send[j] is sent with tag base_tag + j
  std::size_t next = 0;              // to_send[next] is the next one to write
  std::size_t pending = 0;           // sent or unsent, not yet answered
  std::vector<Response> results;
  std::vector<bool> done;

  void answer(std::size_t i, Response r) {
    r.tag = cmds[i].tag;
    results[i] = std::move(r);
    done[i] = true;
    --pending;
  }
  // Answers FAILED to every command not answered yet (sent or not); returns how many.
  std::size_t fail_rest() {
    std::size_t n = 0;
    for (std::size_t i : to_send)
      if (!done[i]) {
        answer(i, codec::local_response(cmds[i], wire::Status::FAILED));
        ++n;
      }
    return n;
  }
};

RingDriver::RingDriver(RingBus& bus, RingConfig config) : bus_(bus), config_(config) {
  config_.layout.validate();
  if (bus_.memory().size() < config_.layout.bytes())
    throw std::invalid_argument("ring memory of " + std::to_string(bus_.memory().size()) + " bytes is smaller than the " +
                                std::to_string(config_.layout.bytes()) + " the rings need");
  if (bus_.memory().device_address() % kAlign != 0)
    throw std::invalid_argument("ring memory is not 4 KiB aligned in the card's address space");
  const uint32_t id = bus_.read_reg(reg::kId);
  char buf[16];
  if (id != reg::kIdMagic) {
    std::snprintf(buf, sizeof buf, "0x%08x", id);
    throw std::runtime_error(std::string("not a sessnic card: ID register reads ") + buf + " (expected 0x53455353)");
  }
  const uint32_t build = bus_.read_reg(reg::kBuildId);
  const uint32_t contract = static_cast<uint32_t>(wire::Ring::CONTRACT);
  if (build >> 16 != contract) {
    std::snprintf(buf, sizeof buf, "0x%08x", build);
    throw std::runtime_error(std::string("wrong xclbin: the kernel's BUILD_ID ") + buf + " implements ring contract " +
                             std::to_string(build >> 16) + ", this driver speaks " + std::to_string(contract));
  }
  if (config_.expected_build_id != 0 && build != config_.expected_build_id) {
    char want[16];
    std::snprintf(buf, sizeof buf, "0x%08x", build);
    std::snprintf(want, sizeof want, "0x%08x", config_.expected_build_id);
    throw std::runtime_error(std::string("wrong xclbin: the kernel's BUILD_ID is ") + buf + ", expected " + want);
  }
  if (!reset_ring()) throw std::runtime_error("the card's ring engine did not acknowledge a ring reset (timeout)");
}

RingDriver::~RingDriver() {
  // Stop the engine so it never touches memory that is about to be freed.
  try {
    bus_.write_reg(reg::kRingCtrl, 0);
  } catch (...) {  // a destructor must not throw; a dead bus has nothing left to stop
  }
}

RingDriver::Status RingDriver::read_status() {
  RingMemory& mem = bus_.memory();
  const std::size_t off = config_.layout.status_offset();
  mem.sync_from_device(off, kStatusBytes);
  uint64_t w[wire::BEAT_WORDS];
  std::memcpy(w, mem.data() + off, sizeof w);
  return Status{static_cast<uint32_t>(wire::get_field(w, wire::ring_status::cmd_head)),
                static_cast<uint32_t>(wire::get_field(w, wire::ring_status::rsp_tail)),
                static_cast<uint32_t>(wire::get_field(w, wire::ring_status::error)),
                static_cast<uint32_t>(wire::get_field(w, wire::ring_status::bad_descs)),
                static_cast<uint32_t>(wire::get_field(w, wire::ring_status::resets))};
}

bool RingDriver::reset_ring() {
  const RingLayout& l = config_.layout;
  RingMemory& mem = bus_.memory();
  const uint64_t base = mem.device_address();
  auto write64 = [&](uint32_t lo_reg, uint64_t addr) {
    bus_.write_reg(lo_reg, static_cast<uint32_t>(addr));
    bus_.write_reg(lo_reg + 4, static_cast<uint32_t>(addr >> 32));
  };
  bus_.write_reg(reg::kRingCtrl, 0);
  write64(reg::kCmdRingBaseLo, base + l.cmd_offset());
  bus_.write_reg(reg::kCmdRingSizeLog2, l.cmd_log2);
  write64(reg::kRspRingBaseLo, base + l.rsp_offset());
  bus_.write_reg(reg::kRspRingSizeLog2, l.rsp_log2);
  write64(reg::kStatusBaseLo, base + l.status_offset());
  // A zeroed status block: the engine's answer to the reset (resets >= 1) is then visible.
  std::memset(mem.data() + l.status_offset(), 0, kStatusBytes);
  mem.sync_to_device(l.status_offset(), kStatusBytes);
  bus_.write_reg(reg::kRingCtrl, reg::kRingCtrlReset);

  cmd_tail_ = cmd_head_ = rsp_head_ = 0;
  assembler_ = codec::ResponseAssembler{};
  rsp_beats_left_ = 0;
  const Clock::time_point deadline = Clock::now() + config_.reset_timeout;
  for (;;) {
    const Status st = read_status();
    if (st.resets != 0 && st.cmd_head == 0 && st.rsp_tail == 0) {
      resets_seen_ = st.resets;
      break;
    }
    if (Clock::now() >= deadline) return false;
    bus_.wait(deadline);
  }
  bus_.write_reg(reg::kRingCtrl, reg::kRingCtrlEnable);
  return true;
}

bool RingDriver::recover() {
  ++counters_.recoveries;
  needs_reset_ = !reset_ring();
  return !needs_reset_;
}

void RingDriver::write_slots(std::span<const Beat> beats) {
  RingMemory& mem = bus_.memory();
  const uint32_t mask = config_.layout.cmd_slots() - 1;
  for (const Beat& b : beats) {
    static_assert(sizeof b.data == kSlotBytes);
    std::memcpy(mem.data() + config_.layout.cmd_offset() + std::size_t{cmd_tail_ & mask} * kSlotBytes, b.data, kSlotBytes);
    ++cmd_tail_;
  }
}

// Pushes [from, to) of a ring (free-running indices) to or from the card, in at most two
// pieces (the second when the range wraps).
template <typename Fn>
static void for_ring_range(uint32_t from, uint32_t to, uint32_t slots, Fn&& fn) {
  const uint32_t n = to - from;
  if (n == 0) return;
  const uint32_t first = from & (slots - 1);
  const uint32_t run = std::min(n, slots - first);
  fn(std::size_t{first} * kSlotBytes, std::size_t{run} * kSlotBytes);
  if (run < n) fn(0, std::size_t{n - run} * kSlotBytes);
}

void RingDriver::execute(std::span<const Command> cmds, std::vector<Response>& out) {
  Batch b;
  b.cmds = cmds;
  b.results.resize(cmds.size());
  b.done.assign(cmds.size(), false);
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    if (cmds[i].blob.size() > wire::SLOT_BYTES) {
      // Would be a bad descriptor on the ring; the table's answer for it is TOO_LARGE.
      b.results[i] = codec::local_response(cmds[i], wire::Status::TOO_LARGE);
      b.done[i] = true;
      continue;
    }
    b.to_send.push_back(i);
  }
  b.pending = b.to_send.size();
  // A recovery that failed left the engine disabled: try once more, or fail fast.
  if (needs_reset_ && b.pending > 0 && !recover()) {
    counters_.failed_in_flight += b.fail_rest();
    out.insert(out.end(), std::make_move_iterator(b.results.begin()), std::make_move_iterator(b.results.end()));
    return;
  }
  b.base_tag = next_tag_;
  next_tag_ += static_cast<uint32_t>(b.to_send.size());

  RingMemory& mem = bus_.memory();
  const RingLayout& l = config_.layout;
  Clock::time_point last_progress = Clock::now();
  bool waiting_for_space = false;
  while (b.pending > 0) {
    bool progress = false;

    // 1. Every command that fits, then one doorbell for all of them.
    const uint32_t first_slot = cmd_tail_;
    while (b.next < b.to_send.size()) {
      Command c = cmds[b.to_send[b.next]];
      c.tag = b.base_tag + static_cast<uint32_t>(b.next);
      scratch_.clear();
      codec::encode(c, scratch_);
      const uint32_t free_slots = l.cmd_slots() - (cmd_tail_ - cmd_head_);
      if (scratch_.size() > free_slots) break;
      write_slots(scratch_);
      ++b.next;
      ++counters_.commands;
    }
    if (cmd_tail_ != first_slot) {
      for_ring_range(first_slot, cmd_tail_, l.cmd_slots(),
                     [&](std::size_t off, std::size_t len) { mem.sync_to_device(l.cmd_offset() + off, len); });
      bus_.write_reg(reg::kCmdDoorbell, cmd_tail_);
      ++counters_.cmd_doorbells;
      progress = true;
      waiting_for_space = false;
    } else if (b.next < b.to_send.size() && !waiting_for_space) {
      waiting_for_space = true;
      ++counters_.ring_full_waits;
    }

    // 2. What the card did: status block, then the response slots it covers.
    const Status st = read_status();
    const bool card_reset = st.resets != resets_seen_;
    const bool bad_head = st.cmd_head - cmd_head_ > cmd_tail_ - cmd_head_;
    const bool bad_tail = st.rsp_tail - rsp_head_ > l.rsp_slots();
    if (card_reset || bad_head || bad_tail) {
      // The card restarted (or its indices make no sense): whatever was in flight is
      // lost. Those commands fail; the rest of the batch goes to the re-initialised ring.
      if (card_reset) ++counters_.card_resets;
      for (std::size_t j = 0; j < b.next; ++j)
        if (!b.done[b.to_send[j]]) {
          b.answer(b.to_send[j], codec::local_response(cmds[b.to_send[j]], wire::Status::FAILED));
          ++counters_.failed_in_flight;
        }
      if (!recover()) {
        counters_.failed_in_flight += b.fail_rest();
        ++counters_.timeouts;
        break;
      }
      last_progress = Clock::now();
      continue;
    }
    if (st.cmd_head != cmd_head_) {
      cmd_head_ = st.cmd_head;
      progress = true;
    }
    if (st.rsp_tail != rsp_head_) {
      if (!drain_responses(st.rsp_tail, b)) {
        counters_.failed_in_flight += b.fail_rest();
        recover();
        break;
      }
      progress = true;
    }
    if (b.pending == 0) break;
    const Clock::time_point now = Clock::now();
    if (progress) {
      last_progress = now;
      continue;
    }

    // 3. Nothing moved. Everything sent, consumed and answered-as-far-as-the-card-goes,
    // and the engine idle: the missing answers were skipped (a descriptor the engine
    // could not frame), not delayed. Register first, then the status block it covers.
    if (b.next == b.to_send.size() && cmd_head_ == cmd_tail_ &&
        (bus_.read_reg(reg::kRingStatus) & reg::kRingStatusIdle) != 0) {
      const Status again = read_status();
      if (again.resets == resets_seen_ && again.cmd_head == cmd_tail_ && again.rsp_tail == rsp_head_) {
        counters_.failed_in_flight += b.fail_rest();
        break;
      }
    }
    if (now - last_progress >= config_.timeout) {
      ++counters_.timeouts;
      counters_.failed_in_flight += b.fail_rest();
      recover();
      break;
    }
    bus_.wait(last_progress + config_.timeout);
  }
  out.insert(out.end(), std::make_move_iterator(b.results.begin()), std::make_move_iterator(b.results.end()));
}

bool RingDriver::drain_responses(uint32_t rsp_tail, Batch& b) {
  RingMemory& mem = bus_.memory();
  const RingLayout& l = config_.layout;
  for_ring_range(rsp_head_, rsp_tail, l.rsp_slots(),
                 [&](std::size_t off, std::size_t len) { mem.sync_from_device(l.rsp_offset() + off, len); });
  const uint32_t mask = l.rsp_slots() - 1;
  while (rsp_head_ != rsp_tail) {
    Beat beat;
    std::memcpy(beat.data, mem.data() + l.rsp_offset() + std::size_t{rsp_head_ & mask} * kSlotBytes, kSlotBytes);
    ++rsp_head_;
    // TLAST is implied by the header's blob_len (spec/wire.toml [ring]).
    if (rsp_beats_left_ == 0) {
      const unsigned blob_beats = beats_for(static_cast<unsigned>(wire::get_field(beat.data, wire::header::blob_len)));
      if (blob_beats > kMsgMaxSlots - 1) {
        ++counters_.bad_responses;
        return false;  // no card writes this; the stream position is lost
      }
      rsp_beats_left_ = blob_beats;
      beat.last = blob_beats == 0;
    } else {
      beat.last = --rsp_beats_left_ == 0;
    }
    if (!assembler_.push(beat)) continue;
    Response r = assembler_.take();
    const uint32_t j = r.tag - b.base_tag;
    if (j < b.next && !b.done[b.to_send[j]]) {
      ++counters_.responses;
      b.answer(b.to_send[j], std::move(r));
    } else {
      ++counters_.stray_responses;
    }
  }
  bus_.write_reg(reg::kRspDoorbell, rsp_head_);
  ++counters_.rsp_doorbells;
  return true;
}

RingState RingDriver::state() {
  RingState s;
  s.id = bus_.read_reg(reg::kId);
  s.version = bus_.read_reg(reg::kVersion);
  s.build_id = bus_.read_reg(reg::kBuildId);
  s.card = bus_.read_reg(reg::kCard);
  s.epoch = bus_.read_reg(reg::kEpoch);
  s.table_status = bus_.read_reg(reg::kStatus);
  s.ring_ctrl = bus_.read_reg(reg::kRingCtrl);
  s.ring_status = bus_.read_reg(reg::kRingStatus);
  s.cmd_head = bus_.read_reg(reg::kCmdHead);
  s.cmd_tail = bus_.read_reg(reg::kCmdDoorbell);
  s.rsp_head = bus_.read_reg(reg::kRspDoorbell);
  s.rsp_tail = bus_.read_reg(reg::kRspTail);
  const Status st = read_status();
  s.status_error = st.error;
  s.status_bad_descs = st.bad_descs;
  s.status_resets = st.resets;
  return s;
}

}  // namespace sessnic::ring
