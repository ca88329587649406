"""Instruments and recorded frames for the Binance market-data tests (test_market_parsing,
test_book_sync)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency, Price, Quantity

from adapters.binance_futures.parsing import format_instrument_id, parse_currency

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binance_futures" / "market"


def make_perp(symbol: str, tick: str, step: str, base: str = "BTC") -> CryptoPerpetual:
    """A perpetual with the instrument precision normalised from the increment (tick 0.10 -> precision 1)."""
    price_increment = Price.from_str(str(Decimal(tick).normalize()))
    size_increment = Quantity.from_str(str(Decimal(step).normalize()))
    return CryptoPerpetual(
        instrument_id=format_instrument_id(symbol),
        raw_symbol=Symbol(symbol),
        base_currency=parse_currency(base) if base != "BTC" else Currency.from_str("BTC"),
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=price_increment.precision,
        size_precision=size_increment.precision,
        price_increment=price_increment,
        size_increment=size_increment,
        ts_event=0,
        ts_init=0,
    )


BTC = make_perp("BTCUSDT", "0.10", "0.001")  # price precision 1, size precision 3
PEPE = make_perp("1000PEPEUSDT", "0.0000001", "1", base="1000PEPE")  # price precision 7, size precision 0
