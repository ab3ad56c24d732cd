#include "http_request_parser.hpp"

#include <strings.h>

namespace sessnic::server {

namespace {
HttpRequestParser& self(http_parser* p) { return *static_cast<HttpRequestParser*>(p->data); }
// Each header line also costs its ": " and CRLF; counted so the limit means bytes on the wire.
constexpr size_t kPerFieldOverhead = 4;
}  // namespace

HttpRequestParser::HttpRequestParser(size_t max_header_bytes) : max_header_bytes_(max_header_bytes) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  settings_.on_message_begin = on_message_begin;
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
}

bool HttpRequestParser::count_head(size_t n) {
  head_bytes_ += n;
  if (head_bytes_ <= max_header_bytes_) return true;
  limit_ = Status::header_too_large;
  return false;
}

int HttpRequestParser::on_message_begin(http_parser* p) {
  auto& s = self(p);
  s.request_ = HttpRequest{};
  s.head_bytes_ = s.body_bytes_ = 0;
  s.field_.clear();
  s.field_is_host_ = s.in_value_ = false;
  s.started_ = true;
  return 0;
}

int HttpRequestParser::on_url(http_parser* p, const char* at, size_t n) {
  auto& s = self(p);
  if (!s.count_head(n)) return 1;
  s.request_.target.append(at, n);
  return 0;
}

int HttpRequestParser::on_header_field(http_parser* p, const char* at, size_t n) {
  auto& s = self(p);
  if (!s.count_head(n + (s.in_value_ || s.field_.empty() ? kPerFieldOverhead : 0))) return 1;
  if (s.in_value_) {  // a new field starts
    s.field_.clear();
    s.in_value_ = false;
  }
  s.field_.append(at, n);
  return 0;
}

int HttpRequestParser::on_header_value(http_parser* p, const char* at, size_t n) {
  auto& s = self(p);
  if (!s.count_head(n)) return 1;
  if (!s.in_value_) {
    s.in_value_ = true;
    s.field_is_host_ = s.field_.size() == 4 && ::strncasecmp(s.field_.data(), "host", 4) == 0;
  }
  if (s.field_is_host_) s.request_.host.append(at, n);
  return 0;
}

int HttpRequestParser::on_headers_complete(http_parser* p) {
  auto& s = self(p);
  s.request_.method = http_method_str(static_cast<http_method>(p->method));
  s.request_.http_major = p->http_major;
  s.request_.http_minor = p->http_minor;
  // An Upgrade is not followed (the rest of the stream would be another protocol): answer, close.
  s.request_.keep_alive = http_should_keep_alive(p) != 0 && !p->upgrade;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > kMaxBodyBytes) {
    s.limit_ = Status::body_too_large;
    return -1;  // http-parser: any value but 0/1/2 is an error
  }
  return 0;
}

int HttpRequestParser::on_body(http_parser* p, const char*, size_t n) {
  auto& s = self(p);
  s.body_bytes_ += n;
  if (s.body_bytes_ <= kMaxBodyBytes) return 0;
  s.limit_ = Status::body_too_large;
  return 1;
}

int HttpRequestParser::on_message_complete(http_parser* p) {
  auto& s = self(p);
  s.started_ = false;
  s.paused_ = true;
  http_parser_pause(p, 1);  // execute() returns right after this request
  return 0;
}

HttpRequestParser::Result HttpRequestParser::feed(std::string_view data) {
  if (failed_) return {limit_, 0};
  if (paused_) {
    http_parser_pause(&parser_, 0);
    paused_ = false;
  }
  if (data.empty()) return {Status::need_more, 0};
  size_t n = http_parser_execute(&parser_, &settings_, data.data(), data.size());
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_PAUSED) return {Status::complete, n};
  if (err != HPE_OK) {
    failed_ = true;
    if (err == HPE_HEADER_OVERFLOW) limit_ = Status::header_too_large;
    else if (err != HPE_CB_url && err != HPE_CB_header_field && err != HPE_CB_header_value &&
             err != HPE_CB_headers_complete && err != HPE_CB_body)
      limit_ = Status::bad_request;
    return {limit_, n};
  }
  return {Status::need_more, n};
}

std::string HttpRequestParser::error() const {
  auto err = HTTP_PARSER_ERRNO(&parser_);
  switch (limit_) {
    case Status::header_too_large: return "request header block too large";
    case Status::body_too_large: return "request body too large";
    default: break;
  }
  return std::string(http_errno_name(err)) + ": " + http_errno_description(err);
}

}  // namespace sessnic::server
