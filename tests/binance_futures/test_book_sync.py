"""Binance USD-M local book: the U/u/pu chain rule and the OrderBookDeltas glue (book.py).

The downstream book is a real Nautilus ``OrderBook(instrument_id, BookType.L2_MBP)`` fed with exactly what
``BinanceBookSync`` emits, compared against a reference book kept by a small venue model.
"""

from __future__ import annotations

import random
from decimal import Decimal

import msgspec
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookAction, BookType, RecordFlag
from nautilus_trader.model.objects import Price, Quantity

from adapters.binance_futures.book import BINANCE_CHAIN_RULE, BinanceBookSync, BookEmission
from adapters.binance_futures.parsing_market import MarketContext
from adapters.binance_futures.schemas_market import DepthSnapshot, DepthUpdate, decode_market_frame
from adapters.core.market.book_sync import SyncState, Verdict
from tests.binance_futures.market_instruments import BTC, FIXTURES

F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
F_LAST = int(RecordFlag.F_LAST)
TS = 1_000


def new_sync(max_buffer: int = 1000, clear_on_desync: bool = True) -> BinanceBookSync:
    return BinanceBookSync(
        MarketContext.from_instrument(BTC), max_buffer=max_buffer, clear_on_desync=clear_on_desync
    )


def diff(
    U: int,
    u: int,
    pu: int | None,
    bids: list[tuple[str, str]] | None = None,
    asks: list[tuple[str, str]] | None = None,
    t: int = 1,
) -> DepthUpdate:
    return DepthUpdate(
        event_time=t,
        transaction_time=t,
        symbol="BTCUSDT",
        first_update_id=U,
        final_update_id=u,
        prev_final_update_id=pu,
        bids=bids if bids is not None else ([] if asks else [("100.00", "1.000")]),
        asks=asks or [],
    )


def snap(last_update_id: int, bids: list[tuple[str, str]] | None = None) -> DepthSnapshot:
    return DepthSnapshot(
        last_update_id=last_update_id, bids=bids or [("100.00", "5.000")], asks=[("100.50", "1.000")]
    )


def seqs(em: BookEmission) -> list[int]:
    return [packet.deltas[-1].sequence for packet in em.deltas]


class Downstream:
    """A Nautilus L2 book fed with everything emitted."""

    def __init__(self) -> None:
        self.book = OrderBook(BTC.id, BookType.L2_MBP)

    def apply(self, em: BookEmission) -> None:
        for packet in em.deltas:
            self.book.apply_deltas(packet)

    def levels(self) -> tuple[dict[Price, Quantity], dict[Price, Quantity]]:
        bids = {lvl.price: lvl.orders()[0].size for lvl in self.book.bids()}
        asks = {lvl.price: lvl.orders()[0].size for lvl in self.book.asks()}
        return bids, asks


# --------------------------------------------------------------------------------------------------
# The chain rule itself
# --------------------------------------------------------------------------------------------------


def test_chain_rule_verdicts() -> None:
    first = BINANCE_CHAIN_RULE.first
    nxt = BINANCE_CHAIN_RULE.next
    # first event on top of lastUpdateId=100
    assert first(diff(90, 99, 89), 100) is Verdict.STALE  # u < lastUpdateId
    assert first(diff(95, 100, 94), 100) is Verdict.APPLY  # u == lastUpdateId: U <= id <= u
    assert first(diff(100, 110, 99), 100) is Verdict.APPLY
    assert first(diff(102, 110, 101), 100) is Verdict.GAP  # U > lastUpdateId: snapshot too old
    assert first(diff(102, 110, None), 100) is Verdict.GAP
    # Snapshot exactly on an event boundary: pu proves continuity although U > lastUpdateId.
    assert first(diff(101, 110, 100), 100) is Verdict.APPLY
    assert first(diff(104, 110, 97), 100) is Verdict.APPLY  # sparse ids: pu <= id <= u
    # later events after u=110
    assert nxt(diff(115, 120, 110), 110) is Verdict.APPLY  # pu == previous u (U need not be u+1)
    assert nxt(diff(111, 120, 109), 110) is Verdict.GAP
    assert nxt(diff(101, 110, 100), 110) is Verdict.STALE  # re-delivery of an applied event
    assert nxt(diff(111, 120, None), 110) is Verdict.GAP  # cannot be chained without pu
    assert BINANCE_CHAIN_RULE.snapshot_id(snap(77)) == 77
    assert BINANCE_CHAIN_RULE.last_id(diff(1, 9, 0)) == 9


# --------------------------------------------------------------------------------------------------
# Deterministic procedure
# --------------------------------------------------------------------------------------------------


def test_buffered_stale_events_are_dropped_and_bracketing_event_applied() -> None:
    sync = new_sync()
    assert sync.state is SyncState.WAITING_SNAPSHOT
    for ev in (diff(80, 90, 79), diff(91, 99, 90), diff(100, 108, 99), diff(109, 115, 108)):
        assert sync.on_diff(ev, TS).deltas == []
    em = sync.on_snapshot(snap(104), TS)
    assert em.request_snapshot is False
    assert seqs(em) == [104, 108, 115]  # snapshot packet, then the bracketing event, then its successor
    snapshot_packet = em.deltas[0].deltas
    assert snapshot_packet[0].action == BookAction.CLEAR
    assert all(d.flags & F_SNAPSHOT for d in snapshot_packet)
    assert snapshot_packet[-1].flags == F_SNAPSHOT | F_LAST
    assert all(p.deltas[-1].flags == F_LAST for p in em.deltas[1:])
    assert sync.metrics.diffs_dropped_stale == 2
    assert sync.metrics.diffs_applied == 2
    assert sync.last_update_id == 115
    assert sync.is_synced


def test_first_event_must_bracket_the_snapshot() -> None:
    sync = new_sync()
    sync.on_diff(diff(105, 110, 104), TS)
    em = sync.on_snapshot(snap(100), TS)  # 101..104 never buffered
    assert em.deltas == [] and em.request_snapshot
    assert sync.state is SyncState.RESYNC_NEEDED
    assert sync.buffered == 1
    em2 = sync.on_snapshot(snap(107), TS)
    assert seqs(em2) == [107, 110]


def test_pu_gap_requests_resync_and_emits_nothing_past_it() -> None:
    sync = new_sync()
    down = Downstream()
    down.apply(sync.on_snapshot(snap(100), TS))
    down.apply(sync.on_diff(diff(101, 105, 100, bids=[("100.00", "2.000")]), TS))
    assert down.book.best_bid_size() == Quantity.from_str("2.000")

    gap = sync.on_diff(diff(110, 112, 107, bids=[("99.00", "9.000")]), TS)  # pu 107 != 105
    assert gap.request_snapshot and gap.reason is not None and "gap" in gap.reason
    # The only thing emitted is a CLEAR: the stale book is withdrawn, nothing from the gap diff leaks.
    assert len(gap.deltas) == 1 and len(gap.deltas[0].deltas) == 1
    clear = gap.deltas[0].deltas[0]
    assert clear.action == BookAction.CLEAR and clear.flags == F_LAST and clear.sequence == 105
    down.apply(gap)
    assert down.book.bids() == [] and down.book.asks() == []

    for ev in (
        diff(113, 118, 112, bids=[("99.50", "3.000")]),
        diff(119, 120, 118, asks=[("101.00", "4.000")]),
    ):
        assert sync.on_diff(ev, TS).deltas == []
    assert sync.metrics.gaps_detected == 1 and sync.metrics.resyncs == 1

    # Fresh snapshot at 115 (mid-way through the 113..118 event): the venue book at 115.
    fresh = DepthSnapshot(
        last_update_id=115,
        bids=[("100.00", "2.000"), ("99.50", "3.000"), ("99.00", "9.000")],
        asks=[("100.50", "1.000")],
    )
    em = sync.on_snapshot(fresh, TS)
    assert seqs(em) == [115, 118, 120]
    down.apply(em)
    bids, asks = down.levels()
    assert bids == {
        Price.from_str("100.0"): Quantity.from_str("2"),
        Price.from_str("99.5"): Quantity.from_str("3"),
        Price.from_str("99.0"): Quantity.from_str("9"),
    }
    assert asks == {
        Price.from_str("100.5"): Quantity.from_str("1"),
        Price.from_str("101.0"): Quantity.from_str("4"),
    }


def test_no_clear_when_disabled_or_never_synced() -> None:
    sync = new_sync(clear_on_desync=False)
    sync.on_snapshot(snap(100), TS)
    em = sync.on_diff(diff(200, 210, 199), TS)
    assert em.request_snapshot and em.deltas == []

    never = new_sync()
    em2 = never.on_snapshot(snap(100), TS)  # empty buffer: synced on the snapshot alone
    assert seqs(em2) == [100]
    fresh = new_sync()
    fresh.on_diff(diff(300, 301, 299), TS)
    rejected = fresh.on_snapshot(snap(100), TS)
    assert rejected.request_snapshot and rejected.deltas == []  # nothing was published, nothing to clear


def test_reconnect_forces_resync_and_clears() -> None:
    sync = new_sync()
    sync.on_snapshot(snap(100), TS)
    em = sync.request_resync("websocket reconnected", TS)
    assert em.request_snapshot and em.reason == "websocket reconnected"
    assert [p.deltas[0].action for p in em.deltas] == [BookAction.CLEAR]
    assert sync.state is SyncState.RESYNC_NEEDED


def test_redelivered_event_is_stale_and_empty_event_advances_the_chain() -> None:
    sync = new_sync()
    sync.on_snapshot(snap(100), TS)
    assert seqs(sync.on_diff(diff(101, 105, 100), TS)) == [105]
    assert sync.on_diff(diff(101, 105, 100), TS).deltas == []  # duplicate
    assert sync.metrics.diffs_dropped_stale == 1
    empty = sync.on_diff(diff(106, 107, 105, bids=[], asks=[]), TS)
    assert empty.deltas == [] and not empty.request_snapshot  # nothing to publish, but chained
    assert sync.last_update_id == 107
    assert seqs(sync.on_diff(diff(108, 109, 107), TS)) == [109]


def test_a_newer_diff_that_looks_stale_exposes_a_corrupt_id() -> None:
    # Fuzz: a diff whose u was corrupted upwards (160 -> 560) made every genuine diff after it look
    # like a re-delivery; the book froze while reporting SYNCED. A diff newer than the last applied
    # one cannot be a re-delivery: the chain is wrong, and the book resyncs.
    sync = new_sync()
    sync.on_snapshot(snap(100), TS)
    assert seqs(sync.on_diff(diff(101, 560, 100, t=2), TS)) == [560]  # u should have been 160
    assert sync.on_diff(diff(101, 560, 100, t=2), TS).deltas == []  # a true duplicate stays stale
    assert sync.metrics.diffs_dropped_stale == 1 and sync.is_synced
    em = sync.on_diff(diff(161, 180, 160, t=3), TS)
    assert em.request_snapshot and not sync.is_synced
    assert [p.deltas[0].action for p in em.deltas] == [BookAction.CLEAR]
    assert sync.metrics.gaps_detected == 1


def test_redelivery_falls_back_to_event_time_without_transaction_time() -> None:
    sync = new_sync()
    sync.on_snapshot(snap(100), TS)
    applied = diff(101, 560, 100, t=5)
    sync.on_diff(msgspec.structs.replace(applied, transaction_time=None), TS)
    older = msgspec.structs.replace(diff(150, 170, 149, t=4), transaction_time=None)
    assert sync.on_diff(older, TS).deltas == [] and sync.is_synced  # not newer: a re-delivery
    newer = msgspec.structs.replace(diff(161, 180, 160, t=6), transaction_time=None)
    assert sync.on_diff(newer, TS).request_snapshot and not sync.is_synced


def test_buffer_overflow_requests_resync() -> None:
    sync = new_sync(max_buffer=4)
    u = 0
    for _ in range(4):
        assert not sync.on_diff(diff(u + 1, u + 2, u), TS).request_snapshot
        u += 2
    em = sync.on_diff(diff(u + 1, u + 2, u), TS)
    assert em.request_snapshot and em.reason is not None and "overflow" in em.reason
    assert sync.metrics.buffer_overflows == 1
    assert sync.buffered == 1


def test_real_diff_payload_chains() -> None:
    frame = decode_market_frame((FIXTURES / "depth_diff.json").read_bytes())
    ev = frame.event
    assert isinstance(ev, DepthUpdate)
    sync = new_sync()
    sync.on_diff(ev, TS)
    em = sync.on_snapshot(snap(9000000120), TS)  # U=...101 <= 120 <= u=...140
    assert seqs(em) == [9000000120, 9000000140]
    actions = [d.action for d in em.deltas[1].deltas]
    assert actions == [
        BookAction.UPDATE,
        BookAction.DELETE,
        BookAction.UPDATE,
        BookAction.UPDATE,
        BookAction.DELETE,
    ]


# --------------------------------------------------------------------------------------------------
# Property-style: random Binance-like venue, REST snapshot mid-stream, with and without lost events
# --------------------------------------------------------------------------------------------------


class BinanceLikeVenue:
    """Atomic level updates with sparse global ids (ids are shared across symbols on Binance, so they skip),
    bundled into ``depthUpdate`` events every "100 ms". A REST snapshot can be taken between any two atomic
    updates, i.e. in the middle of the event being accumulated."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.id = 1_000_000
        self.book: dict[tuple[str, int], int] = {}  # (side, price in ticks of 0.1) -> qty in 0.001
        self.last_u = self.id
        self._pending: dict[tuple[str, int], int] = {}
        self._first: int | None = None
        for _ in range(60):
            self.step()
        self.flush()

    def step(self) -> None:
        side = self.rng.choice(("b", "a"))
        price = self.rng.randrange(9_900, 10_000) if side == "b" else self.rng.randrange(10_000, 10_100)
        qty = 0 if self.rng.random() < 0.3 else self.rng.randrange(1, 5_000)
        self.id += self.rng.randrange(1, 4)
        if self._first is None:
            self._first = self.id
        if qty:
            self.book[(side, price)] = qty
        else:
            self.book.pop((side, price), None)
        self._pending[(side, price)] = qty

    def flush(self) -> DepthUpdate:
        assert self._first is not None
        levels = {
            s: [
                (f"{Decimal(p) / 10:.2f}", f"{Decimal(q) / 1000:.3f}")
                for (side, p), q in self._pending.items()
                if side == s
            ]
            for s in ("b", "a")
        }
        ev = DepthUpdate(
            event_time=1,
            transaction_time=1,
            symbol="BTCUSDT",
            first_update_id=self._first,
            final_update_id=self.id,
            prev_final_update_id=self.last_u,
            bids=levels["b"],
            asks=levels["a"],
        )
        self.last_u = self.id
        self._pending = {}
        self._first = None
        return ev

    def snapshot(self) -> DepthSnapshot:
        def side(s: str, reverse: bool) -> list[tuple[str, str]]:
            rows = sorted(((p, q) for (sd, p), q in self.book.items() if sd == s), reverse=reverse)
            return [(f"{Decimal(p) / 10:.2f}", f"{Decimal(q) / 1000:.3f}") for p, q in rows]

        return DepthSnapshot(last_update_id=self.id, bids=side("b", True), asks=side("a", False))

    def reference(self) -> tuple[dict[Price, Quantity], dict[Price, Quantity]]:
        def side(s: str) -> dict[Price, Quantity]:
            # Exact raw values (fixed scale 1e16): price in 0.1 ticks, qty in 0.001 steps.
            return {
                Price.from_raw(p * 10**15, 1): Quantity.from_raw(q * 10**13, 3)
                for (sd, p), q in self.book.items()
                if sd == s
            }

        return side("b"), side("a")


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("loss", [0.0, 0.04])
def test_random_binance_stream_matches_reference_book(seed: int, loss: float) -> None:
    rng = random.Random(1_000 + seed)
    venue = BinanceLikeVenue(rng)
    sync = new_sync(max_buffer=64)
    down = Downstream()
    # In-flight snapshot requests: [atomic updates until taken, events until delivered, snapshot]
    requests: list[list] = []

    def handle(em: BookEmission) -> None:
        down.apply(em)
        if em.request_snapshot:
            requests.append([rng.randrange(0, 12), rng.randrange(3, 8), None])

    requests.append([rng.randrange(0, 12), rng.randrange(3, 8), None])  # on subscribe
    n_events = 300
    checks = 0
    for n in range(n_events + 150):
        for _ in range(rng.randrange(1, 6)):
            venue.step()
            for r in requests:
                if r[2] is None:
                    if r[0] <= 0:
                        r[2] = venue.snapshot()  # possibly mid-event: U <= lastUpdateId <= u next
                    r[0] -= 1
        ev = venue.flush()
        lost = n < n_events and rng.random() < loss
        if not lost:
            handle(sync.on_diff(ev, TS))
        for r in requests:
            r[1] -= 1
        due = [r for r in requests if r[1] <= 0 and r[2] is not None]
        requests = [r for r in requests if r not in due]
        for r in due:
            handle(sync.on_snapshot(r[2], TS))
        if sync.is_synced and not lost:
            assert sync.last_update_id == venue.last_u
            assert down.levels() == venue.reference()
            checks += 1
        elif not sync.is_synced and sync.metrics.snapshots_applied:
            # Out of sync after having published: the downstream book was withdrawn, never left stale.
            assert down.book.bids() == [] and down.book.asks() == []
    assert sync.is_synced, sync.metrics
    assert down.levels() == venue.reference()
    assert checks > n_events // 2
    m = sync.metrics
    if loss:
        assert m.gaps_detected >= 1 and m.snapshots_applied >= 2
    else:
        assert m.gaps_detected == 0 and m.snapshots_applied == 1 and m.resyncs == 0
