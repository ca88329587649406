"""The boundary between venue bytes and NautilusTrader values: validated once, here, for both venues.

NautilusTrader's Rust core *aborts the whole process* (a panic Python cannot catch) on some values:
``Price``/``Money``/``Quantity`` raw values beyond their range, and identifiers (client order id,
venue order id, trade id) or currency codes with non-ASCII or NUL text. A venue bug, a hostile
proxy or one corrupted frame must not take a trading node down, and must not be believed either.
So every value that will become a NautilusTrader object passes through one of these checks first:

* numbers: the venue's decimal grammar, strictly (``-?digits[.digits]``: no whitespace, no ``_``,
  no exponent, no unicode digits — ``Decimal("0.100 ")`` and ``Decimal("0.1_0")`` would accept
  what no venue sends), then the range NautilusTrader can represent, then the domain (a fill or
  book price is positive, a quantity is not negative);
* identifiers: ASCII, printable, no whitespace, bounded length;
* currency codes: ASCII letters and digits, bounded length.

A value that fails raises :class:`WireValueError` (a ``ValueError``) naming the field, with a
redacted sample of what arrived. Callers treat the whole frame or answer as *rejected*: logged,
counted, never replaced by a default, and — where it carried a fill — left to be fetched again by
the quantity reconciliation (the fill was not marked seen).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

# NautilusTrader 1.221 (high-precision build: 16 fixed decimals). Beyond these, ``from_raw`` panics.
PRICE_RAW_MAX: Final = 170_141_183_460_459_988_838_491_619_328
MONEY_RAW_MAX: Final = PRICE_RAW_MAX
QUANTITY_RAW_MAX: Final = 340_282_366_920_929_970_038_656_466_944

MAX_ID_LEN: Final = 64  # venue ids are at most 36-40 characters; anything longer is not an id
MAX_CURRENCY_LEN: Final = 16
_SAMPLE_LEN: Final = 40
MAX_LOGGED_RAW: Final = 300  # how much of a skipped frame a log line shows


class WireValueError(ValueError):
    """A venue value that cannot be (or must not be) turned into a NautilusTrader value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.sample = redact(value)
        self.reason = reason
        super().__init__(f"{field}: {reason} (got {self.sample})")


def redact(value: object) -> str:
    """A short, log-safe rendering: control and non-ASCII characters escaped, cut at 40 characters."""
    text = value if isinstance(value, str) else repr(value)
    escaped = text.encode("unicode_escape").decode("ascii")
    if len(escaped) > _SAMPLE_LEN:
        return escaped[:_SAMPLE_LEN] + f"...({len(text)} chars)"
    return escaped


def raw_head(raw: bytes | str) -> bytes | str:
    """The first :data:`MAX_LOGGED_RAW` characters of a frame, for the log line of a skipped one."""
    return raw[:MAX_LOGGED_RAW]


# No venue value needs more characters: NautilusTrader holds about 22 integer and 16 fractional
# digits; the rest is room for padding zeros. Past Python's 4,300-digit limit ``int()`` raises a
# plain ValueError, and long before it a hostile number only costs time.
MAX_DECIMAL_TEXT: Final = 128


def check_decimal_text(s: str, field: str) -> str:
    """``s`` if it is in the venues' decimal grammar ``-?[0-9]+(.[0-9]+)?`` and at most
    :data:`MAX_DECIMAL_TEXT` characters long, else WireValueError."""
    if len(s) > MAX_DECIMAL_TEXT:
        raise WireValueError(field, s, f"longer than {MAX_DECIMAL_TEXT} characters")
    body = s[1:] if s[:1] == "-" else s
    whole, dot, frac = body.partition(".")
    if not (whole.isascii() and whole.isdigit() and (not dot or (frac.isascii() and frac.isdigit()))):
        raise WireValueError(field, s, "not a decimal number")
    return s


# Decimal strings repeat on the wire (lot sizes, cumulative quantities, fees): each distinct valid one
# is checked and converted once. Only valid strings are kept (a rejected one is checked, and rejected,
# every time); bounded, cleared when full (a refill costs one check per string).
DECIMAL_CACHE_SIZE: Final = 4096
_decimals: dict[str, Decimal] = {}


def strict_decimal(s: str | None, field: str, *, allow_empty: bool = False) -> Decimal:
    """``Decimal`` of a wire decimal string, strictly. ``allow_empty``: None / ``""`` mean 0 (the
    venues' "not set"); otherwise they are an error like any malformed value."""
    d = _decimals.get(s)  # type: ignore[arg-type]  # None is never a key
    if d is not None:
        return d
    if not s:
        if allow_empty:
            return Decimal(0)
        raise WireValueError(field, s, "missing")
    d = Decimal(check_decimal_text(s, field))
    if len(_decimals) >= DECIMAL_CACHE_SIZE:
        _decimals.clear()
    _decimals[s] = d
    return d


def check_raw(raw: int, kind: str, field: str, value: str) -> int:
    """``raw`` (scaled by 10**16) within what NautilusTrader can represent for ``kind``."""
    if kind == "quantity":
        if raw < 0 or raw > QUANTITY_RAW_MAX:
            raise WireValueError(field, value, "quantity out of range")
    elif not -PRICE_RAW_MAX <= raw <= PRICE_RAW_MAX:
        raise WireValueError(field, value, f"{kind} out of range")
    return raw


# Epoch milliseconds of a venue event: from 2001-09-09 to 2286-11-20. Anything else (0, a missing
# field's default, an id in the wrong field, seconds instead of milliseconds) is not a time.
_MS_MIN: Final = 10**12
_MS_MAX: Final = 10**13


def check_time_ms(ms: int, field: str) -> int:
    """``ms`` if it is a plausible epoch-millisecond event time, else WireValueError."""
    if not _MS_MIN <= ms < _MS_MAX:
        raise WireValueError(field, ms, "not an event time (epoch milliseconds)")
    return ms


def check_positive_id(n: int, field: str) -> int:
    """``n`` if it is a positive integer id (venue trade and order ids are), else WireValueError."""
    if n <= 0:
        raise WireValueError(field, n, "not a positive id")
    return n


def check_identifier(s: str, field: str, max_len: int = MAX_ID_LEN) -> str:
    """``s`` if NautilusTrader can hold it as an identifier: non-empty ASCII, printable, no whitespace,
    at most ``max_len`` characters."""
    if not s or len(s) > max_len or not s.isascii() or not s.isprintable() or any(c.isspace() for c in s):
        raise WireValueError(field, s, "not a valid identifier")
    return s


def safe_identifier(s: str | None, max_len: int = MAX_ID_LEN) -> str | None:
    """``s`` if it is a valid identifier, else None (for optional ids such as an external order's client
    id, whose absence NautilusTrader handles by generating one: the order is still reported)."""
    if s is None:
        return None
    try:
        return check_identifier(s, "id", max_len)
    except WireValueError:
        return None


def check_currency_code(s: str, field: str) -> str:
    """``s`` if it is a currency code NautilusTrader can hold: 1-16 ASCII letters and digits."""
    if not s or len(s) > MAX_CURRENCY_LEN or not s.isascii() or not s.isalnum():
        raise WireValueError(field, s, "not a currency code")
    return s
