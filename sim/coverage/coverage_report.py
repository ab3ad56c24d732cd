#!/usr/bin/env python3
"""Per-module line and toggle coverage from Verilator coverage.dat files (make coverage).

    coverage_report.py OUT_JSON DAT [DAT ...]

Every coverage point of every run and every instance is merged by its identity in the
module (file, line, column, comment, kind): a point counts as covered when any run hit it
in any instance of the module. Points are grouped by the
module they belong to (the `page` field: v_line/<module>, v_branch/<module>,
v_toggle/<module>); "line" is statement + branch points, as verilator_coverage counts
lines. Prints one row per module and writes the figures rtl_line_coverage_<module> and
rtl_toggle_coverage_<module> (fractions 0..1) as a flat JSON object to OUT_JSON; a module
with no points of a kind (its bench built without toggle coverage) gets no figure of it.
"""
import json
import re
import sys
from collections import defaultdict

POINT = re.compile(r"^C '(.*)' (\d+)$")


def points(path):
    with open(path, encoding="latin-1") as f:
        for raw in f:
            m = POINT.match(raw.rstrip("\n"))
            if not m:
                continue
            fields = dict(kv.split("\x02", 1) for kv in m.group(1).split("\x01") if "\x02" in kv)
            yield fields, int(m.group(2))


def main(out_json, dats):
    hits = {}
    kind_of = {}
    for dat in dats:
        for fields, count in points(dat):
            page = fields.get("page", "")
            kind, _, module = page.partition("/")
            module = module.split("__")[0]  # Verilator's per-parameter copies (sess_ram_sdp__W180_A4)
            ident = (fields.get("f"), fields.get("l"), fields.get("n"), fields.get("o"), kind, module)
            hits[ident] = hits.get(ident, 0) + count
            kind_of[ident] = (kind, module)
    total = defaultdict(lambda: [0, 0])  # (module, "line"/"toggle") -> [covered, points]
    for ident, count in hits.items():
        kind, module = kind_of[ident]
        what = {"v_line": "line", "v_branch": "line", "v_toggle": "toggle"}.get(kind)
        if not what or not module:
            continue
        total[(module, what)][1] += 1
        total[(module, what)][0] += count > 0
    figures = {}
    modules = sorted({m for m, _ in total})
    print(f"{'module':<20} {'line':>16} {'toggle':>18}")
    for m in modules:
        row = [m]
        for what in ("line", "toggle"):
            cov, n = total.get((m, what), (0, 0))
            if not n:  # not instrumented for this kind (e.g. toggle off): no figure, not a 0
                row.append("n/a")
                continue
            frac = cov / n
            figures[f"rtl_{what}_coverage_{m}"] = round(frac, 4)
            row.append(f"{frac * 100:5.1f}% ({cov}/{n})")
        print(f"{row[0]:<20} {row[1]:>16} {row[2]:>18}")
    with open(out_json, "w") as f:
        json.dump(figures, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0 if modules else 1


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
