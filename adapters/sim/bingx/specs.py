"""BingX contracts for the engine: BingX symbols (``BTC-USDT``) and BingX's precisions.

``pricePrecision`` / ``quantityPrecision`` are decimal places; the tick and step follow from them.
``tradeMinQuantity`` is the minimum quantity and ``tradeMinUSDT`` (2 USDT) the minimum notional.
1000PEPE-USDT is the unusual one: 7 price decimals and whole-number quantities.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.sim.model import SymbolSpec

# Seeded so the contract ids the venue reports are stable.
CONTRACT_IDS = {"BTC-USDT": "100", "ETH-USDT": "101", "1000PEPE-USDT": "1325"}
MAX_LEVERAGE = {"BTC-USDT": 125, "ETH-USDT": 100, "1000PEPE-USDT": 50}


def bingx_specs() -> list[SymbolSpec]:
    return [
        SymbolSpec(
            symbol="BTC-USDT",
            base_asset="BTC",
            quote_asset="USDT",
            margin_asset="USDT",
            price_precision=1,
            quantity_precision=4,
            tick_size=Decimal("0.1"),
            min_price=Decimal("0.1"),
            max_price=Decimal("10000000"),
            step_size=Decimal("0.0001"),
            min_qty=Decimal("0.0001"),
            max_qty=Decimal("1000"),
            market_step_size=Decimal("0.0001"),
            market_min_qty=Decimal("0.0001"),
            market_max_qty=Decimal("1000"),
            min_notional=Decimal("2"),
            initial_price=Decimal("60000.0"),
            max_leverage=125,
            onboard_date_ms=1586275200000,
        ),
        SymbolSpec(
            symbol="ETH-USDT",
            base_asset="ETH",
            quote_asset="USDT",
            margin_asset="USDT",
            price_precision=2,
            quantity_precision=2,
            tick_size=Decimal("0.01"),
            min_price=Decimal("0.01"),
            max_price=Decimal("1000000"),
            step_size=Decimal("0.01"),
            min_qty=Decimal("0.01"),
            max_qty=Decimal("20000"),
            market_step_size=Decimal("0.01"),
            market_min_qty=Decimal("0.01"),
            market_max_qty=Decimal("20000"),
            min_notional=Decimal("2"),
            initial_price=Decimal("3000.00"),
            max_leverage=100,
            onboard_date_ms=1586275200000,
        ),
        SymbolSpec(
            symbol="1000PEPE-USDT",
            base_asset="1000PEPE",
            quote_asset="USDT",
            margin_asset="USDT",
            price_precision=7,
            quantity_precision=0,
            tick_size=Decimal("0.0000001"),
            min_price=Decimal("0.0000001"),
            max_price=Decimal("100"),
            step_size=Decimal("1"),
            min_qty=Decimal("163"),
            max_qty=Decimal("500000000"),
            market_step_size=Decimal("1"),
            market_min_qty=Decimal("163"),
            market_max_qty=Decimal("500000000"),
            min_notional=Decimal("2"),
            initial_price=Decimal("0.0123456"),
            maint_margin_percent=Decimal("1.0"),
            required_margin_percent=Decimal("2.0"),
            max_leverage=50,
            onboard_date_ms=1683532800000,
        ),
    ]
