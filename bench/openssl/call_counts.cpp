// Counting replacements of malloc and of the pthread lock calls (call_counts.hpp).
// glibc supports replacing malloc in the executable ("Replacing malloc" in its manual):
// malloc, calloc, realloc and free forward to the __libc_* entry points, so memory from
// memalign & co. is freed by the same allocator. The lock calls forward to the next
// definition in link order (libc's), looked up once.
#include "call_counts.hpp"

#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);
}

namespace {
thread_local uint64_t t_allocations = 0;
thread_local uint64_t t_locks = 0;

template <typename Fn>
Fn next_symbol(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) std::abort();  // no libc definition: nothing sensible to forward to
  return reinterpret_cast<Fn>(f);
}

using MutexFn = int (*)(pthread_mutex_t*);
using RwFn = int (*)(pthread_rwlock_t*);
}  // namespace

extern "C" {
void* malloc(size_t n) {
  ++t_allocations;
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  ++t_allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  ++t_allocations;
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }

int pthread_mutex_lock(pthread_mutex_t* m) {
  static const MutexFn next = next_symbol<MutexFn>("pthread_mutex_lock");
  ++t_locks;
  return next(m);
}
int pthread_rwlock_rdlock(pthread_rwlock_t* l) {
  static const RwFn next = next_symbol<RwFn>("pthread_rwlock_rdlock");
  ++t_locks;
  return next(l);
}
int pthread_rwlock_wrlock(pthread_rwlock_t* l) {
  static const RwFn next = next_symbol<RwFn>("pthread_rwlock_wrlock");
  ++t_locks;
  return next(l);
}
}

namespace sessnic::bench {

CallCounts thread_call_counts() { return {t_allocations, t_locks}; }

bool call_counting_active() {
  const CallCounts before = thread_call_counts();
  void* volatile p = std::malloc(16);
  std::free(p);
  std::mutex m;
  { std::lock_guard lock(m); }
  const CallCounts d = thread_call_counts() - before;
  return d.allocations >= 1 && d.locks >= 1;
}

}  // namespace sessnic::bench
