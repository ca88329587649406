"""Algo (conditional) orders: NEW -> TRIGGERING -> TRIGGERED -> FINISHED and the side paths."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.sim.engine import VenueEngine, default_specs
from adapters.sim.model import (
    AlgoEvent,
    AlgoOrder,
    AlgoRequest,
    AlgoStatus,
    EngineEvent,
    ExecType,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    VenueReject,
    WorkingType,
)

T0 = 1_700_000_000_000
BTC = "BTCUSDT"
D = Decimal
BALANCE = Decimal(100_000)


class Sim:
    def __init__(self, balance: Decimal = BALANCE) -> None:
        self.now = T0
        self.engine = VenueEngine(default_specs(), seed=1, clock=lambda: self.now)
        self.events: list[EngineEvent] = []
        self.engine.subscribe(self.events.append)
        self.engine.create_account("acct", balance=balance)
        self.engine.set_price(BTC, D("60000"))
        self.events.clear()

    def algo(self, side: Side, type_: OrderType, qty: str = "0.01", **kw: object) -> AlgoOrder:
        return self.engine.place_algo("acct", AlgoRequest(BTC, side, type_, D(qty), **kw))  # type: ignore[arg-type]

    def price(self, price: str, mark: str | None = None) -> None:
        self.engine.set_price(BTC, D(price), mark_price=D(mark) if mark else None)

    def trace(self, algo_id: int) -> list[str]:
        """The algo's statuses and its child order's exec types, in publication order."""
        out: list[str] = []
        child: int | None = None
        for e in self.events:
            if isinstance(e, AlgoEvent) and e.algo.algo_id == algo_id:
                out.append(f"algo:{e.algo.status.value}")
                child = e.algo.actual_order_id or child
            elif isinstance(e, OrderEvent) and e.order.algo_id == algo_id:
                assert e.order.order_id == child
                out.append(f"order:{e.exec_type.value}")
        return out

    def long(self, qty: str = "0.2") -> None:
        self.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.MARKET, D(qty)))
        self.events.clear()


def test_stop_market_full_lifecycle() -> None:
    sim = Sim()
    sim.long("0.2")
    algo = sim.algo(
        Side.SELL,
        OrderType.STOP_MARKET,
        "0.2",
        trigger_price=D("59000"),
        reduce_only=True,
        client_algo_id="sl-1",
    )
    assert algo.status is AlgoStatus.NEW and algo.actual_order_id is None
    sim.price("59500")
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).status is AlgoStatus.NEW
    sim.price("59000")
    assert sim.trace(algo.algo_id) == ["algo:NEW", "algo:TRIGGERING", "algo:TRIGGERED", "order:NEW"] + [
        "order:TRADE"
    ] * (len(sim.trace(algo.algo_id)) - 5) + ["algo:FINISHED"]
    done = sim.engine.get_algo("acct", algo_id=algo.algo_id)
    assert done.status is AlgoStatus.FINISHED and done.executed_qty == D("0.2") and done.avg_price > 0
    assert done.trigger_time_ms == sim.now
    assert done.actual_order_id is not None
    order = sim.engine.get_order("acct", BTC, order_id=done.actual_order_id)
    assert (order.type, order.orig_type, order.stop_price, order.algo_id) == (
        OrderType.MARKET,
        OrderType.STOP_MARKET,
        D("59000"),
        algo.algo_id,
    )
    assert order.client_order_id == "sl-1" and order.status is OrderStatus.FILLED
    assert sim.engine.positions("acct", BTC)[0].amount == 0
    assert sim.engine.open_algos("acct") == []


def test_take_profit_market_triggers_on_the_opposite_side() -> None:
    sim = Sim()
    algo = sim.algo(Side.BUY, OrderType.TAKE_PROFIT_MARKET, trigger_price=D("59500"))
    sim.price("60500")
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).status is AlgoStatus.NEW
    sim.price("59500")
    trace = sim.trace(algo.algo_id)
    assert trace[:5] == ["algo:NEW", "algo:TRIGGERING", "algo:TRIGGERED", "order:NEW", "order:TRADE"]
    assert trace[-1] == "algo:FINISHED"
    assert sim.engine.positions("acct", BTC)[0].amount == D("0.01")


def test_stop_limit_rests_after_trigger_and_finishes_when_filled() -> None:
    sim = Sim()
    algo = sim.algo(Side.BUY, OrderType.STOP, trigger_price=D("61000"), price=D("60990"))
    sim.price("61000")  # asks now start at 61003: the 60990 limit rests
    assert sim.trace(algo.algo_id) == ["algo:NEW", "algo:TRIGGERING", "algo:TRIGGERED", "order:NEW"]
    child = sim.engine.get_algo("acct", algo_id=algo.algo_id)
    assert child.status is AlgoStatus.TRIGGERED and not child.is_open
    order = sim.engine.get_order("acct", BTC, order_id=child.actual_order_id)
    assert (order.type, order.orig_type, order.price, order.stop_price, order.status) == (
        OrderType.LIMIT,
        OrderType.STOP,
        D("60990"),
        D("61000"),
        OrderStatus.NEW,
    )
    sim.price("60990")
    assert sim.trace(algo.algo_id)[-2:] == ["order:TRADE", "algo:FINISHED"]
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).executed_qty == D("0.01")


def test_take_profit_limit_sell() -> None:
    sim = Sim()
    sim.long("0.1")
    algo = sim.algo(
        Side.SELL, OrderType.TAKE_PROFIT, "0.1", trigger_price=D("60600"), price=D("60600"), reduce_only=True
    )
    sim.price("60300")
    assert sim.trace(algo.algo_id) == ["algo:NEW"]
    sim.price("60600")  # bids top at 60597: the 60600 limit sell rests...
    assert sim.trace(algo.algo_id) == ["algo:NEW", "algo:TRIGGERING", "algo:TRIGGERED", "order:NEW"]
    sim.price("60600")  # ...and the next print at its price fills it
    assert sim.trace(algo.algo_id)[-2:] == ["order:TRADE", "algo:FINISHED"]
    assert sim.engine.positions("acct", BTC)[0].amount == 0


def test_mark_price_trigger_ignores_last_price_and_vice_versa() -> None:
    sim = Sim()
    on_mark = sim.algo(
        Side.BUY, OrderType.STOP_MARKET, trigger_price=D("60100"), working_type=WorkingType.MARK_PRICE
    )
    on_last = sim.algo(Side.BUY, OrderType.STOP_MARKET, trigger_price=D("60100"))
    sim.price("60050", mark="60100")
    assert sim.engine.get_algo("acct", algo_id=on_mark.algo_id).status is AlgoStatus.FINISHED
    assert sim.engine.get_algo("acct", algo_id=on_last.algo_id).status is AlgoStatus.NEW
    sim.price("60100", mark="60050")
    assert sim.engine.get_algo("acct", algo_id=on_last.algo_id).status is AlgoStatus.FINISHED


def test_trailing_stop_with_activation_price() -> None:
    sim = Sim()
    algo = sim.algo(
        Side.SELL, OrderType.TRAILING_STOP_MARKET, activate_price=D("61000"), callback_rate=D("1")
    )
    assert algo.trigger_price == D("61000")
    sim.price("60500")
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).trailing_extreme is None  # not active yet
    sim.price("61000")
    sim.price("62000")  # new high: stop trails to 61380
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).trailing_extreme == D("62000")
    sim.price("61390")
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).status is AlgoStatus.NEW
    sim.price("61380")
    done = sim.engine.get_algo("acct", algo_id=algo.algo_id)
    assert done.status is AlgoStatus.FINISHED
    order = sim.engine.get_order("acct", BTC, order_id=done.actual_order_id)
    assert (order.type, order.orig_type, order.stop_price, order.side) == (
        OrderType.MARKET,
        OrderType.TRAILING_STOP_MARKET,
        D("61380.00"),
        Side.SELL,
    )
    assert sim.engine.positions("acct", BTC)[0].amount == D("-0.01")


def test_trailing_stop_activation_is_a_second_new_event_and_others_are_active_from_placement() -> None:
    """Binance's 2026-08-21 change log: a trailing stop sends NEW (ia=false), then NEW (ia=true)
    when it reaches its activation price, still before it triggers."""
    sim = Sim()
    algo = sim.algo(
        Side.SELL, OrderType.TRAILING_STOP_MARKET, activate_price=D("61000"), callback_rate=D("1")
    )
    sim.price("60500")
    news = [e for e in sim.events if isinstance(e, AlgoEvent) and e.algo.status is AlgoStatus.NEW]
    assert [(e.activation, e.algo.is_activated) for e in news] == [(False, False)]
    sim.price("61000")
    sim.price("62000")  # trailing, no further activation event
    news = [e for e in sim.events if isinstance(e, AlgoEvent) and e.algo.status is AlgoStatus.NEW]
    assert [(e.activation, e.algo.is_activated) for e in news] == [(False, False), (True, True)]
    sim.price("61380")
    assert sim.trace(algo.algo_id) == [
        "algo:NEW",
        "algo:NEW",
        "algo:TRIGGERING",
        "algo:TRIGGERED",
        "order:NEW",
        "order:TRADE",
        "algo:FINISHED",
    ]
    stop = sim.algo(Side.SELL, OrderType.STOP_MARKET, trigger_price=D("61000"))
    trailing_now = sim.algo(Side.BUY, OrderType.TRAILING_STOP_MARKET, callback_rate=D("0.5"))
    assert stop.is_activated and trailing_now.is_activated


def test_open_algo_count_is_per_account_across_symbols() -> None:
    sim = Sim()
    sim.engine.create_account("other", balance=BALANCE)
    sim.engine.set_price("ETHUSDT", D("3000"))
    a = sim.algo(Side.SELL, OrderType.STOP_MARKET, trigger_price=D("59000"))
    sim.engine.place_algo(
        "acct", AlgoRequest("ETHUSDT", Side.SELL, OrderType.STOP_MARKET, D("0.1"), trigger_price=D("2900"))
    )
    sim.engine.place_algo(
        "other", AlgoRequest(BTC, Side.SELL, OrderType.STOP_MARKET, D("0.01"), trigger_price=D("59000"))
    )
    assert sim.engine.open_algo_count("acct") == 2
    sim.engine.cancel_algo("acct", algo_id=a.algo_id)
    assert sim.engine.open_algo_count("acct") == 1
    assert sim.engine.open_algo_count("other") == 1


def test_trailing_buy_without_activation_starts_at_once() -> None:
    sim = Sim()
    algo = sim.algo(Side.BUY, OrderType.TRAILING_STOP_MARKET, callback_rate=D("0.5"))
    assert algo.trailing_extreme == D("60000")
    sim.price("59000")  # low 59000: stop at 59295
    sim.price("59290")
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).status is AlgoStatus.NEW
    sim.price("59295")
    done = sim.engine.get_algo("acct", algo_id=algo.algo_id)
    assert done.status is AlgoStatus.FINISHED
    assert sim.engine.get_order("acct", BTC, order_id=done.actual_order_id).stop_price == D("59295.00")


def test_cancel_before_trigger_and_cancel_rejects() -> None:
    sim = Sim()
    algo = sim.algo(Side.BUY, OrderType.STOP_MARKET, trigger_price=D("61000"), client_algo_id="a1")
    canceled = sim.engine.cancel_algo("acct", client_algo_id="a1")
    assert canceled.status is AlgoStatus.CANCELED
    assert sim.trace(algo.algo_id) == ["algo:NEW", "algo:CANCELED"]
    sim.price("61000")
    assert sim.trace(algo.algo_id) == ["algo:NEW", "algo:CANCELED"]
    for kw, reason in (
        ({"algo_id": algo.algo_id}, RejectReason.CANCEL_REJECTED),
        ({"algo_id": 5}, RejectReason.ORDER_NOT_FOUND),
    ):
        with pytest.raises(VenueReject) as err:
            sim.engine.cancel_algo("acct", **kw)  # type: ignore[arg-type]
        assert err.value.reason is reason


def test_cancel_all_algos_only_for_the_symbol() -> None:
    sim = Sim()
    ids = [sim.algo(Side.BUY, OrderType.STOP_MARKET, trigger_price=D(61000 + i)).algo_id for i in range(3)]
    eth = sim.engine.place_algo(
        "acct", AlgoRequest("ETHUSDT", Side.BUY, OrderType.STOP_MARKET, D("0.1"), trigger_price=D("3100"))
    )
    canceled = sim.engine.cancel_all_algos("acct", BTC)
    assert [a.algo_id for a in canceled] == ids
    assert [e.algo.status for e in sim.events if isinstance(e, AlgoEvent)][-3:] == [AlgoStatus.CANCELED] * 3
    assert [a.algo_id for a in sim.engine.open_algos("acct")] == [eth.algo_id]


def test_reduce_only_algo_expires_when_its_position_is_gone() -> None:
    sim = Sim()
    sim.long("0.1")
    algo = sim.algo(Side.SELL, OrderType.STOP_MARKET, "0.1", trigger_price=D("59000"), reduce_only=True)
    sim.engine.place_order("acct", OrderRequest(BTC, Side.SELL, OrderType.MARKET, D("0.1")))
    sim.price("59000")
    assert sim.trace(algo.algo_id) == ["algo:NEW", "algo:TRIGGERING", "algo:EXPIRED"]
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).actual_order_id is None
    assert sim.engine.positions("acct", BTC)[0].amount == 0


def test_algo_rejected_at_trigger_when_margin_is_gone() -> None:
    sim = Sim(balance=D(1000))
    algo = sim.algo(Side.BUY, OrderType.STOP_MARKET, "0.3", trigger_price=D("61000"))
    sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.3"), D("59000")))
    sim.price("61000")
    assert sim.trace(algo.algo_id)[-2:] == ["algo:TRIGGERING", "algo:REJECTED"]
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).reject_reason == "INSUFFICIENT_MARGIN"


ALGO_REJECTS = [
    (
        "stop buy at or below last",
        {"side": Side.BUY, "type_": OrderType.STOP_MARKET, "trigger_price": D("60000")},
        RejectReason.WOULD_IMMEDIATELY_TRIGGER,
    ),
    (
        "stop sell above last",
        {"side": Side.SELL, "type_": OrderType.STOP_MARKET, "trigger_price": D("60100")},
        RejectReason.WOULD_IMMEDIATELY_TRIGGER,
    ),
    (
        "tp buy above last",
        {"side": Side.BUY, "type_": OrderType.TAKE_PROFIT_MARKET, "trigger_price": D("60100")},
        RejectReason.WOULD_IMMEDIATELY_TRIGGER,
    ),
    (
        "trailing sell activation below last",
        {
            "side": Side.SELL,
            "type_": OrderType.TRAILING_STOP_MARKET,
            "activate_price": D("59000"),
            "callback_rate": D("1"),
        },
        RejectReason.WOULD_IMMEDIATELY_TRIGGER,
    ),
    (
        "trailing callback out of range",
        {"side": Side.SELL, "type_": OrderType.TRAILING_STOP_MARKET, "callback_rate": D("11")},
        RejectReason.INVALID_PARAMETER,
    ),
    (
        "trigger off tick",
        {"side": Side.BUY, "type_": OrderType.STOP_MARKET, "trigger_price": D("61000.01")},
        RejectReason.PRICE_FILTER,
    ),
    (
        "stop limit without price",
        {"side": Side.BUY, "type_": OrderType.STOP, "trigger_price": D("61000")},
        RejectReason.INVALID_PARAMETER,
    ),
    (
        "not conditional",
        {"side": Side.BUY, "type_": OrderType.LIMIT, "trigger_price": D("61000")},
        RejectReason.INVALID_PARAMETER,
    ),
    (
        "reduce only without position",
        {"side": Side.SELL, "type_": OrderType.STOP_MARKET, "trigger_price": D("59000"), "reduce_only": True},
        RejectReason.REDUCE_ONLY_REJECTED,
    ),
    (
        "min notional",
        {"side": Side.BUY, "type_": OrderType.STOP_MARKET, "trigger_price": D("61000"), "qty": "0.001"},
        RejectReason.MIN_NOTIONAL,
    ),
    (
        "GTX",
        {
            "side": Side.BUY,
            "type_": OrderType.STOP,
            "trigger_price": D("61000"),
            "price": D("61000"),
            "time_in_force": TimeInForce.GTX,
        },
        RejectReason.INVALID_PARAMETER,
    ),
]


@pytest.mark.parametrize(("name", "kw", "reason"), ALGO_REJECTS, ids=[r[0] for r in ALGO_REJECTS])
def test_place_algo_rejects(name: str, kw: dict[str, object], reason: RejectReason) -> None:
    sim = Sim()
    before = sim.engine.state()
    with pytest.raises(VenueReject) as err:
        sim.algo(**kw)  # type: ignore[arg-type]
    assert err.value.reason is reason, name
    assert sim.events == [] and sim.engine.state() == before


def test_duplicate_client_algo_id_and_history() -> None:
    sim = Sim()
    first = sim.algo(Side.BUY, OrderType.STOP_MARKET, trigger_price=D("61000"), client_algo_id="x")
    with pytest.raises(VenueReject) as err:
        sim.algo(Side.BUY, OrderType.STOP_MARKET, trigger_price=D("61000"), client_algo_id="x")
    assert err.value.reason is RejectReason.DUPLICATE_CLIENT_ID
    sim.now += 1000
    second = sim.algo(Side.BUY, OrderType.STOP_MARKET, trigger_price=D("62000"))
    assert [a.algo_id for a in sim.engine.all_algos("acct", BTC)] == [first.algo_id, second.algo_id]
    assert [a.algo_id for a in sim.engine.all_algos("acct", BTC, start_ms=T0 + 1)] == [second.algo_id]
    assert [a.algo_id for a in sim.engine.all_algos("acct", BTC, limit=1)] == [second.algo_id]
    state_algos = sim.engine.state()["algo_orders"]
    assert [a["algo_id"] for a in state_algos] == [first.algo_id, second.algo_id]  # type: ignore[attr-defined]


def test_gtd_algo_expires_on_step() -> None:
    sim = Sim()
    algo = sim.algo(
        Side.BUY,
        OrderType.STOP_MARKET,
        trigger_price=D("70000"),
        time_in_force=TimeInForce.GTD,
        good_till_date_ms=T0 + 500,
    )
    sim.now = T0 + 500
    sim.engine.step()
    assert sim.engine.get_algo("acct", algo_id=algo.algo_id).status is AlgoStatus.EXPIRED


def test_triggered_order_events_use_exec_types_in_order() -> None:
    sim = Sim()
    algo = sim.algo(Side.BUY, OrderType.STOP_MARKET, trigger_price=D("60300"))
    sim.price("60300")
    child_events = [e for e in sim.events if isinstance(e, OrderEvent) and e.order.algo_id == algo.algo_id]
    assert child_events[0].exec_type is ExecType.NEW
    assert {e.exec_type for e in child_events[1:]} == {ExecType.TRADE}
    assert child_events[-1].order.status is OrderStatus.FILLED
