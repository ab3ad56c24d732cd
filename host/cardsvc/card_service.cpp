#include "card_service.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sessnic/ring/ring_regs.hpp"
#include "sessnic/ring/soft_ring_engine.hpp"
#include "sessnic/shm/attach_socket.hpp"
#include "sessnic/shm/card_window.hpp"

namespace sessnic::cardsvc {

using shm::UniqueFd;

struct CardService::Client {
  UniqueFd socket;
  UniqueFd doorbell;    // client -> service
  UniqueFd completion;  // service -> client
  shm::SharedRegion window;
  std::unique_ptr<shm::WindowRingMemory> memory;
  std::unique_ptr<ClientCardView> view;
  std::unique_ptr<ring::SoftRingEngine> engine;
  uint32_t pid = 0;
  std::atomic<bool> done{false};
  std::thread thread;
};

CardService::CardService(Device& card, CardServiceOptions options)
    : card_(card), opt_(std::move(options)), listener_(shm::listen_unix(opt_.socket)), stop_fd_(shm::make_eventfd()) {
  opt_.layout.validate();
}

CardService::~CardService() { stop(); }

void CardService::start() { acceptor_ = std::thread([this] { accept_loop(); }); }

void CardService::stop() {
  if (stopping_.exchange(true)) return;
  shm::signal_eventfd(stop_fd_.get());
  if (acceptor_.joinable()) acceptor_.join();
  std::lock_guard lock(mu_);
  for (auto& c : clients_)
    if (c->thread.joinable()) c->thread.join();
  clients_.clear();
  ::unlink(opt_.socket.c_str());
}

void CardService::accept_loop() {
  while (!stopping_) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    // The timeout bounds how long a finished client's thread waits to be joined.
    if (::poll(p, 2, 500) < 0 && errno != EINTR) break;
    reap_finished();
    if (p[1].revents & POLLIN) break;
    if (!(p[0].revents & POLLIN)) continue;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn) continue;
    admit(std::move(conn));
  }
}

void CardService::admit(UniqueFd conn) {
  shm::Welcome w;
  auto refuse = [&](const std::string& why) {
    w.status = 1;
    std::snprintf(w.text, sizeof w.text, "%s", why.c_str());
    shm::send_message(conn.get(), &w, sizeof w, nullptr, 0);
    counters_.refused.fetch_add(1);
    spdlog::warn("attach refused: {}", why);
  };
  const long uid = shm::peer_uid(conn.get());
  if (uid != static_cast<long>(::geteuid()) && uid != 0) {
    refuse("uid " + std::to_string(uid) + " is not the card service's user");
    return;
  }
  shm::Hello hello;
  // A short wait: the client sends its hello right after connect().
  if (shm::recv_message(conn.get(), &hello, sizeof hello, nullptr, 0, 1000) != 0 || hello.magic != shm::kAttachMagic ||
      hello.version != shm::kAttachVersion) {
    refuse("bad attach request (expected sessnic attach protocol version " + std::to_string(shm::kAttachVersion) + ")");
    return;
  }
  if (counters_.active.load() >= opt_.max_clients) {
    refuse("too many clients (" + std::to_string(opt_.max_clients) + ")");
    return;
  }
  auto c = std::make_unique<Client>();
  try {
    c->window = shm::SharedRegion::create(shm::window_bytes(opt_.layout), "sessnic-card-" + std::to_string(hello.pid));
    c->doorbell = shm::make_eventfd();
    c->completion = shm::make_eventfd();
  } catch (const std::exception& e) {
    refuse(std::string("no window: ") + e.what());
    return;
  }
  c->pid = hello.pid;
  c->memory = std::make_unique<shm::WindowRingMemory>(c->window.data(), opt_.layout);
  c->view = std::make_unique<ClientCardView>(card_, counters_.card);
  c->engine = std::make_unique<ring::SoftRingEngine>(*c->view);
  w.card_id = card_.card_id();
  w.cmd_log2 = opt_.layout.cmd_log2;
  w.rsp_log2 = opt_.layout.rsp_log2;
  w.window_bytes = shm::window_bytes(opt_.layout);
  std::snprintf(w.text, sizeof w.text, "%s", opt_.description.c_str());
  const int fds[3] = {c->window.fd(), c->doorbell.get(), c->completion.get()};
  if (!shm::send_message(conn.get(), &w, sizeof w, fds, 3)) {
    counters_.refused.fetch_add(1);  // gone before it was attached
    return;
  }
  c->socket = std::move(conn);
  counters_.attached.fetch_add(1);
  counters_.active.fetch_add(1);
  spdlog::info("client pid {} attached ({} attached)", c->pid, counters_.active.load());
  Client& ref = *c;
  std::lock_guard lock(mu_);
  clients_.push_back(std::move(c));
  ref.thread = std::thread([this, &ref] { serve(ref); });
}

void CardService::serve(Client& c) {
  for (;;) {
    // Register accesses first: the client made them before any doorbell it rings later.
    bool gone = false;
    for (;;) {
      shm::RegRequest q;
      const ssize_t n = ::recv(c.socket.get(), &q, sizeof q, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      if (n != static_cast<ssize_t>(sizeof q) || (q.op != shm::kRegWrite && q.op != shm::kRegRead)) {
        gone = true;  // closed (n == 0), failed, or not speaking the protocol: drop it
        break;
      }
      counters_.register_accesses.fetch_add(1, std::memory_order_relaxed);
      shm::RegAnswer a;
      a.ok = 1;
      // The doorbell registers are the shared words; a write here would bypass them.
      if (q.op == shm::kRegWrite && q.offset != ring::reg::kCmdDoorbell && q.offset != ring::reg::kRspDoorbell)
        c.engine->write_reg(q.offset, q.value);
      else if (q.op == shm::kRegRead)
        a.value = c.engine->read_reg(q.offset);
      if (!shm::send_message(c.socket.get(), &a, sizeof a, nullptr, 0)) {
        gone = true;
        break;
      }
    }
    if (gone) break;
    // Drain the doorbell before reading the words, so a ring after this is not lost.
    shm::drain_eventfd(c.doorbell.get());
    c.engine->write_reg(ring::reg::kCmdDoorbell,
                        shm::doorbell_word(c.window.data(), shm::kCmdDoorbellWord).load(std::memory_order_acquire));
    c.engine->write_reg(ring::reg::kRspDoorbell,
                        shm::doorbell_word(c.window.data(), shm::kRspDoorbellWord).load(std::memory_order_acquire));
    bool progressed = false;
    while (c.engine->step(*c.memory)) progressed = true;
    if (progressed) shm::signal_eventfd(c.completion.get());

    pollfd p[3] = {{c.doorbell.get(), POLLIN, 0}, {c.socket.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (::poll(p, 3, -1) < 0 && errno != EINTR) break;
    if (p[2].revents & POLLIN) break;
    if (p[1].revents & (POLLHUP | POLLERR)) break;
  }
  c.done = true;
}

void CardService::reap_finished() {
  std::lock_guard lock(mu_);
  for (auto it = clients_.begin(); it != clients_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      spdlog::info("client pid {} gone: window released", (*it)->pid);
      it = clients_.erase(it);  // unmaps the window, closes the fds
      counters_.active.fetch_sub(1);
      counters_.reaped.fetch_add(1);
    } else {
      ++it;
    }
  }
}

}  // namespace sessnic::cardsvc
