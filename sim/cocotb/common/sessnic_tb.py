"""Shared pieces of the sessnic cocotb benches (sim/cocotb/<module>/test_<module>.py).

* clock, reset and AXI4-Stream drivers that behave the same on Icarus and Verilator;
* the HLS kernels as the scoreboard reference (`load_ref()`: the pybind11 module
  sessnic_ref built by CMake from sim/cocotb/ref/sessnic_ref.cpp, never a Python copy);
* beats <-> frames, random pause generators (idle insertion and back-pressure);
* an in-order scoreboard with a readable diff;
* the pytest entry (`run_bench`) that builds and runs a bench through cocotb-test.
"""
import os
import pathlib
import shutil
import sys
from collections import deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

REPO = pathlib.Path(__file__).resolve().parents[3]
COCOTB_DIR = REPO / "sim" / "cocotb"
CLOCK_NS = 4  # 250 MHz, the card's kernel clock
BEAT = 64


def param(name, default):
    """A bench parameter: PARAM_<name> from the Makefile or the pytest runner."""
    return int(os.environ.get(f"PARAM_{name}", default))


def load_ref():
    """The HLS kernels as a Python module (sim/cocotb/ref/sessnic_ref.cpp)."""
    path = os.environ.get("SESSNIC_PYREF", str(REPO / "build" / "python"))
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        import sessnic_ref
    except ImportError as e:
        raise ImportError(
            f"sessnic_ref (the HLS kernels for the scoreboard) not found in {path}: "
            "build it with `cmake --build build --target sessnic_ref` or point SESSNIC_PYREF at it") from e
    return sessnic_ref


def start_clock(dut, clk_name="clk"):
    clk = getattr(dut, clk_name)
    cocotb.start_soon(Clock(clk, CLOCK_NS, units="ns").start())
    return clk


async def reset(clk, rst, cycles=4):
    rst.value = 1
    for _ in range(cycles):
        await RisingEdge(clk)
    rst.value = 0
    await RisingEdge(clk)


async def wait_until(clk, cond, cycles, what):
    """Clock until cond() holds; fails (never hangs) after `cycles`."""
    for _ in range(cycles):
        if cond():
            return
        await RisingEdge(clk)
    raise AssertionError(f"timed out after {cycles} cycles waiting for {what}")


def bus(dut, prefix):
    """AXI4-Stream bus handles by exact name. cocotb-bus 0.2's default case-insensitive
    lookup lists the whole DUT (dir() -> _discover_all()); on Verilator 5.006 that
    breaks the running model (reset and every register stop changing), which is the
    "hangs on the first beat" of cocotbext-axi benches on Verilator."""
    return AxiStreamBus.from_prefix(dut, prefix, case_insensitive=False)


def stream_pair(dut, clk, source_prefix, sink_prefix):
    """cocotbext-axi source and sink on a DUT's s_<x>/m_<y> ports (512-bit, TLAST).

    Reset is handled by the bench (reset()), not by cocotbext-axi's reset watcher."""
    source = AxiStreamSource(bus(dut, source_prefix), clk) if source_prefix else None
    sink = AxiStreamSink(bus(dut, sink_prefix), clk) if sink_prefix else None
    for s in (source, sink):
        if s is not None:
            s.log.setLevel("WARNING")  # one INFO line per frame otherwise
    return source, sink


def random_pause(rng, probability):
    """Pause generator: True (stall this cycle) with the given probability."""
    while True:
        yield rng.random() < probability


def to_beats(data, last=True):
    """Bytes (a multiple of 64) -> [(beat, tlast)], TLAST on the final beat."""
    assert len(data) % BEAT == 0 and data, "a frame is whole 64-byte beats"
    n = len(data) // BEAT
    return [(bytes(data[i * BEAT:(i + 1) * BEAT]), last and i == n - 1) for i in range(n)]


def from_beats(beats):
    return b"".join(b for b, _ in beats)


def pad(blob):
    return bytes(blob).ljust(-(-len(blob) // BEAT) * BEAT, b"\0")


async def recv(sink, timeout_us=200):
    """One whole frame from a sink, as bytes; fails after timeout_us of simulated time."""
    frame = await with_timeout(sink.recv(), timeout_us, "us")
    return bytes(frame.tdata)


async def send(source, data):
    await source.send(AxiStreamFrame(bytes(data)))


class Scoreboard:
    """In-order scoreboard: expected frames pushed by the driver, checked as the DUT answers.

    Latency-agnostic: only order and content count, never the cycle."""

    def __init__(self, log, describe=None):
        self.log = log
        self.expected = deque()
        self.checked = 0
        self.describe = describe or (lambda b: b[:16].hex())

    def expect(self, data, note=""):
        self.expected.append((bytes(data), note))

    def check(self, got):
        assert self.expected, f"DUT sent a frame nobody asked for: {self.describe(got)}"
        want, note = self.expected.popleft()
        if got != want:
            where = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
            raise AssertionError(
                f"response {self.checked} ({note}) differs from the HLS kernel at byte {where} "
                f"(beat {where // BEAT}): length rtl {len(got)} kernel {len(want)}\n"
                f"  kernel: {self.describe(want)}\n  rtl:    {self.describe(got)}")
        self.checked += 1


def ci_sample(sim, first):
    """make test (CI) samples: every bench runs its first parameter set only (a build and
    a run per set); make cocotb (SESSNIC_COCOTB_ALL=1) runs every set on both simulators."""
    import pytest

    if not first and not os.environ.get("SESSNIC_COCOTB_ALL"):
        pytest.skip(f"CI sample on {sim}: the first parameter set only (make cocotb runs all)")


def icarus_sources(files, out_dir):
    """The sources as Icarus 11 can elaborate them: unpacked structs (the PeakRDL register
    block, its use in sessnic_top) flattened to one signal per leaf (icarus_compat.py)."""
    from icarus_compat import write

    return write(files, out_dir)


def run_bench(bench_file, toplevel, sources, parameters, testcase=None, sim=None, timeout_s=None, modules=None,
              coverage_toggle=True):
    """pytest entry: build `toplevel` with cocotb-test on SIM (icarus/verilator) and run
    test_<toplevel>.py's cocotb tests, or those of `modules` (a comma-separated list of
    cocotb test modules in the bench folder), all or `testcase`. coverage_toggle=False:
    line coverage only under make coverage (see the sessnic_top bench)."""
    from cocotb_test.simulator import run

    sys.path.insert(0, str(COCOTB_DIR / "common"))
    from rtl_sources import sources as rtl_list

    here = pathlib.Path(bench_file).resolve().parent
    sim = sim or os.environ.get("SIM", "icarus")
    waves = os.environ.get("WAVES", "0") == "1"
    files = rtl_list(sources) if isinstance(sources, str) else list(sources)
    # no quotes in the folder name (a string parameter's value has them): vvp cannot read them
    tag = "-".join(f"{k}{v}" for k, v in sorted(parameters.items())).replace('"', "") or "default"
    if sim == "icarus":
        compile_args = ["-g2012"]
        files = icarus_sources(files, here / "sim_build" / f"{sim}-{tag}" / "flat")
    else:
        compile_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast", "--x-initial", "fast",
                        "-O2", str(REPO / "rtl" / "lint.vlt")]
        if os.environ.get("SESSNIC_COVERAGE") == "1":
            # make coverage (sim/coverage/): the model writes sim_build/.../coverage.dat at exit
            # toggle points on signals up to 64 bits: the 512-bit data paths would add
            # thousands of points (and minutes of C++ compile) that say nothing about control
            compile_args += ["--coverage-line"]
            if coverage_toggle:
                compile_args += ["--coverage-toggle", "--coverage-max-width", "64"]
            tag += "-cov"
    sim_build = here / "sim_build" / f"{sim}-{tag}"
    env = {f"PARAM_{k}": str(v) for k, v in parameters.items()}
    env["SESSNIC_PYREF"] = os.environ.get("SESSNIC_PYREF", str(REPO / "build" / "python"))
    if sim == "verilator":
        # The model's C++ compile is most of a Verilator bench's time: -O1 instead of
        # verilated.mk's -Os compiles it in about half the time for a few percent of run
        # time (cocotb's Python dominates), and ccache reuses the unchanged objects (the
        # Verilator runtime, a bench whose RTL did not change) across runs and checkouts.
        env["MAKEFLAGS"] = os.environ.get("SESSNIC_VERILATOR_MAKEFLAGS", "OPT_FAST=-O1")
        if shutil.which("ccache"):
            env["OBJCACHE"] = "ccache"
    run(
        verilog_sources=files,
        toplevel=toplevel,
        module=modules or f"test_{here.name}",
        python_search=[str(here), str(COCOTB_DIR / "common"), str(COCOTB_DIR)],
        simulator=sim,
        compile_args=compile_args,
        timescale="1ns/1ps",
        parameters=parameters,
        extra_env=env,
        testcase=testcase or os.environ.get("TESTCASE"),
        sim_build=str(sim_build),
        waves=waves,
    )
