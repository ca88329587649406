"""``OrderTracker`` and ``FifoDedup`` on their own: what is remembered, for how long, under which keys,
and exactly when it is forgotten (the retention boundary, re-tracked orders, ``on_forget`` hooks);
trade cursors that only move forward; the de-duplication window's bounds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId

from adapters.core.base.dedup import FifoDedup
from adapters.core.orders.order_tracking import (
    OrderTracker,
    PendingTerminal,
    Terminal,
    TrackedOrder,
    fill_key,
)


def _order(
    cid: str, *, venue_id: str | None = None, terminal: Terminal | None = None, **kw: object
) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=ClientOrderId(cid),
        strategy_id=StrategyId("S-001"),
        instrument_id=InstrumentId.from_str("ETHUSDT-PERP.BINANCE"),
        symbol="ETHUSDT",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        is_algo=False,
        venue_order_id=VenueOrderId(venue_id) if venue_id else None,
        terminal=terminal,
        **kw,  # type: ignore[arg-type]
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _tracker(retention: float = 60.0) -> tuple[OrderTracker, Clock, list[str]]:
    clock = Clock()
    tracker = OrderTracker(retention=retention, clock=clock)
    forgotten: list[str] = []
    tracker.on_forget.append(lambda o: forgotten.append(o.client_order_id.value))
    return tracker, clock, forgotten


# ------------------------------------------------------------------------------------------------
# TrackedOrder
# ------------------------------------------------------------------------------------------------


def test_a_fresh_order_knows_nothing_yet() -> None:
    o = _order("a")
    assert (o.quantity, o.filled, o.venue_filled) == (Decimal(0), Decimal(0), Decimal(0))
    assert o.price is None and o.venue_order_id is None and o.algo_id is None
    assert not (o.triggered or o.accepted or o.ambiguous or o.resync)
    assert o.terminal is None and o.pending_terminal is None and o.engine_venue_order_id is None
    assert o.amended_ts == 0 and o.venue_ids == [] and o.overfill_trade_ids == set()
    assert o.venue_created_ms is None
    assert o.is_open and not o.missing_fills and not o.needs_repair


def test_an_order_adopted_accepted_is_known_to_the_engine_under_its_venue_id() -> None:
    adopted = _order("a", venue_id="7", accepted=True, filled=Decimal("0.5"))
    assert adopted.engine_venue_order_id == VenueOrderId("7")
    assert adopted.venue_filled == Decimal("0.5") and not adopted.missing_fills
    kept = _order("b", venue_id="7", accepted=True, engine_venue_order_id=VenueOrderId("6"))
    assert kept.engine_venue_order_id == VenueOrderId("6")
    unaccepted = _order("c", venue_id="7")
    assert unaccepted.engine_venue_order_id is None
    ahead = _order("d", filled=Decimal("0.5"), venue_filled=Decimal("0.7"))
    assert ahead.venue_filled == Decimal("0.7") and ahead.missing_fills


def test_what_makes_an_order_need_repair() -> None:
    o = _order("a", filled=Decimal("0.1"))
    assert not o.needs_repair
    o.venue_filled = Decimal("0.2")
    assert o.missing_fills and o.needs_repair
    o.venue_filled = Decimal("0.1")
    o.resync = True
    assert o.needs_repair and not o.missing_fills
    o.resync = False
    o.pending_terminal = PendingTerminal(Terminal.CANCELED, Decimal("0.1"), VenueOrderId("1"), 1)
    assert o.needs_repair
    o.terminal = Terminal.CANCELED
    assert not o.is_open


def test_terminal_kinds_are_the_venue_status_names() -> None:
    assert [t.value for t in Terminal] == ["CANCELED", "EXPIRED", "REJECTED", "FILLED"]


def test_fill_keys_keep_the_two_sides_of_a_self_trade_apart() -> None:
    assert fill_key("ETHUSDT", 7, OrderSide.BUY) == ("ETHUSDT", 7, True)
    assert fill_key("ETHUSDT", 7, OrderSide.SELL) == ("ETHUSDT", 7, False)


# ------------------------------------------------------------------------------------------------
# OrderTracker: keys
# ------------------------------------------------------------------------------------------------


def test_defaults_an_hour_of_retention_and_100000_trades() -> None:
    tracker = OrderTracker()
    assert tracker.retention == 3600.0 and tracker.dedup_capacity == 100_000
    assert tracker.seen_trades.capacity == 100_000 and len(tracker.seen_trades) == 0
    assert OrderTracker(dedup_capacity=3).seen_trades.capacity == 3


def test_tracking_links_the_venue_id_and_files_open_and_closed_orders() -> None:
    tracker, _, _ = _tracker()
    a = tracker.track(_order("a", venue_id="1"))
    b = tracker.track(_order("b"))
    c = tracker.track(_order("c", venue_id="3", terminal=Terminal.FILLED))
    assert tracker.get("a") is a and tracker.get("c") is c and tracker.get("x") is None
    assert tracker.by_venue("1") is a and tracker.by_venue("3") is c and tracker.by_venue("2") is None
    assert a.venue_ids == ["1"] and b.venue_ids == []
    assert tracker.open_orders() == [a, b] and tracker.open_count == 2


def test_venue_ids_are_linked_once_and_move_to_the_newest_owner() -> None:
    tracker, _, _ = _tracker()
    a = tracker.track(_order("a", venue_id="1"))
    tracker.link_venue_id(a, "1")
    tracker.set_venue_order_id(a, VenueOrderId("1"))
    assert a.venue_ids == ["1"]
    tracker.link_venue_id(a, "2")  # found by it too, without becoming its id
    assert tracker.by_venue("2") is a and a.venue_order_id == VenueOrderId("1")
    tracker.set_venue_order_id(a, VenueOrderId("3"))
    assert a.venue_order_id == VenueOrderId("3") and a.venue_ids == ["1", "2", "3"]
    b = tracker.track(_order("b"))
    tracker.link_venue_id(b, "2")  # a cancel-replace: the id is b's now
    assert tracker.by_venue("2") is b and b.venue_ids == ["2"]


def test_closing_is_once_and_files_the_order_as_closed() -> None:
    tracker, clock, _ = _tracker()
    a = tracker.track(_order("a"))
    tracker.close(a, Terminal.CANCELED)
    tracker.close(a, Terminal.FILLED)
    assert a.terminal is Terminal.CANCELED and tracker.open_orders() == [] and tracker.open_count == 0
    clock.now += 60.0
    assert tracker.forget_expired() == 1 and tracker.get("a") is None


def test_a_terminal_set_by_hand_is_not_filed_twice_on_close() -> None:
    """An order tracked closed is filed once; closing it again changes nothing."""
    tracker, clock, forgotten = _tracker()
    c = tracker.track(_order("c", terminal=Terminal.REJECTED))
    tracker.close(c, Terminal.CANCELED)
    assert c.terminal is Terminal.REJECTED and len(tracker._closed) == 1
    clock.now += 60.0
    assert tracker.forget_expired() == 1 and forgotten == ["c"]


# ------------------------------------------------------------------------------------------------
# Retention
# ------------------------------------------------------------------------------------------------


def test_closed_orders_are_forgotten_exactly_at_the_retention_with_their_venue_ids_and_hooks() -> None:
    tracker, clock, forgotten = _tracker(retention=60.0)
    a = tracker.track(_order("a", venue_id="1"))
    tracker.link_venue_id(a, "1b")
    keep = tracker.track(_order("keep", venue_id="9"))
    tracker.close(a, Terminal.CANCELED)  # closed at 100
    clock.now = 159.9
    assert tracker.forget_expired() == 0 and tracker.get("a") is a
    clock.now = 160.0  # exactly the retention later
    assert tracker.forget_expired() == 1
    assert forgotten == ["a"] and tracker.get("a") is None
    assert tracker.by_venue("1") is None and tracker.by_venue("1b") is None
    assert tracker.by_venue("9") is keep and tracker.get("keep") is keep
    assert tracker.forget_expired() == 0 and forgotten == ["a"]


def test_closing_one_order_forgets_those_closed_long_enough_ago() -> None:
    tracker, clock, forgotten = _tracker(retention=60.0)
    old = tracker.track(_order("old"))
    tracker.close(old, Terminal.CANCELED)
    clock.now += 61.0
    new = tracker.track(_order("new"))
    tracker.close(new, Terminal.CANCELED)
    assert forgotten == ["old"] and tracker.get("new") is new


def test_every_forget_hook_sees_every_forgotten_order_in_closing_order() -> None:
    tracker, clock, first = _tracker(retention=10.0)
    second: list[str] = []
    tracker.on_forget.append(lambda o: second.append(o.client_order_id.value))
    for cid in ("a", "b", "c"):
        tracker.close(tracker.track(_order(cid)), Terminal.FILLED)
        clock.now += 1.0
    clock.now = 200.0
    assert tracker.forget_expired() == 3
    assert first == second == ["a", "b", "c"] and tracker.orders == {}


def test_a_venue_id_now_owned_by_another_order_survives_the_forgetting() -> None:
    tracker, clock, _ = _tracker(retention=10.0)
    a = tracker.track(_order("a", venue_id="1"))
    b = tracker.track(_order("b"))
    tracker.link_venue_id(b, "1")
    tracker.close(a, Terminal.CANCELED)
    clock.now += 10.0
    assert tracker.forget_expired() == 1
    assert tracker.by_venue("1") is b


def test_an_order_re_tracked_since_it_closed_is_not_forgotten() -> None:
    """A restart adoption re-tracks the same client id as open: not ours to forget."""
    tracker, clock, forgotten = _tracker(retention=10.0)
    a = tracker.track(_order("a", venue_id="1"))
    tracker.close(a, Terminal.CANCELED)
    again = tracker.track(_order("a", venue_id="1"))
    gone = tracker.track(_order("gone"))
    tracker.close(gone, Terminal.CANCELED)
    del tracker.orders["gone"]  # (dropped meanwhile by its owner)
    clock.now += 10.0
    assert tracker.forget_expired() == 0
    assert tracker.get("a") is again and tracker.by_venue("1") is again and forgotten == []


# ------------------------------------------------------------------------------------------------
# Fills and cursors
# ------------------------------------------------------------------------------------------------


def test_a_fill_is_seen_only_once_committed() -> None:
    tracker = OrderTracker()
    key = fill_key("ETHUSDT", 1, OrderSide.BUY)
    assert not tracker.is_seen(key)
    tracker.mark_seen(key)
    assert tracker.is_seen(key) and not tracker.is_seen(fill_key("ETHUSDT", 1, OrderSide.SELL))


def test_cursors_only_move_forward_and_keep_the_time_of_their_trade() -> None:
    tracker = OrderTracker()
    assert tracker.cursor("ETHUSDT") is None
    tracker.advance_cursor("ETHUSDT", 0, 1_000)  # trade id 0 is a trade too
    assert tracker.cursor("ETHUSDT") == 0 and tracker.cursor_time_ms == {"ETHUSDT": 1_000}
    tracker.advance_cursor("ETHUSDT", 5, 2_000)
    tracker.advance_cursor("ETHUSDT", 5, 9_000)  # the same trade again: not newer
    tracker.advance_cursor("ETHUSDT", 4, 9_000)  # an older one: ignored
    assert tracker.cursor("ETHUSDT") == 5 and tracker.cursor_time_ms["ETHUSDT"] == 2_000
    tracker.advance_cursor("ETHUSDT", 6)  # a trade whose time is unknown keeps the last known time
    tracker.advance_cursor("ETHUSDT", 7, 0)
    assert tracker.trade_cursor == {"ETHUSDT": 7} and tracker.cursor_time_ms["ETHUSDT"] == 2_000
    tracker.advance_cursor("BTCUSDT", 3, 5)
    assert tracker.cursor("BTCUSDT") == 3 and tracker.cursor_time_ms["BTCUSDT"] == 5


# ------------------------------------------------------------------------------------------------
# FifoDedup
# ------------------------------------------------------------------------------------------------


def test_dedup_capacity_must_be_positive_and_one_is_enough() -> None:
    with pytest.raises(ValueError, match=r"^capacity must be >= 1, was 0$"):
        FifoDedup(0)
    one: FifoDedup[str] = FifoDedup(1)
    assert one.capacity == 1
    assert one.add("a") and not one.add("a") and "a" in one and len(one) == 1
    assert one.add("b") and "a" not in one and "b" in one and len(one) == 1
    assert FifoDedup().capacity == 10_000


def test_dedup_holds_exactly_capacity_keys_and_evicts_the_oldest() -> None:
    d: FifoDedup[int] = FifoDedup(3)
    assert [d.add(k) for k in (1, 2, 3)] == [True, True, True]
    assert len(d) == 3 and all(k in d for k in (1, 2, 3))
    assert not d.add(1)  # a duplicate does not extend its life (FIFO, not LRU)
    assert d.add(4)
    assert 1 not in d and [k in d for k in (2, 3, 4)] == [True, True, True] and len(d) == 3
    assert d.add(1)  # forgotten: new again
    d.clear()
    assert len(d) == 0 and 2 not in d and d.add(2)


def test_forgetting_goes_on_past_an_order_re_tracked_since() -> None:
    tracker, clock, forgotten = _tracker(retention=10.0)
    a = tracker.track(_order("a"))
    b = tracker.track(_order("b"))
    tracker.close(a, Terminal.CANCELED)
    tracker.close(b, Terminal.CANCELED)
    tracker.track(_order("a"))  # re-tracked open
    clock.now += 10.0
    assert tracker.forget_expired() == 1 and forgotten == ["b"] and tracker.get("a") is not None


def test_closing_an_order_the_tracker_does_not_hold_open_only_marks_it() -> None:
    tracker, _, _ = _tracker(retention=10.0)
    stray = _order("stray")
    tracker.close(stray, Terminal.CANCELED)
    assert stray.terminal is Terminal.CANCELED and len(tracker._closed) == 0
