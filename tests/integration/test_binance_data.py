"""The Binance USD-M data client against the simulator, through a real DataEngine.

Every subscription delivers NautilusTrader's own types at the instrument's precisions; the local
book equals the venue's book after N diffs, after an injected gap and after a dropped socket;
paged requests return exactly the range asked; the stream limit spreads subscriptions over
several sockets; unsubscribing really unsubscribes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pandas as pd
import pytest
from nautilus_trader.adapters.binance import BinanceBar, BinanceFuturesMarkPriceUpdate
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import (
    RequestBars,
    RequestInstruments,
    RequestOrderBookSnapshot,
    RequestTradeTicks,
    SubscribeBars,
    SubscribeData,
    SubscribeFundingRates,
    SubscribeIndexPrices,
    SubscribeMarkPrices,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    UnsubscribeData,
    UnsubscribeQuoteTicks,
    UnsubscribeTradeTicks,
)
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import (
    Bar,
    BarType,
    DataType,
    FundingRateUpdate,
    IndexPriceUpdate,
    MarkPriceUpdate,
    OrderBookDelta,
    OrderBookDeltas,
    OrderBookDepth10,
    QuoteTick,
    TradeTick,
)
from nautilus_trader.model.enums import AggressorSide, BookAction, BookType
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Venue
from nautilus_trader.model.instruments import CryptoPerpetual

from adapters.binance_futures.parsing_market import bar_type_for
from adapters.sim.model import PublicTrade
from adapters.sim.server import SimVenue
from adapters.testkit.data_node import DataHarness

BTC = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
ETH = InstrumentId.from_str("ETHUSDT-PERP.BINANCE")
PEPE = InstrumentId.from_str("1000PEPEUSDT-PERP.BINANCE")
VENUE = Venue("BINANCE")


def now(h: DataHarness) -> int:
    return h.clock.timestamp_ns()


@pytest.fixture
async def sim() -> AsyncIterator[SimVenue]:
    async with SimVenue(seed=5, step_interval=3600.0) as venue:
        yield venue


@pytest.fixture
async def h(sim: SimVenue, request: Any) -> AsyncIterator[DataHarness]:
    async with DataHarness(sim, **getattr(request, "param", {})) as harness:
        yield harness


def book_cmd(h: DataHarness, iid: InstrumentId, data_type: type = OrderBookDelta) -> SubscribeOrderBook:
    return SubscribeOrderBook(
        instrument_id=iid,
        book_data_type=data_type,
        book_type=BookType.L2_MBP,
        client_id=None,
        venue=VENUE,
        command_id=UUID4(),
        ts_init=now(h),
        depth=0,
        managed=True,
    )


def levels(book: OrderBook) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    def side(lvls: Any) -> list[tuple[Decimal, Decimal]]:
        return [(lv.price.as_decimal(), sum(o.size.as_decimal() for o in lv.orders())) for lv in lvls]

    return side(book.bids()), side(book.asks())


def venue_levels(
    sim: SimVenue, symbol: str
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    b = sim.engine.book(symbol, 1000)
    return list(b.bids), list(b.asks)


def book_in_sync(h: DataHarness, iid: InstrumentId, symbol: str) -> bool:
    book = h.cache.order_book(iid)
    if book is None:
        return False
    return book.sequence == h.sim.engine.book(symbol, 1).last_update_id and levels(book) == venue_levels(
        h.sim, symbol
    )


async def test_connect_pushes_instruments_to_the_cache(h: DataHarness) -> None:
    for iid in (BTC, ETH, PEPE):
        inst = h.cache.instrument(iid)
        assert isinstance(inst, CryptoPerpetual)
    assert h.cache.instrument(PEPE).price_precision == 7  # type: ignore[union-attr]
    assert h.cache.instrument(PEPE).size_precision == 0  # type: ignore[union-attr]


async def test_quotes_trades_and_mark_index_funding(h: DataHarness, sim: SimVenue) -> None:
    for iid in (BTC, PEPE):
        h.execute(SubscribeQuoteTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeTradeTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeMarkPrices(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeIndexPrices(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeFundingRates(iid, None, VENUE, UUID4(), now(h)))
    await h.wait_venue_streams(
        {
            "btcusdt@bookTicker",
            "btcusdt@aggTrade",
            "btcusdt@markPrice@1s",
            "1000pepeusdt@bookTicker",
            "1000pepeusdt@aggTrade",
            "1000pepeusdt@markPrice@1s",
        }
    )
    steps = 0
    while not all(any(x.instrument_id == iid for x in h.of_type(TradeTick)) for iid in (BTC, PEPE)):
        sim.engine.step()
        steps += 1
        assert steps < 200
        # Every step publishes one mark price event per symbol: wait for this step's.
        expected = 2 * steps
        await h.wait_until(lambda: len(h.of_type(FundingRateUpdate)) >= expected)  # noqa: B023
    await h.wait_until(lambda: len(h.of_type(QuoteTick)) > 0)
    # Quotes: the venue's top of book at its precisions.
    for iid, symbol in ((BTC, "BTCUSDT"), (PEPE, "1000PEPEUSDT")):
        inst = h.cache.instrument(iid)
        assert inst is not None
        pp, sp = inst.price_precision, inst.size_precision
        quotes = [q for q in h.of_type(QuoteTick) if q.instrument_id == iid]
        assert quotes
        last = quotes[-1]
        top = sim.engine.book(symbol, 1)
        assert (last.bid_price.as_decimal(), last.bid_size.as_decimal()) == top.bids[0]
        assert (last.ask_price.as_decimal(), last.ask_size.as_decimal()) == top.asks[0]
        assert (last.bid_price.precision, last.ask_size.precision) == (pp, sp)
        trades = [t for t in h.of_type(TradeTick) if t.instrument_id == iid]
        venue_trades = sim.engine.public_trades(symbol, limit=1000)
        assert [t.trade_id.value for t in trades] == [str(v.agg_id) for v in venue_trades]
        for t, v in zip(trades, venue_trades, strict=True):
            assert t.price.as_decimal() == v.price and t.size.as_decimal() == v.qty
            assert t.price.precision == pp and t.size.precision == sp
            assert t.aggressor_side == (AggressorSide.SELLER if v.buyer_is_maker else AggressorSide.BUYER)
            assert t.ts_event == v.time_ms * 1_000_000
        mark = sim.engine.mark_price(symbol)
        marks = [m for m in h.of_type(MarkPriceUpdate) if m.instrument_id == iid]
        assert marks[-1].value.as_decimal() == mark.mark_price and marks[-1].value.precision == pp
        index = [m for m in h.of_type(IndexPriceUpdate) if m.instrument_id == iid]
        assert index[-1].value.as_decimal() == mark.index_price and index[-1].value.precision == pp
        funding = [f for f in h.of_type(FundingRateUpdate) if f.instrument_id == iid]
        assert funding[-1].rate == mark.funding_rate
        assert funding[-1].next_funding_ns == mark.next_funding_time_ms * 1_000_000


async def subscribe_book(h: DataHarness, sim: SimVenue) -> None:
    h.execute(book_cmd(h, BTC))
    await h.wait_venue_streams({"btcusdt@depth@100ms"})
    await h.wait_until(lambda: h.c.books["BTCUSDT"].sync.is_synced, what="initial sync")


async def step_and_sync(h: DataHarness, sim: SimVenue, n: int) -> None:
    for _ in range(n):
        sim.engine.step()
    await h.wait_until(lambda: book_in_sync(h, BTC, "BTCUSDT"), what="book equal to the venue's")


async def test_book_equals_venue_after_n_diffs(h: DataHarness, sim: SimVenue) -> None:
    await subscribe_book(h, sim)
    await step_and_sync(h, sim, 25)
    sync = h.c.books["BTCUSDT"].sync
    assert sync.metrics.diffs_applied >= 25 and sync.metrics.gaps_detected == 0
    assert h.c.books["BTCUSDT"].snapshots_fetched == 1
    deltas = h.of_type(OrderBookDeltas)
    assert deltas[0].is_snapshot and deltas[0].deltas[0].action == BookAction.CLEAR
    inst = h.cache.instrument(BTC)
    assert inst is not None
    for d in deltas[-5:]:
        for delta in d.deltas:
            assert delta.order.price.precision == inst.price_precision
            assert delta.order.size.precision == inst.size_precision


async def test_book_resyncs_after_injected_gap(h: DataHarness, sim: SimVenue) -> None:
    await subscribe_book(h, sim)
    await step_and_sync(h, sim, 5)
    # The next diff never reaches us.
    url = f"{sim.rest_url}/sim/market/gap?symbol=BTCUSDT"
    async with aiohttp.ClientSession() as session, session.post(url) as r:
        assert r.status == 200, await r.text()
    sim.engine.step()
    sim.engine.step()
    sync = h.c.books["BTCUSDT"].sync
    await h.wait_until(lambda: sync.metrics.gaps_detected == 1, what="gap detected")
    await step_and_sync(h, sim, 5)
    assert h.c.books["BTCUSDT"].snapshots_fetched == 2
    # While out of sync the stale book was cleared, never left standing.
    clears = [
        d for d in h.of_type(OrderBookDeltas) if len(d.deltas) == 1 and d.deltas[0].action == BookAction.CLEAR
    ]
    assert len(clears) == 1


async def test_book_resyncs_after_dropped_socket(h: DataHarness, sim: SimVenue) -> None:
    h.execute(SubscribeQuoteTicks(BTC, None, VENUE, UUID4(), now(h)))
    await subscribe_book(h, sim)
    await step_and_sync(h, sim, 3)
    sim.faults.drop_streams("market")
    # Steps while the socket is down are lost to us: only a resync can recover them.
    sim.engine.step()
    sim.engine.step()
    await h.wait_until(lambda: h.c.metrics.reconnects == 1, what="reconnect")
    await h.wait_venue_streams({"btcusdt@depth@100ms", "btcusdt@bookTicker"})  # restored
    await step_and_sync(h, sim, 3)
    assert h.c.metrics.book_resyncs_after_reconnect == 1
    quotes_before = len(h.of_type(QuoteTick))
    sim.engine.set_price("BTCUSDT", sim.engine.last_price("BTCUSDT") + Decimal(100))
    await h.wait_until(lambda: len(h.of_type(QuoteTick)) > quotes_before, what="quotes after reconnect")


async def test_depth10_snapshots(h: DataHarness, sim: SimVenue) -> None:
    h.execute(book_cmd(h, BTC, OrderBookDepth10))
    await h.wait_venue_streams({"btcusdt@depth10@100ms"})
    sim.engine.step()
    await h.wait_until(lambda: h.of_type(OrderBookDepth10), what="depth10")
    depth = h.of_type(OrderBookDepth10)[-1]
    top = sim.engine.book("BTCUSDT", 10)
    assert [(o.price.as_decimal(), o.size.as_decimal()) for o in depth.bids] == list(top.bids)
    assert [(o.price.as_decimal(), o.size.as_decimal()) for o in depth.asks] == list(top.asks)
    assert depth.sequence == top.last_update_id


async def test_full_mark_price_update_with_estimated_settle_price(h: DataHarness, sim: SimVenue) -> None:
    """``subscribe_data(DataType(BinanceFuturesMarkPriceUpdate, {"instrument_id": id}))``, as with
    NautilusTrader's Binance adapter: the whole mark-price frame, estimated settle price included, next
    to the MarkPriceUpdate of the same frame."""
    data_type = DataType(BinanceFuturesMarkPriceUpdate, metadata={"instrument_id": BTC})
    h.execute(SubscribeData(data_type, BTC, ClientId("BINANCE"), VENUE, UUID4(), now(h)))
    h.execute(SubscribeMarkPrices(BTC, None, VENUE, UUID4(), now(h)))
    await h.wait_venue_streams({"btcusdt@markPrice@1s"})
    for _ in range(3):
        sim.engine.step()
    # The client publishes CustomData; the DataEngine hands subscribers (and this harness) its payload.
    await h.wait_until(
        lambda: len(h.of_type(BinanceFuturesMarkPriceUpdate)) >= 3 and len(h.of_type(MarkPriceUpdate)) >= 3
    )
    update = h.of_type(BinanceFuturesMarkPriceUpdate)[-1]
    assert update.instrument_id == BTC
    venue = sim.engine.mark_price("BTCUSDT")
    inst = h.cache.instrument(BTC)
    assert inst is not None
    assert venue.estimated_settle_price is not None and venue.estimated_settle_price != venue.mark_price
    assert update.estimated_settle == inst.make_price(venue.estimated_settle_price)  # at the tick precision
    assert update.estimated_settle.precision == inst.price_precision
    assert (update.mark, update.index) == (
        inst.make_price(venue.mark_price),
        inst.make_price(venue.index_price),
    )
    assert update.funding_rate == venue.funding_rate
    assert update.next_funding_ns == venue.next_funding_time_ms * 1_000_000
    mark = h.of_type(MarkPriceUpdate)[-1]
    assert (update.ts_event, update.ts_init) == (mark.ts_event, mark.ts_init)  # the same frame
    # Unsubscribing the custom data leaves the mark prices running; nothing more of the custom type.
    h.execute(UnsubscribeData(data_type, BTC, ClientId("BINANCE"), VENUE, UUID4(), now(h)))
    await h.wait_until(lambda: "mark_update" not in h.c._mark_kinds.get("BTCUSDT", set()))
    before = len(h.of_type(BinanceFuturesMarkPriceUpdate))
    marks = len(h.of_type(MarkPriceUpdate))
    sim.engine.step()
    await h.wait_until(lambda: len(h.of_type(MarkPriceUpdate)) > marks)
    assert len(h.of_type(BinanceFuturesMarkPriceUpdate)) == before


async def test_bars_closed_only_and_open_bars_option(h: DataHarness, sim: SimVenue) -> None:
    bar_type = BarType.from_str("BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL")
    h.execute(SubscribeBars(bar_type, None, VENUE, UUID4(), now(h)))
    await h.wait_venue_streams({"btcusdt@kline_1m"})
    market = sim.binance.market
    trades = 0
    while trades < 3:
        sim.engine.step()
        trades = len(sim.engine.public_trades("BTCUSDT", limit=1000))
    await h.wait_until(lambda: h.c.metrics.events >= 3)
    assert h.of_type(Bar) == []  # the kline is still open: nothing published
    # A trade in the next minute closes the kline (the venue publishes it with x=true).
    live = market._klines[("BTCUSDT", "1m")]
    expected = live.as_kline(True)
    last = sim.engine.public_trades("BTCUSDT", limit=1)[-1]
    market.on_public_trade(
        PublicTrade(
            "BTCUSDT",
            expected.close_time_ms + 1,
            last.agg_id + 1,
            last.first_trade_id + 1,
            last.last_trade_id + 1,
            last.price,
            Decimal("0.001"),
            False,
        )
    )
    await h.wait_until(lambda: h.of_type(Bar), what="closed bar")
    bar = h.of_type(Bar)[-1]
    assert bar.bar_type == bar_type
    assert (bar.open.as_decimal(), bar.high.as_decimal(), bar.low.as_decimal(), bar.close.as_decimal()) == (
        expected.open,
        expected.high,
        expected.low,
        expected.close,
    )
    assert bar.volume.as_decimal() == expected.volume
    assert bar.ts_event == (expected.close_time_ms + 1) * 1_000_000
    assert h.cache.bar(bar_type) == bar
    # NautilusTrader's BinanceBar, with the kline's quote volume, trade count and taker-buy volumes.
    assert isinstance(bar, BinanceBar)
    assert bar.quote_volume == expected.quote_volume and bar.count == expected.trades
    assert bar.taker_buy_base_volume == expected.taker_buy_volume
    assert bar.taker_buy_quote_volume == expected.taker_buy_quote_volume
    assert bar.volume.precision == h.cache.instrument(BTC).size_precision  # type: ignore[union-attr]


@pytest.mark.parametrize("h", [{"bars_closed_only": False, "use_agg_trades": False}], indirect=True)
async def test_open_bars_and_raw_trades_options(h: DataHarness, sim: SimVenue) -> None:
    bar_type = bar_type_for(BTC, "1m")
    h.execute(SubscribeBars(bar_type, None, VENUE, UUID4(), now(h)))
    h.execute(SubscribeTradeTicks(BTC, None, VENUE, UUID4(), now(h)))
    await h.wait_venue_streams({"btcusdt@kline_1m", "btcusdt@trade"})
    while not sim.engine.public_trades("BTCUSDT", limit=1):
        sim.engine.step()
    await h.wait_until(lambda: h.of_type(Bar) and h.of_type(TradeTick), what="open bar and raw trade")
    venue = sim.engine.public_trades("BTCUSDT", limit=1)[0]
    assert h.of_type(TradeTick)[0].trade_id.value == str(venue.last_trade_id)


@pytest.mark.parametrize("h", [{"klines_page_limit": 100}], indirect=True)
async def test_request_bars_paged_returns_exactly_the_range(h: DataHarness, sim: SimVenue) -> None:
    bar_type = bar_type_for(BTC, "1m")
    end_ms = (sim.engine.start_ms // 60_000 - 30) * 60_000  # history, well before the engine started
    start_ms = end_ms - 350 * 60_000 + 30_000  # not aligned: the first whole bar opens after it
    start, end = pd.Timestamp(start_ms, unit="ms", tz="UTC"), pd.Timestamp(end_ms, unit="ms", tz="UTC")

    def build(cb: Any) -> RequestBars:
        return RequestBars(
            bar_type, start.to_pydatetime(), end.to_pydatetime(), 0, None, VENUE, cb, UUID4(), now(h), None
        )

    response = await h.request(build)
    bars = response.data
    expected = sim.engine.klines("BTCUSDT", 60_000, start_ms=start_ms, end_ms=end_ms - 60_000, limit=1500)
    assert len(bars) == len(expected) == 349  # pages of 100: backwards, stitched, no duplicates
    assert h.c.metrics.request_pages["klines"] >= 4
    assert [b.ts_event for b in bars] == [(k.close_time_ms + 1) * 1_000_000 for k in expected]
    assert [b.open.as_decimal() for b in bars] == [k.open for k in expected]
    assert [b.volume.as_decimal() for b in bars] == [k.volume for k in expected]
    assert all(isinstance(b, BinanceBar) for b in bars)
    assert [(b.quote_volume, b.count) for b in bars] == [(k.quote_volume, k.trades) for k in expected]
    assert [(b.taker_buy_base_volume, b.taker_buy_quote_volume) for b in bars] == [
        (k.taker_buy_volume, k.taker_buy_quote_volume) for k in expected
    ]
    assert (
        bars[0].ts_event - 60_000_000_000 >= start_ms * 1_000_000 and bars[-1].ts_event <= end_ms * 1_000_000
    )

    def build_limit(cb: Any) -> RequestBars:
        return RequestBars(bar_type, None, end.to_pydatetime(), 5, None, VENUE, cb, UUID4(), now(h), None)

    newest = (await h.request(build_limit)).data
    assert [b.ts_event for b in newest] == [b.ts_event for b in bars[-5:]]


@pytest.mark.parametrize("h", [{"agg_trades_page_limit": 50}], indirect=True)
async def test_request_trades_paged_returns_exactly_the_range(h: DataHarness, sim: SimVenue) -> None:
    while len(sim.engine.public_trades("BTCUSDT", limit=1000)) < 300:
        sim.engine.step()
    venue = sim.engine.public_trades("BTCUSDT", limit=1000)
    start_ms, end_ms = venue[40].time_ms, venue[-30].time_ms
    expected = [t for t in venue if start_ms <= t.time_ms <= end_ms]
    start, end = pd.Timestamp(start_ms, unit="ms", tz="UTC"), pd.Timestamp(end_ms, unit="ms", tz="UTC")

    def build(cb: Any) -> RequestTradeTicks:
        return RequestTradeTicks(
            BTC, start.to_pydatetime(), end.to_pydatetime(), 0, None, VENUE, cb, UUID4(), now(h), None
        )

    ticks = (await h.request(build)).data
    assert [t.trade_id.value for t in ticks] == [str(t.agg_id) for t in expected]
    assert [t.price.as_decimal() for t in ticks] == [t.price for t in expected]
    assert h.c.metrics.request_pages["aggTrades"] >= 5

    def build_limit(cb: Any) -> RequestTradeTicks:
        return RequestTradeTicks(BTC, None, None, 7, None, VENUE, cb, UUID4(), now(h), None)

    newest = (await h.request(build_limit)).data
    assert [t.trade_id.value for t in newest] == [str(t.agg_id) for t in venue[-7:]]


async def test_request_order_book_snapshot_and_instruments(h: DataHarness, sim: SimVenue) -> None:
    def build(cb: Any) -> RequestOrderBookSnapshot:
        return RequestOrderBookSnapshot(BTC, 20, None, VENUE, cb, UUID4(), now(h), None)

    deltas = (await h.request(build)).data[0]
    book = OrderBook(BTC, BookType.L2_MBP)
    book.apply_deltas(deltas)
    assert levels(book) == (
        list(sim.engine.book("BTCUSDT", 20).bids),
        list(sim.engine.book("BTCUSDT", 20).asks),
    )

    def build_instruments(cb: Any) -> RequestInstruments:
        return RequestInstruments(None, None, None, VENUE, cb, UUID4(), now(h), None)

    instruments = (await h.request(build_instruments)).data
    assert {i.id for i in instruments} == {BTC, ETH, PEPE}


@pytest.mark.parametrize("h", [{"max_streams_per_connection": 2}], indirect=True)
async def test_stream_limit_spreads_sockets_and_unsubscribe_unsubscribes(
    h: DataHarness, sim: SimVenue
) -> None:
    sim.binance.market.max_streams_per_connection = 2  # the venue refuses a third stream per socket
    for iid in (BTC, ETH, PEPE):
        h.execute(SubscribeQuoteTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeTradeTicks(iid, None, VENUE, UUID4(), now(h)))
    wanted = {f"{s}@{k}" for s in ("btcusdt", "ethusdt", "1000pepeusdt") for k in ("bookTicker", "aggTrade")}
    await h.wait_venue_streams(wanted)
    conns = sim.registry.select("market")
    # Each route has its own sockets (bookTicker on /public, aggTrade on /market): 2 + 1 per route.
    by_route = sorted((c.describe()["route"], len(sim.binance.market.streams_of(c))) for c in conns)
    assert by_route == [("/market", 1), ("/market", 2), ("/public", 1), ("/public", 2)]
    assert sim.state()["ws_routes"]["silent_subscriptions"] == 0  # nothing asked on a wrong route
    # Every socket dropped: every subscription restored on the new sockets.
    sim.faults.drop_streams("market")
    await h.wait_until(lambda: h.c.metrics.reconnects == 4, what="4 reconnects")
    await h.wait_venue_streams(wanted)
    for iid in (ETH, PEPE):
        h.execute(UnsubscribeQuoteTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(UnsubscribeTradeTicks(iid, None, VENUE, UUID4(), now(h)))
    await h.wait_until(lambda: h.venue_streams() == {"btcusdt@bookTicker", "btcusdt@aggTrade"})
    await h.wait_until(lambda: len(sim.registry.select("market")) == 2, what="empty sockets closed")

    def eth_data() -> int:
        return sum(1 for x in h.received if (i := getattr(x, "instrument_id", None)) is not None and i == ETH)

    before = eth_data()
    sim.engine.set_price("ETHUSDT", sim.engine.last_price("ETHUSDT") + Decimal(10))
    sim.engine.set_price("BTCUSDT", sim.engine.last_price("BTCUSDT") + Decimal(100))
    await h.wait_until(
        lambda: any(isinstance(x, QuoteTick) and x.instrument_id == BTC for x in h.received[-3:])
    )
    assert eth_data() == before
