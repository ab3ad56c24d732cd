// A Device in front of a card that writes the card's new sessions through to Redis,
// asynchronously: the caller (OpenSSL's new-session callback) never waits for Redis.
//
// What goes to Redis, decided per command after the card answered:
//  * PUT with version 0 that the card took (a session this server made; the card assigned
//    its version)  -> RedisStore::put with that version, flags and expiry;
//  * DEL with version 0 that the card took (Attachment::remove)  -> RedisStore::tombstone;
//  * everything else (versioned PUTs = copies imported from Redis or the backplane, GET,
//    TAKE, EXPORT, ...) stays on the card: its owner already has it.
// The card stays the only thing the handshake waits for.
#pragma once
#include <atomic>

#include "sessnic/device.hpp"
#include "sessnic/redis/store.hpp"
#include "sessnic/redis/workers.hpp"

namespace sessnic::redis {

struct WriteThroughCounters {
  uint64_t queued = 0, written = 0, failed = 0, dropped = 0;  // dropped: the worker queue was full
};

class WriteThroughDevice : public Device {
 public:
  // All three must outlive this device.
  WriteThroughDevice(Device& card, RedisStore& store, Workers& workers) : card_(card), store_(store), workers_(workers) {}

  std::string kind() const override { return card_.kind(); }
  uint8_t card_id() const override { return card_.card_id(); }
  void execute(std::span<const sessnic::Command> cmds, std::vector<Response>& out) override;
  // TRANSFER and PULL are card commands: execute() hands them to the card like the rest.
  BackplanePorts* backplane_ports() override { return card_.backplane_ports(); }

  WriteThroughCounters counters() const;

 private:
  void enqueue(std::function<StoreStatus()> op);

  Device& card_;
  RedisStore& store_;
  Workers& workers_;
  std::atomic<uint64_t> queued_{0}, written_{0}, failed_{0}, dropped_{0};
};

}  // namespace sessnic::redis
