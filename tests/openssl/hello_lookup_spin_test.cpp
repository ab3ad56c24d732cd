// HelloLookupRequest::spin (host/openssl/hello_lookup.cpp; the server's pull_spin_us): the
// ClientHello callback may wait on its thread for the fetch before it pauses the
// handshake. Real OpenSSL TLS 1.2 resumptions over an in-memory BIO pair; the fetch
// finishes on a thread of its own after a set delay, as the card's pump does.
//   - answered within the wait: the handshake never pauses, and the resume `when_done`
//     would register is never needed (nothing is posted, nothing runs twice);
//   - answered after it: the handshake pauses (SSL_ERROR_WANT_CLIENT_HELLO_CB) and the
//     fetch's `done` runs the resume exactly once, as without the wait;
//   - no wait asked: pauses at once;
//   - a fetch that brings the answer to the waiting thread itself (req.poll, as SessionPull
//     does with the card's direct port): polled during the wait, dropped when it ends.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sessnic/hello_lookup.hpp"
#include "tls_test_support.hpp"

namespace sessnic {
namespace {

using namespace std::chrono_literals;
using testtls::make_client_ctx;
using testtls::make_server_ctx;

struct Outcome {
  bool ok = false, reused = false;
  int pauses = 0;   // SSL_ERROR_WANT_CLIENT_HELLO_CB from the server's SSL_do_handshake
  int resumes = 0;  // how often the resume given to when_done ran
};

// The handshake resumed the session after one pause, and the pause was resumed once.
void expect_resumed_after_one_pause(const Outcome& o) {
  ASSERT_TRUE(o.ok);
  EXPECT_TRUE(o.reused);
  EXPECT_EQ(o.pauses, 1);
  EXPECT_EQ(o.resumes, 1);
}

class SpinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = make_server_ctx(TLS1_2_VERSION);  // session ids in OpenSSL's own cache: a 32-byte id to look up
    client_ = make_client_ctx(TLS1_2_VERSION);
    lookup_ = HelloLookup::install(server_.get(), [this](HelloLookupRequest& req, std::function<void()> done) {
      req.spin = spin_;
      ++fetches_;
      if (answer_by_poll_) {
        ++poll_alive_;
        auto alive = std::shared_ptr<void>(nullptr, [this](void*) { --poll_alive_; });
        req.poll = [this, alive, done, n = 0]() mutable {
          ++polls_;
          ++n;
          if (late_poll_ && n == 1) {  // this thread is off the CPU past the wait; the answer comes meanwhile
            std::this_thread::sleep_for(spin_ * 3);
            return false;
          }
          const int answer_at = late_poll_ ? 2 : 3;  // nothing for the first looks
          if (n == answer_at) done();                // the answer, handed over on this thread
          return n == answer_at;
        };
        return;
      }
      threads_.emplace_back([delay = delay_, done = std::move(done)] {
        std::this_thread::sleep_for(delay);
        done();
      });
    });
    auto first = testtls::handshake(client_.get(), server_.get());  // full: nothing offered, no fetch
    ASSERT_TRUE(first.ok) << first.error;
    session_ = std::move(first.client_session);
    ASSERT_EQ(fetches_, 0);
  }
  void TearDown() override {
    for (auto& t : threads_) t.join();
  }

  // One resumption offering the first handshake's session; a pause is resumed by
  // when_done, as HttpsConnection does (here the resume only wakes this thread).
  Outcome resume() {
    Outcome o;
    SslPtr c(SSL_new(client_.get())), s(SSL_new(server_.get()));
    BIO *cbio = nullptr, *sbio = nullptr;
    if (!c || !s || BIO_new_bio_pair(&cbio, 0, &sbio, 0) != 1) return o;
    SSL_set_bio(c.get(), cbio, cbio);
    SSL_set_bio(s.get(), sbio, sbio);
    SSL_set_connect_state(c.get());
    SSL_set_accept_state(s.get());
    SSL_set_tlsext_host_name(c.get(), "localhost");
    SSL_set_session(c.get(), session_.get());
    std::mutex mu;
    std::condition_variable cv;
    bool resumed = false;
    bool c_done = false, s_done = false;
    for (int round = 0; round < 32 && !(c_done && s_done); ++round) {
      if (!c_done) {
        const int rc = SSL_do_handshake(c.get());
        if (rc == 1) c_done = true;
        else if (SSL_get_error(c.get(), rc) != SSL_ERROR_WANT_READ) return o;
      }
      if (!s_done) {
        const int rc = SSL_do_handshake(s.get());
        if (rc == 1) {
          s_done = true;
        } else if (const int e = SSL_get_error(s.get(), rc); e == SSL_ERROR_WANT_CLIENT_HELLO_CB) {
          ++o.pauses;
          const bool pending = HelloLookup::when_done(s.get(), [&] {
            std::lock_guard lock(mu);
            ++o.resumes;
            resumed = true;
            cv.notify_all();
          });
          if (!pending) return o;
          std::unique_lock lock(mu);
          if (!cv.wait_for(lock, 10s, [&] { return resumed; })) return o;
          resumed = false;
        } else if (e != SSL_ERROR_WANT_READ) {
          return o;
        }
      }
    }
    o.ok = c_done && s_done;
    o.reused = SSL_session_reused(s.get()) == 1;
    for (auto& t : threads_) t.join();  // every done() has run: a second resume would show now
    threads_.clear();
    std::lock_guard lock(mu);
    return o;
  }

  SslCtxPtr server_, client_;
  SslSessionPtr session_;
  std::unique_ptr<HelloLookup> lookup_;
  std::chrono::microseconds spin_{0};
  std::chrono::milliseconds delay_{0};
  int fetches_ = 0;
  bool answer_by_poll_ = false;
  bool late_poll_ = false;
  int polls_ = 0;
  int poll_alive_ = 0;  // poll functions not yet destroyed
  std::vector<std::thread> threads_;
};

TEST_F(SpinTest, AnAnswerWithinTheWaitGoesOnWithoutAPause) {
  spin_ = 5s;  // far longer than the fetch: it always answers within
  delay_ = 2ms;
  const Outcome o = resume();
  ASSERT_TRUE(o.ok);
  EXPECT_TRUE(o.reused);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(o.pauses, 0) << "the callback should have waited for the fetch";
  EXPECT_EQ(o.resumes, 0) << "nothing was paused, so nothing is resumed";
  const auto n = lookup_->counters();
  EXPECT_EQ(n.offered, 1u);
  EXPECT_EQ(n.spun, 1u);
  EXPECT_EQ(n.spin_done, 1u);
  EXPECT_EQ(n.deferred, 0u);
}

TEST_F(SpinTest, AnAnswerAfterTheWaitResumesThePausedHandshakeOnce) {
  spin_ = 1ms;
  delay_ = 200ms;  // always after the wait
  expect_resumed_after_one_pause(resume());
  const auto n = lookup_->counters();
  EXPECT_EQ(n.spun, 1u);
  EXPECT_EQ(n.spin_done, 0u);
  EXPECT_EQ(n.deferred, 1u);
}

TEST_F(SpinTest, TheWaitPollsForTheAnswerOnItsThreadAndDropsThePollAfterwards) {
  spin_ = 5s;
  answer_by_poll_ = true;  // no other thread ever answers
  const Outcome o = resume();
  ASSERT_TRUE(o.ok);
  EXPECT_TRUE(o.reused);
  EXPECT_EQ(o.pauses, 0);
  EXPECT_EQ(polls_, 3) << "polled until the answer came, then not again";
  EXPECT_EQ(poll_alive_, 0) << "the poll (a claim on the card's direct port) ends with the wait";
  EXPECT_EQ(lookup_->counters().spin_done, 1u);
}

// The wait ran out while this thread was off the CPU (a yield on a busy host) and the
// answer came meanwhile: one last look takes it instead of pausing the handshake.
TEST_F(SpinTest, TheWaitLooksOnceMoreWhenItRunsOutWhileTheThreadWasAway) {
  spin_ = 1ms;
  answer_by_poll_ = true;
  late_poll_ = true;
  const Outcome o = resume();
  ASSERT_TRUE(o.ok);
  EXPECT_TRUE(o.reused);
  EXPECT_EQ(o.pauses, 0) << "the answer was there to read when the wait ran out";
  EXPECT_EQ(polls_, 2);
  EXPECT_EQ(poll_alive_, 0);
}

TEST_F(SpinTest, NoWaitAskedPausesAtOnce) {
  spin_ = 0us;
  delay_ = 100ms;  // after the callback has returned, even on a loaded machine (2 ms was not: ctest -j2)
  expect_resumed_after_one_pause(resume());
  const auto n = lookup_->counters();
  EXPECT_EQ(n.spun, 0u);
  EXPECT_EQ(n.deferred, 1u);
}

}  // namespace
}  // namespace sessnic
