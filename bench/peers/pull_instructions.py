#!/usr/bin/env python3
"""Server instructions per server change, over a same-server resume (issue 14, docs/backplane.md
"Instructions per pull").

One transfer cluster (3 sessnic-server under callgrind, sessnic-dispatch native, session_pull,
the dispatcher's pull budget raised to 1 s since valgrind runs the servers ~50x slower), driven
by the peer benchmark's client: N changes (a session of server i offered to server i+1, so Y
pulls it from X), then, in a second cluster, N same-server resumes through the dispatcher (the
SNI always names server 1). Both arms do the same N full handshakes. Collection is zeroed after
a warm-up (every server has signed and pulled before) and dumped after the client: an idle
window of the same length is measured first and subtracted, since the pumps' HELLO timers cost
instructions per second, not per change. Prints, per thread role (io = the server's io thread,
pump = the backplane pump), instructions per change minus per same-server resume, and the
functions that differ most. Counts are user-space only, and valgrind hides SHA-NI, so HMAC-SHA256
shows at ~2,000 instructions per 64-byte block where the CPU spends ~100 cycles.

    python3 bench/peers/pull_instructions.py BUILD [--tls 1.2] [--n 100] [--top 25]
"""
import argparse
import bisect
import collections
import functools
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_peers as rp  # noqa: E402

# valgrind 3.19 has no openat2 (the static site's RESOLVE_BENEATH open): measurement only,
# served as a plain openat from an LD_PRELOAD shim.
SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
long syscall(long n, ...) {
  va_list ap; va_start(ap, n);
  long a[6]; for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
  va_end(ap);
  if (n == SYS_openat2) return openat((int)a[0], (const char*)a[1], (int)((struct open_how*)a[2])->flags);
  static long (*real)(long, ...);
  if (!real) real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
"""


@functools.lru_cache(None)
def symbols(obj):
    out = []
    r = subprocess.run(["nm", "-D", "--defined-only", obj], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "Tt":
            out.append((int(p[0], 16), p[2].split("@")[0]))
    return sorted(out)


def fn_name(obj, fn):
    m = re.match(r"0x([0-9a-f]+)$", fn)
    if m and obj:  # a stripped library: nearest exported symbol below
        s = symbols(obj)
        v = int(m.group(1), 16)
        i = bisect.bisect_right(s, (v, "~")) - 1
        if i >= 0:
            return f"{os.path.basename(obj)}:{s[i][1]}+{v - s[i][0]:#x}"
    return fn


def exclusive(path):
    """{function: exclusive Ir} of one callgrind dump (--compress-strings=no)."""
    cost = collections.Counter()
    obj = fn = None
    skip = False
    for line in open(path):
        if line.startswith("ob="):
            obj = line[3:].strip()
        elif line.startswith("fn="):
            fn = fn_name(obj, line[3:].strip())
        elif line.startswith("calls="):
            skip = True  # the next cost line is the call's inclusive cost
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip:
                skip = False
                continue
            p = line.split()
            if len(p) >= 2:
                cost[fn] += int(p[1])
    return cost


def role(path):
    t = path.rsplit("-", 1)[1]
    return {"02": "pump", "11": "io"}.get(t, "thread " + t)  # sessnic-server's thread order


def arm(build, work, mode, tls, n, shim):
    """Runs one cluster; returns ({role: Counter} of the idle window, of the client's, its seconds)."""
    out = work / mode
    out.mkdir()
    content = out / "content"
    content.mkdir()
    (content / "index.html").write_text("peers\n")
    rp.make_pki(out, build / "host/cli/sessnic")
    tcp = iter(rp.free_ports(socket.SOCK_STREAM, 12))
    udp = iter(rp.free_ports(socket.SOCK_DGRAM, 4))
    ports = [next(tcp) for _ in range(3)]
    disp = (next(tcp), next(tcp))
    udps = [next(udp) for _ in range(4)]
    d = out / "c"
    d.mkdir()
    cfg = rp.sessnic_conf(d, "transfer", ports, udps, disp, session_pull=True)
    (d / "cluster.toml").write_text(cfg.replace("card = 0\n", "card = 0\npull_deadline_us = 1000000\n", 1))
    procs = rp.Processes(out)
    servers = []
    try:
        for i in range(3):
            vg = ["env", f"LD_PRELOAD={shim}", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.s{i + 1}.%p",
                  "--separate-threads=yes", "--compress-strings=no"]
            servers.append(procs.start(f"s{i + 1}", vg + [str(build / "host/server/sessnic-server"), "--config",
                                       str(d / "cluster.toml"), "--name", f"s{i + 1}", "--log-level", "warn"],
                                       ports=[ports[i]], timeout=180))
        procs.start("dispatch", [str(build / "host/dispatch/sessnic-dispatch"), "--config", str(d / "cluster.toml"),
                                 "--log-level", "warn"], ports=[disp[0]])

        def client(sni, samples, name):
            cmd = [str(build / "bench/peers/peer_client"), "--out", str(out / name), "--sni", sni, "--tls", tls,
                   "--reps", "1", "--change-samples", str(samples), "--added-samples", "0", "--sat-seconds", "0",
                   "--timeout-ms", "60000", "--system", f"x=127.0.0.1:{disp[0]}"]
            subprocess.run(cmd, check=True, capture_output=True)

        def control(*args):
            for p in servers:
                subprocess.run(["callgrind_control", *args, str(p.pid)], check=True, capture_output=True)

        client(",".join(rp.SNI), 6, "warm.json")  # every server has signed, pulled and been pulled from
        control("-z")
        t0 = time.monotonic()
        client(",".join(rp.SNI) if mode == "change" else ",".join([rp.SNI[0]] * 3), n, "res.json")
        busy = time.monotonic() - t0
        control("--dump=client")
        time.sleep(busy)
        control("--dump=idle")
    finally:
        procs.stop()
    res = __import__("json").loads((out / "res.json").read_text())["change"]["x"][tls]
    if len(res["change_us"]) != n:
        sys.exit(f"{mode}: {res['failures']} failures: {res['errors'][:3]}")
    counts = []
    for part in (1, 2):
        per = collections.defaultdict(collections.Counter)
        for f in glob.glob(f"{out}/cg.*.{part}-*"):
            per[role(f)].update(exclusive(f))
        counts.append(per)
    return counts[0], counts[1], sum(res["change_resumed"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--tls", default="1.2", choices=["1.2", "1.3"])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("pull_instructions: valgrind not installed (make deps)")
    build = Path(a.build).resolve()
    with tempfile.TemporaryDirectory(prefix="pull-instr-") as tmp:
        work = Path(tmp)
        (work / "shim.c").write_text(SHIM)
        shim = work / "shim.so"
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(shim), str(work / "shim.c"), "-ldl"], check=True)
        arms = {}
        for mode in ("same", "change"):
            busy, idle, resumed = arm(build, work, mode, a.tls, a.n, shim)
            arms[mode] = {r: busy[r].copy() for r in busy}
            for r in idle:  # what the same seconds cost with no client
                arms[mode].setdefault(r, collections.Counter()).subtract(idle[r])
            print(f"{mode}: {a.n} samples, {resumed} resumed")
    n = a.n
    total = 0
    for r in sorted(set(arms["same"]) | set(arms["change"])):
        s, c = arms["same"].get(r, collections.Counter()), arms["change"].get(r, collections.Counter())
        diff = (sum(c.values()) - sum(s.values())) / n
        if abs(diff) < 500:
            continue
        total += diff
        print(f"== {r}: {diff:,.0f} instructions per change over a same-server resume")
        fns = {f: (c[f] - s[f]) / n for f in set(s) | set(c)}
        for f, v in sorted(fns.items(), key=lambda x: -abs(x[1]))[:a.top]:
            print(f"{v:10,.0f}  {f[:140]}")
    print(f"TLS {a.tls}: {total:,.0f} server instructions per change over a same-server resume (user space)")


if __name__ == "__main__":
    main()
