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

Every conversion is checked at this boundary (:mod:`adapters.core.parse.wire_values`): the strict decimal
grammar, the range NautilusTrader can represent (beyond it ``from_raw`` aborts the process), positive
prices where asked, non-negative quantities and sane currency codes. A failure raises
``WireValueError`` naming the field; nothing is replaced by a default.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Final

from nautilus_trader.model.objects import AccountBalance, Currency, Money, Price, Quantity

from adapters.core.parse.wire_values import (
    MAX_DECIMAL_TEXT,
    PRICE_RAW_MAX,
    WireValueError,
    check_currency_code,
    check_decimal_text,
    check_raw,
    strict_decimal,
)

_log = logging.getLogger("adapters.core.decimal_parse")

# NautilusTrader stores values as integers scaled by 10**FIXED_PRECISION (16 in this build).
FIXED_PRECISION: Final = 16
_SCALE: Final = tuple(10 ** (FIXED_PRECISION - i) for i in range(FIXED_PRECISION + 1))

_POW10: Final = tuple(10**n for n in range(40))

_warned: set[str] = set()


def _warn_finer(value: str) -> None:
    if value not in _warned:
        _warned.add(value)
        _log.warning("Value %r is finer than the instrument precision; kept at its own precision", value)


def raw_value(s: str, precision: int, field: str = "value") -> tuple[int, int]:
    """Exact fixed-point raw value of a decimal string, and the precision to label it with.

    ``s`` must be a plain decimal string (optional leading ``-``, no exponent; WireValueError
    otherwise). Digits beyond :data:`FIXED_PRECISION` are truncated (they are below NautilusTrader's
    resolution).
    """
    check_decimal_text(s, field)
    dot = s.find(".")
    if dot < 0:
        return int(s) * _SCALE[0], precision
    frac = len(s) - dot - 1
    if frac > precision:
        significant = len(s.rstrip("0")) - dot - 1
        if significant > precision:
            _warn_finer(s)
            # Never past the resolution: the digits below it are cut just below, and a label above
            # it is a ValueError in NautilusTrader's constructors, outside the WireValueError boundary.
            precision = min(significant, FIXED_PRECISION)
    if frac > FIXED_PRECISION:
        s = s[: dot + 1 + FIXED_PRECISION]
        frac = FIXED_PRECISION
    return int(s[:dot] + s[dot + 1 :]) * _SCALE[frac], precision


def parse_price(s: str, precision: int, *, field: str = "price", positive: bool = False) -> Price:
    """Exact ``Price`` at ``precision`` (or at the string's own precision if it has more decimals).
    ``positive``: a price that must be above zero (a fill, a book level, a quote, a trade)."""
    raw, prec = raw_value(s, precision, field)
    check_raw(raw, "price", field, s)
    if positive and raw <= 0:
        raise WireValueError(field, s, "price must be positive")
    return Price.from_raw(raw, prec)


def parse_rounded_price(s: str, precision: int, *, field: str = "price") -> Price:
    """A positive ``Price`` rounded half-even to ``precision`` (mark and index prices, which venues send
    finer than the tick). Integer arithmetic on the string's digits, the same result as
    ``Decimal(s).quantize(Decimal(1).scaleb(-precision), ROUND_HALF_EVEN)``; WireValueError for a value
    outside the grammar, not positive, rounding to zero, or beyond NautilusTrader's range."""
    dot = s.find(".")
    if dot < 0:
        digits, nfrac = s, 0
    else:
        digits, nfrac = s[:dot] + s[dot + 1 :], len(s) - dot - 1
    if (
        len(s) > MAX_DECIMAL_TEXT
        or not (digits.isascii() and digits.isdigit())
        or dot == 0
        or (dot > 0 and nfrac == 0)
    ):
        # Not a plain positive decimal: the grammar check names the error, else it is negative.
        if not s:
            raise WireValueError(field, s, "missing")
        check_decimal_text(s, field)
        raise WireValueError(field, s, "price must be positive")
    value = int(digits)  # in units of 10**-nfrac
    if nfrac <= precision:
        units = value * _POW10[precision - nfrac]
    else:
        step = _POW10[nfrac - precision] if nfrac - precision < len(_POW10) else 10 ** (nfrac - precision)
        units, rest = divmod(value, step)
        twice = rest * 2
        if twice > step or (twice == step and units & 1):  # half-even
            units += 1
    if units <= 0:
        if int(s.replace(".", "", 1)) > 0:
            raise WireValueError(field, s, "rounds to a non-positive price at the instrument's precision")
        raise WireValueError(field, s, "price must be positive")
    raw = units * _SCALE[precision]
    if raw > PRICE_RAW_MAX:
        raise WireValueError(field, s, "price out of range")
    return Price.from_raw(raw, precision)


def parse_quantity(s: str, precision: int, *, field: str = "quantity") -> Quantity:
    """Exact, non-negative ``Quantity`` at ``precision`` (same rules as :func:`parse_price`)."""
    raw, prec = raw_value(s, precision, field)
    check_raw(raw, "quantity", field, s)
    return Quantity.from_raw(raw, prec)


_CCY_CACHE: dict[str, Currency] = {}


def parse_currency(code: str, field: str = "currency") -> Currency:
    """``Currency`` by code, cached (unknown codes are created as crypto currencies, non-strict)."""
    ccy = _CCY_CACHE.get(code)
    if ccy is None:
        ccy = Currency.from_str(check_currency_code(code, field), strict=False)
        _CCY_CACHE[code] = ccy
    return ccy


def money_from_decimal(value: Decimal, currency: Currency, field: str = "amount") -> Money:
    """Exact ``Money`` from a Decimal (``Money(Decimal)`` goes through float and loses digits)."""
    if not value.is_finite():
        raise WireValueError(field, value, "not a finite amount")
    q = value.quantize(Decimal(1).scaleb(-currency.precision))
    check_raw(int(q.scaleb(FIXED_PRECISION)), "money", field, f"{value}")
    return Money.from_str(f"{q:f} {currency.code}")


# Fees repeat (the same quantity at the same price pays the same fee): each distinct valid (string,
# currency) is converted once. Bounded, cleared when full; a rejected string is never kept.
_MONEY_CACHE_SIZE: Final = 4096
_moneys: dict[tuple[str, Currency, int], Money] = {}


def parse_money(s: str | None, currency: Currency, field: str = "amount") -> Money:
    """Exact ``Money`` from a decimal string (integer path). Money is fixed at the currency's precision, so
    a value with finer significant decimals is rounded through Decimal (never float). None / ``""``
    (a fee the venue left out) is zero."""
    if not s:
        return Money(0, currency)
    # The precision too: a Currency compares (and hashes) by its code alone.
    key = (s, currency, currency.precision)
    money = _moneys.get(key)
    if money is not None:
        return money
    raw, prec = raw_value(s, currency.precision, field)
    check_raw(raw, "money", field, s)
    if prec == currency.precision:
        money = Money.from_raw(raw, currency)
    else:
        money = money_from_decimal(Decimal(s), currency, field)
    if len(_moneys) >= _MONEY_CACHE_SIZE:
        _moneys.clear()
    _moneys[key] = money
    return money


def to_decimal(s: str | None, field: str = "value") -> Decimal:
    """``Decimal`` of a wire decimal string; None and ``""`` (the venues' "not set") are 0. Anything
    else outside the decimal grammar raises WireValueError (garbage is never read as 0)."""
    return strict_decimal(s, field, allow_empty=True)


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
    free = total - locked (so total == locked + free always holds, as ``AccountBalance`` requires).

    The wallet balance is required: a missing or empty one is a rejected value, never a balance of 0
    (fuzz: ``"wb": ""`` showed an account as empty). A missing free balance means all of it is free;
    an empty one is rejected too. Digits finer than the currency's precision are rounded to it (Money
    cannot hold them), as :func:`parse_money` does."""
    total = strict_decimal(total_s, "balance")
    free = strict_decimal(free_s, "available balance") if free_s is not None else total
    locked = min(max(total - free, Decimal(0)), max(total, Decimal(0)))
    return AccountBalance(
        total=money_from_decimal(total, currency, "balance"),
        locked=money_from_decimal(locked, currency, "balance"),
        free=money_from_decimal(total - locked, currency, "balance"),
    )
