#!/usr/bin/env python3
"""Longest register-to-register path of a Yosys synth_xilinx netlist (write_json).

Per module, in LUT levels: every LUT1..LUT6 counts 1, and so does the asynchronous read
of a distributed (LUT) RAM, address to data out. MUXF7/F8/F9 and CARRY8 count 0 in the
level figure (they sit in the same slice behind a LUT), but every combinational cell is
also counted in `cells`, close to what Vivado calls logic levels. Paths start at
flip-flop, block/Ultra RAM and DSP outputs, module input ports and submodule outputs, and
end at the inputs of those and at module output ports (a LUT RAM or SRL is a boundary for
its write side and one level from its read address to its data out).
So a hierarchical netlist gives each module's own depth (a path through a submodule is
cut at its ports) and a flattened one the whole design's.

Used by report.py; alone: lut_levels.py NETLIST.json prints per module
"name lut_levels cells start_net end_net".
"""
import json
import re
import sys

LUT = re.compile(r"^LUT[1-6]$")
LUTRAM = re.compile(r"^(RAM\d+[MX]\w*|SRL\w+)$")  # RAM32M, RAM64M, RAM32M16, RAM64X1D, SRLC32E, ...
LUTRAM_RADDR = re.compile(r"^(ADDR[A-H]|A\d*|DPRA\d*|RADR\d*)$")
ZERO = re.compile(r"^(MUXF[789]|CARRY\d|CARRY8|INV|BUF)$")


def cell_depths(comb, driver):
    """Longest path into every combinational cell, by memoised depth-first search
    (iterative: netlists are deep). comb: [(name, in bits, out bits, lut weight)];
    driver: bit -> index in comb of the cell driving it.
    Returns ({cell index: (lut levels, cells, input bit on its deepest path)}, the bits
    where a combinational loop was cut: counted as path starts there)."""
    depth = {}
    cut = set()
    for root in range(len(comb)):
        if root in depth:
            continue
        stack, onstack = [(root, False)], set()
        while stack:
            c, done = stack.pop()
            if done:
                onstack.discard(c)
                best = (0, 0, None)  # the first of the deepest inputs
                for b in comb[c][1]:
                    d = driver.get(b)
                    if d is None:
                        cand = (0, 0)
                    elif d not in depth:  # a combinational loop: cut it here
                        cut.add(b)
                        cand = (0, 0)
                    else:
                        cand = depth[d][:2]
                    if best[2] is None or cand > best[:2]:
                        best = (cand[0], cand[1], b)
                depth[c] = (best[0] + comb[c][3], best[1] + 1, best[2])
                continue
            if c in depth or c in onstack:
                continue
            onstack.add(c)
            stack.append((c, True))
            for b in comb[c][1]:
                d = driver.get(b)
                if d is not None and d not in depth and d not in onstack:
                    stack.append((d, False))
    return depth, cut


def path_start(depth, driver, c):
    """The start bit of the deepest path into cell c (of cell_depths): back along the
    deepest inputs to the cell where it starts (cells count 1: its input is undriven
    or loop-cut)."""
    while depth[c][1] > 1:
        c = driver[depth[c][2]]
    return depth[c][2]


def cell_graph(mod, label_names):
    """The combinational graph of a module: ([(cell name, in bits, out bits, lut weight)],
    [(bit, label)] for every input bit of a path boundary: flip-flop, block RAM, DSP,
    submodule). A boundary is labelled by the first name of its output bits found in the
    dicts of label_names (bit -> name), tried in order, else by its type and cell name."""
    comb, boundary = [], []
    for cname, cell in mod.get("cells", {}).items():
        t = cell["type"]
        dirs = cell.get("port_directions", {})
        conns = cell["connections"]
        if not (LUT.match(t) or LUTRAM.match(t) or ZERO.match(t)):
            outs = [b for p, bits in conns.items() if dirs.get(p) == "output" for b in bits if isinstance(b, int)]
            label = next((n[b] for n in label_names for b in outs if b in n), f"{t} {cname}")
            for p, bits in conns.items():
                if dirs.get(p) != "output":
                    boundary += [(b, label) for b in bits if isinstance(b, int)]
            continue
        w = 1 if (LUT.match(t) or LUTRAM.match(t)) else 0
        if LUTRAM.match(t):
            # one arc per read port: DOx from ADDRx only (ADDRH of a RAM32M16 is also the
            # write address of every port, which reaches DOA..DOG only through the clock),
            # DPO from DPRA, SPO from A; write data and enables never reach an output.
            outs_by = {p: [b for b in bits if isinstance(b, int)] for p, bits in conns.items()
                       if dirs.get(p) == "output"}
            for p, outs in outs_by.items():
                if re.match(r"^DO[A-H]$", p):
                    want = re.compile(f"^ADDR{p[-1]}$")
                elif p == "DPO":
                    want = re.compile(r"^DPRA\d*$")
                elif p == "SPO":
                    want = re.compile(r"^A\d*$")
                else:
                    want = LUTRAM_RADDR
                ins = [b for q, bits in conns.items() if dirs.get(q) != "output" and want.match(q)
                       for b in bits if isinstance(b, int)]
                comb.append((f"{cname}.{p}", ins, outs, w))
            continue
        ins, outs = [], []
        for p, bits in conns.items():
            bits = [b for b in bits if isinstance(b, int)]
            (outs if dirs.get(p, "input") == "output" else ins).extend(bits)
        comb.append((cname, ins, outs, w))
    return comb, boundary


def analyse(mod):
    names = {}
    for name, net in mod.get("netnames", {}).items():
        if net.get("hide_name") and name.startswith("$"):
            continue
        for i, b in enumerate(net["bits"]):
            if isinstance(b, int):
                names.setdefault(b, f"{name}[{i}]")
    comb, boundary = cell_graph(mod, [names])
    sink = {}  # bit -> name of what a boundary cell drives from it (for the report)
    for b, label in boundary:
        sink.setdefault(b, label)
    driver = {}
    for i, (_, _, outs, _) in enumerate(comb):
        for b in outs:
            driver[b] = i
    lv, cut = cell_depths(comb, driver)
    loops = {names.get(b, str(b)) for b in cut}
    if loops:
        print(f"lut_levels: COMBINATIONAL LOOP in {mod.get('attributes', {}).get('hdlname', '?')} through "
              f"{len(loops)} net(s), e.g. {sorted(loops)[:3]} (cut there; its levels are a lower bound)",
              file=sys.stderr)
    if not lv:
        return 0, 0, "-", "-"
    end = max(lv, key=lambda c: lv[c][:2])
    lut, cells, _ = lv[end]
    start = path_start(lv, driver, end)
    end_name = next((sink[b] for b in comb[end][2] if b in sink), None) or next(
        (names[b] for b in comb[end][2] if b in names), comb[end][0])
    return lut, cells, names.get(start, str(start)), end_name


def main():
    data = json.load(open(sys.argv[1]))
    for name, mod in data["modules"].items():
        if mod.get("attributes", {}).get("blackbox") or mod.get("attributes", {}).get("whitebox"):
            continue
        lut, cells, start, end = analyse(mod)
        print(f"{name} {lut} {cells} {start} {end}")


if __name__ == "__main__":
    main()
