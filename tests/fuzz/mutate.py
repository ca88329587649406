"""Structure-aware mutations of JSON payloads, as data (so a finding replays and minimizes exactly).

A *case* is ``{"seed": <fixture name>, "ops": [<op>, ...], ...}``: the fixture is parsed, the
document ops are applied in order, the document is serialized compactly (as the venues send it), then
the byte ops are applied. Every op is a small JSON object, so a case is stored as JSON, replayed
bit for bit, and minimized by dropping ops.

Document ops
    ``{"op": "set", "path": [...], "value": V}``  replace (or add) the value at ``path``
    ``{"op": "del", "path": [...]}``               delete a field / list item
    ``{"op": "nest", "path": [...], "depth": N}``  replace with N nested arrays (or objects)
    ``{"op": "dup", "path": [...]}``               repeat a list's items (a long frame)

Values that JSON cannot carry as Python values are markers: ``{"$raw": "1e400"}`` is spliced into the
text as is (a number literal Python would turn into inf), ``{"$bytes": "ff fe"}`` is a string whose
content is those raw bytes (non-UTF-8 text inside a JSON string).

Byte ops (after serialization)
    ``truncate`` / ``flip`` / ``insert`` / ``drop`` at a fraction ``at`` of the length.

Framing ops (BingX only, after the byte ops)
    ``gzip`` (the default for BingX, implicit), ``plain`` (no gzip), ``gzip_corrupt``,
    ``gzip_truncate``, ``gzip_bomb`` (a small frame inflating to ``mib`` MiB), ``gzip_concat``.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

Path = list[str | int]

# --------------------------------------------------------------------------------------------------
# Value pools
# --------------------------------------------------------------------------------------------------

# Number strings: extremes, non-finite, padded, underscored, non-ASCII digits, very long.
NUMBER_STRINGS: list[str] = [
    "10000000000000",  # 1e13
    "1e13",
    "1" + "0" * 20,
    "1" + "0" * 40,  # 1e40
    "17014118346046",  # Price max
    "17014118346047",  # just beyond
    "34028236692093",  # Quantity max
    "34028236692094",
    "170141183460469231731687303715884105728",
    "-1",
    "0",
    "0.0",
    "-0",
    "-0.001",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "1e5",
    "0.100 ",
    " 0.1",
    "0.1_0",
    "1_000",
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "\uff11\uff12\uff13",  # full-width digits
    "0x10",
    "1,5",
    "+1",
    "1.",
    ".5",
    "",
    " ",
    "9" * 60,
    "0." + "0" * 40 + "1",
    "1." + "1" * 40,
    "0.1\x00",
    "00012",
    # Past Python's 4,300-digit int() limit (a plain ValueError, not a decimal error, if unbounded).
    "1" + "0" * 5000,
    "0." + "1" * 5000,
    "9" * 129,
]

# JSON numbers (and non-numbers where a number is expected).
NUMBERS: list[Any] = [
    0,
    -1,
    1,
    10**13,
    10**20,
    10**40,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    1.5,
    -0.0,
    1e300,
    {"$raw": "1e400"},
    {"$raw": "-1e400"},
    {"$raw": "1E5"},
    {"$raw": "0.1e1"},
    {"$raw": "1" + "0" * 5000},  # a JSON number past Python's 4,300-digit int() limit
    {"$raw": "0." + "1" * 5000},
    True,
    False,
    None,
]

STRINGS: list[str] = [
    "",
    "\x00",
    "A\x00B",
    "\u4e2d\u6587\u8ba2\u5355",  # Chinese
    "\u00e9",
    "\u202e",
    "\n\r\t",
    "\x1b[31m",
    "\x7f",
    "a" * 201,
    "x" * 5000,
    "\U0001f600",
    "null",
    "TRADE",
    "FILLED",
    "NEW",
    "CANCELED",
    "EXPIRED",
    "CALCULATED",
    "AMENDMENT",
    "BUY",
    "SELL",
]

RAW_STRINGS: list[dict[str, str]] = [
    {"$raw": '"\\ud800"'},  # lone surrogate escape
    {"$raw": '"\\u0000"'},
    {"$bytes": "ff fe"},  # invalid UTF-8 inside a string
    {"$bytes": "c3 28"},
    {"$bytes": "ed a0 80"},  # encoded surrogate
]

WRONG_TYPES: list[Any] = [[], {}, [1, 2], {"a": 1}, ["0.1", "1"], [[]], True, None, 1, "1"]


def derived_number_strings(current: str) -> list[str]:
    """Near-valid variants of a number string the fixture carries (the most interesting ones)."""
    out = [current + " ", " " + current, current + "0" * 30, "-" + current, current + "e5"]
    out += [current + "0" * 5000, current + "1" * 5000]  # length-stretched: past int()'s digit limit
    if "." in current:
        head, _, tail = current.partition(".")
        out += [f"{head}.{tail[:1]}_{tail[1:]}" if tail else current + "_", head, f"{head}.{tail}1"]
    try:
        d = Decimal(current)
        out += [f"{d * 10**13:f}", f"{d * 10**27:f}", f"{-d:f}", f"{d + 1:f}", f"{d / 7:.30f}"]
    except ArithmeticError:
        pass
    return out


# --------------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------------


def leaves(doc: Any, max_depth: int = 12, max_items: int = 400) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) of a document, containers included (root excluded), breadth-first, bounded
    in depth and count (a 1000-deep nest is one leaf, not a thousand)."""
    queue: list[tuple[Path, Any]] = [([], doc)]
    n = 0
    while queue:
        path, node = queue.pop(0)
        if len(path) >= max_depth:
            continue
        if isinstance(node, dict) and len(node) == 1 and ("$raw" in node or "$bytes" in node):
            continue  # a marker is one value
        children = (
            node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        )
        for k, v in children:
            n += 1
            if n > max_items:
                return
            yield [*path, k], v
            queue.append(([*path, k], v))


def get_path(doc: Any, path: Path) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _parent(doc: Any, path: Path) -> tuple[Any, str | int] | None:
    try:
        parent = get_path(doc, path[:-1])
    except (KeyError, IndexError, TypeError):
        return None
    key = path[-1]
    if isinstance(parent, dict) and isinstance(key, str):
        return parent, key
    if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        return parent, key
    return None


def nested(depth: int, kind: str = "list") -> Any:
    inner: Any = 1
    for _ in range(depth):
        inner = [inner] if kind == "list" else {"a": inner}
    return inner


def apply_doc_ops(doc: Any, ops: list[dict[str, Any]]) -> Any:
    doc = _copy(doc)
    for op in ops:
        kind = op["op"]
        if kind not in ("set", "del", "nest", "dup"):
            continue
        path = op.get("path") or []
        if not path:
            if kind == "set":
                doc = _copy(op["value"])
            elif kind == "nest":
                doc = nested(op.get("depth", 1000), op.get("kind", "list"))
            continue
        where = _parent(doc, path)
        if where is None:
            continue
        parent, key = where
        if kind == "set":
            parent[key] = _copy(op["value"])
        elif kind == "del":
            if isinstance(parent, list) or key in parent:
                del parent[key]
        elif kind == "nest":
            parent[key] = nested(op.get("depth", 1000), op.get("kind", "list"))
        elif kind == "dup" and isinstance(parent[key], list):
            parent[key] = parent[key] * op.get("times", 50)
    return doc


def _copy(doc: Any) -> Any:
    """Deep copy of plain JSON data, iterative (documents may be nested 1000 deep)."""
    if not isinstance(doc, dict | list):
        return doc
    root: Any = {} if isinstance(doc, dict) else []
    stack = [(doc, root)]
    while stack:
        src, dst = stack.pop()
        items = src.items() if isinstance(src, dict) else enumerate(src)
        for k, v in items:
            if isinstance(v, dict | list):
                child: Any = {} if isinstance(v, dict) else []
                stack.append((v, child))
            else:
                child = v
            if isinstance(dst, dict):
                dst[k] = child
            else:
                dst.append(child)
    return root


def dumps(doc: Any) -> bytes:
    """Compact JSON bytes, markers spliced in; iterative enough for 1000-deep nesting."""
    out = bytearray()
    _dump(doc, out)
    return bytes(out)


def _dump(v: Any, out: bytearray) -> None:
    stack: list[Any] = [v]
    while stack:
        item = stack.pop()
        if isinstance(item, _Token):
            out += item.text
        elif isinstance(item, dict):
            if len(item) == 1 and "$raw" in item:
                out += item["$raw"].encode()
            elif len(item) == 1 and "$bytes" in item:
                out += b'"' + bytes.fromhex(item["$bytes"]) + b'"'
            else:
                parts: list[Any] = [_Token(b"{")]
                for i, (k, val) in enumerate(item.items()):
                    if i:
                        parts.append(_Token(b","))
                    parts.append(_Token(json.dumps(str(k), ensure_ascii=False).encode() + b":"))
                    parts.append(val)
                parts.append(_Token(b"}"))
                stack.extend(reversed(parts))
        elif isinstance(item, list):
            parts = [_Token(b"[")]
            for i, val in enumerate(item):
                if i:
                    parts.append(_Token(b","))
                parts.append(val)
            parts.append(_Token(b"]"))
            stack.extend(reversed(parts))
        else:
            out += json.dumps(item, ensure_ascii=False).encode("utf-8", "surrogatepass")


class _Token:
    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text


def apply_byte_ops(data: bytes, ops: list[dict[str, Any]]) -> bytes:
    for op in ops:
        kind = op["op"]
        n = len(data)
        at = min(n, max(0, int(op.get("at", 0.5) * n)))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and n:
            i = min(at, n - 1)
            data = data[:i] + bytes([data[i] ^ (1 << op.get("bit", 0))]) + data[i + 1 :]
        elif kind == "insert":
            data = data[:at] + bytes.fromhex(op.get("hex", "00")) + data[at:]
        elif kind == "drop":
            data = data[:at] + data[at + op.get("len", 1) :]
    return data


def gzip_bomb(mib: int) -> bytes:
    """A gzip member that inflates to ``mib`` MiB of a valid-looking JSON prefix and spaces."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    parts = [comp.compress(b'{"e":"ORDER_TRADE_UPDATE","pad":"')]
    for _ in range(mib):
        parts.append(comp.compress(chunk))
    parts.append(comp.compress(b'"}'))
    parts.append(comp.flush())
    return b"".join(parts)


def apply_framing(data: bytes, ops: list[dict[str, Any]]) -> bytes:
    """BingX framing: gzip unless ``plain``; then the gzip-level corruptions."""
    kinds = {op["op"] for op in ops}
    if "gzip_bomb" in kinds:
        mib = next(op.get("mib", 32) for op in ops if op["op"] == "gzip_bomb")
        return gzip_bomb(mib)
    if "plain" in kinds:
        return data
    frame = gzip.compress(data, mtime=0)
    for op in ops:
        kind = op["op"]
        n = len(frame)
        at = min(n - 1, max(0, int(op.get("at", 0.5) * n)))
        if kind == "gzip_corrupt":
            frame = frame[:at] + bytes([frame[at] ^ 0xFF]) + frame[at + 1 :]
        elif kind == "gzip_truncate":
            frame = frame[: max(2, at)]
        elif kind == "gzip_concat":
            frame = frame + gzip.compress(b"Ping", mtime=0)
        elif kind == "gzip_trailing":
            frame = frame + b"\x00garbage"
    return frame


# --------------------------------------------------------------------------------------------------
# Random generation
# --------------------------------------------------------------------------------------------------


def looks_numeric(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return True
    if isinstance(v, str) and v:
        try:
            Decimal(v)
            return True
        except ArithmeticError:
            return False
    return False


def random_value(rng: random.Random, current: Any) -> Any:
    roll = rng.random()
    if looks_numeric(current) and roll < 0.7:
        if isinstance(current, str):
            pool: list[Any] = NUMBER_STRINGS + derived_number_strings(current)
            return rng.choice(pool) if rng.random() < 0.85 else rng.choice(NUMBERS)
        return rng.choice(NUMBERS) if rng.random() < 0.7 else rng.choice(NUMBER_STRINGS)
    if isinstance(current, str) and roll < 0.8:
        pool = STRINGS + NUMBER_STRINGS
        if rng.random() < 0.15:
            return rng.choice(RAW_STRINGS)
        if rng.random() < 0.2 and current:
            return current + rng.choice(["\x00", "\u4e2d", " ", "a" * 200])
        return rng.choice(pool)
    if roll < 0.9:
        return rng.choice(WRONG_TYPES + NUMBERS)
    return rng.choice(STRINGS + NUMBER_STRINGS)


def random_doc_op(rng: random.Random, doc: Any, protect: set[str] | None = None) -> dict[str, Any]:
    items = [(p, v) for p, v in leaves(doc) if not protect or str(p[-1]) not in protect]
    if not items:
        return {"op": "set", "path": [], "value": rng.choice(WRONG_TYPES)}
    path, value = rng.choice(items)
    roll = rng.random()
    if roll < 0.72:
        return {"op": "set", "path": path, "value": random_value(rng, value)}
    if roll < 0.9:
        return {"op": "del", "path": path}
    if roll < 0.95:
        return {
            "op": "nest",
            "path": path,
            "depth": rng.choice([10, 200, 1000, 1100]),
            "kind": rng.choice(["list", "dict"]),
        }
    if isinstance(value, list):
        return {"op": "dup", "path": path, "times": rng.choice([2, 50, 1000])}
    return {"op": "set", "path": path, "value": random_value(rng, value)}


def random_byte_op(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["truncate", "flip", "insert", "drop"])
    op: dict[str, Any] = {"op": kind, "at": round(rng.random(), 4)}
    if kind == "flip":
        op["bit"] = rng.randrange(8)
    elif kind == "insert":
        op["hex"] = rng.choice(["00", "ff", "22", "5c", "7b", "5d", "e4b8ad", "2c2c", "0a"])
    elif kind == "drop":
        op["len"] = rng.choice([1, 2, 5])
    return op


def random_framing_op(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["plain", "gzip_corrupt", "gzip_truncate", "gzip_concat", "gzip_trailing", "gzip_bomb"])
    op: dict[str, Any] = {"op": kind, "at": round(rng.random(), 4)}
    if kind == "gzip_bomb":
        op["mib"] = 24
    return op


def random_ops(
    rng: random.Random,
    doc: Any,
    *,
    byte_ops: bool = True,
    framing: bool = False,
    protect: set[str] | None = None,
) -> list[dict[str, Any]]:
    """1-3 document ops, sometimes a byte op, sometimes (BingX) a framing op."""
    ops: list[dict[str, Any]] = []
    current = doc
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        op = random_doc_op(rng, current, protect)
        ops.append(op)
        if op["op"] in ("nest", "dup"):
            break  # the last document op: no deep copies of a 1000-deep document
        current = apply_doc_ops(current, [op])
    if byte_ops and rng.random() < 0.08:
        ops.append(random_byte_op(rng))
    if framing and rng.random() < 0.12:
        op = random_framing_op(rng)
        if op["op"] != "gzip_bomb" or rng.random() < 0.15:  # bombs are slow: rare
            ops.append(op)
    return ops


def build(doc: Any, ops: list[dict[str, Any]], *, framing: bool = False) -> bytes:
    data = dumps(apply_doc_ops(doc, ops))
    data = apply_byte_ops(data, ops)
    return apply_framing(data, ops) if framing else data


# --------------------------------------------------------------------------------------------------
# Hypothesis strategies (the same op vocabulary, drawn by hypothesis)
# --------------------------------------------------------------------------------------------------


def hypothesis_ops(doc: Any, *, framing: bool = False, protect: set[str] | None = None) -> Any:
    from hypothesis import strategies as st

    paths = [p for p, _ in leaves(doc) if not protect or str(p[-1]) not in protect] or [[]]
    numberish = st.one_of(
        st.sampled_from(NUMBER_STRINGS),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.integers().map(str),
        st.from_regex(r"-?[0-9]{1,45}(\.[0-9]{1,45})?", fullmatch=True),
        st.from_regex(r"[ \t]?[0-9]{1,4}[._ ][0-9]{1,4}[ \t]?", fullmatch=True),
    )
    json_scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=300),
        st.sampled_from(NUMBERS + STRINGS + RAW_STRINGS + WRONG_TYPES),
    )
    value = st.one_of(numberish, json_scalar)
    path = st.sampled_from(paths)
    doc_op = st.one_of(
        st.builds(lambda p, v: {"op": "set", "path": p, "value": v}, path, value),
        st.builds(lambda p: {"op": "del", "path": p}, path),
        st.builds(
            lambda p, d: {"op": "nest", "path": p, "depth": d}, path, st.sampled_from([50, 1000, 1100])
        ),
    )
    byte_op = st.builds(
        lambda k, at, b: {"op": k, "at": at, "bit": b, "hex": "ff", "len": 1},
        st.sampled_from(["truncate", "flip", "insert", "drop"]),
        st.floats(min_value=0, max_value=1),
        st.integers(min_value=0, max_value=7),
    )
    ops = st.lists(doc_op, min_size=1, max_size=3)
    extra: list[Any] = [st.just([]), st.lists(byte_op, max_size=1)]
    if framing:
        framing_op = st.builds(
            lambda k, at: {"op": k, "at": at, "mib": 24},
            st.sampled_from(["plain", "gzip_corrupt", "gzip_truncate", "gzip_concat", "gzip_trailing"]),
            st.floats(min_value=0, max_value=1),
        )
        extra.append(st.lists(framing_op, max_size=1))
    return st.tuples(ops, st.one_of(*extra)).map(lambda t: t[0] + t[1])
