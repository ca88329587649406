"""The glue between :class:`~adapters.core.market.book_sync.BookSynchronizer` and a data client: its
decisions as ``OrderBookDeltas`` (venue-neutral; each venue supplies its chain rule and its two message
converters).

:class:`SyncedBook` owns one instrument's synchroniser and turns every :class:`SyncOutput` into a
:class:`BookEmission`: the snapshot's full set of levels first (``CLEAR`` + ``ADD``, ``F_SNAPSHOT``), then
each applied diff's deltas in order, and - when sync is lost after a book was published and
``clear_on_desync`` - a lone ``CLEAR`` (``F_LAST``, sequence = the last id the published book was at) so
the downstream Nautilus book is empty until the next snapshot instead of silently stale.

A diff or snapshot that cannot be converted (a level NautilusTrader cannot hold, a non-positive price)
is a gap, not a skipped message: the synchroniser had already taken it into its chain, so the book
can no longer be vouched for. Nothing of that step is published; the book is cleared (if one was
published) and resynced from a fresh snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from nautilus_trader.model.data import OrderBookDeltas

from adapters.core.market.book_sync import (
    DEFAULT_MAX_BUFFER,
    BookSynchronizer,
    ChainRule,
    SyncMetrics,
    SyncOutput,
    SyncState,
)
from adapters.core.market.market_context import MarketContext
from adapters.core.market.market_parsing import clear_deltas

D = TypeVar("D")  # a venue diff message
S = TypeVar("S")  # a venue snapshot message


@dataclass(frozen=True, slots=True)
class BookRules(Generic[D, S]):
    """A venue's book: its chain rule, the converters of its snapshot and diff messages, and the
    logger its books use unless given one."""

    chain: ChainRule[D, S]
    parse_snapshot: Callable[[S, MarketContext, int], OrderBookDeltas]
    parse_diff: Callable[[D, MarketContext, int], OrderBookDeltas | None]
    logger: logging.Logger


@dataclass(slots=True)
class BookEmission:
    """What the data client must do: publish ``deltas`` in order, and get a fresh snapshot if asked."""

    deltas: list[OrderBookDeltas] = field(default_factory=list)
    request_snapshot: bool = False
    reason: str | None = None


class SyncedBook(Generic[D, S]):
    """One instrument's synchronised L2 book: the synchroniser plus the conversion of its decisions.

    Subclasses (one per venue) set :attr:`venue_rules` and expose the venue's inputs (a REST
    snapshot, an in-stream snapshot push, ...) on top of :meth:`_emit`; ``rules`` given to the
    constructor take their place.
    """

    __slots__ = (
        "_clear_on_desync",
        "_ctx",
        "_parse_diff",
        "_parse_snapshot",
        "_sync",
        "conversion_failures",
        "snapshots_seen",
    )

    venue_rules: ClassVar[BookRules[Any, Any]]

    def __init__(
        self,
        ctx: MarketContext,
        *,
        rules: BookRules[D, S] | None = None,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        clear_on_desync: bool = True,
        logger: logging.Logger | None = None,
    ) -> None:
        rules = rules or self.venue_rules
        self._ctx = ctx
        self._clear_on_desync = clear_on_desync
        self._parse_snapshot = rules.parse_snapshot
        self._parse_diff = rules.parse_diff
        self._sync: BookSynchronizer[D, S] = BookSynchronizer(
            rules.chain, max_buffer=max_buffer, name=str(ctx.instrument_id), logger=logger or rules.logger
        )
        self.conversion_failures = 0
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
    def buffered(self) -> int:
        return self._sync.buffered

    @property
    def last_update_id(self) -> int | None:
        return self._sync.last_id

    def on_diff(self, msg: D, ts_init: int) -> BookEmission:
        sync = self._sync
        last = sync.last_id
        if last is not None and sync.apply_next(msg):
            # The common case, a diff continuing a synced chain: converted straight away, with the same
            # all-or-nothing rule as :meth:`_converted` (a diff that cannot be converted loses sync).
            try:
                packet = self._parse_diff(msg, self._ctx, ts_init)
            except (ValueError, OverflowError) as exc:
                return self._conversion_failed(exc, ts_init, last)
            return BookEmission([packet] if packet is not None else [])
        return self._converted(sync.on_diff(msg), ts_init, last)

    def on_snapshot(self, snapshot: S, ts_init: int) -> BookEmission:
        self.snapshots_seen += 1
        return self._converted(self._sync.on_snapshot(snapshot), ts_init, None)

    def _converted(self, out: SyncOutput[D, S], ts_init: int, last_synced_id: int | None) -> BookEmission:
        """``out`` as deltas, all or nothing: a message that fails to convert loses sync."""
        try:
            return self._emit(out, ts_init, last_synced_id)
        # WireValueError and NautilusTrader's own checks; OverflowError from its C integer conversions.
        except (ValueError, OverflowError) as exc:
            return self._conversion_failed(exc, ts_init, last_synced_id)

    def _conversion_failed(self, exc: Exception, ts_init: int, last_synced_id: int | None) -> BookEmission:
        self.conversion_failures += 1
        reason = f"a book message could not be converted ({exc})"
        return self._emit(self._sync.request_resync(reason), ts_init, last_synced_id)

    def request_resync(self, reason: str, ts_init: int) -> BookEmission:
        last = self._sync.last_id
        return self._emit(self._sync.request_resync(reason), ts_init, last)

    def reset(self) -> None:
        self._sync.reset()

    def _emit(self, out: SyncOutput[D, S], ts_init: int, last_synced_id: int | None) -> BookEmission:
        ctx = self._ctx
        deltas: list[OrderBookDeltas] = []
        if out.snapshot is not None:
            deltas.append(self._parse_snapshot(out.snapshot, ctx, ts_init))
        parse_diff = self._parse_diff
        for diff in out.diffs:
            packet = parse_diff(diff, ctx, ts_init)
            if packet is not None:
                deltas.append(packet)
        if out.request_snapshot and last_synced_id is not None and self._clear_on_desync:
            # We had published a book and can no longer vouch for it: empty it rather than leave it stale.
            deltas.append(clear_deltas(ctx, last_synced_id, ts_init))
        return BookEmission(deltas, out.request_snapshot, out.reason)
