"""core.book_sync: the venue-neutral sequenced-book state machine.

The rule used here is deliberately *not* Binance's: contiguous ids (a diff covers ``[first, last]`` and the
next one must start at ``last + 1``), to show the machine only knows what the ChainRule tells it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field

import pytest

from adapters.core.market.book_sync import (
    BookSynchronizer,
    ChainRule,
    SyncOutput,
    SyncState,
    Verdict,
)

Book = dict[tuple[str, int], int]  # (side, price) -> qty


@dataclass(frozen=True)
class Diff:
    first: int
    last: int
    levels: tuple[tuple[str, int, int], ...] = ()  # (side, price, absolute qty; 0 removes)


@dataclass(frozen=True)
class Snap:
    seq: int
    book: Book = field(default_factory=dict)


def _first(d: Diff, snap: int) -> Verdict:
    if d.last <= snap:
        return Verdict.STALE
    if d.first <= snap + 1:
        return Verdict.APPLY
    return Verdict.GAP


def _next(d: Diff, last: int) -> Verdict:
    if d.first == last + 1:
        return Verdict.APPLY
    if d.last <= last:
        return Verdict.STALE
    return Verdict.GAP


RULE: ChainRule[Diff, Snap] = ChainRule(
    snapshot_id=lambda s: s.seq, first=_first, next=_next, last_id=lambda d: d.last
)


def new_sync(max_buffer: int = 1000) -> BookSynchronizer[Diff, Snap]:
    return BookSynchronizer(RULE, max_buffer=max_buffer, name="TEST")


def d(first: int, last: int | None = None, *levels: tuple[str, int, int]) -> Diff:
    return Diff(first, first if last is None else last, tuple(levels))


def lasts(out: SyncOutput[Diff, Snap]) -> list[int]:
    return [x.last for x in out.diffs]


class Mirror:
    """What a downstream consumer builds from the emitted output."""

    def __init__(self) -> None:
        self.book: Book = {}

    def apply(self, out: SyncOutput[Diff, Snap]) -> None:
        if out.snapshot is not None:
            self.book = dict(out.snapshot.book)
        for diff in out.diffs:
            apply_levels(self.book, diff.levels)


def apply_levels(book: Book, levels: tuple[tuple[str, int, int], ...]) -> None:
    for side, price, qty in levels:
        if qty == 0:
            book.pop((side, price), None)
        else:
            book[(side, price)] = qty


# --------------------------------------------------------------------------------------------------
# Deterministic cases
# --------------------------------------------------------------------------------------------------


def test_initial_state_buffers_and_emits_nothing() -> None:
    sync = new_sync()
    assert sync.state is SyncState.WAITING_SNAPSHOT
    assert sync.last_id is None
    for i in range(1, 4):
        out = sync.on_diff(d(i))
        assert out == SyncOutput()
    assert sync.buffered == 3
    assert sync.metrics.max_buffered == 3
    assert sync.metrics.diffs_applied == 0


def test_snapshot_drops_stale_and_replays_from_the_bracketing_diff() -> None:
    sync = new_sync()
    for first, last in [(1, 3), (4, 6), (7, 9), (10, 12)]:
        sync.on_diff(d(first, last))
    out = sync.on_snapshot(Snap(7))  # (1,3),(4,6) contained; (7,9) brackets 7+1=8
    assert out.snapshot == Snap(7)
    assert lasts(out) == [9, 12]
    assert out.request_snapshot is False
    assert sync.state is SyncState.SYNCED
    assert sync.last_id == 12
    assert sync.buffered == 0
    m = sync.metrics
    assert (m.diffs_dropped_stale, m.diffs_applied, m.snapshots_applied) == (2, 2, 1)

    live = sync.on_diff(d(13, 15))
    assert lasts(live) == [15] and live.snapshot is None
    assert sync.last_id == 15


def test_first_diff_bracketing_rule_after_an_empty_buffer() -> None:
    sync = new_sync()
    out = sync.on_snapshot(Snap(100))
    assert out.snapshot == Snap(100) and out.diffs == ()
    assert sync.last_id == 100
    assert sync.on_diff(d(90, 100)) == SyncOutput()  # contained in the snapshot
    assert sync.metrics.diffs_dropped_stale == 1
    assert lasts(sync.on_diff(d(95, 104))) == [104]  # overlaps the snapshot: accepted (absolute qtys)
    assert sync.last_id == 104


def test_first_diff_after_snapshot_that_skips_ahead_is_a_gap() -> None:
    sync = new_sync()
    sync.on_snapshot(Snap(100))
    out = sync.on_diff(d(105, 110))  # 101..104 never seen
    assert out.request_snapshot is True and out.diffs == ()
    assert out.reason is not None and "gap" in out.reason
    assert sync.state is SyncState.RESYNC_NEEDED
    assert sync.metrics.gaps_detected == 1
    assert sync.buffered == 1  # the gap diff starts the new buffer


def test_snapshot_older_than_every_buffered_diff_is_rejected_and_buffer_kept() -> None:
    sync = new_sync()
    sync.on_diff(d(50, 55))
    sync.on_diff(d(56, 60))
    out = sync.on_snapshot(Snap(40))  # 41..49 missing
    assert out.snapshot is None and out.diffs == ()
    assert out.request_snapshot is True
    assert sync.state is SyncState.RESYNC_NEEDED
    assert sync.buffered == 2
    assert sync.metrics.snapshots_rejected == 1
    assert sync.metrics.resyncs == 1

    ok = sync.on_snapshot(Snap(57))
    assert ok.snapshot == Snap(57) and lasts(ok) == [60]
    assert sync.state is SyncState.SYNCED


def test_gap_while_synced_emits_nothing_past_the_gap() -> None:
    sync = new_sync()
    sync.on_snapshot(Snap(10))
    assert lasts(sync.on_diff(d(11, 12))) == [12]
    gap = sync.on_diff(d(15, 16))  # 13..14 lost
    assert gap.diffs == () and gap.snapshot is None and gap.request_snapshot
    assert sync.last_id is None
    # Everything afterwards is buffered, never emitted, even if it chains with the gap diff.
    for first in (17, 18, 19):
        out = sync.on_diff(d(first))
        assert out == SyncOutput()
    assert sync.buffered == 4
    assert sync.metrics.gaps_detected == 1
    assert sync.metrics.resyncs == 1

    fresh = sync.on_snapshot(Snap(17))
    assert fresh.snapshot == Snap(17) and lasts(fresh) == [18, 19]
    assert sync.metrics.diffs_dropped_stale == 2  # (15,16) and (17,17)


def test_gap_inside_the_buffer_rejects_the_snapshot() -> None:
    sync = new_sync()
    for first, last in [(5, 6), (7, 8), (11, 12), (13, 14)]:  # 9..10 missing
        sync.on_diff(d(first, last))
    out = sync.on_snapshot(Snap(5))
    assert out.snapshot is None and out.diffs == () and out.request_snapshot
    assert sync.buffered == 2  # kept from the diff that broke the chain
    assert sync.metrics.gaps_detected == 1
    ok = sync.on_snapshot(Snap(12))
    assert lasts(ok) == [14]


def test_buffer_overflow_requests_a_resync(caplog: pytest.LogCaptureFixture) -> None:
    sync = new_sync(max_buffer=3)
    for i in range(1, 4):
        assert sync.on_diff(d(i)) == SyncOutput()
    with caplog.at_level(logging.WARNING):
        out = sync.on_diff(d(4))
    assert out.request_snapshot is True
    assert out.reason is not None and "overflow" in out.reason
    assert "overflow" in caplog.text
    assert sync.buffered == 1  # only the newest diff is kept
    assert sync.metrics.buffer_overflows == 1
    assert sync.state is SyncState.RESYNC_NEEDED
    ok = sync.on_snapshot(Snap(3))
    assert lasts(ok) == [4]


def test_snapshot_while_synced_is_ignored() -> None:
    sync = new_sync()
    sync.on_snapshot(Snap(10))
    sync.on_diff(d(11))
    out = sync.on_snapshot(Snap(500))
    assert out == SyncOutput()
    assert sync.last_id == 11
    assert sync.metrics.snapshots_rejected == 1


def test_redelivered_diff_after_sync_is_stale_not_a_gap() -> None:
    sync = new_sync()
    sync.on_snapshot(Snap(10))
    sync.on_diff(d(11, 13))
    assert sync.on_diff(d(11, 13)) == SyncOutput()
    assert sync.is_synced
    assert sync.metrics.diffs_dropped_stale == 1


def test_request_resync_and_reset() -> None:
    sync = new_sync()
    sync.on_snapshot(Snap(10))
    out = sync.request_resync("stream reconnected")
    assert out.request_snapshot and out.reason == "stream reconnected"
    assert sync.state is SyncState.RESYNC_NEEDED
    sync.on_diff(d(20))
    sync.reset()
    assert sync.state is SyncState.WAITING_SNAPSHOT and sync.buffered == 0
    assert sync.metrics.resyncs == 1  # metrics survive reset


def test_invalid_buffer_size() -> None:
    with pytest.raises(ValueError):
        BookSynchronizer(RULE, max_buffer=0)


# --------------------------------------------------------------------------------------------------
# Property-style: random venue, snapshot mid-stream, with and without lost diffs
# --------------------------------------------------------------------------------------------------


class Venue:
    """Reference book with contiguous ids; each diff bundles 1..4 atomic level updates."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seq = 0
        self.book: Book = {}
        for _ in range(40):
            self._update()

    def _update(self) -> tuple[str, int, int]:
        side = self.rng.choice(("B", "A"))
        price = self.rng.randrange(1000, 1040) if side == "B" else self.rng.randrange(1040, 1080)
        qty = 0 if self.rng.random() < 0.3 else self.rng.randrange(1, 50)
        self.seq += 1
        level = (side, price, qty)
        apply_levels(self.book, (level,))
        return level

    def diff(self) -> Diff:
        first = self.seq + 1
        merged: dict[tuple[str, int], int] = {}
        for _ in range(self.rng.randrange(1, 5)):
            side, price, qty = self._update()
            merged[(side, price)] = qty  # absolute: the last write per level wins
        return Diff(first, self.seq, tuple((s, p, q) for (s, p), q in merged.items()))

    def snapshot(self) -> Snap:
        return Snap(self.seq, dict(self.book))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("loss", [0.0, 0.03])
def test_random_stream_converges_to_reference(seed: int, loss: float) -> None:
    rng = random.Random(seed)
    venue = Venue(rng)
    sync = new_sync(max_buffer=50)
    mirror = Mirror()
    # In-flight REST snapshot requests: [diffs until taken, diffs until delivered, snapshot once taken].
    requests: list[list] = []

    def ask() -> None:
        requests.append([rng.randrange(0, 3), rng.randrange(3, 8), None])

    def handle(out: SyncOutput[Diff, Snap]) -> None:
        mirror.apply(out)
        if out.request_snapshot:
            ask()

    ask()  # on subscribe
    n_diffs = 400
    for step in range(n_diffs + 200):
        diff = venue.diff()
        for r in requests:
            if r[2] is None and r[0] <= 0:
                r[2] = venue.snapshot()  # mid-stream: may fall inside the next diff's id range
            r[0] -= 1
            r[1] -= 1
        lost = step < n_diffs and rng.random() < loss
        if not lost:
            handle(sync.on_diff(diff))
        due = [r for r in requests if r[1] <= 0 and r[2] is not None]
        requests = [r for r in requests if r not in due]
        for r in due:
            handle(sync.on_snapshot(r[2]))
        if sync.is_synced and not lost:
            # Never a wrong book: whenever synced, the emitted book equals the venue's right now.
            assert sync.last_id == venue.seq
            assert mirror.book == venue.book
    assert sync.is_synced, sync.metrics
    assert mirror.book == venue.book
    if loss:
        assert sync.metrics.gaps_detected >= 1
        assert sync.metrics.resyncs >= 1
    else:
        assert sync.metrics.gaps_detected == 0
        assert sync.metrics.snapshots_applied == 1


@pytest.mark.parametrize("seed", range(8))
def test_apply_next_is_on_diff_s_apply_branch_and_nothing_else(seed: int) -> None:
    """``apply_next`` (the steady-state shortcut the book glue takes) applies exactly the diffs
    ``on_diff`` would apply, with the same state and metrics after every step, and leaves everything
    else (stale, gaps, buffering, the first diff after a snapshot) to ``on_diff`` untouched: a stream
    with lost, repeated and out-of-order diffs and snapshots fed to two synchronisers, one through
    ``on_diff`` only, one through ``apply_next`` first, stays identical."""
    rng = random.Random(seed)
    venue = Venue(rng)
    plain, shortcut = new_sync(max_buffer=30), new_sync(max_buffer=30)
    sent: list[Diff] = []
    for _ in range(600):
        r = rng.random()
        if r < 0.05 and sent:
            diff = rng.choice(sent[-5:])  # a re-delivery
        elif r < 0.08:
            venue.diff()  # lost
            continue
        else:
            diff = venue.diff()
            sent.append(diff)
        want = plain.on_diff(diff)
        last_before = shortcut.last_id
        if shortcut.apply_next(diff):
            assert last_before is not None  # only ever past a first diff of a synced chain
            assert want == SyncOutput(None, (diff,))
        else:
            assert shortcut.on_diff(diff) == want
        if rng.random() < 0.1:
            snap = venue.snapshot()
            assert shortcut.on_snapshot(snap) == plain.on_snapshot(snap)
        state = (shortcut.state, shortcut.last_id, shortcut.buffered)
        assert state == (plain.state, plain.last_id, plain.buffered)
        assert shortcut.metrics == plain.metrics
    assert plain.metrics.diffs_applied > 100 and plain.metrics.gaps_detected > 0
