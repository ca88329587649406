"""examples/paper_trading.py: our Binance and BingX data clients feed NautilusTrader's sandbox
execution clients; the strategies' orders fill there, at the quotes our clients delivered, and
never reach the (simulated) venues."""

from __future__ import annotations

import asyncio

from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId

from adapters.sim.server import SimVenue
from examples import paper_trading


async def test_sandbox_fills_on_our_feeds() -> None:
    async with (
        SimVenue("binance-futures", seed=5, step_interval=0.02) as binance,
        SimVenue("bingx", seed=5, step_interval=0.02) as bingx,
    ):
        config = paper_trading.node_config(binance.info(), bingx.info(), max_orders=4, every_n_quotes=3)
        for data in config.data_clients.values():
            assert data.api_key is None  # type: ignore[attr-defined]  # public market data only
        node, flips = await asyncio.wait_for(paper_trading.run(config, within=30), timeout=45)
        venue_orders = binance.state()["orders"] + bingx.state()["orders"]

    exec_clients = node.kernel.exec_engine._clients  # type: ignore[attr-defined]
    assert {str(c) for c in exec_clients} == {"BINANCE", "BINGX"}
    assert all(isinstance(c, SandboxExecutionClient) for c in exec_clients.values())
    assert venue_orders == []  # nothing was sent to a venue

    assert {f.instrument_id.value for f in flips} == {"BTCUSDT-PERP.BINANCE", "BTC-USDT-PERP.BINGX"}
    for flip in flips:
        iid = InstrumentId.from_str(flip.instrument_id.value)
        assert flip.filled_orders() == 4
        assert [f.order_side for f in flip.fills] == [OrderSide.BUY, OrderSide.SELL] * 2
        # each fill is at the top of a quote our data client delivered
        quotes = node.cache.quote_ticks(iid)
        asks = {q.ask_price for q in quotes}
        bids = {q.bid_price for q in quotes}
        for fill in flip.fills:
            assert fill.account_id.value == f"{iid.venue.value}-001"  # the sandbox's account
            assert fill.last_px in (asks if fill.order_side == OrderSide.BUY else bids)
            assert fill.commission.as_decimal() > 0  # the instrument's taker fee
        account = node.cache.account_for_venue(iid.venue)
        assert account is not None
        assert account.balance_total(USDT).as_decimal() < 10_000  # fees paid from the starting balance
