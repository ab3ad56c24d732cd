#include "sessnic/redis/write_through_device.hpp"

namespace sessnic::redis {

void WriteThroughDevice::execute(std::span<const sessnic::Command> cmds, std::vector<Response>& out) {
  const size_t first = out.size();
  card_.execute(cmds, out);
  for (size_t i = 0; i < cmds.size() && first + i < out.size(); ++i) {
    const sessnic::Command& c = cmds[i];
    const Response& r = out[first + i];
    if (c.version != 0 || !r.ok()) continue;
    if (c.op == wire::Opcode::PUT) {
      Record rec;
      rec.version = r.version;
      rec.flags = c.flags;
      rec.expiry = c.expiry;
      rec.blob = c.blob;
      enqueue([this, key = c.key, rec = std::move(rec)] { return store_.put(key, rec); });
    } else if (c.op == wire::Opcode::DEL) {
      enqueue([this, key = c.key, v = r.version, e = c.expiry] { return store_.tombstone(key, v, e); });
    }
  }
}

void WriteThroughDevice::enqueue(std::function<StoreStatus()> op) {
  queued_.fetch_add(1, std::memory_order_relaxed);
  const bool taken = workers_.submit([this, op = std::move(op)] {
    const StoreStatus s = op();
    (s == StoreStatus::ok || s == StoreStatus::stale ? written_ : failed_).fetch_add(1, std::memory_order_relaxed);
  });
  if (!taken) dropped_.fetch_add(1, std::memory_order_relaxed);
}

WriteThroughCounters WriteThroughDevice::counters() const {
  return {queued_.load(), written_.load(), failed_.load(), dropped_.load()};
}

}  // namespace sessnic::redis
