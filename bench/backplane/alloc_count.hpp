// Heap allocations made by the calling thread, for "allocations per card GET": this
// executable replaces the global operator new (alloc_count.cpp) with one that counts.
#pragma once
#include <cstdint>

namespace sessnic::bench {
uint64_t thread_allocations();
}  // namespace sessnic::bench
