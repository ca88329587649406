"""Binance USD-M local order book: the venue's chain rule for
:mod:`adapters.core.market.book_sync`, and the glue that turns the synchroniser's decisions into
``OrderBookDeltas``.

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
  already applied -> STALE (dropped, counted), not a gap: applying it would move the book backwards -
  unless it is newer (``T``, else ``E``) than the last applied event: then the last ``u`` was wrong and
  the chain cannot be trusted -> GAP;
* an event without ``pu`` cannot be chained -> GAP.
* On losing sync after having emitted a book, a lone ``CLEAR`` is emitted (``clear_on_desync=True``) so the
  downstream Nautilus book is empty until the next snapshot instead of silently stale.
"""

from __future__ import annotations

import logging
from typing import Final

from adapters.binance_futures.parsing_market import parse_book_snapshot, parse_depth_diff
from adapters.binance_futures.schemas_market import DepthSnapshot, DepthUpdate
from adapters.core.market.book_glue import BookEmission, BookRules, SyncedBook
from adapters.core.market.book_sync import ChainRule, Verdict

__all__ = ["BINANCE_CHAIN_RULE", "BinanceBookSync", "BookEmission"]

_log = logging.getLogger(__name__)

_APPLY: Final = Verdict.APPLY
_STALE: Final = Verdict.STALE
_GAP: Final = Verdict.GAP


def _snapshot_id(snapshot: DepthSnapshot) -> int:
    return snapshot.last_update_id


# The update ids one diff spans (``u - U``): a few hundred per 100 ms on the busiest symbols. A diff
# claiming more is not believed (a corrupt ``u`` would make every later diff look stale, freezing a
# book that still reports itself synced); it is a gap, and the book resyncs.
MAX_DIFF_SPAN: Final = 10_000_000


def _implausible(diff: DepthUpdate) -> bool:
    span = diff.final_update_id - diff.first_update_id
    return span < 0 or span > MAX_DIFF_SPAN


def _first(diff: DepthUpdate, snapshot_id: int) -> Verdict:
    """First event on a snapshot: ``u < id`` stale; ``U <= id <= u`` or ``pu <= id <= u`` apply; else gap."""
    if _implausible(diff):
        return _GAP
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
    if _implausible(diff):
        return _GAP
    pu = diff.prev_final_update_id
    if pu is not None and pu == last_id:
        return _APPLY
    if pu is not None and diff.final_update_id <= last_id:
        return _STALE
    return _GAP


def _last_id(diff: DepthUpdate) -> int:
    return diff.final_update_id


def _is_redelivery(diff: DepthUpdate, last_applied: DepthUpdate) -> bool:
    """A re-delivered diff is not newer than the last applied one (one symbol's events are time-ordered);
    a newer diff that looks stale follows a corrupt ``u`` (fuzz: ``u`` 160 -> 560 froze a SYNCED book)."""
    if diff.transaction_time is not None and last_applied.transaction_time is not None:
        return diff.transaction_time <= last_applied.transaction_time
    return diff.event_time <= last_applied.event_time


BINANCE_CHAIN_RULE: Final[ChainRule[DepthUpdate, DepthSnapshot]] = ChainRule(
    snapshot_id=_snapshot_id, first=_first, next=_next, last_id=_last_id, is_redelivery=_is_redelivery
)


class BinanceBookSync(SyncedBook[DepthUpdate, DepthSnapshot]):
    """One instrument's synchronised L2 book: feed it diffs and REST snapshots, publish what it returns.

    The caller requests the first snapshot right after subscribing to ``<sym>@depth@100ms`` (the state starts
    as WAITING_SNAPSHOT), and another one whenever an emission has ``request_snapshot`` set. Keeping at most
    one request in flight (ignoring ``request_snapshot`` while one is pending) is safe: a snapshot that turns
    out too old is rejected by the chain rule, and that rejection asks again. After a WebSocket reconnect the
    caller must call :meth:`request_resync`: diffs from two connections cannot be chained.
    """

    __slots__ = ()

    venue_rules = BookRules(BINANCE_CHAIN_RULE, parse_book_snapshot, parse_depth_diff, _log)
