"""Random session-table command streams (stimulus only; the kernel decides the answers).

Modelled on tests/rtl/table_equivalence_test.cpp: keys from a small pool (replacements,
deletes, re-puts), a few "hot" sets packed past their ways (evictions, same-set hazards),
moving time (expiry, time going backwards), local and peer versions (STALE, duplicates),
single-use entries, junk past key_len, TOO_LARGE, and malformed commands.
"""
import sessnic_wire as wire

from sessnic_tb import pad

OP = wire.Opcode


class Command:
    """One command: its header fields, the payload bytes and any framing fault."""

    def __init__(self, blob=b"", extra_beats=0, short=False, **fields):
        self.fields = fields
        self.blob = bytes(blob)
        self.extra_beats = extra_beats
        self.short = short

    def encode(self):
        f = dict(self.fields)
        f.setdefault("blob_len", len(self.blob))
        data = wire.pack(wire.HEADER_FIELDS, f) + pad(self.blob)
        if self.short and len(data) > 64:
            data = data[:-64]
        return data + bytes(64) * self.extra_beats


class TableStimulus:
    def __init__(self, rng, table_ref, slot_bytes, hot=False):
        self.rng = rng
        self.slot_bytes = slot_bytes
        self.hot = hot
        self.now = 1000
        self.lamport_hint = 64
        self.last_remote = 0x105
        self.pool = [self._key() for _ in range(40)]
        # Keys packed into two sets (kernel hash), more than any geometry's ways.
        self.hot_keys = []
        for target in (1, 2):
            n = 0
            while n < 12:
                k = self._key()
                if table_ref.set_of(k[0], k[1], k[2]) == target:
                    self.hot_keys.append(k)
                    n += 1

    def pick(self, n):
        return self.rng.randrange(n)

    def _key(self):
        n = 1 + self.pick(32) if self.pick(4) == 0 else 32
        return (bytes(self.rng.getrandbits(8) for _ in range(n)), n, self.pick(3))

    def _version(self):
        r = self.pick(10)
        if r < 7:
            return 0
        if r < 9:  # a peer's write: Lamport near ours, card 0..3
            self.last_remote = (((self.lamport_hint + self.pick(64)) - 32) << wire.CARD_BITS) | self.pick(4)
            self.lamport_hint += 8
        return self.last_remote  # else a duplicate delivery

    def _blob(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def next(self):
        key, key_len, ctx = self.rng.choice(self.hot_keys if (self.hot or self.pick(3) == 0) else self.pool)
        if self.pick(4) == 0:  # junk past key_len: ignored by hash, compare and echo
            key = key + bytes(self.rng.getrandbits(8) for _ in range(32 - key_len))
        f = dict(tag=self.rng.getrandbits(32), key=key, key_len=key_len, ctx=ctx,
                 expiry=(self.now + self.pick(60) - 8) & 0xFFFFFFFF, version=self._version(),
                 flags=wire.Flags.SINGLE_USE if self.pick(6) == 0 else (self.rng.getrandbits(8) if self.pick(20) == 0 else 0))
        if self.pick(10) == 0:
            f["status"] = self.rng.getrandbits(8)
        if self.pick(4) == 0:
            f["aux"] = self.rng.getrandbits(64)
        r = self.pick(1000)
        slot = self.slot_bytes
        if r < 330:
            return Command(op=OP.PUT, blob=self._blob(1 + self.pick(slot if self.pick(8) == 0 else slot // 2)), **f)
        if r < 560:
            return Command(op=OP.GET, **f)
        if r < 620:
            return Command(op=OP.TAKE, **f)
        if r < 660:
            return Command(op=OP.EXPORT, **f)
        if r < 760:
            return Command(op=OP.DEL, **f)
        if r < 820:
            self.now = (self.now - self.pick(10)) if self.pick(25) == 0 else self.now + self.pick(6)
            f["aux"] = (self.rng.getrandbits(32) << 32) | (self.now & 0xFFFFFFFF)  # only the low 32 bits count
            return Command(op=OP.SET_TIME, **f)
        if r < 840:
            return Command(op=OP.STATS, **f)
        if r < 850:
            return Command(op=OP.NOP, **f)
        if r < 852:
            return Command(op=OP.FLUSH, **f)
        if r < 880:  # TOO_LARGE, framed correctly
            return Command(op=OP.PUT, blob=self._blob(slot + 1 + self.pick(400)), **f)
        return self._malformed(f)

    def _malformed(self, f):
        k = self.pick(7)
        if k == 0:  # unknown opcode, or TRANSFER (the table never takes it)
            return Command(**{**f, "op": 9 + self.pick(247) if self.pick(2) else 9})
        if k == 1:  # key length 0 or > 32 on a keyed opcode
            op = 1 + self.pick(5)
            g = {**f, "op": op, "key_len": 0 if self.pick(2) else 33 + self.pick(223)}
            return Command(blob=self._blob(1 + self.pick(100)) if op == 1 else b"", **g)
        if k == 2:  # PUT with fewer payload beats than blob_len says
            return Command(op=OP.PUT, blob=self._blob(65 + self.pick(190)), short=True, **f)
        if k == 3:  # PUT with extra beats
            return Command(op=OP.PUT, blob=self._blob(1 + self.pick(256)), extra_beats=1 + self.pick(3), **f)
        if k == 4:  # GET carrying a blob
            return Command(op=OP.GET, blob=self._blob(1 + self.pick(100)), **f)
        if k == 5:  # PUT with no blob
            return Command(op=OP.PUT, **f)
        # blob_len claims data but none follows; or STATS with a payload
        return Command(**{**f, "op": OP.PUT if self.pick(2) else OP.STATS, "blob_len": 1 + self.pick(3000)})
