"""The BingX data client against the BingX simulator, through a real DataEngine.

Typed values at the instrument's precisions; public trades de-duplicated (the simulator pushes every
3rd trade frame twice); the local book equals the venue's after N increments, after an injected gap
and after a dropped socket; bars only once final; funding rate with the next funding time;
unsubscribing really unsubscribes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pandas as pd
import pytest
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import (
    RequestBars,
    RequestOrderBookSnapshot,
    SubscribeBars,
    SubscribeFundingRates,
    SubscribeIndexPrices,
    SubscribeMarkPrices,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    UnsubscribeOrderBook,
    UnsubscribeQuoteTicks,
    UnsubscribeTradeTicks,
)
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import (
    Bar,
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
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import CryptoPerpetual

from adapters.bingx.parsing_market import bar_type_for
from adapters.sim.model import PublicTrade
from adapters.sim.server import SimVenue
from adapters.testkit.data_node import DataHarness

BTC = InstrumentId.from_str("BTC-USDT-PERP.BINGX")
ETH = InstrumentId.from_str("ETH-USDT-PERP.BINGX")
PEPE = InstrumentId.from_str("1000PEPE-USDT-PERP.BINGX")
VENUE = Venue("BINGX")


def now(h: DataHarness) -> int:
    return h.clock.timestamp_ns()


@pytest.fixture
async def sim() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=5, step_interval=3600.0, duplicate_trade_every=3) as venue:
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


Levels = list[tuple[Decimal, Decimal]]


def levels(book: OrderBook) -> tuple[Levels, Levels]:
    def side(lvls: Any) -> Levels:
        return [(lv.price.as_decimal(), sum(o.size.as_decimal() for o in lv.orders())) for lv in lvls]

    return side(book.bids()), side(book.asks())


def book_in_sync(h: DataHarness, iid: InstrumentId, symbol: str) -> bool:
    book = h.cache.order_book(iid)
    if book is None:
        return False
    assert h.sim.bingx is not None
    venue = h.sim.engine.book(symbol, 10_000)
    return book.sequence == h.sim.bingx.market.incr_ids[symbol] and levels(book) == (
        list(venue.bids),
        list(venue.asks),
    )


async def test_connect_pushes_instruments_at_bingx_precisions(h: DataHarness) -> None:
    for iid in (BTC, ETH, PEPE):
        assert isinstance(h.cache.instrument(iid), CryptoPerpetual)
    btc = h.cache.instrument(BTC)
    assert btc is not None and (btc.price_precision, btc.size_precision) == (1, 4)


async def test_quotes_trades_deduplicated_and_mark_prices(h: DataHarness, sim: SimVenue) -> None:
    for iid in (BTC, PEPE):
        h.execute(SubscribeQuoteTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeTradeTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeMarkPrices(iid, None, VENUE, UUID4(), now(h)))
    topics = {f"{s}@{k}" for s in ("BTC-USDT", "1000PEPE-USDT") for k in ("bookTicker", "trade", "markPrice")}
    await h.wait_venue_streams(topics)
    before = {s: len(sim.engine.public_trades(s, limit=1000)) for s in ("BTC-USDT", "1000PEPE-USDT")}
    steps = 0
    while sim.bingx.market.counters["public_trades_duplicated"] < 3 or steps < 10:  # type: ignore[union-attr]
        sim.engine.step()
        steps += 1
        assert steps < 300
        # Every step publishes one mark price per symbol: wait for this step's.
        await h.wait_until(lambda: len(h.of_type(MarkPriceUpdate)) >= 2 * steps)  # noqa: B023
    for iid, symbol in ((BTC, "BTC-USDT"), (PEPE, "1000PEPE-USDT")):
        n = len(sim.engine.public_trades(symbol, limit=1000)) - before[symbol]

        def arrived(iid: InstrumentId = iid, n: int = n) -> bool:
            return len([t for t in h.of_type(TradeTick) if t.instrument_id == iid]) >= n

        await h.wait_until(arrived, what=f"{symbol} trades")
    assert h.bx.metrics.duplicate_trades_dropped >= 3
    for iid, symbol in ((BTC, "BTC-USDT"), (PEPE, "1000PEPE-USDT")):
        inst = h.cache.instrument(iid)
        assert inst is not None
        pp, sp = inst.price_precision, inst.size_precision
        trades = [t for t in h.of_type(TradeTick) if t.instrument_id == iid]
        venue_trades = sim.engine.public_trades(symbol, limit=1000)[before[symbol] :]
        ids = [t.trade_id.value for t in trades]
        assert len(ids) == len(set(ids)) == len(venue_trades)  # every trade exactly once
        for t, v in zip(trades, venue_trades, strict=True):
            assert (t.price.as_decimal(), t.size.as_decimal()) == (v.price, v.qty)
            assert (t.price.precision, t.size.precision) == (pp, sp)
            assert t.aggressor_side == (AggressorSide.SELLER if v.buyer_is_maker else AggressorSide.BUYER)
            assert t.ts_event == v.time_ms * 1_000_000
        quotes = [q for q in h.of_type(QuoteTick) if q.instrument_id == iid]
        assert quotes
        top = sim.engine.book(symbol, 1)
        last = quotes[-1]
        assert (last.bid_price.as_decimal(), last.bid_size.as_decimal()) == top.bids[0]
        assert (last.ask_price.as_decimal(), last.ask_size.as_decimal()) == top.asks[0]
        assert (last.bid_price.precision, last.ask_size.precision) == (pp, sp)
        marks = [m for m in h.of_type(MarkPriceUpdate) if m.instrument_id == iid]
        assert marks[-1].value.as_decimal() == sim.engine.mark_price(symbol).mark_price
        assert marks[-1].value.precision == pp


async def test_funding_rate_with_next_funding_time_and_index(h: DataHarness, sim: SimVenue) -> None:
    h.execute(SubscribeFundingRates(BTC, None, VENUE, UUID4(), now(h)))
    h.execute(SubscribeIndexPrices(BTC, None, VENUE, UUID4(), now(h)))
    await h.wait_until(lambda: h.of_type(FundingRateUpdate) and h.of_type(IndexPriceUpdate), what="funding")
    mark = sim.engine.mark_price("BTC-USDT")
    funding = h.of_type(FundingRateUpdate)[-1]
    assert funding.instrument_id == BTC
    assert funding.rate == mark.funding_rate.quantize(Decimal("0.000001"))
    assert funding.next_funding_ns == mark.next_funding_time_ms * 1_000_000
    index = h.of_type(IndexPriceUpdate)[-1]
    assert index.value.as_decimal() == mark.index_price and index.value.precision == 1


async def subscribe_book(h: DataHarness) -> None:
    h.execute(book_cmd(h, BTC))
    await h.wait_venue_streams({"BTC-USDT@incrDepth"})
    await h.wait_until(lambda: "BTC-USDT" in h.bx.books and h.bx.books["BTC-USDT"].sync.is_synced)


async def step_and_sync(h: DataHarness, sim: SimVenue, n: int) -> None:
    for _ in range(n):
        sim.engine.step()
    await h.wait_until(lambda: book_in_sync(h, BTC, "BTC-USDT"), what="book equal to the venue's")


async def test_book_equals_venue_after_n_increments(h: DataHarness, sim: SimVenue) -> None:
    await subscribe_book(h)
    await step_and_sync(h, sim, 25)
    book = h.bx.books["BTC-USDT"]
    assert book.sync.metrics.diffs_applied >= 25 and book.sync.metrics.gaps_detected == 0
    assert book.refreshes == 0 and book.sync.snapshots_seen == 1
    deltas = h.of_type(OrderBookDeltas)
    assert deltas[0].is_snapshot and deltas[0].deltas[0].action == BookAction.CLEAR
    inst = h.cache.instrument(BTC)
    assert inst is not None
    for d in deltas[-5:]:
        for delta in d.deltas:
            assert delta.order.price.precision == inst.price_precision
            assert delta.order.size.precision == inst.size_precision


async def test_book_resyncs_after_injected_gap(h: DataHarness, sim: SimVenue) -> None:
    await subscribe_book(h)
    await step_and_sync(h, sim, 5)
    url = f"{sim.rest_url}/sim/market/gap?symbol=BTC-USDT"
    async with aiohttp.ClientSession() as session, session.post(url) as r:
        assert r.status == 200, await r.text()
    book = h.bx.books["BTC-USDT"]
    sim.engine.step()
    sim.engine.step()
    await h.wait_until(lambda: book.sync.metrics.gaps_detected == 1, what="gap detected")
    await step_and_sync(h, sim, 5)
    assert book.refreshes == 1 and book.sync.snapshots_seen == 2  # re-subscribed: a fresh "all"
    clears = [
        d for d in h.of_type(OrderBookDeltas) if len(d.deltas) == 1 and d.deltas[0].action == BookAction.CLEAR
    ]
    assert len(clears) == 1  # the stale book was cleared, never left standing


async def test_book_resyncs_after_dropped_socket(h: DataHarness, sim: SimVenue) -> None:
    h.execute(SubscribeQuoteTicks(BTC, None, VENUE, UUID4(), now(h)))
    await subscribe_book(h)
    await step_and_sync(h, sim, 3)
    sim.faults.drop_streams("market")
    sim.engine.step()  # lost to us while the socket is down
    sim.engine.step()
    await h.wait_until(lambda: h.bx.metrics.reconnects == 1, what="reconnect")
    await h.wait_venue_streams({"BTC-USDT@incrDepth", "BTC-USDT@bookTicker"})
    await step_and_sync(h, sim, 3)
    book = h.bx.books["BTC-USDT"]
    assert h.bx.metrics.book_resyncs_after_reconnect == 1
    assert book.refreshes == 0  # the resubscription on the new socket brought the snapshot
    quotes_before = len(h.of_type(QuoteTick))
    sim.engine.set_price("BTC-USDT", sim.engine.last_price("BTC-USDT") + Decimal(100))
    await h.wait_until(lambda: len(h.of_type(QuoteTick)) > quotes_before, what="quotes after reconnect")


async def test_depth10_snapshots_sorted(h: DataHarness, sim: SimVenue) -> None:
    h.execute(book_cmd(h, BTC, OrderBookDepth10))
    await h.wait_venue_streams({"BTC-USDT@depth10@200ms"})
    sim.engine.step()
    await h.wait_until(lambda: h.of_type(OrderBookDepth10), what="depth10")
    sim.engine.step()
    count = len(h.of_type(OrderBookDepth10))
    await h.wait_until(lambda: len(h.of_type(OrderBookDepth10)) > count)
    depth = h.of_type(OrderBookDepth10)[-1]
    top = sim.engine.book("BTC-USDT", 10)
    assert [(o.price.as_decimal(), o.size.as_decimal()) for o in depth.bids] == list(top.bids)
    assert [(o.price.as_decimal(), o.size.as_decimal()) for o in depth.asks] == list(top.asks)


async def test_bars_only_when_final(h: DataHarness, sim: SimVenue) -> None:
    bar_type = bar_type_for(BTC, "1m")
    h.execute(SubscribeBars(bar_type, None, VENUE, UUID4(), now(h)))
    await h.wait_venue_streams({"BTC-USDT@kline_1m"})
    market = sim.bingx.market  # type: ignore[union-attr]
    start = len(sim.engine.public_trades("BTC-USDT", limit=1000))
    while len(sim.engine.public_trades("BTC-USDT", limit=1000)) < start + 3:
        sim.engine.step()
    tracker = h.bx._bars["BTC-USDT@kline_1m"]
    live = market._klines[("BTC-USDT", "1m")]
    await h.wait_until(lambda: tracker.held is not None and tracker.held.c == str(live.close), what="pushes")
    assert h.of_type(Bar) == []  # the bar is still open: nothing published
    expected = live.as_kline(True)
    last = sim.engine.public_trades("BTC-USDT", limit=1)[-1]
    market.on_public_trade(  # a trade in the next minute: the venue pushes the next bar
        PublicTrade(
            "BTC-USDT",
            expected.open_time_ms + 60_000,
            last.agg_id + 1,
            last.first_trade_id + 1,
            last.last_trade_id + 1,
            last.price,
            Decimal("0.0010"),
            False,
        )
    )
    await h.wait_until(lambda: h.of_type(Bar), what="final bar")
    bars = h.of_type(Bar)
    assert len(bars) == 1
    bar = bars[0]
    assert bar.bar_type == bar_type
    assert (bar.open.as_decimal(), bar.high.as_decimal(), bar.low.as_decimal(), bar.close.as_decimal()) == (
        expected.open,
        expected.high,
        expected.low,
        expected.close,
    )
    assert bar.volume.as_decimal() == expected.volume and bar.volume.precision == 4
    assert bar.ts_event == (expected.open_time_ms + 60_000) * 1_000_000


async def test_request_bars_and_book_snapshot(h: DataHarness, sim: SimVenue) -> None:
    bar_type = bar_type_for(BTC, "1m")
    end_ms = (sim.engine.start_ms // 60_000 - 30) * 60_000
    start_ms = end_ms - 50 * 60_000 + 30_000  # not aligned: the first whole bar opens after it
    start, end = pd.Timestamp(start_ms, unit="ms", tz="UTC"), pd.Timestamp(end_ms, unit="ms", tz="UTC")

    def build(cb: Any) -> RequestBars:
        return RequestBars(
            bar_type, start.to_pydatetime(), end.to_pydatetime(), 0, None, VENUE, cb, UUID4(), now(h), None
        )

    bars = (await h.request(build)).data
    expected = sim.engine.klines("BTC-USDT", 60_000, start_ms=start_ms, end_ms=end_ms - 60_000, limit=1500)
    assert len(bars) == len(expected) == 49
    assert [b.ts_event for b in bars] == [(k.open_time_ms + 60_000) * 1_000_000 for k in expected]
    assert [b.open.as_decimal() for b in bars] == [k.open for k in expected]

    def build_book(cb: Any) -> RequestOrderBookSnapshot:
        return RequestOrderBookSnapshot(BTC, 20, None, VENUE, cb, UUID4(), now(h), None)

    deltas = (await h.request(build_book)).data[0]
    book = OrderBook(BTC, BookType.L2_MBP)
    book.apply_deltas(deltas)
    venue = sim.engine.book("BTC-USDT", 20)
    assert levels(book) == (list(venue.bids), list(venue.asks))


async def test_unsubscribe_really_unsubscribes(h: DataHarness, sim: SimVenue) -> None:
    for iid in (BTC, ETH):
        h.execute(SubscribeQuoteTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeTradeTicks(iid, None, VENUE, UUID4(), now(h)))
    h.execute(book_cmd(h, ETH))
    wanted = {f"{s}@{k}" for s in ("BTC-USDT", "ETH-USDT") for k in ("bookTicker", "trade")}
    await h.wait_venue_streams(wanted | {"ETH-USDT@incrDepth"})
    h.execute(UnsubscribeQuoteTicks(ETH, None, VENUE, UUID4(), now(h)))
    h.execute(UnsubscribeTradeTicks(ETH, None, VENUE, UUID4(), now(h)))
    h.execute(UnsubscribeOrderBook(ETH, OrderBookDelta, None, VENUE, UUID4(), now(h)))
    await h.wait_until(lambda: h.venue_streams() == {"BTC-USDT@bookTicker", "BTC-USDT@trade"})

    def eth_data() -> int:
        return sum(1 for x in h.received if (i := getattr(x, "instrument_id", None)) is not None and i == ETH)

    before = eth_data()
    sim.engine.set_price("ETH-USDT", sim.engine.last_price("ETH-USDT") + Decimal(10))
    sim.engine.set_price("BTC-USDT", sim.engine.last_price("BTC-USDT") + Decimal(100))
    await h.wait_until(lambda: any(isinstance(x, QuoteTick) and x.instrument_id == BTC for x in h.received))
    assert eth_data() == before


@pytest.mark.parametrize("h", [{"max_topics_per_connection": 2}], indirect=True)
async def test_topic_limit_spreads_sockets_and_all_survive_a_drop(h: DataHarness, sim: SimVenue) -> None:
    for iid in (BTC, ETH, PEPE):
        h.execute(SubscribeQuoteTicks(iid, None, VENUE, UUID4(), now(h)))
        h.execute(SubscribeTradeTicks(iid, None, VENUE, UUID4(), now(h)))
    wanted = {f"{s}@{k}" for s in ("BTC-USDT", "ETH-USDT", "1000PEPE-USDT") for k in ("bookTicker", "trade")}
    await h.wait_venue_streams(wanted)
    assert len(sim.registry.select("market")) == 3
    sim.faults.drop_streams("market")
    await h.wait_until(lambda: h.bx.metrics.reconnects == 3, what="3 reconnects")
    await h.wait_venue_streams(wanted)
