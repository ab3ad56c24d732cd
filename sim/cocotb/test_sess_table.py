"""cocotb bench for rtl/sess_table: directed PUT/GET/TAKE/TOO_LARGE/BAD_CMD transactions.

Commands and responses are built with the generated sim/cocotb/sessnic_wire.py (from
spec/wire.toml) and streamed with cocotbext-axi. Runs under Icarus Verilog (-g2012) via
cocotb-test; `make test` runs it through scripts/run_pytest.sh.
"""
import os
import pathlib

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, Timer
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

import sessnic_wire as wire

CARD = 3


class Table:
    """Drives one sess_table instance: send a command, get its response back."""

    def __init__(self, dut):
        self.dut = dut
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_cmd"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_rsp"), dut.clk, dut.rst)

    async def reset(self):
        dut = self.dut
        dut.card_id.value = CARD
        dut.sweep_enable.value = 0
        dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        while True:  # the table clears every set after reset
            await RisingEdge(dut.clk)
            if not dut.flushing.value:
                break

    async def command(self, blob=b"", **fields):
        fields.setdefault("blob_len", len(blob))
        if "key" in fields:
            fields.setdefault("key_len", len(fields["key"]))
        hdr = wire.pack(wire.HEADER_FIELDS, fields)
        payload = bytes(blob).ljust(-(-len(blob) // 64) * 64, b"\0")
        await self.source.send(AxiStreamFrame(hdr + payload))
        frame = await self.sink.recv()
        data = bytes(frame.tdata)
        rsp = wire.unpack(wire.HEADER_FIELDS, data[:64])
        assert rsp["tag"] == fields.get("tag", 0), "response carries the command's tag"
        assert rsp["aux"] == CARD, "response carries the card id"
        blob_out = data[64:64 + rsp["blob_len"]]
        assert len(data) == 64 + -(-rsp["blob_len"] // 64) * 64, "response framing follows blob_len"
        return rsp, blob_out


@cocotb.test()
async def directed_transactions(dut):
    cocotb.start_soon(Clock(dut.clk, 4, units="ns").start())
    t = Table(dut)
    await t.reset()

    key = bytes(range(1, 33))
    blob = bytes((i * 7) & 0xFF for i in range(200))

    rsp, _ = await t.command(op=wire.Opcode.SET_TIME, tag=1, aux=1000)
    assert rsp["status"] == wire.Status.OK

    rsp, _ = await t.command(op=wire.Opcode.PUT, tag=2, key=key, expiry=2000, blob=blob)
    assert rsp["status"] == wire.Status.OK
    assert rsp["version"] == (1 << wire.CARD_BITS) | CARD, "first local write takes Lamport 1"

    rsp, got = await t.command(op=wire.Opcode.GET, tag=3, key=key)
    assert rsp["status"] == wire.Status.OK and got == blob
    assert rsp["expiry"] == 2000

    rsp, got = await t.command(op=wire.Opcode.TAKE, tag=4, key=key)
    assert rsp["status"] == wire.Status.OK and got == blob, "TAKE returns the blob once"
    rsp, got = await t.command(op=wire.Opcode.GET, tag=5, key=key)
    assert rsp["status"] == wire.Status.MISS and got == b"", "TAKE left a tombstone"

    rsp, _ = await t.command(op=wire.Opcode.PUT, tag=6, key=key, expiry=2000, blob=bytes(300))
    assert rsp["status"] == wire.Status.TOO_LARGE, "a blob larger than a slot is refused, not truncated"

    rsp, _ = await t.command(op=0x42, tag=7, key=key)
    assert rsp["status"] == wire.Status.BAD_CMD
    rsp, _ = await t.command(op=wire.Opcode.GET, tag=8, key=b"", key_len=0)
    assert rsp["status"] == wire.Status.BAD_CMD, "an empty session id is malformed"

    rsp, stats = await t.command(op=wire.Opcode.STATS, tag=9)
    counters = dict(zip(wire.STATS_NAMES, (int.from_bytes(stats[i:i + 8], "little") for i in range(0, 128, 8))))
    assert counters["puts"] == 1 and counters["hits"] == 2 and counters["misses"] == 1
    assert counters["too_large"] == 1 and counters["bad_cmd"] == 2 and counters["tombstones"] == 1
    assert counters["now"] == 1000 and counters["card"] == CARD


def test_sess_table_cocotb():
    """pytest entry point: builds the RTL with Icarus and runs the cocotb test above."""
    from cocotb_test.simulator import run

    here = pathlib.Path(__file__).resolve().parent
    rtl = here.parent.parent / "rtl"
    run(
        verilog_sources=[
            str(rtl / "common" / "sessnic_wire_pkg.sv"),
            str(rtl / "common" / "sess_ram_sdp.sv"),
            str(rtl / "common" / "sess_axis_fifo.sv"),
            str(rtl / "sess_table" / "sess_table.sv"),
        ],
        toplevel="sess_table",
        module="test_sess_table",
        python_search=[str(here)],
        simulator="icarus",
        compile_args=["-g2012"],
        timescale="1ns/1ps",
        parameters={"SETS_LOG2": 4, "WAYS": 2, "SLOT_BYTES": 256},
        sim_build=str(here / "sim_build" / "sess_table"),
        waves=bool(os.environ.get("SESSNIC_TRACE")),
    )
