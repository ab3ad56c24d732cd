#include "client_card_view.hpp"

#include "sessnic/codec.hpp"

namespace sessnic::cardsvc {

void ClientCardView::execute(std::span<const Command> cmds, std::vector<Response>& out) {
  pass_.clear();
  for (const auto& c : cmds)
    if (c.op != wire::Opcode::SET_TIME && c.op != wire::Opcode::FLUSH && c.op != wire::Opcode::TRANSFER) pass_.push_back(c);
  got_.clear();
  if (!pass_.empty()) card_.execute(pass_, got_);
  counters_.commands.fetch_add(pass_.size(), std::memory_order_relaxed);
  std::size_t next = 0;
  for (const auto& c : cmds) {
    if (c.op == wire::Opcode::SET_TIME) {
      Response r = codec::local_response(c, wire::Status::OK);
      r.card = card_.card_id();
      out.push_back(std::move(r));
    } else if (c.op == wire::Opcode::FLUSH || c.op == wire::Opcode::TRANSFER) {
      counters_.privileged.fetch_add(1, std::memory_order_relaxed);
      Response r = codec::local_response(c, wire::Status::BAD_CMD);
      r.card = card_.card_id();
      out.push_back(std::move(r));
    } else if (next < got_.size()) {
      out.push_back(std::move(got_[next++]));
    } else {  // a device that broke its one-response-per-command contract
      out.push_back(codec::local_response(c, wire::Status::FAILED));
    }
  }
}

}  // namespace sessnic::cardsvc
