"""``BinanceFuturesDataClient``: the LiveMarketDataClient for Binance USD-M Futures.

Streams (all on combined-stream sockets managed by :class:`MarketStreamPool`; each stream on its
route's sockets: ``ws_book_path`` (``/public/stream``) for book streams and ``@trade``,
``ws_stream_path`` (``/market/stream``) for the rest, see :func:`streams.stream_route`):

==========================  ===============================  =====================================
Nautilus subscription       Binance stream                   published as
==========================  ===============================  =====================================
quote ticks                 ``<sym>@bookTicker``             ``QuoteTick``
trade ticks                 ``<sym>@aggTrade`` (or ``@trade``) ``TradeTick``
order book deltas           ``<sym>@depth@100ms`` + REST     ``OrderBookDeltas`` (synchronised)
order book depth            ``<sym>@depth10@100ms``          ``OrderBookDepth10``
bars                        ``<sym>@kline_<i>``              ``BinanceBar`` (a ``Bar``; closed only
                                                             by default)
mark / index / funding      ``<sym>@markPrice@1s``           ``MarkPriceUpdate`` /
                                                             ``IndexPriceUpdate`` /
                                                             ``FundingRateUpdate`` (+ next time)
``subscribe_data(DataType(  ``<sym>@markPrice@1s``           ``CustomData`` of a
BinanceFuturesMarkPrice                                      ``BinanceFuturesMarkPriceUpdate``:
Update, {"instrument_id":                                    mark, index, estimated settle price,
id}))``                                                      funding rate, next funding time
==========================  ===============================  =====================================

Bars and the full mark-price update use NautilusTrader's own Binance types
(``nautilus_trader.adapters.binance``): ``BinanceBar`` adds the kline's quote volume, trade count and
taker-buy base/quote volumes to the ``Bar`` (historical bars too); ``BinanceFuturesMarkPriceUpdate`` is
published as ``CustomData`` under the same ``DataType`` NautilusTrader's adapter uses, from the same
frame as the ``MarkPriceUpdate`` (same ``ts_event``/``ts_init``), so strategies written for that adapter
subscribe the same way.

Values are converted at the instrument's precisions (:mod:`parsing_market`).

Order book. Binance's documented procedure, through :class:`BinanceBookSync`: diffs are buffered
from the moment the stream is subscribed (acknowledged), a REST snapshot is fetched, diffs older
than ``lastUpdateId`` are dropped, every later diff's ``pu`` must equal the previous ``u``. Any gap
(or a snapshot the buffered diffs cannot bracket) clears the published book (one ``CLEAR``) and
fetches a fresh snapshot; while unsynchronised nothing is published. After a socket reconnect the
books carried by that socket are resynchronised the same way: diffs of two sockets never chain.

Requests: instruments (provider), bars (klines paged backwards from ``end`` in pages of
``klines_page_limit``: exactly the bars that open at or after ``start`` and close by ``end``,
newest ``limit`` if a limit is given), trade ticks (aggTrades paged backwards by id from the
newest trade: exactly the trades with ``start <= T <= end``, newest ``limit``), order book
snapshot (REST depth). Historical data carries ``ts_init = ts_event`` (the DataEngine trims
responses to the request range by ``ts_init``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

from nautilus_trader.data.messages import (
    SubscribeData,
    SubscribeFundingRates,
    SubscribeIndexPrices,
    SubscribeMarkPrices,
    UnsubscribeData,
    UnsubscribeFundingRates,
    UnsubscribeIndexPrices,
    UnsubscribeMarkPrices,
)
from nautilus_trader.model.data import Bar, BarType, CustomData, DataType, OrderBookDeltas, TradeTick
from nautilus_trader.model.identifiers import InstrumentId

from adapters.binance_futures.book import BinanceBookSync, BookEmission
from adapters.binance_futures.config import BinanceFuturesDataClientConfig
from adapters.binance_futures.errors import BinanceError
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.market_connections import MarketStreamPool
from adapters.binance_futures.parsing import BINANCE_VENUE, venue_symbol
from adapters.binance_futures.parsing_market import (
    BinanceFuturesMarkPriceUpdate,
    interval_for,
    mark_ts_event,
    parse_agg_trade,
    parse_book_snapshot,
    parse_depth10,
    parse_funding_rate,
    parse_index_price,
    parse_kline,
    parse_kline_rows,
    parse_mark_price,
    parse_mark_price_update,
    parse_quote_tick,
    parse_trade,
)
from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider
from adapters.binance_futures.schemas_market import (
    AggTrade,
    AggTradeRest,
    BookTicker,
    DepthUpdate,
    Kline,
    KlineRow,
    MalformedFrame,
    MarketDecoded,
    MarkPriceUpdate,
    Trade,
)
from adapters.binance_futures.streams import (
    PUBLIC_ROUTE,
    agg_trade_stream,
    book_ticker_stream,
    depth_diff_stream,
    kline_stream,
    mark_price_stream,
    partial_depth_levels,
    partial_depth_stream,
    split_stream,
    stream_route,
    trade_stream,
)
from adapters.core.base.timestamps import NANOS_PER_MS
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

__all__ = [
    "OWN_FUNDING",
    "OWN_INDEX",
    "OWN_MARK_UPDATE",
    "BinanceFuturesDataClient",
    "BookState",
    "DataMetrics",
]

# Owners of a stream in the pool (one Binance stream can feed several Nautilus subscriptions); the
# others are the core ones.
OWN_INDEX: Final = "index"
OWN_FUNDING: Final = "funding"
OWN_MARK_UPDATE: Final = "mark_update"  # BinanceFuturesMarkPriceUpdate (subscribe_data)


def _mark_update_type(instrument_id: InstrumentId) -> DataType:
    """The ``DataType`` NautilusTrader's Binance adapter publishes ``BinanceFuturesMarkPriceUpdate`` under."""
    return DataType(BinanceFuturesMarkPriceUpdate, metadata={"instrument_id": instrument_id})


@dataclass(slots=True)
class BookState:
    """One instrument's synchronised book and its snapshot fetcher (at most one in flight)."""

    symbol: str
    sync: BinanceBookSync
    fetcher: asyncio.Task[Any] | None = None
    snapshots_fetched: int = 0


@dataclass(slots=True)
class DataMetrics(CoreDataMetrics):
    book_resyncs_after_unreadable_frame: int = 0
    snapshot_fetch_failures: int = 0


class BinanceFuturesDataClient(PerpMarketDataClient[BookState]):
    venue_name = "Binance"
    venue_error = BinanceError
    client_venue = BINANCE_VENUE
    logger_prefix = "adapters.binance_futures"
    _venue_symbol = staticmethod(venue_symbol)

    _dcfg: BinanceFuturesDataClientConfig
    _provider: BinanceFuturesInstrumentProvider
    _http: BinanceFuturesHttpClient
    pool: MarketStreamPool
    metrics: DataMetrics

    def _init_venue(self) -> None:
        config = self._dcfg
        self._diff_stream_names: dict[str, str] = {}
        book_path = config.ws_book_path

        def path_for(stream: str) -> str:
            # Each stream on its route's connections (Binance's 2026 URL split); a stream on another
            # route's socket would be acknowledged and never send.
            if book_path is not None and stream_route(stream) == PUBLIC_ROUTE:
                return book_path
            return config.ws_stream_path

        self.pool = MarketStreamPool(
            config.urls().ws,
            self,
            capacity=config.max_streams_per_connection,
            path_for=path_for,
            **pool_options(
                config,
                self.id.value,
                self._pylog,
                ping_interval=config.ws_ping_interval_secs,
                pong_timeout=config.ws_pong_timeout_secs,
            ),
        )
        self._trade_symbols: set[str] = set()
        self._bar_types: dict[str, BarType] = {}  # kline stream -> bar type
        self._mark_kinds: dict[str, set[str]] = {}  # symbol -> {mark, index, funding}
        self.metrics = DataMetrics()

    # ------------------------------------------------------------------------------------------
    # Hooks and helpers
    # ------------------------------------------------------------------------------------------
    def _quote_stream(self, symbol: str) -> str:
        return book_ticker_stream(symbol)

    def _depth10_stream(self, symbol: str) -> str:
        return partial_depth_stream(symbol, 10, self._dcfg.depth_update_speed_ms)

    def _diff_stream(self, symbol: str) -> str:
        return depth_diff_stream(symbol, self._dcfg.depth_update_speed_ms)

    _book_stream = _diff_stream  # a book is fed by its diff stream

    def _new_book(self, symbol: str, ctx: MarketContext) -> BookState:
        return BookState(symbol, BinanceBookSync(ctx, logger=self._pylog))

    def _book_added(self, book: BookState) -> None:
        self._request_book_snapshot(book)  # the diffs are buffered from the first one the venue sends

    def _book_task(self, book: BookState) -> asyncio.Task[Any] | None:
        return book.fetcher

    def _bar_stream(self, symbol: str, bar_type: BarType) -> str:
        return kline_stream(symbol, interval_for(bar_type))

    def _bars_subscribed(self, stream: str, bar_type: BarType, ctx: MarketContext) -> None:
        self._bar_types[stream] = bar_type

    def _bars_unsubscribed(self, stream: str) -> None:
        self._bar_types.pop(stream, None)

    def _is_diff_stream(self, stream: str, symbol: str) -> bool:
        """Whether ``stream`` is the diff stream of ``symbol``'s book (names cached: this is per frame)."""
        name = self._diff_stream_names.get(symbol)
        if name is None:
            name = self._diff_stream_names[symbol] = self._diff_stream(symbol)
        return stream == name

    def _trade_stream(self, symbol: str) -> str:
        return agg_trade_stream(symbol) if self._dcfg.use_agg_trades else trade_stream(symbol)

    def _note_trades(self, symbol: str) -> None:
        self._trade_symbols.add(symbol)

    def _forget_trades(self, symbol: str) -> None:
        self._trade_symbols.discard(symbol)

    def _mark_stream(self, symbol: str) -> str:
        return mark_price_stream(symbol, self._dcfg.mark_price_1s)

    # ------------------------------------------------------------------------------------------
    # Stream events (MarketSink)
    # ------------------------------------------------------------------------------------------
    def on_market_event(self, stream: str | None, event: MarketDecoded) -> None:
        # The hot path of every market frame: exact type checks (the decoder builds these very Structs),
        # the common kinds first.
        self.metrics.events += 1
        tp = type(event)
        if tp is MalformedFrame:
            self._on_unreadable_frame(stream, event, self._clock.timestamp_ns())  # type: ignore[arg-type]
            return
        symbol = getattr(event, "symbol", None)
        if type(symbol) is not str:
            return
        ctx = self._contexts.get(symbol) or self._context(symbol)
        if ctx is None:
            self.metrics.dropped_unknown_symbol += 1
            return
        if tp is DepthUpdate:
            self._on_depth(stream, event, symbol, ctx)  # type: ignore[arg-type]
        elif tp is BookTicker:
            if symbol in self._quote_symbols:
                self._handle_data(parse_quote_tick(event, ctx, self._clock.timestamp_ns()))  # type: ignore[arg-type]
        elif tp is AggTrade or tp is Trade:
            if symbol in self._trade_symbols:
                ts_init = self._clock.timestamp_ns()
                tick = (
                    parse_agg_trade(event, ctx, ts_init)  # type: ignore[arg-type]
                    if tp is AggTrade
                    else parse_trade(event, ctx, ts_init)  # type: ignore[arg-type]
                )
                if tick is not None:
                    self._handle_data(tick)
        elif tp is MarkPriceUpdate:
            kinds = self._mark_kinds.get(symbol)
            if kinds:
                self._on_mark_price(event, ctx, kinds)  # type: ignore[arg-type]
        elif tp is Kline:
            kline = event.kline  # type: ignore[union-attr]
            if not kline.closed and self._dcfg.bars_closed_only:
                return  # a kline still open: dropped before any work (parse_kline would drop it)
            bar_type = self._bar_types.get(stream) if stream else None
            if bar_type is not None:
                bar = parse_kline(
                    event,  # type: ignore[arg-type]
                    bar_type,
                    ctx,
                    self._clock.timestamp_ns(),
                    closed_only=self._dcfg.bars_closed_only,
                )
                if bar is not None:
                    self._handle_data(bar)

    def _on_depth(self, stream: str | None, event: DepthUpdate, symbol: str, ctx: MarketContext) -> None:
        """A ``depthUpdate``: a partial book (``@depth5/10/20``) or a diff of a synchronised book."""
        ts_init = self._clock.timestamp_ns()
        if stream is None:
            # Every subscription is a combined stream: a diff without its stream name cannot be told
            # from a partial-depth frame, so it is not applied and the book is rebuilt.
            unnamed = MalformedFrame(event_type="depthUpdate", error="no stream name", raw=b"")
            self._on_unreadable_frame(None, unnamed, ts_init, symbol)
            return
        book = self.books.get(symbol)
        if book is not None and self._is_diff_stream(stream, symbol):
            self._publish_book(book, book.sync.on_diff(event, ts_init))
            return
        try:
            stream_symbol, channel = split_stream(stream)
        except ValueError:
            stream_symbol, channel = "", ""
        if stream_symbol == symbol and partial_depth_levels(channel) is not None:
            if symbol in self._depth10_symbols:
                self._handle_data(parse_depth10(event, ctx, ts_init))
            return
        if book is None:
            return
        # Not the diff stream this book subscribed: the frame is corrupt (fuzz: a mangled stream name, a
        # symbol the data disagrees with), so no part of it is believed and the book is rebuilt from a
        # snapshot.
        mismatch = MalformedFrame(event_type="depthUpdate", error="not the book's diff stream", raw=b"")
        self._on_unreadable_frame(None, mismatch, ts_init, symbol)

    def _on_mark_price(self, event: MarkPriceUpdate, ctx: MarketContext, kinds: set[str]) -> None:
        """One ``markPriceUpdate`` -> what is subscribed of mark, index, funding and the full update."""
        ts_init = self._clock.timestamp_ns()
        ts_event = mark_ts_event(event, ts_init)  # once for the frame's objects
        if OWN_MARK in kinds:
            self._handle_data(parse_mark_price(event, ctx, ts_init, ts_event))
        if OWN_INDEX in kinds:
            index = parse_index_price(event, ctx, ts_init, ts_event)
            if index is not None:
                self._handle_data(index)
        if OWN_FUNDING in kinds:
            funding = parse_funding_rate(event, ctx, ts_init, ts_event)
            if funding is not None:
                self._handle_data(funding)
        if OWN_MARK_UPDATE in kinds:
            update = parse_mark_price_update(event, ctx, ts_init)
            if update is not None:
                self._handle_data(CustomData(_mark_update_type(ctx.instrument_id), update))

    def _on_unreadable_frame(
        self, stream: str | None, event: MalformedFrame, ts_init: int, symbol: str | None = None
    ) -> None:
        """A frame that could not be read may have been a book diff: the books it may belong to can no
        longer be vouched for and are rebuilt from a snapshot (the codec has logged the frame)."""
        if stream is not None:
            try:
                symbol, channel = split_stream(stream)
            except ValueError:
                return  # an all-market stream carries no book
            if not channel.startswith("depth") or partial_depth_levels(channel) is not None:
                return
        elif event.event_type not in (None, "depthUpdate"):
            return
        books = [self.books[symbol]] if symbol in self.books else [] if symbol else list(self.books.values())
        for book in books:
            self.metrics.book_resyncs_after_unreadable_frame += 1
            self._publish_book(book, book.sync.request_resync("unreadable depth frame", ts_init))

    def on_reconnected(self, streams: frozenset[str]) -> None:
        """A socket came back (its streams are already re-subscribed): resync its books."""
        self.metrics.reconnects += 1
        ts_init = self._clock.timestamp_ns()
        for book in list(self.books.values()):
            if self._diff_stream(book.symbol) in streams:
                self.metrics.book_resyncs_after_reconnect += 1
                self._publish_book(book, book.sync.request_resync("market socket reconnected", ts_init))

    # ------------------------------------------------------------------------------------------
    # Order book synchronisation
    # ------------------------------------------------------------------------------------------
    def _publish_book(self, book: BookState, emission: BookEmission) -> None:
        self._publish_deltas(emission)
        if emission.request_snapshot:
            self._request_book_snapshot(book)

    def _request_book_snapshot(self, book: BookState) -> None:
        # A running fetcher loops until the book is synced.
        book.fetcher = self._spawn_once(
            book.fetcher, lambda: self._fetch_snapshots(book), f"snapshot-{book.symbol}"
        )

    async def _fetch_snapshots(self, book: BookState) -> None:
        """Fetch snapshots until one is accepted (the chain rule decides; never a guess)."""
        attempt = 0
        cfg = self._dcfg
        while self.books.get(book.symbol) is book and not book.sync.is_synced:
            if attempt:
                # Retry pacing (a snapshot older than the buffered diffs, a failed request).
                await asyncio.sleep(resync_delay(cfg.depth_resync_backoff_secs, attempt))
            attempt += 1
            try:
                snapshot = await self._http.depth(book.symbol, cfg.depth_snapshot_limit)
            except BinanceError as exc:
                self.metrics.snapshot_fetch_failures += 1
                self._pylog.warning("%s: depth snapshot failed: %s", book.symbol, exc)
                continue
            if self.books.get(book.symbol) is not book:
                return  # unsubscribed meanwhile
            book.snapshots_fetched += 1
            self._publish_deltas(book.sync.on_snapshot(snapshot, self._clock.timestamp_ns()))

    # ------------------------------------------------------------------------------------------
    # Subscriptions
    # ------------------------------------------------------------------------------------------
    async def _mark_subscribe(self, instrument_id: InstrumentId, kind: str) -> None:
        await self._add_stream(
            instrument_id, kind, self._mark_stream, lambda s: add_kind(self._mark_kinds, s, kind)
        )

    async def _mark_unsubscribe(self, instrument_id: InstrumentId, kind: str) -> None:
        await self._remove_stream(
            instrument_id, kind, self._mark_stream, lambda s: discard_kind(self._mark_kinds, s, kind)
        )

    async def _subscribe_mark_prices(self, command: SubscribeMarkPrices) -> None:
        await self._mark_subscribe(command.instrument_id, OWN_MARK)

    async def _unsubscribe_mark_prices(self, command: UnsubscribeMarkPrices) -> None:
        await self._mark_unsubscribe(command.instrument_id, OWN_MARK)

    async def _subscribe_index_prices(self, command: SubscribeIndexPrices) -> None:
        await self._mark_subscribe(command.instrument_id, OWN_INDEX)

    async def _unsubscribe_index_prices(self, command: UnsubscribeIndexPrices) -> None:
        await self._mark_unsubscribe(command.instrument_id, OWN_INDEX)

    async def _subscribe_funding_rates(self, command: SubscribeFundingRates) -> None:
        await self._mark_subscribe(command.instrument_id, OWN_FUNDING)

    async def _unsubscribe_funding_rates(self, command: UnsubscribeFundingRates) -> None:
        await self._mark_unsubscribe(command.instrument_id, OWN_FUNDING)

    async def _subscribe(self, command: SubscribeData) -> None:
        """``subscribe_data``: ``BinanceFuturesMarkPriceUpdate`` with an ``instrument_id`` in the metadata."""
        instrument_id = self._mark_update_instrument(command.data_type)
        if instrument_id is not None:
            await self._mark_subscribe(instrument_id, OWN_MARK_UPDATE)

    async def _unsubscribe(self, command: UnsubscribeData) -> None:
        instrument_id = self._mark_update_instrument(command.data_type)
        if instrument_id is not None:
            await self._mark_unsubscribe(instrument_id, OWN_MARK_UPDATE)

    def _mark_update_instrument(self, data_type: DataType) -> InstrumentId | None:
        instrument_id = data_type.metadata.get("instrument_id") if data_type.metadata else None
        if data_type.type is not BinanceFuturesMarkPriceUpdate or not isinstance(instrument_id, InstrumentId):
            self._pylog.error(
                "cannot subscribe to %s: only BinanceFuturesMarkPriceUpdate with an instrument_id in the "
                "DataType metadata is supported",
                data_type,
            )
            return None
        return instrument_id

    # ------------------------------------------------------------------------------------------
    # Requests
    # ------------------------------------------------------------------------------------------
    async def order_book_snapshot(
        self, instrument_id: InstrumentId, limit: int | None = None
    ) -> OrderBookDeltas:
        symbol, ctx = self._symbol_context(instrument_id)
        snapshot = await self._http.depth(symbol, limit or self._dcfg.depth_snapshot_limit)
        return parse_book_snapshot(snapshot, ctx, self._clock.timestamp_ns())

    async def _bars_in_range(self, bar_type: BarType, request: RangeRequest) -> list[Bar]:
        """Paged backwards from the end (``GET /fapi/v1/klines?endTime=``), so ``limit`` costs only
        the pages it needs and an unset ``start`` (the DataEngine passes the epoch) is harmless."""
        interval = interval_for(bar_type)
        start_ms, end_ms = request.start_ms, request.end_ms
        page = self._dcfg.klines_page_limit
        rows: list[KlineRow] = []
        cursor = end_ms
        seen = 0
        while True:
            batch = await self._http.klines(request.symbol, interval, end_ms=cursor, limit=page)
            self.metrics.count_page("klines")
            if not batch:
                break
            seen += len(batch)
            rows[:0] = [
                r for r in batch if r.open_time >= request.start_ms and r.close_time + 1 <= request.end_ms
            ]
            oldest = batch[0].open_time
            if oldest <= start_ms or len(rows) >= request.cap or len(batch) < page:
                break
            if seen >= self._dcfg.max_request_items:
                self._pylog.warning("bars request for %s truncated at %d rows", bar_type, seen)
                break
            cursor = oldest - 1
        unique: dict[int, KlineRow] = {r.open_time: r for r in rows}
        ordered = [unique[k] for k in sorted(unique)]
        if request.limit > 0:
            ordered = ordered[-request.limit :]
        out: list[Bar] = []
        for row in ordered:
            ts = (row.close_time + 1) * NANOS_PER_MS
            out.extend(parse_kline_rows([row], bar_type, request.ctx, ts))
        return out

    async def _trades_in_range(self, request: RangeRequest) -> list[TradeTick]:
        """Aggregate trades, paged backwards by aggregate id from the newest trade (``fromId``), which
        needs neither Binance's one-hour ``startTime``/``endTime`` window nor a meaningful ``start``."""
        page = self._dcfg.agg_trades_page_limit
        batch: list[AggTradeRest] = await self._http.agg_trades(request.symbol, limit=page)
        self.metrics.count_page("aggTrades")
        picked: list[AggTradeRest] = []
        seen = 0
        while batch:
            seen += len(batch)
            picked[:0] = [r for r in batch if request.start_ms <= r.trade_time <= request.end_ms]
            first = batch[0]
            if first.trade_time < request.start_ms or first.agg_id <= 0 or len(picked) >= request.cap:
                break
            if seen >= self._dcfg.max_request_items:
                instrument_id = request.ctx.instrument_id
                self._pylog.warning("trades request for %s truncated at %d rows", instrument_id, seen)
                break
            from_id = max(0, first.agg_id - page)
            if from_id >= first.agg_id:
                break
            batch = await self._http.agg_trades(request.symbol, from_id=from_id, limit=first.agg_id - from_id)
            self.metrics.count_page("aggTrades")
            batch = [r for r in batch if r.agg_id < first.agg_id]
        unique = {r.agg_id: r for r in picked}
        ordered = [unique[k] for k in sorted(unique)]
        if request.limit > 0:
            ordered = ordered[-request.limit :]
        out: list[TradeTick] = []
        for row in ordered:
            tick = parse_agg_trade(row, request.ctx, row.trade_time * NANOS_PER_MS)
            if tick is not None:
                out.append(tick)
        return out
