// The per-host card service: one card (any Device: model, verilator, xrt, clustered with
// its backplane node) shared by every server process on the host. Each process attaches
// over a Unix socket (attach_socket.hpp) and gets its own window: register page, command
// ring and response ring in a memfd, plus a doorbell and a completion eventfd. One thread
// per client runs that client's ring engine (driver/ring's SoftRingEngine: the card side
// of the ring contract, bad descriptors answered BAD_CMD, bad doorbells ignored), so a
// client that stalls, scribbles on its rings or dies mid-command only affects its own
// window. A client is reaped (window
// unmapped, fds closed, thread joined) as soon as its socket closes.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "client_card_view.hpp"
#include "sessnic/device.hpp"
#include "sessnic/ring/ring_layout.hpp"
#include "sessnic/shm/shared_region.hpp"

namespace sessnic::cardsvc {

struct CardServiceOptions {
  std::filesystem::path socket;  // its directory is created 0700 (attach_socket.hpp)
  ring::RingLayout layout{8, 8};  // every client's rings: 256 slots each
  std::size_t max_clients = 256;
  std::string description;  // told to each client at attach ("model card 1, backplane ...")
};

struct CardServiceCounters {
  std::atomic<uint64_t> attached{0};  // clients attached since start
  std::atomic<uint64_t> reaped{0};    // clients gone (closed or died) and cleaned up
  std::atomic<uint64_t> refused{0};   // attach requests refused (bad hello, uid, too many)
  std::atomic<uint64_t> active{0};
  ClientViewCounters card;
  std::atomic<uint64_t> register_accesses{0};  // register requests on attach sockets
};

class CardService {
 public:
  // Listens on options.socket at once (throws std::runtime_error naming the problem).
  CardService(Device& card, CardServiceOptions options);
  ~CardService();  // stop()
  CardService(const CardService&) = delete;
  CardService& operator=(const CardService&) = delete;

  void start();
  void stop();  // detaches every client (their next command fails, they re-attach later)

  const CardServiceCounters& counters() const { return counters_; }
  const std::filesystem::path& socket_path() const { return opt_.socket; }

 private:
  struct Client;
  void accept_loop();
  void serve(Client& c);
  void admit(shm::UniqueFd conn);
  void reap_finished();

  Device& card_;
  CardServiceOptions opt_;
  shm::UniqueFd listener_;
  shm::UniqueFd stop_fd_;  // eventfd: wakes every thread on stop()
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::unique_ptr<Client>> clients_;
  CardServiceCounters counters_;
};

}  // namespace sessnic::cardsvc
