"""Regular orders: validation, matching, resting, modify, cancel, events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pytest

from adapters.sim.engine import VenueEngine, default_specs
from adapters.sim.model import (
    AccountEvent,
    AlgoRequest,
    BookDelta,
    EngineEvent,
    ExecType,
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionSide,
    PublicTrade,
    RejectReason,
    Side,
    TimeInForce,
    VenueReject,
)

T0 = 1_700_000_000_000
BTC = "BTCUSDT"
PEPE = "1000PEPEUSDT"
D = Decimal
BALANCE = Decimal(1_000_000)


class Sim:
    def __init__(self, seed: int = 1, balance: Decimal = BALANCE) -> None:
        self.now = T0
        self.engine = VenueEngine(default_specs(), seed=seed, clock=lambda: self.now)
        self.events: list[EngineEvent] = []
        self.engine.subscribe(self.events.append)
        self.engine.create_account("acct", balance=balance)
        self.engine.set_price(BTC, D("60000"))  # asks 60003, 60006, ...; bids 59997, 59994, ...
        self.events.clear()

    def order(self, side: Side, qty: str, price: str | None = None, **kw: object) -> Order:
        type_ = OrderType.LIMIT if price is not None else OrderType.MARKET
        req = OrderRequest(BTC, side, type_, D(qty), D(price) if price else None, **kw)  # type: ignore[arg-type]
        return self.engine.place_order("acct", req)

    def order_events(self, order_id: int | None = None) -> list[OrderEvent]:
        return [
            e
            for e in self.events
            if isinstance(e, OrderEvent) and (order_id is None or e.order.order_id == order_id)
        ]

    def kinds(self) -> list[str]:
        return [e.exec_type.value if isinstance(e, OrderEvent) else type(e).__name__ for e in self.events]


@pytest.fixture
def sim() -> Sim:
    return Sim()


# --- rejects ----------------------------------------------------------------------------------


def _req(**kw: object) -> OrderRequest:
    base: dict[str, object] = {
        "symbol": BTC,
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": D("0.01"),
        "price": D("59000"),
    }
    base.update(kw)
    return OrderRequest(**base)  # type: ignore[arg-type]


REJECTS: list[tuple[str, OrderRequest, RejectReason]] = [
    ("unknown symbol", _req(symbol="FOOUSDT"), RejectReason.UNKNOWN_SYMBOL),
    ("price off tick", _req(price=D("59000.05")), RejectReason.PRICE_FILTER),
    ("price below min", _req(price=D("261.00"), quantity=D("1")), RejectReason.PRICE_FILTER),
    ("price above max", _req(price=D("809484.1")), RejectReason.PRICE_FILTER),
    ("qty off step", _req(quantity=D("0.0105")), RejectReason.LOT_SIZE),
    ("qty below min", _req(quantity=D("0.0005")), RejectReason.LOT_SIZE),
    ("qty above max", _req(quantity=D("1000.001")), RejectReason.LOT_SIZE),
    (
        "market qty above market max",
        _req(type=OrderType.MARKET, price=None, quantity=D("120.001")),
        RejectReason.MARKET_LOT_SIZE,
    ),
    ("min notional", _req(quantity=D("0.001")), RejectReason.MIN_NOTIONAL),
    (
        "post only would take",
        _req(price=D("60003"), time_in_force=TimeInForce.GTX),
        RejectReason.POST_ONLY_WOULD_TAKE,
    ),
    ("reduce only nothing to reduce", _req(reduce_only=True), RejectReason.REDUCE_ONLY_REJECTED),
    ("insufficient margin", _req(quantity=D("400")), RejectReason.INSUFFICIENT_MARGIN),
    ("LONG in one-way mode", _req(position_side=PositionSide.LONG), RejectReason.POSITION_SIDE_MISMATCH),
    ("conditional type", _req(type=OrderType.STOP_MARKET), RejectReason.ALGO_TYPE_ON_ORDER_ENDPOINT),
    ("limit without price", _req(price=None), RejectReason.INVALID_PARAMETER),
    (
        "GTD in the past",
        _req(time_in_force=TimeInForce.GTD, good_till_date_ms=T0 - 1),
        RejectReason.GTD_IN_PAST,
    ),
    ("GTD without time", _req(time_in_force=TimeInForce.GTD), RejectReason.INVALID_PARAMETER),
]


@pytest.mark.parametrize(("name", "request_", "reason"), REJECTS, ids=[r[0] for r in REJECTS])
def test_place_order_rejects_change_nothing(
    sim: Sim, name: str, request_: OrderRequest, reason: RejectReason
) -> None:
    before = sim.engine.state()
    book = sim.engine.book(BTC)
    with pytest.raises(VenueReject) as err:
        sim.engine.place_order("acct", request_)
    assert err.value.reason is reason, name
    assert sim.events == []
    assert sim.engine.state() == before
    assert sim.engine.book(BTC) == book


def test_pepe_unusual_precisions(sim: Sim) -> None:
    eng = sim.engine
    eng.set_price(PEPE, D("0.0123456"))
    order = eng.place_order("acct", OrderRequest(PEPE, Side.BUY, OrderType.LIMIT, D("500"), D("0.0120001")))
    assert order.status is OrderStatus.NEW
    for req, reason in (
        (OrderRequest(PEPE, Side.BUY, OrderType.LIMIT, D("500.5"), D("0.0120001")), RejectReason.LOT_SIZE),
        (OrderRequest(PEPE, Side.BUY, OrderType.LIMIT, D("500"), D("0.01200015")), RejectReason.PRICE_FILTER),
        (OrderRequest(PEPE, Side.BUY, OrderType.LIMIT, D("100"), D("0.0120000")), RejectReason.MIN_NOTIONAL),
    ):
        with pytest.raises(VenueReject) as err:
            eng.place_order("acct", req)
        assert err.value.reason is reason
    filled = eng.place_order("acct", OrderRequest(PEPE, Side.BUY, OrderType.MARKET, D("1000")))
    assert filled.status is OrderStatus.FILLED and filled.executed_qty == D("1000")
    assert filled.avg_price % D("0.0000001") == 0


def test_duplicate_client_id_only_among_open_orders(sim: Sim) -> None:
    first = sim.order(Side.BUY, "0.01", "59000", client_order_id="dup")
    with pytest.raises(VenueReject) as err:
        sim.order(Side.BUY, "0.01", "59000", client_order_id="dup")
    assert err.value.reason is RejectReason.DUPLICATE_CLIENT_ID
    sim.engine.cancel_order("acct", BTC, client_order_id="dup")
    second = sim.order(Side.BUY, "0.01", "59000", client_order_id="dup")
    assert second.order_id > first.order_id
    assert sim.engine.get_order("acct", BTC, client_order_id="dup").order_id == second.order_id


# --- taker matching ---------------------------------------------------------------------------


def test_market_order_walks_levels_and_depletes_book(sim: Sim) -> None:
    book = sim.engine.book(BTC)
    asks = list(book.asks)
    part = (asks[3][1] / 2).quantize(D("0.001"))
    qty = asks[0][1] + asks[1][1] + asks[2][1] + part
    order = sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.MARKET, qty))
    assert order.status is OrderStatus.FILLED and order.executed_qty == qty
    trades = [e.trade for e in sim.order_events(order.order_id) if e.trade is not None]
    assert [(t.price, t.qty) for t in trades] == [asks[0], asks[1], asks[2], (asks[3][0], part)]
    assert all(not t.maker for t in trades)
    assert abs(order.avg_price - sum((t.price * t.qty for t in trades), D(0)) / qty) < D("1e-8")
    delta = next(e for e in sim.events if isinstance(e, BookDelta))
    assert delta.asks == (
        (asks[0][0], D(0)),
        (asks[1][0], D(0)),
        (asks[2][0], D(0)),
        (asks[3][0], asks[3][1] - part),
    )
    assert delta.prev_update_id == book.last_update_id and delta.bids == ()
    after = sim.engine.book(BTC)
    assert after.asks[0] == (asks[3][0], asks[3][1] - part)
    assert after.last_update_id == delta.last_update_id
    public = [e for e in sim.events if isinstance(e, PublicTrade)]
    assert [(p.price, p.qty, p.first_trade_id) for p in public] == [
        (t.price, t.qty, t.trade_id) for t in trades
    ]
    assert not any(p.buyer_is_maker for p in public)
    # NEW, then the book/tape, then TRADE+ACCOUNT per fill
    assert sim.kinds() == ["NEW", "BookDelta"] + ["PublicTrade"] * 4 + ["TRADE", "AccountEvent"] * 4
    assert [e.order.status for e in sim.order_events(order.order_id)][1:] == (
        [OrderStatus.PARTIALLY_FILLED] * 3 + [OrderStatus.FILLED]
    )


def test_market_order_larger_than_the_book_expires_remainder(sim: Sim) -> None:
    total = sum(q for _, q in sim.engine.book(BTC, 1000).asks)
    order = sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.MARKET, total + D("1")))
    assert order.status is OrderStatus.EXPIRED and order.executed_qty == total
    assert order.expire_reason == 2
    assert sim.engine.book(BTC).asks == ()
    assert sim.order_events(order.order_id)[-1].exec_type is ExecType.EXPIRED
    sim.now += 100
    sim.engine.step()
    assert len(sim.engine.book(BTC).asks) == 20  # the market replenishes


def test_limit_partial_fill_rests_then_maker_fill_via_set_price(sim: Sim) -> None:
    asks = sim.engine.book(BTC).asks
    qty = asks[0][1] + asks[1][1] + D("0.5")
    order = sim.order(Side.BUY, str(qty), "60006")
    oid = order.order_id
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.executed_qty == asks[0][1] + asks[1][1]
    assert [o.order_id for o in sim.engine.open_orders("acct", BTC)] == [oid]
    assert sim.engine.book(BTC).asks[0][0] == D("60009")  # 60003 and 60006 consumed
    sim.events.clear()
    sim.engine.set_price(BTC, D("60000"))
    done = sim.engine.get_order("acct", BTC, order_id=oid)
    assert done.status is OrderStatus.FILLED and done.executed_qty == qty
    maker = [e.trade for e in sim.order_events(oid) if e.trade is not None]
    assert len(maker) == 1 and maker[0].maker and maker[0].price == D("60006") and maker[0].qty == D("0.5")
    assert sim.engine.open_orders("acct") == []


def test_resting_order_fills_partially_across_steps_limited_by_liquidity() -> None:
    sim = Sim(seed=2, balance=D(10_000_000))
    order = sim.order(Side.BUY, "60", "59997")  # best bid; the walk has to come down to it
    oid = order.order_id
    fills = []
    for _ in range(3000):
        sim.now += 100
        sim.engine.step()
        fills = [e.trade for e in sim.order_events(oid) if e.trade is not None]
        if len(fills) >= 2:
            break
    assert len(fills) >= 2, "walk never traded through the bid"
    assert all(t.maker and t.price == D("59997") for t in fills)
    first = next(e for e in sim.order_events(oid) if e.trade is not None)
    assert first.order.status is OrderStatus.PARTIALLY_FILLED
    assert first.order.executed_qty < D("60")


def test_ioc_remainder_expires_with_reason_2(sim: Sim) -> None:
    asks = sim.engine.book(BTC).asks
    qty = asks[0][1] + D("0.1")
    order = sim.order(Side.BUY, str(qty), "60003", time_in_force=TimeInForce.IOC)
    assert order.status is OrderStatus.EXPIRED
    assert order.executed_qty == asks[0][1] and order.expire_reason == 2
    assert [e.exec_type for e in sim.order_events()] == [ExecType.NEW, ExecType.TRADE, ExecType.EXPIRED]
    assert sim.engine.open_orders("acct") == []


def test_fok_that_cannot_fill_expires_without_any_fill(sim: Sim) -> None:
    asks = sim.engine.book(BTC).asks
    book_before = sim.engine.book(BTC)
    order = sim.order(
        Side.BUY, str(asks[0][1] + asks[1][1] + D("0.001")), "60006", time_in_force=TimeInForce.FOK
    )
    assert order.status is OrderStatus.EXPIRED and order.executed_qty == 0
    assert [e.exec_type for e in sim.order_events()] == [ExecType.NEW, ExecType.EXPIRED]
    assert not any(isinstance(e, BookDelta | AccountEvent) for e in sim.events)
    assert sim.engine.book(BTC) == book_before
    ok = sim.order(Side.BUY, str(asks[0][1] + asks[1][1]), "60006", time_in_force=TimeInForce.FOK)
    assert ok.status is OrderStatus.FILLED


def test_gtx_rests_when_it_does_not_cross(sim: Sim) -> None:
    order = sim.order(Side.SELL, "0.01", "60003", time_in_force=TimeInForce.GTX)
    assert order.status is OrderStatus.NEW
    assert [e.exec_type for e in sim.order_events()] == [ExecType.NEW]


def test_gtd_order_expires_on_the_step_at_its_time(sim: Sim) -> None:
    order = sim.order(Side.BUY, "0.01", "50000", time_in_force=TimeInForce.GTD, good_till_date_ms=T0 + 1000)
    oid = order.order_id
    sim.now = T0 + 999
    sim.engine.step()
    assert sim.engine.get_order("acct", BTC, order_id=oid).status is OrderStatus.NEW
    sim.now = T0 + 1000
    sim.engine.step()
    expired = sim.engine.get_order("acct", BTC, order_id=oid)
    assert expired.status is OrderStatus.EXPIRED
    assert sim.order_events(oid)[-1].exec_type is ExecType.EXPIRED
    assert sim.engine.open_orders("acct") == []


# --- modify -----------------------------------------------------------------------------------


def test_modify_amends_then_rematches_when_it_crosses(sim: Sim) -> None:
    order = sim.order(Side.BUY, "0.01", "59970")
    oid = order.order_id
    amended = sim.engine.modify_order(
        "acct", BTC, order_id=oid, side=Side.BUY, quantity=D("0.02"), price=D("59940")
    )
    assert (amended.orig_qty, amended.price, amended.status) == (D("0.02"), D("59940"), OrderStatus.NEW)
    ev = sim.order_events(oid)[-1]
    assert ev.exec_type is ExecType.AMENDMENT and ev.order.price == D("59940")
    best_ask, ask_qty = sim.engine.book(BTC).asks[0]
    sim.events.clear()
    crossed = sim.engine.modify_order(
        "acct", BTC, order_id=oid, side=Side.BUY, quantity=min(D("0.02"), ask_qty), price=best_ask
    )
    assert crossed.status is OrderStatus.FILLED
    assert [e.exec_type for e in sim.order_events(oid)] == [ExecType.AMENDMENT, ExecType.TRADE]
    trade = sim.order_events(oid)[-1].trade
    assert trade is not None and not trade.maker and trade.price == best_ask


def test_modify_rejects(sim: Sim) -> None:
    eng = sim.engine
    rest = sim.order(Side.BUY, "0.01", "59970", time_in_force=TimeInForce.GTX)
    oid = rest.order_id
    filled = sim.order(Side.BUY, "0.002", "60003")

    def modify(**kw: object) -> Callable[[], object]:
        args: dict[str, object] = {
            "order_id": oid,
            "side": Side.BUY,
            "quantity": D("0.01"),
            "price": D("59970"),
        }
        args.update(kw)
        return lambda: eng.modify_order("acct", BTC, **args)  # type: ignore[arg-type]

    cases = [
        (modify(), RejectReason.MODIFY_NO_CHANGE),
        (modify(price=D("60003")), RejectReason.POST_ONLY_WOULD_TAKE),
        (modify(order_id=filled.order_id), RejectReason.MODIFY_NOT_ALLOWED),
        (modify(order_id=1), RejectReason.ORDER_NOT_FOUND),
        (modify(side=Side.SELL), RejectReason.INVALID_PARAMETER),
        (modify(price=D("59970.01")), RejectReason.PRICE_FILTER),
        (modify(quantity=D("0.0101")), RejectReason.LOT_SIZE),
    ]
    sim.events.clear()
    for call, reason in cases:
        with pytest.raises(VenueReject) as err:
            call()
        assert err.value.reason is reason
    assert sim.events == []
    assert eng.get_order("acct", BTC, order_id=oid).price == D("59970")


def test_modify_quantity_must_exceed_executed(sim: Sim) -> None:
    ask_px, ask_qty = sim.engine.book(BTC).asks[0]
    order = sim.order(Side.BUY, str(ask_qty + D("0.01")), str(ask_px))
    assert order.executed_qty == ask_qty
    with pytest.raises(VenueReject) as err:
        sim.engine.modify_order(
            "acct",
            BTC,
            order_id=order.order_id,
            side=Side.BUY,
            quantity=ask_qty,
            price=D("59000"),
        )
    assert err.value.reason is RejectReason.INVALID_PARAMETER


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_and_cancel_rejects(sim: Sim) -> None:
    order = sim.order(Side.BUY, "0.01", "59000", client_order_id="c1")
    canceled = sim.engine.cancel_order("acct", BTC, client_order_id="c1")
    assert canceled.status is OrderStatus.CANCELED
    assert sim.order_events(order.order_id)[-1].exec_type is ExecType.CANCELED
    for kw, reason in (
        ({"order_id": order.order_id}, RejectReason.CANCEL_REJECTED),
        ({"order_id": 42}, RejectReason.ORDER_NOT_FOUND),
        ({"client_order_id": "nope"}, RejectReason.ORDER_NOT_FOUND),
    ):
        with pytest.raises(VenueReject) as err:
            sim.engine.cancel_order("acct", BTC, **kw)  # type: ignore[arg-type]
        assert err.value.reason is reason
    with pytest.raises(VenueReject) as err:
        sim.engine.cancel_order("acct", "ETHUSDT", order_id=order.order_id)
    assert err.value.reason is RejectReason.ORDER_NOT_FOUND


def test_cancel_all_publishes_one_canceled_per_order_of_that_symbol(sim: Sim) -> None:
    ids = [sim.order(Side.BUY, "0.01", p).order_id for p in ("59000", "58000", "57000")]
    eth = sim.engine.place_order(
        "acct", OrderRequest("ETHUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D("2900"))
    )
    sim.events.clear()
    canceled = sim.engine.cancel_all_orders("acct", BTC)
    assert [o.order_id for o in canceled] == ids
    assert [(e.order.order_id, e.exec_type) for e in sim.order_events()] == [
        (i, ExecType.CANCELED) for i in ids
    ]
    assert [o.order_id for o in sim.engine.open_orders("acct")] == [eth.order_id]
    assert sim.engine.cancel_all_orders("acct", BTC) == []


# --- ids, copies, listeners -------------------------------------------------------------------


def test_ids_strictly_increase(sim: Sim) -> None:
    ids = []
    for i in range(5):
        ids.append(sim.order(Side.BUY, "0.3", None).order_id)
        ids.append(sim.order(Side.SELL, "0.01", str(61000 + i)).order_id)
        sim.now += 100
        sim.engine.step()
    assert ids[0] == 8_000_000_000
    assert ids == sorted(set(ids))
    trade_ids = [t.trade_id for t in sim.engine.account_trades("acct", BTC)]
    assert len(trade_ids) > 5 and trade_ids == sorted(set(trade_ids))
    tape = [p.first_trade_id for p in sim.engine.public_trades(BTC, limit=1000)]
    assert tape == sorted(set(tape)) and set(trade_ids) <= set(tape)
    algo_ids = [
        sim.engine.place_algo(
            "acct", AlgoRequest(BTC, Side.BUY, OrderType.STOP_MARKET, D("0.01"), trigger_price=D(70000 + i))
        ).algo_id
        for i in range(3)
    ]
    assert algo_ids == [1_000_000_000_000, 1_000_000_000_001, 1_000_000_000_002]


def test_events_carry_copies(sim: Sim) -> None:
    order = sim.order(Side.BUY, "0.01", "59000")
    ev = sim.order_events()[0]
    ev.order.price = D("1")
    ev.order.trade_ids.append(99)
    order.status = OrderStatus.FILLED
    live = sim.engine.get_order("acct", BTC, order_id=ev.order.order_id)
    assert live.price == D("59000") and live.trade_ids == [] and live.status is OrderStatus.NEW
    sim.order(Side.BUY, "0.01", None)
    acct_ev = next(e for e in sim.events if isinstance(e, AccountEvent))
    acct_ev.positions[0].amount = D("100")
    assert sim.engine.positions("acct", BTC)[0].amount == D("0.01")


def test_listener_exception_is_logged_and_does_not_corrupt_state(
    sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: EngineEvent) -> None:
        raise RuntimeError("socket closed")

    sim.engine.unsubscribe(sim.events.append)
    sim.engine.subscribe(broken)
    sim.engine.subscribe(sim.events.append)
    with caplog.at_level(logging.ERROR, logger="adapters.sim.engine"):
        order = sim.order(Side.BUY, "0.5", None)
    assert order.status is OrderStatus.FILLED
    assert "socket closed" in caplog.text
    assert sim.kinds()[0] == "NEW" and sim.kinds().count("TRADE") >= 1  # later listener still served
    assert sim.engine.positions("acct", BTC)[0].amount == D("0.5")
