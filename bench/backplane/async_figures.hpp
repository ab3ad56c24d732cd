// The issue-14 figures of bench_backplane, measured in this process over real UDP on
// 127.0.0.1 (model cards, production node defaults, transfer mode):
//
//   pull_async / pull_sync        card B copies a session from card A: Device::pull_async
//                                 (call -> completion on B's pump) and the blocking
//                                 Device::pull (call -> return) in the same run
//   await_session                 the dispatcher's fired move: a passive card D sends
//                                 transfer_async(owner A -> target B) and does not wait;
//                                 B's await_session waiter completes when the session
//                                 lands (D -> A -> B: two one-way hops)
//   transfer_relayed              the same move answered at D (four hops: what a
//                                 dispatcher that waits for the answer waits for)
//   card_get_hit                  Device::get of a present session on the model device,
//                                 one thread: ns per call, heap allocations per call
#pragma once
#include <cstddef>
#include <vector>

namespace sessnic::bench {

struct AsyncFigures {
  std::vector<double> pull_async_us, pull_sync_us, await_us, relayed_us;
  std::size_t pull_async_ok = 0, pull_sync_ok = 0, await_ok = 0, relayed_ok = 0;
  double card_get_hit_ns = 0, card_get_hit_allocs = 0, card_get_miss_allocs = 0;
};

AsyncFigures measure_async_figures();

}  // namespace sessnic::bench
