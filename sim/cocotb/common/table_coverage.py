"""Functional coverage of table commands (cocotb-coverage): opcode x status, and what the
command did to the table (hit / miss / evict / tombstone / expired / ...), as the HLS
kernel's counters report it. Printed at the end of every test (cumulative per run)."""
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

import sessnic_wire as wire

OPS = [o.name for o in wire.Opcode] + ["BAD_OPCODE"]
STATUSES = [s.name for s in wire.Status]
OUTCOMES = ["hit", "miss", "evict", "tombstone", "expired", "stale", "too_large", "bad_cmd", "none"]
STAT = {n: i for i, n in enumerate(wire.STATS_NAMES)}


def outcome(before, after):
    """What one command did, from the kernel's STATS counters before and after it."""
    d = {n: after[i] - before[i] for n, i in STAT.items()}
    for name, counter in (("evict", "evictions"), ("expired", "expired"), ("stale", "stale"),
                          ("too_large", "too_large"), ("bad_cmd", "bad_cmd")):
        if d[counter] > 0:
            return name
    if d["tombstones"] > 0:
        return "tombstone"
    if d["hits"] > 0:
        return "hit"
    if d["misses"] > 0:
        return "miss"
    return "none"


@CoverPoint("table.op", xf=lambda op, st, oc: op, bins=OPS)
@CoverPoint("table.status", xf=lambda op, st, oc: st, bins=STATUSES)
@CoverPoint("table.outcome", xf=lambda op, st, oc: oc, bins=OUTCOMES)
@CoverCross("table.op_x_status", items=["table.op", "table.status"])
@CoverCross("table.op_x_outcome", items=["table.op", "table.outcome"])
def _sample(op, st, oc):
    pass


def sample(op, status, before, after):
    name = wire.Opcode(op).name if op in wire.Opcode._value2member_map_ else "BAD_OPCODE"
    _sample(name, wire.Status(status).name, outcome(before, after))


def report(log, node="table"):
    """One line per cover item (cumulative over the tests run so far in this simulator)."""
    for name in sorted(k for k in coverage_db if k.startswith(node + ".")):
        item = coverage_db[name]
        log.info("coverage %-22s %3d/%-3d bins (%5.1f%%)", name, item.coverage, item.size, item.cover_percentage)
    cross = coverage_db.get(node + ".op_x_status")
    if cross is not None:
        log.info("coverage %s.op_x_status bins hit: %s", node, ", ".join("x".join(k) for k, v in sorted(cross.detailed_coverage.items()) if v))
