"""BingX ``@incrDepth`` local order book: the venue's chain rule for :mod:`adapters.core.book_sync` and the
glue that turns the synchroniser's decisions into ``OrderBookDeltas``.

BingX's documented procedure (swap WS "Incremental Depth Information"): after subscribing, the first push is
``action: "all"`` (the full book) with a ``lastUpdateId``; every later push is ``action: "update"`` and "the
lastUpdateId for the Nth incremental depth will be N-1 lastUpdateId + 1". Quantities are absolute (``0``
deletes the level). On a break "you can reconnect".

So unlike Binance the *snapshot travels in the stream*: there is no REST snapshot with an update id (REST
depth has none). Mapped onto the core synchroniser:

* snapshot = an ``all`` push, id ``lastUpdateId``;
* first update on a snapshot ``s``: ``id <= s`` stale, ``id == s + 1`` apply, ``id > s + 1`` gap;
* every later update after ``last``: ``id == last + 1`` apply, ``id <= last`` stale (a re-delivery), else gap;
* resync = get a fresh ``all`` push: the data client unsubscribes and re-subscribes the topic (the socket's
  other topics are untouched); after a reconnect the pool's resubscription brings one by itself.

An ``all`` push that arrives while synced is still authoritative (it is in order with the updates): the book
is reset onto it. On losing sync after having emitted a book, a lone ``CLEAR`` is emitted so the downstream
Nautilus book is empty until the next snapshot instead of silently stale.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

from nautilus_trader.model.data import OrderBookDelta, OrderBookDeltas
from nautilus_trader.model.enums import BookAction

from adapters.bingx.parsing_market import (
    F_LAST,
    IncrDepth,
    MarketContext,
    parse_incr_snapshot,
    parse_incr_update,
)
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


def _snapshot_id(snapshot: IncrDepth) -> int:
    return snapshot.lastUpdateId


def _first(diff: IncrDepth, snapshot_id: int) -> Verdict:
    uid = diff.lastUpdateId
    if uid <= snapshot_id:
        return _STALE
    return _APPLY if uid == snapshot_id + 1 else _GAP


def _next(diff: IncrDepth, last_id: int) -> Verdict:
    uid = diff.lastUpdateId
    if uid == last_id + 1:
        return _APPLY
    return _STALE if uid <= last_id else _GAP


def _last_id(diff: IncrDepth) -> int:
    return diff.lastUpdateId


BINGX_CHAIN_RULE: Final[ChainRule[IncrDepth, IncrDepth]] = ChainRule(
    snapshot_id=_snapshot_id, first=_first, next=_next, last_id=_last_id
)


@dataclass(slots=True)
class BookEmission:
    """What the data client must do: publish ``deltas`` in order; get a fresh ``all`` push if asked."""

    deltas: list[OrderBookDeltas] = field(default_factory=list)
    request_snapshot: bool = False
    reason: str | None = None


class BingxBookSync:
    """One instrument's synchronised L2 book fed by ``@incrDepth`` pushes (snapshots and updates alike)."""

    __slots__ = ("_clear_on_desync", "_ctx", "_sync", "snapshots_seen")

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
        self._sync: BookSynchronizer[IncrDepth, IncrDepth] = BookSynchronizer(
            BINGX_CHAIN_RULE, max_buffer=max_buffer, name=str(ctx.instrument_id), logger=logger or _log
        )
        self.snapshots_seen = 0

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
    def last_update_id(self) -> int | None:
        return self._sync.last_id

    def on_push(self, msg: IncrDepth, ts_init: int) -> BookEmission:
        """Any ``@incrDepth`` push: ``all`` is a snapshot, anything else an update."""
        if msg.action == "all":
            self.snapshots_seen += 1
            if self._sync.is_synced:
                self._sync.reset()  # in-stream snapshot: authoritative even while synced
            return self._emit(self._sync.on_snapshot(msg), ts_init, None)
        last = self._sync.last_id
        return self._emit(self._sync.on_diff(msg), ts_init, last)

    def request_resync(self, reason: str, ts_init: int) -> BookEmission:
        last = self._sync.last_id
        return self._emit(self._sync.request_resync(reason), ts_init, last)

    def reset(self) -> None:
        self._sync.reset()

    def _emit(
        self, out: SyncOutput[IncrDepth, IncrDepth], ts_init: int, last_synced_id: int | None
    ) -> BookEmission:
        ctx = self._ctx
        deltas: list[OrderBookDeltas] = []
        if out.snapshot is not None:
            deltas.append(parse_incr_snapshot(out.snapshot, ctx, ts_init))
        for diff in out.diffs:
            packet = parse_incr_update(diff, ctx, ts_init)
            if packet is not None:
                deltas.append(packet)
        if out.request_snapshot and last_synced_id is not None and self._clear_on_desync:
            iid = ctx.instrument_id
            clear = OrderBookDelta(iid, BookAction.CLEAR, None, F_LAST, last_synced_id, ts_init, ts_init)
            deltas.append(OrderBookDeltas(iid, [clear]))
        return BookEmission(deltas, out.request_snapshot, out.reason)
