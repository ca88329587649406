"""Our Binance clients on the venue's routes since its 2026 websocket base-URL split, against the
simulator (which serves them as the venue does: ``adapters/sim/binance/routes.py``):

* with the default config every stream reaches the node, each on its route's socket (``/public/stream``
  for bookTicker/depth/trade, ``/market/stream`` for aggTrade/markPrice/kline), nothing is asked on a
  wrong route, and the user stream is ``/private/ws?listenKey=...&events=...``;
* a client still on the legacy root URL gets what the venue gives it now: quotes (public) only, its
  trades and mark prices never arrive — the failure this change exists to prevent;
* the simulator's ``legacy_urls`` option serves such a client again.

The URLs of TESTNET/DEMO/LIVE are checked against Binance's documents in
``tests/binance_futures/test_routes.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import (
    SubscribeMarkPrices,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
)
from nautilus_trader.model.data import MarkPriceUpdate, OrderBookDelta, OrderBookDeltas, QuoteTick, TradeTick
from nautilus_trader.model.enums import BookType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Venue

from adapters.sim.server import SimVenue
from adapters.testkit.data_node import DataHarness
from adapters.testkit.node import SimNode

BTC = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
VENUE = Venue("BINANCE")
LEGACY_PATHS = {"ws_stream_path": "/stream", "ws_book_path": None}


@pytest.fixture
async def sim() -> AsyncIterator[SimVenue]:
    async with SimVenue(seed=5, step_interval=3600.0) as venue:
        yield venue


def subscribe_all(h: DataHarness, book: bool = False) -> None:
    ts = h.clock.timestamp_ns()
    h.execute(SubscribeQuoteTicks(BTC, None, VENUE, UUID4(), ts))
    h.execute(SubscribeTradeTicks(BTC, None, VENUE, UUID4(), ts))
    h.execute(SubscribeMarkPrices(BTC, None, VENUE, UUID4(), ts))
    if book:
        h.execute(
            SubscribeOrderBook(
                instrument_id=BTC,
                book_data_type=OrderBookDelta,
                book_type=BookType.L2_MBP,
                client_id=None,
                venue=VENUE,
                command_id=UUID4(),
                ts_init=ts,
                depth=0,
                managed=True,
            )
        )


async def trade_then_quote(h: DataHarness, sim: SimVenue) -> QuoteTick:
    """Make the venue trade and publish a mark price, then move the top of book: return the quote of
    that move. Frames of one socket arrive in order, so whatever the venue sent for the trade and the
    mark price on the quote's socket has arrived before this quote."""
    trades = len(sim.engine.public_trades("BTCUSDT", limit=1000))
    while len(sim.engine.public_trades("BTCUSDT", limit=1000)) == trades:
        sim.engine.step()  # every step also publishes a mark price
    bid = sim.engine.book("BTCUSDT", 1).bids[0][0] + Decimal(100)
    sim.engine.set_price("BTCUSDT", bid)
    await h.wait_until(lambda: any(q.bid_price.as_decimal() >= bid - 1 for q in h.of_type(QuoteTick)))
    return h.of_type(QuoteTick)[-1]


async def test_default_config_receives_every_stream_on_its_route(sim: SimVenue) -> None:
    async with DataHarness(sim) as h:
        subscribe_all(h, book=True)
        await h.wait_venue_streams(
            {"btcusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@markPrice@1s", "btcusdt@depth@100ms"}
        )
        await trade_then_quote(h, sim)
        await h.wait_until(lambda: h.of_type(TradeTick) and h.of_type(MarkPriceUpdate), what="trades, marks")
        await h.wait_until(lambda: h.of_type(OrderBookDeltas), what="book")
        paths = sorted(c["path"] for c in sim.state()["connections"] if c["kind"] == "market")
        routes = sim.state()["ws_routes"]
    assert paths == ["/market/stream", "/public/stream"]
    assert routes == {"legacy_urls": False, "unrouted_connections": 0, "silent_subscriptions": 0}


async def test_legacy_root_url_client_is_refused_market_streams(sim: SimVenue) -> None:
    async with DataHarness(sim, **LEGACY_PATHS) as h:
        subscribe_all(h)
        await h.wait_venue_streams({"btcusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@markPrice@1s"})
        quote = await trade_then_quote(h, sim)
        # The quote came after the venue's trade and mark price, on the same socket: neither was sent.
        assert quote is not None
        assert h.of_type(TradeTick) == [] and h.of_type(MarkPriceUpdate) == []
        routes = sim.state()["ws_routes"]
    assert routes["unrouted_connections"] >= 1
    assert routes["silent_subscriptions"] == 2  # aggTrade and markPrice: acknowledged, never sent


async def test_legacy_urls_option_serves_a_legacy_client() -> None:
    async with (
        SimVenue(seed=5, step_interval=3600.0, legacy_urls=True) as sim,
        DataHarness(sim, **LEGACY_PATHS) as h,
    ):
        subscribe_all(h)
        await h.wait_venue_streams({"btcusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@markPrice@1s"})
        await trade_then_quote(h, sim)
        await h.wait_until(lambda: h.of_type(TradeTick) and h.of_type(MarkPriceUpdate), what="trades, marks")


async def test_user_stream_on_the_private_route_with_its_events() -> None:
    async with SimNode(seed=3) as env:
        [user] = [c for c in env.sim.state()["connections"] if c["kind"] == "user"]
        assert user["route"] == "/private"
        assert user["path"].startswith("/private/ws?listenKey=")
        assert user["path"].endswith(
            "&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE/ACCOUNT_CONFIG_UPDATE/MARGIN_CALL/listenKeyExpired"
        )
        cid = env.strategy.market("BTCUSDT-PERP.BINANCE", OrderSide.BUY, "0.010")
        await env.wait_until(lambda: env.order(cid).is_closed)
        # listenKeyExpired is named in the filter, so a key expiry still reaches the client.
        env.sim.faults.expire_listen_keys()
        await env.wait_recoveries(1)
        report = env.oracle()
    assert report.ok, report.details()
