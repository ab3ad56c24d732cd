"""Figures of the peer benchmark from peer_client's raw samples (docs/benchmarks.md, "Peers").

compute(results) -> (figures: {name: number}, table: str). Standard library only.
"""
import csv
import re

SYSTEMS = {
    "nginx": "HAProxy -> 3 nginx (no sharing)",
    "apache": "HAProxy -> 3 Apache mod_ssl + memcached",
    "sessnic": "sessnic transfer (sessnic-dispatch)",
    "sessnic_replicate": "HAProxy (send-proxy-v2) -> sessnic, replicate",
}
VERSIONS = {"1.2": "tls12", "1.3": "tls13"}
# A front end adds at least this much (µs) in the ratio's denominator, so a noise-sized
# HAProxy figure cannot turn the ratio into a division by ~0.
MIN_ADDED_US = 1.0


def quantile(xs, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not xs:
        return 0.0
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _ratio(a, b):
    return a / b if b else 0.0


def compute(r):
    f = {}
    change, sat, added = r.get("change", {}), r.get("saturation", {}), r.get("added", {})
    totals = {}  # system -> [resumed, offered] over both measurements and versions
    for sys_name in SYSTEMS:
        for v, tag in VERSIONS.items():
            c = change.get(sys_name, {}).get(v)
            if c is None:
                continue
            us, res = c["change_us"], c["change_resumed"]
            f[f"peer_change_p50_us_{sys_name}_{tag}"] = quantile(us, 0.5)
            f[f"peer_change_p99_us_{sys_name}_{tag}"] = quantile(us, 0.99)
            f[f"peer_full_p50_us_{sys_name}_{tag}"] = quantile(c["full_us"], 0.5)
            f[f"peer_change_resume_rate_{sys_name}_{tag}"] = _ratio(sum(res), len(res))
            reps = sat.get(sys_name, {}).get(v, [])
            hs = [x["hs_per_s"] for x in reps]
            f[f"peer_hs_per_s_{sys_name}_{tag}"] = sum(hs) / len(hs) if hs else 0.0
            offered = sum(x["offered"] for x in reps)
            resumed = sum(x["resumed"] for x in reps)
            f[f"peer_sat_resume_rate_{sys_name}_{tag}"] = _ratio(resumed, offered)
            f[f"peer_failures_{sys_name}_{tag}"] = c["failures"] + sum(x["failures"] for x in reps)
            t = totals.setdefault(sys_name, [0, 0])
            t[0] += sum(res) + resumed
            t[1] += len(res) + offered
    for sys_name, (resumed, offered) in totals.items():
        f[f"peer_resume_rate_{sys_name}"] = _ratio(resumed, offered)
    f.update(cpu_figures(sat))

    for v, tag in VERSIONS.items():
        def g(name, sys_name):
            return f.get(f"{name}_{sys_name}_{tag}", 0.0)
        if f"peer_change_p50_us_sessnic_{tag}" in f and f"peer_change_p50_us_apache_{tag}" in f:
            f[f"peer_change_p50_ratio_apache_{tag}"] = _ratio(g("peer_change_p50_us", "sessnic"),
                                                              g("peer_change_p50_us", "apache"))
            f[f"peer_hs_per_s_ratio_apache_{tag}"] = _ratio(g("peer_hs_per_s", "sessnic"), g("peer_hs_per_s", "apache"))
            f[f"peer_replicate_change_p50_ratio_apache_{tag}"] = _ratio(g("peer_change_p50_us", "sessnic_replicate"),
                                                                        g("peer_change_p50_us", "apache"))
            f[f"peer_replicate_hs_per_s_ratio_apache_{tag}"] = _ratio(g("peer_hs_per_s", "sessnic_replicate"),
                                                                      g("peer_hs_per_s", "apache"))
        for sys_name in SYSTEMS:
            if f"peer_change_p50_us_{sys_name}_{tag}" in f and f"peer_change_p50_us_nginx_{tag}" in f:
                f[f"peer_change_p50_vs_nginx_{sys_name}_{tag}"] = _ratio(g("peer_change_p50_us", sys_name),
                                                                         g("peer_change_p50_us", "nginx"))
                f[f"peer_hs_per_s_vs_nginx_{sys_name}_{tag}"] = _ratio(g("peer_hs_per_s", sys_name),
                                                                       g("peer_hs_per_s", "nginx"))

    # Front-end added latency: in each round the client resumed the same session on the same
    # server directly and through each front end, back to back; a round's "added" is the path's
    # setup time minus the direct one of that round (pairing cancels most of the machine's load
    # swings). The binding ratio is the worse of the two TLS versions.
    names = r.get("config", {}).get("added", [])
    worst = {}
    for v, tag in VERSIONS.items():
        rounds = r.get("added_rounds", {}).get(v, [])
        if "direct" not in names or not rounds:
            continue
        di = names.index("direct")
        f[f"peer_direct_p50_us_{tag}"] = quantile([x[di] for x in rounds if x[di] is not None], 0.5)
        if "direct_nginx" in names:
            ni = names.index("direct_nginx")
            f[f"peer_direct_p50_us_nginx_{tag}"] = quantile([x[ni] for x in rounds if x[ni] is not None], 0.5)
        diffs = {}
        for fe in ("haproxy", "dispatch"):
            if fe in names:
                k = names.index(fe)
                diffs[fe] = [x[k] - x[di] for x in rounds if x[k] is not None and x[di] is not None]
        if not diffs.get("haproxy") or not diffs.get("dispatch"):
            continue
        for q, qn in ((0.5, "p50"), (0.99, "p99")):
            hap = quantile(diffs["haproxy"], q)
            disp = quantile(diffs["dispatch"], q)
            f[f"peer_added_{qn}_us_haproxy_{tag}"] = hap
            f[f"peer_added_{qn}_us_dispatch_{tag}"] = disp
            ratio = disp / max(hap, MIN_ADDED_US)
            f[f"peer_dispatch_added_{qn}_ratio_haproxy_{tag}"] = ratio
            worst[qn] = max(worst.get(qn, ratio), ratio)
    for qn, ratio in worst.items():
        f[f"peer_dispatch_added_{qn}_ratio_haproxy"] = ratio
    return f, table(f)


CPU_PARTS = ("client", "front", "servers", "store")


def cpu_figures(sat):
    """CPU time per handshake at saturation, per part of each system (peer_client --cpu): the
    CPU (user + system) its processes used during the windows ÷ the handshakes completed in them,
    and how many cores the system and the client kept busy on average."""
    f = {}
    for sys_name in SYSTEMS:
        for v, tag in VERSIONS.items():
            reps = [x for x in sat.get(sys_name, {}).get(v, []) if x.get("cpu_us")]
            hs = sum(x["handshakes"] for x in reps)
            if not reps or not hs:
                continue
            parts = {}
            for x in reps:
                for part, us in x["cpu_us"].items():
                    parts[part] = parts.get(part, 0.0) + us
            for part, us in parts.items():
                f[f"peer_cpu_us_per_hs_{sys_name}_{part}_{tag}"] = us / hs
            total = sum(parts.values())
            f[f"peer_cpu_us_per_hs_{sys_name}_{tag}"] = total / hs
            f[f"peer_cpu_cores_{sys_name}_{tag}"] = total / 1e6 / sum(x["seconds"] for x in reps)
    return f


def transfer_outcomes(metrics_text):
    """peer_sessnic_transfers_<outcome>: sessnic-dispatch's transfer outcomes over the whole run
    (change, saturation and added measurements), from its /metrics text."""
    out = {}
    for m in re.finditer(r'^sessnic_dispatch_transfers_total\{outcome="([a-z_]+)"\} ([0-9.e+]+)$', metrics_text, re.M):
        out[f"peer_sessnic_transfers_{m.group(1)}"] = float(m.group(2))
    # The answers of the moves fired at the hello for the servers that wait for them.
    for m in re.finditer(r'^sessnic_dispatch_early_moves_total\{outcome="([a-z_]+)"\} ([0-9.e+]+)$', metrics_text, re.M):
        out[f"peer_sessnic_early_moves_{m.group(1)}"] = float(m.group(2))
    # Where the dispatcher's part of a set-up goes (mean over the run, every connection).
    sums = dict(re.findall(r'^sessnic_dispatch_phase_seconds_sum\{phase="([a-z_]+)"\} ([0-9.e+-]+)$', metrics_text, re.M))
    counts = dict(re.findall(r'^sessnic_dispatch_phase_seconds_count\{phase="([a-z_]+)"\} ([0-9.e+-]+)$', metrics_text, re.M))
    for phase, n in counts.items():
        if float(n) > 0 and phase in sums:
            out[f"peer_sessnic_phase_{phase}_mean_us"] = float(sums[phase]) / float(n) * 1e6
    return out


def pull_results(metrics_text):
    """peer_sessnic_pulls_<result>: the sessnic servers' sessnic_server_session_pulls_total
    (session_pull: hellos with the dispatcher's pull hint), summed over the three servers."""
    out = {}
    for m in re.finditer(r'^sessnic_server_session_pulls_total\{result="([a-z_]+)"\} ([0-9.e+]+)$', metrics_text, re.M):
        key = f"peer_sessnic_pulls_{m.group(1)}"
        out[key] = out.get(key, 0.0) + float(m.group(2))
    return out


def table(f):
    def pair(fmt, name, sys_name):
        vals = [f.get(f"{name}_{sys_name}_{t}") for t in VERSIONS.values()]
        return " / ".join("-" if x is None else fmt.format(x) for x in vals)

    lines = ["| system | resumed on server change | change setup p50 µs (1.2 / 1.3) | vs nginx | "
             "handshakes/s at saturation (1.2 / 1.3) | vs nginx |",
             "|---|---|---|---|---|---|"]
    for sys_name, label in SYSTEMS.items():
        if f"peer_resume_rate_{sys_name}" not in f:
            continue
        lines.append(f"| {label} | {100 * f[f'peer_resume_rate_{sys_name}']:.1f}% | "
                     f"{pair('{:.0f}', 'peer_change_p50_us', sys_name)} | "
                     f"{pair('{:.2f}', 'peer_change_p50_vs_nginx', sys_name)} | "
                     f"{pair('{:.0f}', 'peer_hs_per_s', sys_name)} | "
                     f"{pair('{:.2f}', 'peer_hs_per_s_vs_nginx', sys_name)} |")
    if "peer_dispatch_added_p50_ratio_haproxy" in f:
        lines.append("")
        lines.append("| front end | added p50 µs (1.2 / 1.3) | added p99 µs (1.2 / 1.3) |")
        lines.append("|---|---|---|")
        for fe, label in (("haproxy", "HAProxy (send-proxy-v2)"), ("dispatch", "sessnic-dispatch")):
            p50 = " / ".join(f"{f.get(f'peer_added_p50_us_{fe}_{t}', 0):.0f}" for t in VERSIONS.values())
            p99 = " / ".join(f"{f.get(f'peer_added_p99_us_{fe}_{t}', 0):.0f}" for t in VERSIONS.values())
            lines.append(f"| {label} | {p50} | {p99} |")
    if any(k.startswith("peer_cpu_us_per_hs_") for k in f):
        lines.append("")
        lines.append("| CPU µs per handshake at saturation (1.2 / 1.3) | "
                     + " | ".join(CPU_PARTS) + " | total | cores busy |")
        lines.append("|---|" + "---|" * (len(CPU_PARTS) + 2))
        for sys_name, label in SYSTEMS.items():
            if not any(f"peer_cpu_us_per_hs_{sys_name}_{t}" in f for t in VERSIONS.values()):
                continue
            cells = [pair('{:.0f}', 'peer_cpu_us_per_hs', f"{sys_name}_{part}") for part in CPU_PARTS]
            cells.append(pair('{:.0f}', 'peer_cpu_us_per_hs', sys_name))
            cells.append(pair('{:.2f}', 'peer_cpu_cores', sys_name))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)



def write_samples_csv(r, path):
    """One row per timed connection: measurement, system/path, TLS version, µs, resumed."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["measurement", "system", "tls", "us", "resumed"])
        for sys_name, per in r.get("change", {}).items():
            for v, c in per.items():
                for us in c["full_us"]:
                    w.writerow(["full", sys_name, v, f"{us:.1f}", 0])
                for us, res in zip(c["change_us"], c["change_resumed"]):
                    w.writerow(["change", sys_name, v, f"{us:.1f}", res])
        for path_name, per in r.get("added", {}).items():
            for v, a in per.items():
                for us in a["us"]:
                    w.writerow(["added", path_name, v, f"{us:.1f}", 1])
