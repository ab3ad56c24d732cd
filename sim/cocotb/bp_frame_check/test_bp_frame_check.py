"""cocotb bench for rtl/backplane_sync/bp_frame_check.sv, scored against the backplane kernel.

Random frames, good and damaged, go into the RTL front end (idle cycles on the input,
back-pressure on the output) and into hls/backplane_sync.hpp (BackplaneSync wired to a
SessionTable, through sessnic_ref.FrameCheck). Each RTL verdict must be the check the
kernel counted the frame under; frames that pass must come out unchanged and in order;
the RTL counters must equal the verdict totals. Coverage: frame type x fault, verdicts.

Runs on Icarus and Verilator.
"""
import os
import random

import cocotb
from cocotb.regression import TestFactory
from cocotb.triggers import RisingEdge
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

import sessnic_wire as wire
from frame_stimulus import FAULTS, random_frame
from sessnic_tb import (Scoreboard, ci_sample, from_beats, load_ref, param, random_pause, recv, reset, run_bench, send,
                        start_clock, stream_pair, wait_until)

CARD = 1
PEERS = 0x0F  # cards 0..3 are members (this card is 1)
VERDICTS = ["ok", "bad_version", "bad_len", "bad_crc", "not_mine"]
TYPES = [t.name for t in wire.FrameType] + ["UNKNOWN"]


@CoverPoint("frame.type", xf=lambda t, f, v: t, bins=TYPES)
@CoverPoint("frame.fault", xf=lambda t, f, v: f, bins=FAULTS)
@CoverPoint("frame.verdict", xf=lambda t, f, v: v, bins=VERDICTS)
@CoverCross("frame.type_x_fault", items=["frame.type", "frame.fault"])
@CoverCross("frame.fault_x_verdict", items=["frame.fault", "frame.verdict"])
def sample(ftype, fault, verdict):
    pass


def report(log):
    for name in sorted(k for k in coverage_db if k.startswith("frame.")):
        item = coverage_db[name]
        log.info("coverage %-20s %3d/%-3d bins (%5.1f%%)", name, item.coverage, item.size, item.cover_percentage)


async def verdicts(dut, clk, out):
    while True:
        await RisingEdge(clk)
        if dut.verdict_valid.value:
            out.append(int(dut.verdict.value))


async def frame_stream(dut, idle, stall, seed):
    cards = param("CARDS", 8)
    clk = start_clock(dut)
    source, sink = stream_pair(dut, clk, "s_frame", "m_frame")
    ref_mod = load_ref()
    ref = ref_mod.FrameCheck(card=CARD, peers=PEERS)
    rng = random.Random(int(os.environ.get("SESSNIC_SEED", seed)))
    dut.card_id.value = CARD
    dut.peers.value = PEERS & ((1 << cards) - 1)
    dut.s_frame_tvalid.value = 0
    await reset(clk, dut.rst)

    n = int(os.environ.get("SESSNIC_FRAMES", 300))
    want, passed = [], Scoreboard(dut._log)
    got = []
    cocotb.start_soon(verdicts(dut, clk, got))
    source.set_pause_generator(random_pause(rng, idle) if idle else None)
    sink.set_pause_generator(random_pause(rng, stall) if stall else None)
    for _ in range(n):
        beats, ftype, fault = random_frame(rng, ref_mod, CARD)
        v = ref.verdict([(b, i == len(beats) - 1) for i, b in enumerate(beats)])
        sample(ftype, fault, VERDICTS[v])
        want.append(v)
        if v == 0:
            passed.expect(from_beats([(b, False) for b in beats]))
        await send(source, b"".join(beats))
    for _ in range(len(passed.expected)):
        passed.check(await recv(sink))
    await wait_until(clk, lambda: len(got) >= n, 200 * n, f"{n} verdicts")
    for i, (w, g) in enumerate(zip(want, got)):
        assert w == g, f"frame {i}: RTL verdict {VERDICTS[g]}, kernel counted {VERDICTS[w]}"
    counters = {"rx_frames": n, "rx_bad_version": want.count(1), "rx_bad_len": want.count(2),
                "rx_bad_crc": want.count(3), "rx_not_mine": want.count(4)}
    for name, value in counters.items():
        assert int(getattr(dut, name).value) == value, f"{name}: RTL {int(getattr(dut, name).value)} != {value}"
    assert all(want.count(v) for v in range(5)), "every verdict must occur (stimulus too weak otherwise)"
    dut._log.info("%d frames: verdicts %s equal to the kernel's; %d passed frames unchanged",
                  n, {VERDICTS[v]: want.count(v) for v in range(5)}, passed.checked)
    report(dut._log)


factory = TestFactory(frame_stream)
factory.add_option(("idle", "stall", "seed"), [(0.0, 0.0, 21), (0.25, 0.0, 22), (0.2, 0.33, 23), (0.0, 0.6, 24)])
factory.generate_tests()


# --- pytest (cocotb-test) ---------------------------------------------------------------
import pytest  # noqa: E402


@pytest.mark.parametrize("cards", [8, 16])
def test_bp_frame_check(cards):
    ci_sample(os.environ.get("SIM", "icarus"), cards == 8)
    run_bench(__file__, "bp_frame_check", "SESSNIC_RTL_BP_FRAME_CHECK_SV", {"CARDS": cards, "SLOT_BYTES": 256})
