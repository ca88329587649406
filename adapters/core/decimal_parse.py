"""Exact decimal-string -> NautilusTrader ``Price`` / ``Quantity`` / ``Money`` conversions (venue-neutral).

Every venue sends prices, quantities and amounts as decimal strings. On the fill path they are turned into
NautilusTrader's fixed-point raw integers by integer arithmetic on the string's digits: no float and no
Decimal (``Price(float(s))`` can round, ``Price(Decimal(s))`` goes through float anyway, and
``Price.from_str`` is ~2x slower). Off the hot path (balances, notional minimums) :func:`money_from_decimal`
quantizes a ``Decimal`` at the currency's precision and builds ``Money`` from its exact string.

Precision rule (:func:`raw_value`): values are labelled with the instrument's precision unless the venue
sent *more significant* decimals than that (a tick-conforming price never does); then the value is kept
exactly at its own precision rather than rounded, and a warning is logged once per distinct string.
Trailing zeros beyond the precision (``"7100.50"`` at precision 1) are harmless padding.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Final

from nautilus_trader.model.objects import AccountBalance, Currency, Money, Price, Quantity

_log = logging.getLogger(__name__)

# NautilusTrader stores values as integers scaled by 10**FIXED_PRECISION (16 in this build).
FIXED_PRECISION: Final = 16
_SCALE: Final = tuple(10 ** (FIXED_PRECISION - i) for i in range(FIXED_PRECISION + 1))

_warned: set[str] = set()


def _warn_finer(value: str) -> None:
    if value not in _warned:
        _warned.add(value)
        _log.warning("Value %r is finer than the instrument precision; kept at its own precision", value)


def raw_value(s: str, precision: int) -> tuple[int, int]:
    """Exact fixed-point raw value of a decimal string, and the precision to label it with.

    ``s`` is a plain decimal string (optional leading ``-``, no exponent). Digits beyond
    :data:`FIXED_PRECISION` are truncated (they are below NautilusTrader's resolution).
    """
    dot = s.find(".")
    if dot < 0:
        return int(s) * _SCALE[0], precision
    frac = len(s) - dot - 1
    if frac > precision:
        significant = len(s.rstrip("0")) - dot - 1
        if significant > precision:
            _warn_finer(s)
            precision = significant
    if frac > FIXED_PRECISION:
        s = s[: dot + 1 + FIXED_PRECISION]
        frac = FIXED_PRECISION
    return int(s[:dot] + s[dot + 1 :]) * _SCALE[frac], precision


def parse_price(s: str, precision: int) -> Price:
    """Exact ``Price`` at ``precision`` (or at the string's own precision if it has more decimals)."""
    raw, prec = raw_value(s, precision)
    return Price.from_raw(raw, prec)


def parse_quantity(s: str, precision: int) -> Quantity:
    """Exact ``Quantity`` at ``precision`` (same rules as :func:`parse_price`)."""
    raw, prec = raw_value(s, precision)
    return Quantity.from_raw(raw, prec)


_CCY_CACHE: dict[str, Currency] = {}


def parse_currency(code: str) -> Currency:
    """``Currency`` by code, cached (unknown codes are created as crypto currencies, non-strict)."""
    ccy = _CCY_CACHE.get(code)
    if ccy is None:
        ccy = Currency.from_str(code, strict=False)
        _CCY_CACHE[code] = ccy
    return ccy


def money_from_decimal(value: Decimal, currency: Currency) -> Money:
    """Exact ``Money`` from a Decimal (``Money(Decimal)`` goes through float and loses digits)."""
    q = value.quantize(Decimal(1).scaleb(-currency.precision))
    return Money.from_str(f"{q:f} {currency.code}")


def parse_money(s: str | None, currency: Currency) -> Money:
    """Exact ``Money`` from a decimal string (integer path). Money is fixed at the currency's precision, so
    a value with finer significant decimals is rounded through Decimal (never float)."""
    if not s:
        return Money(0, currency)
    raw, prec = raw_value(s, currency.precision)
    if prec == currency.precision:
        return Money.from_raw(raw, currency)
    return money_from_decimal(Decimal(s), currency)


def to_decimal(s: str | None) -> Decimal:
    """Lenient ``Decimal``: None, ``""`` and garbage become 0 (venues send ``""`` for "not set")."""
    if not s:
        return Decimal(0)
    try:
        return Decimal(s)
    except ArithmeticError:
        return Decimal(0)


def is_nonzero(s: str | None) -> bool:
    return bool(s) and to_decimal(s) != 0


def increment_precision(increment: str) -> tuple[int, str]:
    """Normalize an increment.

    ``"0.10"`` -> ``(1, "0.1")``, ``"1.00"`` -> ``(0, "1")``, ``"10"`` -> ``(0, "10")``.
    """
    d = Decimal(increment)
    if d <= 0:
        raise ValueError(f"increment must be > 0, was {increment!r}")
    norm = d.normalize()
    exp = norm.as_tuple().exponent
    assert isinstance(exp, int)
    precision = max(0, -exp)
    return precision, f"{norm:.{precision}f}"


def increment_from_decimals(decimals: int) -> str:
    """Decimal places -> increment string: ``4`` -> ``"0.0001"``, ``0`` -> ``"1"`` (ValueError if < 0)."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, was {decimals}")
    return "1" if decimals == 0 else f"0.{'0' * (decimals - 1)}1"


def account_balance(currency: Currency, total_s: str | None, free_s: str | None) -> AccountBalance:
    """Balance from decimal strings: total = wallet balance; locked = clamp(total - free, 0, max(total, 0));
    free = total - locked (so total == locked + free always holds, as ``AccountBalance`` requires)."""
    total = to_decimal(total_s)
    free = to_decimal(free_s) if free_s is not None else total
    locked = min(max(total - free, Decimal(0)), max(total, Decimal(0)))
    return AccountBalance(
        total=money_from_decimal(total, currency),
        locked=money_from_decimal(locked, currency),
        free=money_from_decimal(total - locked, currency),
    )
