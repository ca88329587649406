"""BingX ``@incrDepth`` local order book: the venue's chain rule for
:mod:`adapters.core.market.book_sync` and the glue that turns the synchroniser's decisions into
``OrderBookDeltas``.

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
from typing import Final

from adapters.bingx.parsing_market import parse_incr_snapshot, parse_incr_update
from adapters.bingx.schemas_market import IncrDepth
from adapters.core.market.book_glue import BookEmission, BookRules, SyncedBook
from adapters.core.market.book_sync import ChainRule, Verdict

__all__ = ["BINGX_CHAIN_RULE", "BingxBookSync", "BookEmission"]

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


class BingxBookSync(SyncedBook[IncrDepth, IncrDepth]):
    """One instrument's synchronised L2 book fed by ``@incrDepth`` pushes (snapshots and updates alike)."""

    __slots__ = ()

    venue_rules = BookRules(BINGX_CHAIN_RULE, parse_incr_snapshot, parse_incr_update, _log)

    def on_push(self, msg: IncrDepth, ts_init: int) -> BookEmission:
        """Any ``@incrDepth`` push: ``all`` is a snapshot, ``update`` an update; any other action is a
        push we cannot read, so the book can no longer be vouched for and is rebuilt."""
        if msg.action not in ("all", "update"):
            return self.request_resync(f"unknown incrDepth action {msg.action[:20]!r}", ts_init)
        if msg.action == "all":
            if self._sync.is_synced:
                self._sync.reset()  # in-stream snapshot: authoritative even while synced
            return self.on_snapshot(msg, ts_init)
        return self.on_diff(msg, ts_init)
