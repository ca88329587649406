from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.objects import Currency, Price, Quantity

from adapters.core.parse import decimal_parse as D
from adapters.core.parse.wire_values import WireValueError, check_identifier, safe_identifier, strict_decimal

USDT = Currency.from_str("USDT")


@pytest.mark.parametrize(
    ("s", "prec", "expected"),
    [("7100.50", 1, "7100.5"), ("0.00010000", 4, "0.0001"), ("123456789012.3456", 4, "123456789012.3456")],
)
def test_price_and_quantity_exact(s: str, prec: int, expected: str) -> None:
    assert D.parse_price(s, prec) == Price.from_str(expected)
    assert D.parse_quantity(s, prec) == Quantity.from_str(expected)
    assert D.parse_price(s, prec).precision == prec


def test_finer_value_kept_at_own_precision() -> None:
    p = D.parse_price("7100.55", 1)
    assert p.precision == 2
    assert str(p) == "7100.55"


def test_a_value_finer_than_the_resolution_is_cut_there_not_labelled_past_it() -> None:
    # 22 significant decimals: labelled at 22, NautilusTrader's constructors raised a plain ValueError
    # (outside the WireValueError boundary: a frame counted as an error, the order not re-read).
    s = "0.0100000000000000000001"
    assert D.raw_value(s, 8) == (10**14, 16)  # 0.01 at the 1e-16 scale
    assert D.parse_quantity(s, 8) == Quantity.from_str("0.0100000000000000")
    assert D.parse_price("59000." + "1" * 20, 2) == Price.from_str("59000." + "1" * 16)


def test_raw_value_is_integer_scaled() -> None:
    raw, prec = D.raw_value("-0.05642405", 8)
    assert raw == -5642405 * 10 ** (D.FIXED_PRECISION - 8)
    assert prec == 8


def test_money_exact_and_rounding() -> None:
    assert str(D.parse_money("0.06300200", USDT)) == "0.06300200 USDT"
    assert str(D.parse_money(None, USDT)) == "0.00000000 USDT"
    assert str(D.parse_money("1.123456789", USDT)) == "1.12345679 USDT"
    assert str(D.money_from_decimal(Decimal("12345678901.12345678"), USDT)) == "12345678901.12345678 USDT"


def test_helpers() -> None:
    assert D.to_decimal("") == 0 and D.to_decimal(None) == 0  # the venues' "not set"
    with pytest.raises(WireValueError):
        D.to_decimal("abc")  # garbage is never read as 0 (a wallet balance of 0 would be believed)
    assert D.is_nonzero("0.0") is False
    assert D.is_nonzero("0.1") is True
    assert D.increment_precision("0.10") == (1, "0.1")
    assert D.increment_from_decimals(4) == "0.0001"
    assert D.increment_from_decimals(0) == "1"
    with pytest.raises(ValueError):
        D.increment_from_decimals(-1)


def test_account_balance_invariant() -> None:
    b = D.account_balance(USDT, "194.8212", "193.7609")
    assert str(b.total) == "194.82120000 USDT"
    assert str(b.free) == "193.76090000 USDT"
    assert str(b.locked) == "1.06030000 USDT"
    over = D.account_balance(USDT, "100", "120")  # free > total: nothing locked
    assert over.locked.as_decimal() == 0
    assert over.free == over.total


def test_binance_reexports_are_the_core_functions() -> None:
    from adapters.binance_futures import parsing as P

    assert P.parse_price is D.parse_price
    assert P.parse_money is D.parse_money
    assert P._raw is D.raw_value
    assert P.increment_precision is D.increment_precision


# ------------------------------------------------------------------------------------------------
# The boundary: strict grammar, NautilusTrader's ranges, domains (each of these aborted the process
# or was believed before)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["0.100 ", " 0.1", "0.1_0", "1_000", "1e5", "NaN", "inf", "-", ".5", "5.", "0x10", "١٢٣", "+1"]
)
def test_text_outside_the_venue_grammar_is_rejected_not_misread(text: str) -> None:
    with pytest.raises(WireValueError) as info:
        D.parse_quantity(text, 3, field="l")
    assert info.value.field == "l"
    with pytest.raises(WireValueError):
        D.to_decimal(text)


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda s: D.parse_price(s, 2), "17014118346047"),
        (lambda s: D.parse_price(s, 2), "-17014118346047"),
        (lambda s: D.parse_quantity(s, 3), "34028236692094"),
        (lambda s: D.parse_quantity(s, 3), "-0.001"),
        (lambda s: D.parse_money(s, USDT), "17014118346047"),
        (lambda s: D.parse_price(s, 2), "9" * 60),
    ],
)
def test_values_beyond_what_nautilus_can_represent_are_rejected_before_from_raw(call: Any, text: str) -> None:
    """``from_raw`` with these panics in Rust and aborts the whole process; they must never get there."""
    with pytest.raises(WireValueError):
        call(text)


def test_the_largest_representable_values_still_parse() -> None:
    assert str(D.parse_price("17014118346045.99", 2)) == "17014118346045.99"
    assert str(D.parse_quantity("34028236692092.99", 2)) == "34028236692092.99"


def test_positive_prices_where_the_domain_says_so() -> None:
    assert str(D.parse_price("0", 2)) == "0.00"  # e.g. an unset average price
    for text in ("0", "-1.5"):
        with pytest.raises(WireValueError):
            D.parse_price(text, 2, positive=True)


@pytest.mark.parametrize("code", ["\x00", "USDT\x00", "美元", "US DT", "", "X" * 17])
def test_currency_codes_nautilus_cannot_hold_are_rejected(code: str) -> None:
    with pytest.raises(WireValueError):
        D.parse_currency(code.encode().decode("unicode_escape"))


@pytest.mark.parametrize("text", ["\x00", "订单1", "a b", "x" * 65, ""])
def test_identifiers_nautilus_cannot_hold_are_rejected(text: str) -> None:
    value = text.encode().decode("unicode_escape")
    with pytest.raises(WireValueError):
        check_identifier(value, "c")
    assert safe_identifier(value) is None
    assert safe_identifier("web_1234-abc") == "web_1234-abc"


def test_samples_in_errors_are_short_and_log_safe() -> None:
    err = WireValueError("c", "\x00" + "订" * 100, "bad")
    assert err.sample.isascii() and err.sample.isprintable() and len(err.sample) < 120


def _rounded_by_decimal(s: str, precision: int) -> Price:
    """The reference: Decimal quantize, half-even (what parse_rounded_price replaced)."""
    from decimal import ROUND_HALF_EVEN

    q = Decimal(s).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_EVEN)
    return Price.from_str(f"{q:.{precision}f}")


def test_rounded_price_matches_decimal_half_even() -> None:
    import random

    rnd = random.Random(16)
    cases = ["0.05", "0.15", "0.25", "1.5", "2.5", "00012.3450", "60000.12345678", "59999.99999999", "7"]
    for _ in range(3000):
        whole = str(rnd.choice([0, 1, 7, 12345, 60000, 10 ** rnd.randint(0, 12)]))
        frac = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 12)))
        if rnd.random() < 0.3:
            frac = frac[:-1] + "5"
        cases.append(f"{whole}.{frac}")
    for s in cases:
        for precision in range(9):
            if Decimal(s).quantize(Decimal(1).scaleb(-precision)) <= 0:
                continue
            got = D.parse_rounded_price(s, precision)
            want = _rounded_by_decimal(s, precision)
            assert (got.raw, got.precision) == (want.raw, want.precision), (s, precision)


@pytest.mark.parametrize(
    ("s", "reason"),
    [
        ("", "missing"),
        ("-1.5", "price must be positive"),
        ("0.000", "price must be positive"),
        ("0.004", "rounds to a non-positive price at the instrument's precision"),
        ("1e5", "not a decimal number"),
        (" 1.0", "not a decimal number"),
        ("1.", "not a decimal number"),
        ("99999999999999999999999999999.9", "price out of range"),
    ],
)
def test_rounded_price_rejects(s: str, reason: str) -> None:
    with pytest.raises(WireValueError) as info:
        D.parse_rounded_price(s, 2)
    assert info.value.reason == reason


# A hostile number thousands of digits long: past Python's 4,300-digit limit int() raises a plain
# ValueError (not a rejected value), and the mark-price fast path parsed before any grammar check.
LONG_NUMBERS = ["1" * 5000, "0." + "0" * 5000 + "1", "9" * 129, "1." + "0" * 127]


@pytest.mark.parametrize("s", LONG_NUMBERS)
def test_a_number_longer_than_any_venue_value_is_a_rejected_value(s: str) -> None:
    for parse in (
        lambda: D.parse_price(s, 2),
        lambda: D.parse_quantity(s, 3),
        lambda: D.parse_rounded_price(s, 2),
        lambda: D.raw_value(s, 2),
    ):
        with pytest.raises(WireValueError, match="longer than 128 characters"):
            parse()


def test_the_longest_accepted_text_still_parses() -> None:
    s = "1." + "0" * 126  # 128 characters of padding zeros: harmless
    assert D.parse_price(s, 2) == Price.from_str("1.00")
    assert D.parse_rounded_price(s, 2) == Price.from_str("1.00")


# ---------------------------------------------------------------------- caches of the fill path (issue 16)
def test_a_cached_decimal_never_lets_a_rejected_string_through() -> None:
    # The same bad text is rejected every time (only valid strings are remembered), a good one
    # after it still converts, and the cache hands back the exact value.
    for _ in range(3):
        with pytest.raises(WireValueError):
            strict_decimal("0.1 ", "l")
        with pytest.raises(WireValueError):
            strict_decimal("1e5", "z")
    assert strict_decimal("0.004", "l") == Decimal("0.004")
    assert strict_decimal("0.004", "z") is strict_decimal("0.004", "l")
    assert strict_decimal("", "z", allow_empty=True) == 0
    with pytest.raises(WireValueError, match="missing"):
        strict_decimal("", "z")


def test_a_cached_fee_keeps_its_currency_and_precision() -> None:
    from nautilus_trader.model.currencies import BNB, USDT

    usdt = D.parse_money("0.01200000", USDT)
    assert str(usdt) == "0.01200000 USDT"
    assert str(D.parse_money("0.01200000", BNB)) == "0.01200000 BNB"
    assert D.parse_money("0.01200000", USDT) is usdt  # remembered
    with pytest.raises(WireValueError):
        D.parse_money("0.012x", USDT)
    with pytest.raises(WireValueError):
        D.parse_money("9" * 200, USDT)
