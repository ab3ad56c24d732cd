"""Rewrites SystemVerilog sources into what Icarus Verilog 11 elaborates and simulates
correctly, with the same logic. The RTL stays the one source: the Icarus cocotb benches
compile a rewritten copy in their build folder (`sessnic_tb.icarus_sources`, `bench.mk`).

1. Unpacked structs, one signal per leaf. Icarus 11 has none ("sorry: Unpacked structs
   not supported"); made packed, it still rejects nested member writes on struct ports
   (`hwif_out.card.card_id.value`). PeakRDL-regblock's hwif and field storage are nested
   unpacked structs, and `rtl/sessnic_top.sv` reads and writes the hwif members:

    typedef struct { ... } T;               -> removed (blank lines, so line numbers hold)
    input  pkg::T hwif_in,                  -> input  wire  [w] hwif_in__a__b, ... (per leaf)
    T field_storage;                        -> logic [w] field_storage__a__b; ...
    hwif_in.a.b                             -> hwif_in__a__b
    .hwif_in(hwif_in)                       -> .hwif_in__a__b(hwif_in__a__b), ...
    automatic logic [7:0] next_c;  (in a block) -> logic [7:0] next_c;  (checked: written first)

2. A net driven by one word of an unpacked array: Icarus 11 evaluates
   `wire [511:0] rx_entry = rxbuf[1];` once and never again when `rxbuf[idx] <= ...`
   writes that word (in `bp_sync` the entry of every received TRANSFER read all X, while
   `rxbuf[1]` held it; Verilator and synthesis see the array word). As a process it
   follows the word:

    wire [511:0] x = arr[1];                -> logic [511:0] x; always_comb x = arr[1];

`scripts/gen_regs.sh --check` also rewrites every fresh register-block generation, so a
generator change that this tool does not understand fails the `rtl_regs_up_to_date` ctest,
not a bench. Anything it does not understand (a whole-struct use other than a port
connection, a path that ends on a struct) is an error, never a silent guess.

    python3 icarus_compat.py OUT_DIR FILE...       # writes OUT_DIR/<basename> per FILE,
                                                   # prints the written paths in order
"""
import pathlib
import re
import sys

_TOKEN = re.compile(r"\s*(\[[^\]]*\]|[A-Za-z_]\w*(?:::\w+)?|[{};,])")
_TYPEDEF = re.compile(r"\btypedef\s+struct\s*(?:packed\s*)?\{")


class FlattenError(Exception):
    pass


def strip_comments(text):
    """Comments out, newlines kept (so errors and simulators report the original lines)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _match_brace(text, open_pos):
    depth = 0
    for i in range(open_pos, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise FlattenError("unbalanced braces in a struct")


def _parse_members(body, types):
    """Struct body -> [(name, node)]; node is a width string ('' or '[7:0]') or a member list."""
    members, pos = [], 0
    while True:
        m = _TOKEN.match(body, pos)
        if not m:
            if body[pos:].strip():
                raise FlattenError(f"cannot parse struct member near {body[pos:pos + 40]!r}")
            return members
        tok = m.group(1)
        if tok == "struct":
            brace = body.index("{", m.end())
            if body[m.end():brace].strip() not in ("", "packed"):
                raise FlattenError(f"unexpected struct qualifier {body[m.end():brace]!r}")
            end = _match_brace(body, brace)
            node = _parse_members(body[brace + 1:end], types)
            m2 = re.compile(r"\s*(\w+)\s*;").match(body, end + 1)
            if not m2:
                raise FlattenError(f"anonymous struct member without a name near {body[end:end + 40]!r}")
            members.append((m2.group(1), node))
            pos = m2.end()
        elif tok in ("logic", "bit", "reg", "wire"):
            m2 = re.compile(r"\s*((?:\[[^\]]*\]\s*)*)(\w+)\s*;").match(body, m.end())
            if not m2:
                raise FlattenError(f"unsupported member declaration near {body[pos:pos + 60]!r}")
            members.append((m2.group(2), re.sub(r"\s+", "", m2.group(1))))
            pos = m2.end()
        else:
            name = tok.split("::")[-1]
            if name not in types:
                raise FlattenError(f"member of unknown type {tok!r}")
            m2 = re.compile(r"\s*(\w+)\s*;").match(body, m.end())
            if not m2:
                raise FlattenError(f"unsupported member declaration near {body[pos:pos + 60]!r}")
            members.append((m2.group(1), types[name]))
            pos = m2.end()


def _leaves(node, prefix):
    for name, sub in node:
        path = f"{prefix}__{name}"
        if isinstance(sub, list):
            yield from _leaves(sub, path)
        else:
            yield path, sub


def _take_typedefs(text, types):
    """Records every `typedef struct` of text in types and blanks it out."""
    while True:
        m = _TYPEDEF.search(text)
        if not m:
            return text
        end = _match_brace(text, m.end() - 1)
        m2 = re.compile(r"\s*(\w+)\s*;").match(text, end + 1)
        if not m2:
            raise FlattenError("typedef struct without a name")
        types[m2.group(1)] = _parse_members(text[m.end():end], types)
        text = text[:m.start()] + "\n" * text.count("\n", m.start(), m2.end()) + text[m2.end():]


def _flatten_decls(text, types, variables):
    if not types:
        return text
    names = "|".join(sorted(map(re.escape, types), key=len, reverse=True))
    decl = re.compile(r"\b(?:(input|output)\s+)?(?:\w+::)?(" + names + r")\s+(\w+)\s*([,;)]|\n\s*\))")

    def replace(m):
        direction, tname, var, sep = m.groups()
        variables[var] = types[tname]
        leaves = list(_leaves(types[tname], var))
        if direction:
            kind = "input wire" if direction == "input" else "output logic"
            ports = [f"{kind} {w} {n}".replace("  ", " ") for n, w in leaves]
            return ",\n        ".join(ports) + sep
        if sep != ";":
            raise FlattenError(f"struct variable {var} declared in a list: unsupported")
        return " ".join(f"logic {w} {n};".replace("  ", " ") for n, w in leaves)

    return decl.sub(replace, text)


def _resolve(node, var, path):
    for part in path:
        if not isinstance(node, list):
            raise FlattenError(f"{var}.{'.'.join(path)}: member of a non-struct")
        found = dict(node)
        if part not in found:
            raise FlattenError(f"{var}.{'.'.join(path)}: no member {part}")
        node = found[part]
    if isinstance(node, list):
        raise FlattenError(f"{var}.{'.'.join(path)}: whole-struct use (only leaves can be flattened)")
    return "__".join([var] + path)


def _flatten_uses(text, variables):
    if not variables:
        return text
    names = "|".join(sorted(map(re.escape, variables), key=len, reverse=True))

    def connect(m):
        port, var = m.groups()
        return ", ".join(f".{port}{n[len(var):]}({n})" for n, _ in _leaves(variables[var], var))

    text = re.sub(r"\.(\w+)\s*\(\s*(" + names + r")\s*\)", connect, text)

    def member(m):
        var, path = m.group(1), re.findall(r"\w+", m.group(2))
        return _resolve(variables[var], var, path)

    text = re.sub(r"(?<![\w.$])(" + names + r")((?:\s*\.\s*\w+)+)", member, text)
    bare = re.search(r"(?<![\w.$])(" + names + r")\b(?!__)", text)
    if bare:
        line = text.count("\n", 0, bare.start()) + 1
        raise FlattenError(f"line {line}: whole-struct use of {bare.group(1)} (only port connections are supported)")
    return text


_AUTO_LOCAL = re.compile(r"^(\s*)automatic\s+((?:logic|bit|int)\b[^;]*?)(\w+)\s*;", re.M)


def _static_locals(text):
    """`automatic` block variables (PeakRDL's next_c/load_next_c) become static: Icarus 11
    has no lifetime override. Same behaviour only while every activation writes the
    variable before reading it, so that is checked: its next use must be an assignment."""
    def replace(m):
        name = m.group(3)
        use = re.compile(r"(?<![\w.])" + name + r"\b\s*(<?=)?").search(text, m.end())
        if not use or use.group(1) != "=":
            line = text.count("\n", 0, m.start()) + 1
            raise FlattenError(f"line {line}: automatic {name} is read before it is written")
        return f"{m.group(1)}{m.group(2)}{name};"
    return _AUTO_LOCAL.sub(replace, text)


_ARRAY_DECL = re.compile(r"^\s*(?:logic|reg|bit)\b[^;=()]*?\b(\w+)\s*\[[^\]]+\]\s*;", re.M)


def _array_word_nets(text):
    arrays = set(_ARRAY_DECL.findall(text))
    if not arrays:
        return text
    names = "|".join(sorted(map(re.escape, arrays), key=len, reverse=True))
    net = re.compile(r"^(\s*)wire\s*((?:\[[^\]]*\]\s*)?)(\w+)\s*=\s*((?:" + names + r")\s*\[[^\]]+\])\s*;", re.M)
    return net.sub(lambda m: f"{m.group(1)}logic {m.group(2)}{m.group(3)}; always_comb {m.group(3)} = {m.group(4)};",
                   text)


def flatten(files):
    """{path: text} of the flattened files, in the given (dependency) order."""
    types, texts = {}, {}
    for f in files:
        texts[f] = _take_typedefs(strip_comments(pathlib.Path(f).read_text()), types)
    out = {}
    for f, text in texts.items():
        variables = {}
        try:
            text = _flatten_decls(text, types, variables)
            out[f] = _array_word_nets(_static_locals(_flatten_uses(text, variables)))
        except FlattenError as e:
            raise FlattenError(f"{f}: {e}") from None
    return out


def write(files, out_dir):
    """Flattens files into out_dir/<basename> (rewritten only when changed, so simulator
    builds stay incremental) and returns the written paths in order."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for f, text in flatten(files).items():
        dest = out_dir / pathlib.Path(f).name
        # the note goes last, so the simulator's line numbers are the original file's
        text += f"\n// Flattened for Icarus from {f} by sim/cocotb/common/icarus_compat.py: do not edit.\n"
        if not dest.exists() or dest.read_text() != text:
            dest.write_text(text)
        written.append(str(dest))
    return written


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print("\n".join(write(argv[2:], argv[1])))
    except FlattenError as e:
        print(f"icarus_compat: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
