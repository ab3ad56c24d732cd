// The device-independent half of the Device API: keys, the one-command convenience
// forms (each is one execute()) and the default TRANSFER for devices without a backplane.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "sessnic/codec.hpp"
#include "sessnic/completion_queue.hpp"
#include "sessnic/device.hpp"

namespace sessnic {

SessionKey SessionKey::make(std::span<const uint8_t> id, uint8_t ctx) {
  if (id.empty() || id.size() > wire::KEY_MAX_BYTES)
    throw std::invalid_argument("session id must be 1.." + std::to_string(wire::KEY_MAX_BYTES) + " bytes, got " +
                                std::to_string(id.size()));
  SessionKey k;
  std::copy(id.begin(), id.end(), k.id.begin());
  k.len = static_cast<uint8_t>(id.size());
  k.ctx = ctx;
  return k;
}

namespace {
// Deadline in card ticks (microseconds) for the command's 32-bit expiry; 0 would mean
// "the card's default", so a zero or negative deadline asks for the shortest one.
uint32_t deadline_ticks(std::chrono::microseconds d) {
  const int64_t us = d.count();
  if (us <= 0) return 1;
  return us > 0xFFFFFFFFll ? 0xFFFFFFFFu : static_cast<uint32_t>(us);
}
}  // namespace

Command Device::transfer_command(const SessionKey& key, uint8_t dest, uint8_t owner,
                                 std::chrono::microseconds deadline) {
  Command c;
  c.op = wire::Opcode::TRANSFER;
  c.key = key;
  c.expiry = deadline_ticks(deadline);
  c.aux = wire::set_subfield(wire::set_subfield(0, wire::header::aux, wire::sync_cmd::dest, dest), wire::header::aux,
                              wire::sync_cmd::owner, owner);
  return c;
}

Command Device::pull_command(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline) {
  Command c;
  c.op = wire::Opcode::PULL;
  c.key = key;
  c.expiry = deadline_ticks(deadline);
  c.aux = wire::set_subfield(
      wire::set_subfield(0, wire::header::aux, wire::sync_cmd::dest, static_cast<uint8_t>(wire::BpConst::BROADCAST)),
      wire::header::aux, wire::sync_cmd::owner, from);
  return c;
}

Response Device::transfer(const SessionKey& key, uint8_t dest, uint8_t owner, std::chrono::microseconds deadline) {
  return run_one(transfer_command(key, dest, owner, deadline));
}

Response Device::pull(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline) {
  return run_one(pull_command(key, from, deadline));
}

// Without a pump nobody would deliver a later answer: the command runs here, now.
void Device::execute_async(Command cmd, Completion done) { done(run_one(std::move(cmd))); }

void Device::transfer_async(const SessionKey& key, uint8_t dest, uint8_t owner, std::chrono::microseconds deadline,
                            Completion done) {
  execute_async(transfer_command(key, dest, owner, deadline), std::move(done));
}

void Device::pull_async(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline, Completion done) {
  execute_async(pull_command(key, from, deadline), std::move(done));
}

SessionWait Device::await_session(const SessionKey&, std::chrono::microseconds, Completion) { return {}; }

SessionWait& SessionWait::operator=(SessionWait&& o) noexcept {
  if (this != &o) {
    cancel();
    queue_ = std::move(o.queue_);
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

bool SessionWait::cancel() {
  const uint64_t id = id_;
  id_ = 0;
  if (id == 0) return false;
  const std::shared_ptr<CompletionQueue> q = queue_.lock();
  return q && q->cancel(id);
}

Response Device::execute_one(Command cmd) {
  std::vector<Response> out;
  out.reserve(1);
  execute(std::span<const Command>(&cmd, 1), out);
  if (out.size() != 1) return codec::local_response(cmd, wire::Status::FAILED);
  return std::move(out.front());
}

Response Device::put(const SessionKey& key, std::span<const uint8_t> blob, uint32_t expiry, uint8_t flags,
                     uint64_t version) {
  return put(key, std::vector<uint8_t>(blob.begin(), blob.end()), expiry, flags, version);
}

Response Device::put(const SessionKey& key, std::vector<uint8_t>&& blob, uint32_t expiry, uint8_t flags,
                     uint64_t version) {
  Command c;
  c.op = wire::Opcode::PUT;
  c.key = key;
  c.blob = std::move(blob);
  c.expiry = expiry;
  c.flags = flags;
  c.version = version;
  return run_one(std::move(c));
}

namespace {
Command keyed(wire::Opcode op, const SessionKey& key) {
  Command c;
  c.op = op;
  c.key = key;
  return c;
}
}  // namespace

Response Device::get(const SessionKey& key) { return run_one(keyed(wire::Opcode::GET, key)); }
Response Device::take(const SessionKey& key) { return run_one(keyed(wire::Opcode::TAKE, key)); }
Response Device::export_entry(const SessionKey& key) { return run_one(keyed(wire::Opcode::EXPORT, key)); }

Response Device::del(const SessionKey& key, uint32_t expiry) {
  Command c = keyed(wire::Opcode::DEL, key);
  c.expiry = expiry;
  return run_one(std::move(c));
}

Response Device::set_time(uint32_t now) {
  Command c;
  c.op = wire::Opcode::SET_TIME;
  c.aux = now;
  return run_one(std::move(c));
}

Response Device::flush() {
  Command c;
  c.op = wire::Opcode::FLUSH;
  return run_one(std::move(c));
}

TableStats Device::stats() {
  Command c;
  c.op = wire::Opcode::STATS;
  return codec::decode_stats(run_one(std::move(c)));
}

}  // namespace sessnic
