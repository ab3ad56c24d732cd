// A Device that is a cluster member: decorates the card's local device with its
// backplane node. The OpenSSL layer and the dispatcher use it like any Device.
//
//  * execute() runs on the local device, then replicates per mode: a successful PUT
//    goes out as UPDATE, a DEL as DELETE, a TAKE (or a GET that consumed a single-use
//    entry) as DELETE of the tombstone it left.
//  * hub mode: a GET or TAKE that misses locally pulls the key from the hub (bounded by
//    Options::pull_deadline) and, if it arrived, answers from the local table (a TAKE
//    then consumes it: tombstoned here and, through the DELETE, at the hub).
//  * transfer(): moves a session from this card to `dest` over the backplane.
//  * request_transfer(): asks card `owner` to move a session to `dest` (what the
//    dispatcher calls; works with any owner, including this card).
#pragma once
#include <chrono>

#include "sessnic/backplane/node.hpp"
#include "sessnic/device.hpp"

namespace sessnic::backplane {

class ClusteredDevice final : public Device {
 public:
  struct Options {
    std::chrono::microseconds pull_deadline{2000};  // hub mode: wait for a pull on GET/TAKE miss
  };
  ClusteredDevice(Device& local, BackplaneNode& node, Options options);
  ClusteredDevice(Device& local, BackplaneNode& node) : ClusteredDevice(local, node, Options{}) {}

  std::string kind() const override { return local_.kind(); }
  uint8_t card_id() const override { return local_.card_id(); }
  void execute(std::span<const Command> cmds, std::vector<Response>& out) override;
  Response transfer(const SessionKey& key, uint8_t dest, std::chrono::microseconds deadline) override;
  Response request_transfer(const SessionKey& key, uint8_t owner, uint8_t dest, std::chrono::microseconds deadline);

  Device& local() { return local_; }
  BackplaneNode& node() { return node_; }

 private:
  void replicate(const Command& c, Response& r);
  void tombstone_consumed(const Command& c, const Response& r);
  Device& local_;
  BackplaneNode& node_;
  Options opt_;
};

}  // namespace sessnic::backplane
