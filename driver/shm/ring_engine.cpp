#include "sessnic/shm/ring_engine.hpp"

#include <cstring>
#include <exception>
#include <optional>

#include "sessnic/codec.hpp"
#include "sessnic/shm/descriptor.hpp"

namespace sessnic::shm {

RingEngine::RingEngine(void* window, RingGeometry geometry, Device& card, uint8_t card_id, EngineCounters& counters)
    : base_(static_cast<char*>(window)), g_(geometry), card_(card), counters_(counters) {
  std::memset(base_, 0, kRegisterPage);
  word(base_, kRegLayoutVersion).store(kLayoutVersion);
  word(base_, kRegCmdRingLog2).store(g_.cmd_log2);
  word(base_, kRegRspRingLog2).store(g_.rsp_log2);
  word(base_, kRegCardId).store(card_id);
  word(base_, kRegMagic).store(kMagic, std::memory_order_release);
}

Beat RingEngine::read_slot(uint32_t index) const {
  Beat b;
  std::memcpy(b.data, base_ + g_.cmd_offset() + std::size_t{index & (g_.cmd_slots() - 1)} * kSlotBytes, kSlotBytes);
  b.last = false;
  return b;
}

void RingEngine::write_slot(uint32_t index, const Beat& b) {
  std::memcpy(base_ + g_.rsp_offset() + std::size_t{index & (g_.rsp_slots() - 1)} * kSlotBytes, b.data, kSlotBytes);
}

void RingEngine::publish() {
  // After the response slots (release): a client that sees rsp_tail sees the slots.
  word(base_, kStatusError).store(error_, std::memory_order_relaxed);
  word(base_, kStatusCmdHead).store(cmd_head_, std::memory_order_release);
  word(base_, kStatusRspTail).store(rsp_tail_, std::memory_order_release);
}

std::size_t RingEngine::run_once() {
  uint32_t tail = word(base_, kRegCmdDoorbell).load(std::memory_order_acquire);
  if (tail - cmd_head_ > g_.cmd_slots()) {  // would claim slots that were never written
    error_ = static_cast<uint32_t>(RingError::cmd_doorbell_range);
    counters_.doorbell_errors.fetch_add(1, std::memory_order_relaxed);
    publish();
    return 0;
  }
  const uint32_t rsp_head = word(base_, kRegRspDoorbell).load(std::memory_order_acquire);
  const uint32_t used = rsp_tail_ - rsp_head;
  if (used > g_.rsp_slots()) {  // frees slots the engine never filled: keep the old view
    error_ = static_cast<uint32_t>(RingError::rsp_doorbell_range);
    counters_.doorbell_errors.fetch_add(1, std::memory_order_relaxed);
    publish();
    return 0;
  }
  const uint32_t room = (g_.rsp_slots() - used) / kMaxResponseSlots;  // messages whose answer surely fits

  // One pass: each message is either refused here or joins the batch for the card.
  batch_.clear();
  std::vector<std::optional<Response>> order;
  while (cmd_head_ != tail && order.size() < room) {
    const uint32_t available = tail - cmd_head_;
    const Beat header = read_slot(cmd_head_);
    const DescriptorError e = check_command(header, available);
    if (e != DescriptorError::none) {
      order.emplace_back(refused(header));
      error_ = static_cast<uint32_t>(RingError::bad_descriptor);
      counters_.bad_descriptors.fetch_add(1, std::memory_order_relaxed);
      // A length that runs past the tail cannot be trusted to find the next header.
      cmd_head_ = e == DescriptorError::truncated ? tail : cmd_head_ + message_slots(header);
      continue;
    }
    const uint32_t n = message_slots(header);
    beats_.clear();
    for (uint32_t i = 1; i < n; ++i) beats_.push_back(read_slot(cmd_head_ + i));
    batch_.push_back(decode_command(header, beats_));
    order.emplace_back(std::nullopt);
    cmd_head_ += n;
  }
  if (order.empty()) return 0;

  results_.clear();
  if (!batch_.empty()) {
    try {
      card_.execute(batch_, results_);
      counters_.batches.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception&) {
      results_.clear();
    }
    if (results_.size() != batch_.size()) {  // a device that broke its contract: answer FAILED, never garbage
      results_.clear();
      for (const auto& c : batch_) results_.push_back(codec::local_response(c, wire::Status::FAILED));
    }
  }
  std::size_t next = 0;
  for (auto& slot : order) {
    Response r = slot ? std::move(*slot) : std::move(results_[next]);
    if (!slot) r.tag = batch_[next++].tag;  // the tag is the client's, whatever the device did with it
    beats_.clear();
    encode_response(r, beats_);
    for (const Beat& b : beats_) write_slot(rsp_tail_++, b);
  }
  counters_.commands.fetch_add(order.size(), std::memory_order_relaxed);
  publish();
  return order.size();
}

}  // namespace sessnic::shm
