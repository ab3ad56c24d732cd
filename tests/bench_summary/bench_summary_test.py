#!/usr/bin/env python3
"""scripts/bench_summary.py: the figure names it reads from docs/benchmarks.md, and that a
summary missing a listed figure, or holding an unlisted one, fails with the name said."""
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench_summary.py"
DOCS = ROOT / "docs" / "benchmarks.md"
sys.path.insert(0, str(SCRIPT.parent))
import bench_summary  # noqa: E402

SMALL_DOCS = """# Benchmarks
## Figures
| name | unit | benchmark | what |
|------|------|-----------|------|
| `a_p50_us` / `a_p99_us` | µs | `bench_a` | a |
| `a_cpu_us_tls12` / `_tls13` | µs | `bench_a` | a's CPU |
| `syn_lut` | cells | `scripts/bench.d/syn.sh` | synthesis |

### bench_b

| figure | unit | meaning |
|--------|------|---------|
| `b_rate_<sys>_<tls>`, `b_p99_us_…` | ratio | b |
| `b_idle_pct_<n>` | % | b at n |

`<sys>` is `x` or `y`; `<tls>` is `tls12` or `tls13`.

| figure | goal | before |
|---|---|---|
| `not_a_figure_table` | 1 | 2 |
"""


def small_complete():
    names = ["a_p50_us", "a_p99_us", "a_cpu_us_tls12", "a_cpu_us_tls13", "syn_lut", "b_idle_pct_3"]
    for s in ("x", "y"):
        for t in ("tls12", "tls13"):
            names += [f"b_rate_{s}_{t}", f"b_p99_us_{s}_{t}"]
    return {n: 1.0 for n in names}


class DocsNames(unittest.TestCase):
    def test_the_real_docs_name_the_issue_figures_with_their_steps(self):
        figures, values = bench_summary.documented(DOCS.read_text())
        steps = {}
        for step, name in figures:
            concrete, _ = bench_summary._expand(name, values)
            for n in concrete or []:
                steps[n] = step
        for name, step in {
            "peer_change_p50_ratio_apache_tls12": "peers", "peer_change_p50_ratio_apache_tls13": "peers",
            "peer_hs_per_s_ratio_apache_tls12": "peers", "peer_hs_per_s_ratio_apache_tls13": "peers",
            "peer_dispatch_added_p50_ratio_haproxy": "peers", "peer_dispatch_added_p99_ratio_haproxy": "peers",
            "peer_resume_rate_sessnic": "peers", "peer_change_p99_us_sessnic_replicate_tls12": "peers",
            "peer_added_p99_us_dispatch_tls13": "peers", "peer_direct_p50_us_tls12": "peers",
            "resume_cost_ratio_tls12": "bench_resume", "resume_cost_ratio_tls13": "bench_resume",
            "server_resumed_cpu_us_tls12": "bench_server", "server_resumed_cpu_us_tls13": "bench_server",
            "dispatch_added_cold_p50_us": "bench_dispatch", "dispatch_added_cold_p99_us": "bench_dispatch",
            "dispatch_cpu_us_per_connection": "bench_dispatch", "redis_resume_rate": "bench_redis",
            "cardsvc_get_p99_us": "bench_cardsvc", "synth_uram": "synth",
        }.items():
            self.assertEqual(steps.get(name), step, name)

    def test_every_step_the_docs_name_exists(self):
        figures, _ = bench_summary.documented(DOCS.read_text())
        # the benchmark executables' targets (bench/, and sim/ for the SystemC model's)
        cmake = "\n".join(p.read_text() for d in ("bench", "sim") for p in (ROOT / d).glob("**/CMakeLists.txt"))
        for step in sorted({s for s, _ in figures}):
            self.assertIsNotNone(step)
            if step.startswith("bench_"):
                self.assertRegex(cmake, rf"\b{re.escape(step)}\b", f"no target {step}")
            else:
                self.assertTrue((ROOT / "scripts" / "bench.d" / f"{step}.sh").exists(), step)


class Check(unittest.TestCase):
    def run_summary(self, figures, *args):
        with tempfile.TemporaryDirectory() as d:
            d = pathlib.Path(d)
            (d / "parts").mkdir()
            (d / "parts" / "all.json").write_text(json.dumps(figures))
            (d / "benchmarks.md").write_text(SMALL_DOCS)
            r = subprocess.run([sys.executable, str(SCRIPT), str(d / "parts"), str(d / "summary.json"),
                                "--docs", str(d / "benchmarks.md"), *args], capture_output=True, text=True)
            written = json.loads((d / "summary.json").read_text())
        return r, written

    def test_complete_summary_passes(self):
        r, written = self.run_summary(small_complete(), "--ran", "bench_a bench_b syn")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(written, small_complete())

    def test_a_missing_figure_fails_and_is_named_with_its_step(self):
        figures = small_complete()
        del figures["a_cpu_us_tls13"], figures["b_p99_us_y_tls12"], figures["b_idle_pct_3"]
        r, written = self.run_summary(figures, "--ran", "bench_a bench_b syn")
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing from bench_a: a_cpu_us_tls13", r.stderr)
        self.assertIn("missing from bench_b: b_p99_us_y_tls12, b_idle_pct_<n>", r.stderr)
        self.assertEqual(written, figures)  # still written

    def test_a_step_that_did_not_run_is_said(self):
        figures = {k: v for k, v in small_complete().items() if k != "syn_lut"}
        r, _ = self.run_summary(figures, "--ran", "bench_a bench_b")
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing from syn (the step did not run): syn_lut", r.stderr)

    def test_skipped_steps_are_not_required(self):
        figures = {k: v for k, v in small_complete().items() if not k.startswith("b_")}
        r, _ = self.run_summary(figures, "--ran", "bench_a syn", "--skipped", "bench_b")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_an_unlisted_figure_fails(self):
        figures = dict(small_complete(), a_p90_us=1.0, not_a_figure_table=2.0)
        r, _ = self.run_summary(figures)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not listed in the docs: a_p90_us, not_a_figure_table", r.stderr)

    def test_a_value_that_is_not_a_number_fails(self):
        with tempfile.TemporaryDirectory() as d:
            d = pathlib.Path(d)
            (d / "a.json").write_text(json.dumps({"a_p50_us": "fast"}))
            r = subprocess.run([sys.executable, str(SCRIPT), str(d), str(d / "s.json"), "--docs", str(DOCS)],
                               capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("'a_p50_us' is not a number", r.stderr)


if __name__ == "__main__":
    unittest.main()
