"""``VenueSyncBase``: what both venues' REST syncs (snapshot, gap backfill, resolution by query) are
built with and do the same way, held once.

* the recovery phases' frame: :meth:`~VenueSyncBase.snapshot` (the venue's account queries, the open
  orders, the venue's other open-order lists) and :meth:`~VenueSyncBase.post_snapshot` (the gap sync
  of :mod:`adapters.core.userstream.gap_sync` with the venue's queries);
* an order it does not track reported once with every fill (:meth:`~VenueSyncBase._report_external`),
  and one a stream event could not report whole (:meth:`~VenueSyncBase.report_external_by_id`).

A venue supplies its queries and the readings of its REST views (the hooks at the end).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Generic, NotRequired, Protocol, TypedDict, TypeVar, Unpack

from nautilus_trader.execution.reports import FillReport, OrderStatusReport
from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId

from adapters.core.net.http_errors import FillsNotPublished
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import TrackedOrder
from adapters.core.parse.instrument_info import InstrumentInfo
from adapters.core.userstream import gap_sync
from adapters.core.userstream.recovery import QueryResult, SnapshotOutcome


class OrderView(Protocol):
    """An order as the venue's REST lists it."""

    @property
    def symbol(self) -> str: ...


class SyncHttp(Protocol):
    async def open_orders(self, symbol: str | None = None) -> Sequence[Any]: ...


class ReportSender(Protocol):
    def send_order_with_fills(self, report: OrderStatusReport, fills: list[FillReport]) -> None: ...


H = TypeVar("H", bound=SyncHttp)  # the venue's REST client
U = TypeVar("U", bound=ReportSender)  # the venue's user-stream handler
O = TypeVar("O", bound=OrderView)  # the venue's REST order view  # noqa: E741


def _no_symbols() -> Iterable[str]:
    return ()


class SyncArgs(TypedDict, Generic[H, U]):
    """What every venue's REST sync is built with (``PerpExecutionClient._sync_args``)."""

    http: H
    facts: OrderFacts
    handler: U
    account_id: AccountId
    instruments: Callable[[str], InstrumentInfo]
    position_id: Callable[[InstrumentId, str | None], PositionId | None]
    clock_ns: Callable[[], int]
    treat_expired_as_canceled: bool
    since_ms: Callable[[], int]
    walk_symbols: NotRequired[Callable[[], Iterable[str]]]
    # Re-read the account after the backfill (Binance: the balance updates of a gap are lost with
    # its events; BingX reads the balance in its snapshot instead).
    refresh_account: NotRequired[Callable[[], Awaitable[None]] | None]
    logger: logging.Logger


class VenueSyncBase(Generic[H, U, O]):
    venue_error: ClassVar[type[Exception]] = Exception  # what the venue's REST calls raise
    fills_query: ClassVar[str] = ""  # the venue's trade-history endpoint, in log lines

    def __init__(self, **args: Unpack[SyncArgs[H, U]]) -> None:
        self._http: H = args["http"]
        self._facts = args["facts"]
        self._tracker = self._facts.tracker
        self._handler: U = args["handler"]
        self._account_id = args["account_id"]
        self._instruments = args["instruments"]
        self._position_id = args["position_id"]
        self._clock_ns = args["clock_ns"]
        self._expired_as_canceled = args["treat_expired_as_canceled"]
        # Where a symbol's backfill starts when no trade of it was seen yet (the session's start).
        self._since_ms = args["since_ms"]
        # Symbols the gap backfill walks besides tracked orders' and cursors' (see
        # core.orders.reconciliation.walk_symbols): external orders may trade anywhere during a gap.
        self._walk_symbols = args.get("walk_symbols", _no_symbols)
        self._refresh_account = args.get("refresh_account")
        self._log = args["logger"]
        # Tracked orders open at the last snapshot -> the venue's cumulative executed quantity.
        self._open_at_snapshot: dict[str, Decimal] = {}
        self._venue_symbols: set[str] = set()

    # --- recovery phases ---------------------------------------------------------------------
    async def snapshot(self) -> SnapshotOutcome:
        """Before any socket is touched: the venue's account queries, then its open orders (tracked
        ones confirmed, the venue's cumulative executed quantity of each remembered; external ones
        reported), then its other open-order lists."""
        self._open_at_snapshot = {}
        self._venue_symbols = set()
        results = await self._snapshot_account()
        results.append(await self._snapshot_open_orders())
        results.extend(await self._snapshot_more_orders())
        return SnapshotOutcome(tuple(results))

    async def _snapshot_open_orders(self) -> QueryResult:
        try:
            orders = await self._http.open_orders()
        except self.venue_error as exc:
            return QueryResult("openOrders", False, error=repr(exc))
        try:
            emitted = 0
            for o in orders:
                self._venue_symbols.add(o.symbol)
                emitted += await self._snapshot_order(o)
        except (self.venue_error, FillsNotPublished) as exc:
            return QueryResult("openOrders", False, error=repr(exc))
        return QueryResult("openOrders", True, emitted)

    async def post_snapshot(self) -> SnapshotOutcome:
        """Closed orders' final states, every open tracked order's missing fills, then every fill since
        the last trade id per symbol (see :func:`adapters.core.userstream.gap_sync.post_snapshot`)."""
        return await gap_sync.post_snapshot(
            tracker=self._tracker,
            open_at_snapshot=self._open_at_snapshot,
            resolve_order=self.resolve_order,
            fetch_order_fills=self._fetch_missing_fills,
            backfill_symbol=self.backfill_symbol,
            fills_query=self.fills_query,
            errors=self.venue_error,
            log=self._log,
            venue_symbols=await self._backfill_symbols(),
            is_permanent=self._is_permanent,
            refresh_account=self._refresh_account,
            relist_open_orders=self._relist_open_orders,
        )

    async def _report_external(self, o: O) -> int:
        """An order the node does not track (nor the engine's cache holds): reported once, with every
        trade it has (see :func:`adapters.core.userstream.gap_sync.report_external_order`)."""
        return await gap_sync.report_external_order(
            self._external_order(o),
            tracker=self._tracker,
            clock_ns=self._clock_ns,
            send=self._handler.send_order_with_fills,
            log=self._log,
            synced_as_tracked=lambda: self._sync_if_known(o),
        )

    # --- an order a stream event could not report whole -----------------------------------------
    async def report_external_by_id(self, symbol: str, order_id: int) -> None:
        """An order a stream event could not report whole (no last-fill fields, or a cumulative
        quantity more than the event's own fill): the venue's view of it, with every fill. Once the
        engine holds it, it is adopted and synced like any tracked order."""
        o = await self._query_order_by_id(symbol, order_id)
        if not await self._sync_if_known(o):
            await self._report_external(o)

    async def _sync_if_known(self, o: O) -> bool:
        """Tracked, or held by the engine (then adopted): synced like any tracked order."""
        order = self._known_order(o)
        if order is None:
            return False
        await self.sync_order(order, o)
        return True

    # The venue's hooks.
    async def _query_order_by_id(self, symbol: str, order_id: int) -> O:
        raise NotImplementedError

    def _known_order(self, o: O) -> TrackedOrder | None:
        """The tracked order ``o`` is, or the engine's (adopted now); None for an external one."""
        raise NotImplementedError

    async def sync_order(self, order: TrackedOrder, o: O) -> None:
        raise NotImplementedError

    def _external_order(self, o: O) -> gap_sync.ExternalOrder[Any]:
        """``o`` as an external order: its report, and how its trades are fetched and read."""
        raise NotImplementedError

    async def _snapshot_account(self) -> list[QueryResult]:
        """The snapshot's account queries, before the open orders."""
        return []

    async def _snapshot_order(self, o: O) -> int:
        """One open order of the snapshot: 1 if it was applied or reported."""
        raise NotImplementedError

    async def _snapshot_more_orders(self) -> list[QueryResult]:
        """The venue's other open-order lists (e.g. algo orders), after the open orders."""
        return []

    async def resolve_order(self, order: TrackedOrder) -> bool:
        raise NotImplementedError

    async def _fetch_missing_fills(self, order: TrackedOrder) -> object:
        """Every fill of ``order`` (an open tracked order the engine was told less of than the venue)."""
        raise NotImplementedError

    async def backfill_symbol(self, symbol: str, cursor: int | None) -> int:
        raise NotImplementedError

    async def _backfill_symbols(self) -> set[str]:
        """The symbols the gap backfill walks besides tracked orders' and cursors'."""
        return self._venue_symbols | set(self._walk_symbols())

    @staticmethod
    def _is_permanent(exc: Exception) -> bool:
        """An error the venue will give for this request forever (a delisted or unknown symbol)."""
        return False

    async def _relist_open_orders(self) -> tuple[int, set[str]]:
        raise NotImplementedError
