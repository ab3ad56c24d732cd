// Two model cards (1 and 2) whose backplane nodes talk real UDP on 127.0.0.1: the
// transports, peer lists, devices and nodes wired and started. Waiting for the peers is
// left to the caller (some tests measure exactly that time).
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::backplane::test {

struct UdpPair {
  std::unique_ptr<Device> dev_a, dev_b;
  std::unique_ptr<BackplaneNode> a, b;
};

// Wraps card 1's socket in a test's own Transport (e.g. one that holds a send).
using WrapTransport = std::function<std::unique_ptr<Transport>(std::unique_ptr<UdpTransport>)>;

// a and b are the nodes' configs (card ids 1 and 2 are set here); their peer lists are
// filled with each other's port. wrap_a, if set, wraps card 1's transport.
inline UdpPair make_udp_pair(NodeConfig a, NodeConfig b, TableGeometry geometry = TableGeometry::small,
                             const WrapTransport& wrap_a = {}) {
  a.card_id = 1;
  b.card_id = 2;
  auto ua = std::make_unique<UdpTransport>(a);
  auto ub = std::make_unique<UdpTransport>(b);
  ua->set_peer({2, "127.0.0.1", ub->local_port()});
  ub->set_peer({1, "127.0.0.1", ua->local_port()});
  a.peers = {{2, "127.0.0.1", ub->local_port()}};
  b.peers = {{1, "127.0.0.1", ua->local_port()}};
  DeviceConfig da, db;
  da.card_id = 1;
  db.card_id = 2;
  da.geometry = db.geometry = geometry;
  UdpPair p;
  p.dev_a = make_model_device(da);
  p.dev_b = make_model_device(db);
  std::unique_ptr<Transport> ta = wrap_a ? wrap_a(std::move(ua)) : std::move(ua);
  p.a = std::make_unique<BackplaneNode>(a, *p.dev_a, std::move(ta));
  p.b = std::make_unique<BackplaneNode>(b, *p.dev_b, std::move(ub));
  p.a->start();
  p.b->start();
  return p;
}

}  // namespace sessnic::backplane::test
