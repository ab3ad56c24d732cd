#include "admission.hpp"

namespace sessnic::dispatch {

std::shared_ptr<Admission> Admission::create(size_t max_total, size_t max_per_source) {
  return std::shared_ptr<Admission>(new Admission(max_total, max_per_source));
}

Admission::Verdict Admission::admit(const std::string& source, Ticket& out) {
  {
    std::lock_guard lock(mu_);
    if (open_ >= max_total_) return Verdict::connection_limit;
    size_t& n = per_source_[source];
    if (n >= max_per_source_) return Verdict::source_limit;
    ++n;
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
