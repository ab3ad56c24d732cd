#include "sessnic/backplane/prometheus.hpp"

#include <fmt/format.h>

#include <cctype>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace sessnic::backplane {
namespace {

// Appends one metric family: HELP, TYPE, then its samples.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, uint64_t value, std::string_view labels = {}) {
    if (labels.empty()) out_ += fmt::format("{} {}\n", name, value);
    else out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

std::string prometheus_text(const NodeStats& s) {
  Exposition e;
  e.family("sessnic_backplane_info", "gauge", "This node: card id and backplane mode (value always 1).");
  e.sample("sessnic_backplane_info", 1, fmt::format("card=\"{}\",mode=\"{}\"", s.card_id, to_string(s.mode)));

  e.family("sessnic_backplane_peers", "gauge", "Configured peers.");
  e.sample("sessnic_backplane_peers", s.peers.size());
  e.family("sessnic_backplane_peers_up", "gauge", "Peers heard from recently (HELLO or any authentic frame).");
  e.sample("sessnic_backplane_peers_up", s.peers_up());
  e.family("sessnic_backplane_peer_up", "gauge", "1 when this peer is up, 0 when it is down.");
  for (const PeerState& p : s.peers) e.sample("sessnic_backplane_peer_up", p.up ? 1 : 0, fmt::format("peer=\"{}\"", p.card));

  auto by_type = [&](std::string_view name, std::string_view help, const auto& counts) {
    e.family(name, "counter", help);
    for (std::size_t t = 1; t < counts.size(); ++t)
      e.sample(name, counts[t], fmt::format("type=\"{}\"", lower(wire::to_string(static_cast<wire::FrameType>(t)))));
    e.sample(name, counts[0], "type=\"unknown\"");
  };
  by_type("sessnic_backplane_frames_sent_total", "Frames handed to the transport, by type (retransmits included).",
          s.tx_frames_by_type);
  by_type("sessnic_backplane_frames_received_total", "Authenticated frames received, by type.", s.rx_frames_by_type);

  e.family("sessnic_backplane_datagrams_sent_total", "counter", "UDP datagrams sent.");
  e.sample("sessnic_backplane_datagrams_sent_total", s.tx_datagrams);
  e.family("sessnic_backplane_sent_bytes_total", "counter", "Datagram bytes sent (frames and MACs).");
  e.sample("sessnic_backplane_sent_bytes_total", s.tx_bytes);
  e.family("sessnic_backplane_send_errors_total", "counter", "Datagrams the transport failed to send.");
  e.sample("sessnic_backplane_send_errors_total", s.tx_errors);
  e.family("sessnic_backplane_datagrams_received_total", "counter", "UDP datagrams received (before any check).");
  e.sample("sessnic_backplane_datagrams_received_total", s.rx_datagrams);
  e.family("sessnic_backplane_pump_sleeps_total", "counter",
           "Times the pump thread went idle until a datagram, a host command or the card's next timer.");
  e.sample("sessnic_backplane_pump_sleeps_total", s.pump_sleeps);
  e.family("sessnic_backplane_direct_datagrams_total", "counter",
           "Direct answers: datagrams a waiting thread read off the direct port itself (read), and PULL_RESPs sent "
           "to the port their PULL came from (sent).");
  e.sample("sessnic_backplane_direct_datagrams_total", s.rx_direct, "way=\"read\"");
  e.sample("sessnic_backplane_direct_datagrams_total", s.tx_routed, "way=\"sent\"");

  e.family("sessnic_backplane_retransmits_total", "counter", "Reliable frames sent again (timeout or fast retransmit).");
  e.sample("sessnic_backplane_retransmits_total", s[wire::BP_STATS_RETRANSMITS]);
  e.family("sessnic_backplane_fast_retransmits_total", "counter",
           "Retransmits sent at once because the peer's selective ack showed a hole (also in retransmits).");
  e.sample("sessnic_backplane_fast_retransmits_total", s[wire::BP_STATS_FAST_RETRANSMITS]);
  e.family("sessnic_backplane_giveups_total", "counter", "Frames abandoned after the last retry (the peer is marked down).");
  e.sample("sessnic_backplane_giveups_total", s[wire::BP_STATS_RTX_GIVEUP]);
  e.family("sessnic_backplane_acks_delayed_total", "counter",
           "Pure acks held back (ack_delay), by fate: superseded by a later frame to the peer, or sent late.");
  e.sample("sessnic_backplane_acks_delayed_total", s.acks_superseded, "fate=\"superseded\"");
  e.sample("sessnic_backplane_acks_delayed_total", s.acks_delayed_sent, "fate=\"sent\"");

  e.family("sessnic_backplane_drops_total", "counter", "Received frames dropped, by reason.");
  const std::initializer_list<std::pair<const char*, uint64_t>> drops = {
      {"bad_mac", s.rx_bad_mac},  // wrong cluster key, forged or corrupted
      {"truncated", s.rx_truncated},
      {"too_long", s.rx_too_long},
      {"bad_length", s.rx_bad_length},
      {"bad_crc", s[wire::BP_STATS_RX_BAD_CRC]},
      {"bad_version", s[wire::BP_STATS_RX_BAD_VERSION]},
      {"bad_frame", s[wire::BP_STATS_RX_BAD_LEN]},
      {"not_mine", s[wire::BP_STATS_RX_NOT_MINE]},
      {"stale_epoch", s[wire::BP_STATS_RX_STALE_EPOCH]},
      {"duplicate", s[wire::BP_STATS_RX_DUP]},
      {"outside_window", s[wire::BP_STATS_RX_WINDOW]},
      {"busy", s[wire::BP_STATS_RX_BUSY]},
  };
  for (const auto& [reason, n] : drops) e.sample("sessnic_backplane_drops_total", n, fmt::format("reason=\"{}\"", reason));

  e.family("sessnic_backplane_frames_refused_total", "counter",
           "Authentic frames the card could not take at that moment (its input full; the sender resends).");
  e.sample("sessnic_backplane_frames_refused_total", s.rx_refused);
  e.family("sessnic_backplane_events_not_sent_total", "counter", "Replication events with no live destination.");
  e.sample("sessnic_backplane_events_not_sent_total", s[wire::BP_STATS_NOT_SENT]);
  e.family("sessnic_backplane_applied_total", "counter", "Entries from peers applied to the local table.");
  e.sample("sessnic_backplane_applied_total", s[wire::BP_STATS_APPLIED]);
  e.family("sessnic_backplane_apply_failed_total", "counter", "Entries from peers the local table refused.");
  e.sample("sessnic_backplane_apply_failed_total", s[wire::BP_STATS_APPLY_FAILED]);
  e.family("sessnic_backplane_transfers_total", "counter", "Transfers this node carried out, by outcome.");
  e.sample("sessnic_backplane_transfers_total", s[wire::BP_STATS_TRANSFERS_OK], "outcome=\"ok\"");
  e.sample("sessnic_backplane_transfers_total", s[wire::BP_STATS_TRANSFERS_FAILED], "outcome=\"failed\"");
  e.family("sessnic_backplane_pulls_served_total", "counter", "PULL requests answered (hub).");
  e.sample("sessnic_backplane_pulls_served_total", s[wire::BP_STATS_PULLS_SERVED]);
  e.family("sessnic_backplane_peer_joins_total", "counter", "Peers that came up or restarted.");
  e.sample("sessnic_backplane_peer_joins_total", s[wire::BP_STATS_PEER_JOINS]);
  e.family("sessnic_backplane_catchup_pushed_total", "counter", "Entries pushed to (re)joining peers.");
  e.sample("sessnic_backplane_catchup_pushed_total", s.catchup_pushed);
  e.family("sessnic_backplane_catchup_walks_total", "counter", "Catch-up walks of the card's table (SCAN).");
  e.sample("sessnic_backplane_catchup_walks_total", s[wire::BP_STATS_CATCHUP_WALKS]);
  return e.take();
}

}  // namespace sessnic::backplane
