#include "callback_probe.hpp"

#include <stdexcept>

namespace sessnic::bench {

CallbackProbe::CallbackProbe(SSL_CTX* ctx)
    : ctx_(ctx), get_(SSL_CTX_sess_get_get_cb(ctx)), new_(SSL_CTX_sess_get_new_cb(ctx)) {
  if (get_ == nullptr || new_ == nullptr || SSL_CTX_get_app_data(ctx) != nullptr)
    throw std::invalid_argument("CallbackProbe: attach() first, and the SSL_CTX's app data must be free");
  SSL_CTX_set_app_data(ctx, this);
  SSL_CTX_sess_set_get_cb(ctx, &CallbackProbe::get_cb);
  SSL_CTX_sess_set_new_cb(ctx, &CallbackProbe::new_cb);
}

CallbackProbe::~CallbackProbe() {
  SSL_CTX_sess_set_get_cb(ctx_, get_);
  SSL_CTX_sess_set_new_cb(ctx_, new_);
  SSL_CTX_set_app_data(ctx_, nullptr);
}

SSL_SESSION* CallbackProbe::get_cb(SSL* ssl, const unsigned char* id, int len, int* copy) {
  auto* p = static_cast<CallbackProbe*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const CallCounts before = thread_call_counts();
  SSL_SESSION* s = p->get_(ssl, id, len, copy);
  p->costs_.lookup += thread_call_counts() - before;
  ++p->costs_.lookups;
  return s;
}

int CallbackProbe::new_cb(SSL* ssl, SSL_SESSION* sess) {
  auto* p = static_cast<CallbackProbe*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const CallCounts before = thread_call_counts();
  const int r = p->new_(ssl, sess);
  p->costs_.store += thread_call_counts() - before;
  ++p->costs_.stores;
  return r;
}

}  // namespace sessnic::bench
