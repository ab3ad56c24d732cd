#include "sessnic/redis/reply.hpp"

namespace sessnic::redis {

bool Reply::error_is(std::string_view word) const {
  return type == Type::error && str.size() >= word.size() && std::string_view(str).substr(0, word.size()) == word &&
         (str.size() == word.size() || str[word.size()] == ' ');
}

}  // namespace sessnic::redis
