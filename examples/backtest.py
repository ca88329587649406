"""Backtest: the example strategy (``FlipFlop``, the one the SIM nodes and the paper-trading node
run) in a BacktestEngine on the data ``examples/record.py`` recorded, with the instruments our
instrument provider built (stored in the catalog by the recording, or built now with
``provider_instruments``).

    .venv/bin/python -m examples.record --catalog ./catalog
    .venv/bin/python -m examples.backtest --catalog ./catalog
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import FillModel, MakerTakerFeeModel
from nautilus_trader.config import BacktestEngineConfig, InstrumentProviderConfig, LoggingConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.testkit.strategies import FlipFlop, FlipFlopConfig

TRADE_SIZES = {"BINANCE": "0.010", "BINGX": "0.0100"}


async def provider_instruments(info: dict[str, str]) -> list[Instrument]:
    """The instruments our provider builds from the venue's REST API (here a simulator's JSON line;
    with keys, so the account's fee rates are in them, as in a trading node)."""
    if info.get("venue") == "bingx":
        from adapters.bingx.http import BingxHttpClient
        from adapters.bingx.providers import BingxInstrumentProvider

        bingx_http = BingxHttpClient(info["rest"], info.get("api_key"), info.get("api_secret"))
        try:
            bingx = BingxInstrumentProvider(bingx_http, InstrumentProviderConfig(load_all=True))
            await bingx.initialize()
            return list(bingx.list_all())
        finally:
            await bingx_http.close()
    from adapters.binance_futures.http import BinanceFuturesHttpClient
    from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider

    binance_http = BinanceFuturesHttpClient(info["rest"], info.get("api_key"), info.get("api_secret"))
    try:
        binance = BinanceFuturesInstrumentProvider(binance_http, InstrumentProviderConfig(load_all=True))
        await binance.initialize()
        return list(binance.list_all())
    finally:
        await binance_http.close()


def build_engine(
    catalog: ParquetDataCatalog,
    instrument_id: str,
    *,
    instruments: Sequence[Instrument] | None = None,
    log_level: str = "ERROR",
    **strategy: Any,
) -> tuple[BacktestEngine, FlipFlop]:
    """A BacktestEngine with the venue of ``instrument_id`` (one-way/NETTING margin account), the
    instruments (default: the catalog's), the recorded quotes and trades, and FlipFlop."""
    iid = InstrumentId.from_str(instrument_id)
    engine = BacktestEngine(
        config=BacktestEngineConfig(
            trader_id="BACKTESTER-001", logging=LoggingConfig(log_level=log_level, log_colors=False)
        )
    )
    engine.add_venue(
        venue=Venue(iid.venue.value),  # must equal the instruments' venue: BINANCE / BINGX
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=None,
        starting_balances=[Money(10_000, USDT)],
        default_leverage=Decimal(1),
        fill_model=FillModel(),
        fee_model=MakerTakerFeeModel(),  # the instrument's maker/taker fees
    )
    for instrument in instruments if instruments is not None else catalog.instruments():
        if instrument.id.venue == iid.venue:
            engine.add_instrument(instrument)
    engine.add_data(catalog.quote_ticks(instrument_ids=[instrument_id]))
    trades = catalog.trade_ticks(instrument_ids=[instrument_id])
    if trades:
        engine.add_data(trades)
    settings: dict[str, Any] = {"trade_size": Decimal(TRADE_SIZES[iid.venue.value]), **strategy}
    flip = FlipFlop(FlipFlopConfig(instrument_id=instrument_id, **settings))
    engine.add_strategy(flip)
    return engine, flip


def run_backtest(
    catalog_path: str | Path,
    instrument_id: str,
    *,
    instruments: Sequence[Instrument] | None = None,
    **strategy: Any,
) -> tuple[BacktestEngine, FlipFlop]:
    """Run it; the caller reads the reports and calls ``engine.dispose()``."""
    engine, flip = build_engine(
        ParquetDataCatalog(str(catalog_path)), instrument_id, instruments=instruments, **strategy
    )
    engine.run()
    return engine, flip


def main(catalog_path: str, instrument_id: str, info_json: str | None) -> int:
    instruments = None
    if info_json is not None:
        import json

        instruments = asyncio.run(provider_instruments(json.loads(info_json)))
    engine, flip = run_backtest(catalog_path, instrument_id, instruments=instruments)
    try:
        with pd.option_context("display.width", 200, "display.max_columns", 12):
            print(engine.trader.generate_order_fills_report()[["side", "quantity", "avg_px", "status"]])
            print(engine.trader.generate_positions_report()[["side", "peak_qty", "realized_pnl"]])
        print(f"{flip.id}: {flip.quotes} quotes, {flip.orders_sent} orders, {len(flip.fills)} fills")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalog", default="catalog", help="the catalog directory (default ./catalog)")
    parser.add_argument("--instrument", default="BTCUSDT-PERP.BINANCE")
    parser.add_argument(
        "--info", help="build the instruments now from this simulator's JSON line instead of the catalog's"
    )
    args = parser.parse_args()
    sys.exit(main(args.catalog, args.instrument, args.info))
