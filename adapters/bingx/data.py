"""``BingxDataClient``: the LiveMarketDataClient for BingX USDT-M perpetual swaps.

Streams (topics on ``/swap-market`` sockets managed by the core
:class:`~adapters.core.net.stream_pool.MarketStreamPool`, 200 topics per socket):

==========================  ==============================  =========================================
Nautilus subscription       BingX topic (``dataType``)      published as
==========================  ==============================  =========================================
quote ticks                 ``<SYM>@bookTicker``            ``QuoteTick``
trade ticks                 ``<SYM>@trade``                 ``TradeTick`` (synthesised id, de-duplicated)
order book deltas           ``<SYM>@incrDepth``             ``OrderBookDeltas`` (sequence-checked)
order book depth            ``<SYM>@depth10@<X>ms``         ``OrderBookDepth10``
bars                        ``<SYM>@kline_<i>``             ``Bar``, only once final
mark prices                 ``<SYM>@markPrice``             ``MarkPriceUpdate``
funding rates / index       REST ``premiumIndex`` (polled)  ``FundingRateUpdate`` (+ next funding
                                                            time) / ``IndexPriceUpdate``
==========================  ==============================  =========================================

Transport: every frame is gzip; the text heartbeat ``Ping`` is answered ``Pong`` by the connection
itself (``server_ping_reply``, only small frames are inspected) and never reaches the dispatcher. A
socket without any frame for ``ws_stall_timeout_secs`` is dead and reconnected; on reconnect every topic
is re-subscribed before the first frame is read.

Order book: see :mod:`adapters.bingx.book`. A gap (``lastUpdateId`` not previous + 1) clears the published
book and re-subscribes ``@incrDepth`` to get a fresh ``all`` push; after a reconnect the resubscription
brings one by itself (a watchdog re-subscribes if it does not come).

Bars: BingX klines carry the *open* time and no closed flag. A bar is published when a push for a later
bar arrives, with the values of the last push of the finished bar. After a reconnect the held bar is
dropped (pushes may have been missed while the socket was down; a wrong bar is worse than a missing one).

Hot path: :meth:`BingxDataClient.handle_frame` (gzip frame -> published Nautilus objects) is what the
dispatcher runs for every frame; benchmarks time it directly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from nautilus_trader.data.messages import (
    RequestTradeTicks,
    SubscribeFundingRates,
    SubscribeIndexPrices,
    SubscribeMarkPrices,
    UnsubscribeFundingRates,
    UnsubscribeIndexPrices,
    UnsubscribeMarkPrices,
)
from nautilus_trader.model.data import Bar, BarType, OrderBookDeltas
from nautilus_trader.model.identifiers import InstrumentId

from adapters.bingx.book import BingxBookSync, BookEmission
from adapters.bingx.config import BingxDataClientConfig
from adapters.bingx.errors import BingxError
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.parsing import BINGX_VENUE, venue_symbol
from adapters.bingx.parsing_market import (
    KLINE_INTERVALS,
    BarTracker,
    BingxStreamCodec,
    book_ticker_topic,
    depth_topic,
    incr_depth_topic,
    interval_for,
    kline_topic,
    mark_price_topic,
    parse_depth10,
    parse_depth_rest,
    parse_kline_rest,
    parse_mark_price,
    parse_premium_index,
    parse_quote,
    parse_trades,
    server_ping_reply,
    trade_topic,
)
from adapters.bingx.providers import BingxInstrumentProvider
from adapters.bingx.schemas_market import (
    BookTickerFrame,
    DepthFrame,
    IncrDepthFrame,
    KlineFrame,
    KlineRest,
    MarkPriceFrame,
    TradeFrame,
)
from adapters.core.base.dedup import FifoDedup
from adapters.core.market.data_client import (
    OWN_MARK,
    PerpMarketDataClient,
    RangeRequest,
    add_kind,
    discard_kind,
    resync_delay,
)
from adapters.core.market.data_client import DataMetrics as CoreDataMetrics
from adapters.core.market.market_context import MarketContext
from adapters.core.market.market_socket import pool_options
from adapters.core.net.stream import Frame
from adapters.core.net.stream_pool import MarketStreamPool

__all__ = [
    "BingxDataClient",
    "BookState",
    "DataMetrics",
]

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class BookState:
    """One instrument's synchronised book and its resync task (at most one in flight)."""

    symbol: str
    topic: str
    sync: BingxBookSync
    snapshot_seen: asyncio.Event = field(default_factory=asyncio.Event)
    resyncer: asyncio.Task[Any] | None = None
    refreshes: int = 0


@dataclass(slots=True)
class DataMetrics(CoreDataMetrics):
    duplicate_trades_dropped: int = 0
    bars_dropped_after_reconnect: int = 0
    funding_polls: int = 0
    funding_poll_failures: int = 0


class BingxDataClient(PerpMarketDataClient[BookState]):
    venue_name = "BingX"
    venue_error = BingxError
    client_venue = BINGX_VENUE
    logger_prefix = "adapters.bingx"
    _venue_symbol = staticmethod(venue_symbol)

    _dcfg: BingxDataClientConfig
    _provider: BingxInstrumentProvider
    _http: BingxHttpClient
    metrics: DataMetrics

    def _init_venue(self) -> None:
        config = self._dcfg
        self.codec = BingxStreamCodec(f"{self.id.value}-market", self._pylog)
        self.pool = MarketStreamPool(
            config.urls().ws,
            self,
            self.codec,
            capacity=config.max_topics_per_connection,
            **pool_options(
                config,
                self.id.value,
                self._pylog,
                ping_interval=None,  # BingX's heartbeat is its own text Ping, answered below
                server_ping_reply=server_ping_reply,
            ),
        )
        self._trade_seen: dict[str, FifoDedup[str]] = {}
        self._bars: dict[str, BarTracker] = {}  # kline topic -> tracker
        self._mark_symbols: set[str] = set()
        self._funding_kinds: dict[str, set[str]] = {}  # symbol -> {"funding", "index"}
        self._funding_last: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._funding_task: asyncio.Task[Any] | None = None
        self._funding_wake = asyncio.Event()
        self.metrics = DataMetrics()

    # ------------------------------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------------------------------
    def _after_side_tasks_closed(self) -> None:
        self._funding_task = None

    def _quote_stream(self, symbol: str) -> str:
        return book_ticker_topic(symbol)

    def _depth10_stream(self, symbol: str) -> str:
        return depth_topic(symbol, 10, self._dcfg.depth_interval_ms)

    def _book_stream(self, symbol: str) -> str:
        return incr_depth_topic(symbol)

    def _trade_stream(self, symbol: str) -> str:
        return trade_topic(symbol)

    def _note_trades(self, symbol: str) -> None:
        self._trade_seen.setdefault(symbol, FifoDedup(self._dcfg.trade_dedup_capacity))

    def _forget_trades(self, symbol: str) -> None:
        self._trade_seen.pop(symbol, None)

    def _new_book(self, symbol: str, ctx: MarketContext) -> BookState:
        return BookState(symbol, incr_depth_topic(symbol), BingxBookSync(ctx, logger=self._pylog))

    def _book_added(self, book: BookState) -> None:
        # The first push (``all``) follows the ack.
        if not book.sync.is_synced:
            self._start_resync(book, refresh_first=False)  # watchdog for the first ``all`` push

    def _book_task(self, book: BookState) -> asyncio.Task[Any] | None:
        return book.resyncer

    def _bar_stream(self, symbol: str, bar_type: BarType) -> str:
        return kline_topic(symbol, interval_for(bar_type))

    def _bars_subscribed(self, stream: str, bar_type: BarType, ctx: MarketContext) -> None:
        self._bars[stream] = BarTracker(bar_type, KLINE_INTERVALS[interval_for(bar_type)], ctx)

    def _bars_unsubscribed(self, stream: str) -> None:
        self._bars.pop(stream, None)

    # ------------------------------------------------------------------------------------------
    # Hot path: frames -> Nautilus data (MarketSink)
    # ------------------------------------------------------------------------------------------
    def handle_frame(self, raw: Frame) -> None:
        """One raw (gzip) market frame -> published Nautilus objects. Acks/pings/garbage are ignored."""
        decoded = self.codec.decode(raw)
        if type(decoded) is tuple:
            self.on_market_event(decoded[0], decoded[1])

    def on_market_event(self, stream: str | None, event: Any) -> None:
        self.metrics.events += 1
        ts_init = self._clock.timestamp_ns()
        symbol = stream.partition("@")[0] if stream else ""
        ctx = self._contexts.get(symbol) or self._context(symbol)
        if ctx is None:
            self.metrics.dropped_unknown_symbol += 1
            return
        tp = type(event)
        if tp is IncrDepthFrame:
            book = self.books.get(symbol)
            if book is not None:
                msg = event.data
                if msg.action == "all":
                    book.snapshot_seen.set()
                self._publish_book(book, book.sync.on_push(msg, ts_init))
        elif tp is BookTickerFrame:
            if symbol in self._quote_symbols:
                self._handle_data(parse_quote(event.data, ctx, ts_init))
        elif tp is TradeFrame:
            seen = self._trade_seen.get(symbol)
            if seen is not None:
                before = len(event.data)
                ticks = parse_trades(event, ctx, ts_init, seen)
                self.metrics.duplicate_trades_dropped += before - len(ticks)
                for tick in ticks:
                    self._handle_data(tick)
        elif tp is KlineFrame:
            tracker = self._bars.get(stream) if stream else None
            if tracker is not None:
                for bar in tracker.on_push(event.data, ts_init):
                    self._handle_data(bar)
        elif tp is MarkPriceFrame:
            if symbol in self._mark_symbols:
                self._handle_data(parse_mark_price(event.data, ctx, ts_init))
        elif tp is DepthFrame and symbol in self._depth10_symbols:
            self._handle_data(parse_depth10(event, ctx, ts_init))

    def on_reconnected(self, streams: frozenset[str]) -> None:
        """A socket came back (its topics are already re-subscribed): resync what cannot continue."""
        self.metrics.reconnects += 1
        ts_init = self._clock.timestamp_ns()
        for book in list(self.books.values()):
            if book.topic in streams:
                self.metrics.book_resyncs_after_reconnect += 1
                book.snapshot_seen.clear()
                self._publish_deltas(book.sync.request_resync("market socket reconnected", ts_init))
                # The resubscription brings a fresh ``all`` push; re-subscribe only if it does not.
                self._start_resync(book, refresh_first=False)
        for topic, tracker in self._bars.items():
            if topic in streams and tracker.held is not None:
                self.metrics.bars_dropped_after_reconnect += 1
                tracker.invalidate()

    # ------------------------------------------------------------------------------------------
    # Order book synchronisation
    # ------------------------------------------------------------------------------------------
    def _publish_book(self, book: BookState, emission: BookEmission) -> None:
        self._publish_deltas(emission)
        if emission.request_snapshot:
            self._start_resync(book, refresh_first=True)

    def _start_resync(self, book: BookState, *, refresh_first: bool) -> None:
        # A running one loops until the book is synced.
        book.resyncer = self._spawn_once(
            book.resyncer, lambda: self._resync(book, refresh_first), f"resync-{book.symbol}"
        )

    async def _resync(self, book: BookState, refresh_first: bool) -> None:
        """Get a fresh ``all`` push until the chain rule accepts one (re-subscribing the topic)."""
        cfg = self._dcfg
        attempt = 0
        while self.books.get(book.symbol) is book and not book.sync.is_synced:
            if refresh_first or attempt:
                if attempt:
                    # Retry pacing (a refused or unanswered re-subscription).
                    await asyncio.sleep(resync_delay(cfg.book_resync_backoff_secs, attempt))
                book.snapshot_seen.clear()
                book.refreshes += 1
                try:
                    if not await self.pool.refresh(book.topic):
                        return  # unsubscribed meanwhile
                except Exception as exc:  # refused, unanswered, socket down: retried
                    self._pylog.warning("%s: re-subscribing %s failed: %r", book.symbol, book.topic, exc)
            attempt += 1
            try:
                async with asyncio.timeout(cfg.subscribe_timeout_secs):
                    await book.snapshot_seen.wait()
            except TimeoutError:
                self._pylog.warning("%s: no snapshot push on %s", book.symbol, book.topic)

    # ------------------------------------------------------------------------------------------
    # Funding rate / index price polling
    # ------------------------------------------------------------------------------------------
    def _ensure_funding_poller(self) -> None:
        if self._funding_task is None or self._funding_task.done():
            self._funding_task = self._side_tasks.spawn(self._poll_funding(), "funding-poll")
        else:
            self._funding_wake.set()

    async def _poll_funding(self) -> None:
        while self._funding_kinds:
            self._funding_wake.clear()
            for symbol in list(self._funding_kinds):
                await self._poll_symbol(symbol)
            try:
                async with asyncio.timeout(self._dcfg.funding_poll_interval_secs):
                    await self._funding_wake.wait()  # a new subscription polls right away
            except TimeoutError:
                pass

    async def _poll_symbol(self, symbol: str) -> None:
        ctx = self._context(symbol)
        if ctx is None:
            return
        self.metrics.funding_polls += 1
        try:
            pi = await self._http.premium_index(symbol)
        except BingxError as exc:
            self.metrics.funding_poll_failures += 1
            self._pylog.warning("%s: premiumIndex failed: %s", symbol, exc)
            return
        kinds = self._funding_kinds.get(symbol)
        if not kinds:
            return
        index, funding = parse_premium_index(pi, ctx, self._clock.timestamp_ns())
        if funding is not None and "funding" in kinds:
            key = (funding.rate, funding.next_funding_ns)
            if self._funding_last.get((symbol, "funding")) != key:
                self._funding_last[(symbol, "funding")] = key
                self._handle_data(funding)
        if index is not None and "index" in kinds:
            ikey = (index.value,)
            if self._funding_last.get((symbol, "index")) != ikey:
                self._funding_last[(symbol, "index")] = ikey
                self._handle_data(index)

    def _funding_subscribe(self, instrument_id: InstrumentId, kind: str) -> None:
        symbol = self._symbol(instrument_id)
        add_kind(self._funding_kinds, symbol, kind)
        self._funding_last.pop((symbol, kind), None)
        self._ensure_funding_poller()

    def _funding_unsubscribe(self, instrument_id: InstrumentId, kind: str) -> None:
        symbol = venue_symbol(instrument_id)
        discard_kind(self._funding_kinds, symbol, kind)
        self._funding_last.pop((symbol, kind), None)

    # ------------------------------------------------------------------------------------------
    # Subscriptions
    # ------------------------------------------------------------------------------------------

    async def _subscribe_mark_prices(self, command: SubscribeMarkPrices) -> None:
        await self._add_stream(command.instrument_id, OWN_MARK, mark_price_topic, self._mark_symbols.add)

    async def _unsubscribe_mark_prices(self, command: UnsubscribeMarkPrices) -> None:
        await self._remove_stream(
            command.instrument_id, OWN_MARK, mark_price_topic, self._mark_symbols.discard
        )

    async def _subscribe_funding_rates(self, command: SubscribeFundingRates) -> None:
        self._funding_subscribe(command.instrument_id, "funding")

    async def _unsubscribe_funding_rates(self, command: UnsubscribeFundingRates) -> None:
        self._funding_unsubscribe(command.instrument_id, "funding")

    async def _subscribe_index_prices(self, command: SubscribeIndexPrices) -> None:
        self._funding_subscribe(command.instrument_id, "index")

    async def _unsubscribe_index_prices(self, command: UnsubscribeIndexPrices) -> None:
        self._funding_unsubscribe(command.instrument_id, "index")

    # ------------------------------------------------------------------------------------------
    # Requests
    # ------------------------------------------------------------------------------------------
    async def _request_trade_ticks(self, request: RequestTradeTicks) -> None:
        self._pylog.warning("BingX has no historical trades with ids; answering %s with none", request.id)
        self._handle_trade_ticks(
            request.instrument_id, [], request.id, request.start, request.end, request.params
        )

    async def order_book_snapshot(
        self, instrument_id: InstrumentId, limit: int | None = None
    ) -> OrderBookDeltas:
        symbol, ctx = self._symbol_context(instrument_id)
        wanted = limit or 100
        allowed = (5, 10, 20, 50, 100, 500, 1000)
        snapshot = await self._http.depth(symbol, next((n for n in allowed if n >= wanted), 1000))
        return parse_depth_rest(snapshot, ctx, self._clock.timestamp_ns())

    async def _bars_in_range(self, bar_type: BarType, request: RangeRequest) -> list[Bar]:
        """Paged backwards from the end with ``endTime`` (pages of ``klines_page_limit``)."""
        interval = interval_for(bar_type)
        interval_ms = KLINE_INTERVALS[interval]
        start_ms, end_ms = request.start_ms, request.end_ms
        page = self._dcfg.klines_page_limit
        rows: dict[int, KlineRest] = {}
        cursor = end_ms
        while True:
            batch = await self._http.klines(request.symbol, interval, end_ms=cursor, limit=page)
            self.metrics.count_page("klines")
            if not batch:
                break
            for r in batch:
                if r.time >= start_ms and r.time + interval_ms <= end_ms:
                    rows[r.time] = r
            oldest = min(r.time for r in batch)
            if oldest <= start_ms or len(rows) >= request.cap or len(batch) < page or oldest - 1 >= cursor:
                break
            cursor = oldest - 1
        bars = parse_kline_rest(list(rows.values()), bar_type, interval_ms, request.ctx, end_ms)
        return bars[-request.limit :] if request.limit > 0 else bars
