from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.objects import Currency, Price, Quantity

from adapters.core import decimal_parse as D

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
    assert D.to_decimal("") == 0
    assert D.to_decimal("abc") == 0
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
