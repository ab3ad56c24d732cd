// The `model` device: the HLS session-table kernel (hls/session_table.hpp) running
// in-process. It is what production servers use when no card is present, so it is
// the same kernel code the card runs, fed through the same codec as every device.
//
// Threading: one mutex around the kernel and its streams. A batch (execute()) holds
// it once, so a batch is atomic with respect to other threads, as on the card where a
// batch is one burst into the command FIFO.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <stdexcept>
#include <mutex>

#include "sessnic/card_clock.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/open_device.hpp"
#include "session_table.hpp"

namespace sessnic {
namespace {

template <typename Table>
class ModelDevice final : public Device {
 public:
  explicit ModelDevice(const DeviceConfig& config)
      // new, not make_unique<>(): the constructor writes only the metadata; the blob
      // array (the bulk of ~300 MB for ModelTable) is left untouched so the OS maps
      // its pages on first use.
      : table_(new Table(config.card_id)),
        clock_(config.clock ? config.clock : wall_clock_seconds),
        sweep_steps_(config.sweep_steps_per_batch) {
    if (config.prefault) prefault();
  }

  std::string kind() const override { return "model"; }
  uint8_t card_id() const override { return table_->card(); }

  void execute(std::span<const Command> cmds, std::vector<Response>& out) override {
    out.reserve(out.size() + cmds.size());
    std::lock_guard<std::mutex> lock(mu_);
    sync_clock();
    for (const Command& c : cmds) {
      if (!codec::encodable(c)) {
        out.push_back(codec::local_response(c, wire::Status::TOO_LARGE));
        continue;
      }
      codec::encode(c, cmd_);
      table_->step(cmd_, rsp_);
      out.push_back(codec::read_response(rsp_));
    }
    for (unsigned i = 0; i < sweep_steps_; ++i) table_->sweep_step();
  }

 private:
  // Maps every page of the table now (contents untouched: the kernel zero-fills them).
  void prefault() {
#ifdef MADV_POPULATE_WRITE
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<uintptr_t>(table_.get());
    const uintptr_t first = (begin + page - 1) & ~(page - 1);
    const uintptr_t last = (begin + sizeof(Table)) & ~(page - 1);
    if (last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#endif
  }

  // SET_TIME whenever the clock's second changed since the last batch.
  void sync_clock() {
    const uint32_t now = clock_();
    const std::optional<Command> c = clock_sync_.due(now);
    if (!c) return;
    codec::encode(*c, cmd_);
    table_->step(cmd_, rsp_);
    (void)codec::read_response(rsp_);
    clock_sync_.ran(now);
  }

  std::mutex mu_;
  std::unique_ptr<Table> table_;
  hls::stream<Beat> cmd_;
  hls::stream<Beat> rsp_;
  std::function<uint32_t()> clock_;
  unsigned sweep_steps_;
  CardClockSync clock_sync_;
};

}  // namespace

uint32_t wall_clock_seconds() { return static_cast<uint32_t>(std::time(nullptr)); }

std::unique_ptr<Device> make_model_device(const DeviceConfig& config) {
  switch (config.geometry) {
    case TableGeometry::full:
      return std::make_unique<ModelDevice<ModelTable>>(config);
    case TableGeometry::small:
      return std::make_unique<ModelDevice<SessionTable<10, 4>>>(config);
    case TableGeometry::tiny:
      return std::make_unique<ModelDevice<SessionTable<2, 2>>>(config);
  }
  throw std::invalid_argument("unknown table geometry");
}

}  // namespace sessnic
