#!/usr/bin/env python3
"""Merge per-benchmark figure files into one flat JSON object of numbers, and check it
against the figures docs/benchmarks.md lists.

    bench_summary.py PARTS_DIR OUT.json [--docs docs/benchmarks.md] [--ran "step ..."]
                     [--skipped "step ..."]

A step is a benchmark executable's name (bench_backplane) or a scripts/bench.d script's
name without .sh (peers). Every figure the docs list for a step that was not skipped must
be in the summary, and every figure in the summary must be listed in the docs; otherwise
the summary is still written, what is missing or unlisted is printed, and the exit status
is 2. --ran names the steps that were run (a step the docs name that did not run, e.g. an
executable that was not built, is said so).

Figure names in the docs: the first column of every table whose header is `name`/`figure`
followed by `unit`. A cell may name several: `a_tls12` / `_tls13` (the last segments
replaced), `a_p50_us_<system>`, `a_p99_us_…` (the placeholders of the name before),
`x_{haproxy,dispatch}_<tls>` (either). A placeholder the docs enumerate ("`<tls>` is
`tls12` or `tls13`") stands for each of its values, each of them required; any other
(`<module>`, `<n>`, ...) for one or more names. The step of a table is its `benchmark`
column, or else its section: a `### bench_x` heading, or the first `scripts/bench.d/x.sh`
the section names.
"""
import argparse
import json
import pathlib
import re
import sys

PLACEHOLDER = re.compile(r"<(\w+)>|\{([\w,]+)\}")


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _step_of(cell):
    """`bench_x` -> bench_x; `scripts/bench.d/x.sh` -> x."""
    m = re.search(r"`([^`]+)`", cell)
    name = m.group(1) if m else cell.strip()
    m = re.fullmatch(r"(?:.*/)?scripts/bench\.d/(\w+)\.sh", name)
    return m.group(1) if m else name


def _names_in_cell(cell):
    """The figure names (with placeholders) one first-column cell lists."""
    out = []
    for token in re.findall(r"`([^`]+)`", cell):
        if out and token.startswith("_"):
            prev = out[-1]
            segments = token.count("_")
            out.append("_".join(prev.split("_")[:-segments]) + token)
        elif out and token.endswith(("…", "...")):
            prev = out[-1]
            m = PLACEHOLDER.search(prev)
            tail = prev[m.start():] if m else ""
            out.append(token.rstrip(".…") + tail)
        else:
            out.append(token)
    return out


def documented(text):
    """[(step, name pattern)] from the docs, and the enumerated placeholders {name: [values]}."""
    values = {}
    for m in re.finditer(r"`<(\w+)>` is ((?:`\w+`(?:, | or )?)+)", text):
        values[m.group(1)] = re.findall(r"`(\w+)`", m.group(2))
    figures = []
    section_step = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            section_step = heading if re.fullmatch(r"bench_\w+", heading) else None
        elif section_step is None:
            m = re.search(r"scripts/bench\.d/(\w+)\.sh", line)
            if m:
                section_step = m.group(1)
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"\|\s*-", lines[i + 1]):
            header = [c.lower() for c in _cells(line)]
            table = len(header) > 1 and header[0] in ("name", "figure") and header[1] == "unit"
            bench_col = header.index("benchmark") if table and "benchmark" in header else None
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                row = _cells(lines[i])
                if table:
                    step = _step_of(row[bench_col]) if bench_col is not None else section_step
                    for name in _names_in_cell(row[0]):
                        figures.append((step, name))
                i += 1
            continue
        i += 1
    return figures, values


def _expand(name, values):
    """(concrete names, None) when every placeholder is enumerated, else (None, regex)."""
    parts, pos, wild = [""], 0, False
    for m in PLACEHOLDER.finditer(name):
        literal = name[pos:m.start()]
        parts = [p + literal for p in parts]
        if m.group(2):
            choices = m.group(2).split(",")
        elif m.group(1) in values:
            choices = values[m.group(1)]
        else:
            choices, wild = None, True
        parts = [p + (c if choices else "\0") for p in parts for c in (choices or [""])]
        pos = m.end()
    parts = [p + name[pos:] for p in parts]
    if not wild:
        return parts, None
    return None, re.compile("|".join("[a-z0-9_]+".join(map(re.escape, p.split("\0"))) for p in parts))


def check(summary, docs_text, ran=None, skipped=()):
    """Lines that say what is missing or unlisted (empty when the summary is complete)."""
    figures, values = documented(docs_text)
    problems, patterns = [], []
    missing = {}
    for step, name in figures:
        concrete, regex = _expand(name, values)
        patterns.append(regex or re.compile("|".join(map(re.escape, concrete))))
        if step in skipped:
            continue
        if concrete is not None:
            absent = [n for n in concrete if n not in summary]
        else:
            absent = [] if any(regex.fullmatch(n) for n in summary) else [name]
        missing.setdefault(step, []).extend(absent)
    for step, names in sorted(missing.items(), key=lambda kv: str(kv[0])):
        if not names:
            continue
        why = " (the step did not run)" if ran is not None and step not in ran else ""
        problems.append(f"missing from {step}{why}: {', '.join(names)}")
    unlisted = sorted(n for n in summary if not any(p.fullmatch(n) for p in patterns))
    if unlisted:
        problems.append(f"not listed in the docs: {', '.join(unlisted)}")
    return problems


def merge(parts_dir):
    summary = {}
    for part in sorted(parts_dir.glob("*.json")):
        figures = json.loads(part.read_text())
        for name, value in figures.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                sys.exit(f"{part}: figure {name!r} is not a number: {value!r}")
            if name in summary:
                sys.exit(f"{part}: figure {name!r} already written by another bench")
            summary[name] = value
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts_dir", type=pathlib.Path)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--docs", type=pathlib.Path,
                    default=pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md")
    ap.add_argument("--ran", help="the steps that were run (space-separated)")
    ap.add_argument("--skipped", default="", help="the steps left out on purpose (space-separated)")
    args = ap.parse_args()

    summary = merge(args.parts_dir)
    args.out.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}:")
    for name, value in sorted(summary.items()):
        print(f"  {name:32s} {value:.6g}")
    ran = set(args.ran.split()) if args.ran is not None else None
    problems = check(summary, args.docs.read_text(), ran, set(args.skipped.split()))
    for p in problems:
        print(f"bench_summary: {p}", file=sys.stderr)
    if problems:
        print(f"bench_summary: {args.out} does not hold the figures {args.docs} lists (above)", file=sys.stderr)
        return 2
    print(f"every figure {args.docs.name} lists is there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
