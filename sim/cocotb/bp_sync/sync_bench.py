"""The bp_sync bench's harness (sim/cocotb/bp_sync/test_bp_sync*.py): bp_sync.sv wired as on
the card, its table port served by the HLS table (sessnic_ref.Table), its link either to a
whole kernel card (sessnic_ref.Peer, the scoreboard) through a lossy Python link, or, for
directed tests of the sequence layer, to a scripted peer (RawPeer: frames built field by
field in the kernel's format, the RTL's frames captured for inspection).

Everything is observed at the module's ports (frames, table commands, host results,
counters, ev_room), never through internal signals, so the tests hold while bp_sync.sv is
re-pipelined.
"""
import os
import random

import cocotb
from cocotb.triggers import RisingEdge
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

import sessnic_wire as wire
from sessnic_tb import BEAT, load_ref, pad, param, random_pause, reset, start_clock, stream_pair, wait_until

RTL_CARD = 1
KERNEL_CARD = 3
MEMBERS = (1 << RTL_CARD) | (1 << KERNEL_CARD)
BCAST = wire.BpConst.BROADCAST
OP = wire.Opcode
ST = wire.Status
FT = wire.FrameType
STAT = {n: i for i, n in enumerate(wire.BP_STATS_NAMES)}
TYPES = [t.name for t in FT] + ["UNKNOWN"]
STATUSES = [s.name for s in ST]


@CoverPoint("sync.frame_type", xf=lambda d, t, fate: t, bins=TYPES)
@CoverPoint("sync.direction", xf=lambda d, t, fate: d, bins=["rtl_to_kernel", "kernel_to_rtl"])
@CoverPoint("sync.fate", xf=lambda d, t, fate: fate, bins=["delivered", "dropped"])
@CoverCross("sync.type_x_direction_x_fate", items=["sync.frame_type", "sync.direction", "sync.fate"])
def sample_frame(direction, ftype, fate):
    pass


@CoverPoint("sync.result_status", xf=lambda s: s, bins=STATUSES)
def sample_result(status):
    pass


def report(log):
    for name in sorted(k for k in coverage_db if k.startswith("sync.")):
        item = coverage_db[name]
        log.info("coverage %-30s %3d/%-3d bins (%5.1f%%)", name, item.coverage, item.size, item.cover_percentage)


def frame_type(beat):
    t = wire.unpack(wire.FRAME_FIELDS, beat)["ftype"]
    return FT(t).name if t in FT._value2member_map_ else "UNKNOWN"


def split(data):
    n = len(data) // BEAT
    return [(data[i * BEAT:(i + 1) * BEAT], i == n - 1) for i in range(n)]


def command(blob=b"", **fields):
    fields.setdefault("blob_len", len(blob))
    return split(wire.pack(wire.HEADER_FIELDS, fields) + pad(blob))


def key_of(i):
    return f"sess-{i:04d}".encode()


def blob_of(i, n):
    return bytes((i * 7 + j) & 0xFF for j in range(n))


class SyncBench:
    def __init__(self, dut, mode, loss, idle, stall, seed, kernel=True, hub=0, hello=None):
        """kernel=False: no kernel card; the RTL's frames are captured in self.captured and
        the test injects frames (RawPeer). hub: the hub card (mode HUB). hello: the HELLO
        period of both cards (cycles; default PARAM_HELLO_CYCLES)."""
        self.dut = dut
        self.hello = hello or param("HELLO_CYCLES", 2000)
        self.hub = hub
        self.captured = []  # (cycle, frame bytes) the RTL sent, without a kernel card
        self.host_rsps = []  # table answers that went to the host (m_tbl_host: hub pull rerun)
        self.scans = 0  # SCAN commands the RTL sent its table (catch-up walks)
        self.cycle = 0
        self.clk = start_clock(dut)
        seed = int(os.environ.get("SESSNIC_SEED", seed))
        self.rng = random.Random(seed)
        self.loss = loss
        ref = load_ref()
        self.table = ref.Table(sets_log2=6, ways=4, slot_bytes=param("SLOT_BYTES", 256), card=RTL_CARD)
        self.kernel = ref.Peer(card=KERNEL_CARD, peers=MEMBERS, mode=int(mode), rto=param("RTO_CYCLES", 300),
                               hello=self.hello) if kernel else None
        self.host, _ = stream_pair(dut, self.clk, "s_host", None)
        self.tbl_rsp, self.tbl_cmd = stream_pair(dut, self.clk, "s_tbl", "m_tbl")
        self.rx, self.tx = stream_pair(dut, self.clk, "s_rx", "m_tx")
        for src in (self.host, self.tbl_rsp, self.rx):
            src.set_pause_generator(random_pause(self.rng, idle) if idle else None)
        for snk in (self.tbl_cmd, self.tx):
            snk.set_pause_generator(random_pause(self.rng, stall) if stall else None)
        self.results = []
        self.tbl_host_flags = []
        self.stall = stall
        self.mode = mode
        self.dropped = 0
        dut._log.info("mode %s, loss %.2f, idle %.2f, stall %.2f, seed %d", mode.name, loss, idle, stall, seed)

    async def start(self):
        dut = self.dut
        dut.card_id.value = RTL_CARD
        dut.peers.value = MEMBERS
        dut.enable.value = 0
        dut.mode.value = int(self.mode)
        # Run-time settings are registers on the card (spec/regs.rdl bp_*), inputs here.
        dut.epoch.value = 1
        dut.hub_card.value = self.hub
        dut.rto_cycles.value = param("RTO_CYCLES", 300)
        dut.max_retries.value = param("MAX_RETRIES", 12)
        dut.hello_cycles.value = self.hello
        dut.now.value = 0  # no TRANSFER deadlines in this bench (expiry 0)
        dut.ev_valid.value = 0
        dut.ev_tdata.value = 0
        dut.m_res_tready.value = 0
        await reset(self.clk, dut.rst)
        self.table.command(command(op=OP.SET_TIME, aux=100))
        if self.kernel:
            self.kernel.table_op(command(op=OP.SET_TIME, aux=100))
        cocotb.start_soon(self._table())
        cocotb.start_soon(self._tbl_host_monitor())
        cocotb.start_soon(self._link())
        cocotb.start_soon(self._results())
        dut.enable.value = 1
        if not self.kernel:
            return  # the test introduces its scripted peer itself
        # Both ends must know each other's epoch (HELLOs) before reliable frames flow.
        await wait_until(self.clk, lambda: self.kernel.peer_up(RTL_CARD) and self.rtl_tx_frames() > 0,
                         20 * self.hello, "HELLO exchange")
        for _ in range(4 * self.hello // 10):
            await RisingEdge(self.clk)
        await self.catchup_walk(0)

    async def catchup_walk(self, scans_before):
        """A peer joined: in replicate and hub mode the RTL card walks its table for it
        (CATCHUP_SLOTS SCANs; rule 6). Waited for, so no test sees the walk's frames."""
        slots = param("CATCHUP_SLOTS", 0)
        if self.mode != wire.BpMode.TRANSFER and slots:
            await wait_until(self.clk, lambda: self.scans >= scans_before + slots, 400 * slots,
                             "the catch-up walk for the joining card")

    def rtl_tx_frames(self):
        return int(self.dut.cnt_tx_frames.value)

    async def _table(self):
        """The RTL card's table: each command on m_tbl answered by the HLS table on s_tbl,
        or, for a command flagged m_tbl_host (a hub pull's rerun), kept as the answer the
        host gets (sessnic_top routes it there; bp_sync expects no response)."""
        while True:
            frame = await self.tbl_cmd.recv()
            data = bytes(frame.tdata)
            if wire.unpack(wire.HEADER_FIELDS, data[:BEAT])["op"] == OP.SCAN:
                self.scans += 1
            rsp = self.table.command(split(data))
            await wait_until(self.clk, lambda: self.tbl_host_flags, 10, "the m_tbl_host sample of a command")
            if self.tbl_host_flags.pop(0):
                self.host_rsps.append(b"".join(b for b, _ in rsp))
            else:
                await self.tbl_rsp.send(b"".join(b for b, _ in rsp))

    async def _tbl_host_monitor(self):
        """m_tbl_host of each table command, sampled with its last beat."""
        dut = self.dut
        while True:
            await RisingEdge(self.clk)
            self.cycle += 1
            if dut.m_tbl_tvalid.value and dut.m_tbl_tready.value and dut.m_tbl_tlast.value:
                self.tbl_host_flags.append(int(dut.m_tbl_host.value))

    async def _link(self):
        """One kernel tick per card clock; frames cross the link or are lost."""
        while True:
            await RisingEdge(self.clk)
            while not self.tx.empty():
                data = bytes(self.tx.recv_nowait().tdata)
                if self.kernel is None:
                    sample_frame("rtl_to_kernel", frame_type(data[:BEAT]), "delivered")
                    self.captured.append((self.cycle, data))
                    continue
                self._cross("rtl_to_kernel", data, lambda d: self.kernel.deliver(split(d)))
            if self.kernel is None:
                continue
            self.kernel.tick()
            for frame in self.kernel.take_tx():
                data = b"".join(b for b, _ in frame)
                dst = wire.unpack(wire.FRAME_FIELDS, data[:BEAT])["dst"]
                if dst in (RTL_CARD, BCAST):
                    self._cross("kernel_to_rtl", data, lambda d: self.rx.send_nowait(d))

    def _cross(self, direction, data, deliver):
        lost = self.rng.random() < self.loss
        sample_frame(direction, frame_type(data[:BEAT]), "dropped" if lost else "delivered")
        if lost:
            self.dropped += 1
        else:
            deliver(data)

    async def _results(self):
        """m_res has no TLAST (one beat per TRANSFER): taken beat by beat, with back-pressure."""
        dut = self.dut
        while True:
            ready = not (self.stall and self.rng.random() < self.stall)
            dut.m_res_tready.value = int(ready)
            await RisingEdge(self.clk)
            if ready and dut.m_res_tvalid.value:
                self.results.append(wire.unpack(wire.HEADER_FIELDS, bytes(dut.m_res_tdata.value.buff)[::-1]))

    def put_local(self, i, n, expiry=4000):
        """A host PUT on the RTL card's table (as sessnic_top's table would store it)."""
        rsp = self.table.command(command(op=OP.PUT, key=key_of(i), key_len=len(key_of(i)), tag=i, expiry=expiry,
                                         blob=blob_of(i, n)))
        h = wire.unpack(wire.HEADER_FIELDS, rsp[0][0])
        assert h["status"] == ST.OK, f"seeding PUT {i}: {ST(h['status']).name}"
        return h, rsp[0][0]

    def get(self, run, i):
        rsp = run(command(op=OP.GET, key=key_of(i), key_len=len(key_of(i)), tag=i))
        h = wire.unpack(wire.HEADER_FIELDS, rsp[0][0])
        blob = b"".join(b for b, _ in rsp[1:])[:h["blob_len"]]
        return h, blob

    def export_status(self, i):
        rsp = self.table.command(command(op=OP.EXPORT, key=key_of(i), key_len=len(key_of(i)), tag=i))
        return wire.unpack(wire.HEADER_FIELDS, rsp[0][0])["status"]

    async def wait(self, cond, cycles, what):
        await wait_until(self.clk, cond, cycles, what)

    def check_kernel_rx_clean(self):
        for name in ("rx_bad_crc", "rx_bad_version", "rx_bad_len", "rx_not_mine"):
            assert self.kernel.counter(STAT[name]) == 0, f"kernel counted {name} on RTL frames"
        assert self.kernel.counter(STAT["rtx_giveup"]) == 0, "kernel gave up on a frame"
        assert int(self.dut.cnt_giveups.value) == 0, "RTL gave up on a frame"



async def push_event(tb, beat, outstanding):
    """One table response beat into the event port (as sessnic_top feeds it), once fewer
    than 8 events are outstanding (the engine's queue holds 2^EVQ_LOG2)."""
    await tb.wait(lambda: outstanding() < 8, 400 * param("RTO_CYCLES", 300), "event queue space")
    tb.dut.ev_tdata.value = int.from_bytes(beat, "little")
    tb.dut.ev_valid.value = 1
    await RisingEdge(tb.clk)
    tb.dut.ev_valid.value = 0




class RawPeer:
    """A scripted far end (card KERNEL_CARD) for directed tests of the sequence layer:
    frames built field by field in the kernel's format (spec/wire.toml `frame`) and
    injected on s_rx; the RTL's frames are read from the bench's capture. The CRC field
    stays 0: bp_frame_check, in front of bp_sync on the card, checks it, bp_sync does not."""

    def __init__(self, tb, epoch=5, card=KERNEL_CARD):
        self.tb = tb
        self.card = card
        self.epoch = epoch
        self.seen = 0  # frames of tb.captured already returned by frames()

    def frame(self, ftype, seq=0, ack=1, una=0, sack=0, req=0, status=0, arg=0, dst=RTL_CARD, dst_epoch=1, entry=None,
              blob=b"", epoch=None):
        payload = b"" if entry is None else entry + pad(blob)
        hdr = wire.pack(wire.FRAME_FIELDS, dict(
            fver=wire.BpConst.FRAME_VERSION, ftype=int(ftype), src=self.card, dst=dst,
            epoch=self.epoch if epoch is None else epoch, seq=seq, ack=ack,
            dst_epoch=dst_epoch if dst != BCAST else 0, payload_len=len(entry) + len(blob) if entry else 0,
            status=status, arg=arg, req=req, una=una, sack=sack))
        return hdr + payload

    def send(self, ftype, **fields):
        self.tb.rx.send_nowait(self.frame(ftype, **fields))

    def hello(self, reply_wanted=0, **fields):
        self.send(FT.HELLO, dst=BCAST, status=reply_wanted, **fields)

    def frames(self):
        """The RTL's frames since the last call, as (header fields, payload bytes)."""
        new = self.tb.captured[self.seen:]
        self.seen = len(self.tb.captured)
        return [(wire.unpack(wire.FRAME_FIELDS, d[:BEAT]), d[BEAT:]) for _, d in new]

    async def expect(self, pred, cycles, what):
        """The RTL's next frames until one satisfies pred (HELLOs of its own timer are
        skipped); fails after `cycles`. Returns (header, payload) and the frames before it."""
        before = []
        got = []

        def look():
            for f in self.frames():
                if pred(*f):
                    got.append(f)
                    return True
                before.append(f)
            return bool(got)

        await wait_until(self.tb.clk, lambda: got or look(), cycles, what)
        return got[0], before


def entry_beat(i, n, version, expiry=4000, op=OP.PUT, flags=0):
    """An entry beat as a frame carries it (a table header without the host fields)."""
    return wire.pack(wire.HEADER_FIELDS, dict(op=op, key=key_of(i), key_len=len(key_of(i)), version=version,
                                              expiry=expiry, flags=flags, blob_len=n))


def header(beat):
    return wire.unpack(wire.HEADER_FIELDS, beat[:BEAT])
