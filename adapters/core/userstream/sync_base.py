"""``VenueSyncBase``: what both venues' REST syncs (snapshot, gap backfill, resolution by query) are
built with, held once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Generic, NotRequired, TypedDict, TypeVar, Unpack

from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId

from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import TrackedOrder
from adapters.core.parse.instrument_info import InstrumentInfo

H = TypeVar("H")  # the venue's REST client
U = TypeVar("U")  # the venue's user-stream handler
O = TypeVar("O")  # the venue's REST order view  # noqa: E741


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
    logger: logging.Logger


class VenueSyncBase(Generic[H, U, O]):
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
        self._log = args["logger"]
        # Tracked orders open at the last snapshot -> the venue's cumulative executed quantity.
        self._open_at_snapshot: dict[str, Decimal] = {}
        self._venue_symbols: set[str] = set()

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

    async def _report_external(self, o: O) -> int:
        raise NotImplementedError
