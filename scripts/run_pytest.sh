#!/usr/bin/env bash
# Runs the cocotb benches (pytest) if any exist; a missing suite is not a failure,
# a failing one is.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls sim/cocotb/test_*.py >/dev/null 2>&1; then
  exit 0
fi
exec .venv/bin/python -m pytest -q sim/cocotb
