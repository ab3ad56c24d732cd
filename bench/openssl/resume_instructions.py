#!/usr/bin/env python3
"""Server instructions per resumed handshake, sessnic vs OpenSSL's internal cache.

Runs `bench_resume --instructions N` under callgrind with collection only inside the
server's SSL calls (`--toggle-collect='*on_server_side*'`, tests/support), reads the one
dump per arm and version, and prints instructions per resumed handshake and the ratio.
Instruction counts do not depend on the machine's load: a before/after comparison of
sessnic's server-side cost that noise cannot blur.

    python3 bench/openssl/resume_instructions.py build [N]     # N default 200

With $SESSNIC_BENCH_PARTS set (make bench: scripts/bench.d/resume_instructions.sh) it
writes resume_instr_ratio_tls12 / _tls13 and resume_instr_{sessnic,internal}_tls12 / 13
to $SESSNIC_BENCH_PARTS/openssl_instructions.json.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main() -> int:
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    exe = os.path.join(build, "bench", "bin", "bench_resume")
    if not shutil.which("valgrind"):
        print("resume_instructions: valgrind not installed (make deps)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="resume-instr-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=*on_server_side*",
               f"--callgrind-out-file={out}", exe, "--instructions", str(n)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            print(r.stdout + r.stderr, file=sys.stderr)
            return 1
        per = {}
        for f in glob.glob(out + "*"):
            text = open(f, encoding="utf-8", errors="replace").read()
            m = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
            t = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if m and t:
                per[m.group(1)] = int(t.group(1)) / n
    want = [f"{arm}_tls{v}" for v in (12, 13) for arm in ("sessnic", "internal")]
    missing = [w for w in want if w not in per]
    if missing:
        print(f"resume_instructions: no callgrind dump for {missing}", file=sys.stderr)
        return 1
    figures = {}
    for v in (12, 13):
        s, i = per[f"sessnic_tls{v}"], per[f"internal_tls{v}"]
        print(f"  TLS 1.{v - 10}: server instructions per resumed handshake: sessnic {s:,.0f}, "
              f"internal cache {i:,.0f}, ratio {s / i:.4f}")
        figures[f"resume_instr_sessnic_tls{v}"] = round(s)
        figures[f"resume_instr_internal_tls{v}"] = round(i)
        figures[f"resume_instr_ratio_tls{v}"] = round(s / i, 4)
    print(json.dumps(figures))
    parts = os.environ.get("SESSNIC_BENCH_PARTS")
    if parts:
        with open(os.path.join(parts, "openssl_instructions.json"), "w", encoding="utf-8") as f:
            json.dump(figures, f)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
