// HTTP/1.1 request heads read with the Node.js http-parser (libhttp-parser, a maintained
// C parser) instead of string scanning: one parser per connection, fed whatever the TLS
// layer returns, stopping after each complete request so pipelined requests are answered
// one at a time and in order. Limits are ours, per request: the request line plus header
// fields (max_header_bytes, 431 over it) and a body, which a static server reads and
// discards (kMaxBodyBytes, 413 over it).
#pragma once
#include <http_parser.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace sessnic::server {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // as sent: origin-form "/a/b?q" or absolute-form
  unsigned short http_major = 1, http_minor = 1;
  bool keep_alive = true;  // HTTP/1.1 default, "Connection: close", HTTP/1.0 keep-alive rules
  std::string host;        // the Host header, if any
};

class HttpRequestParser {
 public:
  static constexpr size_t kMaxBodyBytes = 64 * 1024;

  enum class Status {
    need_more,          // every byte consumed, no complete request yet
    complete,           // request() is ready; bytes after `consumed` belong to the next one
    bad_request,        // 400: not HTTP/1.x syntax (error() says what)
    header_too_large,   // 431
    body_too_large,     // 413
  };
  struct Result {
    Status status;
    size_t consumed;
  };

  explicit HttpRequestParser(size_t max_header_bytes);
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses from `data`. After `complete`, the next feed() starts the next request. After an
  // error the parser stays failed (the connection answers and closes).
  Result feed(std::string_view data);
  const HttpRequest& request() const { return request_; }
  // Some bytes of a request have arrived but not the whole request (for the request deadline).
  bool mid_request() const { return started_; }
  std::string error() const;

 private:
  static int on_message_begin(http_parser*);
  static int on_url(http_parser*, const char*, size_t);
  static int on_header_field(http_parser*, const char*, size_t);
  static int on_header_value(http_parser*, const char*, size_t);
  static int on_headers_complete(http_parser*);
  static int on_body(http_parser*, const char*, size_t);
  static int on_message_complete(http_parser*);
  bool count_head(size_t n);

  http_parser parser_{};
  http_parser_settings settings_{};
  size_t max_header_bytes_;
  size_t head_bytes_ = 0, body_bytes_ = 0;
  bool started_ = false, paused_ = false, failed_ = false;
  Status limit_ = Status::bad_request;  // which limit a callback tripped
  HttpRequest request_;
  std::string field_;          // the header field being read (values may arrive in pieces)
  bool field_is_host_ = false;
  bool in_value_ = false;
};

}  // namespace sessnic::server
