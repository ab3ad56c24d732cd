// Heap allocations and lock acquisitions made by the calling thread, for "what does one
// session lookup cost" figures (bench_resume) and their regression test
// (tests/openssl/lookup_cost_test.cpp).
//
// An executable that links this (target `sessnic_call_counts`) replaces malloc/calloc/
// realloc (forwarding to glibc's own) and pthread_mutex_lock / pthread_rwlock_rdlock /
// pthread_rwlock_wrlock (forwarding to the next definition): so every allocation and
// every lock taken through the public API - by sessnic (std::mutex, operator new), by
// OpenSSL (CRYPTO_malloc, CRYPTO_THREAD_*_lock) and by libstdc++ - is counted. glibc's
// internal locks (malloc arenas) are not: they are not taken through these symbols.
// Counters are thread-local: no lock of their own, no effect on other threads' figures.
#pragma once
#include <cstdint>

namespace sessnic::bench {

struct CallCounts {
  uint64_t allocations = 0;  // malloc + calloc + realloc calls (operator new goes through malloc)
  uint64_t locks = 0;        // mutex locks + rwlock read/write locks
  CallCounts operator-(const CallCounts& o) const { return {allocations - o.allocations, locks - o.locks}; }
  CallCounts& operator+=(const CallCounts& o) {
    allocations += o.allocations;
    locks += o.locks;
    return *this;
  }
};

// This thread's counts so far.
CallCounts thread_call_counts();

// True when the replacement functions are the ones the process actually calls (a
// self-check: one malloc and one mutex lock must each move the counters).
bool call_counting_active();

}  // namespace sessnic::bench
