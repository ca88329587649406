"""Accounts: positions, PnL and commission arithmetic, margin, modes, history, state()."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from adapters.sim.engine import VenueEngine, default_specs
from adapters.sim.model import (
    AccountConfigEvent,
    AccountEvent,
    EngineEvent,
    MarginCallEvent,
    MarginType,
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionSide,
    RejectReason,
    Side,
    VenueReject,
)

T0 = 1_700_000_000_000
BTC = "BTCUSDT"
D = Decimal
BALANCE = Decimal(100_000)


class Sim:
    def __init__(self, hedge: bool = False, balance: Decimal = BALANCE) -> None:
        self.now = T0
        self.engine = VenueEngine(default_specs(), seed=1, clock=lambda: self.now)
        self.events: list[EngineEvent] = []
        self.engine.subscribe(self.events.append)
        self.engine.create_account("acct", balance=balance, hedge_mode=hedge)
        self.engine.set_price(BTC, D("60000"))
        self.events.clear()

    def maker(
        self,
        side: Side,
        qty: str,
        price: str,
        ps: PositionSide = PositionSide.BOTH,
        reduce_only: bool = False,
    ) -> Order:
        """A resting limit order filled in full at its price (maker) by moving the market to it."""
        order = self.engine.place_order(
            "acct",
            OrderRequest(
                BTC, side, OrderType.LIMIT, D(qty), D(price), position_side=ps, reduce_only=reduce_only
            ),
        )
        assert order.status is OrderStatus.NEW
        self.engine.set_price(BTC, D(price))
        done = self.engine.get_order("acct", BTC, order_id=order.order_id)
        assert done.status is OrderStatus.FILLED
        return done

    def position(self, ps: PositionSide = PositionSide.BOTH) -> tuple[Decimal, Decimal, Decimal]:
        pos = next(p for p in self.engine.positions("acct", BTC) if p.position_side is ps)
        return pos.amount, pos.entry_price, pos.realized_pnl

    def wallet(self) -> Decimal:
        return self.engine.account("acct").wallet_balance


def test_realized_pnl_and_commission_are_exact() -> None:
    sim = Sim()
    sim.maker(Side.BUY, "0.5", "59970")
    fee1 = D("0.5") * D("59970") * D("0.0002")  # 5.997
    assert sim.position() == (D("0.5"), D("59970"), D(0))
    assert sim.wallet() == D(100_000) - fee1
    sim.maker(Side.SELL, "0.2", "60030")
    fee2 = D("0.2") * D("60030") * D("0.0002")  # 2.4012
    assert sim.position() == (D("0.3"), D("59970"), D("12"))
    # flip: 0.3 closes at +90, 0.2 opens a short at the fill price
    sim.maker(Side.SELL, "0.5", "60060")
    fee3 = D("0.5") * D("60060") * D("0.0002")  # 6.006
    assert sim.position() == (D("-0.2"), D("60060"), D("39"))
    assert sim.wallet() == D(100_000) + D("39") - fee1 - fee2 - fee3 == D("100024.5958")
    trades = sim.engine.account_trades("acct", BTC)
    assert [(t.realized_pnl, t.commission, t.maker) for t in trades] == [
        (D(0), D("5.99700000"), True),
        (D("12"), D("2.40120000"), True),
        (D("27"), D("6.00600000"), True),
    ]
    # the ACCOUNT_UPDATE after each fill carries the position and the new wallet
    account_events = [e for e in sim.events if isinstance(e, AccountEvent)]
    assert [e.reason for e in account_events] == ["ORDER"] * 3
    assert account_events[-1].wallet_balance == D("100024.5958")
    assert account_events[-1].positions[0].amount == D("-0.2")


def test_taker_commission_and_average_entry() -> None:
    sim = Sim()
    asks = sim.engine.book(BTC).asks
    qty = asks[0][1] + asks[1][1]
    sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.MARKET, qty))
    notional = asks[0][0] * asks[0][1] + asks[1][0] * asks[1][1]
    fees = [(p * q * D("0.0005")).quantize(D("1e-8")) for p, q in asks[:2]]
    assert sim.wallet() == D(100_000) - sum(fees)
    amount, entry, _ = sim.position()
    assert amount == qty
    assert entry == (notional / qty).quantize(D("1e-8"))


def test_entry_price_keeps_precision_and_break_even_covers_fees() -> None:
    sim = Sim()
    sim.maker(Side.BUY, "0.002", "59970")
    sim.maker(Side.BUY, "0.004", "59940.1")
    pos = sim.engine.positions("acct", BTC)[0]
    assert pos.entry_price == D("59950.06666667")  # (119.94 + 239.7604) / 0.006
    assert pos.break_even_price == (pos.entry_price * D("1.0005") / D("0.9995")).quantize(D("1e-8"))
    sim.engine.set_price(BTC, D("60000"), mark_price=D("60010"))
    expected = (D("0.006") * (D("60010") - pos.entry_price)).quantize(D("1e-8"))
    assert sim.engine.unrealized_pnl("acct", BTC, PositionSide.BOTH) == expected


def test_reduce_only_is_capped_to_the_position_and_rejected_without_one() -> None:
    sim = Sim()
    sim.maker(Side.BUY, "0.3", "59970")
    capped = sim.engine.place_order(
        "acct", OrderRequest(BTC, Side.SELL, OrderType.LIMIT, D("1"), D("61000"), reduce_only=True)
    )
    assert capped.orig_qty == D("0.3")
    tiny = sim.engine.place_order(
        "acct", OrderRequest(BTC, Side.SELL, OrderType.LIMIT, D("0.001"), D("61000"), reduce_only=True)
    )
    assert tiny.status is OrderStatus.NEW  # reduce-only is exempt from min notional
    with pytest.raises(VenueReject) as err:
        sim.engine.place_order(
            "acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.1"), D("59000"), reduce_only=True)
        )
    assert err.value.reason is RejectReason.REDUCE_ONLY_REJECTED
    # a market reduce-only bigger than the position closes it and nothing more
    done = sim.engine.place_order(
        "acct", OrderRequest(BTC, Side.SELL, OrderType.MARKET, D("5"), reduce_only=True)
    )
    assert done.orig_qty == D("0.3") and done.status is OrderStatus.FILLED
    assert sim.position()[0] == 0
    # the resting reduce-only orders now have nothing to reduce: they are knocked out when reached
    sim.events.clear()
    sim.engine.set_price(BTC, D("61000"))
    assert sim.engine.get_order("acct", BTC, order_id=capped.order_id).status is OrderStatus.EXPIRED
    assert sim.position()[0] == 0


def test_hedge_mode_keeps_long_and_short_apart() -> None:
    sim = Sim(hedge=True)
    sim.maker(Side.BUY, "0.4", "59970", PositionSide.LONG)
    sim.maker(Side.SELL, "0.1", "60030", PositionSide.SHORT)
    assert sim.position(PositionSide.LONG) == (D("0.4"), D("59970"), D(0))
    assert sim.position(PositionSide.SHORT) == (D("-0.1"), D("60030"), D(0))
    assert [p.position_side for p in sim.engine.positions("acct", BTC)] == [
        PositionSide.LONG,
        PositionSide.SHORT,
    ]
    sim.maker(Side.SELL, "0.1", "60090", PositionSide.LONG)  # closes part of the long only
    assert sim.position(PositionSide.LONG) == (D("0.3"), D("59970"), D("12"))
    assert sim.position(PositionSide.SHORT) == (D("-0.1"), D("60030"), D(0))
    sim.maker(Side.BUY, "0.1", "59940", PositionSide.SHORT)
    assert sim.position(PositionSide.SHORT) == (D(0), D(0), D("9"))
    for req, reason in (
        (
            OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.01"), D("59000")),
            RejectReason.POSITION_SIDE_MISMATCH,
        ),
        (
            OrderRequest(
                BTC, Side.BUY, OrderType.LIMIT, D("0.01"), D("59000"), position_side=PositionSide.SHORT
            ),
            RejectReason.REDUCE_ONLY_REJECTED,
        ),
        (
            OrderRequest(
                BTC,
                Side.SELL,
                OrderType.LIMIT,
                D("0.01"),
                D("61000"),
                position_side=PositionSide.LONG,
                reduce_only=True,
            ),
            RejectReason.INVALID_PARAMETER,
        ),
    ):
        with pytest.raises(VenueReject) as err:
            sim.engine.place_order("acct", req)
        assert err.value.reason is reason
    with pytest.raises(VenueReject) as err:
        sim.engine.set_position_mode("acct", False)
    assert err.value.reason is RejectReason.POSITION_MODE_CHANGE_WITH_OPEN


def test_position_mode_change_when_flat() -> None:
    sim = Sim()
    order = sim.engine.place_order(
        "acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.01"), D("59000"))
    )
    with pytest.raises(VenueReject) as err:
        sim.engine.set_position_mode("acct", True)
    assert err.value.reason is RejectReason.POSITION_MODE_CHANGE_WITH_OPEN
    sim.engine.cancel_order("acct", BTC, order_id=order.order_id)
    sim.engine.set_position_mode("acct", True)
    assert sim.engine.account("acct").hedge_mode
    assert len(sim.engine.positions("acct")) == 6  # LONG and SHORT for three symbols


def test_margin_check_counts_positions_and_open_orders() -> None:
    sim = Sim(balance=D(1000))  # 20x: 20000 of notional
    with pytest.raises(VenueReject) as err:
        sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.34"), D("59000")))
    assert err.value.reason is RejectReason.INSUFFICIENT_MARGIN  # 1003 > 1000
    sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.3"), D("59000")))
    assert sim.engine.available_balance("acct") == D(1000) - D(885)
    with pytest.raises(VenueReject) as err:
        sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.04"), D("59000")))
    assert err.value.reason is RejectReason.INSUFFICIENT_MARGIN
    assert sim.engine.set_leverage("acct", BTC, 50) == 50
    assert isinstance(sim.events[-1], AccountConfigEvent) and sim.events[-1].leverage == 50
    sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("0.04"), D("59000")))
    for bad in (0, 126):
        with pytest.raises(VenueReject) as err:
            sim.engine.set_leverage("acct", BTC, bad)
        assert err.value.reason is RejectReason.INVALID_LEVERAGE


def test_reduce_only_is_exempt_from_the_margin_check() -> None:
    sim = Sim(balance=D(400))
    sim.maker(Side.BUY, "0.1", "59970")  # 299.85 of margin
    sim.engine.set_price(BTC, D("57000"))  # deep unrealized loss eats the rest
    assert sim.engine.available_balance("acct") < 0
    order = sim.engine.place_order(
        "acct", OrderRequest(BTC, Side.SELL, OrderType.MARKET, D("0.1"), reduce_only=True)
    )
    assert order.status is OrderStatus.FILLED


def test_margin_type_and_margin_call() -> None:
    sim = Sim()
    sim.engine.set_margin_type("acct", BTC, MarginType.ISOLATED)
    assert sim.engine.account("acct").margin_type[BTC] is MarginType.ISOLATED
    sim.maker(Side.BUY, "0.1", "59970")
    with pytest.raises(VenueReject):
        sim.engine.set_margin_type("acct", BTC, MarginType.CROSSED)
    sim.events.clear()
    sim.engine.emit_margin_call("acct")
    (call,) = sim.events
    assert isinstance(call, MarginCallEvent)
    assert call.cross_wallet_balance == sim.wallet()
    assert [(p.symbol, p.amount) for p in call.positions] == [(BTC, D("0.1"))]


def test_history_queries_filter_and_page() -> None:
    sim = Sim()
    ids = []
    for i in range(6):
        sim.now = T0 + i * 1000
        ids.append(
            sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.MARKET, D("0.01"))).order_id
        )
    orders = sim.engine.all_orders("acct", BTC)
    assert [o.order_id for o in orders] == ids
    assert [o.order_id for o in sim.engine.all_orders("acct", BTC, limit=2)] == ids[-2:]
    assert [o.order_id for o in sim.engine.all_orders("acct", BTC, order_id=ids[2], limit=2)] == ids[2:4]
    assert [
        o.order_id for o in sim.engine.all_orders("acct", BTC, start_ms=T0 + 1000, end_ms=T0 + 3000)
    ] == ids[1:4]
    assert sim.engine.all_orders("acct", "ETHUSDT") == []
    trades = sim.engine.account_trades("acct", BTC)
    assert [t.order_id for t in trades] == ids  # 0.01 fits in the first level
    assert sim.engine.account_trades("acct", BTC, from_id=trades[3].trade_id, limit=2) == trades[3:5]
    assert sim.engine.account_trades("acct", BTC, order_id=ids[1]) == [trades[1]]
    assert sim.engine.account_trades("acct", BTC, limit=1) == trades[-1:]


def test_state_is_json_ready_ground_truth() -> None:
    sim = Sim()
    sim.maker(Side.BUY, "0.5", "59970")
    resting = sim.engine.place_order(
        "acct", OrderRequest(BTC, Side.SELL, OrderType.LIMIT, D("0.2"), D("61000"), client_order_id="tp")
    )
    raw = sim.engine.state()
    state: dict[str, Any] = json.loads(json.dumps(raw))
    assert state == raw
    acct = state["accounts"]["acct"]
    assert acct["wallet_balance"] == str(sim.wallet())
    btc = next(p for p in acct["positions"] if p["symbol"] == BTC)
    assert (btc["amount"], btc["entry_price"], btc["position_side"]) == ("0.5", "59970.00", "BOTH")
    orders = {o["order_id"]: o for o in state["orders"]}
    assert orders[resting.order_id]["status"] == "NEW"
    assert orders[resting.order_id]["client_order_id"] == "tp"
    assert orders[resting.order_id]["price"] == "61000"
    filled = next(o for o in orders.values() if o["status"] == "FILLED")
    assert (filled["executed_qty"], filled["avg_price"], filled["type"]) == ("0.5", "59970.00", "LIMIT")
    (trade,) = state["trades"]
    assert trade["order_id"] == filled["order_id"] and trade["commission"] == "5.99700000"
    assert trade["maker"] is True and trade["account_id"] == "acct" and trade["qty"] == "0.5"
    assert isinstance(trade["trade_id"], int)
    assert state["algo_orders"] == []


def test_order_events_for_a_fill_come_before_its_account_event() -> None:
    sim = Sim()
    sim.maker(Side.BUY, "0.1", "59970")
    kinds = [
        (type(e).__name__, getattr(e, "exec_type", None))
        for e in sim.events
        if isinstance(e, OrderEvent | AccountEvent)
    ]
    assert kinds[-2:] == [("OrderEvent", "TRADE"), ("AccountEvent", None)]
