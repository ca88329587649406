"""``VenueSyncBase``: what both venues' REST syncs (snapshot, gap backfill, resolution by query) are
built with, held once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Generic, TypeVar

from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId

from adapters.core.orders.order_facts import OrderFacts
from adapters.core.parse.instrument_info import InstrumentInfo

H = TypeVar("H")  # the venue's REST client
U = TypeVar("U")  # the venue's user-stream handler


class VenueSyncBase(Generic[H, U]):
    def __init__(
        self,
        *,
        http: H,
        facts: OrderFacts,
        handler: U,
        account_id: AccountId,
        instruments: Callable[[str], InstrumentInfo],
        position_id: Callable[[InstrumentId, str | None], PositionId | None],
        clock_ns: Callable[[], int],
        treat_expired_as_canceled: bool,
        since_ms: Callable[[], int],
        walk_symbols: Callable[[], Iterable[str]],
        logger: logging.Logger,
    ) -> None:
        self._http = http
        self._facts = facts
        self._tracker = facts.tracker
        self._handler = handler
        self._account_id = account_id
        self._instruments = instruments
        self._position_id = position_id
        self._clock_ns = clock_ns
        self._expired_as_canceled = treat_expired_as_canceled
        # Where a symbol's backfill starts when no trade of it was seen yet (the session's start).
        self._since_ms = since_ms
        # Symbols the gap backfill walks besides tracked orders' and cursors' (see
        # core.orders.reconciliation.walk_symbols): external orders may trade anywhere during a gap.
        self._walk_symbols = walk_symbols
        self._log = logger
        # Tracked orders open at the last snapshot -> the venue's cumulative executed quantity.
        self._open_at_snapshot: dict[str, Decimal] = {}
        self._venue_symbols: set[str] = set()
