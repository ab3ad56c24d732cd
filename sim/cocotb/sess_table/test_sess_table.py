"""cocotb bench for rtl/sess_table/sess_table.sv, scored against the HLS kernel.

Every command goes to the RTL (cocotbext-axi, with idle cycles and back-pressure) and
to hls/session_table.hpp through the sessnic_ref binding; every response must equal the
kernel's, beat for beat and in order. Parameters: PARAM_SETS_LOG2, PARAM_WAYS,
PARAM_SLOT_BYTES (`make` in this folder, or pytest over several geometries).
"""
import os
import random

import cocotb
from cocotb.regression import TestFactory
from cocotb.triggers import RisingEdge

import sessnic_wire as wire
import table_coverage
from sessnic_tb import (Scoreboard, ci_sample, load_ref, param, random_pause, recv, reset, run_bench, send, start_clock,
                        stream_pair, to_beats, from_beats, wait_until)
from table_stimulus import Command, TableStimulus

CARD = 3
OP = wire.Opcode
ST = wire.Status


def describe(data):
    h = wire.unpack(wire.HEADER_FIELDS, data[:64])
    return ("op={op} status={status} key_len={key_len} tag={tag:08x} blob_len={blob_len} "
            "version={version:x} expiry={expiry} beats={n}").format(n=len(data) // 64, **h)


class WayInvariant:
    """The invariant "at most one way per key per set", checked on every metadata write:
    a shadow of the metadata RAMs is kept from the write port (wr_meta_en, wr_addr,
    wr_meta: META_W = 384 bits per way, key at 0, key_len at 352, ctx at 360), and after
    each write no two occupied ways (live or tombstone) of the set may hold the same
    (key, key_len, ctx). Internal signals, read the same way on Icarus and Verilator."""

    META_W = 384

    def __init__(self, dut, ways):
        self.dut, self.ways = dut, ways
        self.sets = {}
        self.writes = 0  # way writes that store a key (not a clear)

    def ident(self, meta):
        klen = (meta >> 352) & 0x3F
        return None if klen == 0 else (klen, (meta >> 360) & 0xFF, meta & ((1 << 256) - 1))

    async def run(self, clk):
        dut = self.dut
        while True:
            await RisingEdge(clk)
            en = dut.wr_meta_en.value
            if not en.is_resolvable or en.integer == 0 or dut.rst.value:
                continue
            addr, meta = dut.wr_addr.value.integer, dut.wr_meta.value.binstr[::-1]  # bit i at [i]
            ways = self.sets.setdefault(addr, [None] * self.ways)
            for w in range(self.ways):
                if en.integer >> w & 1:
                    bits = meta[w * self.META_W:(w + 1) * self.META_W]
                    assert set(bits) <= {"0", "1"}, f"set {addr} way {w}: metadata write with X/Z bits"
                    ways[w] = self.ident(int(bits[::-1], 2))
                    self.writes += ways[w] is not None
            held = [k for k in ways if k is not None]
            assert len(held) == len(set(held)), (
                f"set {addr}: one key in two ways after a metadata write: "
                + ", ".join(f"way {w} key_len {k[0]} ctx {k[1]}" for w, k in enumerate(ways) if k and held.count(k) > 1))


class TableBench:
    def __init__(self, dut, seed=None):
        self.dut = dut
        self.sets_log2 = param("SETS_LOG2", 4)
        self.ways = param("WAYS", 2)
        self.slot = param("SLOT_BYTES", 256)
        self.clk = start_clock(dut)
        self.source, self.sink = stream_pair(dut, self.clk, "s_cmd", "m_rsp")
        self.ref = load_ref().Table(sets_log2=self.sets_log2, ways=self.ways, slot_bytes=self.slot, card=CARD)
        self.sb = Scoreboard(dut._log, describe)
        seed = int(os.environ.get("SESSNIC_SEED", seed if seed is not None else 1))
        self.rng = random.Random(seed)
        dut._log.info("geometry %d sets x %d ways x %d B, seed %d",
                      1 << self.sets_log2, self.ways, self.slot, seed)

    async def reset(self):
        dut = self.dut
        dut.card_id.value = CARD
        dut.sweep_enable.value = 0
        dut.s_cmd_tvalid.value = 0
        dut.m_rsp_tready.value = 0
        await reset(self.clk, dut.rst)
        self.ways_checked = WayInvariant(dut, self.ways)
        cocotb.start_soon(self.ways_checked.run(self.clk))
        # The table clears every set after reset (one set a cycle).
        await wait_until(self.clk, lambda: not dut.flushing.value, 4 * (1 << self.sets_log2) + 16, "reset flush")

    def expect(self, cmd):
        """The kernel's answer to `cmd`, queued on the scoreboard; returns it as bytes."""
        data = cmd.encode()
        before = self.ref.stats()
        rsp = from_beats(self.ref.command(to_beats(data)))
        table_coverage.sample(cmd.fields.get("op", 0), rsp[1], before, self.ref.stats())
        self.sb.expect(rsp, describe(data))
        return rsp

    async def stream(self, cmds, idle=0.0, stall=0.0, timeout_us=400):
        """Sends every command back to back (with idle/stall probabilities) and checks the
        responses as they arrive, in order."""
        self.source.set_pause_generator(random_pause(self.rng, idle) if idle else None)
        self.sink.set_pause_generator(random_pause(self.rng, stall) if stall else None)
        for c in cmds:
            self.expect(c)
            await send(self.source, c.encode())
        for _ in cmds:
            self.sb.check(await recv(self.sink, timeout_us))
        assert not self.sb.expected

    async def one(self, cmd):
        """One command, its response checked against the kernel and returned decoded."""
        want = self.expect(cmd)
        await send(self.source, cmd.encode())
        self.sb.check(await recv(self.sink))
        return wire.unpack(wire.HEADER_FIELDS, want[:64]), want[64:]

    def done(self):
        self.dut._log.info("%d responses equal to the kernel's; %d keyed metadata writes kept one way per key per set",
                           self.sb.checked, self.ways_checked.writes)
        assert self.ways_checked.writes > 0, "the way invariant saw no keyed metadata write"
        table_coverage.report(self.dut._log)


@cocotb.test()
async def directed_transactions(dut):
    """PUT/GET/TAKE/TOO_LARGE/BAD_CMD/STATS, each answer also asserted by meaning."""
    t = TableBench(dut)
    await t.reset()
    key = bytes(range(1, 33))
    blob = bytes((i * 7) & 0xFF for i in range(min(200, t.slot)))

    rsp, _ = await t.one(Command(op=OP.SET_TIME, tag=1, aux=1000))
    assert rsp["status"] == ST.OK and rsp["aux"] == CARD
    rsp, _ = await t.one(Command(op=OP.PUT, tag=2, key=key, key_len=32, expiry=2000, blob=blob))
    assert rsp["status"] == ST.OK and rsp["version"] == (1 << wire.CARD_BITS) | CARD
    rsp, got = await t.one(Command(op=OP.GET, tag=3, key=key, key_len=32))
    assert rsp["status"] == ST.OK and got[:len(blob)] == blob and rsp["expiry"] == 2000
    rsp, got = await t.one(Command(op=OP.TAKE, tag=4, key=key, key_len=32))
    assert rsp["status"] == ST.OK and got[:len(blob)] == blob, "TAKE returns the blob once"
    rsp, got = await t.one(Command(op=OP.GET, tag=5, key=key, key_len=32))
    assert rsp["status"] == ST.MISS and got == b"", "TAKE left a tombstone"
    rsp, _ = await t.one(Command(op=OP.PUT, tag=6, key=key, key_len=32, expiry=2000, blob=bytes(t.slot + 44)))
    assert rsp["status"] == ST.TOO_LARGE
    rsp, _ = await t.one(Command(op=0x42, tag=7, key=key, key_len=32))
    assert rsp["status"] == ST.BAD_CMD
    rsp, _ = await t.one(Command(op=OP.GET, tag=8, key=b"", key_len=0))
    assert rsp["status"] == ST.BAD_CMD, "an empty session id is malformed"
    rsp, stats = await t.one(Command(op=OP.STATS, tag=9))
    c = dict(zip(wire.STATS_NAMES, (int.from_bytes(stats[i:i + 8], "little") for i in range(0, 128, 8))))
    assert c["puts"] == 1 and c["hits"] == 2 and c["misses"] == 1 and c["too_large"] == 1
    assert c["bad_cmd"] == 2 and c["tombstones"] == 1 and c["now"] == 1000 and c["card"] == CARD
    t.done()


async def random_stream(dut, idle, stall, hot, seed):
    """Random commands against the kernel, with idle insertion and back-pressure."""
    t = TableBench(dut, seed)
    await t.reset()
    n = int(os.environ.get("SESSNIC_COMMANDS", 250))
    gen = TableStimulus(t.rng, t.ref, t.slot, hot=hot)
    await t.stream([gen.next() for _ in range(n)], idle=idle, stall=stall)
    # Every stream must have exercised the table, not only its error paths.
    got = dict(zip(wire.STATS_NAMES, t.ref.stats()))
    assert got["hits"] and got["misses"] and got["puts"] and got["bad_cmd"], got
    t.done()


factory = TestFactory(random_stream)
factory.add_option(("idle", "stall", "hot", "seed"), [
    (0.0, 0.0, False, 11),   # back to back, tvalid and tready every cycle
    (0.0, 0.4, False, 12),   # back-pressure
    (0.3, 0.7, False, 13),   # gaps and heavy back-pressure
    (0.0, 0.2, True, 14),    # hot sets: evictions, same-set hazards
    (0.1, 0.1, True, 15),
])
factory.generate_tests()


@cocotb.test()
async def flush_full_table_under_backpressure(dut):
    """FLUSH with every way full, responses throttled: the next commands all MISS."""
    t = TableBench(dut, 21)
    await t.reset()
    keys = [bytes(t.rng.getrandbits(8) for _ in range(32)) for _ in range(2 * t.ways << t.sets_log2)]
    cmds = [Command(op=OP.SET_TIME, aux=100)]
    cmds += [Command(op=OP.PUT, key=k, key_len=32, expiry=5000, blob=k) for k in keys]
    cmds += [Command(op=OP.FLUSH)] + [Command(op=OP.GET, key=k, key_len=32) for k in keys[:16]]
    cmds += [Command(op=OP.STATS)]
    await t.stream(cmds, stall=0.5, timeout_us=2000)
    assert dict(zip(wire.STATS_NAMES, t.ref.stats()))["live"] == 0
    t.done()


@cocotb.test()
async def sweep_frees_what_one_kernel_pass_frees(dut):
    """The idle sweep (sweep_enable) frees exactly what one pass of the kernel's
    sweep_step() frees: STATS equal, then expired keys MISS."""
    t = TableBench(dut, 22)
    await t.reset()
    keys = [bytes(t.rng.getrandbits(8) for _ in range(32)) for _ in range(t.ways << t.sets_log2)]
    cmds = [Command(op=OP.SET_TIME, aux=100)]
    cmds += [Command(op=OP.PUT, key=k, key_len=32, expiry=150 if i % 2 else 900, blob=k[:8])
             for i, k in enumerate(keys)]
    cmds += [Command(op=OP.SET_TIME, aux=500)]
    await t.stream(cmds)
    dut.sweep_enable.value = 1
    for _ in range(4 << t.sets_log2):  # several passes of the RTL: only the first frees anything
        await RisingEdge(t.clk)
    dut.sweep_enable.value = 0
    await RisingEdge(t.clk)
    for _ in range(1 << t.sets_log2):
        t.ref.sweep_step()
    swept = dict(zip(wire.STATS_NAMES, t.ref.stats()))["swept"]
    assert swept > 0, "the kernel pass freed nothing: the test proves nothing"
    await t.stream([Command(op=OP.STATS)] + [Command(op=OP.GET, key=k, key_len=32) for k in keys[1::2][:8]])
    t.done()


# --- pytest (cocotb-test) ---------------------------------------------------------------
import pytest  # noqa: E402

GEOMETRIES = [(4, 2, 256), (2, 1, 128), (3, 2, 256)]


@pytest.mark.parametrize("sets_log2,ways,slot_bytes", GEOMETRIES, ids=lambda v: str(v))
def test_sess_table(sets_log2, ways, slot_bytes):
    ci_sample(os.environ.get("SIM", "icarus"), (sets_log2, ways, slot_bytes) == GEOMETRIES[0])
    run_bench(__file__, "sess_table", "SESSNIC_RTL_SESS_TABLE_SV",
              {"SETS_LOG2": sets_log2, "WAYS": ways, "SLOT_BYTES": slot_bytes})
