# pytest set-up for the cocotb benches: the shared helpers (common/) and the generated
# sessnic_wire.py are importable from every bench folder.
import pathlib
import sys

_here = pathlib.Path(__file__).resolve().parent
for p in (_here / "common", _here):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
