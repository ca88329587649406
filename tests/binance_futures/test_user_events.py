"""``UserStreamHandler.handle_frame`` sans I/O: frames as bytes, exactly as the venue sends them, in; the
exact events and reports the exec client would receive out (a recording sink stands in for it).

The recording sink and the frame builders live in ``tests.binance_futures.user_frames``.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.execution.reports import ExecutionMassStatus, OrderStatusReport
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    PositionId,
    VenueOrderId,
)

from adapters.core.orders.order_tracking import Terminal, TrackedOrder
from tests.binance_futures.user_frames import (
    ACCOUNT,
    ALGO_CID,
    CID,
    CLIENT,
    ETH,
    MS,
    STRATEGY,
    TS_INIT,
    Env,
    algo,
    encode,
    fixture,
    make_env,
    otu,
    raw,
    tracked,
    trade,
)


@pytest.fixture
def env() -> Env:
    return make_env()


# ------------------------------------------------------------------------------------------------
# Accepted
# ------------------------------------------------------------------------------------------------


def test_new_emits_accepted_exactly_once(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"), raw("order_trade_update_new.json"))
    assert env.sink.events == [("accepted", CID, "4200000001")]
    (args,) = env.sink.args("accepted")
    assert args["strategy_id"] == STRATEGY and args["instrument_id"] == ETH
    assert args["ts_event"] == 1735689600123 * MS  # the order's transaction time T
    assert order.venue_order_id == VenueOrderId("4200000001")
    assert env.tracker.by_venue("4200000001") is order


def test_new_after_rest_acceptance_adds_nothing(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.facts.accepted(order, VenueOrderId("4200000001"), 7)  # the REST response came first
    env.feed(raw("order_trade_update_new.json"))
    assert env.sink.events == [("accepted", CID, "4200000001")]
    assert env.sink.args("accepted")[0]["ts_event"] == 7


# ------------------------------------------------------------------------------------------------
# Fills
# ------------------------------------------------------------------------------------------------


def test_trade_fill_exactly_once_despite_duplicates(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"))
    frame = raw("order_trade_update_trade.json")
    env.feed(frame, frame, frame)
    assert env.sink.events == [
        ("accepted", CID, "4200000001"),
        ("filled", CID, "4200000001", "987650001", "0.100", "3150.10"),
    ]
    (fill,) = env.sink.args("filled")
    assert str(fill["commission"]) == "0.06300200 USDT"
    assert fill["liquidity_side"] == LiquiditySide.MAKER
    assert fill["order_side"] == OrderSide.SELL and fill["order_type"] == OrderType.LIMIT
    assert fill["venue_position_id"] is None  # one-way mode: no venue position id
    assert fill["ts_event"] == 1735689601000 * MS
    assert env.facts.duplicates_dropped == 2
    assert env.tracker.trade_cursor == {}  # only the gap backfill's walk moves a cursor


def test_fill_before_new_implies_accepted(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(raw("order_trade_update_trade.json"), raw("order_trade_update_new.json"))
    assert env.sink.kinds() == ["accepted", "filled"]
    assert env.sink.events[0] == ("accepted", CID, "4200000001")


def test_final_fill_with_foreign_commission_asset_closes_the_order(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_trade.json"), raw("order_trade_update_filled_bnb_fee.json"))
    assert [e[:4] for e in env.sink.events] == [
        ("accepted", CID, "4200000001"),
        ("filled", CID, "4200000001", "987650001"),
        ("filled", CID, "4200000001", "987650002"),
    ]
    last = env.sink.args("filled")[1]
    assert str(last["last_qty"]) == "0.150"
    assert str(last["commission"]) == "0.00012345 BNB"
    assert last["liquidity_side"] == LiquiditySide.TAKER
    assert order.filled == Decimal("0.250")
    assert order.terminal is Terminal.FILLED
    assert env.tracker.open_orders() == []


def test_hedge_mode_fill_carries_the_venue_position_id(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(trade(5, "0.100", "0.100", ps="SHORT"))
    (fill,) = env.sink.args("filled")
    assert fill["venue_position_id"] == PositionId("ETHUSDT-PERP.BINANCE-SHORT")


def test_partial_fills_accumulate(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(trade(1, "0.100", "0.100"), trade(2, "0.100", "0.200"), trade(1, "0.100", "0.100"))
    env.feed(trade(3, "0.050", "0.250", status="FILLED"))
    assert [e[3] for e in env.sink.events if e[0] == "filled"] == ["1", "2", "3"]
    assert order.filled == Decimal("0.250") and order.terminal is Terminal.FILLED


# ------------------------------------------------------------------------------------------------
# Terminal states
# ------------------------------------------------------------------------------------------------


def test_cancel_overtaking_its_fill_is_held_then_released_by_the_fill(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"))
    # The CANCELED says 0.100 was filled, but that fill has not arrived yet.
    env.feed(otu({"x": "CANCELED", "X": "CANCELED", "z": "0.100", "T": 1735689602000}))
    assert env.sink.kinds() == ["accepted"]
    assert env.fill_requests == [order]  # the fills are fetched, not waited for
    assert env.facts.terminals_held == 1
    assert order.pending_terminal is not None and order.terminal is None
    env.feed(otu({"x": "CANCELED", "X": "CANCELED", "z": "0.100"}))  # repeated: still held, no new fetch
    assert env.fill_requests == [order]
    env.feed(raw("order_trade_update_trade.json"))
    assert env.sink.events == [
        ("accepted", CID, "4200000001"),
        ("filled", CID, "4200000001", "987650001", "0.100", "3150.10"),
        ("canceled", CID, "4200000001"),
    ]
    assert env.sink.args("canceled")[0]["ts_event"] == 1735689602000 * MS  # the cancel's own time
    assert order.terminal is Terminal.CANCELED and order.pending_terminal is None
    env.feed(otu({"x": "CANCELED", "X": "CANCELED", "z": "0.100"}))
    assert env.sink.kinds() == ["accepted", "filled", "canceled"]


def test_cancel_with_everything_emitted_is_immediate_and_once(env: Env) -> None:
    env.tracker.track(tracked())
    cancel = otu({"x": "CANCELED", "X": "CANCELED"})
    env.feed(raw("order_trade_update_new.json"), cancel, cancel)
    assert env.sink.events == [("accepted", CID, "4200000001"), ("canceled", CID, "4200000001")]
    assert env.fill_requests == []


def test_cancel_without_new_implies_accepted(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(otu({"x": "CANCELED", "X": "CANCELED"}))
    assert env.sink.kinds() == ["accepted", "canceled"]


@pytest.mark.parametrize(("as_canceled", "kind"), [(False, "expired"), (True, "canceled")])
def test_expired_honours_treat_expired_as_canceled(as_canceled: bool, kind: str) -> None:
    env = make_env(expired_as_canceled=as_canceled)
    env.tracker.track(tracked())
    frame = raw("order_trade_update_expired_unknown_fields.json")
    env.feed(raw("order_trade_update_new.json"), frame, frame)
    assert env.sink.events == [("accepted", CID, "4200000001"), (kind, CID, "4200000001")]


@pytest.mark.parametrize(("as_canceled", "kind"), [(False, "expired"), (True, "canceled")])
def test_ioc_remainder_expired_after_partial_fill(as_canceled: bool, kind: str) -> None:
    env = make_env(expired_as_canceled=as_canceled)
    env.tracker.track(tracked())
    env.feed(trade(11, "0.100", "0.100"), otu({"x": "EXPIRED", "X": "EXPIRED", "z": "0.100", "er": 2}))
    assert env.sink.kinds() == ["accepted", "filled", kind]


def test_frames_after_terminal_emit_nothing(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(otu({"x": "CANCELED", "X": "CANCELED"}))
    env.feed(raw("order_trade_update_new.json"), otu({"x": "EXPIRED", "X": "EXPIRED"}))
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "q": "0.300"}))
    assert env.sink.kinds() == ["accepted", "canceled"]


# ------------------------------------------------------------------------------------------------
# Amendments
# ------------------------------------------------------------------------------------------------


def test_amendment_emits_updated_only_when_quantity_or_price_differ(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"))
    env.feed(otu({"x": "AMENDMENT", "X": "NEW"}))  # same q and p: nothing new
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "p": "3150.100"}))  # same value, other spelling
    assert env.sink.kinds() == ["accepted"]
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "q": "0.300"}))
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "q": "0.300"}))  # repeated
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "q": "0.300", "p": "3160.00"}))
    assert env.sink.events[1:] == [
        ("updated", CID, "4200000001", "0.300", "3150.10"),
        ("updated", CID, "4200000001", "0.300", "3160.00"),
    ]
    assert env.sink.args("updated")[0]["trigger_price"] is None
    assert order.quantity == Decimal("0.300") and order.price == Decimal("3160.00")


# ------------------------------------------------------------------------------------------------
# Algo orders (ALGO_UPDATE + the triggered order's ORDER_TRADE_UPDATEs)
# ------------------------------------------------------------------------------------------------


def triggered_order_frame(x: str, status: str, **o: Any) -> bytes:
    """ORDER_TRADE_UPDATE of the order the algo service placed when the stop triggered."""
    fields = {
        "c": ALGO_CID,
        "S": "BUY",
        "o": "MARKET",
        "ot": "STOP_MARKET",
        "q": "0.300",
        "p": "0",
        "sp": "3300.00",
        "x": x,
        "X": status,
        "i": 4200000077,
        "l": "0",
        "z": "0",
        "L": "0",
        "t": 0,
        "m": False,
        "N": "USDT",
        "n": "0",
    }
    fields.update(o)
    return otu(fields)


def test_stop_market_lifecycle_is_accepted_then_filled_under_the_new_order_id(env: Env) -> None:
    order = env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None)
    )
    env.feed(raw("algo_update_new.json"), raw("algo_update_new.json"))
    assert env.sink.events == [("accepted", ALGO_CID, "7700000001")]
    assert order.algo_id == 7700000001
    env.feed(algo("TRIGGERING"))
    env.feed(raw("algo_update_triggered_ao_alias.json"))
    assert env.sink.kinds() == ["accepted"]  # a stop-market has no TRIGGERED state in Nautilus
    assert order.triggered  # later cancels go to the regular endpoint
    env.feed(triggered_order_frame("NEW", "NEW"))
    # The engine's order moves to the new id at once (NautilusTrader refuses a fill whose venue
    # order id differs from the order's): an OrderUpdated with venue_order_id_modified.
    assert env.sink.events[1:] == [("updated", ALGO_CID, "4200000077", "0.300", "None")]
    (update,) = env.sink.args("updated")
    assert update["venue_order_id_modified"] is True and update["trigger_price"] is None
    assert order.venue_order_id == VenueOrderId("4200000077")
    assert env.tracker.by_venue("4200000077") is order
    fill = triggered_order_frame(
        "TRADE", "FILLED", l="0.300", z="0.300", L="3300.40", t=987650200, n="0.49506000", T=1735689607500
    )
    env.feed(fill, fill)
    env.feed(raw("algo_update_finished.json"))
    assert env.sink.events == [
        ("accepted", ALGO_CID, "7700000001"),
        ("updated", ALGO_CID, "4200000077", "0.300", "None"),
        ("filled", ALGO_CID, "4200000077", "987650200", "0.300", "3300.40"),
    ]
    (args,) = env.sink.args("filled")
    assert args["order_type"] == OrderType.STOP_MARKET and args["order_side"] == OrderSide.BUY
    assert str(args["commission"]) == "0.49506000 USDT"
    assert order.terminal is Terminal.FILLED


def test_stop_limit_is_triggered_then_filled_under_the_new_order_id(env: Env) -> None:
    order = env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_LIMIT, price="3305.00")
    )
    env.feed(algo("NEW", o="STOP", p="3305.00"))
    env.feed(algo("TRIGGERING", o="STOP", p="3305.00"))
    env.feed(algo("TRIGGERED", o="STOP", p="3305.00", ai="4200000078"))
    env.feed(algo("TRIGGERED", o="STOP", p="3305.00", ai="4200000078"))  # repeated
    assert env.sink.events == [("accepted", ALGO_CID, "7700000001"), ("triggered", ALGO_CID, "7700000001")]
    env.feed(triggered_order_frame("NEW", "NEW", o="LIMIT", ot="STOP", p="3305.00", f="GTC", i=4200000078))
    fill = triggered_order_frame(
        "TRADE",
        "FILLED",
        o="LIMIT",
        ot="STOP",
        p="3305.00",
        i=4200000078,
        l="0.300",
        z="0.300",
        L="3305.00",
        t=987650201,
        m=True,
    )
    env.feed(fill, fill)
    env.feed(algo("FINISHED", o="STOP", p="3305.00", ai="4200000078", aq="0.300"))
    assert env.sink.events[2:] == [
        ("updated", ALGO_CID, "4200000078", "0.300", "None"),
        ("filled", ALGO_CID, "4200000078", "987650201", "0.300", "3305.00"),
    ]
    assert order.venue_order_id == VenueOrderId("4200000078")
    assert order.terminal is Terminal.FILLED


def test_triggered_order_canceled_in_the_matching_engine_uses_the_new_id(env: Env) -> None:
    env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_LIMIT, price="3305.00"))
    env.feed(algo("NEW", o="STOP", p="3305.00"), algo("TRIGGERED", o="STOP", ai="4200000078"))
    env.feed(triggered_order_frame("NEW", "NEW", o="LIMIT", ot="STOP", p="3305.00", i=4200000078))
    env.feed(triggered_order_frame("CANCELED", "CANCELED", o="LIMIT", ot="STOP", p="3305.00", i=4200000078))
    env.feed(algo("FINISHED", o="STOP", ai="4200000078", aq="0"))
    assert env.sink.events == [
        ("accepted", ALGO_CID, "7700000001"),
        ("triggered", ALGO_CID, "7700000001"),
        ("updated", ALGO_CID, "4200000078", "0.300", "None"),
        ("canceled", ALGO_CID, "4200000078"),
    ]


def test_fill_of_a_triggered_order_before_any_algo_update_still_counts_once(env: Env) -> None:
    """The stream may deliver the triggered order's TRADE before ALGO_UPDATE NEW (or lose it)."""
    order = env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None)
    )
    fill = triggered_order_frame("TRADE", "FILLED", l="0.300", z="0.300", L="3300.40", t=987650300)
    env.feed(fill, raw("algo_update_new.json"), fill)
    assert env.sink.events == [
        ("accepted", ALGO_CID, "4200000077"),
        ("filled", ALGO_CID, "4200000077", "987650300", "0.300", "3300.40"),
    ]
    assert order.terminal is Terminal.FILLED


def test_fill_under_a_new_id_without_its_new_frame_moves_the_engine_order_first(env: Env) -> None:
    """The triggered order's NEW was lost (or reordered after its TRADE): the fill itself re-maps."""
    order = env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None)
    )
    env.feed(raw("algo_update_new.json"), raw("algo_update_triggered_ao_alias.json"))
    fill = triggered_order_frame("TRADE", "FILLED", l="0.300", z="0.300", L="3300.40", t=987650400)
    env.feed(fill, triggered_order_frame("NEW", "NEW"), fill)
    assert env.sink.events == [
        ("accepted", ALGO_CID, "7700000001"),
        ("updated", ALGO_CID, "4200000077", "0.300", "None"),
        ("filled", ALGO_CID, "4200000077", "987650400", "0.300", "3300.40"),
    ]
    assert order.engine_venue_order_id == VenueOrderId("4200000077")


def test_adopted_order_is_known_to_the_engine_under_its_cached_venue_id() -> None:
    adopted = TrackedOrder(
        client_order_id=ClientOrderId(CID),
        strategy_id=STRATEGY,
        instrument_id=ETH,
        symbol="ETHUSDT",
        side=OrderSide.SELL,
        order_type=OrderType.LIMIT,
        is_algo=False,
        quantity=Decimal("0.250"),
        price=Decimal("3150.10"),
        venue_order_id=VenueOrderId("4200000001"),
        accepted=True,
    )
    assert adopted.engine_venue_order_id == VenueOrderId("4200000001")
    env = make_env(adopt=lambda cid, venue_id: adopted)
    env.handler._adopt = lambda cid, venue_id=None: env.tracker.track(adopted) if cid == CID else None
    env.feed(raw("order_trade_update_trade.json"))
    assert env.sink.events == [("filled", CID, "4200000001", "987650001", "0.100", "3150.10")]


def test_untriggered_algo_cancel_uses_the_algo_id(env: Env) -> None:
    env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None))
    env.feed(raw("algo_update_new.json"), algo("CANCELED"), algo("CANCELED"))
    assert env.sink.events == [("accepted", ALGO_CID, "7700000001"), ("canceled", ALGO_CID, "7700000001")]


@pytest.mark.parametrize(("as_canceled", "kind"), [(False, "expired"), (True, "canceled")])
def test_algo_expired_honours_treat_expired_as_canceled(as_canceled: bool, kind: str) -> None:
    env = make_env(expired_as_canceled=as_canceled)
    env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None))
    env.feed(raw("algo_update_new.json"), algo("EXPIRED"), algo("EXPIRED"))
    assert env.sink.events == [("accepted", ALGO_CID, "7700000001"), (kind, ALGO_CID, "7700000001")]


def test_algo_rejected_carries_the_reason(env: Env) -> None:
    env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None))
    env.feed(raw("algo_update_new.json"), algo("TRIGGERING"))
    env.feed(algo("REJECTED", rm="INSUFFICIENT_MARGIN"), algo("REJECTED", rm="INSUFFICIENT_MARGIN"))
    assert env.sink.events == [
        ("accepted", ALGO_CID, "7700000001"),
        ("rejected", ALGO_CID, "algo order rejected: INSUFFICIENT_MARGIN"),
    ]


def test_algo_rejected_without_reason(env: Env) -> None:
    env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None))
    env.feed(algo("REJECTED"))
    assert env.sink.events == [("rejected", ALGO_CID, "algo order rejected: REJECTED")]


def test_a_legacy_conditional_order_trigger_reject_is_ignored_the_algo_update_rejects(env: Env) -> None:
    """Binance's 2025-12-10 change log: CONDITIONAL_ORDER_TRIGGER_REJECT is deprecated (from
    2025-12-15); the rejection arrives in ALGO_UPDATE. A stray legacy frame changes nothing."""
    order = env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None)
    )
    legacy = encode(
        {
            "e": "CONDITIONAL_ORDER_TRIGGER_REJECT",
            "E": 1735689606100,
            "T": 1735689606100,
            "or": {"s": "ETHUSDT", "i": 7700000001, "r": "Due to the order could not be filled"},
        }
    )
    env.feed(raw("algo_update_new.json"), legacy)
    assert env.sink.kinds() == ["accepted"] and order.terminal is None
    assert env.handler.unknown == 1 and env.handler.errors == 0
    env.feed(algo("REJECTED", rm="Reduce Only reject"))
    assert env.sink.events[1:] == [("rejected", ALGO_CID, "algo order rejected: Reduce Only reject")]
    assert order.terminal is Terminal.REJECTED


TRAILING = {"o": "TRAILING_STOP_MARKET", "tp": "0", "AP": "3300.00", "cr": "1"}


def test_a_trailing_stops_second_new_with_ia_true_is_its_activation_not_a_second_accept(env: Env) -> None:
    """Binance's 2026-08-21 change log: ``ia`` of ALGO_UPDATE; before it triggers a trailing stop
    may send NEW with ia=false, then NEW with ia=true once its activation price is reached."""
    order = env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.TRAILING_STOP_MARKET, price=None)
    )
    env.feed(algo("NEW", ia=False, **TRAILING))
    assert env.handler.trailing_activations == 0
    env.feed(algo("NEW", ia=True, **TRAILING), algo("NEW", ia=True, **TRAILING))  # repeated
    assert env.sink.events == [("accepted", ALGO_CID, "7700000001")]
    assert order.terminal is None and env.handler.trailing_activations == 2
    assert env.handler.unknown == 0 and env.handler.errors == 0 and env.handler.rejected == 0


def test_an_untracked_trailing_stops_activation_reports_it_still_accepted(env: Env) -> None:
    env.feed(algo("NEW", ia=False, caid="web-t", **TRAILING), algo("NEW", ia=True, caid="web-t", **TRAILING))
    reports = [_report(e) for e in env.sink.events]
    assert [r.order_status for r in reports] == [OrderStatus.ACCEPTED, OrderStatus.ACCEPTED]
    assert reports[-1].order_type == OrderType.TRAILING_STOP_MARKET


@pytest.mark.parametrize("value", ["true", "1", "null"])
def test_ia_that_is_not_a_boolean_does_not_break_the_frame(env: Env, value: str) -> None:
    env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None))
    frame = algo("NEW").replace(b'"X":"NEW"', b'"X":"NEW","ia":' + value.encode())
    env.feed(frame)
    assert env.sink.events == [("accepted", ALGO_CID, "7700000001")]


def _report(event: tuple[Any, ...]) -> OrderStatusReport:
    assert event[0] == "report", event
    report = event[1]
    assert isinstance(report, OrderStatusReport)
    return report


def test_untracked_algo_lifecycle_becomes_status_reports(env: Env) -> None:
    env.feed(raw("algo_update_new.json"))
    env.feed(algo("TRIGGERING"))  # adds nothing to a report
    env.feed(raw("algo_update_triggered_ao_alias.json"))
    env.feed(raw("algo_update_finished.json"))  # the triggered order's own reports say how it ended
    env.feed(algo("CANCELED", base="algo_update_new.json", caid="web-1", aid=7700000009))
    assert env.sink.kinds() == ["report", "report", "report"]
    new, triggered, canceled = (_report(e) for e in env.sink.events)
    assert new.client_order_id == ClientOrderId(ALGO_CID)
    assert new.venue_order_id == VenueOrderId("7700000001")
    assert new.order_status == OrderStatus.ACCEPTED
    assert new.order_type == OrderType.STOP_MARKET and new.order_side == OrderSide.BUY
    assert str(new.quantity) == "0.300" and str(new.filled_qty) == "0.000"
    assert str(new.trigger_price) == "3300.00"
    assert new.reduce_only
    assert new.ts_init == TS_INIT and new.ts_accepted == 1735689606001 * MS
    assert triggered.order_status == OrderStatus.TRIGGERED
    assert triggered.venue_order_id == VenueOrderId("4200000077")  # the order in the matching engine
    assert canceled.order_status == OrderStatus.CANCELED
    assert canceled.client_order_id == ClientOrderId("web-1")
    assert canceled.venue_order_id == VenueOrderId("7700000009")


@pytest.mark.parametrize(
    ("status", "as_canceled", "expected"),
    [
        ("EXPIRED", False, OrderStatus.EXPIRED),
        ("EXPIRED", True, OrderStatus.CANCELED),
        ("REJECTED", False, OrderStatus.REJECTED),
    ],
)
def test_untracked_algo_final_states(status: str, as_canceled: bool, expected: OrderStatus) -> None:
    env = make_env(expired_as_canceled=as_canceled)
    env.feed(algo(status))
    (event,) = env.sink.events
    assert _report(event).order_status == expected


# ------------------------------------------------------------------------------------------------
# Orders this node did not place, and exchange-generated fills
# ------------------------------------------------------------------------------------------------


def _mass(event: tuple[Any, ...]) -> ExecutionMassStatus:
    assert event[0] == "mass", event
    mass = event[1]
    assert isinstance(mass, ExecutionMassStatus)
    assert mass.client_id == CLIENT and mass.account_id == ACCOUNT
    return mass


def test_untracked_new_and_cancel_are_status_reports_only(env: Env) -> None:
    env.feed(raw("order_trade_update_new.json"), otu({"x": "CANCELED", "X": "CANCELED"}))
    assert env.adopted == [CID, CID]  # an order of ours from before a restart would be adopted
    new, canceled = (_report(e) for e in env.sink.events)
    assert new.order_status == OrderStatus.ACCEPTED
    assert new.client_order_id == ClientOrderId(CID) and new.venue_order_id == VenueOrderId("4200000001")
    assert new.instrument_id == ETH and new.account_id == ACCOUNT
    assert str(new.quantity) == "0.250" and str(new.price) == "3150.10"
    assert canceled.order_status == OrderStatus.CANCELED
    assert env.tracker.orders == {}  # nothing tracked: it stays external


def test_untracked_fill_is_bundled_with_its_order_report_once(env: Env) -> None:
    frame = raw("order_trade_update_trade.json")
    env.feed(frame, frame)
    (event,) = env.sink.events
    mass = _mass(event)
    report = mass.order_reports[VenueOrderId("4200000001")]
    assert report.order_status == OrderStatus.PARTIALLY_FILLED
    assert str(report.filled_qty) == "0.100"
    (fill,) = mass.fill_reports[VenueOrderId("4200000001")]
    assert fill.trade_id.value == "987650001"
    assert str(fill.last_qty) == "0.100" and str(fill.last_px) == "3150.10"
    assert str(fill.commission) == "0.06300200 USDT"
    assert fill.liquidity_side == LiquiditySide.MAKER
    assert fill.client_order_id == ClientOrderId(CID)


@pytest.mark.parametrize(
    "frame",
    [
        # its first fill's event was lost: this one states 0.150 filled with only 0.050 of its own
        trade(987650002, "0.050", "0.150"),
        # a cancel after fills the engine never got (no fill of its own at all)
        otu({"x": "CANCELED", "X": "CANCELED", "z": "0.100"}),
    ],
    ids=["fill-after-a-lost-fill", "cancel-after-lost-fills"],
)
def test_an_external_event_that_cannot_be_reported_whole_is_reported_from_rest(
    env: Env, frame: bytes
) -> None:
    """A report stating more filled than the fills bundled with it makes NautilusTrader infer the
    rest (chaos BingX seed 58): nothing is sent from the event, the venue's view is asked for."""
    env.feed(frame)
    assert env.sink.events == []
    assert env.external_by_rest == [("ETHUSDT", 4200000001)]
    assert len(env.tracker.seen_trades) == 0  # the REST report will carry (and mark) the fills


def test_order_of_ours_from_before_a_restart_is_adopted_and_stays_events() -> None:
    order = tracked()
    env = make_env(adopt=lambda cid, venue_id: order if cid == CID else None)

    def adopt_into_tracker(cid: str, venue_id: str | None = None) -> TrackedOrder | None:
        return env.tracker.track(order) if cid == CID else None

    env.handler._adopt = adopt_into_tracker
    env.feed(raw("order_trade_update_trade.json"), raw("order_trade_update_trade.json"))
    assert env.sink.kinds() == ["accepted", "filled"]


def test_liquidation_fill_is_a_mass_status_with_the_exact_fill(env: Env) -> None:
    frame = raw("order_trade_update_liquidation_nulls.json")  # combined-stream wrapped, nulls
    env.feed(frame, frame)
    assert env.adopted == []  # exchange-generated ids are never adopted
    (event,) = env.sink.events
    mass = _mass(event)
    voi = VenueOrderId("4200000009")
    report = mass.order_reports[voi]
    assert report.client_order_id == ClientOrderId("autoclose-1735689603000123")
    assert report.order_status == OrderStatus.FILLED
    assert report.order_type == OrderType.MARKET  # LIQUIDATION
    assert str(report.quantity) == "0.500" and str(report.filled_qty) == "0.500"
    (fill,) = mass.fill_reports[voi]
    assert fill.trade_id.value == "987650100"
    assert fill.order_side == OrderSide.SELL
    assert str(fill.last_qty) == "0.500" and str(fill.last_px) == "2899.90"
    assert str(fill.commission) == "0.00000000 USDT"  # n: null
    assert fill.liquidity_side == LiquiditySide.TAKER
    assert fill.ts_event == 1735689600123 * MS


def test_zero_quantity_liquidation_is_skipped(env: Env) -> None:
    payload = fixture("order_trade_update_liquidation_nulls.json")
    payload["data"]["o"].update({"l": "0", "z": "0", "X": "NEW", "t": 0})
    env.feed(encode(payload))
    assert env.sink.events == []
    assert env.tracker.trade_cursor == {}


@pytest.mark.parametrize(
    "client_order_id", ["adl_autoclose", "settlement_autoclose-1735689603", "delivery_autoclose-ETHUSDT"]
)
def test_adl_and_settlement_fills_are_mass_statuses(env: Env, client_order_id: str) -> None:
    payload = fixture("order_trade_update_liquidation_nulls.json")["data"]
    payload["o"].update(
        {
            "c": client_order_id,
            "x": "TRADE",
            "o": "MARKET",
            "ot": "MARKET",
            "i": 4200000010,
            "t": 987650110,
            "l": "0.200",
            "z": "0.200",
            "L": "2950.00",
            "N": "USDT",
            "n": "0.29500000",
        }
    )
    frame = encode(payload)
    env.feed(frame, frame)
    (event,) = env.sink.events
    mass = _mass(event)
    (fill,) = mass.fill_reports[VenueOrderId("4200000010")]
    assert (fill.trade_id.value, str(fill.last_qty), str(fill.last_px), str(fill.commission)) == (
        "987650110",
        "0.200",
        "2950.00",
        "0.29500000 USDT",
    )
    assert mass.order_reports[VenueOrderId("4200000010")].client_order_id == ClientOrderId(client_order_id)


def test_exchange_generated_id_is_never_matched_to_a_tracked_order(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(raw("order_trade_update_liquidation_nulls.json"))
    assert env.sink.kinds() == ["mass"]


# ------------------------------------------------------------------------------------------------
# Account, listen key and informational events
# ------------------------------------------------------------------------------------------------


def test_account_update_becomes_an_account_state_with_exact_balances(env: Env) -> None:
    env.feed(raw("account_update.json"))
    (args,) = env.sink.args("account")
    assert args["reported"] is True and args["margins"] == []
    assert args["ts_event"] == 1735689601003 * MS
    balances = {b.currency.code: (str(b.total), str(b.locked), str(b.free)) for b in args["balances"]}
    assert balances == {
        "USDT": ("1520.41000000 USDT", "120.41000000 USDT", "1400.00000000 USDT"),
        "BNFCR": ("10.00000000 BNFCR", "0.00000000 BNFCR", "10.00000000 BNFCR"),
    }


def test_account_update_without_balances_emits_nothing(env: Env) -> None:
    payload = fixture("account_update.json")
    payload["a"]["B"] = []
    payload["a"]["m"] = "FUNDING_FEE"
    env.feed(encode(payload))
    assert env.sink.events == []


@pytest.mark.parametrize(
    "frame",
    [
        raw("listen_key_expired_int.json"),
        raw("listen_key_expired_str.json"),
        b'{"e":"listenKeyExpired","E":1735693200000}',
        b'{"e":"listenKeyExpired","E":"1735693200000","listenKey":"k","extra":{"a":[1,2]},"T":5}',
        b'{"stream":"k","data":{"e":"listenKeyExpired","E":"1735693200000","listenKey":"k"}}',
        b'{"listenKey":"k","E":1735693200000,"e":"listenKeyExpired"}',
    ],
)
def test_listen_key_expired_triggers_the_callback(env: Env, frame: bytes) -> None:
    env.feed(frame)
    assert env.expirations == ["listenKeyExpired"]
    assert env.sink.events == []


def test_repeated_listen_key_expired_calls_back_each_time(env: Env) -> None:
    # De-duplicating rotations is the recovery trigger's job (it coalesces while one is running).
    env.feed(raw("listen_key_expired_str.json"), raw("listen_key_expired_str.json"))
    assert env.expirations == ["listenKeyExpired", "listenKeyExpired"]


@pytest.mark.parametrize(
    ("name", "logged"),
    [
        ("margin_call.json", "MARGIN_CALL"),
        ("account_config_update.json", "ACCOUNT_CONFIG_UPDATE"),
        ("account_config_update_asset_mode.json", "ACCOUNT_CONFIG_UPDATE"),
        ("trade_lite.json", None),
        ("stream_error.json", "-1125"),
    ],
)
def test_informational_frames_are_only_logged(
    env: Env, caplog: pytest.LogCaptureFixture, name: str, logged: str | None
) -> None:
    env.tracker.track(tracked())
    with caplog.at_level(logging.DEBUG, logger="tests.user_events"):
        env.feed(raw(name))
    assert env.sink.events == [] and env.expirations == [] and env.fill_requests == []
    assert env.handler.malformed == 0 and env.handler.unknown == 0
    if logged is not None:
        assert logged in caplog.text


# ------------------------------------------------------------------------------------------------
# Robustness: nothing the venue sends may raise out of handle_frame
# ------------------------------------------------------------------------------------------------


def test_unknown_event_type_is_counted_and_skipped(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tests.user_events"):
        env.feed(raw("strategy_update_unknown.json"), b'{"e":"GRID_UPDATE","E":1,"gu":{}}')
    assert env.handler.unknown == 2 and env.handler.frames == 2
    assert env.sink.events == []
    assert "STRATEGY_UPDATE" in caplog.text


@pytest.mark.parametrize(
    "frame",
    [
        b'{"e":"ORDER_TRADE_UPDATE","E":1735689600125,"o":{"s":"ETHUSDT"',  # truncated JSON
        b"",
        b"not json",
        b"[]",
        b"null",
        b'"ORDER_TRADE_UPDATE"',
        b"\xff\xfe{}",
        b'{"e":"ORDER_TRADE_UPDATE","E":1735689600125}',  # no "o"
        b'{"e":"ORDER_TRADE_UPDATE","E":"yesterday","o":{}}',
        b'{"e":"ALGO_UPDATE","E":1,"T":1}',  # neither "o" nor "ao"
        b'{"e":"ACCOUNT_UPDATE","E":1,"a":{"B":[{"a":"USDT"}]}}',  # balance without wb
        b'{"stream":"x","data":{"e":"ORDER_TRADE_UPDATE","E":1}}',
        b'{"stream":"x","data":null}',
        b'{"e":null}',
        b"{}",
    ],
)
def test_malformed_frames_are_counted_and_skipped(env: Env, frame: bytes) -> None:
    env.tracker.track(tracked())
    env.feed(frame)
    assert env.sink.events == [] and env.expirations == []
    assert env.handler.malformed + env.handler.unknown + env.handler.errors == 1


def test_string_frames_are_accepted(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json").decode())
    assert env.sink.kinds() == ["accepted"]


def test_numbers_sent_as_strings_are_accepted(env: Env) -> None:
    """Binance sends ids and times as JSON numbers, prices as strings; both spellings of ids and
    times are accepted (``E`` has been seen as a string)."""
    env.tracker.track(tracked())
    env.feed(otu({"i": "4200000001", "T": "1735689600123"}, E="1735689600125"))
    env.feed(trade("987650001", "0.100", "0.100", T="1735689601000", i="4200000001"))  # type: ignore[arg-type]
    assert env.sink.events == [
        ("accepted", CID, "4200000001"),
        ("filled", CID, "4200000001", "987650001", "0.100", "3150.10"),
    ]
    assert env.sink.args("filled")[0]["ts_event"] == 1735689601000 * MS


def test_prices_as_json_numbers_do_not_raise(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(trade(987650001, "0.100", "0.100", L=3150.1, l=0.1))
    # Either decoded exactly or rejected as malformed, never a wrong fill and never an exception.
    fills = env.sink.args("filled")
    if fills:
        assert str(fills[0]["last_px"]) == "3150.10" and str(fills[0]["last_qty"]) == "0.100"
    else:
        assert env.handler.malformed == 1 and order.filled == 0


def test_nulls_where_optional(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(
        trade(
            987650001,
            "0.100",
            "0.100",
            N=None,
            n=None,
            sp=None,
            ps=None,
            wt=None,
            ot=None,
            cp=None,
            AP=None,
            cr=None,
            pP=None,
            rp=None,
            V=None,
            pm=None,
            gtd=None,
            er=None,
            W=None,
            b=None,
            a=None,
        )
    )
    assert env.sink.kinds() == ["accepted", "filled"]
    assert str(env.sink.args("filled")[0]["commission"]) == "0.00000000 USDT"


def test_unknown_execution_type_on_tracked_order_is_counted_and_skipped(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    order = env.tracker.track(tracked())
    with caplog.at_level(logging.WARNING, logger="tests.user_events"):
        env.feed(raw("order_trade_update_unknown_enums.json"))
    assert env.sink.events == []
    assert order.terminal is None and not order.accepted
    assert env.handler.unknown == 1
    assert "SOMETHING_NEW" in caplog.text


def test_unknown_enums_on_untracked_order_report_with_fallbacks(env: Env) -> None:
    env.feed(raw("order_trade_update_unknown_enums.json"))
    (event,) = env.sink.events
    report = _report(event)
    assert report.order_status == OrderStatus.ACCEPTED  # unknown status, nothing filled
    assert report.order_type == OrderType.MARKET  # unknown type fallback


def test_unknown_algo_status_is_counted_and_skipped(env: Env) -> None:
    order = env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None)
    )
    env.feed(raw("algo_update_new.json"), algo("PAUSED"))
    assert env.sink.kinds() == ["accepted"]
    assert order.terminal is None
    assert env.handler.unknown == 1


def test_garbage_decimal_in_a_known_event_is_rejected_and_the_order_reread(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(otu({"x": "CANCELED", "X": "CANCELED", "z": "n/a"}))
    env.feed(trade(5, "abc", "0.100"))
    assert env.sink.events == []
    assert env.handler.rejected == 2 and env.handler.errors == 0
    # Not silently dropped: the venue's REST view of the order is fetched instead.
    assert env.fill_requests == [order] and order.resync


def test_unknown_symbol_lookup_failure_does_not_raise(env: Env) -> None:
    env.feed(otu({"s": "NOSUCHUSDT", "c": "web-7"}))
    assert env.sink.events == []
    assert env.handler.errors == 1


def test_handler_keeps_working_after_bad_frames(env: Env) -> None:
    env.tracker.track(tracked())
    env.feed(
        b"garbage", otu({"x": "CANCELED", "X": "CANCELED", "z": "n/a"}), raw("strategy_update_unknown.json")
    )
    env.feed(raw("order_trade_update_new.json"), raw("order_trade_update_trade.json"))
    assert env.sink.kinds() == ["accepted", "filled"]
    assert env.handler.frames == 5


def test_combined_stream_wrapped_frames(env: Env) -> None:
    env.tracker.track(tracked())
    for name in ("order_trade_update_new.json", "order_trade_update_trade.json", "account_update.json"):
        env.feed(encode({"stream": "listenkey", "data": fixture(name)}))
    env.feed(encode({"data": fixture("order_trade_update_trade.json"), "stream": "listenkey"}))  # data first
    assert env.sink.kinds() == ["accepted", "filled", "account"]


# ------------------------------------------------------------------------------------------------
# Replays across a drain or an overlap must not revert state
# ------------------------------------------------------------------------------------------------


def test_an_older_amendment_replayed_after_a_newer_one_does_not_revert_the_order(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"))
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "q": "0.400", "T": 1735689605000}))
    # The first amendment (to 0.300), still queued on the old socket, dispatched after the newer.
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "q": "0.300", "T": 1735689603000}))
    assert [e[:4] for e in env.sink.events if e[0] == "updated"] == [("updated", CID, "4200000001", "0.400")]
    assert order.quantity == Decimal("0.400")


def test_an_older_account_update_replayed_after_a_newer_one_is_dropped(env: Env) -> None:
    newer = fixture("account_update.json")
    newer["T"] = 1735689609000
    older = fixture("account_update.json")
    older["a"]["B"][0]["wb"] = "1400.00000000"  # the balance before the newer update
    env.feed(encode(newer))
    env.feed(encode(older))  # replayed by the overlap's second socket / drained late
    states = env.sink.args("account")
    assert len(states) == 1
    (usdt,) = [b for b in states[0]["balances"] if b.currency.code == "USDT"]
    assert str(usdt.total) == "1520.41000000 USDT"
    assert env.handler.balance_clock.stale_dropped == 2  # USDT and BNFCR of the older update


def test_a_rest_read_newer_than_a_queued_update_wins_over_it(env: Env) -> None:
    """The recovery's REST account read (stamped with the venue time it was asked at) is applied
    before the old socket drains; an update from before that read must not revert it."""
    from nautilus_trader.model.objects import AccountBalance, Money

    rest = [AccountBalance(Money(2000, USDT), Money(0, USDT), Money(2000, USDT))]
    assert env.handler.balance_clock.fresh(rest, 1735689605000) == rest
    env.feed(raw("account_update.json"))  # T=1735689601000: older than the read
    assert [b.currency.code for s in env.sink.args("account") for b in s["balances"]] == ["BNFCR"]


# ------------------------------------------------------------------------------------------------
# The engine already applied a fact: not sent twice
# ------------------------------------------------------------------------------------------------


def test_accepted_reaches_the_engine_once_when_the_engine_accepted_it_from_a_query() -> None:
    """The engine's in-flight check (or a reconciliation report) made it generate OrderAccepted
    itself while our resolver was still querying; the stream's NEW must not add a second one."""
    from nautilus_trader.model.enums import OrderStatus

    statuses: dict[str, OrderStatus] = {}
    env = make_env()
    env.facts._engine_status = lambda cid: statuses.get(cid.value)
    order = env.tracker.track(tracked())
    statuses[CID] = OrderStatus.ACCEPTED  # applied by the engine from a query answer
    env.feed(raw("order_trade_update_new.json"))
    env.feed(trade(1, "0.100", "0.100"))
    assert env.sink.kinds() == ["filled"] and order.accepted
    assert env.facts.engine_accepted == 1


def test_an_order_declared_rejected_that_turns_up_live_is_canceled_and_its_fill_kept() -> None:
    canceled: list[str] = []
    env = make_env()
    env.facts._on_live_after_rejected = lambda order, voi: canceled.append(voi.value)
    order = env.tracker.track(tracked())
    env.facts.rejected(order, "not found after its recvWindow", 1)
    env.feed(raw("order_trade_update_new.json"))
    env.feed(trade(1, "0.100", "0.100"))
    assert canceled == ["4200000001", "4200000001"]
    # The fill is the venue's truth: it reaches the engine (positions follow) with an ERROR logged.
    assert env.sink.kinds() == ["rejected", "filled"]


# ------------------------------------------------------------------------------------------------
# Hostile input: rejected at the boundary, never aborting, never believed, never lost
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"L": "17014118346047"},  # beyond Price's range: from_raw would abort the process
        {"l": "34028236692094", "z": "34028236692094"},  # beyond Quantity's range
        {"n": "17014118346047"},  # a commission beyond Money's range
        {"N": "\u0000"},  # a currency NautilusTrader cannot hold
        {"L": "0"},  # a fill at price zero is not believed
        {"L": "-3150.10"},
        {"l": "0.100 "},  # read as 0.0100 by the old fast path while the tracker counted 0.10
        {"l": "0.1_0"},
    ],
)
def test_a_fill_with_a_hostile_value_is_rejected_then_its_clean_replay_delivered(
    env: Env, fields: dict[str, Any]
) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"))
    env.feed(trade(987650001, "0.100", "0.100", **fields))
    assert env.sink.kinds() == ["accepted"] and env.handler.rejected == 1
    assert order.filled == 0 and order.resync and env.fill_requests == [order]
    env.feed(trade(987650001, "0.100", "0.100"))  # the same trade, well-formed (or from REST)
    assert env.sink.kinds() == ["accepted", "filled"] and order.filled == Decimal("0.100")


def test_an_external_order_with_a_client_id_nautilus_cannot_hold_is_still_reported(env: Env) -> None:
    env.feed(otu({"c": "订单-1", "x": "NEW", "X": "NEW"}))
    env.feed(otu({"c": "web\u0000x", "x": "NEW", "X": "NEW", "i": 4200000002}))
    reports = [e[1] for e in env.sink.events if e[0] == "report"]
    assert len(reports) == 2 and all(r.client_order_id is None for r in reports)
    assert {r.venue_order_id.value for r in reports} == {"4200000001", "4200000002"}


def test_an_account_update_with_an_unholdable_asset_is_rejected_not_fatal(env: Env) -> None:
    payload = fixture("account_update.json")
    payload["a"]["B"][0]["a"] = "\u0000"
    env.feed(encode(payload))
    payload = fixture("account_update.json")
    payload["a"]["B"][0]["wb"] = "garbage"  # a garbage wallet balance used to become 0
    env.feed(encode(payload))
    assert env.sink.kinds() == [] and env.handler.rejected == 2


def test_json_nested_beyond_the_decoders_depth_is_a_malformed_frame(env: Env) -> None:
    env.feed(b'{"e":"ORDER_TRADE_UPDATE","E":1,"o":' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert env.handler.malformed == 1 and env.handler.errors == 0


def test_a_fill_price_thousands_of_digits_long_is_a_rejected_frame(env: Env) -> None:
    # A plain ValueError from int() (Python's 4,300-digit limit) used to escape the boundary checks.
    order = env.tracker.track(tracked())
    env.feed(trade(5, "1" * 5000, "0.100"))
    assert env.sink.events == []
    assert env.handler.rejected == 1 and env.handler.errors == 0
    assert env.fill_requests == [order] and order.resync
