"""BingX contracts for the engine: BingX symbols (``BTC-USDT``) and BingX's precisions.

``pricePrecision`` / ``quantityPrecision`` are decimal places; the tick and step follow from them.
``tradeMinQuantity`` is the minimum quantity and ``tradeMinUSDT`` (2 USDT) the minimum notional.
1000PEPE-USDT is the unusual one: 7 price decimals and whole-number quantities.
"""

from __future__ import annotations

from adapters.sim.model import SymbolSpec, usdt_perpetual

# Seeded so the contract ids the venue reports are stable.
CONTRACT_IDS = {"BTC-USDT": "100", "ETH-USDT": "101", "1000PEPE-USDT": "1325"}
MAX_LEVERAGE = {"BTC-USDT": 125, "ETH-USDT": 100, "1000PEPE-USDT": 50}


def bingx_specs() -> list[SymbolSpec]:
    return [
        usdt_perpetual(
            "BTC-USDT",
            "BTC",
            precision=(1, 4),
            tick="0.1",
            prices=("0.1", "10000000"),
            step="0.0001",
            quantities=("0.0001", "1000"),
            market_max_qty="1000",
            min_notional="2",
            initial_price="60000.0",
            max_leverage=125,
            onboard_date_ms=1586275200000,
        ),
        usdt_perpetual(
            "ETH-USDT",
            "ETH",
            precision=(2, 2),
            tick="0.01",
            prices=("0.01", "1000000"),
            step="0.01",
            quantities=("0.01", "20000"),
            market_max_qty="20000",
            min_notional="2",
            initial_price="3000.00",
            max_leverage=100,
            onboard_date_ms=1586275200000,
        ),
        usdt_perpetual(
            "1000PEPE-USDT",
            "1000PEPE",
            precision=(7, 0),
            tick="0.0000001",
            prices=("0.0000001", "100"),
            step="1",
            quantities=("163", "500000000"),
            market_max_qty="500000000",
            min_notional="2",
            initial_price="0.0123456",
            margin_percent=("1.0", "2.0"),
            max_leverage=50,
            onboard_date_ms=1683532800000,
        ),
    ]
