#!/usr/bin/env python3
"""Synthesize every module of an elaborated design on its own (hierarchical synthesis).

  run_modules.py ELAB.il OUT_DIR [--jobs N] [--timeout S] [--force]

ELAB.il is the design after `hierarchy -top <top>` (written by synth.sh): every module
specialised to the parameters of its instances ($paramod names), processes not yet
lowered. Each module is written to OUT_DIR/mod/<dir>/in.il with its submodules as
blackbox stubs (ports only), and synthesized by its own Yosys run
(`synth_xilinx -family xcup -top <module>`), N runs at a time, each under a timeout.
The netlist (the module alone, submodule instances left as cells) goes to
OUT_DIR/mod/<dir>/net.il; synth.sh assembles the netlists afterwards.

Cache: a run is skipped when the hash of its input (the module's elaborated text with
automatic name numbers renumbered, its stubs, the Yosys script and the Yosys version)
equals the one stored beside its netlist.

Exit status 1 if any run failed (Yosys error or a latch) or timed out; each is named.
"""
import argparse
import concurrent.futures as cf
import hashlib
import os
import re
import subprocess
import sys
import time

# synth_xilinx as for the whole design; a latch fails the run. The blackbox stubs and the
# cell library are deleted before writing, so a netlist holds exactly one module.
SCRIPT = """read_rtlil {inp}
synth_xilinx -family xcup -noiopad -noclkbuf -top {top}
select -assert-none t:LDCE t:LDPE t:$dlatch t:$_DLATCH_*
tee -q -o {stat} stat
delete =A:blackbox =A:whitebox
write_rtlil {out}
"""


def split_modules(path):
    """{module name: its RTLIL text} (a module runs from its leading attributes to `end`)."""
    mods, pending, cur, name = {}, [], None, None
    with open(path) as f:
        for line in f:
            if cur is None:
                if line.startswith("attribute "):
                    pending.append(line)
                elif line.startswith("module "):
                    name = line.split()[1]
                    cur = pending + [line]
                    pending = []
                else:
                    pending = []
            else:
                cur.append(line)
                if line == "end\n":
                    mods[name] = "".join(cur)
                    cur = None
    return mods


CELL = re.compile(r"^  cell (\S+) ", re.M)
PORT = re.compile(r"^  wire .*\b(input|output|inout) \d+ ")


def children(text, mods):
    return sorted({t for t in CELL.findall(text) if t in mods})


def stub(text):
    """The module's port declarations only, as a blackbox."""
    lines = text.splitlines(keepends=True)
    head = next(i for i, line in enumerate(lines) if line.startswith("module "))
    out = ["attribute \\blackbox 1\n", lines[head]]
    out += [line for line in lines[head + 1:] if PORT.match(line)]
    out.append("end\n")
    return "".join(out)


def dirname(name):
    """sess_axis_fifo.3b98ad6b for $paramod$3b98ad6b...\\sess_axis_fifo; bp_crc32 for \\bp_crc32."""
    base = name.rsplit("\\", 1)[-1]
    if name.startswith("$paramod\\"):  # $paramod\<module>\P=V: the module is the second part
        base = name.split("\\")[1]
    m = re.match(r"^\$paramod\$([0-9a-f]{8})", name)
    if m:
        return f"{base}.{m.group(1)}"
    if name.startswith("$paramod"):  # short parameter lists are spelled out in the name
        return f"{base}.{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return base


AUTO_ID = re.compile(r"\$(\d+)(?![0-9a-fA-F])")


def canonical(text):
    """The text with Yosys's automatic name numbers renumbered in order of appearance.
    They come from one counter over the whole elaboration, so a change to one module
    shifts the numbers in every module elaborated after it; renumbering keeps every
    distinct name distinct, so only a real change to this module changes its hash."""
    ranks = {}
    return AUTO_ID.sub(lambda m: "$" + str(ranks.setdefault(m.group(1), len(ranks))), text)


def input_key(inp, script, version):
    with open(inp) as f:
        return hashlib.sha256((canonical(f.read()) + script + version).encode()).hexdigest()


def run(name, d, timeout, version, force):
    inp, out, stat = f"{d}/in.il", f"{d}/net.il", f"{d}/stat.txt"
    script = SCRIPT.format(inp=inp, top=name, stat=stat, out=out)
    key = input_key(inp, script, version)
    keyfile = f"{d}/inputs.sha256"
    if not force and os.path.exists(out) and os.path.exists(keyfile) and open(keyfile).read().strip() == key:
        return name, "cached", 0.0
    for p in (out, keyfile):
        if os.path.exists(p):
            os.remove(p)
    with open(f"{d}/synth.ys", "w") as f:
        f.write(script)
    start = time.monotonic()
    try:
        r = subprocess.run(["yosys", "-q", "-l", f"{d}/yosys.log", f"{d}/synth.ys"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run kills the Yosys it started
        return name, "timeout", time.monotonic() - start
    wall = time.monotonic() - start
    if r.returncode != 0 or not os.path.exists(out):
        return name, "failed", wall
    with open(keyfile, "w") as f:
        f.write(key + "\n")
    return name, "ok", wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("elab")
    ap.add_argument("out")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    mods = split_modules(a.elab)
    version = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout
    dirs = {}
    for name, text in mods.items():
        d = f"{a.out}/mod/{dirname(name)}"
        os.makedirs(d, exist_ok=True)
        body = "".join(stub(mods[c]) for c in children(text, mods)) + text
        if not os.path.exists(f"{d}/in.il") or open(f"{d}/in.il").read() != body:
            with open(f"{d}/in.il", "w") as f:
                f.write(body)
        with open(f"{d}/name", "w") as f:
            f.write(name + "\n")
        dirs[name] = d
    # the largest modules first, so two runs in parallel finish close together
    order = sorted(mods, key=lambda n: -len(mods[n]))
    bad = []
    with cf.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        futs = [pool.submit(run, n, dirs[n], a.timeout, version, a.force) for n in order]
        for fut in cf.as_completed(futs):
            name, status, wall = fut.result()
            d = dirs[name]
            if status == "cached":
                print(f"synth: {os.path.basename(d):<28} unchanged, netlist reused", flush=True)
            elif status == "ok":
                print(f"synth: {os.path.basename(d):<28} {wall:7.0f} s", flush=True)
            elif status == "timeout":
                print(f"synth: {os.path.basename(d):<28} TIMED OUT after {a.timeout:.0f} s "
                      f"(module {name}; log {d}/yosys.log)", flush=True)
                bad.append(name)
            else:
                print(f"synth: {os.path.basename(d):<28} FAILED (a latch or a Yosys error; "
                      f"log {d}/yosys.log):", flush=True)
                subprocess.run(["tail", "-8", f"{d}/yosys.log"])
                bad.append(name)
    # A module that did not synthesize enters the assembly as its blackbox stub, so the
    # others are still reported; synth.sh names it and fails.
    with open(f"{a.out}/netlists.txt", "w") as f, open(f"{a.out}/missing.txt", "w") as m:
        for n in order:
            if n in bad:
                with open(f"{dirs[n]}/stub.il", "w") as s:
                    s.write(stub(mods[n]))
                f.write(f"{dirs[n]}/stub.il\n")
                m.write(n.rsplit("\\", 1)[-1] + "\n")
            else:
                f.write(f"{dirs[n]}/net.il\n")
    if bad:
        print("synth: not synthesized: " + ", ".join(n.rsplit("\\", 1)[-1] for n in bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
