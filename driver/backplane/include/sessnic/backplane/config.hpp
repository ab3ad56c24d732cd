// Configuration of one backplane node: a plain struct the dispatcher and servers fill
// from their TOML files (docs/backplane.md lists the keys). The node writes the card's
// part of it into the card's registers (card_registers()).
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "wire/sessnic_wire.hpp"

namespace sessnic::backplane {

enum class Mode : uint8_t { replicate, transfer, hub };
// "replicate" / "transfer" / "hub"; throws std::invalid_argument for anything else.
Mode parse_mode(const std::string& name);
const char* to_string(Mode m);

struct PeerAddress {
  uint8_t card = 0;
  std::string host = "127.0.0.1";  // numeric IPv4 address
  uint16_t port = 0;
};

struct NodeConfig {
  uint8_t card_id = 0;  // 0..254 (255 is the broadcast address)
  Mode mode = Mode::replicate;
  uint8_t hub_card = 0;  // mode hub: the central repository
  // UDP transport: where this node listens (loopback by default) and the static peer list.
  std::string bind_host = "127.0.0.1";
  uint16_t bind_port = 0;  // 0 = any free port (tests)
  std::vector<PeerAddress> peers;
  // The 32-byte cluster key; the frame MAC key is HKDF-SHA256(cluster_key, info =
  // "sessnic backplane mac"), so the key file's bytes never authenticate frames directly.
  std::array<uint8_t, 32> cluster_key{};
  // Epoch: 0 = derived from the wall clock (100 ms units since 2025), so a restarted
  // process always has a larger one. Tests set it explicitly.
  uint32_t epoch = 0;
  // Reliability.
  std::chrono::microseconds rto{2000};
  uint32_t max_retries = 12;
  std::chrono::microseconds hello_interval{50000};
  // Largest UDP payload we send or accept (1500-byte Ethernet MTU minus IP/UDP headers).
  std::size_t mtu = 1472;
  // The card's role and request deadlines (card registers `passive`, `deadline`,
  // `pull_deadline`): a passive card holds no table (the dispatcher), peers do not
  // replicate to it.
  bool passive = false;
  std::chrono::microseconds transfer_deadline{200000};  // TRANSFER/PULL sent without one
  std::chrono::microseconds pull_deadline{2000};        // hub mode: pull on a GET/TAKE miss
  // The pump thread at real-time priority (SCHED_FIFO 1) where the process may (root or
  // CAP_SYS_NICE): a frame arriving on a busy host is forwarded at once instead of after
  // the running thread's time slice. Off by default: in the peer benchmark's cluster it
  // cut transfer timeouts from ~20% to ~2% but cost ~17% of the handshakes per second at
  // saturation (docs/backplane.md, "Latency"); in replicate mode it also costs 2-3x the
  // CPU per replicated session (each PUT's frame goes alone). Refused: normal (logged).
  bool pump_realtime = false;
  // Frames a host command makes (a TRANSFER request, a replicated PUT) leave from the
  // calling thread when the device supports it (BackplanePorts::on_frames_out), instead of
  // waking the pump thread to send them: one thread wake-up less per transfer.
  bool send_from_caller = true;
  // A pure acknowledgement (an ACK frame carrying no transfer outcome) waits up to this long
  // in the pump before it is sent, and is dropped when any later frame to the same peer
  // goes first (every frame carries the ack and sack). A move's frames then wake each pump
  // once instead of twice: the bare acks of a TRANSFER_REQ and of its TRANSFER_RESULT used
  // to wake the dispatcher's and the owner's pumps inside the client's handshake. Keep it
  // well below `rto` (the sender's retransmit floor); 0 sends every ack at once.
  std::chrono::microseconds ack_delay{500};
  // A second UDP socket (the direct port, on bind_host, any free port) for frames a thread
  // sends and then waits for on its own thread (a server's pull while its ClientHello
  // callback waits, pull_spin_us): the owner answers a PULL to the port it came from and
  // that thread reads the answer itself, so this node's pump does not wake on the client's
  // path. Either way a node answers a PULL that came from a peer's direct port there
  // (first transmission only; retransmits go to the node address).
  bool direct_answers = true;
};

}  // namespace sessnic::backplane
