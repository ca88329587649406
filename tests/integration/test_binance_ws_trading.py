"""End to end: a TradingNode whose Binance execution client trades over the WS trading API
(``use_ws_trading=True``) against the simulator. Each fault test checks, against the venue's own
state (``GET /sim/state``), that no order was sent twice and that every command in flight was
resolved exactly once — by the venue's answer, the user stream or a query, never by a guess."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
)

from adapters.binance_futures.ws_trading import BinanceWsTradingClient, WsTradingState
from adapters.testkit.latency import measure_submit_latency
from adapters.testkit.node import SimNode

BTC = "BTCUSDT-PERP.BINANCE"

WS_FAST = {
    "use_ws_trading": True,
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
    "ws_trading_ping_interval_secs": 0.1,
    "ws_trading_pong_timeout_secs": 0.3,
    "ws_trading_app_ping_interval_secs": 0.1,
    "ws_trading_request_timeout_secs": 3.0,
    "ws_trading_backoff_initial_secs": 0.02,
    "ws_trading_backoff_cap_secs": 0.1,
    "ws_trading_max_reconnect_attempts": 3,
}


@pytest.fixture
async def env(request: Any) -> AsyncIterator[SimNode]:
    overrides = dict(WS_FAST)
    overrides.update(getattr(request, "param", {}))
    async with SimNode(seed=11, exec_config=overrides) as node:
        yield node


def ws(env: SimNode) -> BinanceWsTradingClient:
    client = env.exec_client.ws_trading
    assert client is not None
    return client


def sent(env: SimNode, method: str) -> int:
    return ws(env).metrics().requests_by_method.get(method, 0)


def events(env: SimNode, kind: type, cid: Any) -> int:
    return sum(1 for e in env.strategy.received if isinstance(e, kind) and e.client_order_id == cid)


def price_below(env: SimNode, factor: str) -> str:
    return str((env.sim.engine.last_price("BTCUSDT") * Decimal(factor)).quantize(Decimal("0.1")))


async def venue_state(env: SimNode) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{env.sim.rest_url}/sim/state") as resp:
        assert resp.status == 200
        state: dict[str, Any] = await resp.json()
        return state


async def venue_orders_by_cid(env: SimNode) -> Counter[str]:
    return Counter(o["client_order_id"] for o in (await venue_state(env))["orders"])


async def resting_buy(env: SimNode, factor: str = "0.95") -> Any:
    cid = env.strategy.limit(BTC, OrderSide.BUY, "0.010", price_below(env, factor))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    return cid


async def test_round_trip_over_the_trading_socket(env: SimNode) -> None:
    assert ws(env).is_ready
    cid = await resting_buy(env)
    env.strategy.modify(cid, quantity="0.020")
    await env.wait_until(lambda: env.order(cid).quantity.as_decimal() == Decimal("0.020"), what="modified")
    env.strategy.cancel(cid)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.CANCELED, what="canceled")
    market = env.strategy.market(BTC, OrderSide.BUY, "0.015")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="market filled")
    assert (sent(env, "order.place"), sent(env, "order.modify"), sent(env, "order.cancel")) == (2, 1, 1)
    assert events(env, OrderAccepted, cid) == 1 and events(env, OrderUpdated, cid) == 1
    assert events(env, OrderCanceled, cid) == 1
    report = await env.wait_converged()
    assert report.ok, report.details()
    assert ws(env).metrics().timeouts == 0 and not env.exec_client.resolutions


async def test_socket_dropped_with_three_orders_in_flight(env: SimNode) -> None:
    env.sim.faults.set_latency(ws_ms=300)  # executed at once, answers travel slowly
    cids = [
        env.strategy.limit(BTC, OrderSide.BUY, "0.010", price_below(env, f)) for f in ("0.9", "0.91", "0.92")
    ]
    await env.wait_until(lambda: ws(env).pending_count == 3, what="three requests in flight")
    await env.wait_until(
        lambda: {o["client_order_id"] for o in env.sim.state()["orders"]} >= {c.value for c in cids},
        what="venue executed all three",
    )
    env.sim.faults.drop_streams("api")
    await env.wait_until(lambda: ws(env).metrics().lost_in_flight == 3, what="in-flight failed as ambiguous")
    env.sim.faults.set_latency(ws_ms=0)
    await env.wait_until(
        lambda: all(env.order(c).status == OrderStatus.ACCEPTED for c in cids), what="all resolved"
    )
    await env.wait_until(lambda: ws(env).is_ready, what="trading socket back")
    await env.exec_client._side_tasks.join()
    assert env.exec_client.resolutions["submit"] == 3
    for cid in cids:
        assert events(env, OrderAccepted, cid) == 1
        assert events(env, OrderRejected, cid) == 0
    on_venue = await venue_orders_by_cid(env)
    assert [on_venue[c.value] for c in cids] == [1, 1, 1]  # never sent twice
    assert sent(env, "order.place") == 3  # not re-sent over WS either
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_modify_and_cancel_in_flight_when_the_socket_dies(env: SimNode) -> None:
    a = await resting_buy(env, "0.95")
    b = await resting_buy(env, "0.94")
    env.sim.faults.set_latency(ws_ms=300)
    env.strategy.modify(a, quantity="0.030")
    env.strategy.cancel(b)
    await env.wait_until(lambda: ws(env).pending_count == 2, what="modify and cancel in flight")

    def venue_done() -> bool:
        orders = {o["client_order_id"]: o for o in env.sim.state()["orders"]}
        return Decimal(orders[a.value]["qty"]) == Decimal("0.030") and orders[b.value]["status"] == "CANCELED"

    await env.wait_until(venue_done, what="venue executed both")
    env.sim.faults.drop_streams("api")
    env.sim.faults.set_latency(ws_ms=0)
    await env.wait_until(
        lambda: (
            env.order(b).status == OrderStatus.CANCELED
            and env.order(a).quantity.as_decimal() == Decimal("0.030")
        ),
        what="both resolved",
    )
    await env.exec_client._side_tasks.join()
    assert env.exec_client.resolutions["modify"] == 1 and env.exec_client.resolutions["cancel"] == 1
    assert events(env, OrderUpdated, a) == 1 and events(env, OrderModifyRejected, a) == 0
    assert events(env, OrderCanceled, b) == 1 and events(env, OrderCancelRejected, b) == 0
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_minus_1007_is_resolved_by_query(env: SimNode) -> None:
    env.sim.faults.fail("WS", "order.place", count=1, status=408, code=-1007, after_execute=True)
    cid = env.strategy.limit(BTC, OrderSide.BUY, "0.010", price_below(env, "0.9"))
    await env.wait_until(lambda: env.exec_client.resolutions["submit"] == 1, what="ambiguous submit")
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    await env.exec_client._side_tasks.join()
    assert events(env, OrderAccepted, cid) == 1 and events(env, OrderRejected, cid) == 0
    assert (await venue_orders_by_cid(env))[cid.value] == 1 and sent(env, "order.place") == 1
    assert (await venue_state(env))["faults"]["counters"]["ws_api_failures_injected"] == 1


async def test_retry_cap_reached_falls_back_to_rest_and_comes_back(env: SimNode) -> None:
    env.sim.faults.refuse_streams("api")
    env.sim.faults.drop_streams("api")
    await env.wait_until(lambda: ws(env).state is WsTradingState.FALLBACK, what="retry cap reached")
    cid = env.strategy.limit(BTC, OrderSide.BUY, "0.010", price_below(env, "0.9"))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted over REST")
    market = env.strategy.market(BTC, OrderSide.BUY, "0.010")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="filled over REST")
    assert sent(env, "order.place") == 0
    env.strategy.cancel(cid)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.CANCELED, what="canceled over REST")
    env.sim.faults.refuse_streams("api", on=False)
    await env.wait_until(lambda: ws(env).is_ready, what="background retry reconnected")
    again = await resting_buy(env)
    assert sent(env, "order.place") == 1 and events(env, OrderAccepted, again) == 1
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_pong_withheld_reconnects_and_orders_continue(env: SimNode) -> None:
    before = ws(env).metrics().reconnects
    env.sim.faults.stall_streams("api", seconds=30)
    await env.wait_until(lambda: ws(env).metrics().reconnects > before and ws(env).is_ready, what="reconnect")
    cid = await resting_buy(env)
    assert sent(env, "order.place") == 1 and events(env, OrderAccepted, cid) == 1


async def test_latency_measurement_runs(env: SimNode) -> None:
    result = await measure_submit_latency(env, n=10, min_interval=0.0)
    assert result.ws.count == 10 and result.rest.count == 10
    assert result.ws.p50 > 0 and result.rest.p50 > 0
    assert sent(env, "order.place") == 10


# ------------------------------------------------------------------------------------------------
# Algo (conditional) orders over the trading socket: algoOrder.place / algoOrder.cancel
# ------------------------------------------------------------------------------------------------
def rest_requests(env: SimNode, key: str) -> int:
    return int(env.sim.dialect.requests.requests[key])


def venue_algos_by_cid(env: SimNode) -> Counter[str]:
    return Counter(a["client_algo_id"] for a in env.sim.state()["algo_orders"])


def price_above(env: SimNode, factor: str) -> str:
    return str((env.sim.engine.last_price("BTCUSDT") * Decimal(factor)).quantize(Decimal("0.1")))


async def test_algo_orders_are_placed_and_canceled_over_the_trading_socket(env: SimNode) -> None:
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, "1.02"))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    env.strategy.cancel(cid)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.CANCELED, what="canceled")
    assert (sent(env, "algoOrder.place"), sent(env, "algoOrder.cancel")) == (1, 1)
    assert rest_requests(env, "POST /fapi/v1/algoOrder") == 0
    assert rest_requests(env, "DELETE /fapi/v1/algoOrder") == 0
    assert events(env, OrderAccepted, cid) == 1 and events(env, OrderCanceled, cid) == 1
    report = await env.wait_converged()
    assert report.ok, report.details()


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 408, "code": -1007},  # the gateway timed out; the algo service took it
        {"status": 0},  # the socket was cut right after the venue accepted it
    ],
    ids=["timeout-1007", "socket-cut"],
)
async def test_algo_place_with_a_lost_answer_whose_order_the_venue_accepted(
    env: SimNode, fault: dict[str, Any]
) -> None:
    env.sim.faults.fail("WS", "algoOrder.place", count=1, after_execute=True, **fault)
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, "1.02"))
    await env.wait_until(lambda: env.exec_client.resolutions["submit"] == 1, what="ambiguous submit")
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    await env.exec_client._side_tasks.join()
    assert events(env, OrderAccepted, cid) == 1 and events(env, OrderRejected, cid) == 0
    assert venue_algos_by_cid(env)[cid.value] == 1  # never sent twice
    assert sent(env, "algoOrder.place") == 1 and rest_requests(env, "POST /fapi/v1/algoOrder") == 0
    algo_id = next(a["algo_id"] for a in env.sim.state()["algo_orders"] if a["client_algo_id"] == cid.value)
    assert env.exec_client.tracker.orders[cid.value].algo_id == algo_id
    # Still a working algo order: its trigger fills it once, under the triggered order's id.
    env.sim.engine.set_price("BTCUSDT", Decimal(price_above(env, "1.03")))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="triggered and filled")
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_algo_place_executed_late_inside_the_window_is_accepted_once(env: SimNode) -> None:
    env.sim.faults.fail("WS", "algoOrder.place", count=1, status=408, code=-1007, execute_after_ms=400)
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, "1.02"))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="late accept")
    await env.exec_client._side_tasks.join()
    assert events(env, OrderAccepted, cid) == 1 and events(env, OrderRejected, cid) == 0
    assert venue_algos_by_cid(env)[cid.value] == 1 and sent(env, "algoOrder.place") == 1


async def test_algo_place_not_executed_is_rejected_only_after_its_window(env: SimNode) -> None:
    env.sim.faults.fail("WS", "algoOrder.place", count=1, status=0)  # cut before it executed
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, "1.02"))
    await env.wait_until(
        lambda: env.order(cid).status == OrderStatus.REJECTED, within=15.0, what="rejected after window"
    )
    assert venue_algos_by_cid(env)[cid.value] == 0 and sent(env, "algoOrder.place") == 1
    assert events(env, OrderRejected, cid) == 1 and events(env, OrderAccepted, cid) == 0
    assert rest_requests(env, "POST /fapi/v1/algoOrder") == 0  # an ambiguous order is never re-sent


async def test_algo_cancel_with_a_lost_answer_is_resolved_by_query(env: SimNode) -> None:
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, "1.02"))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    env.sim.faults.fail("WS", "algoOrder.cancel", count=1, status=0, after_execute=True)
    env.strategy.cancel(cid)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.CANCELED, what="canceled")
    await env.exec_client._side_tasks.join()
    assert env.exec_client.resolutions["cancel"] == 1
    assert events(env, OrderCanceled, cid) == 1 and events(env, OrderCancelRejected, cid) == 0
    assert sent(env, "algoOrder.cancel") == 1 and rest_requests(env, "DELETE /fapi/v1/algoOrder") == 0
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_the_open_conditional_order_cap_is_a_rejection_with_its_code(env: SimNode) -> None:
    assert env.sim.binance is not None
    env.sim.binance.settings.max_open_conditional_orders = 2
    cids = [
        env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, f)) for f in ("1.02", "1.03")
    ]
    for cid in cids:
        await env.wait_until(lambda cid=cid: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    over = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, "1.04"))
    await env.wait_until(lambda: env.order(over).status == OrderStatus.REJECTED, what="rejected at the cap")
    (rejected,) = [
        e for e in env.strategy.received if isinstance(e, OrderRejected) and e.client_order_id == over
    ]
    assert rejected.reason.startswith("-4045")
    assert env.exec_client.resolutions["submit"] == 0  # a definite answer: nothing to resolve
    env.strategy.cancel(cids[0])
    await env.wait_until(lambda: env.order(cids[0]).status == OrderStatus.CANCELED, what="room made")
    again = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", price_above(env, "1.04"))
    await env.wait_until(lambda: env.order(again).status == OrderStatus.ACCEPTED, what="accepted again")
