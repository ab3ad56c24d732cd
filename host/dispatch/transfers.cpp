#include "transfers.hpp"

#include "sessnic/session_identity.hpp"

namespace sessnic::dispatch {
using Clock = std::chrono::steady_clock;

Transfers::Transfers(const config::ClusterConfig& cfg, std::shared_ptr<SessionMover> mover, Metrics& metrics)
    : sharing_(cfg.dispatcher.sharing),
      servers_accept_tls13_(cfg.tls.max_version == "1.3"),
      max_in_flight_(cfg.dispatcher.max_transfers_in_flight),
      mover_(std::move(mover)),
      metrics_(metrics) {}

TransferPlan Transfers::plan(const ClientHello& hello, const Backend& target, const Router& router) {
  TransferPlan p;
  auto rid = hello.resumption_id(servers_accept_tls13_);
  if (!rid) return p;
  p.id.assign(rid->begin(), rid->end());
  p.owner = locations_.find(*rid).value_or(identity::owner_hint(*rid).value_or(0));
  p.target_has_copy = locations_.holds(*rid, target.card);
  if (!sharing_) p.settled = TransferOutcome::sharing_off;
  else if (p.owner == target.card) p.settled = TransferOutcome::already_there;
  else if (!router.by_card(p.owner)) p.settled = TransferOutcome::unknown_owner;
  return p;
}

bool Transfers::start(const TransferPlan& plan, uint8_t dest, std::chrono::microseconds budget, Done done) {
  if (!mover_) {
    done(TransferOutcome::failed);
    return false;
  }
  if (++metrics_.transfers_in_flight > max_in_flight_) {
    --metrics_.transfers_in_flight;
    done(TransferOutcome::overload);
    return false;
  }
  const auto t0 = Clock::now();
  mover_->move(plan.id, plan.owner, dest, budget,
               [this, id = plan.id, dest, t0, done = std::move(done)](MoveResult r) {
                 --metrics_.transfers_in_flight;
                 metrics_.transfer_latency_us(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
                 // Even when the client has stopped waiting, a session that moved is there now.
                 if (r == MoveResult::moved) locations_.set(id, dest);
                 done(r == MoveResult::moved       ? TransferOutcome::moved
                      : r == MoveResult::not_found ? TransferOutcome::not_found
                                                   : TransferOutcome::failed);
               });
  return true;
}

void Transfers::release() {
  if (mover_) mover_->release();
}

}  // namespace sessnic::dispatch
