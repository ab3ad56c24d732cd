// libsessnic: the one Device API behind which a card sits.
//
// Three interchangeable devices implement it: `model` (the HLS card top in-process),
// `verilator` (the RTL, cycle-accurate) and `xrt` (an Alveo card). The OpenSSL layer,
// the backplane and the dispatcher only ever see this interface.
//
// Error convention for this layer: table outcomes are values (Response::status);
// exceptions only at the boundary where a device is opened or configured.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "wire/sessnic_wire.hpp"

namespace sessnic {

class BackplanePorts;
class CompletionQueue;

// A table key: the TLS session id (1..32 bytes) within a service context.
struct SessionKey {
  std::array<uint8_t, wire::KEY_MAX_BYTES> id{};
  uint8_t len = 0;
  uint8_t ctx = 0;

  // Throws std::invalid_argument unless 1 <= id.size() <= 32.
  static SessionKey make(std::span<const uint8_t> id, uint8_t ctx);
  std::span<const uint8_t> bytes() const { return {id.data(), len}; }
  friend bool operator==(const SessionKey&, const SessionKey&) = default;
};

// One table command. Field meanings are those of the `header` layout in spec/wire.toml.
struct Command {
  wire::Opcode op = wire::Opcode::NOP;
  uint32_t tag = 0;
  SessionKey key;
  uint64_t version = 0;  // 0: the card assigns its next version
  uint32_t expiry = 0;   // absolute, seconds (Unix time)
  uint8_t flags = 0;
  uint64_t aux = 0;
  std::vector<uint8_t> blob;
};

struct Response {
  wire::Status status = wire::Status::FAILED;
  wire::Opcode op = wire::Opcode::NOP;
  uint32_t tag = 0;
  SessionKey key;
  uint64_t version = 0;
  uint32_t expiry = 0;
  uint8_t flags = 0;
  uint8_t card = 0;  // card that answered (low byte of aux; TRANSFER: the destination)
  uint64_t aux = 0;  // TAKE / consuming GET: the tombstone's version
  std::vector<uint8_t> blob;

  bool ok() const { return status == wire::Status::OK || status == wire::Status::EVICTED; }
};

// Decoded STATS counters (names as in spec/wire.toml [stats]).
struct TableStats {
  std::array<uint64_t, wire::STATS_COUNT> counter{};
  uint64_t operator[](wire::StatsIndex i) const { return counter[i]; }
};

// The answer of an asynchronous card command or wait (see Device::execute_async).
using Completion = std::function<void(Response)>;

// A pending Device::await_session. Destroying it (or cancel()) withdraws the wait; it may
// outlive the device (the device answers FAILED when it closes). Move-only.
class SessionWait {
 public:
  SessionWait() = default;
  SessionWait(std::weak_ptr<CompletionQueue> queue, uint64_t id) : queue_(std::move(queue)), id_(id) {}
  SessionWait(SessionWait&& o) noexcept : queue_(std::move(o.queue_)), id_(o.id_) { o.id_ = 0; }
  SessionWait& operator=(SessionWait&& o) noexcept;
  ~SessionWait() { cancel(); }

  // False: the device refused the wait (no backplane pump) and will never call back.
  explicit operator bool() const { return id_ != 0; }
  // True: the callback will never run. False: it ran already (it has returned, unless
  // cancel() is called from inside it), or the wait was refused/released.
  bool cancel();
  // Lets the wait run to its answer without this handle (no cancel on destruction).
  void release() { id_ = 0; }

 private:
  std::weak_ptr<CompletionQueue> queue_;
  uint64_t id_ = 0;
};

// A thread's claim on its own backplane answers (Device::direct_wait). Move-only;
// destroying it ends the claim.
class DirectWait {
 public:
  DirectWait() = default;
  DirectWait(std::function<bool()> poll, std::function<void()> release)
      : poll_(std::move(poll)), release_(std::move(release)) {}
  DirectWait(DirectWait&& o) noexcept : poll_(std::move(o.poll_)), release_(std::move(o.release_)) {
    o.poll_ = nullptr;
    o.release_ = nullptr;
  }
  DirectWait& operator=(DirectWait&&) = delete;
  ~DirectWait() {
    if (release_) release_();
  }
  // False: the device has no direct port; poll() never takes anything.
  explicit operator bool() const { return static_cast<bool>(poll_); }
  // Takes the answers that came for this thread and gives them to the card on this
  // thread (completions included): true if there were any. Non-blocking.
  bool poll() { return poll_ && poll_(); }

 private:
  std::function<bool()> poll_;
  std::function<void()> release_;
};

class Device {
 public:
  virtual ~Device() = default;
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  virtual std::string kind() const = 0;  // "model", "verilator", "xrt"
  virtual uint8_t card_id() const = 0;

  // The one primitive: runs the commands in order and appends one response per
  // command to `out`, in the same order. Safe to call from many threads.
  virtual void execute(std::span<const Command> cmds, std::vector<Response>& out) = 0;

  // The card's backplane ports (frames in/out, time) for the host's transport pump;
  // null when the device has no backplane.
  virtual BackplanePorts* backplane_ports() { return nullptr; }

  // Card commands on the same command stream (thin wrappers: one TRANSFER / PULL
  // command through execute()). The card answers; at the latest at `deadline` (card time,
  // carried in the command's expiry; 0 = the card's default) with FAILED.
  // transfer: moves the session from card `owner` (BROADCAST or this card: from here; any
  // other card: relayed, that card exports it) to card `dest`. OK when it landed;
  // MISS/EXPIRED when there is nothing to move; FAILED on deadline, NACK, peer down or
  // without a backplane. response.card = dest.
  Response transfer(const SessionKey& key, uint8_t dest, uint8_t owner, std::chrono::microseconds deadline);
  // pull: copies the session from card `from` into this card's table. OK when stored.
  Response pull(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline);

  // ---- Asynchronous forms: no thread waits for the backplane -------------------------
  // True when execute_async()/await_session() complete from the device's backplane pump
  // (the model device with a BackplaneNode attached). False: execute_async() runs
  // synchronously and calls `done` before it returns; await_session() is refused.
  virtual bool async_native() const { return false; }
  // Runs one command and calls `done(response)` exactly once. Native: `done` never runs
  // inside this call; it runs on the pump thread (after the frame carrying the answer, or
  // the card's deadline), so it must be short and must not block (post the work elsewhere).
  // It may call back into the device. Device closed before the answer: FAILED, on the
  // closing thread.
  virtual void execute_async(Command cmd, Completion done);
  // TRANSFER / PULL as execute_async (same meaning and statuses as transfer() / pull()).
  void transfer_async(const SessionKey& key, uint8_t dest, uint8_t owner, std::chrono::microseconds deadline,
                      Completion done);
  void pull_async(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline, Completion done);
  // Waits, without a thread, until this card stores `key` (a TRANSFER/PULL/replication
  // frame from the backplane, or a host PUT): done(OK response of a non-consuming EXPORT,
  // blob included); or FAILED once `deadline` (from now) passed or the device closed. A
  // session already on the card completes at the pump's next round (check first with
  // export_entry() to skip that). `done` runs on the pump thread, never inside this call.
  // Cost: one look-up per waiter per batch of received frames, only while waiters exist.
  // Refused (a false SessionWait, `done` never called) when !async_native().
  virtual SessionWait await_session(const SessionKey& key, std::chrono::microseconds deadline, Completion done);
  // Taken before an asynchronous command (a PULL) whose answer this thread means to wait
  // for on itself, polling (HelloLookup's spin): until it is destroyed, the frames this
  // thread's commands send leave from the backplane's direct port, the owner answers
  // there, and poll() hands the answer to the card on this thread, so no pump thread wakes
  // between the answer and the waiter. The completion still runs (from poll(), or from the
  // pump when nobody polls: the pump watches the port again once the claim ends). Empty
  // when the device has no such port (async_native() false, or direct_answers off).
  virtual DirectWait direct_wait() { return {}; }

  // Convenience forms, each one execute() of one command.
  Response put(const SessionKey& key, std::span<const uint8_t> blob, uint32_t expiry, uint8_t flags = 0,
               uint64_t version = 0);
  // The same, the command taking over `blob` (no copy: a sealed session just made).
  Response put(const SessionKey& key, std::vector<uint8_t>&& blob, uint32_t expiry, uint8_t flags = 0,
               uint64_t version = 0);
  Response get(const SessionKey& key);
  Response take(const SessionKey& key);
  Response del(const SessionKey& key, uint32_t expiry = 0);
  Response export_entry(const SessionKey& key);
  Response set_time(uint32_t now);
  Response flush();
  TableStats stats();

 protected:
  Response run_one(Command cmd) { return execute_one(std::move(cmd)); }
  // One command, answered: the path of every convenience form. Default: one execute().
  // A device may answer it without execute()'s per-batch bookkeeping (the model device
  // does: a table hit costs no allocation but the answer's blob).
  virtual Response execute_one(Command cmd);
  static Command transfer_command(const SessionKey& key, uint8_t dest, uint8_t owner,
                                  std::chrono::microseconds deadline);
  static Command pull_command(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline);
};

}  // namespace sessnic
