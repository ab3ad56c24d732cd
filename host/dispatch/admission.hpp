// Who may open a connection: at most `max_total` open connections, and at most
// `max_per_source` from one client address, so one client holding thousands of idle
// connections cannot take the slots every other client needs. Once three quarters of the
// slots are taken by two or more sources, a source may only grow up to its fair share (the slots divided by the
// sources holding any, plus one), so a few heavy sources together cannot fill the rest
// either and a new source finds room. A granted slot is a Ticket that gives the slot back
// when it is destroyed (when the connection ends).
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sessnic::dispatch {

class Admission : public std::enable_shared_from_this<Admission> {
 public:
  enum class Verdict { admitted, connection_limit, source_limit };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(std::shared_ptr<Admission> owner, std::string source);
    ~Ticket();
    Ticket(Ticket&& o) noexcept = default;
    Ticket& operator=(Ticket&& o) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    explicit operator bool() const { return owner_ != nullptr; }
    const std::string& source() const { return source_; }  // the client address it was granted to

   private:
    void release();
    std::shared_ptr<Admission> owner_;
    std::string source_;
  };

  static std::shared_ptr<Admission> create(size_t max_total, size_t max_per_source);

  // A slot for one connection from `source` (the client address), or why not.
  Verdict admit(const std::string& source, Ticket& out);
  size_t open() const;
  size_t open_from(const std::string& source) const;

 private:
  Admission(size_t max_total, size_t max_per_source) : max_total_(max_total), max_per_source_(max_per_source) {}
  void give_back(const std::string& source);

  size_t max_total_, max_per_source_;
  mutable std::mutex mu_;
  size_t open_ = 0;
  std::unordered_map<std::string, size_t> per_source_;  // only sources with open connections
};

}  // namespace sessnic::dispatch
