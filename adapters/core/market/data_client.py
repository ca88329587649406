"""The venue-neutral part of a perpetual-futures ``LiveMarketDataClient`` (both venues' clients build on it).

What lives here is what the venues do the same way; wire formats, stream names and venue quirks stay in the
venue clients, which name the venue in a few class attributes (:attr:`client_venue`, :attr:`logger_prefix`,
:meth:`_venue_symbol`) and supply the rest through small hooks (:meth:`_init_venue` for their own wiring,
their stream names, what a subscription keeps for its frames, the book's state and first snapshot,
:meth:`order_book_snapshot`, the REST paging of :meth:`_bars_in_range` and :meth:`_trades_in_range`):

* **Construction** from the arguments NautilusTrader's factories pass; the venue's wiring last.
* **Connect**: the venue clock offset (a failure falls back to the local clock), the instrument provider,
  then every instrument and currency pushed to the DataEngine / cache (nothing streams instruments).
* **Disconnect**: the stream pool, then the side tasks, then the books reset and dropped, then the HTTP
  client.
* **Lookups**: the per-instrument :class:`MarketContext` (cached by venue symbol) and the venue symbol of a
  subscribed instrument (ValueError when the provider did not load it).
* **Subscriptions**: one stream per symbol for quotes, trades and top-10 depth (what its frames need is
  recorded before the subscribe request), bars by bar type, the ``OrderBookDepth10`` wrappers Nautilus
  lacks, and the order book (registered before the subscribe request so no diff is lost; a refused
  subscription unregisters it; an unsubscription resets the book and cancels its resync task).
* **Requests**: instruments, quotes (the venues keep no quote history: answered empty), order book
  snapshot, bars and trades (the venue pages its REST, this answers), each range in ms (``start``
  rounded up, ``end`` capped at the venue's now) with the most rows worth fetching.
* **Metrics**: the counters every data client keeps (:class:`DataMetrics`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Generic, Protocol, TypeAlias, TypeVar

import pandas as pd
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.core.datetime import dt_to_unix_nanos
from nautilus_trader.data.messages import (
    RequestBars,
    RequestInstrument,
    RequestInstruments,
    RequestOrderBookSnapshot,
    RequestQuoteTicks,
    RequestTradeTicks,
    SubscribeBars,
    SubscribeInstrument,
    SubscribeInstruments,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    UnsubscribeBars,
    UnsubscribeInstrument,
    UnsubscribeInstruments,
    UnsubscribeOrderBook,
    UnsubscribeQuoteTicks,
    UnsubscribeTradeTicks,
)
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.data import Bar, BarType, DataType, OrderBookDeltas, TradeTick
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Venue

from adapters.core.base import log_bridge
from adapters.core.base.tasks import OwnedTasks
from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.market.book_glue import BookEmission, SyncedBook
from adapters.core.market.market_context import MarketContext
from adapters.core.market.perpetual_provider import PerpetualInstrumentProvider
from adapters.core.net.rest_client import RestClientBase
from adapters.core.net.stream_pool import MarketStreamPool

# Owners of a stream in the pool (one venue stream can feed several Nautilus subscriptions).
OWN_QUOTES: Final = "quotes"
OWN_TRADES: Final = "trades"
OWN_BOOK: Final = "book"
OWN_DEPTH10: Final = "depth10"
OWN_BARS: Final = "bars"
OWN_MARK: Final = "mark"


class PerpDataConfig(Protocol):
    """The data-client config fields the skeleton reads."""

    @property
    def max_request_items(self) -> int: ...


class VenueBook(Protocol):
    """A venue's per-instrument book state: at least its symbol and its synchronised book."""

    @property
    def symbol(self) -> str: ...
    @property
    def sync(self) -> SyncedBook[Any, Any]: ...


BookT = TypeVar("BookT", bound=VenueBook)

Time: TypeAlias = pd.Timestamp | None  # a historical request's bound (None: open)


@dataclass(slots=True)
class DataMetrics:
    """The counters every market-data client keeps (a venue's client adds its own)."""

    events: int = 0
    reconnects: int = 0
    book_resyncs_after_reconnect: int = 0
    dropped_unknown_symbol: int = 0
    request_pages: dict[str, int] = field(default_factory=dict)  # REST pages per query

    def count_page(self, query: str) -> None:
        self.request_pages[query] = self.request_pages.get(query, 0) + 1


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """A historical request for one loaded instrument: its venue symbol and context, the range in venue
    ms (``start`` rounded up, ``end`` capped at the venue's now), the newest ``limit`` rows wanted (0:
    all) and ``cap``, the most rows worth fetching (``limit``, at most ``max_request_items``)."""

    symbol: str
    ctx: MarketContext
    start_ms: int
    end_ms: int
    limit: int
    cap: int


RESYNC_BACKOFF_CAP_SECS: Final = 5.0


def resync_delay(base_secs: float, attempt: int) -> float:
    """Pause before retry ``attempt`` (>= 1) of a book resync: doubling from ``base_secs``, capped at 5 s."""
    return min(base_secs * 2 ** (attempt - 1), RESYNC_BACKOFF_CAP_SECS)


def add_kind(kinds_by_symbol: dict[str, set[str]], symbol: str, kind: str) -> None:
    """Record that ``kind`` (mark, index, funding, ...) is subscribed for ``symbol``."""
    kinds_by_symbol.setdefault(symbol, set()).add(kind)


def discard_kind(kinds_by_symbol: dict[str, set[str]], symbol: str, kind: str) -> None:
    """Forget ``kind`` for ``symbol``; the symbol goes when its last kind does."""
    kinds = kinds_by_symbol.get(symbol)
    if kinds is not None:
        kinds.discard(kind)
        if not kinds:
            del kinds_by_symbol[symbol]


class PerpMarketDataClient(LiveMarketDataClient, Generic[BookT]):
    """Shared skeleton of the venues' market-data clients; ``BookT`` is the venue's per-book state.

    A venue subclass names its venue in the class attributes, builds ``self.pool`` and ``self.metrics``
    in :meth:`_init_venue` and implements the hooks; it is built with the arguments NautilusTrader's
    factories pass (see :mod:`adapters.core.client.client_factory`).
    """

    venue_name: ClassVar[str] = ""  # in log messages
    venue_error: ClassVar[type[Exception]] = Exception  # what a failed server-time request raises
    client_venue: ClassVar[Venue]
    logger_prefix: ClassVar[str]  # the client logs as ``<logger_prefix>.<client id>.data``

    pool: MarketStreamPool
    metrics: DataMetrics

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        config: LiveDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: PerpetualInstrumentProvider,
        http: RestClientBase,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=self.client_venue,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
            config=config,
        )
        log_bridge.install()
        self._dcfg: PerpDataConfig = config  # type: ignore[assignment]  # both venues' configs have the fields
        self._provider = instrument_provider
        self._http = http
        self._pylog = logging.getLogger(f"{self.logger_prefix}.{client_id.value}.data")
        self._side_tasks = OwnedTasks(f"{client_id.value}-data", self._pylog)
        self._contexts: dict[str, MarketContext] = {}
        self.books: dict[str, BookT] = {}
        self._quote_symbols: set[str] = set()
        self._depth10_symbols: set[str] = set()
        self._init_venue()

    # ------------------------------------------------------------------------------------------
    # Hooks (venue)
    # ------------------------------------------------------------------------------------------
    def _init_venue(self) -> None:
        """The venue's own wiring (its stream pool, metrics, subscription state), built last."""
        raise NotImplementedError

    @staticmethod
    def _venue_symbol(instrument_id: InstrumentId) -> str:
        raise NotImplementedError

    def _quote_stream(self, symbol: str) -> str:
        raise NotImplementedError

    def _depth10_stream(self, symbol: str) -> str:
        raise NotImplementedError

    def _reset_book(self, book: BookT) -> None:
        book.sync.reset()

    def _book_stream(self, symbol: str) -> str:
        """The stream ``symbol``'s synchronised book is fed by."""
        raise NotImplementedError

    def _new_book(self, symbol: str, ctx: MarketContext) -> BookT:
        raise NotImplementedError

    def _book_added(self, book: BookT) -> None:
        """The book's stream is subscribed: start getting its first snapshot."""
        raise NotImplementedError

    def _book_task(self, book: BookT) -> asyncio.Task[Any] | None:
        """The task resynchronising ``book``, if any (cancelled when it is dropped)."""
        raise NotImplementedError

    def _bar_stream(self, symbol: str, bar_type: BarType) -> str:
        raise NotImplementedError

    def _bars_subscribed(self, stream: str, bar_type: BarType, ctx: MarketContext) -> None:
        """Remember what ``stream``'s klines become (before it is subscribed: no frame is lost)."""
        raise NotImplementedError

    def _bars_unsubscribed(self, stream: str) -> None:
        raise NotImplementedError

    def _after_side_tasks_closed(self) -> None:
        """Disconnect hook: forget handles to side tasks that are now closed."""

    async def order_book_snapshot(
        self, instrument_id: InstrumentId, limit: int | None = None
    ) -> OrderBookDeltas:
        raise NotImplementedError

    async def _bars_in_range(self, bar_type: BarType, request: RangeRequest) -> list[Bar]:
        """Closed bars of ``bar_type`` opening in the range and closing by its end, ascending."""
        raise NotImplementedError

    async def _trades_in_range(self, request: RangeRequest) -> list[TradeTick]:
        """Trades in the range, ascending (a venue that keeps no trade history with ids has none)."""
        raise NotImplementedError

    def _trade_stream(self, symbol: str) -> str:
        raise NotImplementedError

    def _note_trades(self, symbol: str) -> None:
        """Trade ticks of ``symbol`` are subscribed: keep what their frames need."""
        raise NotImplementedError

    def _forget_trades(self, symbol: str) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        try:
            await self._http.sync_time()
        except self.venue_error as exc:
            self._pylog.warning("server time unavailable (%s); using the local clock", exc)
        await self._provider.initialize()
        for instrument in self._provider.list_all():
            self._handle_data(instrument)
        for currency in self._provider.currencies().values():
            self._cache.add_currency(currency)

    async def _disconnect(self) -> None:
        await self.pool.close()
        await self._side_tasks.close()
        self._after_side_tasks_closed()
        for book in self.books.values():
            self._reset_book(book)
        self.books.clear()
        await self._http.close()

    # ------------------------------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------------------------------
    def _context(self, symbol: str) -> MarketContext | None:
        ctx = self._contexts.get(symbol)
        if ctx is None:
            instrument = self._provider.find_by_symbol(symbol)
            if instrument is None:
                return None
            ctx = MarketContext.from_instrument(instrument)
            self._contexts[symbol] = ctx
        return ctx

    def _symbol(self, instrument_id: InstrumentId) -> str:
        symbol = self._venue_symbol(instrument_id)
        if self._context(symbol) is None:
            raise ValueError(f"unknown instrument {instrument_id} (not loaded by the provider)")
        return symbol

    def _symbol_context(self, instrument_id: InstrumentId) -> tuple[str, MarketContext]:
        """The venue symbol of a loaded instrument and its context (ValueError when not loaded)."""
        symbol = self._symbol(instrument_id)
        ctx = self._context(symbol)
        assert ctx is not None  # _symbol has just found it
        return symbol, ctx

    def _publish_deltas(self, emission: BookEmission) -> None:
        for deltas in emission.deltas:
            self._handle_data(deltas)

    def _spawn_once(
        self, running: asyncio.Task[Any] | None, work: Callable[[], Coroutine[Any, Any, Any]], name: str
    ) -> asyncio.Task[Any] | None:
        """``running`` while it runs (it loops until its job is done), else a new side task doing ``work``.

        None when the side tasks are closing (the task is not started).
        """
        if running is not None and not running.done():
            return running
        return self._side_tasks.spawn(work(), name)

    # ------------------------------------------------------------------------------------------
    # Order books: subscription
    # ------------------------------------------------------------------------------------------
    async def _subscribe_order_book_deltas(self, command: SubscribeOrderBook) -> None:
        symbol, ctx = self._symbol_context(command.instrument_id)
        if symbol in self.books:
            return
        book = self._new_book(symbol, ctx)
        # Registered before the subscription, so the first message the venue sends is kept.
        self.books[symbol] = book
        try:
            await self.pool.subscribe([self._book_stream(symbol)], OWN_BOOK)
        except BaseException:
            self.books.pop(symbol, None)
            raise
        self._book_added(book)

    async def _unsubscribe_order_book_deltas(self, command: UnsubscribeOrderBook) -> None:
        symbol = self._venue_symbol(command.instrument_id)
        await self._drop_book(symbol)
        await self.pool.unsubscribe([self._book_stream(symbol)], OWN_BOOK)

    async def _drop_book(self, symbol: str) -> None:
        """Forget ``symbol``'s book: reset it and cancel (and await) its resync task."""
        book = self.books.pop(symbol, None)
        if book is not None:
            self._reset_book(book)
            task = self._book_task(book)
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task})

    # ------------------------------------------------------------------------------------------
    # Subscriptions
    # ------------------------------------------------------------------------------------------
    async def _subscribe_instrument(self, command: SubscribeInstrument) -> None:
        pass  # instruments are pushed on connect; nothing streams them

    async def _subscribe_instruments(self, command: SubscribeInstruments) -> None:
        pass

    async def _unsubscribe_instrument(self, command: UnsubscribeInstrument) -> None:
        pass

    async def _unsubscribe_instruments(self, command: UnsubscribeInstruments) -> None:
        pass

    async def _add_stream(
        self,
        instrument_id: InstrumentId,
        owner: str,
        stream_of: Callable[[str], str],
        note: Callable[[str], object],
    ) -> None:
        """Subscribe the instrument's stream ``stream_of(symbol)`` for ``owner``; ``note(symbol)`` first
        records what its frames are for (so none is dropped)."""
        symbol = self._symbol(instrument_id)
        note(symbol)
        await self.pool.subscribe([stream_of(symbol)], owner)

    async def _remove_stream(
        self,
        instrument_id: InstrumentId,
        owner: str,
        stream_of: Callable[[str], str],
        forget: Callable[[str], object],
    ) -> None:
        """``owner`` no longer wants the instrument's stream; ``forget(symbol)`` drops its record."""
        symbol = self._venue_symbol(instrument_id)
        forget(symbol)
        await self.pool.unsubscribe([stream_of(symbol)], owner)

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        await self._add_stream(command.instrument_id, OWN_QUOTES, self._quote_stream, self._quote_symbols.add)

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        await self._remove_stream(
            command.instrument_id, OWN_QUOTES, self._quote_stream, self._quote_symbols.discard
        )

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        await self._add_stream(command.instrument_id, OWN_TRADES, self._trade_stream, self._note_trades)

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        await self._remove_stream(command.instrument_id, OWN_TRADES, self._trade_stream, self._forget_trades)

    async def _subscribe_bars(self, command: SubscribeBars) -> None:
        bar_type = command.bar_type
        symbol, ctx = self._symbol_context(bar_type.instrument_id)
        stream = self._bar_stream(symbol, bar_type)
        self._bars_subscribed(stream, bar_type, ctx)
        await self.pool.subscribe([stream], OWN_BARS)

    async def _unsubscribe_bars(self, command: UnsubscribeBars) -> None:
        bar_type = command.bar_type
        stream = self._bar_stream(self._venue_symbol(bar_type.instrument_id), bar_type)
        self._bars_unsubscribed(stream)
        await self.pool.unsubscribe([stream], OWN_BARS)

    async def _subscribe_order_book_snapshots(self, command: SubscribeOrderBook) -> None:
        await self._subscribe_depth10(command)

    async def _unsubscribe_order_book_snapshots(self, command: UnsubscribeOrderBook) -> None:
        await self._unsubscribe_depth10(command)

    def subscribe_order_book_depth(self, command: SubscribeOrderBook) -> None:
        # LiveMarketDataClient has no async wrapper for OrderBookDepth10; the DataEngine checks
        # subscribed_order_book_snapshots() for it.
        self._add_subscription_order_book_snapshots(command.instrument_id)
        self.create_task(
            self._subscribe_depth10(command),
            log_msg=f"subscribe: order_book_depth {command.instrument_id}",
        )

    def unsubscribe_order_book_depth(self, command: UnsubscribeOrderBook) -> None:
        self._remove_subscription_order_book_snapshots(command.instrument_id)
        self.create_task(
            self._unsubscribe_depth10(command),
            log_msg=f"unsubscribe: order_book_depth {command.instrument_id}",
        )

    async def _subscribe_depth10(self, command: SubscribeOrderBook | UnsubscribeOrderBook) -> None:
        await self._add_stream(
            command.instrument_id, OWN_DEPTH10, self._depth10_stream, self._depth10_symbols.add
        )

    async def _unsubscribe_depth10(self, command: SubscribeOrderBook | UnsubscribeOrderBook) -> None:
        await self._remove_stream(
            command.instrument_id, OWN_DEPTH10, self._depth10_stream, self._depth10_symbols.discard
        )

    # ------------------------------------------------------------------------------------------
    # Requests
    # ------------------------------------------------------------------------------------------
    async def _request_instrument(self, request: RequestInstrument) -> None:
        instrument = self._provider.find(request.instrument_id)
        if instrument is None:
            await self._provider.load_async(request.instrument_id)
            instrument = self._provider.find(request.instrument_id)
        if instrument is None:
            self._pylog.error("instrument %s not found", request.instrument_id)
            return
        self._handle_instrument(instrument, request.id, request.start, request.end, request.params)

    async def _request_instruments(self, request: RequestInstruments) -> None:
        self._handle_instruments(
            self.venue, self._provider.list_all(), request.id, request.start, request.end, request.params
        )

    async def _request_quote_ticks(self, request: RequestQuoteTicks) -> None:
        self._pylog.warning(
            "%s has no historical quotes; answering %s with none", self.venue_name, request.id
        )
        self._handle_quote_ticks(
            request.instrument_id, [], request.id, request.start, request.end, request.params
        )

    async def _request_order_book_snapshot(self, request: RequestOrderBookSnapshot) -> None:
        deltas = await self.order_book_snapshot(request.instrument_id, request.limit or None)
        self._handle_data_response(
            DataType(OrderBookDeltas, metadata={"instrument_id": request.instrument_id}),
            [deltas],
            request.id,
            None,
            None,
            request.params,
        )

    async def _request_bars(self, request: RequestBars) -> None:
        bars = await self.historical_bars(request.bar_type, request.start, request.end, request.limit)
        self._handle_bars(request.bar_type, bars, request.id, request.start, request.end, request.params)

    async def _request_trade_ticks(self, request: RequestTradeTicks) -> None:
        ticks = await self.historical_trades(request.instrument_id, request.start, request.end, request.limit)
        self._handle_trade_ticks(
            request.instrument_id, ticks, request.id, request.start, request.end, request.params
        )

    # -- request implementations (also usable directly) ------------------------------------------
    async def historical_bars(
        self, bar_type: BarType, start: Time = None, end: Time = None, limit: int = 0
    ) -> list[Bar]:
        """Closed bars opening at or after ``start`` and closing by ``end`` (newest ``limit``), ascending."""
        return await self._bars_in_range(
            bar_type, self._range_request(bar_type.instrument_id, start, end, limit)
        )

    async def historical_trades(
        self, instrument_id: InstrumentId, start: Time = None, end: Time = None, limit: int = 0
    ) -> list[TradeTick]:
        """Trades with ``start <= T <= end`` (newest ``limit``), ascending."""
        return await self._trades_in_range(self._range_request(instrument_id, start, end, limit))

    def _range_request(self, instrument_id: InstrumentId, start: Time, end: Time, limit: int) -> RangeRequest:
        symbol, ctx = self._symbol_context(instrument_id)
        start_ms, end_ms = self._range_ms(start, end)
        most = self._dcfg.max_request_items
        return RangeRequest(symbol, ctx, start_ms, end_ms, limit, min(limit, most) if limit > 0 else most)

    def _range_ms(self, start: Time, end: Time) -> tuple[int, int]:
        """A request range in venue ms: ``start`` rounded up (nothing before it), ``end`` capped at now."""
        now_ms = self._http.now_ms()
        start_ms = 0
        if start is not None:
            start_ns = dt_to_unix_nanos(start)
            start_ms = -(-start_ns // NANOS_PER_MS)  # ceil: nothing before start
        end_ms = now_ms
        if end is not None:
            end_ms = min(now_ms, dt_to_unix_nanos(end) // NANOS_PER_MS)
        return start_ms, end_ms
