"""The RTL source lists of rtl/sources.cmake, read (not copied) for the cocotb benches.

    python3 rtl_sources.py SESSNIC_RTL_SESS_TABLE_SV   # prints the files, one per line

rtl/sources.cmake is the one place each module's source list is defined; the Makefiles
and the pytest runners ask this script instead of listing files a second time.
"""
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[3]


def _lists():
    text = (REPO / "rtl" / "sources.cmake").read_text()
    text = re.sub(r"#[^\n]*", "", text)
    found = {"SESSNIC_RTL_DIR": [str(REPO / "rtl")], "CMAKE_SOURCE_DIR": [str(REPO)]}
    for name, body in re.findall(r"set\(\s*(\w+)\s+([^)]*)\)", text):
        items = []
        for tok in body.split():
            expanded = re.sub(r"\$\{(\w+)\}", lambda m: " ".join(found[m.group(1)]), tok)
            items.extend(expanded.split())
        found[name] = items
    for name in re.findall(r"list\(REMOVE_DUPLICATES\s+(\w+)\)", text):
        found[name] = list(dict.fromkeys(found[name]))
    return found


def sources(name):
    """Files of one list, e.g. sources('SESSNIC_RTL_BP_SYNC_SV')."""
    lists = _lists()
    if name not in lists:
        raise KeyError(f"{name} is not defined in rtl/sources.cmake")
    return lists[name]


if __name__ == "__main__":
    print("\n".join(sources(sys.argv[1])))
