#include "sessnic/backplane/clustered_device.hpp"

namespace sessnic::backplane {

ClusteredDevice::ClusteredDevice(Device& local, BackplaneNode& node, Options options)
    : local_(local), node_(node), opt_(options) {}

void ClusteredDevice::execute(std::span<const Command> cmds, std::vector<Response>& out) {
  const std::size_t base = out.size();
  local_.execute(cmds, out);
  for (std::size_t i = 0; i < cmds.size() && base + i < out.size(); ++i) replicate(cmds[i], out[base + i]);
}

void ClusteredDevice::replicate(const Command& c, Response& r) {
  const bool tomb = (r.flags & static_cast<uint8_t>(wire::Flags::TOMBSTONE)) != 0;
  switch (c.op) {
    case wire::Opcode::PUT:
      if (r.ok()) node_.publish_put(c.key, r.version, r.expiry, c.flags, c.blob);
      break;
    case wire::Opcode::DEL:
      // OK = deleted; MISS with a tombstone = a delete remembered for an unknown key.
      if ((r.status == wire::Status::OK || r.status == wire::Status::MISS) && tomb && r.version != 0)
        node_.publish_del(c.key, r.version, r.expiry);
      break;
    case wire::Opcode::TAKE:
    case wire::Opcode::GET: {
      // Hub mode: a local miss pulls the entry from the hub, then the same lookup runs
      // again here - GET for TLS 1.2, TAKE for a single-use TLS 1.3 ticket (the pull
      // copies; the TAKE below tombstones it here and at the hub).
      const bool miss = r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED;
      if (miss && node_.mode() == Mode::hub && node_.hub_card() != node_.card_id()) {
        const Response p = node_.pull(c.key, node_.hub_card(), opt_.pull_deadline);
        if (p.status == wire::Status::OK) {
          Response again = c.op == wire::Opcode::TAKE ? local_.take(c.key) : local_.get(c.key);
          again.tag = r.tag;
          r = std::move(again);
        }
      }
      const bool consumed = r.status == wire::Status::OK &&
                            (c.op == wire::Opcode::TAKE || (r.flags & static_cast<uint8_t>(wire::Flags::SINGLE_USE)));
      if (consumed) tombstone_consumed(c, r);
      break;
    }
    default:
      break;
  }
}

void ClusteredDevice::tombstone_consumed(const Command& c, const Response& r) {
  // The response shows the entry as it was; the tombstone's version is only known to
  // the table, so write one more (newer) tombstone and replicate that.
  const Response d = local_.del(c.key, r.expiry);
  if (d.version == 0) return;
  node_.publish_del(c.key, d.version, d.expiry);
  // Transfer and hub modes copy: the card that wrote this entry (version's low byte)
  // still holds it (the DELETE above went nowhere, or to the hub only). Tombstone it
  // there too, so a single-use ticket is single use cluster-wide and a replay to its
  // issuing server is a full handshake.
  const auto writer = static_cast<uint8_t>(r.version & ((1u << wire::CARD_BITS) - 1));
  const bool single_use = r.flags & static_cast<uint8_t>(wire::Flags::SINGLE_USE);
  const Mode m = node_.mode();
  const bool writer_has_it = m == Mode::transfer || (m == Mode::hub && writer != node_.hub_card());
  if (single_use && writer_has_it && writer != node_.card_id()) node_.publish_del_to(writer, c.key, d.version, d.expiry);
}

Response ClusteredDevice::transfer(const SessionKey& key, uint8_t dest, std::chrono::microseconds deadline) {
  return node_.transfer(key, node_.card_id(), dest, deadline);
}

Response ClusteredDevice::request_transfer(const SessionKey& key, uint8_t owner, uint8_t dest,
                                           std::chrono::microseconds deadline) {
  return node_.transfer(key, owner, dest, deadline);
}

}  // namespace sessnic::backplane
