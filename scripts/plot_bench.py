#!/usr/bin/env python3
"""PNG charts of the benchmarks under BUILD/bench/ (matplotlib, pinned in requirements.txt).

    .venv/bin/python scripts/plot_bench.py [BUILD_DIR]

Each chart reads the raw data a benchmark left behind and is skipped, with a note, when
that benchmark has not run. Charts (docs/benchmarks.md):
  peers_change_p50.png           server-change setup time p50 (bar) and p99 (tick) per system
  peers_hs_per_s.png             handshakes/s at saturation per system (bar: mean, dots: repetitions)
  peers_change_latency_cdf.png   distribution of the server-change setup time per system
  peers_added_latency_cdf.png    resumed setup time on one server: directly, via HAProxy, via sessnic-dispatch
"""
import json
import sys
from pathlib import Path

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("plot_bench: matplotlib is missing: run 'make deps' (it installs requirements.txt into .venv)")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench" / "peers"))
import peer_figures  # noqa: E402

VERSIONS = ["1.2", "1.3"]
COLORS = {"nginx": "#7f7f7f", "apache": "#d62728", "sessnic": "#1f77b4", "sessnic_replicate": "#2ca02c",
          "direct": "#7f7f7f", "haproxy": "#d62728", "dispatch": "#1f77b4"}
NOTE = "loopback, shared 2-core machine"


def grouped_bars(ax, systems, values, ylabel, extra=None):
    width = 0.8 / len(VERSIONS)
    for j, v in enumerate(VERSIONS):
        xs = [i + (j - (len(VERSIONS) - 1) / 2) * width for i in range(len(systems))]
        ys = [values[s][v] for s in systems]
        bars = ax.bar(xs, ys, width * 0.95, color=[COLORS.get(s, "#333333") for s in systems],
                      alpha=0.55 if v == "1.2" else 0.95, edgecolor="black", linewidth=0.5)
        for b, y in zip(bars, ys):
            # Inside the bar's foot, so the markers drawn above the bars stay readable.
            ax.annotate(f"TLS {v}\n{y:.0f}", (b.get_x() + b.get_width() / 2, 0), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
        if extra:
            extra(ax, xs, systems, v, width)
    ax.set_xticks(range(len(systems)))
    ax.set_xticklabels([peer_figures.SYSTEMS[s].replace(" -> ", "\n-> ").replace(" (", "\n(") for s in systems],
                       fontsize=7)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def peers_charts(build, out):
    results = build / "bench" / "peers" / "results.json"
    if not results.exists():
        print(f"plot_bench: {results} is missing (run make bench-peers); peer charts skipped")
        return []
    r = json.loads(results.read_text())
    change, sat, added = r.get("change", {}), r.get("saturation", {}), r.get("added", {})
    systems = [s for s in peer_figures.SYSTEMS if s in change]
    written = []

    p50 = {s: {v: peer_figures.quantile(change[s][v]["change_us"], 0.5) for v in VERSIONS} for s in systems}

    def p99_ticks(ax, xs, syss, v, width):
        ax.scatter(xs, [peer_figures.quantile(change[s][v]["change_us"], 0.99) for s in syss], marker="_", s=200,
                   color="black", zorder=3, label="p99" if v == VERSIONS[0] else None)

    fig, ax = plt.subplots(figsize=(9, 5))
    grouped_bars(ax, systems, p50, "µs (TCP connect + TLS handshake, client side)", p99_ticks)
    ax.set_title(f"Server-change setup time, 1 client: p50 (bars), p99 (ticks)\n{NOTE}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "peers_change_p50.png", dpi=110)
    plt.close(fig)
    written.append("peers_change_p50.png")

    if sat:
        hs = {s: {v: sum(x["hs_per_s"] for x in sat[s][v]) / max(1, len(sat[s][v])) for v in VERSIONS}
              for s in systems}

        def rep_dots(ax, xs, syss, v, width):
            for x, s in zip(xs, syss):
                pts = [p["hs_per_s"] for p in sat[s][v]]
                ax.scatter([x] * len(pts), pts, s=10, color="black", zorder=3)

        fig, ax = plt.subplots(figsize=(9, 5))
        n = r["config"].get("sat_clients", 32)
        grouped_bars(ax, systems, hs, "handshakes/s (connections with a server change)", rep_dots)
        ax.set_title(f"Saturation, {n} concurrent clients: mean (bars), each repetition (dots)\n{NOTE}")
        fig.tight_layout()
        fig.savefig(out / "peers_hs_per_s.png", dpi=110)
        plt.close(fig)
        written.append("peers_hs_per_s.png")

    def cdfs(fname, title, series_of, names, labels):
        fig, axes = plt.subplots(1, len(VERSIONS), figsize=(11, 4.5), sharey=True)
        for ax, v in zip(axes, VERSIONS):
            for name in names:
                xs = sorted(series_of(name, v))
                if not xs:
                    continue
                ys = [(i + 1) / len(xs) for i in range(len(xs))]
                ax.step(xs, ys, where="post", color=COLORS.get(name), label=labels[name])
            ax.set_xscale("log")
            ax.set_xlabel("µs")
            ax.set_title(f"TLS {v}")
            ax.grid(alpha=0.3, which="both")
        axes[0].set_ylabel("fraction of connections ≤ x")
        axes[-1].legend(fontsize=7, loc="lower right")
        fig.suptitle(f"{title}\n{NOTE}", fontsize=10)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
        written.append(fname)

    cdfs("peers_change_latency_cdf.png", "Server-change setup time (connect + handshake offering the session)",
         lambda s, v: change[s][v]["change_us"], systems, peer_figures.SYSTEMS)
    paths = [p for p in ("direct", "haproxy", "dispatch") if p in added]
    if paths:
        cdfs("peers_added_latency_cdf.png", "Resumed setup time on one sessnic-server, by path",
             lambda p, v: added[p][v]["us"], paths,
             {"direct": "direct (client sends PROXY v2)", "haproxy": "via HAProxy (send-proxy-v2)",
              "dispatch": "via sessnic-dispatch"})
    return written


def main():
    build = Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
    out = build / "bench"
    out.mkdir(parents=True, exist_ok=True)
    written = peers_charts(build, out)
    for w in written:
        print(f"plot_bench: wrote {out / w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
