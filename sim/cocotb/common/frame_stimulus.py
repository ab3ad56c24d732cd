"""Random backplane frames, good and damaged (stimulus only; the backplane kernel gives
the verdicts). Modelled on tests/rtl/frame_check_test.cpp: HELLO/ACK frames (kinds that
never need the table) with a wrong version, length, a flipped bit, extra or missing
beats, a foreign source/destination, an unknown type, a non-HELLO broadcast."""
import sessnic_wire as wire

FAULTS = ["none", "version", "length", "bitflip", "beats", "src", "dst", "type"]
FT = wire.FrameType


def seal(ref, beats):
    """Writes the frame CRC (computed by the kernel's CRC) into the header beat."""
    hdr = bytearray(beats[0])
    hdr[28:32] = bytes(4)  # crc field (bits 224..255) is zero while computing
    beats[0] = bytes(hdr)
    c = ref.crc32_init()
    for b in beats:
        c = ref.crc32_update(c, b)
    hdr[28:32] = ref.crc32_final(c).to_bytes(4, "little")
    beats[0] = bytes(hdr)
    return beats


def header(**fields):
    return wire.pack(wire.FRAME_FIELDS, fields)


def random_frame(rng, ref, card, members=(0, 2, 3)):
    """(list of 64-byte beats, frame type, fault name)."""
    pick = rng.randrange
    payload = 64 * (1 + pick(5)) - pick(64) if pick(3) == 0 else 0
    hello = pick(2) == 0
    ftype = FT.HELLO if hello else FT.ACK
    f = dict(fver=wire.BpConst.FRAME_VERSION, ftype=ftype, src=rng.choice(members),
             dst=wire.BpConst.BROADCAST if hello and pick(2) else card, epoch=1 + pick(3),
             dst_epoch=pick(2), payload_len=payload)
    body = [bytes(rng.getrandbits(8) if (b * 64 + i) < payload else 0 for i in range(64))
            for b in range(-(-payload // 64))]
    beats = seal(ref, [header(**f)] + body)

    fault = FAULTS[1 + pick(len(FAULTS) - 1)] if pick(9) < 7 else "none"
    if fault == "version":
        f["fver"] = 2 + pick(250)
    elif fault == "length":
        f["payload_len"] = payload + 64 + pick(64) if pick(2) else 320 + 1 + pick(2000)
    elif fault == "src":
        f["src"] = 4 + pick(252) if pick(2) else card
    elif fault == "dst":
        f["dst"] = 2 if pick(2) else 5 + pick(200)
    elif fault == "type":
        if pick(2):
            f["ftype"] = 0 if pick(2) else 12 + pick(240)
        else:
            f["ftype"] = 2 + pick(10)
            f["dst"] = wire.BpConst.BROADCAST
    if fault in ("version", "length", "src", "dst", "type"):
        beats = seal(ref, [header(**f)] + body)
    elif fault == "bitflip":  # anywhere but the crc field itself
        b = pick(len(beats))
        bit = pick(512)
        if b == 0 and 224 <= bit < 256:
            bit -= 32
        x = bytearray(beats[b])
        x[bit // 8] ^= 1 << (bit % 8)
        beats[b] = bytes(x)
    elif fault == "beats":
        mode = pick(3)
        if mode == 0:
            beats.append(beats[-1])
        elif mode == 1 and len(beats) > 1:
            beats.pop()
        else:
            beats += [beats[-1]] * 8
    return beats, FT(f["ftype"]).name if f["ftype"] in FT._value2member_map_ else "UNKNOWN", fault
