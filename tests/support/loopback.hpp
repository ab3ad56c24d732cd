// Plain-socket helpers for tests and benches on 127.0.0.1: free ports, a bounded TCP
// connect, and a one-shot plain-HTTP GET (for /metrics and /healthz endpoints).
#pragma once
#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace sessnic::testing {

// 127.0.0.1:port as a socket address.
sockaddr_in loopback_address(uint16_t port);

// A port the kernel just handed out on 127.0.0.1 (SOCK_STREAM or SOCK_DGRAM). Another process
// may take it before the caller binds it: callers that race retry on a bind failure.
uint16_t free_loopback_port(int type);

// Connected TCP socket to 127.0.0.1:port with send/receive timeouts, or -1 (errno set).
int tcp_connect(uint16_t port, std::chrono::milliseconds timeout);

// True when 127.0.0.1:port accepts a TCP connection right now.
bool port_accepts(uint16_t port);

// GET path over plain HTTP/1.1 with Connection: close; the whole response (head and body),
// or empty when the connection fails.
std::string http_get_response(uint16_t port, const std::string& path,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// The body of that response, or empty.
std::string http_get_body(uint16_t port, const std::string& path,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace sessnic::testing
