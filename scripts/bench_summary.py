#!/usr/bin/env python3
"""Merge per-benchmark figure files into one flat JSON object of numbers."""
import json
import pathlib
import sys

parts_dir, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
summary = {}
for part in sorted(parts_dir.glob("*.json")):
    figures = json.loads(part.read_text())
    for name, value in figures.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            sys.exit(f"{part}: figure {name!r} is not a number: {value!r}")
        if name in summary:
            sys.exit(f"{part}: figure {name!r} already written by another bench")
        summary[name] = value
out.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
print(f"wrote {out}:")
for name, value in sorted(summary.items()):
    print(f"  {name:32s} {value:.6g}")
