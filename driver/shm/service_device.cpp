#include "sessnic/shm/service_device.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "sessnic/codec.hpp"
#include "sessnic/ring/ring_device.hpp"
#include "sessnic/shm/attach_socket.hpp"
#include "sessnic/shm/shared_region.hpp"
#include "sessnic/shm/shm_ring_bus.hpp"

namespace sessnic::shm {

struct ServiceDevice::Connection {
  ShmRingBus* bus = nullptr;  // owned by `rings`
  std::unique_ptr<ring::RingDevice> rings;
};

ServiceDevice::ServiceDevice(ServiceDeviceOptions options) : opt_(std::move(options)) {
  conn_ = attach();
  counters_.attaches.fetch_add(1);
}

ServiceDevice::~ServiceDevice() = default;

std::unique_ptr<ServiceDevice::Connection> ServiceDevice::attach() {
  const std::string where = "card service " + opt_.socket.string();
  UniqueFd socket = connect_unix(opt_.socket);
  Hello hello;
  hello.pid = static_cast<uint32_t>(::getpid());
  if (!send_message(socket.get(), &hello, sizeof hello, nullptr, 0)) throw std::runtime_error(where + ": hello not sent");
  Welcome w;
  UniqueFd fds[3];
  const int n = recv_message(socket.get(), &w, sizeof w, fds, 3, static_cast<int>(opt_.attach_timeout.count()));
  if (n < 0 || w.magic != kAttachMagic || w.version != kAttachVersion)
    throw std::runtime_error(where + ": no valid answer to the attach request");
  w.text[sizeof w.text - 1] = 0;
  if (w.status != 0) throw std::runtime_error(where + " refused: " + w.text);
  if (n != 3) throw std::runtime_error(where + ": attach answer without its 3 fds");
  ring::RingLayout layout{w.cmd_log2, w.rsp_log2};
  try {
    layout.validate();
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
  if (w.window_bytes != window_bytes(layout)) throw std::runtime_error(where + ": window size does not match its rings");
  auto c = std::make_unique<Connection>();
  auto bus = std::make_unique<ShmRingBus>(std::move(socket), SharedRegion::map(std::move(fds[0]), w.window_bytes),
                                          std::move(fds[1]), std::move(fds[2]), layout);
  c->bus = bus.get();
  DeviceConfig dc;
  dc.card_id = static_cast<uint8_t>(w.card_id);
  ring::RingConfig rc;
  rc.layout = layout;
  rc.timeout = opt_.command_timeout;
  rc.reset_timeout = opt_.attach_timeout;
  try {
    // The one ring driver: checks ID/BUILD_ID, programs the rings, resets and enables them.
    c->rings = std::make_unique<ring::RingDevice>("service", std::move(bus), dc, rc);
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
  card_id_ = dc.card_id;
  description_ = w.text;
  return c;
}

void ServiceDevice::lost(const char* /*why*/) {
  conn_.reset();
  counters_.outages.fetch_add(1);
  backoff_ = opt_.backoff_min;
  next_attempt_ = std::chrono::steady_clock::now() + backoff_;
}

namespace {
// The service sends nothing after the attach: a readable or closed socket means it went
// away (restart). Checked before each use so the first command after a restart goes to
// the new service instead of failing on the old window.
bool hung_up(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}
}  // namespace

void ServiceDevice::execute(std::span<const Command> cmds, std::vector<Response>& out) {
  std::lock_guard lock(mu_);
  if (conn_ && hung_up(conn_->bus->socket())) {
    lost("service closed the connection");
    next_attempt_ = std::chrono::steady_clock::now();  // no failed attempt yet: try at once
  }
  if (!conn_ && std::chrono::steady_clock::now() >= next_attempt_) {
    try {
      conn_ = attach();
      counters_.attaches.fetch_add(1);
      backoff_ = std::chrono::milliseconds(0);
    } catch (const std::exception&) {
      counters_.attach_failures.fetch_add(1);
      backoff_ = std::min(opt_.backoff_max, std::max(opt_.backoff_min, backoff_ * 2));
      next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    }
  }
  if (conn_) {
    const std::size_t before = out.size();
    try {
      conn_->rings->execute(cmds, out);
      return;
    } catch (const std::exception& e) {  // ServiceGone, or the service answered nonsense
      out.resize(before);
      lost(e.what());
    }
  }
  // No card behind us right now: FAILED, which the OpenSSL layer turns into a full handshake.
  for (const auto& c : cmds) out.push_back(codec::local_response(c, wire::Status::FAILED));
  counters_.failed_commands.fetch_add(cmds.size());
}

std::string ServiceDevice::description() const {
  std::lock_guard lock(mu_);
  return description_;
}

bool ServiceDevice::connected() const {
  std::lock_guard lock(mu_);
  return conn_ != nullptr;
}

}  // namespace sessnic::shm
