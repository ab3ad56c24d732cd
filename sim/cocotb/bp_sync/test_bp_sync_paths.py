"""cocotb tests of bp_sync.sv's less travelled paths (run with test_bp_sync.py in one build).

Against the kernel card (sessnic_ref.Peer, the scoreboard):
  * hub_pull_and_hub_events: hub mode on a spoke: a host GET miss pulls from the hub and
    the GET runs again (its answer to the host), a TAKE miss the hub cannot serve answers
    the original miss, PUT/DEL events go to the hub, the hub down answers the miss at once;
  * host_pull_both_ways: host PULLs (OK with the kernel's entry and version, MISS), the
    kernel card pulling from the RTL card;
  * pull_moves_a_ticket_both_ways: transfer mode, a SINGLE_USE entry pulled either way
    moves (the owner's copy a tombstone, the puller named as writer in the version);
  * catchup_walk_after_kernel_restart: the kernel card restarts; the RTL card's SCAN walk
    sends it every live entry (UPDATE) and tombstone (DELETE) of its table;
  * event_queue_overflow: events on every cycle: the queue takes 2^EVQ_LOG2, the rest are
    counted not sent, and exactly the taken ones reach the kernel's table.
Against a scripted peer (RawPeer, frames field by field; directed):
  * receive_window_and_duplicates: out-of-order seqs applied once and sacked, duplicates
    re-acked (a duplicate TRANSFER re-answered), beyond the window dropped, the sender's
    `una` skipping abandoned seqs, seq 0 / malformed / DIGEST frames, a frame for another
    epoch of this card (answered by HELLO), an older epoch, frames while disabled;
  * send_window_sack_fast_retransmit: 16 frames in flight per peer, then the fan-out
    waits; TRANSFER_REQ and PULL while it waits are busy (not acked); a sack releases the
    sacked frames and resends the hole at once; the rest go out; TRANSFER_REQ and PULL
    served afterwards;
  * peer_restart_during_requests: a restart of the peer while a TRANSFER, a relayed
    TRANSFER and a PULL are in flight answers each FAILED; deadlines of relayed TRANSFERs
    and PULLs; requests to a non-member; malformed host commands.
"""
import cocotb
from cocotb.triggers import RisingEdge

import sessnic_wire as wire
from sessnic_tb import BEAT, load_ref, param
from sync_bench import (BCAST, FT, KERNEL_CARD, MEMBERS, OP, RTL_CARD, ST, STAT, RawPeer, SyncBench, blob_of, command,
                        entry_beat, header, key_of, report, sample_result)

HELLO = param("HELLO_CYCLES", 2000)
RTO = param("RTO_CYCLES", 300)


def event_beat(op, status, i, tag, **fields):
    """A host response header as sessnic_top hands it to the event port."""
    return wire.pack(wire.HEADER_FIELDS, dict(op=op, status=status, key=key_of(i), key_len=len(key_of(i)), tag=tag,
                                              **fields))


async def push_when_room(tb, beat):
    """One event, once the engine's own ev_room says it has space (as sessnic_top does).
    ev_room is registered: it shows a push two clock edges later, so the next push waits
    that long before it reads it."""
    await tb.wait(lambda: int(tb.dut.ev_room.value) > 0, 400 * RTO, "event queue room")
    tb.dut.ev_tdata.value = int.from_bytes(beat, "little")
    tb.dut.ev_valid.value = 1
    await RisingEdge(tb.clk)
    tb.dut.ev_valid.value = 0
    for _ in range(2):
        await RisingEdge(tb.clk)


async def result_of(tb, tag, cycles, what):
    await tb.wait(lambda: any(r["tag"] == tag for r in tb.results), cycles, what)
    r = next(r for r in tb.results if r["tag"] == tag)
    sample_result(ST(r["status"]).name)
    return r


def kernel_get(tb, i):
    return tb.get(tb.kernel.table_op, i)


async def kernel_results(tb, n, cycles, what):
    got = []
    await tb.wait(lambda: got.extend(tb.kernel.take_results()) or len(got) >= n, cycles, what)
    return [header(b) for b, _ in got]


@cocotb.test()
async def hub_pull_and_hub_events(dut):
    tb = SyncBench(dut, wire.BpMode.HUB, 0.0, 0.1, 0.1, 101, hub=KERNEL_CARD)
    await tb.start()
    # a) GET miss on the spoke, the hub has the key: PULL, PUT with the hub's version, GET again
    rsp = tb.kernel.table_op(command(op=OP.PUT, key=key_of(800), key_len=len(key_of(800)), tag=1, expiry=4000,
                                     blob=blob_of(800, 150)))
    hub_version = header(rsp[0][0])["version"]
    served = tb.kernel.counter(STAT["pulls_served"])
    await push_when_room(tb, event_beat(OP.GET, ST.MISS, 800, 4800))
    await tb.wait(lambda: tb.host_rsps, 400 * RTO, "the rerun GET's answer to the host")
    h = header(tb.host_rsps[0])
    blob = tb.host_rsps[0][BEAT:BEAT + h["blob_len"]]
    assert h["op"] == OP.GET and h["status"] == ST.OK and h["tag"] == 4800, f"rerun GET: {h}"
    assert h["version"] == hub_version and blob == blob_of(800, 150), "rerun GET: not the hub's entry"
    assert tb.kernel.counter(STAT["pulls_served"]) == served + 1
    assert not tb.results, f"a pull that brought the entry answers through the table only: {tb.results}"
    # b) TAKE miss, the hub lacks the key too: the original miss, unchanged
    miss = event_beat(OP.TAKE, ST.MISS, 801, 4801, aux=RTL_CARD)
    await push_when_room(tb, miss)
    r = await result_of(tb, 4801, 400 * RTO, "the miss answer of a failed hub pull")
    assert r == header(miss), f"failed hub pull: {r}, want the original miss {header(miss)}"
    # c) PUT and DEL events go to the hub
    h802, beat = tb.put_local(802, 70)
    await push_when_room(tb, beat)
    await tb.wait(lambda: kernel_get(tb, 802)[0]["status"] == ST.OK, 400 * RTO, "the PUT at the hub")
    assert kernel_get(tb, 802)[0]["version"] == h802["version"]
    rsp = tb.table.command(command(op=OP.DEL, key=key_of(802), key_len=len(key_of(802)), tag=5))
    await push_when_room(tb, rsp[0][0])
    await tb.wait(lambda: kernel_get(tb, 802)[0]["status"] == ST.MISS, 400 * RTO, "the DEL at the hub")
    # d) the hub not a live member: the original miss at once
    dut.hub_card.value = 2
    miss = event_beat(OP.GET, ST.MISS, 803, 4803, aux=RTL_CARD)
    await push_when_room(tb, miss)
    r = await result_of(tb, 4803, 50 * RTO, "the miss answer with the hub down")
    assert r == header(miss), f"hub down: {r}"
    dut.hub_card.value = KERNEL_CARD
    assert len(tb.host_rsps) == 1
    tb.check_kernel_rx_clean()
    report(dut._log)


@cocotb.test()
async def pull_moves_a_ticket_both_ways(dut):
    """Transfer mode, card rule 5: a PULL of a SINGLE_USE entry moves it, served by the RTL
    card as by the kernel. The owner answers from a GET that tombstones its copy; the
    PULL_RESP entry names the puller as writer, one lamport past that tombstone."""
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.1, 0.2, 0.2, 117)
    await tb.start()
    su = int(wire.Flags.SINGLE_USE)
    # the RTL card pulls a ticket from the kernel card
    rsp = tb.kernel.table_op(command(op=OP.PUT, key=key_of(820), key_len=len(key_of(820)), tag=1, expiry=4000,
                                     flags=su, blob=blob_of(820, 150)))
    kv = header(rsp[0][0])["version"]
    await tb.host.send(command(op=OP.PULL, key=key_of(820), key_len=len(key_of(820)), tag=4820,
                               aux=BCAST | (KERNEL_CARD << 8))[0][0])
    r = await result_of(tb, 4820, 400 * RTO, "the PULL of a ticket")
    assert r["status"] == ST.OK and r["version"] & 0xFF == RTL_CARD and r["version"] >> 8 > kv >> 8, \
        f"moved ticket: {r}, written {kv:#x}"
    g, _ = kernel_get(tb, 820)
    assert g["status"] == ST.MISS, f"the kernel kept its copy of the ticket: {g}"
    h, blob = tb.get(tb.table.command, 820)
    assert h["status"] == ST.OK and h["version"] == r["version"] and blob == blob_of(820, 150), f"stored: {h}"
    # the kernel card pulls a ticket from the RTL card
    rsp = tb.table.command(command(op=OP.PUT, key=key_of(822), key_len=len(key_of(822)), tag=2, expiry=4000,
                                   flags=su, blob=blob_of(822, 60)))
    lv = header(rsp[0][0])["version"]
    tb.kernel.command(command(op=OP.GET, key=key_of(822), key_len=len(key_of(822)), tag=4822,
                              aux=BCAST | (RTL_CARD << 8)))
    got = await kernel_results(tb, 1, 400 * RTO, "the kernel card's pull of a ticket")
    assert got[0]["status"] == ST.OK and got[0]["version"] & 0xFF == KERNEL_CARD and \
        got[0]["version"] >> 8 > lv >> 8, f"moved ticket: {got[0]}, written {lv:#x}"
    assert tb.export_status(822) == ST.MISS, "the RTL card kept its copy of the ticket"
    g, blob = kernel_get(tb, 822)
    assert g["status"] == ST.OK and g["version"] == got[0]["version"] and blob == blob_of(822, 60), f"stored: {g}"
    tb.check_kernel_rx_clean()
    report(dut._log)


@cocotb.test()
async def host_pull_both_ways(dut):
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.1, 0.2, 0.2, 111)
    await tb.start()
    rsp = tb.kernel.table_op(command(op=OP.PUT, key=key_of(810), key_len=len(key_of(810)), tag=1, expiry=4000,
                                     blob=blob_of(810, 200)))
    kv = header(rsp[0][0])["version"]
    for i, tag in ((810, 4810), (811, 4811)):
        await tb.host.send(command(op=OP.PULL, key=key_of(i), key_len=len(key_of(i)), tag=tag,
                                   aux=BCAST | (KERNEL_CARD << 8))[0][0])
    r = await result_of(tb, 4810, 400 * RTO, "the PULL of a present key")
    assert r["op"] == OP.PULL and r["status"] == ST.OK and r["version"] == kv and r["key"] == \
        int.from_bytes(key_of(810).ljust(32, b"\0"), "little"), f"PULL: {r}"
    h, blob = tb.get(tb.table.command, 810)
    assert h["status"] == ST.OK and h["version"] == kv and blob == blob_of(810, 200), "pulled entry not stored"
    r = await result_of(tb, 4811, 400 * RTO, "the PULL of an absent key")
    assert r["op"] == OP.PULL and r["status"] == ST.MISS, f"PULL of an absent key: {r}"
    # the kernel card pulls from the RTL card
    lv, _ = tb.put_local(812, 90)
    for i, tag in ((812, 4812), (813, 4813)):
        tb.kernel.command(command(op=OP.GET, key=key_of(i), key_len=len(key_of(i)), tag=tag,
                                  aux=BCAST | (RTL_CARD << 8)))
    got = {h["tag"]: h for h in await kernel_results(tb, 2, 400 * RTO, "the kernel card's pulls")}
    assert got[4812]["status"] == ST.OK and got[4813]["status"] != ST.OK, f"kernel pulls: {got}"
    g, blob = kernel_get(tb, 812)
    assert g["status"] == ST.OK and g["version"] == lv["version"] and blob == blob_of(812, 90)
    tb.check_kernel_rx_clean()
    report(dut._log)


@cocotb.test()
async def catchup_walk_after_kernel_restart(dut):
    if not param("CATCHUP_SLOTS", 0):
        dut._log.info("CATCHUP_SLOTS = 0: no catch-up walk in this build")
        return
    tb = SyncBench(dut, wire.BpMode.REPLICATE, 0.0, 0.1, 0.1, 121)
    await tb.start()
    live = {i: tb.put_local(i, i - 860)[0] for i in range(900, 906)}
    gone = (906, 907)
    for i in gone:
        tb.put_local(i, 10)
        rsp = tb.table.command(command(op=OP.DEL, key=key_of(i), key_len=len(key_of(i)), tag=9))
        assert header(rsp[0][0])["status"] == ST.OK
    walks, pushed = int(dut.cnt_catchup_walks.value), int(dut.cnt_catchup_pushed.value)
    # a new kernel card (epoch 2) that holds older copies of the deleted keys
    new = load_ref().Peer(card=KERNEL_CARD, peers=MEMBERS, mode=int(wire.BpMode.REPLICATE), rto=RTO, hello=HELLO,
                          epoch=2)
    new.table_op(command(op=OP.SET_TIME, aux=100))
    for i in gone:
        new.table_op(command(op=OP.PUT, key=key_of(i), key_len=len(key_of(i)), tag=1, expiry=4000, blob=b"old"))
    tb.kernel = new
    await tb.wait(lambda: int(dut.cnt_catchup_pushed.value) >= pushed + len(live) + len(gone) and
                  all(kernel_get(tb, i)[0]["status"] == ST.OK for i in live) and
                  not any(kernel_get(tb, i)[0]["status"] == ST.OK for i in gone),
                  40 * HELLO, "the catch-up walk's UPDATEs and DELETEs at the restarted card")
    for i, h in live.items():
        g, blob = kernel_get(tb, i)
        assert g["version"] == h["version"] and blob == blob_of(i, i - 860), f"key {i}: {g}"
    assert int(dut.cnt_catchup_walks.value) == walks + 1
    assert int(dut.cnt_catchup_pushed.value) == pushed + len(live) + len(gone)
    tb.check_kernel_rx_clean()
    report(dut._log)


@cocotb.test()
async def event_queue_overflow(dut):
    tb = SyncBench(dut, wire.BpMode.REPLICATE, 0.0, 0.0, 0.0, 131)
    await tb.start()
    n = 24
    beats = [tb.put_local(1000 + i, 64)[1] for i in range(n)]
    applied0 = tb.kernel.counter(STAT["applied"])
    not_sent0 = int(dut.cnt_not_sent.value)
    lowest = int(dut.ev_room.value)
    for beat in beats:  # one event per cycle, ignoring ev_room
        dut.ev_tdata.value = int.from_bytes(beat, "little")
        dut.ev_valid.value = 1
        await RisingEdge(tb.clk)
        lowest = min(lowest, int(dut.ev_room.value))
    dut.ev_valid.value = 0
    await RisingEdge(tb.clk)  # (the last push's drop is counted at the edge just awaited)
    dropped = int(dut.cnt_not_sent.value) - not_sent0
    assert lowest == 0 and dropped > 0, f"24 events in 24 cycles: room down to {lowest}, {dropped} not sent"
    await tb.wait(lambda: tb.kernel.counter(STAT["applied"]) - applied0 >= n - dropped, 400 * RTO,
                  "the taken events at the kernel")
    for _ in range(4 * RTO):
        await RisingEdge(tb.clk)
    held = sum(kernel_get(tb, 1000 + i)[0]["status"] == ST.OK for i in range(n))
    assert held == n - dropped and tb.kernel.counter(STAT["applied"]) - applied0 == n - dropped, \
        f"{n} events, {dropped} not sent: the kernel holds {held}"
    assert int(dut.ev_room.value) == 16
    dut._log.info("%d events in %d cycles: %d queued and replicated, %d counted not sent", n, n, n - dropped, dropped)
    report(dut._log)


async def meet(tb, peer):
    """The scripted peer answers the RTL card's HELLO: both know each other."""
    joins = int(tb.dut.cnt_peer_joins.value)
    scans = tb.scans
    (h, _), _ = await peer.expect(lambda h, p: h["ftype"] == FT.HELLO, 3 * HELLO, "the RTL card's HELLO")
    assert h["dst"] == BCAST and h["status"] == 1 and h["epoch"] == 1, f"HELLO while a member is unknown: {h}"
    peer.hello(reply_wanted=1)
    (h, _), _ = await peer.expect(lambda h, p: h["ftype"] == FT.HELLO and h["dst"] == KERNEL_CARD, 400,
                                  "the RTL card's HELLO reply")
    assert h["dst_epoch"] == peer.epoch and h["seq"] == 0, f"HELLO reply: {h}"
    assert int(tb.dut.cnt_peer_joins.value) == joins + 1
    await tb.catchup_walk(scans)


def is_ack(h, _p):
    return h["ftype"] == FT.ACK


@cocotb.test()
async def receive_window_and_duplicates(dut):
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.0, 0.0, 0.0, 141, kernel=False)
    await tb.start()
    peer = RawPeer(tb)
    await meet(tb, peer)
    v = (9 << 8) | KERNEL_CARD

    def update(seq, i, n=40, **kw):
        peer.send(FT.UPDATE, seq=seq, entry=entry_beat(i, n, v), blob=blob_of(i, n), **kw)

    def has(i):
        return tb.get(tb.table.command, i)[0]["status"] == ST.OK

    applied = int(dut.cnt_applied.value)
    update(2, 902)  # out of order: applied, sacked
    (a, _), _ = await peer.expect(is_ack, 400, "ACK of seq 2")
    assert a["ack"] == 1 and a["sack"] == 0b10 and a["dst_epoch"] == peer.epoch, f"ACK after seq 2: {a}"
    assert has(902) and int(dut.cnt_applied.value) == applied + 1
    update(2, 902)  # duplicate: re-acked, not applied again
    (a, _), _ = await peer.expect(is_ack, 400, "re-ACK of the duplicate")
    assert a["ack"] == 1 and a["sack"] == 0b10 and int(dut.cnt_rx_dup.value) == 1
    assert int(dut.cnt_applied.value) == applied + 1
    update(1, 901)  # fills the hole: the window moves past both
    (a, _), _ = await peer.expect(is_ack, 400, "ACK of seq 1")
    assert a["ack"] == 3 and a["sack"] == 0, f"ACK after seq 1: {a}"
    update(3 + 64, 967)  # beyond the 64-seq receive window: dropped, the sender resends
    await tb.wait(lambda: int(dut.cnt_rx_window.value) == 1, 400, "rx_window")
    update(0, 968)  # a reliable type with seq 0
    peer.send(FT.UPDATE, seq=3, entry=wire.pack(wire.HEADER_FIELDS, dict(op=OP.PUT, key_len=0, version=v,
                                                                        expiry=4000)))  # no key: malformed
    await tb.wait(lambda: int(dut.cnt_rx_unhandled.value) == 2, 400, "seq 0 and malformed frames counted")
    assert not has(967) and not has(968)
    peer.send(FT.DIGEST, seq=3, entry=entry_beat(970, 0, v))  # outside the subset: acked, ignored
    (a, _), _ = await peer.expect(is_ack, 400, "ACK of the DIGEST")
    assert a["ack"] == 4 and int(dut.cnt_rx_unhandled.value) == 3
    # a TRANSFER is answered with its outcome; its duplicate is applied and answered again
    for dup in (0, 1):
        peer.send(FT.TRANSFER, seq=4, entry=entry_beat(904, 30, v), blob=blob_of(904, 30))
        (a, _), _ = await peer.expect(is_ack, 400, "the TRANSFER's outcome ACK")
        assert a["req"] == 4 and a["status"] == ST.OK and a["ack"] == 5, f"TRANSFER outcome (dup {dup}): {a}"
    assert has(904) and int(dut.cnt_rx_dup.value) == 2
    # the sender abandoned 5..9 (una 10): the window steps over them
    update(10, 910, una=10)
    (a, _), _ = await peer.expect(is_ack, 400, "ACK after the una skip")
    assert a["ack"] == 11 and has(910), f"una skip: {a}"
    # DELETE with a newer version: applied as DEL
    peer.send(FT.DELETE, seq=11, entry=entry_beat(901, 0, v + 256, flags=wire.Flags.TOMBSTONE))
    (a, _), _ = await peer.expect(is_ack, 400, "ACK of the DELETE")
    assert a["ack"] == 12 and not has(901)
    # meant for another epoch of this card: dropped, answered by a HELLO with our epoch
    stale = int(dut.cnt_rx_stale_epoch.value)
    update(12, 912, dst_epoch=7)
    (h, _), before = await peer.expect(lambda h, p: h["ftype"] != FT.HELLO or h["dst"] != BCAST, 400,
                                       "the HELLO for a wrong destination epoch")
    assert h["ftype"] == FT.HELLO and h["dst"] == KERNEL_CARD and h["dst_epoch"] == peer.epoch, f"{h}"
    assert int(dut.cnt_rx_stale_epoch.value) == stale + 1 and not has(912)
    update(12, 913, epoch=peer.epoch - 1)  # an older epoch of the sender: dropped
    await tb.wait(lambda: int(dut.cnt_rx_stale_epoch.value) == stale + 2, 400, "the older epoch counted stale")
    # longer than a slot's frame (header + entry + blob beats): dropped whole, counted stale
    too_long = peer.frame(FT.UPDATE, seq=12, entry=entry_beat(915, 40, v), blob=blob_of(915, 40)) + bytes(4 * BEAT)
    tb.rx.send_nowait(too_long)
    await tb.wait(lambda: int(dut.cnt_rx_stale_epoch.value) == stale + 3, 400, "the oversized frame counted")
    # disabled: a received frame is drained and counted, nothing else
    dut.enable.value = 0
    update(12, 914)
    await tb.wait(lambda: int(dut.cnt_rx_unhandled.value) == 4, 400, "the frame while disabled")
    dut.enable.value = 1
    for _ in range(50):
        await RisingEdge(tb.clk)
    assert not has(912) and not has(913) and not has(914) and not has(915)
    report(dut._log)


@cocotb.test()
async def send_window_sack_fast_retransmit(dut):
    tb = SyncBench(dut, wire.BpMode.REPLICATE, 0.0, 0.0, 0.0, 151, kernel=False)
    await tb.start()
    dut.rto_cycles.value = 20 * HELLO  # no timeouts here: every resend below is a fast one
    peer = RawPeer(tb)
    await meet(tb, peer)
    n = 20
    puts = {}
    for i in range(n):
        puts[i], beat = tb.put_local(1100 + i, 50)
        await push_when_room(tb, beat)

    def updates(frames):
        return [(h, p) for h, p in frames if h["ftype"] == FT.UPDATE]

    sent = []
    await tb.wait(lambda: sent.extend(updates(peer.frames())) or len(sent) >= 16, 400 * 16, "16 UPDATEs")
    for _ in range(400):
        await RisingEdge(tb.clk)
    sent.extend(updates(peer.frames()))
    assert [h["seq"] for h, _ in sent] == list(range(1, 17)), f"window of 16: seqs {[h['seq'] for h, _ in sent]}"
    for k, (h, p) in enumerate(sent):
        e = header(p)
        assert e["key"] == header(command(key=key_of(1100 + k))[0][0])["key"] and e["version"] == puts[k]["version"]
    # requests while the fan-out waits for the window: busy, not acked (the sender retries)
    peer.send(FT.TRANSFER_REQ, seq=1, req=77, arg=KERNEL_CARD, entry=entry_beat(1100, 0, 0))
    peer.send(FT.PULL, seq=2, req=78, entry=entry_beat(1101, 0, 0))
    await tb.wait(lambda: int(dut.cnt_rx_busy.value) == 2, 400, "TRANSFER_REQ and PULL counted busy")
    assert not any(h["ftype"] == FT.ACK for h, _ in peer.frames())
    # seqs 2..16 sacked, 1 missing: released, and 1 resent at once
    rtx = int(dut.cnt_retransmits.value)
    peer.send(FT.ACK, ack=1, sack=((1 << 16) - 1) & ~1)
    (h, _), before = await peer.expect(lambda h, p: h["ftype"] == FT.UPDATE and h["seq"] == 1, 200,
                                       "the fast retransmit of seq 1")
    assert int(dut.cnt_retransmits.value) == rtx + 1 and not updates(before)
    for _ in range(200):
        await RisingEdge(tb.clk)
    # seq 1 still unacked: the window (from the oldest unacked seq) is still full
    assert not updates(peer.frames()), "sent beyond the window of the oldest unacked frame"
    peer.send(FT.ACK, ack=17)
    rest = []
    await tb.wait(lambda: rest.extend(updates(peer.frames())) or len(rest) >= 4, 400 * 4, "the last 4 UPDATEs")
    assert [h["seq"] for h, _ in rest] == [17, 18, 19, 20], f"after the sack: {[h['seq'] for h, _ in rest]}"
    assert int(dut.cnt_not_sent.value) == 0
    peer.send(FT.ACK, ack=21)
    peer.send(FT.ACK, ack=1000)  # beyond anything sent: clamped, releases nothing more
    # served now: the TRANSFER_REQ (key 1100 to this peer) and a PULL of key 1101
    peer.send(FT.TRANSFER_REQ, seq=1, ack=21, req=77, arg=KERNEL_CARD, entry=entry_beat(1100, 0, 0))
    (x, p), _ = await peer.expect(lambda h, p: h["ftype"] == FT.TRANSFER, 400, "the TRANSFER asked for")
    assert x["seq"] == 21 and x["req"] == 77 and header(p)["version"] == puts[0]["version"], f"TRANSFER: {x}"
    peer.send(FT.ACK, ack=22, req=21, status=ST.OK)
    (r, _), _ = await peer.expect(lambda h, p: h["ftype"] == FT.TRANSFER_RESULT, 400, "the TRANSFER_RESULT")
    assert r["req"] == 77 and r["status"] == ST.OK and r["arg"] == KERNEL_CARD, f"TRANSFER_RESULT: {r}"
    peer.send(FT.ACK, ack=r["seq"] + 1)
    peer.send(FT.PULL, seq=2, ack=r["seq"] + 1, req=78, entry=entry_beat(1101, 0, 0))
    peer.send(FT.PULL, seq=3, ack=r["seq"] + 1, req=79, entry=entry_beat(1199, 0, 0))
    got = {}

    def pull_resps():
        for h, p in peer.frames():
            if h["ftype"] == FT.PULL_RESP:
                got[h["req"]] = (h, p)
        return len(got) >= 2

    await tb.wait(pull_resps, 800, "two PULL_RESPs")
    (h, p) = got[78]
    assert h["status"] == ST.OK and header(p)["version"] == puts[1]["version"] and \
        p[BEAT:BEAT + 50] == blob_of(1101, 50), f"PULL_RESP: {h}"
    assert got[79][0]["status"] == ST.MISS and got[79][0]["payload_len"] == 0, f"PULL_RESP of an absent key: {got[79]}"
    assert int(dut.cnt_giveups.value) == 0
    report(dut._log)


@cocotb.test()
async def peer_restart_during_requests(dut):
    tb = SyncBench(dut, wire.BpMode.TRANSFER, 0.0, 0.0, 0.0, 161, kernel=False)
    await tb.start()
    peer = RawPeer(tb)
    await meet(tb, peer)

    async def host(op, i, tag, owner=BCAST, dest=KERNEL_CARD, expiry=0):
        await tb.host.send(command(op=op, key=key_of(i), key_len=len(key_of(i)), tag=tag, expiry=expiry,
                                   aux=dest | (owner << 8))[0][0])

    async def restart(what):
        peer.epoch += 1
        joins = int(dut.cnt_peer_joins.value)
        peer.hello(dst_epoch=0)
        await tb.wait(lambda: int(dut.cnt_peer_joins.value) == joins + 1, 400, f"the restart ({what})")

    # a TRANSFER in flight: a TRANSFER_REQ meanwhile is busy; a plain ack does not finish it
    tb.put_local(950, 60)
    await host(OP.TRANSFER, 950, 5950)
    (x, _), _ = await peer.expect(lambda h, p: h["ftype"] == FT.TRANSFER, 400, "the TRANSFER")
    peer.send(FT.TRANSFER_REQ, seq=1, req=55, arg=KERNEL_CARD, entry=entry_beat(950, 0, 0))
    await tb.wait(lambda: int(dut.cnt_rx_busy.value) == 1, 400, "TRANSFER_REQ busy")
    peer.send(FT.ACK, ack=x["seq"] + 1)
    for _ in range(2 * RTO):
        await RisingEdge(tb.clk)
    assert not tb.results, "a TRANSFER finished by an ack without its outcome"
    await restart("TRANSFER in flight")
    r = await result_of(tb, 5950, 400, "FAILED by the restart")
    assert r["status"] == ST.FAILED and r["op"] == OP.TRANSFER
    # a relayed TRANSFER (owner: the peer) in flight
    await host(OP.TRANSFER, 951, 5951, owner=KERNEL_CARD, dest=RTL_CARD)
    (q, _), _ = await peer.expect(lambda h, p: h["ftype"] == FT.TRANSFER_REQ, 400, "the TRANSFER_REQ")
    assert q["req"] == 5951 and q["arg"] == RTL_CARD and q["dst_epoch"] == peer.epoch
    await restart("relayed TRANSFER in flight")
    assert (await result_of(tb, 5951, 400, "relay FAILED by the restart"))["status"] == ST.FAILED
    # a PULL in flight
    await host(OP.PULL, 952, 5952, owner=KERNEL_CARD, dest=BCAST)
    await peer.expect(lambda h, p: h["ftype"] == FT.PULL, 400, "the PULL")
    await restart("PULL in flight")
    r = await result_of(tb, 5952, 400, "PULL FAILED by the restart")
    assert r["status"] == ST.FAILED and r["op"] == OP.PULL
    # deadlines (the card clock `now` reaching expiry) of a relayed TRANSFER and a PULL
    await host(OP.TRANSFER, 953, 5953, owner=KERNEL_CARD, dest=RTL_CARD, expiry=500)
    await peer.expect(lambda h, p: h["ftype"] == FT.TRANSFER_REQ and h["req"] == 5953, 400, "TRANSFER_REQ 5953")
    dut.now.value = 500
    assert (await result_of(tb, 5953, 400, "the relayed TRANSFER's deadline"))["status"] == ST.FAILED
    await host(OP.PULL, 954, 5954, owner=KERNEL_CARD, dest=BCAST, expiry=600)
    await peer.expect(lambda h, p: h["ftype"] == FT.PULL and h["req"] == 5954, 400, "PULL 5954")
    assert not any(r["tag"] == 5954 for r in tb.results)
    dut.now.value = 600
    assert (await result_of(tb, 5954, 400, "the PULL's deadline"))["status"] == ST.FAILED
    dut.now.value = 0
    # outcomes other than OK: the TRANSFER's outcome ACK, the relayed TRANSFER's result
    tb.put_local(959, 20)
    await host(OP.TRANSFER, 959, 5959)
    (x, _), _ = await peer.expect(lambda h, p: h["ftype"] == FT.TRANSFER, 400, "TRANSFER 5959")
    failed = int(dut.cnt_transfers_failed.value)
    peer.send(FT.ACK, ack=x["seq"] + 1, req=x["seq"], status=ST.STALE)
    assert (await result_of(tb, 5959, 400, "the STALE outcome"))["status"] == ST.STALE
    await host(OP.TRANSFER, 960, 5960, owner=KERNEL_CARD, dest=RTL_CARD)
    (q, _), _ = await peer.expect(lambda h, p: h["ftype"] == FT.TRANSFER_REQ and h["req"] == 5960, 400, "REQ 5960")
    peer.send(FT.TRANSFER_RESULT, seq=1, ack=q["seq"] + 1, req=5960, status=ST.MISS, arg=RTL_CARD)
    assert (await result_of(tb, 5960, 400, "the relayed MISS"))["status"] == ST.MISS
    assert int(dut.cnt_transfers_failed.value) == failed + 2
    # to a card that is not a member: FAILED at once, nothing sent
    await host(OP.PULL, 955, 5955, owner=2, dest=BCAST)
    await host(OP.TRANSFER, 956, 5956, owner=2, dest=RTL_CARD)
    for tag in (5955, 5956):
        assert (await result_of(tb, tag, 400, f"{tag} to a non-member"))["status"] == ST.FAILED
    # malformed: a PULL without a key; a TRANSFER with a second beat
    await tb.host.send(command(op=OP.PULL, key=b"", key_len=0, tag=5957, aux=BCAST | (KERNEL_CARD << 8))[0][0])
    await tb.host.send(b"".join(b for b, _ in command(op=OP.TRANSFER, key=key_of(958), key_len=len(key_of(958)),
                                                      tag=5958, aux=KERNEL_CARD | (BCAST << 8))) + bytes(BEAT))
    r = await result_of(tb, 5957, 400, "the keyless PULL")
    assert r["status"] == ST.BAD_CMD and r["op"] == OP.PULL
    assert (await result_of(tb, 5958, 400, "the two-beat TRANSFER"))["status"] == ST.BAD_CMD
    report(dut._log)
