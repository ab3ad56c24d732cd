// What sessnic's session callbacks cost inside real handshakes: CallbackProbe wraps the
// get-session and new-session callbacks attach() installed on an SSL_CTX and adds up the
// allocations and locks (call_counts.hpp) made inside each call. Used by bench_resume's
// per-lookup figures and by their regression test.
//
// It keeps its state in the SSL_CTX's app data (SSL_CTX_set_app_data), which attach()
// does not use; create it after attach(), destroy it before the attachment.
#pragma once
#include <openssl/ssl.h>

#include "call_counts.hpp"

namespace sessnic::bench {

struct CallbackCosts {
  uint64_t lookups = 0;  // get-session callback calls
  CallCounts lookup;     // ... their allocations and locks, summed
  uint64_t stores = 0;   // new-session callback calls
  CallCounts store;
};

class CallbackProbe {
 public:
  explicit CallbackProbe(SSL_CTX* ctx);
  ~CallbackProbe();  // puts the wrapped callbacks back
  CallbackProbe(const CallbackProbe&) = delete;
  CallbackProbe& operator=(const CallbackProbe&) = delete;

  const CallbackCosts& costs() const { return costs_; }
  void reset() { costs_ = {}; }

 private:
  static SSL_SESSION* get_cb(SSL* ssl, const unsigned char* id, int len, int* copy);
  static int new_cb(SSL* ssl, SSL_SESSION* sess);

  SSL_CTX* ctx_;
  SSL_SESSION* (*get_)(SSL*, const unsigned char*, int, int*);
  int (*new_)(SSL*, SSL_SESSION*);
  CallbackCosts costs_;
};

}  // namespace sessnic::bench
