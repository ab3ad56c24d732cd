// Drives a SessionTable through its command/response streams, one command at a time,
// and checks the stream contract on every call: the kernel consumes exactly the beats
// of that command and emits exactly one well-framed response.
#pragma once
#include <memory>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "session_table.hpp"
#include "table_codec.hpp"

namespace sessnic::table_test {

template <class Table>
class KernelHarness {
 public:
  explicit KernelHarness(uint8_t card = 0) : table_(std::make_unique<Table>(card)) {}

  // Runs one command; throws std::logic_error on any stream-contract violation so a
  // test fails loudly with the command that caused it.
  TableResponse run(const TableCommand& c) {
    for (const Beat& b : encode(c)) cmd_.write(b);
    if (!table_->step(cmd_, rsp_)) throw std::logic_error("step() saw no command");
    if (!cmd_.empty()) throw std::logic_error(fmt::format("{} beats of {} left unread", cmd_.size(), describe(c)));
    std::vector<Beat> beats;
    while (!rsp_.empty()) beats.push_back(rsp_.read());
    DecodeResult d = decode(beats);
    if (!d.rsp) throw std::logic_error(fmt::format("bad response to {}: {}", describe(c), d.error));
    return *d.rsp;
  }

  // Shorthands for the common commands.
  TableResponse put(const Bytes& id, const Bytes& blob, uint32_t expiry, unsigned ctx = 0, uint64_t version = 0,
                    unsigned flags = 0, uint32_t tag = 0) {
    TableCommand c = keyed(wire::Opcode::PUT, id, ctx, tag);
    c.blob = blob;
    c.expiry = expiry;
    c.version = version;
    c.flags = flags;
    return run(c);
  }
  TableResponse lookup(wire::Opcode op, const Bytes& id, unsigned ctx = 0, uint32_t tag = 0) {
    return run(keyed(op, id, ctx, tag));
  }
  TableResponse get(const Bytes& id, unsigned ctx = 0) { return lookup(wire::Opcode::GET, id, ctx); }
  TableResponse del(const Bytes& id, uint32_t expiry = 0, uint64_t version = 0, unsigned ctx = 0) {
    TableCommand c = keyed(wire::Opcode::DEL, id, ctx);
    c.expiry = expiry;
    c.version = version;
    return run(c);
  }
  TableResponse set_time(uint32_t now) {
    TableCommand c = make_cmd(wire::Opcode::SET_TIME);
    c.aux = now;
    return run(c);
  }
  std::vector<uint64_t> stats() {
    const TableResponse r = run(make_cmd(wire::Opcode::STATS));
    std::vector<uint64_t> s(wire::STATS_WORDS);
    for (unsigned i = 0; i < wire::STATS_WORDS * 8 && i < r.blob.size(); ++i)
      s[i / 8] |= static_cast<uint64_t>(r.blob[i]) << (8 * (i % 8));
    return s;
  }

  void sweep_step() { table_->sweep_step(); }
  Table& table() { return *table_; }

 private:
  std::unique_ptr<Table> table_;
  hls::stream<Beat> cmd_;
  hls::stream<Beat> rsp_;
};

}  // namespace sessnic::table_test
