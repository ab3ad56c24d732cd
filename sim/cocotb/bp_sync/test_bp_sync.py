"""cocotb bench for rtl/backplane_sync/bp_sync.sv: the RTL sequence layer against a kernel card.

The DUT (card 1) is wired as on the card: its table port is served by the HLS table
(sessnic_ref.Table, the kernel the RTL table is proven equal to), its link goes through
a lossy Python link to a whole kernel card (sessnic_ref.Peer: hls/backplane_sync.hpp with
its own SessionTable, card 3). The kernel card is the scoreboard: what it receives must
pass its frame checks and be applied, what it sends must be applied by the RTL.

Tests (each with idle cycles on the inputs, back-pressure on the outputs, and link loss):
  * transfer_to_kernel: host TRANSFERs of present and absent keys; every result is the
    status the table's EXPORT gives (OK / MISS), an OK entry is then in the kernel's
    table with the same blob and version;
  * replicate_to_kernel: stored PUTs pushed as replicate events reach the kernel's table;
  * transfer_from_kernel: the kernel card TRANSFERs entries to the RTL card; the kernel's
    results are OK and the entries are in the RTL card's table.
Coverage: frame types per direction x delivered/dropped, host result statuses.
"""
import os

import cocotb
from cocotb.regression import TestFactory
from cocotb.triggers import RisingEdge

import sessnic_wire as wire
from sessnic_tb import ci_sample, load_ref, param, run_bench
from sync_bench import (BCAST, KERNEL_CARD, MEMBERS, OP, RTL_CARD, ST, STAT, SyncBench, blob_of, command, key_of,
                        push_event, report, sample_result)


async def transfer_to_kernel(dut, loss, idle, stall, seed):
    tb = SyncBench(dut, wire.BpMode.TRANSFER, loss, idle, stall, seed)
    await tb.start()
    n = int(os.environ.get("SESSNIC_TRANSFERS", 16))
    present = {}
    for i in range(n):
        if tb.rng.random() < 0.75:
            present[i], _ = tb.put_local(i, tb.rng.choice([1, 63, 64, 130, param("SLOT_BYTES", 256)]))
    for i in range(n):
        want = tb.export_status(i)  # the kernel table's answer decides OK / MISS
        await tb.host.send(command(op=OP.TRANSFER, key=key_of(i), key_len=len(key_of(i)), tag=1000 + i,
                                   aux=KERNEL_CARD | (BCAST << 8))[0][0])
        await tb.wait(lambda: len(tb.results) > i, 400 * param("RTO_CYCLES", 300), f"result of TRANSFER {i}")
        r = tb.results[i]
        sample_result(ST(r["status"]).name)
        assert r["tag"] == 1000 + i and r["op"] == OP.TRANSFER, f"result {i}: {r}"
        assert r["status"] == want, f"TRANSFER {i}: RTL {ST(r['status']).name}, table EXPORT {ST(want).name}"
        if want == ST.OK:
            h, blob = tb.get(tb.kernel.table_op, i)
            assert h["status"] == ST.OK, f"key {i} not in the kernel's table after TRANSFER OK"
            assert h["version"] == present[i]["version"], f"key {i}: version {h['version']:x}"
            assert blob == blob_of(i, h["blob_len"]) and h["blob_len"] == len(blob), f"key {i}: blob differs"
    tb.check_kernel_rx_clean()
    # the engine counts a result other than OK (here MISS) as a failed transfer
    assert int(dut.cnt_transfers_ok.value) == len(present)
    assert int(dut.cnt_transfers_failed.value) == n - len(present)
    if loss:
        assert tb.dropped > 0 and int(dut.cnt_retransmits.value) > 0, "loss must cause retransmits"
    dut._log.info("%d transfers (%d OK) equal to the table; %d frames lost, %d RTL retransmits",
                  n, len(present), tb.dropped, int(dut.cnt_retransmits.value))
    report(dut._log)


async def replicate_to_kernel(dut, loss, idle, stall, seed):
    tb = SyncBench(dut, wire.BpMode.REPLICATE, loss, idle, stall, seed)
    await tb.start()
    n = int(os.environ.get("SESSNIC_UPDATES", 16))
    stored = {}
    for i in range(n):
        h, beat = tb.put_local(i, tb.rng.choice([1, 64, 200]))
        stored[i] = h
        # The event queue holds 2^EVQ_LOG2 events: at most 8 outstanding, as sessnic_top's host would see.
        await tb.wait(lambda: tb.kernel.counter(STAT["applied"]) + 8 > i,
                      400 * param("RTO_CYCLES", 300), "replication to drain")
        dut.ev_tdata.value = int.from_bytes(beat, "little")
        dut.ev_valid.value = 1
        await RisingEdge(tb.clk)
        dut.ev_valid.value = 0
        for _ in range(tb.rng.randrange(0, 20)):
            await RisingEdge(tb.clk)
    await tb.wait(lambda: tb.kernel.counter(STAT["applied"]) >= n, 400 * param("RTO_CYCLES", 300) * n // 4,
                  f"{n} updates applied by the kernel")
    for i, h in stored.items():
        g, blob = tb.get(tb.kernel.table_op, i)
        assert g["status"] == ST.OK and g["version"] == h["version"], f"key {i}: kernel has {g}"
        assert blob == blob_of(i, g["blob_len"]), f"key {i}: blob differs"
    tb.check_kernel_rx_clean()
    assert int(dut.cnt_not_sent.value) == 0, "an update was not sent"
    dut._log.info("%d updates applied by the kernel card; %d frames lost", n, tb.dropped)
    report(dut._log)


async def transfer_from_kernel(dut, loss, idle, stall, seed):
    tb = SyncBench(dut, wire.BpMode.TRANSFER, loss, idle, stall, seed)
    await tb.start()
    n = int(os.environ.get("SESSNIC_TRANSFERS", 12))
    puts = {}
    for i in range(n):
        size = tb.rng.choice([1, 64, 130, param("SLOT_BYTES", 256)])
        rsp = tb.kernel.table_op(command(op=OP.PUT, key=key_of(500 + i), key_len=len(key_of(500 + i)), tag=i,
                                         expiry=4000 + i, blob=blob_of(500 + i, size)))
        puts[i] = wire.unpack(wire.HEADER_FIELDS, rsp[0][0])
        tb.kernel.command(command(op=OP.TRANSFER, key=key_of(500 + i), key_len=len(key_of(500 + i)), tag=2000 + i,
                                  aux=RTL_CARD | (BCAST << 8)))
    got = []
    await tb.wait(lambda: got.extend(tb.kernel.take_results()) or len(got) >= n, 800 * param("RTO_CYCLES", 300) * n,
                  f"{n} kernel TRANSFER results")
    for r in got:
        h = wire.unpack(wire.HEADER_FIELDS, r[0])
        sample_result(ST(h["status"]).name)
        assert h["status"] == ST.OK, f"kernel TRANSFER tag {h['tag']}: {ST(h['status']).name}"
    for i, p in puts.items():
        g, blob = tb.get(tb.table.command, 500 + i)
        assert g["status"] == ST.OK, f"key {500 + i} not in the RTL card's table"
        assert g["version"] == p["version"] and g["expiry"] == 4000 + i, f"key {500 + i}: {g}"
        assert blob == blob_of(500 + i, g["blob_len"]), f"key {500 + i}: blob differs"
    assert int(dut.cnt_apply_failed.value) == 0
    assert int(dut.cnt_applied.value) >= n
    tb.check_kernel_rx_clean()
    dut._log.info("%d kernel TRANSFERs applied by the RTL card; %d frames lost", n, tb.dropped)
    report(dut._log)


@cocotb.test()
async def replicate_deletes_to_kernel(dut):
    """Replicated PUTs, then DEL and TAKE events of half the keys: the kernel's table ends
    with exactly the other half (DELETE frames carry the tombstone version)."""
    tb = SyncBench(dut, wire.BpMode.REPLICATE, 0.1, 0.2, 0.2, 41)
    await tb.start()
    n = 8
    for i in range(n):
        _, beat = tb.put_local(i, 64)
        await push_event(tb, beat, lambda: i - tb.kernel.counter(STAT["applied"]))
    await tb.wait(lambda: tb.kernel.counter(STAT["applied"]) >= n, 400 * param("RTO_CYCLES", 300) * n // 4,
                  f"{n} updates applied by the kernel")
    gone = list(range(0, n, 2))
    for i in gone:
        op = OP.DEL if i % 4 == 0 else OP.TAKE
        rsp = tb.table.command(command(op=op, key=key_of(i), key_len=len(key_of(i)), tag=100 + i))
        assert wire.unpack(wire.HEADER_FIELDS, rsp[0][0])["status"] == ST.OK, f"local {op.name} {i}"
        await push_event(tb, rsp[0][0], lambda: 0)
        for _ in range(tb.rng.randrange(0, 20)):
            await RisingEdge(tb.clk)

    def kernel_has(i):
        return tb.get(tb.kernel.table_op, i)[0]["status"] == ST.OK

    await tb.wait(lambda: not any(kernel_has(i) for i in gone), 400 * param("RTO_CYCLES", 300) * n // 4,
                  "deletes applied by the kernel")
    for i in range(n):
        assert kernel_has(i) == (i not in gone), f"key {i}: kernel {'has' if kernel_has(i) else 'lacks'} it"
    tb.check_kernel_rx_clean()
    assert int(dut.cnt_deletes_sent.value) == len(gone)
    assert int(dut.cnt_not_sent.value) == 0
    dut._log.info("%d PUTs then %d DEL/TAKE replicated: the kernel holds exactly the rest; %d frames lost",
                  n, len(gone), tb.dropped)
    report(dut._log)


@cocotb.test()
async def transfer_gives_up_then_recovers(dut):
    """The link goes dead: a host TRANSFER is retried max_retries times, then answered
    FAILED and the peer counted down; with the link back, the HELLOs bring the peer up
    again and the next TRANSFER is applied by the kernel."""
    # a HELLO period of 500 cycles: the recovery waits for an idle HELLO (16 periods)
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.0, 0.0, 0.0, 51, hello=500)
    await tb.start()
    dut.max_retries.value = 2
    for i in (1, 2):
        tb.put_local(i, 130)
    tb.loss = 1.0
    await tb.host.send(command(op=OP.TRANSFER, key=key_of(1), key_len=len(key_of(1)), tag=3001,
                               aux=KERNEL_CARD | (BCAST << 8))[0][0])
    await tb.wait(lambda: tb.results, 200 * param("RTO_CYCLES", 300), "the give-up result")
    r = tb.results[0]
    sample_result(ST(r["status"]).name)
    assert r["tag"] == 3001 and r["status"] == ST.FAILED, f"dead link: {r}"
    assert int(dut.cnt_giveups.value) == 1 and int(dut.cnt_transfers_failed.value) == 1
    joins = int(dut.cnt_peer_joins.value)
    tb.loss = 0.0
    # The RTL card sees the kernel card again at its next HELLO ("reply wanted" while a member
    # is down): up to 16 x HELLO_CYCLES away, as the timer ran at the all-up idle period
    # (the kernel's kIdleHelloFactor) when the peer went down. Its own view, at its ports:
    # a peer heard again after it was declared down counts a join.
    await tb.wait(lambda: tb.kernel.peer_up(RTL_CARD) and int(dut.cnt_peer_joins.value) > joins,
                  40 * tb.hello, "HELLO after the outage")
    for _ in range(2 * tb.hello):
        await RisingEdge(tb.clk)
    await tb.host.send(command(op=OP.TRANSFER, key=key_of(2), key_len=len(key_of(2)), tag=3002,
                               aux=KERNEL_CARD | (BCAST << 8))[0][0])
    await tb.wait(lambda: len(tb.results) > 1, 400 * param("RTO_CYCLES", 300), "the TRANSFER after recovery")
    r = tb.results[1]
    sample_result(ST(r["status"]).name)
    assert r["tag"] == 3002 and r["status"] == ST.OK, f"after recovery: {r}"
    h, blob = tb.get(tb.kernel.table_op, 2)
    assert h["status"] == ST.OK and blob == blob_of(2, 130), "the kernel lacks the entry sent after recovery"
    dut._log.info("gave up after %d retransmits (FAILED), recovered: TRANSFER OK", int(dut.cnt_retransmits.value))
    report(dut._log)


@cocotb.test()
async def transfer_deadline_fails(dut):
    """A host TRANSFER whose deadline (expiry, card clock) passes before an answer: FAILED
    by the deadline, not by retries (none given up)."""
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.0, 0.0, 0.0, 61)
    await tb.start()
    tb.put_local(5, 64)
    tb.loss = 1.0
    await tb.host.send(command(op=OP.TRANSFER, key=key_of(5), key_len=len(key_of(5)), tag=3005, expiry=50,
                               aux=KERNEL_CARD | (BCAST << 8))[0][0])
    for _ in range(3 * param("RTO_CYCLES", 300)):
        await RisingEdge(tb.clk)
    assert not tb.results, "answered before its deadline on a dead link"
    dut.now.value = 50
    await tb.wait(lambda: tb.results, 100, "the deadline result")
    r = tb.results[0]
    sample_result(ST(r["status"]).name)
    assert r["tag"] == 3005 and r["status"] == ST.FAILED, f"deadline: {r}"
    assert int(dut.cnt_giveups.value) == 0
    report(dut._log)


@cocotb.test()
async def relayed_and_odd_transfers(dut):
    """Host TRANSFERs whose owner is another card (aux byte 1): the RTL card asks the
    kernel card (TRANSFER_REQ), which moves the entry to the destination and answers
    TRANSFER_RESULT; the same asked of the RTL card by the kernel card; a TRANSFER to this
    card itself (OK, nothing sent); a malformed one (key_len 0: BAD_CMD)."""
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.1, 0.2, 0.2, 71)
    await tb.start()
    rto = param("RTO_CYCLES", 300)
    # 1. RTL host: move key 600 from its owner (the kernel card) to this card
    tb.kernel.table_op(command(op=OP.PUT, key=key_of(600), key_len=len(key_of(600)), tag=1, expiry=4000,
                               blob=blob_of(600, 100)))
    await tb.host.send(command(op=OP.TRANSFER, key=key_of(600), key_len=len(key_of(600)), tag=3600,
                               aux=RTL_CARD | (KERNEL_CARD << 8))[0][0])
    await tb.wait(lambda: tb.results, 400 * rto, "the relayed TRANSFER's result")
    r = tb.results[0]
    sample_result(ST(r["status"]).name)
    assert r["tag"] == 3600 and r["status"] == ST.OK, f"relayed TRANSFER: {r}"
    h, blob = tb.get(tb.table.command, 600)
    assert h["status"] == ST.OK and blob == blob_of(600, 100), "the relayed entry is not in the RTL card's table"
    # 2. kernel host: move key 601 from its owner (the RTL card) to the kernel card
    tb.put_local(601, 70)
    tb.kernel.command(command(op=OP.TRANSFER, key=key_of(601), key_len=len(key_of(601)), tag=3601,
                              aux=KERNEL_CARD | (RTL_CARD << 8)))
    got = []
    await tb.wait(lambda: got.extend(tb.kernel.take_results()) or got, 400 * rto, "the kernel's relayed result")
    h = wire.unpack(wire.HEADER_FIELDS, got[0][0])
    assert h["tag"] == 3601 and h["status"] == ST.OK, f"kernel's relayed TRANSFER: {ST(h['status']).name}"
    g, blob = tb.get(tb.kernel.table_op, 601)
    assert g["status"] == ST.OK and blob == blob_of(601, 70), "the entry asked of the RTL card is not in the kernel"
    # 3. a TRANSFER to this card itself, and 4. a malformed one
    tb.put_local(602, 10)
    await tb.host.send(command(op=OP.TRANSFER, key=key_of(602), key_len=len(key_of(602)), tag=3602,
                               aux=RTL_CARD | (BCAST << 8))[0][0])
    await tb.host.send(command(op=OP.TRANSFER, key=b"", key_len=0, tag=3603, aux=KERNEL_CARD | (BCAST << 8))[0][0])
    await tb.wait(lambda: len(tb.results) >= 3, 400 * rto, "the local and malformed results")
    for r, want in zip(tb.results[1:3], (ST.OK, ST.BAD_CMD)):
        sample_result(ST(r["status"]).name)
        assert r["status"] == want, f"tag {r['tag']}: {ST(r['status']).name}, want {want.name}"
    tb.check_kernel_rx_clean()
    dut._log.info("relayed both ways, local and malformed TRANSFERs answered; %d frames lost", tb.dropped)
    report(dut._log)


@cocotb.test()
async def kernel_restart_and_stale_epoch(dut):
    """The kernel card restarts (a new card with epoch 2 in its place): the RTL card learns
    the new epoch from its frames, and TRANSFERs to it work again; frames the old card
    (epoch 1) still sends afterwards are counted stale and change nothing."""
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.0, 0.1, 0.1, 81)
    await tb.start()
    rto = param("RTO_CYCLES", 300)

    async def transfer(i, tag):
        tb.put_local(i, 90)
        await tb.host.send(command(op=OP.TRANSFER, key=key_of(i), key_len=len(key_of(i)), tag=tag,
                                   aux=KERNEL_CARD | (BCAST << 8))[0][0])
        await tb.wait(lambda: any(r["tag"] == tag for r in tb.results), 400 * rto, f"TRANSFER {tag}")
        r = next(r for r in tb.results if r["tag"] == tag)
        sample_result(ST(r["status"]).name)
        assert r["status"] == ST.OK, f"TRANSFER {tag}: {ST(r['status']).name}"
        h, blob = tb.get(tb.kernel.table_op, i)
        assert h["status"] == ST.OK and blob == blob_of(i, 90), f"key {i} not in the kernel card's table"

    await transfer(700, 3700)
    old = tb.kernel
    tb.kernel = load_ref().Peer(card=KERNEL_CARD, peers=MEMBERS, mode=int(wire.BpMode.TRANSFER), rto=rto,
                                hello=param("HELLO_CYCLES", 2000), epoch=2)
    tb.kernel.table_op(command(op=OP.SET_TIME, aux=100))
    await tb.wait(lambda: tb.kernel.peer_up(RTL_CARD), 20 * param("HELLO_CYCLES", 2000), "HELLO with the new epoch")
    for _ in range(2 * param("HELLO_CYCLES", 2000)):
        await RisingEdge(tb.clk)
    await transfer(701, 3701)
    # the old card (epoch 1) still sends: a TRANSFER of a key only it holds, to the RTL card
    stale_before = int(dut.cnt_rx_stale_epoch.value)
    old.table_op(command(op=OP.PUT, key=key_of(799), key_len=len(key_of(799)), tag=1, expiry=4000,
                         blob=blob_of(799, 20)))
    old.command(command(op=OP.TRANSFER, key=key_of(799), key_len=len(key_of(799)), tag=3799,
                        aux=RTL_CARD | (BCAST << 8)))
    for _ in range(3 * rto):
        old.tick()
        for frame in old.take_tx():
            tb.rx.send_nowait(b"".join(b for b, _ in frame))
        await RisingEdge(tb.clk)
    await tb.wait(lambda: tb.rx.empty() and not tb.rx.active, 100 * rto, "the old card's frames taken")
    for _ in range(20):
        await RisingEdge(tb.clk)
    assert int(dut.cnt_rx_stale_epoch.value) > stale_before, "frames of the old epoch not counted stale"
    h, _ = tb.get(tb.table.command, 799)
    assert h["status"] != ST.OK, "a stale-epoch TRANSFER was applied"
    tb.check_kernel_rx_clean()
    dut._log.info("restart learnt, TRANSFER OK after it; %d stale-epoch frames dropped",
                  int(dut.cnt_rx_stale_epoch.value) - stale_before)
    report(dut._log)


for _scenario in (transfer_to_kernel, replicate_to_kernel):  # (a name pytest does not collect)
    factory = TestFactory(_scenario)
    factory.add_option(("loss", "idle", "stall", "seed"), [(0.0, 0.0, 0.0, 31), (0.1, 0.3, 0.3, 32)])
    factory.generate_tests()


@cocotb.test()
async def transfer_from_kernel_lossless(dut):
    await transfer_from_kernel(dut, 0.0, 0.0, 0.0, 31)


@cocotb.test()
async def transfer_from_kernel_lossy(dut):
    await transfer_from_kernel(dut, 0.1, 0.3, 0.3, 32)


# --- pytest (cocotb-test) ---------------------------------------------------------------
import pytest  # noqa: E402


@pytest.mark.parametrize("cards", [4, 16])
def test_bp_sync(cards):
    ci_sample(os.environ.get("SIM", "icarus"), cards == 4)
    # CATCHUP_SLOTS: the HLS table of the bench (64 sets x 4 ways) walked whole
    run_bench(__file__, "bp_sync", "SESSNIC_RTL_BP_SYNC_SV",
              {"CARDS": cards, "SLOT_BYTES": 256, "CATCHUP_SLOTS": 256}, modules="test_bp_sync,test_bp_sync_paths")

