"""Value oracles shared by the targets: how a wire value is classified, and checks on emitted fills."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.fuzz import strict
from tests.fuzz.base import LOST_FILL, WRONG_VALUE, Finding
from tests.fuzz.sinks import Fill


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def field(obj: Any, key: str) -> Any:
    return obj.get(key, MISSING) if isinstance(obj, dict) else MISSING


def classify(
    v: Any, *, json_numbers: bool = False, positive: bool = True, limit: Decimal | None = None
) -> str:
    """A short class of a wire value (part of a finding's dedup key)."""
    if v is MISSING:
        return "missing"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, list | dict):
        return "wrong-type"
    if isinstance(v, int | Decimal) and not json_numbers:
        return "json-number"
    if isinstance(v, str):
        if v == "":
            return "empty"
        if v != v.strip():
            return "whitespace-padded"
        if "_" in v:
            return "underscore"
        if any(ch.isdigit() and not ch.isascii() for ch in v):
            return "non-ascii-digits"
        low = v.lower().lstrip("+-")
        if low in ("nan", "inf", "infinity", "snan"):
            return "non-finite"
        if "\x00" in v:
            return "nul"
        if not strict.DECIMAL_RE.fullmatch(v):
            if "e" in low:
                return "exponent"
            return "garbage"
    d = strict.decimal(v, json_numbers=json_numbers)
    if d is None:
        return "garbage"
    if positive and strict.at_resolution(d) <= 0:
        return "non-positive"
    if limit is not None and strict.at_resolution(d) > limit:
        return "out-of-range"
    return "valid"


def absolute_checks(fills: list[Fill], label: str) -> list[Finding]:
    """Values no fill may ever carry, whatever the frame said."""
    out: list[Finding] = []
    for f in fills:
        if f.qty <= 0:
            out.append(Finding(WRONG_VALUE, f"{label}: non-positive fill quantity", f"{f}"))
        if f.px <= 0:
            out.append(Finding(WRONG_VALUE, f"{label}: non-positive fill price", f"{f}"))
        if f.ts_event <= 0:
            out.append(Finding(WRONG_VALUE, f"{label}: fill ts_event 0", f"{f}"))
        if f.trade_id in ("0", ""):
            out.append(Finding(WRONG_VALUE, f"{label}: fill trade id 0", f"{f}"))
    return out


def compare_fill(
    f: Fill, wire: dict[str, Any], label: str, *, json_numbers: bool = False, commission_abs: bool = False
) -> list[Finding]:
    """An emitted fill against the strict reading of its wire fields (``wire``: name -> raw value,
    keys ``qty``, ``px``, ``trade_id``, ``ts``, ``commission``)."""
    out: list[Finding] = []
    checks = (
        ("qty", f.qty, strict.QUANTITY_MAX),
        ("px", f.px, strict.PRICE_MAX),
    )
    for key, emitted, limit in checks:
        raw = wire.get(key, MISSING)
        cls = classify(raw, json_numbers=json_numbers, limit=limit)
        if cls != "valid":
            out.append(
                Finding(
                    WRONG_VALUE,
                    f"{label}: fill {key} believed from a {cls} wire value",
                    f"wire {raw!r:.80} -> emitted {emitted}",
                )
            )
        elif not strict.same(emitted, strict.decimal(raw, json_numbers=json_numbers)):
            out.append(
                Finding(
                    WRONG_VALUE,
                    f"{label}: fill {key} differs from the wire",
                    f"wire {raw!r:.80} -> emitted {emitted}",
                )
            )
    raw_tid = wire.get("trade_id", MISSING)
    tid = strict.integer(raw_tid) if raw_tid is not MISSING else None
    if tid is None or tid <= 0:
        out.append(
            Finding(
                WRONG_VALUE,
                f"{label}: fill trade id believed from a {classify(raw_tid, json_numbers=True)} wire value",
                f"wire {raw_tid!r:.80} -> emitted {f.trade_id}",
            )
        )
    elif f.trade_id != str(tid):
        out.append(
            Finding(
                WRONG_VALUE,
                f"{label}: fill trade id differs from the wire",
                f"wire {raw_tid!r:.80} -> {f.trade_id}",
            )
        )
    raw_ts = wire.get("ts", MISSING)
    ts = strict.integer(raw_ts) if raw_ts is not MISSING else None
    if ts is None or ts <= 0:
        out.append(
            Finding(
                WRONG_VALUE,
                f"{label}: fill time believed from a {classify(raw_ts, json_numbers=True)} wire value",
                f"wire {raw_ts!r:.80} -> ts_event {f.ts_event}",
            )
        )
    elif f.ts_event != ts * 1_000_000:
        out.append(
            Finding(
                WRONG_VALUE,
                f"{label}: fill time differs from the wire",
                f"wire {raw_ts!r:.80} -> {f.ts_event}",
            )
        )
    raw_n = wire.get("commission", MISSING)
    if raw_n not in (MISSING, None, ""):
        n = strict.decimal(raw_n, json_numbers=json_numbers)
        if n is None:
            out.append(
                Finding(
                    WRONG_VALUE,
                    f"{label}: commission believed from a "
                    f"{classify(raw_n, json_numbers=json_numbers, positive=False)} wire value",
                    f"wire {raw_n!r:.80} -> {f.commission}",
                )
            )
        else:
            a, b = (abs(f.commission), abs(n)) if commission_abs else (f.commission, n)
            # Money holds the currency's precision: a finer commission may be rounded, not changed.
            if abs(a - b) > Decimal("0.00000001") and abs(a - b) > abs(b) * Decimal("1e-9"):
                out.append(
                    Finding(
                        WRONG_VALUE,
                        f"{label}: commission differs from the wire",
                        f"wire {raw_n!r:.80} -> {f.commission}",
                    )
                )
    return out


def lost(label: str, why: str, detail: str = "") -> Finding:
    return Finding(LOST_FILL, f"{label}: {why}", detail)
