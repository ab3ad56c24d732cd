// The counting operator new of this executable (alloc_count.hpp). A thread-local counter:
// no lock, no effect on other threads' figures.
#include "alloc_count.hpp"

#include <cstdlib>
#include <new>

namespace {
thread_local uint64_t allocations = 0;

void* counted(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

namespace sessnic::bench {
uint64_t thread_allocations() { return allocations; }
}  // namespace sessnic::bench

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
