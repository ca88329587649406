"""The strict reading of wire values: the reference the oracles compare emitted values with.

Deliberately independent of the adapters' parsers: a decimal is ``-?[0-9]+(\\.[0-9]+)?`` in ASCII and
nothing else (no padding, no underscores, no exponent, no ``NaN``/``inf``, no non-ASCII digits); an id
is a JSON integer or an ASCII digit string; a frame is RFC 8259 JSON in UTF-8 (no ``NaN`` literals).
Anything else has no strict reading, and a value read from it must not be believed.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_DOWN, Context, Decimal
from typing import Any, Final

INVALID: Final = object()

DECIMAL_RE: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
INT_RE: Final = re.compile(r"-?[0-9]+", re.ASCII)

# NautilusTrader's value limits (this build: 128-bit raw, 16 fixed decimals).
PRICE_MAX: Final = Decimal("17014118346046")
QUANTITY_MAX: Final = Decimal("34028236692093")
FIXED_PRECISION: Final = 16
_RESOLUTION: Final = Decimal(1).scaleb(-FIXED_PRECISION)
_WIDE: Final = Context(prec=80)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def loads(data: bytes) -> Any:
    """Strict JSON (UTF-8, no NaN/Infinity literals, numbers kept exact); :data:`INVALID` otherwise."""
    try:
        text = data.decode("utf-8")
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return INVALID


def decimal(v: Any, *, json_numbers: bool = False) -> Decimal | None:
    """Strict decimal of a wire value: an ASCII decimal string (and, where the venue sends numbers,
    a JSON number). None when there is no strict reading."""
    if isinstance(v, str):
        return Decimal(v) if DECIMAL_RE.fullmatch(v) else None
    if json_numbers and not isinstance(v, bool):
        if isinstance(v, int):
            return Decimal(v)
        if isinstance(v, Decimal) and v.is_finite():
            return v
    return None


def integer(v: Any) -> int | None:
    """Strict integer id/time: a JSON integer or an ASCII digit string."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and INT_RE.fullmatch(v):
        # Through Decimal past a few thousand digits: int(str) stops at Python's 4,300-digit limit
        # and the oracle must still say what the number is (far out of range: to be rejected).
        return int(v) if len(v) < 4000 else int(Decimal(v))
    if isinstance(v, str) and v.isascii() and v == v.strip() and "e" in v.lower():
        # An integer written with an exponent ("1e5") is the same integer; the decoders are lax
        # about numeric strings on purpose (Binance has sent event times as strings).
        try:
            d = Decimal(v)
        except ArithmeticError:
            return None
        return integer(d)
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value() and abs(v) < 2**64:
        return int(v)  # 1.0 / 1e3 for an integer: the same number (the decoders are lax about it)
    return None


def at_resolution(d: Decimal) -> Decimal:
    """The value NautilusTrader can hold (digits below its 1e-16 resolution cut)."""
    if d.as_tuple().exponent >= -FIXED_PRECISION:  # type: ignore[operator]
        return d
    # Enough digits for any value NautilusTrader can hold (the default context's 28 cannot quantize
    # a 13-digit integer part to 16 decimals).
    return d.quantize(_RESOLUTION, rounding=ROUND_DOWN, context=_WIDE)


def price_ok(d: Decimal | None) -> bool:
    return d is not None and 0 < at_resolution(d) <= PRICE_MAX


def quantity_ok(d: Decimal | None) -> bool:
    return d is not None and 0 < at_resolution(d) <= QUANTITY_MAX


def same(emitted: Decimal, wire: Decimal | None) -> bool:
    return wire is not None and emitted == at_resolution(wire)


def ascii_id(v: Any, max_len: int = 36) -> bool:
    """A string NautilusTrader can make an identifier of: printable ASCII, 1..max_len chars."""
    return isinstance(v, str) and 0 < len(v) <= max_len and all(0x20 < ord(ch) < 0x7F for ch in v)
