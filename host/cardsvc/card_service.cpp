#include "card_service.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sessnic/shm/attach_socket.hpp"

namespace sessnic::cardsvc {

using shm::UniqueFd;

struct CardService::Client {
  UniqueFd socket;
  UniqueFd doorbell;    // client -> service
  UniqueFd completion;  // service -> client
  shm::SharedRegion window;
  std::unique_ptr<shm::RingEngine> engine;
  uint32_t pid = 0;
  std::atomic<bool> done{false};
  std::thread thread;
};

CardService::CardService(Device& card, CardServiceOptions options)
    : card_(card), opt_(std::move(options)), listener_(shm::listen_unix(opt_.socket)), stop_fd_(shm::make_eventfd()) {
  if (!opt_.geometry.valid()) throw std::invalid_argument("card service: ring sizes out of range");
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
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
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
    c->window = shm::SharedRegion::create(opt_.geometry.bytes(), "sessnic-card-" + std::to_string(hello.pid));
    c->doorbell = shm::make_eventfd();
    c->completion = shm::make_eventfd();
  } catch (const std::exception& e) {
    refuse(std::string("no window: ") + e.what());
    return;
  }
  c->pid = hello.pid;
  c->engine = std::make_unique<shm::RingEngine>(c->window.data(), opt_.geometry, card_, card_.card_id(), counters_.rings);
  w.card_id = card_.card_id();
  w.cmd_log2 = opt_.geometry.cmd_log2;
  w.rsp_log2 = opt_.geometry.rsp_log2;
  w.window_bytes = opt_.geometry.bytes();
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
    // Drain the doorbell before looking at the ring, so a ring after this is not lost.
    shm::drain_eventfd(c.doorbell.get());
    while (c.engine->run_once() > 0) shm::signal_eventfd(c.completion.get());
    pollfd p[3] = {{c.doorbell.get(), POLLIN, 0}, {c.socket.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (::poll(p, 3, -1) < 0 && errno != EINTR) break;
    if (p[2].revents & POLLIN) break;
    // The client sends nothing after attaching: readable means closed (or misbehaving).
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) break;
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
