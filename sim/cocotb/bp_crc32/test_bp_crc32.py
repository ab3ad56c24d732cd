"""cocotb bench for rtl/backplane_sync/bp_crc32.sv (one 512-bit beat per cycle, combinational):
every output must equal the HLS kernel's CRC step (hls/backplane_crc32.hpp through
sessnic_ref.crc32_update) on random, sparse and edge-case beats, and chained over whole
frames (crc_out fed back as crc_in)."""
import os
import random

import cocotb
from cocotb.triggers import Timer

from sessnic_tb import load_ref, run_bench


async def step(dut, crc, data):
    dut.crc_in.value = crc
    dut.data.value = int.from_bytes(data, "little")
    await Timer(1, "ns")
    return int(dut.crc_out.value)


def beats(rng, n):
    special = [bytes(64), b"\xff" * 64, bytes([1]) + bytes(63), bytes(63) + b"\x80"]
    out = list(special)
    while len(out) < n:
        if rng.randrange(3) == 0:  # sparse: one set bit
            x = bytearray(64)
            bit = rng.randrange(512)
            x[bit // 8] = 1 << (bit % 8)
            out.append(bytes(x))
        else:
            out.append(rng.randbytes(64))
    return out


@cocotb.test()
async def crc_step_equals_kernel(dut):
    ref = load_ref()
    rng = random.Random(int(os.environ.get("SESSNIC_SEED", 31)))
    n = 0
    for data in beats(rng, 400):
        crc = rng.choice([0xFFFFFFFF, 0, rng.getrandbits(32)])
        got = await step(dut, crc, data)
        want = ref.crc32_update(crc, data)
        assert got == want, f"crc_in {crc:08x} data {data.hex()}: rtl {got:08x} kernel {want:08x}"
        n += 1
    dut._log.info("%d beats: bp_crc32 equal to the kernel's CRC step", n)


@cocotb.test()
async def crc_chained_over_frames(dut):
    ref = load_ref()
    rng = random.Random(32)
    for _ in range(50):
        frame = beats(rng, 1 + rng.randrange(6))[-(1 + rng.randrange(6)):]
        crc = want = 0xFFFFFFFF
        for b in frame:
            crc = await step(dut, crc, b)
            want = ref.crc32_update(want, b)
        assert crc == want
        assert ref.crc32_final(crc) == ref.crc32_final(want)


def test_bp_crc32():
    run_bench(__file__, "bp_crc32", "SESSNIC_RTL_BP_FRAME_CHECK_SV", {})
