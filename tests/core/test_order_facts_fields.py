"""``OrderFacts``: every field of every event it sends (not only kind and client id), the engine's own
view (events it already applied are not sent again), the venue-id migration of a triggered algo
order, overfill escalation once per trade id, and the rejected-then-live path.

A wrong strategy id, instrument id, timestamp or venue order id is an event NautilusTrader applies
to the wrong order or at the wrong time (or refuses: a fill under a venue id the engine does not
hold is lost) — so they are asserted in the recorded sink calls, field by field.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, PositionId, TradeId, VenueOrderId
from nautilus_trader.model.objects import Money, Price, Quantity

from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import (
    OrderTracker,
    PendingTerminal,
    Terminal,
    TrackedOrder,
    fill_key,
)
from tests.binance_futures.user_frames import ALGO_CID, CID, ETH, STRATEGY, RecordingSink, tracked

VOI = VenueOrderId("4200000001")
ALGO_VOI = VenueOrderId("7700000001")
TRIGGERED_VOI = VenueOrderId("4200000077")
LOG = logging.getLogger("tests.order_facts_fields")


def QTY(q: Decimal) -> Quantity:
    return Quantity.from_str(f"{q:f}")


def PX(p: Decimal) -> Price:
    return Price.from_str(f"{p:f}")


class Facts:
    """OrderFacts over a recording sink, with the engine's status and the callbacks observable."""

    def __init__(self, *, expired_as_canceled: bool = False, with_engine: bool = True) -> None:
        self.tracker = OrderTracker()
        self.sink = RecordingSink()
        self.requests: list[str] = []  # every request_fills call, not de-duplicated
        self.engine: dict[str, OrderStatus] = {}
        self.status_asked: list[ClientOrderId] = []
        self.live_after_rejected: list[tuple[str, VenueOrderId]] = []

        def engine_status(cid: ClientOrderId) -> OrderStatus | None:
            self.status_asked.append(cid)
            return self.engine.get(cid.value)

        self.facts = OrderFacts(
            self.tracker,
            self.sink,
            treat_expired_as_canceled=expired_as_canceled,
            request_fills=lambda o: self.requests.append(o.client_order_id.value),
            engine_status=engine_status if with_engine else None,
            on_live_after_rejected=lambda o, v: self.live_after_rejected.append((o.client_order_id.value, v)),
            logger=LOG,
        )

    def track(self, cid: str = CID, **kwargs: Any) -> TrackedOrder:
        return self.tracker.track(tracked(cid, **kwargs))

    def fill(
        self,
        order: TrackedOrder,
        trade_id: int,
        qty: str,
        *,
        venue_order_id: VenueOrderId = VOI,
        position: PositionId | None = None,
        ts: int = 5,
        venue_cum: Decimal | None = None,
    ) -> bool:
        return self.facts.filled(
            order,
            trade_id,
            venue_order_id,
            position,
            Quantity.from_str(qty),
            Decimal(qty),
            Price.from_str("3150.10"),
            USDT,
            Money.from_str("0.01 USDT"),
            LiquiditySide.TAKER,
            ts,
            venue_cum,
        )

    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        return [(kind, {k: v for k, v in args.items() if k != "self"}) for kind, args in self.sink.calls]


def _ids(**fields: Any) -> dict[str, Any]:
    return {"strategy_id": STRATEGY, "instrument_id": ETH, "client_order_id": ClientOrderId(CID), **fields}


# ------------------------------------------------------------------------------------------------
# Every field of every event
# ------------------------------------------------------------------------------------------------


def test_accepted_filled_canceled_carry_every_field() -> None:
    f = Facts()
    order = f.track()
    position = PositionId("ETHUSDT-PERP.BINANCE-SHORT")
    assert f.fill(order, 11, "0.100", position=position, ts=7)
    f.facts.canceled(order, VOI, Decimal("0.100"), 9)
    assert f.calls() == [
        ("accepted", _ids(venue_order_id=VOI, ts_event=7)),
        (
            "filled",
            _ids(
                venue_order_id=VOI,
                venue_position_id=position,
                trade_id=TradeId("11"),
                order_side=OrderSide.SELL,
                order_type=OrderType.LIMIT,
                last_qty=Quantity.from_str("0.100"),
                last_px=Price.from_str("3150.10"),
                quote_currency=USDT,
                commission=Money.from_str("0.01 USDT"),
                liquidity_side=LiquiditySide.TAKER,
                ts_event=7,
            ),
        ),
        ("canceled", _ids(venue_order_id=VOI, ts_event=9)),
    ]
    assert order.accepted and order.venue_order_id == VOI and order.engine_venue_order_id == VOI
    assert f.tracker.by_venue("4200000001") is order


@pytest.mark.parametrize(("as_canceled", "kind"), [(False, "expired"), (True, "canceled")])
def test_expired_carries_every_field(as_canceled: bool, kind: str) -> None:
    f = Facts(expired_as_canceled=as_canceled)
    order = f.track()
    f.facts.accepted(order, VOI, 1)
    f.facts.expired(order, VOI, Decimal(0), 12)
    assert f.calls()[-1] == (kind, _ids(venue_order_id=VOI, ts_event=12))
    assert order.terminal is (Terminal.CANCELED if as_canceled else Terminal.EXPIRED)


@pytest.mark.parametrize("post_only", [True, False])
def test_rejected_carries_every_field_and_settles_the_submit(post_only: bool) -> None:
    f = Facts()
    order = f.track()
    order.ambiguous = True
    f.facts.rejected(order, "-5022: would take", 13, due_post_only=post_only)
    assert f.calls() == [
        ("rejected", _ids(reason="-5022: would take", ts_event=13, due_post_only=post_only)),
    ]
    assert order.ambiguous is False and order.terminal is Terminal.REJECTED
    assert f.status_asked == [ClientOrderId(CID)]


def test_rejected_defaults_to_not_post_only() -> None:
    f = Facts()
    f.facts.rejected(f.track(), "-2019", 1)
    assert f.sink.args("rejected")[0]["due_post_only"] is False


def test_an_amendment_carries_every_field_and_a_price_left_as_it_was() -> None:
    f = Facts()
    order = f.track()
    f.facts.accepted(order, VOI, 1)
    f.facts.amended(order, VOI, Decimal("0.300"), None, QTY, PX, 20)
    assert f.calls()[-1] == (
        "updated",
        _ids(
            venue_order_id=VOI,
            quantity=Quantity.from_str("0.300"),
            price=Price.from_str("3150.10"),
            trigger_price=None,
            ts_event=20,
            venue_order_id_modified=False,
        ),
    )
    assert order.quantity == Decimal("0.300") and order.price == Decimal("3150.10") and order.amended_ts == 20


def test_an_amendment_of_an_order_without_a_price_sends_none() -> None:
    f = Facts()
    order = f.track(price=None)
    f.facts.accepted(order, VOI, 1)
    f.facts.amended(order, VOI, Decimal("0.300"), None, QTY, PX, 20)
    assert f.sink.args("updated")[0]["price"] is None


def test_a_replayed_older_amendment_never_reverts_and_an_equal_one_only_advances_time() -> None:
    f = Facts()
    order = f.track()
    f.facts.accepted(order, VOI, 1)
    f.facts.amended(order, VOI, Decimal("0.300"), Decimal("3151"), QTY, PX, 20)
    f.facts.amended(order, VOI, Decimal("0.250"), Decimal("3150.10"), QTY, PX, 19)
    assert order.quantity == Decimal("0.300") and order.price == Decimal("3151")
    # The same values again, later: nothing sent, but it is now the newest amendment seen.
    f.facts.amended(order, VOI, Decimal("0.300"), Decimal("3151"), QTY, PX, 30)
    assert order.amended_ts == 30
    f.facts.amended(order, VOI, Decimal("0.300"), Decimal("3151"), QTY, PX, 25)
    assert order.amended_ts == 30
    f.facts.amended(order, VOI, Decimal("0.400"), Decimal("3151"), QTY, PX, 29)
    assert order.quantity == Decimal("0.300")
    # Same time as the newest: applied (not older).
    f.facts.amended(order, VOI, Decimal("0.400"), Decimal("3151"), QTY, PX, 30)
    assert order.quantity == Decimal("0.400")
    assert [a["ts_event"] for a in f.sink.args("updated")] == [20, 30]


# ------------------------------------------------------------------------------------------------
# A triggered algo order moves to its new venue id
# ------------------------------------------------------------------------------------------------


def _algo(f: Facts, order_type: OrderType = OrderType.STOP_LIMIT) -> TrackedOrder:
    order = f.track(ALGO_CID, side=OrderSide.BUY, order_type=order_type)
    f.facts.accepted(order, ALGO_VOI, 1)
    return order


def _algo_ids(**fields: Any) -> dict[str, Any]:
    return {
        "strategy_id": STRATEGY,
        "instrument_id": ETH,
        "client_order_id": ClientOrderId(ALGO_CID),
        **fields,
    }


def test_triggered_is_sent_under_the_id_the_engine_holds() -> None:
    f = Facts()
    order = _algo(f)
    f.facts.triggered(order, 30)
    assert f.calls()[-1] == ("triggered", _algo_ids(venue_order_id=ALGO_VOI, ts_event=30))


def test_triggered_after_the_engine_moved_to_the_new_id_uses_the_new_id() -> None:
    """The triggered order's NEW arrived first: the engine holds the new id, and a TRIGGERED under
    the old one would be refused."""
    f = Facts()
    order = _algo(f)
    f.facts.venue_id_changed(order, TRIGGERED_VOI, 31)
    f.facts.triggered(order, 32)
    assert f.calls()[-2:] == [
        (
            "updated",
            _algo_ids(
                venue_order_id=TRIGGERED_VOI,
                quantity=Quantity.from_str("0.300"),
                price=None,
                trigger_price=None,
                ts_event=31,
                venue_order_id_modified=True,
            ),
        ),
        ("triggered", _algo_ids(venue_order_id=TRIGGERED_VOI, ts_event=32)),
    ]
    assert order.venue_order_id == TRIGGERED_VOI and order.engine_venue_order_id == TRIGGERED_VOI
    assert f.tracker.by_venue("4200000077") is order and f.tracker.by_venue("7700000001") is order


def test_triggered_for_an_order_the_engine_has_no_id_for_uses_the_venue_id() -> None:
    f = Facts()
    order = _algo(f)
    order.engine_venue_order_id = None  # (an order adopted before its id was known)
    f.facts.triggered(order, 33)
    assert f.sink.args("triggered")[0]["venue_order_id"] == ALGO_VOI


def test_triggered_is_sent_once_and_never_for_a_closed_order() -> None:
    f = Facts()
    order = _algo(f)
    f.facts.triggered(order, 30)
    f.facts.triggered(order, 31)
    closed = f.track("O-closed", side=OrderSide.BUY, order_type=OrderType.STOP_LIMIT)
    f.facts.accepted(closed, VenueOrderId("1"), 1)
    f.facts.canceled(closed, VenueOrderId("1"), Decimal(0), 2)
    f.facts.triggered(closed, 3)
    assert f.sink.kinds() == ["accepted", "triggered", "accepted", "canceled"]
    assert not closed.triggered


def test_a_fill_under_the_triggered_orders_id_re_keys_the_order_and_moves_the_engine_first() -> None:
    f = Facts()
    order = _algo(f, OrderType.STOP_MARKET)
    f.facts.triggered(order, 30)  # market-type: no TRIGGERED event
    assert f.fill(order, 21, "0.300", venue_order_id=TRIGGERED_VOI, ts=40)
    kinds = [k for k, _ in f.calls()]
    assert kinds == ["accepted", "updated", "filled"]
    updated, filled = f.calls()[1][1], f.calls()[2][1]
    assert updated["venue_order_id"] == TRIGGERED_VOI and updated["venue_order_id_modified"] is True
    assert updated["quantity"] == Quantity.from_str("0.300") and updated["ts_event"] == 40
    assert filled["venue_order_id"] == TRIGGERED_VOI and filled["order_type"] == OrderType.STOP_MARKET
    assert order.venue_order_id == TRIGGERED_VOI and order.engine_venue_order_id == TRIGGERED_VOI
    assert f.tracker.by_venue("4200000077") is order and order.venue_ids == ["7700000001", "4200000077"]
    # Its final state under the new id needs no second move.
    f.facts.fully_filled(order)
    assert order.terminal is Terminal.FILLED and kinds == [k for k, _ in f.calls()]


def test_a_venue_id_change_of_a_closed_order_re_keys_it_but_tells_the_engine_nothing() -> None:
    f = Facts()
    order = _algo(f)
    f.facts.canceled(order, ALGO_VOI, Decimal(0), 2)
    f.facts.venue_id_changed(order, TRIGGERED_VOI, 3)
    assert f.sink.kinds() == ["accepted", "canceled"]
    assert f.tracker.by_venue("4200000077") is order and order.engine_venue_order_id == ALGO_VOI


def test_a_venue_id_change_to_the_same_id_adds_nothing() -> None:
    f = Facts()
    order = _algo(f)
    f.facts.venue_id_changed(order, ALGO_VOI, 3)
    assert f.sink.kinds() == ["accepted"] and order.venue_ids == ["7700000001"]


def test_a_terminal_under_a_new_id_moves_the_engine_first() -> None:
    f = Facts()
    order = _algo(f)
    f.facts.canceled(order, TRIGGERED_VOI, Decimal(0), 50)
    assert [(k, a["venue_order_id"], a["ts_event"]) for k, a in f.calls()[1:]] == [
        ("updated", TRIGGERED_VOI, 50),
        ("canceled", TRIGGERED_VOI, 50),
    ]


def test_an_amendment_under_a_new_id_moves_the_engine_first() -> None:
    f = Facts()
    order = _algo(f)
    f.facts.amended(order, TRIGGERED_VOI, Decimal("0.5"), Decimal("3000"), QTY, PX, 60)
    assert [(k, a["venue_order_id"], a["venue_order_id_modified"]) for k, a in f.calls()[1:]] == [
        ("updated", TRIGGERED_VOI, True),
        ("updated", TRIGGERED_VOI, False),
    ]


# ------------------------------------------------------------------------------------------------
# Accepted: implied, once, and not when the engine already has it
# ------------------------------------------------------------------------------------------------


def test_accepted_keeps_the_first_venue_id_and_settles_ambiguity() -> None:
    f = Facts()
    order = f.track()
    order.ambiguous = True
    f.facts.accepted(order, VOI, 3)
    f.facts.accepted(order, VenueOrderId("999"), 4)
    assert order.venue_order_id == VOI and order.ambiguous is False
    assert f.sink.kinds() == ["accepted"] and f.tracker.by_venue("999") is None


@pytest.mark.parametrize("status", [OrderStatus.INITIALIZED, OrderStatus.SUBMITTED])
def test_accepted_is_sent_while_the_engine_has_not_accepted(status: OrderStatus) -> None:
    f = Facts()
    f.engine[CID] = status
    f.facts.accepted(f.track(), VOI, 3)
    assert f.sink.kinds() == ["accepted"] and f.facts.engine_accepted == 0


def test_accepted_is_not_sent_again_when_the_engine_accepted_already() -> None:
    f = Facts()
    f.engine[CID] = OrderStatus.ACCEPTED
    order = f.track()
    f.facts.accepted(order, VOI, 3)
    other = f.track("O-2")
    f.engine["O-2"] = OrderStatus.PARTIALLY_FILLED
    f.facts.accepted(other, VenueOrderId("2"), 3)
    assert f.sink.kinds() == [] and f.facts.engine_accepted == 2
    assert order.accepted and order.engine_venue_order_id == VOI
    assert f.status_asked == [ClientOrderId(CID), ClientOrderId("O-2")]


def test_without_an_engine_view_every_first_acceptance_is_sent() -> None:
    f = Facts(with_engine=False)
    f.facts.accepted(f.track(), VOI, 3)
    assert f.sink.kinds() == ["accepted"]


@pytest.mark.parametrize(
    "status", [OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.DENIED]
)
def test_a_terminal_the_engine_applied_itself_is_not_sent_again(status: OrderStatus) -> None:
    f = Facts()
    order = f.track()
    f.facts.accepted(order, VOI, 1)
    f.engine[CID] = status
    f.facts.canceled(order, VOI, Decimal(0), 2)
    other = f.track("O-2")
    f.engine["O-2"] = status
    f.facts.rejected(other, "x", 3)
    assert f.sink.kinds() == ["accepted"]
    assert order.terminal is Terminal.CANCELED and other.terminal is Terminal.REJECTED


def test_a_terminal_is_sent_while_the_engine_still_has_the_order_open() -> None:
    f = Facts()
    order = f.track()
    f.facts.accepted(order, VOI, 1)
    f.engine[CID] = OrderStatus.PENDING_CANCEL
    f.facts.canceled(order, VOI, Decimal(0), 2)
    assert f.sink.kinds() == ["accepted", "canceled"]


# ------------------------------------------------------------------------------------------------
# Rejected, then live on the venue
# ------------------------------------------------------------------------------------------------


def test_an_order_declared_rejected_but_live_on_the_venue_is_handed_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    f = Facts()
    order = f.track()
    f.facts.rejected(order, "timeout: given up", 1)
    with caplog.at_level(logging.ERROR, logger=LOG.name):
        f.facts.accepted(order, VOI, 2)
        assert f.fill(order, 31, "0.100")
    assert f.live_after_rejected == [(CID, VOI), (CID, VOI)]
    assert (
        caplog.messages
        == [
            f"order {CID} was declared rejected but the venue shows it live as 4200000001; "
            "canceling it on the venue"
        ]
        * 2
    )
    # The fill is real: it reaches the engine; no second acceptance is invented.
    assert f.sink.kinds() == ["rejected", "filled"] and order.filled == Decimal("0.100")
    assert order.venue_order_id == VOI


def test_rejected_is_ignored_for_a_closed_order() -> None:
    f = Facts()
    order = f.track()
    f.facts.accepted(order, VOI, 1)
    f.facts.canceled(order, VOI, Decimal(0), 2)
    order.ambiguous = True
    f.facts.rejected(order, "late", 3)
    assert f.sink.kinds() == ["accepted", "canceled"] and order.ambiguous is True


# ------------------------------------------------------------------------------------------------
# Fills: duplicates, overfills, the venue's cumulative quantity
# ------------------------------------------------------------------------------------------------


def test_a_duplicate_fill_still_reports_the_venues_cumulative_quantity() -> None:
    f = Facts()
    order = f.track()
    assert f.fill(order, 1, "0.100", venue_cum=Decimal("0.100"))
    assert not f.fill(order, 1, "0.100", venue_cum=Decimal("0.200"))
    assert f.facts.duplicates_dropped == 1
    assert order.venue_filled == Decimal("0.200") and f.requests == [CID]  # a fill is missing
    assert not f.fill(order, 1, "0.100")
    assert f.facts.duplicates_dropped == 2 and f.requests == [CID]


def test_a_fill_reporting_what_was_emitted_requests_nothing() -> None:
    f = Facts()
    order = f.track()
    assert f.fill(order, 1, "0.100", venue_cum=Decimal("0.100"))
    assert f.fill(order, 2, "0.150", venue_cum=Decimal("0.250"))
    assert f.requests == [] and order.filled == order.venue_filled == Decimal("0.250")
    # A stream fill ahead of an earlier one lost: the missing one is fetched.
    other = f.track("O-2")
    assert f.fill(other, 4, "0.100", venue_order_id=VenueOrderId("2"), venue_cum=Decimal("0.200"))
    assert f.requests == ["O-2"] and other.venue_filled == Decimal("0.200")


def test_an_overfill_is_escalated_once_per_trade_id(caplog: pytest.LogCaptureFixture) -> None:
    f = Facts()
    order = f.track()  # 0.250
    assert f.fill(order, 1, "0.200")
    with caplog.at_level(logging.ERROR, logger=LOG.name):
        assert not f.fill(order, 2, "0.100", venue_cum=Decimal("0.300"))
        assert not f.fill(order, 2, "0.100", venue_cum=Decimal("0.300"))  # the same trade again
        assert not f.fill(order, 3, "0.100")  # another trade that would overfill: escalated too
    assert f.facts.overfills == 3
    assert f.requests == [CID, CID]
    assert order.overfill_trade_ids == {2, 3} and order.resync
    assert order.venue_filled == Decimal("0.300") and order.filled == Decimal("0.200")
    assert caplog.messages == [
        f"fill {t} of order {CID} not emitted: 0.200 filled + 0.100 would exceed its quantity 0.250; "
        "reconciling with the venue"
        for t in (2, 3)
    ]
    assert not f.tracker.is_seen(fill_key("ETHUSDT", 2, OrderSide.SELL))


def test_an_overfill_never_lowers_the_venues_quantity() -> None:
    f = Facts()
    order = f.track()
    assert f.fill(order, 1, "0.200", venue_cum=Decimal("0.240"))
    assert not f.fill(order, 2, "0.100", venue_cum=Decimal("0.100"))
    assert order.venue_filled == Decimal("0.240")


def test_a_fill_exactly_to_the_quantity_is_emitted() -> None:
    f = Facts()
    order = f.track()
    assert f.fill(order, 1, "0.150") and f.fill(order, 2, "0.100")
    assert order.filled == order.quantity and f.facts.overfills == 0


def test_a_held_terminal_is_released_by_the_fill_that_completes_it_with_its_own_fields() -> None:
    f = Facts()
    order = f.track()
    f.facts.accepted(order, VOI, 1)
    f.facts.canceled(order, VOI, Decimal("0.200"), 70)
    assert order.pending_terminal == PendingTerminal(Terminal.CANCELED, Decimal("0.200"), VOI, 70)
    assert f.facts.terminals_held == 1 and f.requests == [CID]
    f.facts.expired(order, VOI, Decimal("0.200"), 71)  # a second terminal while held: not re-held
    assert f.facts.terminals_held == 1 and f.requests == [CID, CID]
    assert f.fill(order, 1, "0.100", ts=72)
    assert order.pending_terminal is not None
    assert f.fill(order, 2, "0.100", ts=73)
    assert f.calls()[-1] == ("canceled", _ids(venue_order_id=VOI, ts_event=70))
    assert order.pending_terminal is None and order.terminal is Terminal.CANCELED


def test_a_terminal_for_an_unaccepted_order_implies_its_acceptance() -> None:
    f = Facts()
    order = f.track()
    f.facts.canceled(order, VOI, Decimal(0), 80)
    assert f.calls() == [
        ("accepted", _ids(venue_order_id=VOI, ts_event=80)),
        ("canceled", _ids(venue_order_id=VOI, ts_event=80)),
    ]


def test_fully_filled_waits_for_missing_fills() -> None:
    f = Facts()
    order = f.track()
    f.facts.note_venue_filled(order, Decimal("0.250"))
    f.facts.note_venue_filled(order, Decimal("0.100"))  # never lowered
    assert order.venue_filled == Decimal("0.250") and f.requests == []
    f.facts.fully_filled(order)
    assert order.terminal is None
    assert f.fill(order, 1, "0.250")
    f.facts.fully_filled(order)
    assert order.terminal is Terminal.FILLED


def test_fill_keys_name_the_buy_side() -> None:
    assert fill_key("ETHUSDT", 7, OrderSide.BUY) == ("ETHUSDT", 7, True)
    assert fill_key("ETHUSDT", 7, OrderSide.SELL) == ("ETHUSDT", 7, False)


def test_every_held_terminal_is_counted() -> None:
    f = Facts()
    for cid in ("a", "b"):
        order = f.track(cid)
        f.facts.canceled(order, VenueOrderId(cid), Decimal("0.100"), 1)
    assert f.facts.terminals_held == 2 and f.requests == ["a", "b"]


def test_an_amendment_under_a_new_id_moves_the_engine_at_the_amendments_time() -> None:
    f = Facts()
    order = _algo(f)
    f.facts.amended(order, TRIGGERED_VOI, Decimal("0.5"), Decimal("3000"), QTY, PX, 61)
    assert [a["ts_event"] for a in f.sink.args("updated")] == [61, 61]
