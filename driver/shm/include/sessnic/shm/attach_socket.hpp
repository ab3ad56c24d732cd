// The attach handshake between a server process and the host's card service, over a
// Unix SOCK_SEQPACKET socket:
//
//   client -> service   Hello   {magic, version, pid}
//   service -> client   Welcome {magic, version, status, card id, ring sizes, window size,
//                                description | error text}
//                       + SCM_RIGHTS [window memfd, doorbell eventfd, completion eventfd]
//
// The connection then stays open for the client's lifetime and carries only the client's
// register accesses (card_window.hpp: RegRequest -> RegAnswer); the service never sends
// anything unasked, so a readable socket on the client side means the service is gone.
// Its closing is how each side learns the other is gone (a worker killed with SIGKILL,
// a service restarted).
//
// Permissions: the socket's directory is created 0700 and refused when group or others
// can enter it or another user owns it; the socket is 0600; the service also refuses
// peers whose uid (SO_PEERCRED) is neither its own nor root's.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "sessnic/shm/shared_region.hpp"

namespace sessnic::shm {

inline constexpr uint32_t kAttachMagic = 0x43534e53;  // "SNSC"
inline constexpr uint32_t kAttachVersion = 1;

struct Hello {
  uint32_t magic = kAttachMagic;
  uint32_t version = kAttachVersion;
  uint32_t pid = 0;
  uint32_t reserved = 0;
};

struct Welcome {
  uint32_t magic = kAttachMagic;
  uint32_t version = kAttachVersion;
  uint32_t status = 0;  // 0: attached (fds follow); otherwise refused, `text` says why
  uint32_t card_id = 0;
  uint32_t cmd_log2 = 0;
  uint32_t rsp_log2 = 0;
  uint64_t window_bytes = 0;
  char text[256] = {};  // status 0: the card's description; else the reason
};

// Binds and listens on `path` (see the permission rules above). A socket file left by a
// dead service is replaced; one a live service answers on is an error.
// Throws std::runtime_error naming the path and the problem.
UniqueFd listen_unix(const std::filesystem::path& path);

// Connects to the service at `path`. Throws std::runtime_error ("...: No such file...").
UniqueFd connect_unix(const std::filesystem::path& path);

// uid of the process at the other end of a connected Unix socket (-1 if unknown).
long peer_uid(int fd);

// Sends `msg` with up to 3 fds. Returns false on failure (peer gone).
bool send_message(int fd, const void* msg, std::size_t len, const int* fds, int nfds);

// Receives one message of exactly `len` bytes with up to `max_fds` fds, waiting at most
// `timeout_ms`. Returns the number of fds received (owned by `fds`), or -1 on timeout,
// error, a short/long message or the peer closing. Extra fds are closed.
int recv_message(int fd, void* msg, std::size_t len, UniqueFd* fds, int max_fds, int timeout_ms);

}  // namespace sessnic::shm
