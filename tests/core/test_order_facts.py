"""``OrderFacts``: accepted / filled / terminal facts from any source (stream frames as bytes, REST
responses) reach the sink exactly once, in an order the engine can apply."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.objects import Money, Price, Quantity

from adapters.core.orders.order_tracking import Terminal, TrackedOrder, fill_key
from tests.binance_futures.user_frames import (
    ALGO_CID,
    CID,
    Env,
    algo,
    make_env,
    otu,
    raw,
    tracked,
    trade,
)

VOI = VenueOrderId("4200000001")


def rest_fill(
    env: Env, order: TrackedOrder, trade_id: int, qty: str, venue_order_id: VenueOrderId = VOI
) -> bool:
    """A fill learnt by REST (userTrades), as VenueSync applies it."""
    return env.facts.filled(
        order,
        trade_id,
        venue_order_id,
        None,
        Quantity.from_str(qty),
        Decimal(qty),
        Price.from_str("3150.10"),
        USDT,
        Money.from_str("0.01 USDT"),
        LiquiditySide.MAKER,
        1,
    )


@pytest.fixture
def env() -> Env:
    return make_env()


def test_accepted_is_emitted_once_whatever_the_source(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.facts.accepted(order, VOI, 1)
    env.feed(raw("order_trade_update_new.json"))
    env.facts.accepted(order, VOI, 2)
    assert env.sink.events == [("accepted", CID, "4200000001")]
    assert order.accepted and not order.ambiguous


def test_accepted_resolves_an_ambiguous_submit(env: Env) -> None:
    order = env.tracker.track(tracked())
    order.ambiguous = True
    env.feed(raw("order_trade_update_new.json"))
    assert not order.ambiguous


def test_stream_and_rest_fill_of_the_same_trade_count_once(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_trade.json"))
    assert rest_fill(env, order, 987650001, "0.100") is False
    assert rest_fill(env, order, 987650003, "0.050") is True
    env.feed(trade(987650003, "0.050", "0.150"))
    assert [e[3] for e in env.sink.events if e[0] == "filled"] == ["987650001", "987650003"]
    assert order.filled == Decimal("0.150")
    assert env.facts.duplicates_dropped == 2


def test_same_trade_id_on_another_symbol_is_another_trade(env: Env) -> None:
    eth = env.tracker.track(tracked())
    btc = env.tracker.track(tracked("O-btc", symbol="BTCUSDT"))
    assert rest_fill(env, eth, 7, "0.100")
    assert rest_fill(env, btc, 7, "0.100", VenueOrderId("99"))
    assert env.tracker.is_seen(fill_key("ETHUSDT", 7, OrderSide.SELL))
    assert env.tracker.is_seen(fill_key("BTCUSDT", 7, OrderSide.SELL))
    # A fill fetched for one order never moves a symbol's trade cursor (only walks and the stream do).
    assert env.tracker.trade_cursor == {}


def test_self_trade_two_of_our_orders_on_one_trade_id_are_two_fills(env: Env) -> None:
    """A self-trade: our buy and our sell matched each other, one venue trade id, two fills."""
    sell = env.tracker.track(tracked())
    buy = env.tracker.track(tracked("O-buy", side=OrderSide.BUY))
    assert rest_fill(env, sell, 7, "0.100")
    assert rest_fill(env, buy, 7, "0.100", VenueOrderId("99"))
    assert not rest_fill(env, buy, 7, "0.100", VenueOrderId("99"))  # its replay is a duplicate
    assert [e[1] for e in env.sink.events if e[0] == "filled"] == [CID, "O-buy"]
    assert sell.filled == buy.filled == Decimal("0.100")


def test_a_fill_beyond_the_order_quantity_is_not_emitted_but_reconciled(env: Env) -> None:
    order = env.tracker.track(tracked())  # quantity 0.250
    assert rest_fill(env, order, 1, "0.200")
    assert not rest_fill(env, order, 2, "0.100")  # 0.300 > 0.250: not believed
    assert order.filled == Decimal("0.200") and env.facts.overfills == 1
    assert order.resync and env.fill_requests == [order]  # the venue decides
    assert not env.tracker.is_seen(fill_key("ETHUSDT", 2, OrderSide.SELL))  # still deliverable
    # The venue says an amendment raised the quantity: the same fill is then emitted.
    order.quantity = Decimal("0.300")
    assert rest_fill(env, order, 2, "0.100")
    assert order.filled == Decimal("0.300")


def test_a_fill_whose_event_cannot_be_built_is_not_marked_seen(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.sink.fail_next_fill = True
    with pytest.raises(ValueError):
        rest_fill(env, order, 1, "0.100")
    assert order.filled == 0 and not env.tracker.is_seen(fill_key("ETHUSDT", 1, OrderSide.SELL))
    assert rest_fill(env, order, 1, "0.100")  # the replay (or the backfill) still delivers it
    assert order.filled == Decimal("0.100")


def test_held_terminal_waits_for_every_missing_fill(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"))
    env.facts.canceled(order, VOI, Decimal("0.200"), 99)  # e.g. the REST cancel response
    assert env.fill_requests == [order] and env.facts.terminals_held == 1
    env.feed(trade(1, "0.100", "0.100"))
    assert env.sink.kinds() == ["accepted", "filled"]  # 0.100 of 0.200: still held
    env.facts.canceled(order, VOI, Decimal("0.200"), 100)  # the stream's CANCELED: no second fetch
    assert env.fill_requests == [order] and env.facts.terminals_held == 1
    rest_fill(env, order, 2, "0.100")
    assert env.sink.kinds() == ["accepted", "filled", "filled", "canceled"]
    canceled = env.sink.args("canceled")[0]
    assert canceled["ts_event"] == 99 and canceled["venue_order_id"] == VOI
    assert order.terminal is Terminal.CANCELED and order.pending_terminal is None


@pytest.mark.parametrize(("as_canceled", "kind"), [(False, "expired"), (True, "canceled")])
def test_held_expiry_is_released_as_its_kind(as_canceled: bool, kind: str) -> None:
    env = make_env(expired_as_canceled=as_canceled)
    order = env.tracker.track(tracked())
    env.feed(otu({"x": "EXPIRED", "X": "EXPIRED", "z": "0.100"}))
    assert env.sink.kinds() == []
    env.feed(raw("order_trade_update_trade.json"))
    assert env.sink.kinds() == ["accepted", "filled", kind]
    assert order.terminal is (Terminal.CANCELED if as_canceled else Terminal.EXPIRED)


def test_rejected_once_and_never_after_another_terminal(env: Env) -> None:
    order = env.tracker.track(tracked())
    order.ambiguous = True
    env.facts.rejected(order, "-2019: Margin is insufficient.", 5, due_post_only=False)
    env.facts.rejected(order, "again", 6)
    env.feed(otu({"x": "CANCELED", "X": "CANCELED"}))
    assert env.sink.events == [("rejected", CID, "-2019: Margin is insufficient.")]
    assert order.terminal is Terminal.REJECTED and not order.ambiguous
    other = env.tracker.track(tracked("O-2"))
    env.facts.canceled(other, VenueOrderId("5"), Decimal(0), 1)
    env.facts.rejected(other, "late", 2)
    assert env.sink.kinds()[-1] == "canceled"


def test_post_only_rejection_flag_is_passed_through(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.facts.rejected(order, "-5022: would take", 5, due_post_only=True)
    assert env.sink.args("rejected")[0]["due_post_only"] is True


@pytest.mark.parametrize(
    ("order_type", "emits"),
    [
        (OrderType.STOP_LIMIT, True),
        (OrderType.LIMIT_IF_TOUCHED, True),
        (OrderType.STOP_MARKET, False),
        (OrderType.MARKET_IF_TOUCHED, False),
        (OrderType.TRAILING_STOP_MARKET, False),
    ],
)
def test_triggered_only_for_limit_type_conditionals(env: Env, order_type: OrderType, emits: bool) -> None:
    order = env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=order_type))
    env.feed(raw("algo_update_new.json"))
    env.facts.triggered(order, 10)
    env.facts.triggered(order, 11)
    expected = [("accepted", ALGO_CID, "7700000001")]
    if emits:
        expected.append(("triggered", ALGO_CID, "7700000001"))
    assert env.sink.events == expected
    assert order.triggered


def test_triggered_before_accepted_only_marks_the_order(env: Env) -> None:
    order = env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_LIMIT))
    env.feed(algo("TRIGGERED", ai="4200000078"))
    assert env.sink.events == [] and order.triggered


def test_amendment_after_terminal_is_ignored(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.facts.canceled(order, VOI, Decimal(0), 1)
    env.facts.amended(order, VOI, Decimal("0.300"), Decimal("3150.10"), Quantity.from_str, Price.from_str, 2)
    assert env.sink.kinds() == ["accepted", "canceled"]
    assert order.quantity == Decimal("0.250")


def test_amendment_by_rest_then_stream_emits_once(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.feed(raw("order_trade_update_new.json"))
    env.facts.amended(
        order, VOI, Decimal("0.300"), Decimal("3150.10"), lambda q: Quantity(q, 3), lambda p: Price(p, 2), 2
    )
    env.feed(otu({"x": "AMENDMENT", "X": "NEW", "q": "0.300"}))
    assert env.sink.events[1:] == [("updated", CID, "4200000001", "0.300", "3150.10")]


def test_fully_filled_only_closes_an_open_order(env: Env) -> None:
    order = env.tracker.track(tracked())
    env.facts.canceled(order, VOI, Decimal(0), 1)
    env.facts.fully_filled(order)
    assert order.terminal is Terminal.CANCELED


def test_closed_orders_are_forgotten_after_the_retention_but_open_ones_kept(env: Env) -> None:
    now = [0.0]
    env.tracker.clock = lambda: now[0]
    env.tracker.retention = 60.0
    forgotten: list[str] = []
    env.tracker.on_forget.append(lambda o: forgotten.append(o.client_order_id.value))
    for i in range(5):
        order = env.tracker.track(tracked(f"O-{i}"))
        env.facts.accepted(order, VenueOrderId(str(i)), 1)
        if i < 4:
            now[0] = float(i * 30)  # closed at 0, 30, 60, 90 s
            env.facts.canceled(order, VenueOrderId(str(i)), Decimal(0), 2)
    assert env.tracker.open_count == 1
    assert [o.client_order_id.value for o in env.tracker.open_orders()] == ["O-4"]
    # Closing at 90 s forgot what had been closed for 60 s (at 0 and 30 s) on the way.
    assert sorted(env.tracker.orders) == ["O-2", "O-3", "O-4"]
    assert sorted(env.tracker.by_venue_id) == ["2", "3", "4"]
    assert forgotten == ["O-0", "O-1"]
    now[0] = 1000.0
    assert env.tracker.forget_expired() == 2
    assert sorted(env.tracker.orders) == ["O-4"] and sorted(env.tracker.by_venue_id) == ["4"]
