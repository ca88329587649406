"""``VenueSync`` sans I/O: a fake HTTP client answers with the venue's REST bodies (bytes decoded by
the real decoders); the recording sink shows exactly what recovery and resolution emit."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.execution.reports import ExecutionMassStatus, OrderStatusReport
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, PositionId, VenueOrderId
from nautilus_trader.model.objects import Money, Price, Quantity

from adapters.binance_futures.errors import BinanceAmbiguous, BinanceRejection
from adapters.binance_futures.schemas_rest import AlgoOrder, Order, PositionRisk, UserTrade, decode_http
from adapters.binance_futures.venue_sync import VenueSync
from adapters.core.orders.order_tracking import Terminal
from tests.binance_futures.user_frames import (
    ACCOUNT,
    ALGO_CID,
    CID,
    INSTRUMENTS,
    MS,
    TS_INIT,
    Env,
    fixture,
    make_env,
    raw,
    tracked,
    trade,
)

SINCE_MS = 1735689000000


def order(**fields: Any) -> Order:
    body = fixture("http_order.json")
    body.update(fields)
    return decode_http(json.dumps(body).encode(), Order)


def algo_order(index: int = 0, **fields: Any) -> AlgoOrder:
    body = fixture("http_open_algo_orders.json")[index]
    body.update(fields)
    return decode_http(json.dumps(body).encode(), AlgoOrder)


def user_trade(trade_id: int, qty: str = "0.100", order_id: int = 4200000001, **fields: Any) -> UserTrade:
    body = fixture("http_user_trades.json")[0]
    body.update({"id": trade_id, "qty": qty, "orderId": order_id, **fields})
    return decode_http(json.dumps(body).encode(), UserTrade)


def not_found() -> BinanceRejection:
    return BinanceRejection(
        -2013, "Order does not exist.", http_status=400, method="GET", path="/fapi/v1/order"
    )


class FakeHttp:
    """The subset of ``BinanceFuturesHttpClient`` VenueSync calls, with canned answers and a call log."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.open: list[Order] | Exception = []
        self.open_algos: list[AlgoOrder] | Exception = []
        self.orders: dict[Any, Order | Exception] = {}  # by orderId or clientOrderId
        self.algos: dict[str, AlgoOrder | Exception] = {}
        self.trades: dict[str, list[UserTrade]] = {}  # per symbol, ascending ids
        self.positions: list[PositionRisk] = []
        self.now = SINCE_MS + 3_600_000  # the venue's clock: an hour into the session

    def now_ms(self) -> int:
        return self.now

    @staticmethod
    def _answer(value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        return value

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        self.calls.append(("open_orders", {"symbol": symbol}))
        return [o for o in self._answer(self.open) if symbol is None or o.symbol == symbol]

    async def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]:
        self.calls.append(("open_algo_orders", {"symbol": symbol}))
        return list(self._answer(self.open_algos))

    async def position_risk(self, symbol: str | None = None) -> list[PositionRisk]:
        self.calls.append(("position_risk", {"symbol": symbol}))
        return list(self.positions)

    async def query_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Order:
        self.calls.append(
            ("query_order", {"symbol": symbol, "order_id": order_id, "cid": orig_client_order_id})
        )
        key = order_id if order_id is not None else orig_client_order_id
        if key not in self.orders:
            raise not_found()
        return self._answer(self.orders[key])

    async def query_algo_order(
        self, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder:
        self.calls.append(("query_algo_order", {"algo_id": algo_id, "client_algo_id": client_algo_id}))
        if client_algo_id not in self.algos:
            raise not_found()
        return self._answer(self.algos[client_algo_id])

    async def user_trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        from_id: int | None = None,
        limit: int | None = None,
    ) -> list[UserTrade]:
        self.calls.append(
            (
                "user_trades",
                {
                    "symbol": symbol,
                    "order_id": order_id,
                    "start_time": start_time,
                    "end_time": end_time,
                    "from_id": from_id,
                    "limit": limit,
                },
            )
        )
        trades = self.trades.get(symbol, [])
        if order_id is not None:
            trades = [t for t in trades if t.orderId == order_id]
        if from_id is not None:
            trades = [t for t in trades if t.id >= from_id]
        if start_time is not None or end_time is not None:
            # The venue's own rules: a span of at most 7 days, never together with fromId.
            assert from_id is None
            end = end_time if end_time is not None else (start_time or 0) + 7 * 86_400_000
            assert start_time is not None and end - start_time < 7 * 86_400_000
            trades = [t for t in trades if start_time <= t.time <= end]
        return trades[: limit or 500]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class SyncEnv:
    def __init__(self, *, expired_as_canceled: bool = False) -> None:
        self.env: Env = make_env(expired_as_canceled=expired_as_canceled)
        self.http = FakeHttp()
        self.sync = VenueSync(
            http=self.http,  # type: ignore[arg-type]
            facts=self.env.facts,
            handler=self.env.handler,
            account_id=ACCOUNT,
            instruments=INSTRUMENTS.__getitem__,
            position_id=lambda iid, ps: PositionId(f"{iid}-{ps}") if ps in ("LONG", "SHORT") else None,
            clock_ns=lambda: TS_INIT,
            treat_expired_as_canceled=expired_as_canceled,
            since_ms=lambda: SINCE_MS,
            logger=logging.getLogger("tests.venue_sync"),
        )

    @property
    def events(self) -> list[tuple[Any, ...]]:
        return self.env.sink.events


@pytest.fixture
def s() -> SyncEnv:
    return SyncEnv()


def _report(event: tuple[Any, ...]) -> OrderStatusReport:
    assert event[0] == "report", event
    assert isinstance(event[1], OrderStatusReport)
    return event[1]


# ------------------------------------------------------------------------------------------------
# Snapshot
# ------------------------------------------------------------------------------------------------


async def test_snapshot_confirms_tracked_orders_and_reports_external_ones(s: SyncEnv) -> None:
    s.env.tracker.track(tracked())
    s.env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None))
    s.http.open = [order(), order(orderId=4200000002, clientOrderId="web-1", status="NEW", executedQty="0")]
    s.http.open_algos = [algo_order(0), algo_order(1)]
    outcome = await s.sync.snapshot()
    assert [(q.name, q.ok, q.emitted) for q in outcome.queries] == [
        ("openOrders", True, 2),
        ("openAlgoOrders", True, 2),
    ]
    assert s.events[0] == ("accepted", CID, "4200000001")
    external = _report(s.events[1])
    assert (
        external.client_order_id == ClientOrderId("web-1") and external.order_status == OrderStatus.ACCEPTED
    )
    assert s.events[2] == ("accepted", ALGO_CID, "7700000001")
    triggered = _report(s.events[3])
    assert triggered.client_order_id == ClientOrderId("O-20250101-000000-001-001-5")
    assert triggered.order_status == OrderStatus.TRIGGERED
    assert triggered.venue_order_id == VenueOrderId("4200000088")
    assert len(s.events) == 4
    # Repeating the snapshot adds nothing for tracked orders.
    await s.sync.snapshot()
    assert [e[0] for e in s.events[4:]] == ["report", "report"]


async def test_snapshot_reports_each_query_separately(s: SyncEnv) -> None:
    s.http.open = BinanceAmbiguous("HTTP 503", http_status=503)
    s.http.open_algos = [algo_order(0)]
    outcome = await s.sync.snapshot()
    assert [(q.name, q.ok) for q in outcome.queries] == [("openOrders", False), ("openAlgoOrders", True)]
    assert not outcome.all_failed
    s.http.open_algos = BinanceAmbiguous("HTTP 502", http_status=502)
    assert (await s.sync.snapshot()).all_failed


async def test_snapshot_survives_an_order_no_report_can_represent(s: SyncEnv) -> None:
    """A closePosition stop placed elsewhere has no quantity: it cannot become a report, but it must
    not fail the whole snapshot (recovery would retry forever)."""
    s.http.open_algos = [
        algo_order(0, clientAlgoId="web-close", quantity="0", closePosition=True),
        algo_order(1),
    ]
    outcome = await s.sync.snapshot()
    assert [(q.name, q.ok) for q in outcome.queries] == [("openOrders", True), ("openAlgoOrders", True)]
    (event,) = s.events
    assert _report(event).venue_order_id == VenueOrderId("4200000088")


# ------------------------------------------------------------------------------------------------
# Post-snapshot: closed orders and the trade backfill
# ------------------------------------------------------------------------------------------------


async def test_order_filled_during_the_gap_gets_its_fills_then_closes(s: SyncEnv) -> None:
    tracked_order = s.env.tracker.track(tracked())
    s.env.feed(raw("order_trade_update_new.json"), raw("order_trade_update_trade.json"))
    s.http.orders[CID] = order(status="FILLED", executedQty="0.250")
    s.http.trades["ETHUSDT"] = [user_trade(987650001), user_trade(987650002, "0.150", maker=False)]
    await s.sync.snapshot()
    outcome = await s.sync.post_snapshot()
    assert [(q.name, q.ok, q.emitted) for q in outcome.queries] == [
        ("closedOrders", True, 1),
        ("userTrades:ETHUSDT", True, 0),
        ("openOrders:relisted", True, 0),
    ]
    assert [e[:4] for e in s.events] == [
        ("accepted", CID, "4200000001"),
        ("filled", CID, "4200000001", "987650001"),
        ("filled", CID, "4200000001", "987650002"),
    ]
    fill = s.env.sink.args("filled")[1]
    assert str(fill["last_qty"]) == "0.150" and str(fill["commission"]) == "0.06300200 USDT"
    assert fill["ts_event"] == 1735689601000 * MS
    assert tracked_order.terminal is Terminal.FILLED
    # No walk has verified anything yet (the stream never moves a cursor): the walk starts at the
    # session start, finds both trades (already emitted), then continues by id after them.
    walks = [c for name, c in s.http.calls if name == "user_trades" and c["order_id"] is None]
    assert [(w["start_time"], w["from_id"]) for w in walks] == [(SINCE_MS, None), (None, 987650003)]
    assert s.env.tracker.trade_cursor["ETHUSDT"] == 987650002


async def test_cancel_during_the_gap_emits_missing_fill_before_the_cancel(s: SyncEnv) -> None:
    s.env.tracker.track(tracked())
    s.env.feed(raw("order_trade_update_new.json"))
    s.http.orders[CID] = order(status="CANCELED", executedQty="0.100")
    s.http.trades["ETHUSDT"] = [user_trade(987650001)]
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    assert [e[0] for e in s.events] == ["accepted", "filled", "canceled"]
    assert s.env.fill_requests == []  # fetched before the status was applied: nothing held


@pytest.mark.parametrize(("as_canceled", "kind"), [(False, "expired"), (True, "canceled")])
async def test_expired_during_the_gap(as_canceled: bool, kind: str) -> None:
    s = SyncEnv(expired_as_canceled=as_canceled)
    s.env.tracker.track(tracked())
    s.http.orders[CID] = order(status="EXPIRED", executedQty="0")
    await s.sync.post_snapshot()
    assert [e[0] for e in s.events] == ["accepted", kind]


async def test_backfill_pages_through_fills_of_open_and_unknown_orders(s: SyncEnv) -> None:
    tracked_order = s.env.tracker.track(tracked())
    s.env.feed(raw("order_trade_update_new.json"), trade(100, "0.010", "0.010"))
    s.http.open = [order(status="PARTIALLY_FILLED", executedQty="0.050")]
    ours = [user_trade(100 + i, "0.010") for i in range(5)]  # 100 already seen on the stream
    theirs = [user_trade(105 + i, "0.001", order_id=4200000999) for i in range(1000)]
    s.http.trades["ETHUSDT"] = ours + theirs
    s.http.orders[4200000999] = order(
        orderId=4200000999, clientOrderId="web-9", status="FILLED", origQty="1.000", executedQty="1.000"
    )
    await s.sync.snapshot()
    outcome = await s.sync.post_snapshot()
    # The open order's shortfall (0.050 on the venue, 0.010 told) is fetched by its id first; the
    # walk then finds the external order, reported once with all 1,000 of its fills: they sum to
    # the filled quantity its report states, so the engine infers nothing.
    assert [(q.name, q.ok, q.emitted) for q in outcome.queries] == [
        ("orderFills", True, 1),
        ("userTrades:ETHUSDT", True, 1),
        ("openOrders:relisted", True, 0),
    ]
    assert [e[3] for e in s.events if e[0] == "filled"] == ["100", "101", "102", "103", "104"]
    assert tracked_order.filled == Decimal("0.050")
    masses = [e[1] for e in s.events if e[0] == "mass"]
    assert len(masses) == 1
    first = masses[0]
    assert isinstance(first, ExecutionMassStatus)
    fills = first.fill_reports[VenueOrderId("4200000999")]
    assert [f.trade_id.value for f in fills] == [str(105 + i) for i in range(1000)]
    assert sum(f.last_qty.as_decimal() for f in fills) == Decimal("1.000")
    report = first.order_reports[VenueOrderId("4200000999")]
    assert report.client_order_id == ClientOrderId("web-9") and str(report.filled_qty) == "1.000"
    pages = [c for name, c in s.http.calls if name == "user_trades" and c["order_id"] is None]
    assert [p["from_id"] for p in pages] == [None, 1100]  # the session's first window, then by id
    assert s.env.tracker.trade_cursor["ETHUSDT"] == 1104
    # A second pass finds nothing new.
    before = len(s.events)
    await s.sync.post_snapshot()
    assert len(s.events) == before


async def test_backfill_without_a_cursor_starts_at_the_session_start(s: SyncEnv) -> None:
    s.env.tracker.track(tracked())
    s.env.facts.accepted(s.env.tracker.orders[CID], VenueOrderId("4200000001"), 1)
    s.http.open = [order(status="NEW", executedQty="0")]
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    assert [c for name, c in s.http.calls if name == "user_trades"] == [
        {
            "symbol": "ETHUSDT",
            "order_id": None,
            "start_time": SINCE_MS,
            "end_time": s.http.now,
            "from_id": None,
            "limit": 1000,
        }
    ]


# ------------------------------------------------------------------------------------------------
# Orders unknown to the venue, algo resolution
# ------------------------------------------------------------------------------------------------


async def test_in_flight_submit_is_not_rejected_by_a_recovery(s: SyncEnv) -> None:
    """An order whose submit is still in flight (or ambiguous, being resolved by its own task) is
    not on the venue yet: recovery must not declare it rejected (the venue may accept it a moment
    later, leaving a live order the node believes dead)."""
    pending = s.env.tracker.track(tracked())
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    assert s.events == []
    assert pending.terminal is None
    pending.ambiguous = True
    await s.sync.post_snapshot()
    assert s.events == [] and pending.terminal is None
    # When the venue does answer, the order carries on normally.
    s.env.feed(raw("order_trade_update_new.json"))
    assert s.events == [("accepted", CID, "4200000001")]


async def test_accepted_order_unknown_to_the_venue_is_left_alone(s: SyncEnv) -> None:
    known = s.env.tracker.track(tracked())
    s.env.facts.accepted(known, VenueOrderId("4200000001"), 1)
    assert await s.sync.resolve_order(known) is False
    await s.sync.post_snapshot()
    assert [e[0] for e in s.events] == ["accepted"] and known.terminal is None


async def test_resolve_propagates_ambiguous_errors(s: SyncEnv) -> None:
    known = s.env.tracker.track(tracked())
    s.http.orders[CID] = BinanceAmbiguous("timeout")
    with pytest.raises(BinanceAmbiguous):
        await s.sync.resolve_order(known)
    outcome = await s.sync.post_snapshot()
    assert outcome.queries[0].name == "closedOrders" and not outcome.queries[0].ok


async def test_untriggered_algo_order_resolves_through_the_algo_endpoint(s: SyncEnv) -> None:
    stop = s.env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None)
    )
    s.http.algos[ALGO_CID] = algo_order(0, algoStatus="CANCELED")
    assert await s.sync.resolve_order(stop) is True
    assert s.events == [("accepted", ALGO_CID, "7700000001"), ("canceled", ALGO_CID, "7700000001")]
    assert s.http.names() == ["query_algo_order"]


async def test_algo_triggered_during_the_gap_is_filled_under_the_new_id(s: SyncEnv) -> None:
    stop = s.env.tracker.track(
        tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_MARKET, price=None)
    )
    s.env.feed(raw("algo_update_new.json"))
    s.http.algos[ALGO_CID] = algo_order(
        0, algoStatus="FINISHED", actualOrderId="4200000077", executedQty="0.300"
    )
    s.http.orders[4200000077] = order(
        orderId=4200000077,
        clientOrderId=ALGO_CID,
        status="FILLED",
        type="MARKET",
        origType="STOP_MARKET",
        side="BUY",
        origQty="0.300",
        executedQty="0.300",
        price="0",
    )
    s.http.trades["ETHUSDT"] = [
        user_trade(987650200, "0.300", order_id=4200000077, side="BUY", price="3300.40")
    ]
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    assert [e[:5] for e in s.events] == [
        ("accepted", ALGO_CID, "7700000001"),
        ("updated", ALGO_CID, "4200000077", "0.300", "None"),
        ("filled", ALGO_CID, "4200000077", "987650200", "0.300"),
    ]
    assert stop.triggered and stop.terminal is Terminal.FILLED
    assert stop.venue_order_id == VenueOrderId("4200000077")


async def test_stop_limit_triggered_during_the_gap_emits_triggered(s: SyncEnv) -> None:
    stop = s.env.tracker.track(tracked(ALGO_CID, side=OrderSide.BUY, order_type=OrderType.STOP_LIMIT))
    s.env.feed(raw("algo_update_new.json"))
    s.http.open_algos = []
    s.http.algos[ALGO_CID] = algo_order(
        0, algoStatus="TRIGGERED", actualOrderId="4200000078", orderType="STOP"
    )
    s.http.orders[4200000078] = order(
        orderId=4200000078, clientOrderId=ALGO_CID, status="NEW", executedQty="0"
    )
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    assert s.events == [
        ("accepted", ALGO_CID, "7700000001"),
        ("triggered", ALGO_CID, "7700000001"),
        ("updated", ALGO_CID, "4200000078", "0.300", "None"),
    ]
    assert stop.venue_order_id == VenueOrderId("4200000078") and stop.terminal is None


# ------------------------------------------------------------------------------------------------
# Quantities, not cursors: several orders and an external one in one gap, windows, horizons
# ------------------------------------------------------------------------------------------------

DAY_MS = 86_400_000


async def test_an_open_partial_fill_and_a_later_closed_fill_in_one_gap(s: SyncEnv) -> None:
    """A partially filled and stays open (trade 100); B fills and closes (trade 105, later). B's
    resolution must not hide A's trade: the cursor was 99 before the gap."""
    a = s.env.tracker.track(tracked(quantity="0.500"))
    b = s.env.tracker.track(tracked("O-b"))
    s.env.facts.accepted(a, VenueOrderId("4200000001"), 1)
    s.env.facts.accepted(b, VenueOrderId("4200000002"), 1)
    s.env.tracker.advance_cursor("ETHUSDT", 99)
    s.http.open = [order(status="PARTIALLY_FILLED", origQty="0.500", executedQty="0.151")]
    s.http.orders["O-b"] = order(
        orderId=4200000002, clientOrderId="O-b", status="FILLED", executedQty="0.250"
    )
    s.http.trades["ETHUSDT"] = [
        user_trade(100, "0.151"),
        user_trade(105, "0.250", order_id=4200000002),
    ]
    await s.sync.snapshot()
    outcome = await s.sync.post_snapshot()
    assert not outcome.required_failed
    filled = [(e[1], e[3]) for e in s.events if e[0] == "filled"]
    assert sorted(filled) == [(CID, "100"), ("O-b", "105")]
    assert a.filled == a.venue_filled == Decimal("0.151") and a.terminal is None
    assert b.filled == Decimal("0.250") and b.terminal is Terminal.FILLED
    assert s.env.tracker.trade_cursor["ETHUSDT"] == 105


async def test_an_external_fill_is_still_found_after_a_failed_attempt(s: SyncEnv) -> None:
    """Attempt 1 resolves the closed order B (emitting its trade 105) and then its walk fails; the
    retry must still walk from 99, where an external order's trade 100 is waiting."""
    b = s.env.tracker.track(tracked("O-b"))
    s.env.facts.accepted(b, VenueOrderId("4200000002"), 1)
    s.env.tracker.advance_cursor("ETHUSDT", 99)
    s.http.orders["O-b"] = order(
        orderId=4200000002, clientOrderId="O-b", status="FILLED", executedQty="0.250"
    )
    s.http.orders[4200000999] = order(
        orderId=4200000999, clientOrderId="web-1", status="FILLED", origQty="0.010", executedQty="0.010"
    )
    s.http.trades["ETHUSDT"] = [
        user_trade(100, "0.010", order_id=4200000999),
        user_trade(105, "0.250", order_id=4200000002),
    ]
    walk_fails = [True]
    real = s.http.user_trades

    async def flaky(symbol: str, **kw: Any) -> list[UserTrade]:
        if kw.get("order_id") is None and walk_fails[0]:
            walk_fails[0] = False
            raise BinanceAmbiguous("HTTP 503", http_status=503)
        return await real(symbol, **kw)

    s.http.user_trades = flaky  # type: ignore[method-assign]
    await s.sync.snapshot()
    first = await s.sync.post_snapshot()
    assert first.required_failed == ["userTrades:ETHUSDT"]
    assert b.terminal is Terminal.FILLED
    await s.sync.snapshot()
    second = await s.sync.post_snapshot()
    assert not second.required_failed
    masses = [e[1] for e in s.events if e[0] == "mass"]
    assert [m.order_reports[VenueOrderId("4200000999")].client_order_id.value for m in masses] == ["web-1"]


async def test_a_walk_without_a_cursor_pages_seven_day_windows_up_to_now(s: SyncEnv) -> None:
    """userTrades serves at most 7 days per time-bounded call: a session 20 days old with its only
    trades on days 3 and 15 must find both (a single startTime query would stop after day 7)."""
    s.http.now = SINCE_MS + 20 * DAY_MS
    a = s.env.tracker.track(tracked(quantity="0.500"))
    s.env.facts.accepted(a, VenueOrderId("4200000001"), 1)
    s.http.open = [order(status="PARTIALLY_FILLED", origQty="0.500", executedQty="0")]
    s.http.trades["ETHUSDT"] = [
        user_trade(300, "0.010", order_id=4200000999, time=SINCE_MS + 3 * DAY_MS),
        user_trade(400, "0.020", order_id=4200000999, time=SINCE_MS + 15 * DAY_MS),
    ]
    s.http.orders[4200000999] = order(
        orderId=4200000999, clientOrderId="web-2", status="FILLED", origQty="0.030", executedQty="0.030"
    )
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    walks = [c for name, c in s.http.calls if name == "user_trades" and c["order_id"] is None]
    assert [(w["start_time"], w["from_id"]) for w in walks] == [
        (SINCE_MS, None),  # days 0-7: trade 300; then by id from there, whatever its time
        (None, 301),
    ]
    # The external order is reported once, with both its trades (fetched by its id).
    (mass,) = [e[1] for e in s.events if e[0] == "mass"]
    assert [f.trade_id.value for f in mass.fill_reports[VenueOrderId("4200000999")]] == ["300", "400"]
    assert s.env.tracker.trade_cursor["ETHUSDT"] == 400


async def test_empty_windows_are_skipped_until_now(s: SyncEnv) -> None:
    s.http.now = SINCE_MS + 20 * DAY_MS
    s.env.tracker.track(tracked())
    s.env.facts.accepted(s.env.tracker.orders[CID], VenueOrderId("4200000001"), 1)
    s.http.open = [order(status="NEW", executedQty="0")]
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    walks = [(c["start_time"], c["end_time"]) for name, c in s.http.calls if name == "user_trades"]
    assert walks == [
        (SINCE_MS, SINCE_MS + 7 * DAY_MS - 1),
        (SINCE_MS + 7 * DAY_MS, SINCE_MS + 14 * DAY_MS - 1),
        (SINCE_MS + 14 * DAY_MS, SINCE_MS + 20 * DAY_MS),
    ]


async def test_a_gap_older_than_the_venues_history_is_an_error_naming_the_symbol(
    s: SyncEnv, caplog: pytest.LogCaptureFixture
) -> None:
    s.http.now = SINCE_MS + 100 * DAY_MS  # a session (and no cursor) older than 90 days of history
    s.env.tracker.track(tracked())
    s.env.facts.accepted(s.env.tracker.orders[CID], VenueOrderId("4200000001"), 1)
    s.http.open = [order(status="NEW", executedQty="0")]
    with caplog.at_level(logging.ERROR, logger="tests.venue_sync"):
        await s.sync.snapshot()
        await s.sync.post_snapshot()
    assert (
        "fills of ETHUSDT from 2024-12-31T23:50:00+00:00" in caplog.text
        and "can no longer be verified" in caplog.text
    )
    first = next(c for name, c in s.http.calls if name == "user_trades")
    assert first["start_time"] == s.http.now - 90 * DAY_MS  # starts at the horizon, not before


async def test_an_old_orders_fills_are_fetched_in_windows_from_its_creation(s: SyncEnv) -> None:
    s.http.now = SINCE_MS + 10 * DAY_MS
    a = s.env.tracker.track(tracked(quantity="0.500"))
    s.env.facts.accepted(a, VenueOrderId("4200000001"), 1)
    s.http.open = [
        order(status="PARTIALLY_FILLED", origQty="0.500", executedQty="0.100", time=SINCE_MS + DAY_MS)
    ]
    s.http.trades["ETHUSDT"] = [user_trade(100, "0.100", time=SINCE_MS + 2 * DAY_MS)]
    await s.sync.snapshot()
    outcome = await s.sync.post_snapshot()
    assert not outcome.required_failed and a.filled == Decimal("0.100")
    by_order = [
        (c["start_time"], c["end_time"]) for n, c in s.http.calls if n == "user_trades" and c["order_id"]
    ]
    assert by_order == [
        (SINCE_MS + DAY_MS, SINCE_MS + 8 * DAY_MS - 1),
        (SINCE_MS + 8 * DAY_MS, SINCE_MS + 10 * DAY_MS),
    ]


async def test_a_delisted_symbol_does_not_block_the_recovery(
    s: SyncEnv, caplog: pytest.LogCaptureFixture
) -> None:
    s.env.tracker.advance_cursor("DEADUSDT", 5)
    real = s.http.user_trades

    async def delisted(symbol: str, **kw: Any) -> list[UserTrade]:
        if symbol == "DEADUSDT":
            raise BinanceRejection(
                -1121, "Invalid symbol.", http_status=400, method="GET", path="/fapi/v1/userTrades"
            )
        return await real(symbol, **kw)

    s.http.user_trades = delisted  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="tests.venue_sync"):
        await s.sync.snapshot()
        outcome = await s.sync.post_snapshot()
    assert outcome.required_failed == [] and not outcome.all_failed
    assert "DEADUSDT" in caplog.text


async def test_an_amendment_missed_in_a_gap_reaches_the_engine_before_its_fills(s: SyncEnv) -> None:
    """The quantity was raised during the gap and the raised part filled: the engine's order is
    updated first, so the fill is not an overfill."""
    a = s.env.tracker.track(tracked())  # 0.250
    s.env.facts.accepted(a, VenueOrderId("4200000001"), 1)
    s.http.open = [
        order(status="PARTIALLY_FILLED", origQty="0.400", executedQty="0.300", updateTime=1735689605000)
    ]
    s.http.trades["ETHUSDT"] = [user_trade(100, "0.300")]
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    assert [e[0] for e in s.events] == ["accepted", "updated", "filled"]
    assert a.quantity == Decimal("0.400") and a.filled == Decimal("0.300") and s.env.facts.overfills == 0


async def test_an_excess_that_stands_after_the_reread_is_an_error(
    s: SyncEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """The engine was told 0.150 (a second fill the de-duplication could not recognise as the
    first) but the venue, asked twice, says 0.100: documented as an ERROR with both figures."""
    order_ = s.env.tracker.track(tracked())
    s.env.feed(raw("order_trade_update_new.json"), trade(100, "0.100", "0.100"))
    assert s.env.facts.filled(
        order_,
        101,
        VenueOrderId("4200000001"),
        None,
        Quantity.from_str("0.050"),
        Decimal("0.050"),
        Price.from_str("3150.10"),
        USDT,
        Money.from_str("0.01 USDT"),
        LiquiditySide.MAKER,
        1,
    )
    assert order_.filled == Decimal("0.150")
    s.http.open = [order(status="PARTIALLY_FILLED", executedQty="0.100")]
    s.http.orders[CID] = order(status="PARTIALLY_FILLED", executedQty="0.100")
    await s.sync.snapshot()
    with caplog.at_level(logging.ERROR):
        await s.sync.post_snapshot()
    assert ("query_order", {"symbol": "ETHUSDT", "order_id": None, "cid": CID}) in s.http.calls  # re-read
    assert any("the engine was told 0.150 filled but the venue reports 0.100" in m for m in caplog.messages)


async def test_an_order_canceled_between_the_snapshot_and_the_connect_is_resolved(s: SyncEnv) -> None:
    """The snapshot listed it open; it was canceled before the new socket connected (its event
    reached no socket) and it never traded: only the open orders listed again after the connect
    show it gone (a retry may also reuse an older snapshot)."""
    order_ = s.env.tracker.track(tracked())
    s.env.facts.accepted(order_, VenueOrderId("4200000001"), 1)
    s.http.open = [order(status="NEW", executedQty="0")]
    await s.sync.snapshot()
    s.http.open = []  # canceled on the venue in the window
    s.http.orders[CID] = order(status="CANCELED", executedQty="0")
    outcome = await s.sync.post_snapshot()
    assert ("openOrders:relisted", True, 0) in [(q.name, q.ok, q.emitted) for q in outcome.queries]
    assert [e[0] for e in s.events] == ["accepted", "canceled"]
    assert order_.terminal is Terminal.CANCELED


async def test_an_external_order_placed_after_the_snapshot_is_reported_after_the_connect(s: SyncEnv) -> None:
    """Placed between the snapshot and the connect on a symbol the node trades: its NEW event reached
    no socket; the open orders listed again (per symbol, weight 1 each) show it."""
    ours = s.env.tracker.track(tracked())
    s.env.facts.accepted(ours, VenueOrderId("4200000001"), 1)
    s.http.open = [order(status="NEW", executedQty="0")]
    await s.sync.snapshot()
    s.http.open.append(order(orderId=4200000777, clientOrderId="web-7", status="NEW", executedQty="0"))
    outcome = await s.sync.post_snapshot()
    assert ("openOrders:relisted", True, 1) in [(q.name, q.ok, q.emitted) for q in outcome.queries]
    (report,) = [e[1] for e in s.events if e[0] == "report"]
    assert report.client_order_id == ClientOrderId("web-7")
    relisted = [c["symbol"] for name, c in s.http.calls if name == "open_orders"][1:]
    assert relisted == ["ETHUSDT"]


async def test_an_external_order_in_hedge_mode_carries_its_position_id_on_the_report_and_every_fill(
    s: SyncEnv,
) -> None:
    """Hedge mode: a backfilled external order's report and each of its bundled fills name the
    venue position (LONG here), or NautilusTrader books them on a position of its own."""
    s.env.tracker.track(tracked())
    s.env.facts.accepted(s.env.tracker.orders[CID], VenueOrderId("4200000001"), 1)
    s.http.open = [order(status="NEW", executedQty="0")]
    s.http.trades["ETHUSDT"] = [
        user_trade(500 + i, "0.010", order_id=4200000555, positionSide="LONG") for i in range(2)
    ]
    s.http.orders[4200000555] = order(
        orderId=4200000555,
        clientOrderId="web-5",
        status="FILLED",
        origQty="0.020",
        executedQty="0.020",
        positionSide="LONG",
    )
    await s.sync.snapshot()
    await s.sync.post_snapshot()
    (mass,) = [e[1] for e in s.events if e[0] == "mass"]
    long_id = PositionId("ETHUSDT-PERP.BINANCE-LONG")
    voi = VenueOrderId("4200000555")
    assert mass.order_reports[voi].venue_position_id == long_id
    assert [f.venue_position_id for f in mass.fill_reports[voi]] == [long_id, long_id]
