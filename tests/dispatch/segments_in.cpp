// TCP_INFO's segment counter for the proxy tests: <linux/tcp.h> has it, glibc's
// <netinet/tcp.h> does not, and the two cannot share a translation unit.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

namespace sessnic::dispatch::testing {

// Segments this socket has received so far (RFC 4898 tcpEStatsPerfSegsIn); 0 on error.
uint32_t tcp_segments_in(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_segs_in;
}

}  // namespace sessnic::dispatch::testing
