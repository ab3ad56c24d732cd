#!/usr/bin/env python3
"""The deepest register-to-register paths of one module, not just the longest.

lut_levels.py gives each module's longest path; to close timing one path at a time it
helps to see the next ones too. This lists, for one module of a Yosys synth_xilinx
netlist (write_json), the deepest path into each distinct end register (bits of one
register grouped), deepest first, with the named nets along it. Levels are counted as
lut_levels.py counts them (its cell model is imported, so both agree): LUT1..LUT6 and a
LUT RAM read one level each, MUXF7/8/9 and CARRY8 zero.

  lut_paths.py NETLIST.json [MODULE] [-n N] [--min LEVELS]
MODULE defaults to the netlist's only non-blackbox module; N (default 15) paths are
printed, those below LEVELS (default 0) are left out.
"""
import argparse
import json
import re
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from lut_levels import cell_depths, cell_graph  # noqa: E402  (the same cell model)


def base(name):
    """A bit's register name without its bit index (and Yosys's $ suffixes)."""
    return re.sub(r"(\[\d+\])+$", "", name)


def paths(mod):
    names, any_names = {}, {}  # public net names; any name (for an unnamed flip-flop)
    for name, net in mod.get("netnames", {}).items():
        for i, b in enumerate(net["bits"]):
            if isinstance(b, int):
                any_names.setdefault(b, f"{name}[{i}]")
                if not (net.get("hide_name") and name.startswith("$")):
                    names.setdefault(b, f"{name}[{i}]")
    comb, sinks = cell_graph(mod, [names, any_names])  # sinks: (bit, end label)
    for pname, port in mod.get("ports", {}).items():
        if port["direction"] == "output":
            sinks += [(b, f"{pname} (port)") for b in port["bits"] if isinstance(b, int)]
    driver = {b: i for i, c in enumerate(comb) for b in c[2]}
    depth, _ = cell_depths(comb, driver)  # cell -> (levels, cells, predecessor bit)
    best_by_end = {}
    for b, label in sinks:
        d = driver.get(b)
        if d is None:
            continue
        key = base(label)
        if key not in best_by_end or depth[d][:2] > best_by_end[key][0][:2]:
            best_by_end[key] = (depth[d], d)
    out = []
    for end, ((lv, cells, _), d) in best_by_end.items():
        trail, c, seen = [], d, set()
        while c is not None and c not in seen:
            seen.add(c)
            pb = depth[c][2]
            if pb is None:
                break
            nxt = driver.get(pb)
            if pb in names or nxt is None:
                trail.append(names.get(pb, str(pb)))
            c = nxt
        start = trail[-1] if trail else "-"
        via = [n for n in reversed(trail[:-1])]
        out.append((lv, cells, start, end, via))
    out.sort(key=lambda r: (-r[0], -r[1], r[3]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist")
    ap.add_argument("module", nargs="?")
    ap.add_argument("-n", type=int, default=15)
    ap.add_argument("--min", type=int, default=0)
    a = ap.parse_args()
    mods = json.load(open(a.netlist))["modules"]
    live = [m for m, v in mods.items() if not (v.get("attributes", {}).get("blackbox") or
                                                v.get("attributes", {}).get("whitebox"))]
    name = a.module or next((m for m in live if m.endswith("bp_sync") or "bp_sync" in m), live[0])
    print(f"{name}: deepest path into each end register (levels cells start -> end; named nets on the way)")
    for lv, cells, start, end, via in paths(mods[name])[:a.n]:
        if lv < a.min:
            break
        print(f"  {lv:2d} {cells:3d}  {start} -> {end}")
        if via:
            print(f"           via {', '.join(via[:8])}{' ...' if len(via) > 8 else ''}")


if __name__ == "__main__":
    main()
