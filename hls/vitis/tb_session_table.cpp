// C-simulation testbench for the `session_table` HLS top (hls/session_table_top.cpp).
//
// Runs under Vitis HLS C-sim (`make csim` here) and, with the project's stream shim,
// under plain g++ as the ctest `table_vitis_tb` — so it is known to pass before
// anyone with Vitis runs it. It drives the free-running top exactly as the card does:
// commands go into the `cmd` stream, the top is called until they are consumed, and
// idle calls run the background expiry sweep. The streams are the top's AXI4-Stream
// ports (AxisBeat: TDATA + TLAST), so the framing the kernel sees is the TLAST the
// testbench drives. Returns 0 on success (Vitis convention).
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../session_table_top.hpp"

using sessnic::AxisBeat;
using sessnic::Beat;
namespace wire = sessnic::wire;

namespace {

int failures = 0;
uint32_t reset_gen = 0;  // the top's reset register

void check(bool ok, const char* what) {
  printf("%s %s\n", ok ? "PASS" : "FAIL", what);
  if (!ok) ++failures;
}

struct Reply {
  unsigned status, tag, blob_len;
  bool tlast_ok;  // TLAST on the last beat of the response and on no other
  uint64_t version;
  uint8_t blob[512];
};

// Encodes one command: header beat, then the blob in 64-byte beats. `beats_sent`
// (default: as blob_len says) lets a test end the command early with TLAST.
void send(hls::stream<AxisBeat>& cmd, wire::Opcode op, uint32_t tag, const uint8_t* key, unsigned key_len,
          const uint8_t* blob, unsigned blob_len, uint32_t expiry, uint64_t aux, int beats_sent = -1) {
  Beat h;
  sessnic::clear_beat(h);
  wire::set_field(h.data, wire::header::op, static_cast<unsigned>(op));
  wire::set_field(h.data, wire::header::tag, tag);
  wire::set_field(h.data, wire::header::key_len, key_len);
  for (unsigned i = 0; i < key_len && i < 32; ++i) h.data[1 + i / 8] |= static_cast<uint64_t>(key[i]) << (8 * (i % 8));
  wire::set_field(h.data, wire::header::expiry, expiry);
  wire::set_field(h.data, wire::header::blob_len, blob_len);
  wire::set_field(h.data, wire::header::aux, aux);
  const unsigned beats = beats_sent < 0 ? sessnic::beats_for(blob_len) : static_cast<unsigned>(beats_sent);
  h.last = beats == 0;
  cmd.write(sessnic::to_axis(h));
  for (unsigned b = 0; b < beats; ++b) {
    Beat d;
    sessnic::clear_beat(d);
    for (unsigned i = 0; i < wire::BEAT_BYTES && b * wire::BEAT_BYTES + i < blob_len; ++i)
      d.data[i / 8] |= static_cast<uint64_t>(blob[b * wire::BEAT_BYTES + i]) << (8 * (i % 8));
    d.last = b + 1 == beats;
    cmd.write(sessnic::to_axis(d));
  }
}

Reply receive(hls::stream<AxisBeat>& rsp) {
  Reply r;
  memset(&r, 0, sizeof r);
  if (rsp.empty()) {
    r.status = 0xff;  // no response at all
    return r;
  }
  const AxisBeat ha = rsp.read();
  const Beat h = sessnic::to_beat(ha);
  r.status = static_cast<unsigned>(wire::get_field(h.data, wire::header::status));
  r.tag = static_cast<unsigned>(wire::get_field(h.data, wire::header::tag));
  r.blob_len = static_cast<unsigned>(wire::get_field(h.data, wire::header::blob_len));
  r.version = wire::get_field(h.data, wire::header::version);
  const unsigned n = sessnic::beats_for(r.blob_len);
  r.tlast_ok = (ha.last != 0) == (n == 0) && ha.keep.range(63, 0).to_uint64() == ~0ull;
  for (unsigned b = 0; b < n; ++b) {
    if (rsp.empty()) {
      r.tlast_ok = false;
      break;
    }
    const AxisBeat da = rsp.read();
    const Beat d = sessnic::to_beat(da);
    if ((da.last != 0) != (b + 1 == n)) r.tlast_ok = false;
    for (unsigned i = 0; i < wire::BEAT_BYTES; ++i)
      if (b * wire::BEAT_BYTES + i < sizeof r.blob) r.blob[b * wire::BEAT_BYTES + i] = static_cast<uint8_t>(d.data[i / 8] >> (8 * (i % 8)));
  }
  return r;
}

// Calls the free-running top until the command stream is drained, plus `idle` calls.
void run(hls::stream<AxisBeat>& cmd, hls::stream<AxisBeat>& rsp, uint8_t card, unsigned idle = 0) {
  while (!cmd.empty()) sessnic::session_table(cmd, rsp, card, reset_gen);
  for (unsigned i = 0; i < idle; ++i) sessnic::session_table(cmd, rsp, card, reset_gen);
}

Reply call(hls::stream<AxisBeat>& cmd, hls::stream<AxisBeat>& rsp, wire::Opcode op, uint32_t tag, const uint8_t* key,
           unsigned key_len, const uint8_t* blob = 0, unsigned blob_len = 0, uint32_t expiry = 0, uint64_t aux = 0) {
  send(cmd, op, tag, key, key_len, blob, blob_len, expiry, aux);
  run(cmd, rsp, 9);
  return receive(rsp);
}

uint64_t stat(hls::stream<AxisBeat>& cmd, hls::stream<AxisBeat>& rsp, unsigned index) {
  const Reply r = call(cmd, rsp, wire::Opcode::STATS, 77, 0, 0);
  uint64_t v = 0;
  for (unsigned i = 0; i < 8; ++i) v |= static_cast<uint64_t>(r.blob[index * 8 + i]) << (8 * i);
  return v;
}

}  // namespace

int main() {
  hls::stream<AxisBeat> cmd, rsp;
  const unsigned OK = static_cast<unsigned>(wire::Status::OK);
  uint8_t key[32], blob[300];
  for (unsigned i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(0xa0 + i);
  for (unsigned i = 0; i < sizeof blob; ++i) blob[i] = static_cast<uint8_t>(i * 13 + 5);

  check(call(cmd, rsp, wire::Opcode::SET_TIME, 1, 0, 0, 0, 0, 0, 1000).status == OK, "SET_TIME");

  Reply r = call(cmd, rsp, wire::Opcode::PUT, 2, key, 32, blob, 200, 1010);
  check(r.status == OK && r.tag == 2, "PUT 200-byte blob");
  check(r.version == ((1u << wire::CARD_BITS) | 9u), "PUT takes local version 1 of card 9");

  r = call(cmd, rsp, wire::Opcode::GET, 3, key, 32);
  check(r.status == OK && r.blob_len == 200 && memcmp(r.blob, blob, 200) == 0, "GET returns the blob");
  check(r.tlast_ok, "GET response: TLAST on its 5th beat only, TKEEP all ones");

  // The kernel frames commands by TLAST: a PUT whose TLAST comes a beat early is BAD_CMD.
  key[0] = 0x55;
  send(cmd, wire::Opcode::PUT, 40, key, 32, blob, 200, 1010, 0, 3);
  run(cmd, rsp, 9);
  r = receive(rsp);
  check(r.status == static_cast<unsigned>(wire::Status::BAD_CMD) && r.tag == 40 && r.tlast_ok,
        "PUT ended early by TLAST: BAD_CMD");
  r = call(cmd, rsp, wire::Opcode::GET, 41, key, 32);
  check(r.status == static_cast<unsigned>(wire::Status::MISS), "nothing stored by the short PUT");
  key[0] = 0xa0;

  r = call(cmd, rsp, wire::Opcode::PUT, 4, key, 16, blob, 300, 1010);
  check(r.status == static_cast<unsigned>(wire::Status::TOO_LARGE) && r.tag == 4, "PUT 300 bytes: TOO_LARGE");

  send(cmd, static_cast<wire::Opcode>(42), 5, key, 8, 0, 0, 0, 0);
  run(cmd, rsp, 9);
  r = receive(rsp);
  check(r.status == static_cast<unsigned>(wire::Status::BAD_CMD) && r.tag == 5, "bad opcode: BAD_CMD");

  r = call(cmd, rsp, wire::Opcode::TAKE, 6, key, 32);
  check(r.status == OK && r.blob_len == 200, "TAKE returns the entry");
  r = call(cmd, rsp, wire::Opcode::GET, 7, key, 32);
  check(r.status == static_cast<unsigned>(wire::Status::MISS), "GET after TAKE: MISS");

  // Fill a few entries, let them expire, and let idle calls sweep them.
  for (unsigned i = 0; i < 8; ++i) {
    key[0] = static_cast<uint8_t>(i);
    call(cmd, rsp, wire::Opcode::PUT, 10 + i, key, 32, blob, 64, 1005);
  }
  check(stat(cmd, rsp, wire::STATS_LIVE) == 8, "8 live entries");
  call(cmd, rsp, wire::Opcode::SET_TIME, 20, 0, 0, 0, 0, 0, 1005);
  run(cmd, rsp, 9, sessnic::HwTable::kSets);  // one full sweep of idle calls
  check(stat(cmd, rsp, wire::STATS_SWEPT) == 8, "idle sweep freed the 8 expired entries");
  check(stat(cmd, rsp, wire::STATS_LIVE) == 0, "no live entries left");
  check(stat(cmd, rsp, wire::STATS_CARD) == 9, "card id register applied");

  // The reset register: a new generation empties the table and zeroes the counters.
  key[0] = 0x77;
  call(cmd, rsp, wire::Opcode::PUT, 50, key, 32, blob, 64, 2000);
  check(stat(cmd, rsp, wire::STATS_LIVE) == 1, "one live entry before the reset");
  ++reset_gen;
  run(cmd, rsp, 9, 1);  // the call that sees the new generation resets, nothing else
  check(rsp.empty(), "the reset call answers nothing");
  check(stat(cmd, rsp, wire::STATS_LIVE) == 0 && stat(cmd, rsp, wire::STATS_SWEPT) == 0, "reset: counters zero");
  r = call(cmd, rsp, wire::Opcode::GET, 51, key, 32);
  check(r.status == static_cast<unsigned>(wire::Status::MISS), "reset: the entry is gone");
  check(rsp.empty(), "no stray response beats");

  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
