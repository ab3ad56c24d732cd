#include "sessnic/random_pool.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>

namespace sessnic {

bool RandomPool::fill(std::span<uint8_t> out) {
  if (out.size() > kBufferBytes) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (used_ + out.size() > buf_.size()) {
    if (RAND_bytes(buf_.data(), static_cast<int>(buf_.size())) != 1) return false;
    used_ = 0;
  }
  std::copy_n(buf_.begin() + static_cast<std::ptrdiff_t>(used_), out.size(), out.begin());
  OPENSSL_cleanse(buf_.data() + used_, out.size());  // every byte is handed out once
  used_ += out.size();
  return true;
}

}  // namespace sessnic
