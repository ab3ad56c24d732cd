#include "sessnic/shm/ring_client.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <string>

#include "sessnic/codec.hpp"
#include "sessnic/shm/shared_region.hpp"

namespace sessnic::shm {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls of the status block before sleeping on the eventfd: an answer usually comes
// within a few microseconds, and a sleep + wake-up costs more than that.
constexpr int kSpin = 256;

}  // namespace

RingClient::RingClient(void* window, std::size_t window_bytes, int doorbell_fd, int completion_fd, int hangup_fd)
    : base_(static_cast<char*>(window)), doorbell_fd_(doorbell_fd), completion_fd_(completion_fd), hangup_fd_(hangup_fd) {
  if (window_bytes < kRegisterPage || word(base_, kRegMagic).load(std::memory_order_acquire) != kMagic ||
      word(base_, kRegLayoutVersion).load() != kLayoutVersion)
    throw RingFailure("card window: no ring register page (magic/version mismatch)");
  g_.cmd_log2 = word(base_, kRegCmdRingLog2).load();
  g_.rsp_log2 = word(base_, kRegRspRingLog2).load();
  if (!g_.valid() || g_.bytes() != window_bytes)
    throw RingFailure("card window: ring sizes 2^" + std::to_string(g_.cmd_log2) + "/2^" + std::to_string(g_.rsp_log2) +
                      " do not match a window of " + std::to_string(window_bytes) + " bytes");
  cmd_tail_ = word(base_, kStatusCmdHead).load(std::memory_order_acquire);
  rsp_head_ = word(base_, kStatusRspTail).load(std::memory_order_acquire);
}

uint32_t RingClient::error_code() const { return word(base_, kStatusError).load(std::memory_order_relaxed); }

void RingClient::write_slot(uint32_t index, const Beat& b) {
  std::memcpy(base_ + g_.cmd_offset() + std::size_t{index & (g_.cmd_slots() - 1)} * kSlotBytes, b.data, kSlotBytes);
}

Beat RingClient::read_slot(uint32_t index) const {
  Beat b;
  std::memcpy(b.data, base_ + g_.rsp_offset() + std::size_t{index & (g_.rsp_slots() - 1)} * kSlotBytes, kSlotBytes);
  b.last = false;
  return b;
}

uint32_t RingClient::wait_rsp_tail(std::chrono::steady_clock::time_point deadline) {
  auto tail = [this] { return word(base_, kStatusRspTail).load(std::memory_order_acquire); };
  for (int i = 0; i < kSpin; ++i) {
    if (uint32_t t = tail(); t != rsp_head_) return t;
    cpu_relax();
  }
  for (;;) {
    // The eventfd keeps its count, so a completion between this check and poll() is not lost.
    if (uint32_t t = tail(); t != rsp_head_) return t;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw RingFailure("card did not answer in time");
    pollfd p[2] = {{completion_fd_, POLLIN, 0}, {hangup_fd_, POLLIN, 0}};
    const int n = ::poll(p, hangup_fd_ >= 0 ? 2 : 1, static_cast<int>(left.count()) + 1);
    if (n < 0 && errno != EINTR) throw RingFailure(std::string("poll: ") + std::strerror(errno));
    if (n > 0 && hangup_fd_ >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (uint32_t t = tail(); t != rsp_head_) return t;  // answered just before it went away
      throw RingFailure("card service closed the connection");
    }
    if (n > 0 && (p[0].revents & POLLIN)) drain_eventfd(completion_fd_);
  }
}

void RingClient::execute(std::span<const Command> cmds, std::vector<Response>& out, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Response> got(cmds.size());
  struct Pending {
    std::size_t index;
    uint32_t tag;
  };
  std::deque<Pending> in_flight;
  const std::size_t max_in_flight = g_.rsp_slots() / kMaxResponseSlots;
  std::size_t next = 0;

  while (next < cmds.size() || !in_flight.empty()) {
    // Post what fits, then one coalesced doorbell.
    bool posted = false;
    while (next < cmds.size() && in_flight.size() < max_in_flight) {
      const Command& c = cmds[next];
      if (c.blob.size() > wire::SLOT_BYTES) {  // as the card answers it, without the trip
        got[next] = codec::local_response(c, wire::Status::TOO_LARGE);
        ++next;
        continue;
      }
      Command tagged = c;
      tagged.tag = next_tag_++;
      beats_.clear();
      codec::encode(tagged, beats_);
      const uint32_t head = word(base_, kStatusCmdHead).load(std::memory_order_acquire);
      if (g_.cmd_slots() - (cmd_tail_ - head) < beats_.size()) break;  // ring full: wait for the card
      for (const Beat& b : beats_) write_slot(cmd_tail_++, b);
      in_flight.push_back({next, tagged.tag});
      ++next;
      posted = true;
    }
    if (posted) {
      word(base_, kRegCmdDoorbell).store(cmd_tail_, std::memory_order_release);
      signal_eventfd(doorbell_fd_);
    }
    if (in_flight.empty()) {
      // Nothing in flight means the card consumed every slot: a message must fit now.
      if (next < cmds.size() && cmds[next].blob.size() <= wire::SLOT_BYTES)
        throw RingFailure("command ring reported full with nothing in flight");
      continue;
    }

    const uint32_t tail = wait_rsp_tail(deadline);
    if (tail - rsp_head_ > g_.rsp_slots()) throw RingFailure("card published an impossible rsp_tail");
    while (rsp_head_ != tail) {
      // Slots carry no TLAST: the header's blob_len says where the response ends.
      Beat h = read_slot(rsp_head_);
      const uint32_t n = 1 + beats_for(static_cast<unsigned>(wire::get_field(h.data, wire::header::blob_len)));
      if (n > tail - rsp_head_) throw RingFailure("card published a partial response");
      beats_.clear();
      for (uint32_t i = 0; i < n; ++i) beats_.push_back(read_slot(rsp_head_ + i));
      beats_.back().last = true;
      rsp_head_ += n;
      Response r = codec::decode(beats_);
      if (in_flight.empty() || r.tag != in_flight.front().tag)
        throw RingFailure("card answered tag " + std::to_string(r.tag) + " out of order");
      got[in_flight.front().index] = std::move(r);
      in_flight.pop_front();
    }
    word(base_, kRegRspDoorbell).store(rsp_head_, std::memory_order_release);
  }
  out.insert(out.end(), std::make_move_iterator(got.begin()), std::make_move_iterator(got.end()));
}

}  // namespace sessnic::shm
