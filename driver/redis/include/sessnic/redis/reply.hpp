// One RESP reply, copied out of hiredis's reader into an owning value.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sessnic::redis {

struct Reply {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status, error
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
  // True for an error reply whose first word is `word` ("MOVED", "ASK", "NOSCRIPT").
  bool error_is(std::string_view word) const;
};

}  // namespace sessnic::redis
