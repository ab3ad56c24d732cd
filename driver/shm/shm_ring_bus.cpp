#include "sessnic/shm/shm_ring_bus.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sessnic/ring/ring_regs.hpp"
#include "sessnic/shm/attach_socket.hpp"

namespace sessnic::shm {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Looks at the status block this many times before sleeping on the eventfd: an answer
// usually comes within microseconds, less than a sleep and wake-up cost.
constexpr int kSpin = 256;
constexpr int kRegisterTimeoutMs = 2000;

}  // namespace

ShmRingBus::ShmRingBus(UniqueFd socket, SharedRegion window, UniqueFd doorbell, UniqueFd completion,
                       ring::RingLayout layout)
    : socket_(std::move(socket)),
      window_(std::move(window)),
      doorbell_(std::move(doorbell)),
      completion_(std::move(completion)),
      layout_(layout),
      memory_(window_.data(), layout_) {}

RegAnswer ShmRingBus::request(uint32_t op, uint32_t offset, uint32_t value) {
  RegRequest q{op, offset, value, 0};
  if (!send_message(socket_.get(), &q, sizeof q, nullptr, 0)) throw ServiceGone("card service closed the connection");
  RegAnswer a;
  if (recv_message(socket_.get(), &a, sizeof a, nullptr, 0, kRegisterTimeoutMs) != 0 || !a.ok)
    throw ServiceGone("card service did not answer a register access");
  return a;
}

void ShmRingBus::write_reg(uint32_t offset, uint32_t value) {
  if (offset == ring::reg::kCmdDoorbell || offset == ring::reg::kRspDoorbell) {
    doorbell_word(window_.data(), offset == ring::reg::kCmdDoorbell ? kCmdDoorbellWord : kRspDoorbellWord)
        .store(value, std::memory_order_release);
    signal_eventfd(doorbell_.get());
    return;
  }
  if (offset == ring::reg::kRingCtrl && (value & ring::reg::kRingCtrlReset)) {
    // A ring reset puts the indices back to 0: so must the doorbell words, before the
    // service applies the reset, or it would read the old tail as a fresh doorbell.
    doorbell_word(window_.data(), kCmdDoorbellWord).store(0, std::memory_order_release);
    doorbell_word(window_.data(), kRspDoorbellWord).store(0, std::memory_order_release);
  }
  request(kRegWrite, offset, value);
}

uint32_t ShmRingBus::read_reg(uint32_t offset) { return request(kRegRead, offset, 0).value; }

void ShmRingBus::wait(ring::Clock::time_point deadline) {
  const uint8_t* status = memory_.data() + layout_.status_offset();
  uint8_t before[ring::kStatusBytes];
  std::memcpy(before, status, sizeof before);
  for (int i = 0; i < kSpin; ++i) {
    std::atomic_thread_fence(std::memory_order_acquire);
    if (std::memcmp(before, status, sizeof before) != 0) return;
    cpu_relax();
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ring::Clock::now());
  pollfd p[2] = {{completion_.get(), POLLIN, 0}, {socket_.get(), POLLIN, 0}};
  // The eventfd keeps its count: a completion since the driver last looked is not lost.
  const int n = ::poll(p, 2, left.count() > 0 ? static_cast<int>(left.count()) + 1 : 0);
  if (n < 0 && errno != EINTR) throw ServiceGone(std::string("poll: ") + std::strerror(errno));
  if (n > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) throw ServiceGone("card service closed the connection");
  if (n > 0 && (p[0].revents & POLLIN)) drain_eventfd(completion_.get());
}

}  // namespace sessnic::shm
