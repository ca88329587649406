"""Binance USD-M local order book: the venue's chain rule for :mod:`adapters.core.book_sync`, and the glue
that turns the synchroniser's decisions into ``OrderBookDeltas``.

Binance's documented procedure (USD-M "How to manage a local order book correctly"):

1. open ``<sym>@depth@100ms`` and buffer the events;
2. get ``GET /fapi/v1/depth?symbol=..&limit=1000`` (``lastUpdateId``);
3. drop buffered events with ``u < lastUpdateId``;
4. the first processed event must have ``U <= lastUpdateId`` AND ``u >= lastUpdateId``;
5. afterwards each event's ``pu`` must equal the previous event's ``u``, otherwise re-initialise from step 2.

Quantities are absolute (0 removes the level), so re-applying an event the snapshot already contains is
harmless; skipping one is not.

Choices beyond the documented rule (all in favour of never emitting a wrong book):

* first event with ``U > lastUpdateId`` but ``pu <= lastUpdateId <= u`` -> APPLY: ``pu`` proves the snapshot
  already holds everything before this event (the snapshot sits exactly on an event boundary). Binance's
  strict rule would reject it and cost a needless resync on every quiet book whose snapshot beats the first
  diff;
* first event with ``U > lastUpdateId`` and ``pu > lastUpdateId`` (or no ``pu``): the snapshot predates
  everything we buffered, so events in between were never seen -> GAP (new snapshot requested, buffer kept);
* after the first event, an event with ``pu != last u`` but ``u <= last u`` is a re-delivery of something
  already applied -> STALE (dropped, counted), not a gap: applying it would move the book backwards;
* an event without ``pu`` cannot be chained -> GAP.
* On losing sync after having emitted a book, a lone ``CLEAR`` is emitted (``clear_on_desync=True``) so the
  downstream Nautilus book is empty until the next snapshot instead of silently stale.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

from nautilus_trader.model.data import OrderBookDelta, OrderBookDeltas
from nautilus_trader.model.enums import BookAction

from adapters.binance_futures.parsing_market import (
    F_LAST,
    MarketContext,
    parse_book_snapshot,
    parse_depth_diff,
)
from adapters.binance_futures.schemas_market import DepthSnapshot, DepthUpdate
from adapters.core.book_sync import (
    DEFAULT_MAX_BUFFER,
    BookSynchronizer,
    ChainRule,
    SyncMetrics,
    SyncOutput,
    SyncState,
    Verdict,
)

_log = logging.getLogger(__name__)

_APPLY: Final = Verdict.APPLY
_STALE: Final = Verdict.STALE
_GAP: Final = Verdict.GAP


def _snapshot_id(snapshot: DepthSnapshot) -> int:
    return snapshot.last_update_id


def _first(diff: DepthUpdate, snapshot_id: int) -> Verdict:
    """First event on a snapshot: ``u < id`` stale; ``U <= id <= u`` or ``pu <= id <= u`` apply; else gap."""
    if diff.final_update_id < snapshot_id:
        return _STALE
    if diff.first_update_id <= snapshot_id:
        return _APPLY
    pu = diff.prev_final_update_id
    if pu is not None and pu <= snapshot_id:
        # The snapshot already holds everything up to the previous event, and this event carries all of the
        # symbol's updates in (pu, u]: nothing is missing. Happens when the snapshot lands exactly on an event
        # boundary before that event was buffered (quiet books, fast REST); the strict rule would resync.
        return _APPLY
    return _GAP


def _next(diff: DepthUpdate, last_id: int) -> Verdict:
    """Every later event: ``pu == previous u`` apply; an already-applied re-delivery stale; else gap."""
    pu = diff.prev_final_update_id
    if pu is not None and pu == last_id:
        return _APPLY
    if pu is not None and diff.final_update_id <= last_id:
        return _STALE
    return _GAP


def _last_id(diff: DepthUpdate) -> int:
    return diff.final_update_id


BINANCE_CHAIN_RULE: Final[ChainRule[DepthUpdate, DepthSnapshot]] = ChainRule(
    snapshot_id=_snapshot_id, first=_first, next=_next, last_id=_last_id
)


@dataclass(slots=True)
class BookEmission:
    """What the data client must do: publish ``deltas`` in order, and fetch a snapshot if asked."""

    deltas: list[OrderBookDeltas] = field(default_factory=list)
    request_snapshot: bool = False
    reason: str | None = None


class BinanceBookSync:
    """One instrument's synchronised L2 book: feed it diffs and REST snapshots, publish what it returns.

    The caller requests the first snapshot right after subscribing to ``<sym>@depth@100ms`` (the state starts
    as WAITING_SNAPSHOT), and another one whenever an emission has ``request_snapshot`` set. Keeping at most
    one request in flight (ignoring ``request_snapshot`` while one is pending) is safe: a snapshot that turns
    out too old is rejected by the chain rule, and that rejection asks again. After a WebSocket reconnect the
    caller must call :meth:`request_resync`: diffs from two connections cannot be chained.
    """

    __slots__ = ("_clear_on_desync", "_ctx", "_sync")

    def __init__(
        self,
        ctx: MarketContext,
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        clear_on_desync: bool = True,
        logger: logging.Logger | None = None,
    ) -> None:
        self._ctx = ctx
        self._clear_on_desync = clear_on_desync
        self._sync: BookSynchronizer[DepthUpdate, DepthSnapshot] = BookSynchronizer(
            BINANCE_CHAIN_RULE, max_buffer=max_buffer, name=str(ctx.instrument_id), logger=logger or _log
        )

    @property
    def state(self) -> SyncState:
        return self._sync.state

    @property
    def is_synced(self) -> bool:
        return self._sync.is_synced

    @property
    def metrics(self) -> SyncMetrics:
        return self._sync.metrics

    @property
    def buffered(self) -> int:
        return self._sync.buffered

    @property
    def last_update_id(self) -> int | None:
        return self._sync.last_id

    def on_diff(self, msg: DepthUpdate, ts_init: int) -> BookEmission:
        last = self._sync.last_id
        return self._emit(self._sync.on_diff(msg), ts_init, last)

    def on_snapshot(self, snapshot: DepthSnapshot, ts_init: int) -> BookEmission:
        return self._emit(self._sync.on_snapshot(snapshot), ts_init, None)

    def request_resync(self, reason: str, ts_init: int) -> BookEmission:
        last = self._sync.last_id
        return self._emit(self._sync.request_resync(reason), ts_init, last)

    def reset(self) -> None:
        self._sync.reset()

    def _emit(
        self, out: SyncOutput[DepthUpdate, DepthSnapshot], ts_init: int, last_synced_id: int | None
    ) -> BookEmission:
        ctx = self._ctx
        deltas: list[OrderBookDeltas] = []
        if out.snapshot is not None:
            deltas.append(parse_book_snapshot(out.snapshot, ctx, ts_init))
        for diff in out.diffs:
            packet = parse_depth_diff(diff, ctx, ts_init)
            if packet is not None:
                deltas.append(packet)
        if out.request_snapshot and last_synced_id is not None and self._clear_on_desync:
            # We had published a book and can no longer vouch for it: empty it rather than leave it stale.
            iid = ctx.instrument_id
            clear = OrderBookDelta(iid, BookAction.CLEAR, None, F_LAST, last_synced_id, ts_init, ts_init)
            deltas.append(OrderBookDeltas(iid, [clear]))
        return BookEmission(deltas, out.request_snapshot, out.reason)
