"""Recording: a TradingNode takes its market data from our Binance data client, NautilusTrader's
streaming configuration writes it (feather), it is converted into a ParquetDataCatalog and read back
equal to what the strategy received."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.adapters.binance import BinanceBar, BinanceFuturesMarkPriceUpdate
from nautilus_trader.config import LoggingConfig, StrategyConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import (
    Bar,
    BarType,
    DataType,
    MarkPriceUpdate,
    OrderBookDelta,
    QuoteTick,
    TradeTick,
)
from nautilus_trader.model.enums import BookAction, BookType
from nautilus_trader.model.identifiers import ClientId, InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.config import StreamingConfig
from nautilus_trader.trading.strategy import Strategy

from adapters.binance_futures.factories import BINANCE, BinanceFuturesLiveDataClientFactory
from adapters.sim.model import PublicTrade
from adapters.sim.server import SimVenue
from adapters.testkit.data_node import sim_data_config

BTC = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")


class Recorder(Strategy):
    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="RECORDER-001"))
        self.quotes: list[QuoteTick] = []
        self.trades: list[TradeTick] = []
        self.marks: list[MarkPriceUpdate] = []
        self.deltas: list[OrderBookDelta] = []

    def on_start(self) -> None:
        self.subscribe_quote_ticks(BTC)
        self.subscribe_trade_ticks(BTC)
        self.subscribe_mark_prices(BTC)
        self.subscribe_order_book_deltas(BTC, BookType.L2_MBP)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes.append(tick)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.trades.append(tick)

    def on_mark_price(self, update: MarkPriceUpdate) -> None:
        self.marks.append(update)

    def on_order_book_deltas(self, deltas: Any) -> None:
        self.deltas.extend(deltas.deltas)


async def wait_until(condition: Any, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_stream_to_catalog_round_trip(tmp_path: Path) -> None:
    async with SimVenue(seed=5, step_interval=3600.0) as sim:
        config = TradingNodeConfig(
            trader_id="RECORDER-001",
            logging=LoggingConfig(log_level="WARNING", log_colors=False, print_config=False),
            data_clients={BINANCE: sim_data_config(sim)},
            streaming=StreamingConfig(catalog_path=str(tmp_path), fs_protocol="file", flush_interval_ms=50),
            timeout_connection=10,
            timeout_disconnection=5,
            timeout_post_stop=0.1,
        )
        node = TradingNode(config=config, loop=asyncio.get_running_loop())
        strategy = Recorder()
        node.trader.add_strategy(strategy)
        node.add_data_client_factory(BINANCE, BinanceFuturesLiveDataClientFactory)
        node.build()
        run = asyncio.get_running_loop().create_task(node.run_async())
        try:
            await wait_until(lambda: strategy.is_running)
            market = sim.binance.market

            def venue_streams() -> set[str]:
                return {s for c in sim.registry.select("market") for s in market.streams_of(c)}

            await wait_until(
                lambda: (
                    {"btcusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@markPrice@1s", "btcusdt@depth@100ms"}
                    <= venue_streams()
                )
            )
            book = node.cache.order_book(BTC)
            await wait_until(
                lambda: node.cache.order_book(BTC) is not None and node.cache.order_book(BTC).sequence > 0
            )
            steps = 0
            while len(strategy.trades) < 5 or steps < 10:
                sim.engine.step()
                steps += 1
                expected = steps
                await wait_until(lambda: len(strategy.marks) >= expected)  # noqa: B023
            truth = sim.engine.book("BTCUSDT", 1)
            await wait_until(lambda: node.cache.order_book(BTC).sequence == truth.last_update_id)
            book = node.cache.order_book(BTC)
            assert isinstance(book, OrderBook)
            final_book = sim.engine.book("BTCUSDT", 1000)
        finally:
            await node.stop_async()
            await asyncio.wait_for(run, timeout=10)
            node.kernel.dispose()  # closes the feather writer (flushes everything)

    catalog = ParquetDataCatalog(str(tmp_path))
    instance_id = node.kernel.instance_id.value
    # MarkPriceUpdate is recorded too, but NautilusTrader 1.221 has no reader for it
    # (ArrowSerializer._deserialize_rust: NotImplementedError), so it is not round-tripped here.
    for cls in (QuoteTick, TradeTick, OrderBookDelta):
        catalog.convert_stream_to_data(instance_id, cls, subdirectory="live")
    # Compared field by field: == between a catalog-read tick and a live one panics inside
    # NautilusTrader 1.221 (two symbol interners), so each record becomes a plain tuple.
    read_quotes = catalog.quote_ticks(instrument_ids=[BTC])
    assert len(read_quotes) == len(strategy.quotes) > 0
    assert [quote_row(q) for q in read_quotes] == [quote_row(q) for q in strategy.quotes]
    read_trades = catalog.trade_ticks(instrument_ids=[BTC])
    assert len(read_trades) == len(strategy.trades) >= 5
    assert [trade_row(t) for t in read_trades] == [trade_row(t) for t in strategy.trades]
    read_deltas = catalog.order_book_deltas(instrument_ids=[BTC])
    assert len(read_deltas) == len(strategy.deltas) > 0
    assert [delta_row(d) for d in read_deltas] == [delta_row(d) for d in strategy.deltas]
    # The catalog's deltas rebuild the venue's book.
    rebuilt = OrderBook(BTC, BookType.L2_MBP)
    for d in read_deltas:
        rebuilt.apply_delta(d)
    assert [(str(lv.price), str(lv.orders()[0].size)) for lv in rebuilt.bids()] == [
        (f"{p:.1f}", f"{q:.3f}") for p, q in final_book.bids
    ]


def quote_row(q: QuoteTick) -> tuple[Any, ...]:
    return (
        str(q.instrument_id),
        str(q.bid_price),
        str(q.ask_price),
        str(q.bid_size),
        str(q.ask_size),
        q.bid_price.precision,
        q.bid_size.precision,
        q.ts_event,
        q.ts_init,
    )


def trade_row(t: TradeTick) -> tuple[Any, ...]:
    return (
        str(t.instrument_id),
        str(t.price),
        str(t.size),
        t.aggressor_side,
        str(t.trade_id),
        t.ts_event,
        t.ts_init,
    )


def delta_row(d: OrderBookDelta) -> tuple[Any, ...]:
    # A CLEAR carries a null order whose precision the catalog does not keep: compare values.
    precisions = None if d.action == BookAction.CLEAR else (d.order.price.precision, d.order.size.precision)
    return (
        d.action,
        d.order.side,
        d.order.price.as_decimal(),
        d.order.size.as_decimal(),
        precisions,
        d.flags,
        d.sequence,
        d.ts_event,
        d.ts_init,
    )


class BarsAndMarks(Strategy):
    """Subscribes to 1-minute bars and, as with NautilusTrader's Binance adapter, to the full
    mark-price update (``subscribe_data`` with ``BinanceFuturesMarkPriceUpdate``)."""

    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="BARS-001"))
        self.bars: list[Bar] = []
        self.updates: list[BinanceFuturesMarkPriceUpdate] = []
        self.bar_type = BarType.from_str("BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL")

    def on_start(self) -> None:
        self.subscribe_bars(self.bar_type)
        self.subscribe_data(
            DataType(BinanceFuturesMarkPriceUpdate, metadata={"instrument_id": BTC}),
            client_id=ClientId(BINANCE),
        )

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)

    def on_data(self, data: Any) -> None:
        if isinstance(data, BinanceFuturesMarkPriceUpdate):
            self.updates.append(data)


async def test_binance_bars_and_full_mark_updates_reach_a_strategy_and_the_catalog(tmp_path: Path) -> None:
    async with SimVenue(seed=5, step_interval=3600.0) as sim:
        config = TradingNodeConfig(
            trader_id="RECORDER-002",
            logging=LoggingConfig(log_level="WARNING", log_colors=False, print_config=False),
            data_clients={BINANCE: sim_data_config(sim)},
            streaming=StreamingConfig(catalog_path=str(tmp_path), fs_protocol="file", flush_interval_ms=50),
            timeout_connection=10,
            timeout_disconnection=5,
            timeout_post_stop=0.1,
        )
        node = TradingNode(config=config, loop=asyncio.get_running_loop())
        strategy = BarsAndMarks()
        node.trader.add_strategy(strategy)
        node.add_data_client_factory(BINANCE, BinanceFuturesLiveDataClientFactory)
        node.build()
        run = asyncio.get_running_loop().create_task(node.run_async())
        try:
            await wait_until(lambda: strategy.is_running)
            market = sim.binance.market
            await wait_until(
                lambda: (
                    {"btcusdt@kline_1m", "btcusdt@markPrice@1s"}
                    <= {s for c in sim.registry.select("market") for s in market.streams_of(c)}
                )
            )
            while not sim.engine.public_trades("BTCUSDT", limit=1):
                sim.engine.step()
            await wait_until(lambda: strategy.updates)
            # A trade in the next minute closes the live kline (the venue publishes it with x=true).
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
            await wait_until(lambda: strategy.bars)
        finally:
            await node.stop_async()
            await asyncio.wait_for(run, timeout=10)
            node.kernel.dispose()

    [bar] = strategy.bars
    assert isinstance(bar, BinanceBar)
    assert (bar.quote_volume, bar.count) == (expected.quote_volume, expected.trades)
    assert (bar.taker_buy_base_volume, bar.taker_buy_quote_volume) == (
        expected.taker_buy_volume,
        expected.taker_buy_quote_volume,
    )
    update = strategy.updates[-1]
    assert update.instrument_id == BTC and update.estimated_settle.precision == update.mark.precision

    catalog = ParquetDataCatalog(str(tmp_path))
    catalog.convert_stream_to_data(node.kernel.instance_id.value, BinanceBar, subdirectory="live")
    [read] = catalog.query(BinanceBar)
    assert isinstance(read, BinanceBar)
    assert [str(read.bar_type), str(read.open), str(read.close), str(read.volume)] == [
        str(bar.bar_type),
        str(bar.open),
        str(bar.close),
        str(bar.volume),
    ]
    assert (read.quote_volume, read.count, read.taker_buy_base_volume, read.taker_buy_quote_volume) == (
        bar.quote_volume,
        bar.count,
        bar.taker_buy_base_volume,
        bar.taker_buy_quote_volume,
    )
    assert (read.ts_event, read.ts_init) == (bar.ts_event, bar.ts_init)
    # The full mark-price updates are recordable too (adapters/binance_futures/types.py registers the
    # Arrow schema NautilusTrader 1.221 lacks; without it the node's stream writer stops the node).
    catalog.convert_stream_to_data(
        node.kernel.instance_id.value, BinanceFuturesMarkPriceUpdate, subdirectory="live"
    )
    read_updates = [c.data for c in catalog.query(BinanceFuturesMarkPriceUpdate)]  # CustomData wrappers
    assert len(read_updates) >= len(strategy.updates) > 0
    got = {(u.ts_event, u.ts_init): u for u in read_updates}  # the sim may stamp two frames in one ms
    for u in strategy.updates:
        r = got[(u.ts_event, u.ts_init)]
        assert [str(r.mark), str(r.index), str(r.estimated_settle), r.funding_rate] == [
            str(u.mark),
            str(u.index),
            str(u.estimated_settle),
            u.funding_rate,
        ]
        assert (r.next_funding_ns, r.estimated_settle.precision) == (
            u.next_funding_ns,
            u.estimated_settle.precision,
        )
