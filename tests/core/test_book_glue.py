"""SyncedBook: synchroniser decisions -> OrderBookDeltas (adapters.core.market.book_glue)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.identifiers import InstrumentId

from adapters.core.market.book_glue import BookRules, SyncedBook
from adapters.core.market.book_sync import ChainRule, SyncState, Verdict
from adapters.core.market.market_context import MarketContext
from adapters.core.market.market_parsing import F_LAST, snapshot_deltas, update_deltas

IID = InstrumentId.from_str("BTCUSDT-PERP.TEST")


@dataclass
class Msg:
    id: int
    bids: list[tuple[str, str]]


def _next(d: Msg, last: int) -> Verdict:
    if d.id == last + 1:
        return Verdict.APPLY
    return Verdict.STALE if d.id <= last else Verdict.GAP


RULE: ChainRule[Msg, Msg] = ChainRule(
    snapshot_id=lambda s: s.id, first=_next, next=_next, last_id=lambda d: d.id
)


def book(clear_on_desync: bool = True) -> SyncedBook[Msg, Msg]:
    rules: BookRules[Msg, Msg] = BookRules(
        RULE,
        lambda s, c, ts: snapshot_deltas(c, s.bids, [], s.id, ts, ts),
        lambda d, c, ts: update_deltas(c, d.bids, [], d.id, ts, ts),
        logging.getLogger("test"),
    )
    return SyncedBook(MarketContext(IID, 2, 3), rules=rules, clear_on_desync=clear_on_desync)


def test_snapshot_then_diffs_then_clear_on_gap() -> None:
    b = book()
    assert b.state is SyncState.WAITING_SNAPSHOT
    assert b.on_diff(Msg(11, [("1.00", "2.000")]), 1).deltas == []  # buffered
    assert b.buffered == 1
    em = b.on_snapshot(Msg(10, [("1.00", "1.000")]), 2)
    assert b.is_synced and b.last_update_id == 11 and len(em.deltas) == 2
    assert em.deltas[0].deltas[0].action == BookAction.CLEAR
    em = b.on_diff(Msg(13, [("1.00", "3.000")]), 3)  # 12 missing
    assert em.request_snapshot and em.reason
    (clear,) = em.deltas
    assert [(d.action, d.flags, d.sequence) for d in clear.deltas] == [(BookAction.CLEAR, F_LAST, 11)]
    assert b.metrics.gaps_detected == 1


def test_no_clear_before_a_book_was_published_or_when_disabled() -> None:
    b = book()
    em = b.request_resync("reconnect", 1)
    assert em.request_snapshot and em.deltas == []
    b2 = book(clear_on_desync=False)
    b2.on_snapshot(Msg(1, []), 1)
    em = b2.request_resync("reconnect", 2)
    assert em.request_snapshot and em.deltas == []


def test_reset_back_to_waiting() -> None:
    b = book()
    b.on_snapshot(Msg(1, []), 1)
    b.reset()
    assert b.state is SyncState.WAITING_SNAPSHOT and b.last_update_id is None


def test_a_diff_that_cannot_be_converted_loses_sync_instead_of_being_skipped() -> None:
    """The synchroniser had already taken the diff into its chain: skipping its conversion left the
    book SYNCED with a level the venue had deleted still published. It is a gap: cleared, resynced."""
    b = book()
    b.on_snapshot(Msg(10, [("1.00", "1.000")]), 1)
    assert b.is_synced
    em = b.on_diff(Msg(11, [("99999999999999999999.00", "0.000")]), 2)  # beyond NautilusTrader's range
    assert not b.is_synced and em.request_snapshot
    (clear,) = em.deltas  # nothing of the bad diff, only the clear of the published book
    assert [(d.action, d.sequence) for d in clear.deltas] == [(BookAction.CLEAR, 10)]
    assert b.conversion_failures == 1
    em = b.on_diff(Msg(12, [("-1.00", "1.000")]), 3)  # a non-positive price is not believed either
    assert em.deltas == [] and not b.is_synced  # buffered until the fresh snapshot
    em = b.on_snapshot(Msg(12, [("1.00", "5.000")]), 4)
    assert b.is_synced and b.last_update_id == 12


def test_a_diff_that_cannot_be_converted_in_the_steady_state_loses_sync_too() -> None:
    """Past the first diff the glue converts a diff continuing the chain straight away (the steady
    state's shortcut); a conversion failure there is the same gap: nothing of it, the published book
    cleared at the last good id, resync."""
    b = book()
    b.on_snapshot(Msg(10, [("1.00", "1.000")]), 1)
    em = b.on_diff(Msg(11, [("1.00", "2.000")]), 2)  # the first diff: the general path
    assert [d.order.size.as_double() for d in em.deltas[0].deltas] == [2.0]
    em = b.on_diff(Msg(12, [("2.00", "1.000"), ("1.00", "0.000")]), 3)  # the shortcut
    assert [d.action for d in em.deltas[0].deltas] == [BookAction.UPDATE, BookAction.DELETE]
    assert em.deltas[0].deltas[-1].flags == F_LAST and b.last_update_id == 12 and not em.request_snapshot
    em = b.on_diff(Msg(13, [("99999999999999999999.00", "1.000")]), 4)
    assert not b.is_synced and em.request_snapshot
    (clear,) = em.deltas
    assert [(d.action, d.sequence) for d in clear.deltas] == [(BookAction.CLEAR, 12)]
    assert b.conversion_failures == 1 and b.metrics.resyncs == 1
