#include "admission.hpp"

#include <algorithm>

namespace sessnic::dispatch {

std::shared_ptr<Admission> Admission::create(size_t max_total, size_t max_per_source) {
  return std::shared_ptr<Admission>(new Admission(max_total, max_per_source));
}

Admission::Verdict Admission::admit(const std::string& source, Ticket& out) {
  {
    std::lock_guard lock(mu_);
    if (open_ >= max_total_) return Verdict::connection_limit;
    auto it = per_source_.find(source);
    const size_t held = it == per_source_.end() ? 0 : it->second;
    if (held >= max_per_source_) return Verdict::source_limit;
    if (4 * open_ >= 3 * max_total_ && per_source_.size() >= 2) {
      // Shared by the sources holding slots plus one more: there is always room for a newcomer.
      const size_t sources = per_source_.size() + 1;
      if (held >= std::max<size_t>(1, max_total_ / sources)) return Verdict::source_limit;
    }
    ++per_source_[source];
    ++open_;
  }
  out = Ticket(shared_from_this(), source);
  return Verdict::admitted;
}

size_t Admission::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

size_t Admission::open_from(const std::string& source) const {
  std::lock_guard lock(mu_);
  auto it = per_source_.find(source);
  return it == per_source_.end() ? 0 : it->second;
}

void Admission::give_back(const std::string& source) {
  std::lock_guard lock(mu_);
  --open_;
  auto it = per_source_.find(source);
  if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

Admission::Ticket::Ticket(std::shared_ptr<Admission> owner, std::string source)
    : owner_(std::move(owner)), source_(std::move(source)) {}

Admission::Ticket::~Ticket() { release(); }

Admission::Ticket& Admission::Ticket::operator=(Ticket&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::move(o.owner_);
    source_ = std::move(o.source_);
  }
  return *this;
}

void Admission::Ticket::release() {
  if (owner_) owner_->give_back(source_);
  owner_.reset();
}

}  // namespace sessnic::dispatch
