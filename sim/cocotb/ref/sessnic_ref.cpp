// Python binding of the HLS kernels (hls/) for the cocotb scoreboards: the reference a
// bench compares the RTL against is the same C++ that Vitis synthesises and that the
// model device runs, never a Python re-implementation.
//
//   import sessnic_ref
//   t = sessnic_ref.Table(sets_log2=4, ways=2, slot_bytes=256, card=3)
//   rsp = t.command(beats)            # list of (bytes64, last) in, the same out
//   sessnic_ref.crc32_update(crc, b)  # one 64-byte beat through the kernel's CRC step
//   rx = sessnic_ref.FrameCheck(card=1, peers=0x0F)
//   rx.verdict(beats)                 # which receive check the backplane kernel counted
//   k = sessnic_ref.Peer(card=4, peers=0x12, mode=0, rto=300, hello=2000)
//   k.deliver(frame); k.tick(); k.take_tx()   # a whole kernel card on the other end of a link
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backplane_crc32.hpp"
#include "backplane_sync.hpp"
#include "session_table.hpp"

namespace py = pybind11;

namespace sessnic {
namespace {

using PyBeat = std::pair<py::bytes, bool>;

Beat to_beat(const PyBeat& in) {
  const std::string s = in.first;
  if (s.size() != wire::BEAT_BYTES) throw std::invalid_argument("a beat is exactly 64 bytes");
  Beat b;
  std::memcpy(b.data, s.data(), wire::BEAT_BYTES);
  b.last = in.second;
  return b;
}

PyBeat from_beat(const Beat& b) {
  return {py::bytes(reinterpret_cast<const char*>(b.data), wire::BEAT_BYTES), b.last};
}

std::vector<PyBeat> drain(hls::stream<Beat>& s) {
  std::vector<PyBeat> out;
  while (!s.empty()) out.push_back(from_beat(s.read()));
  return out;
}

// Type-erased SessionTable: the geometry is a template parameter in the kernel, a
// constructor argument here, so the bench can be parametrised like the RTL.
class AnyTable {
 public:
  virtual ~AnyTable() = default;
  virtual std::vector<PyBeat> command(const std::vector<PyBeat>& beats) = 0;
  virtual void sweep_step() = 0;
  virtual std::vector<uint64_t> stats() const = 0;
  virtual unsigned set_of(py::bytes key, unsigned key_len, unsigned ctx) const = 0;
};

template <unsigned S, unsigned W, unsigned B>
class TableOf final : public AnyTable {
 public:
  explicit TableOf(uint8_t card) : t_(std::make_unique<SessionTable<S, W, B>>(card)) {}
  std::vector<PyBeat> command(const std::vector<PyBeat>& beats) override {
    if (beats.empty()) throw std::invalid_argument("a command has at least a header beat");
    hls::stream<Beat> cmd, rsp;
    for (const PyBeat& b : beats) cmd.write(to_beat(b));
    // The kernel drains a command up to its TLAST; beats after it are further commands.
    while (t_->step(cmd, rsp)) {
    }
    return drain(rsp);
  }
  void sweep_step() override { t_->sweep_step(); }
  std::vector<uint64_t> stats() const override {
    uint64_t s[wire::STATS_WORDS];
    t_->stats(s);
    return {s, s + wire::STATS_WORDS};
  }
  unsigned set_of(py::bytes key, unsigned key_len, unsigned ctx) const override {
    std::string k = key;
    k.resize(32, '\0');
    uint64_t words[4];
    std::memcpy(words, k.data(), sizeof words);
    return SessionTable<S, W, B>::set_index(words, key_len, ctx);
  }

 private:
  std::unique_ptr<SessionTable<S, W, B>> t_;  // hundreds of KB: heap, not stack
};

std::unique_ptr<AnyTable> make_table(unsigned sets_log2, unsigned ways, unsigned slot_bytes, uint8_t card) {
  // The geometries the benches are parametrised over (sim/cocotb/sess_table).
  if (sets_log2 == 2 && ways == 1 && slot_bytes == 128) return std::make_unique<TableOf<2, 1, 128>>(card);
  if (sets_log2 == 3 && ways == 2 && slot_bytes == 256) return std::make_unique<TableOf<3, 2, 256>>(card);
  if (sets_log2 == 4 && ways == 2 && slot_bytes == 256) return std::make_unique<TableOf<4, 2, 256>>(card);
  if (sets_log2 == 6 && ways == 4 && slot_bytes == 256) return std::make_unique<TableOf<6, 4, 256>>(card);
  if (sets_log2 == 4 && ways == 4 && slot_bytes == 512) return std::make_unique<TableOf<4, 4, 512>>(card);
  throw std::invalid_argument("sessnic_ref.Table: geometry " + std::to_string(sets_log2) + "/" + std::to_string(ways) +
                              "/" + std::to_string(slot_bytes) + " is not instantiated in sim/cocotb/ref");
}

// The backplane kernel's receive checks: one frame in, which check (if any) counted it.
class FrameCheck {
 public:
  using Bp = BackplaneSync<8, 16>;
  enum Verdict : unsigned { kOk = 0, kBadVersion = 1, kBadLen = 2, kBadCrc = 3, kNotMine = 4 };

  FrameCheck(uint8_t card, uint64_t peers) : table_(std::make_unique<SessionTable<6, 4>>(card)) {
    BackplaneConfig cfg;
    cfg.card = card;
    cfg.mode = wire::BpMode::TRANSFER;
    cfg.peers[0] = peers;
    cfg.hello_interval = 1ull << 40;  // no HELLOs of its own to clear away
    bp_->configure(cfg);
  }

  unsigned verdict(const std::vector<PyBeat>& frame) {
    static constexpr unsigned kIdx[] = {wire::BP_STATS_RX_BAD_VERSION, wire::BP_STATS_RX_BAD_LEN,
                                        wire::BP_STATS_RX_BAD_CRC, wire::BP_STATS_RX_NOT_MINE};
    uint64_t before[4];
    for (unsigned i = 0; i < 4; ++i) before[i] = bp_->counter(kIdx[i]);
    for (const PyBeat& b : frame) frame_in_.write(to_beat(b));
    for (int guard = 0; guard < 1000; ++guard) {
      const bool did = bp_->step(++now_, io_);
      while (!tbl_cmd_.empty()) table_->step(tbl_cmd_, tbl_rsp_);
      if (!did && frame_in_.empty()) break;
    }
    drain(frame_out_);
    drain(rsp_out_);
    for (unsigned i = 0; i < 4; ++i)
      if (bp_->counter(kIdx[i]) != before[i]) return i + 1;
    return kOk;
  }

  uint64_t counter(unsigned i) const { return bp_->counter(i); }

 private:
  std::unique_ptr<Bp> bp_ = std::make_unique<Bp>();
  std::unique_ptr<SessionTable<6, 4>> table_;
  hls::stream<Beat> cmd_in_, rsp_out_, tbl_cmd_, tbl_rsp_, frame_in_, frame_out_;
  Bp::Io io_{cmd_in_, rsp_out_, tbl_cmd_, tbl_rsp_, frame_in_, frame_out_};
  uint64_t now_ = 1;
};

// A whole kernel card (BackplaneSync + its SessionTable<6, 4>), ticked by the bench: the
// far end of the link for the bp_sync bench, as KernelNode is in tests/rtl/backplane_test.
class Peer {
 public:
  using Bp = BackplaneSync<8, 16>;

  Peer(uint8_t card, uint64_t peers, unsigned mode, uint64_t rto, uint64_t hello, uint32_t epoch)
      : table_(std::make_unique<SessionTable<6, 4>>(card)) {
    BackplaneConfig cfg;
    cfg.card = card;
    cfg.epoch = epoch;
    cfg.mode = static_cast<wire::BpMode>(mode);
    cfg.rto = rto;
    cfg.hello_interval = hello;
    cfg.peers[0] = peers;
    bp_->configure(cfg);
  }

  // One tick of the card's clock: the engine and its table run until idle, then timers.
  void tick() {
    for (int guard = 0; guard < 1000; ++guard) {
      const bool did = bp_->step(now_, io_);
      bool tbl = false;
      while (table_->step(tbl_cmd_, tbl_rsp_)) tbl = true;
      if (!did && !tbl) break;
    }
    bp_->service_timers(now_, io_);
    while (!rsp_out_.empty()) {
      const Beat r = rsp_out_.read();
      if (wire::get_field(r.data, wire::header::op) != static_cast<uint64_t>(wire::Opcode::NOP))
        results_.push_back(from_beat(r));
    }
    while (!frame_out_.empty()) tx_.push_back(read_msg(frame_out_));
    ++now_;
  }
  void deliver(const std::vector<PyBeat>& frame) {
    for (const PyBeat& b : frame) frame_in_.write(to_beat(b));
  }
  // Host side of the engine (TRANSFER commands, replicate events).
  void command(const std::vector<PyBeat>& beats) {
    for (const PyBeat& b : beats) cmd_in_.write(to_beat(b));
  }
  std::vector<std::vector<PyBeat>> take_tx() { return std::exchange(tx_, {}); }
  std::vector<PyBeat> take_results() { return std::exchange(results_, {}); }
  // A command straight to this card's table (PUT to seed, GET to check).
  std::vector<PyBeat> table_op(const std::vector<PyBeat>& beats) {
    for (const PyBeat& b : beats) tbl_cmd_.write(to_beat(b));
    while (table_->step(tbl_cmd_, tbl_rsp_)) {
    }
    return drain(tbl_rsp_);
  }
  uint64_t counter(unsigned i) const { return bp_->counter(i); }
  bool peer_up(unsigned card) const { return bp_->peer_up(card); }

 private:
  static std::vector<PyBeat> read_msg(hls::stream<Beat>& s) {
    std::vector<PyBeat> m;
    Beat b;
    do {
      b = s.read();
      m.push_back(from_beat(b));
    } while (!b.last);
    return m;
  }

  std::unique_ptr<Bp> bp_ = std::make_unique<Bp>();
  std::unique_ptr<SessionTable<6, 4>> table_;
  hls::stream<Beat> cmd_in_, rsp_out_, tbl_cmd_, tbl_rsp_, frame_in_, frame_out_;
  Bp::Io io_{cmd_in_, rsp_out_, tbl_cmd_, tbl_rsp_, frame_in_, frame_out_};
  std::vector<std::vector<PyBeat>> tx_;
  std::vector<PyBeat> results_;
  uint64_t now_ = 1;
};

}  // namespace
}  // namespace sessnic

PYBIND11_MODULE(sessnic_ref, m) {
  using namespace sessnic;
  m.doc() = "The sessnic HLS kernels (hls/) as a reference model for cocotb scoreboards";
  m.attr("BEAT_BYTES") = wire::BEAT_BYTES;

  py::class_<AnyTable>(m, "Table")
      .def(py::init([](unsigned sets_log2, unsigned ways, unsigned slot_bytes, unsigned card) {
             return make_table(sets_log2, ways, slot_bytes, static_cast<uint8_t>(card));
           }),
           py::arg("sets_log2"), py::arg("ways"), py::arg("slot_bytes"), py::arg("card"))
      .def("command", &AnyTable::command, py::arg("beats"),
           "Run whole commands (list of (64-byte beat, tlast)); returns the response beats")
      .def("sweep_step", &AnyTable::sweep_step, "One idle step of the expiry sweep (one set)")
      .def("stats", &AnyTable::stats, "The STATS words")
      .def("set_of", &AnyTable::set_of, py::arg("key"), py::arg("key_len"), py::arg("ctx"),
           "The set a key lives in (the kernel's hash)");

  m.def("crc32_init", &crc32_init);
  m.def("crc32_final", &crc32_final, py::arg("crc"));
  m.def(
      "crc32_update",
      [](uint32_t crc, py::bytes beat) {
        const std::string s = beat;
        if (s.size() != wire::BEAT_BYTES) throw std::invalid_argument("a beat is exactly 64 bytes");
        uint64_t w[wire::BEAT_WORDS];
        std::memcpy(w, s.data(), sizeof w);
        for (uint64_t x : w) crc = crc32_word(crc, x);
        return crc;
      },
      py::arg("crc"), py::arg("beat"), "Running CRC-32 after one 64-byte beat (the kernel's slicing-by-8 step)");

  py::class_<FrameCheck>(m, "FrameCheck")
      .def(py::init<uint8_t, uint64_t>(), py::arg("card"), py::arg("peers"))
      .def("verdict", &FrameCheck::verdict, py::arg("frame"),
           "0 passed, 1 bad version, 2 bad length, 3 bad CRC, 4 not mine (as counted by the kernel)")
      .def("counter", &FrameCheck::counter, py::arg("index"));

  py::class_<Peer>(m, "Peer")
      .def(py::init<uint8_t, uint64_t, unsigned, uint64_t, uint64_t, uint32_t>(), py::arg("card"), py::arg("peers"),
           py::arg("mode"), py::arg("rto"), py::arg("hello"), py::arg("epoch") = 1)
      .def("tick", &Peer::tick, "One clock tick: run the engine and its table until idle, then the timers")
      .def("deliver", &Peer::deliver, py::arg("frame"), "A received frame (list of (beat, last))")
      .def("command", &Peer::command, py::arg("beats"), "A host command to the engine (TRANSFER, replicate event)")
      .def("take_tx", &Peer::take_tx, "Frames sent since the last call")
      .def("take_results", &Peer::take_results, "Host result beats (non-NOP) since the last call")
      .def("table_op", &Peer::table_op, py::arg("beats"), "A command straight to this card's table")
      .def("counter", &Peer::counter, py::arg("index"))
      .def("peer_up", &Peer::peer_up, py::arg("card"));
}
