"""examples/record.py + examples/backtest.py: record our data client's stream from the simulator
into a ParquetDataCatalog, run the example strategy on it in a BacktestEngine, and check that the
live (simulator) run and the backtest use identical instrument definitions and that the backtest
trades."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from nautilus_trader.model.data import OrderBookDelta, QuoteTick, TradeTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.sim.server import SimVenue
from examples import backtest, record
from examples.nodes import sim_binance, sim_bingx
from examples.nodes.common import run_strategies


def definition(instrument: Instrument | None) -> dict[str, Any]:
    """Everything that defines an instrument (ids, precisions, increments, limits, margins, fees,
    the venue's raw info), without the creation timestamps."""
    assert instrument is not None
    row = type(instrument).to_dict(instrument)
    del row["ts_event"], row["ts_init"]
    return row


@pytest.mark.parametrize(
    ("venue", "node_module", "instrument_id"),
    [
        ("binance-futures", sim_binance, "BTCUSDT-PERP.BINANCE"),
        ("bingx", sim_bingx, "BTC-USDT-PERP.BINGX"),
    ],
)
async def test_record_then_backtest(tmp_path: Path, venue: str, node_module: Any, instrument_id: str) -> None:
    iid = InstrumentId.from_str(instrument_id)
    async with SimVenue(venue, seed=9, step_interval=0.02) as sim:
        catalog, counts = await asyncio.wait_for(
            record.record(sim.info(), tmp_path, min_quotes=60, min_trades=5, within=30), timeout=45
        )
        # the live run: the same strategy, trading on the simulator through our clients
        live_node, [live_flip] = await asyncio.wait_for(
            run_strategies(node_module.node_config(sim.info(), max_orders=2), within=30), timeout=45
        )
        built_now = await backtest.provider_instruments(sim.info())
    assert live_flip.filled_orders() == 2

    # the recording holds at least what the recorder had received when it stopped (the stream
    # writer keeps writing until the data client disconnects)
    assert counts[QuoteTick] >= 60 and counts[TradeTick] >= 5 and counts[OrderBookDelta] > 0
    assert len(catalog.quote_ticks(instrument_ids=[instrument_id])) >= counts[QuoteTick]
    assert len(catalog.trade_ticks(instrument_ids=[instrument_id])) >= counts[TradeTick]
    assert len(catalog.order_book_deltas(instrument_ids=[instrument_id])) >= counts[OrderBookDelta]

    engine, flip = backtest.run_backtest(tmp_path, instrument_id, max_orders=4, every_n_quotes=5)
    try:
        # identical instrument definitions: live node == backtest == catalog == provider built now
        live = definition(live_node.cache.instrument(iid))
        assert live["maker_fee"] != live["taker_fee"]  # the account's fee rates (keys used)
        assert definition(engine.cache.instrument(iid)) == live
        assert [definition(i) for i in catalog.instruments(instrument_ids=[instrument_id])] == [live]
        assert [definition(i) for i in built_now if i.id == iid] == [live]

        # the backtest traded: the same strategy class, on the recorded quotes
        assert type(flip) is type(live_flip)
        assert flip.filled_orders() == 4
        fills = engine.trader.generate_order_fills_report()
        assert list(fills["side"]) == ["BUY", "SELL", "BUY", "SELL"]
        assert list(fills["status"]) == ["FILLED"] * 4
        quotes = catalog.quote_ticks(instrument_ids=[instrument_id])
        asks = {q.ask_price.as_decimal() for q in quotes}
        bids = {q.bid_price.as_decimal() for q in quotes}
        for fill in flip.fills:
            assert fill.last_px.as_decimal() in (asks if fill.order_side == OrderSide.BUY else bids)
        assert {str(p.instrument_id) for p in engine.cache.positions()} == {instrument_id}
    finally:
        engine.dispose()
