#!/usr/bin/env python3
"""Per-module synthesis figures from the netlists scripts/bench.d/synth.sh writes.

  report.py HIER.json FLAT.json TOP CARD [BENCH_JSON] [--missing MOD,MOD]

HIER.json is the hierarchical synth_xilinx netlist: each module's own longest path
(lut_levels.py) and its resources counted over every instance in the design (a module
used twice counts twice; its submodules included). FLAT.json is the same design
flattened: the longest path of the whole design, across module boundaries. CARD (a
module under TOP, e.g. sessnic_top under the kernel wrapper) gives the resource figures
synth_lut/ff/bram36/uram/dsp. Modules that
Yosys specialised per parameter set ($paramod...) are reported under their base name:
the deepest variant's levels, the sum of all instances' resources.
synth_lut_levels_max is the deepest module (each module's own logic, cut at its ports);
synth_lut_levels_<TOP>_flat the flattened design, across module boundaries.
--missing names modules that did not synthesize (blackboxes in the netlists): their rows,
the totals that would include them and synth_lut_levels_max are not written as figures.
"""
import json
import re
import sys
from collections import Counter, defaultdict

from lut_levels import analyse

KINDS = {
    "lut": re.compile(r"^LUT[1-6]$"),
    "ff": re.compile(r"^FD[A-Z]*$"),
    "bram36": re.compile(r"^RAMB36E2$"),
    "bram18": re.compile(r"^RAMB18E2$"),
    "uram": re.compile(r"^URAM288\w*$"),
    "dsp": re.compile(r"^DSP48E2$"),
    "lutram": re.compile(r"^(RAM\d+[MX]\w*|SRL\w+)$"),
}


def base(name):
    name = name.lstrip("\\")
    if name.startswith("$paramod"):
        name = name.split("\\")[1] if "\\" in name else name
    return name


def totals(mods, name, memo):
    """Cell-type counts of module `name` including its submodules (per instance)."""
    if name in memo:
        return memo[name]
    c = Counter()
    for cell in mods[name].get("cells", {}).values():
        t = cell["type"]
        if t in mods and not mods[t].get("attributes", {}).get("blackbox"):
            c.update(totals(mods, t, memo))
        else:
            c[t] += 1
    memo[name] = c
    return c


def kinds(counter):
    out = {k: 0 for k in KINDS}
    for t, n in counter.items():
        for k, rx in KINDS.items():
            if rx.match(t):
                out[k] += n
    out["bram36"] = out["bram36"] + out.pop("bram18") / 2  # figure in BRAM36 equivalents
    return out


def main():
    args = sys.argv[1:]
    missing = []  # modules whose synthesis failed or timed out: blackboxes in the netlists
    if "--missing" in args:
        i = args.index("--missing")
        missing = [m for m in args[i + 1].split(",") if m]
        del args[i:i + 2]
    hier = json.load(open(args[0]))["modules"]
    flat = json.load(open(args[1]))["modules"]
    top = args[2]
    card = args[3]
    bench = args[4] if len(args) > 4 else None
    design = {n: m for n, m in hier.items() if not m.get("attributes", {}).get("blackbox")}

    # instances of every module in the whole design, to sum resources per base name
    inst = Counter()

    def count(name, n):
        inst[name] += n
        for cell in design[name].get("cells", {}).values():
            if cell["type"] in design:
                count(cell["type"], n)

    count(top, 1)

    memo = {}
    per = defaultdict(lambda: {"levels": 0, "cells": 0, "path": "", "res": Counter()})
    for name in design:
        if inst[name] == 0:
            continue
        lut, cells, start, end = analyse(design[name])
        b = base(name)
        p = per[b]
        if (lut, cells) > (p["levels"], p["cells"]):
            p["levels"], p["cells"], p["path"] = lut, cells, f"{start} -> {end}"
        for t, n in totals(design, name, memo).items():
            p["res"][t] += n * inst[name]

    flat_top = [m for n, m in flat.items() if base(n) == top][0]
    lut, cells, start, end = analyse(flat_top)
    top_res = kinds(totals(flat, [n for n in flat if base(n) == top][0], {}))
    card_res = kinds(per[card]["res"])

    print(f"{'module':<16} {'LUT':>7} {'FF':>7} {'BRAM36':>7} {'URAM':>5} {'DSP':>4} {'LUTRAM':>6} {'levels':>6} {'cells':>5}  longest path")
    rows = sorted(per.items(), key=lambda kv: kv[0] != top)
    for b, p in rows:
        k = kinds(p["res"])
        print(f"{b:<16} {k['lut']:>7} {k['ff']:>7} {k['bram36']:>7g} {k['uram']:>5} {k['dsp']:>4} {k['lutram']:>6} "
              f"{p['levels']:>6} {p['cells']:>5}  {p['path']}")
    print(f"{top + ' (flat)':<16} {top_res['lut']:>7} {top_res['ff']:>7} {top_res['bram36']:>7g} {top_res['uram']:>5} "
          f"{top_res['dsp']:>4} {top_res['lutram']:>6} {lut:>6} {cells:>5}  {start} -> {end}")
    # The deepest module (issue 11's figure): each module's own logic, cut at its ports.
    # Paths that cross module boundaries are the flattened kernel's figure, reported
    # beside it (synth_lut_levels_<top>_flat), not folded into it.
    levels_max = max(p["levels"] for p in per.values())
    if missing:
        # totals and the deepest path would silently leave these out: no such figures
        print(f"NOT SYNTHESIZED: {', '.join(missing)} (blackboxes above: the totals, the flattened rows and "
              f"synth_lut_levels_max leave them out and are not written as figures)")
    else:
        deepest = [b for b, p in sorted(per.items()) if p["levels"] == levels_max]
        print(f"synth_lut_levels_max = {levels_max} (deepest module: {', '.join(deepest)})")
        print(f"synth_lut_levels_{top}_flat = {lut} (across module boundaries: {start} -> {end})")

    if bench and missing:
        fig = {f"synth_lut_levels_{b}": p["levels"] for b, p in sorted(per.items())}
        json.dump(fig, open(bench, "w"), indent=2)
    elif bench:
        fig = {
            "synth_lut_levels_max": levels_max,
            "synth_lut": card_res["lut"],
            "synth_ff": card_res["ff"],
            "synth_bram36": card_res["bram36"],
            "synth_uram": card_res["uram"],
            "synth_dsp": card_res["dsp"],
            f"synth_lut_levels_{top}_flat": lut,
            "synth_kernel_lut": top_res["lut"],
            "synth_kernel_ff": top_res["ff"],
        }
        for b, p in sorted(per.items()):
            fig[f"synth_lut_levels_{b}"] = p["levels"]
        json.dump(fig, open(bench, "w"), indent=2)


if __name__ == "__main__":
    main()
