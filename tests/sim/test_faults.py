"""Every /sim fault route, exercised over HTTP the way an integration test or the demo uses it,
with the effect asserted on responses, events and /sim/state."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from adapters.sim.server import SimVenue


async def user_socket(
    bclient: Any, path: str = "/private/ws?listenKey={key}"
) -> tuple[str, aiohttp.ClientWebSocketResponse]:
    key = await bclient.listen_key()
    ws = await bclient.ws(path.format(key=key))
    await bclient.wait_user_sockets(1)
    return key, ws


async def market_buy(bclient: Any, **extra: Any) -> tuple[int, Any]:
    status, _, body = await bclient.signed(
        "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010", **extra
    )
    return status, body


def order_count(sim: SimVenue) -> int:
    return len(sim.state()["orders"])


async def test_expire_listen_keys(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    key, ws = await user_socket(bclient)
    res = await bclient.control("/sim/listen-keys/expire")
    assert res == {"ok": True, "expired": 1}
    msg = await json_next(ws)
    assert msg["e"] == "listenKeyExpired" and msg["listenKey"] == key
    status, _, body = await bclient.signed("PUT", "/fapi/v1/listenKey", listenKey=key)
    assert (status, body["code"]) == (400, -1125)
    assert not ws.closed
    state = await bclient.control("/sim/state", method="GET")
    assert (
        state["listen_keys"][0]["status"] == "expired"
        and state["faults"]["counters"]["listen_keys_expired"] == 1
    )
    await ws.close()


async def test_drop_streams_aborts_without_close_frame(
    bclient: Any, binance_sim: SimVenue, until: Any
) -> None:
    _, user = await user_socket(bclient)
    market = await bclient.ws("/market/ws/btcusdt@aggTrade")
    await until(lambda: len(binance_sim.registry.select("market")) == 1)
    res = await bclient.control("/sim/streams/drop?kind=user")
    assert res == {"ok": True, "dropped": 1}
    msg = await user.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)  # no CLOSE frame from the server
    assert user.close_code == 1006
    await until(lambda: not binance_sim.registry.select("user"))
    assert [c["kind"] for c in binance_sim.state()["connections"]] == ["market"]
    await market.close()


async def test_stall_loses_events_and_ignores_pings(
    bclient: Any, binance_sim: SimVenue, json_next: Any, until: Any
) -> None:
    _, ws = await user_socket(bclient)
    res = await bclient.control("/sim/streams/stall?kind=user&seconds=0.5")
    assert res["stalled"] == 1
    await ws.ping(b"are-you-there")
    status, during = await market_buy(bclient)
    assert status == 200
    conn = binance_sim.registry.select("user")[0]
    assert conn.is_stalled() and conn.frames_dropped >= 3
    assert binance_sim.faults.counters["stalled_frames_dropped"] >= 3
    # After the stall the link delivers again, starting with events produced after it.
    await until(lambda: not conn.is_stalled(), within=5)
    _, after = await market_buy(bclient)
    first = await json_next(ws)  # no PONG, no frame of the stalled period comes first
    assert first["e"] == "ORDER_TRADE_UPDATE" and first["o"]["i"] == after["orderId"] != during["orderId"]
    assert conn.pongs_received == 0
    await ws.close()


async def test_stall_queue_mode_delivers_late(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    _, ws = await user_socket(bclient)
    binance_sim.faults.stall_streams("user", 0.3, mode="queue")
    _, during = await market_buy(bclient)
    first = await json_next(ws)
    assert first["o"]["i"] == during["orderId"]
    await ws.close()


async def test_expire_connections_closes_with_1001(bclient: Any, binance_sim: SimVenue) -> None:
    _, ws = await user_socket(bclient)
    api = await bclient.ws("/ws-fapi/v1")
    res = await bclient.control("/sim/connections/expire")
    assert res == {"ok": True, "expired": 2}
    for sock in (ws, api):
        msg = await sock.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1001 and msg.extra


async def test_fail_rule_before_execution(bclient: Any, binance_sim: SimVenue) -> None:
    await bclient.control(
        "/sim/fail", {"method": "POST", "path": "/fapi/v1/order", "count": 2, "status": 503}
    )
    for _ in range(2):
        status, body = await market_buy(bclient)
        assert status == 503 and body["code"] == -1007
    assert order_count(binance_sim) == 0  # definite failure: nothing executed
    status, _ = await market_buy(bclient)
    assert status == 200 and order_count(binance_sim) == 1
    await bclient.control(
        "/sim/fail", {"method": "*", "path": "/fapi/v1/openOrders", "status": 429, "code": -1003}
    )
    status, headers, body = await bclient.signed("GET", "/fapi/v1/openOrders")
    assert (status, body["code"]) == (429, -1003) and "Retry-After" in headers


async def test_fail_rule_after_execution_is_ambiguous(bclient: Any, binance_sim: SimVenue) -> None:
    await bclient.control(
        "/sim/fail", {"method": "POST", "path": "/fapi/v1/order", "status": 500, "after_execute": True}
    )
    status, body = await market_buy(bclient, newClientOrderId="amb-1")
    assert status == 500 and "code" in body
    # The venue did execute it: the client must resolve by querying.
    status, _, got = await bclient.signed(
        "GET", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="amb-1"
    )
    assert status == 200 and got["status"] == "FILLED"


async def test_fail_rule_status_zero_cuts_the_connection(bclient: Any, binance_sim: SimVenue) -> None:
    await bclient.control(
        "/sim/fail", {"method": "POST", "path": "/fapi/v1/order", "status": 0, "after_execute": True}
    )
    with pytest.raises(aiohttp.ClientError):
        await market_buy(bclient, newClientOrderId="cut-1")
    status, _, got = await bclient.signed(
        "GET", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="cut-1"
    )
    assert status == 200 and got["clientOrderId"] == "cut-1"
    state = await bclient.control("/sim/state", method="GET")
    assert state["faults"]["counters"]["rest_failures_injected"] == 1 and state["faults"]["fail_rules"] == []


async def test_latency(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    res = await bclient.control("/sim/latency", {"rest_ms": 150, "ws_ms": 150})
    assert res == {"ok": True, "rest_ms": 150, "ws_ms": 150}
    _, ws = await user_socket(bclient)
    started = time.perf_counter()
    status, _ = await market_buy(bclient)
    assert status == 200 and time.perf_counter() - started >= 0.15
    sent = time.perf_counter()
    await json_next(ws)
    assert time.perf_counter() - sent >= 0.1
    await ws.close()


async def test_duplicate_user_events(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    _, ws = await user_socket(bclient)
    await bclient.control("/sim/user-events", {"duplicate": True})
    price = str((binance_sim.engine.last_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1")))
    await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        price=price,
    )
    a = await json_next(ws)
    b = await json_next(ws)
    assert a == b and a["o"]["x"] == "NEW"
    await ws.close()


async def test_reorder_user_events(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    _, ws = await user_socket(bclient)
    await bclient.control("/sim/user-events", {"reorder": True})
    price = str((binance_sim.engine.last_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1")))
    _, _, placed = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        price=price,
    )
    await bclient.signed("DELETE", "/fapi/v1/order", symbol="BTCUSDT", orderId=placed["orderId"])
    first = await json_next(ws)
    second = await json_next(ws)
    assert [first["o"]["x"], second["o"]["x"]] == ["CANCELED", "NEW"]  # adjacent pair swapped
    await ws.close()


async def test_price_and_step(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    _, ws = await user_socket(bclient)
    last = binance_sim.engine.last_price("BTCUSDT")
    price = str((last * Decimal("0.95")).quantize(Decimal("0.1")))
    _, _, placed = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        price=price,
    )
    res = await bclient.control("/sim/price", {"symbol": "BTCUSDT", "price": str(Decimal(price) - 100)})
    assert res["ok"]
    fill = await json_next(ws, lambda m: m["e"] == "ORDER_TRADE_UPDATE" and m["o"]["x"] == "TRADE")
    assert fill["o"]["i"] == placed["orderId"] and fill["o"]["X"] == "FILLED" and fill["o"]["m"] is True
    before = binance_sim.state()["markets"]["BTCUSDT"]["book_update_id"]
    assert (await bclient.control("/sim/step?n=4"))["steps"] == 4
    assert binance_sim.state()["markets"]["BTCUSDT"]["book_update_id"] >= before + 4
    await ws.close()
    bad = await bclient.session.post(
        f"{binance_sim.rest_url}/sim/price", json={"symbol": "NOPE", "price": "1"}
    )
    assert bad.status == 400


async def test_external_trade_fills_resting_orders_partially(
    bclient: Any, binance_sim: SimVenue, json_next: Any
) -> None:
    """/sim/trade: another participant's taker order of a chosen size trades against our resting
    orders only, best price first, each at its own limit price - a partial fill on demand; the
    market price does not move."""
    _, ws = await user_socket(bclient)
    last = binance_sim.engine.last_price("BTCUSDT")
    high = (last * Decimal("0.99")).quantize(Decimal("0.1"))
    low = high - 50
    ids = []
    for price in (low, high):
        _, _, placed = await bclient.signed(
            "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
            quantity="0.010", price=str(price),
        )  # fmt: skip
        ids.append(placed["orderId"])
    # A seller of 0.015 down to `low`: fills the better bid (high) in full, then 0.005 of low.
    res = await bclient.control("/sim/trade", {"symbol": "BTCUSDT", "side": "SELL", "qty": "0.015"})
    assert res == {"ok": True, "symbol": "BTCUSDT", "side": "SELL", "traded": "0.015"}
    first = await json_next(ws, lambda m: m["e"] == "ORDER_TRADE_UPDATE" and m["o"]["x"] == "TRADE")
    second = await json_next(ws, lambda m: m["e"] == "ORDER_TRADE_UPDATE" and m["o"]["x"] == "TRADE")
    assert (first["o"]["i"], first["o"]["X"], Decimal(first["o"]["L"])) == (ids[1], "FILLED", high)
    assert (second["o"]["i"], second["o"]["X"], Decimal(second["o"]["l"])) == (
        ids[0], "PARTIALLY_FILLED", Decimal("0.005"),
    )  # fmt: skip
    assert first["o"]["m"] is True and second["o"]["m"] is True
    assert binance_sim.engine.last_price("BTCUSDT") == last
    # Bounded by price: nothing rests at or above low + 1, so a seller limited there trades nothing.
    res = await bclient.control(
        "/sim/trade", {"symbol": "BTCUSDT", "side": "SELL", "qty": "1", "price": str(low + 1)}
    )
    assert res["traded"] == "0"
    state = binance_sim.state()
    assert [o["executed_qty"] for o in state["orders"] if o["order_id"] in ids] == ["0.005", "0.010"]
    assert state["faults"]["counters"]["external_trades"] == 2
    await ws.close()
    for body in (
        {"symbol": "BTCUSDT", "side": "UP", "qty": "1"},
        {"symbol": "BTCUSDT", "side": "BUY", "qty": "-1"},
    ):
        bad = await bclient.session.post(f"{binance_sim.rest_url}/sim/trade", json=body)
        assert bad.status == 400


async def test_clock_skew_causes_1021(bclient: Any) -> None:
    await bclient.control("/sim/clock", {"skew_ms": 30_000})
    _, _, t = await bclient.public("/fapi/v1/time")
    assert t["serverTime"] - int(time.time() * 1000) >= 29_000
    status, _, body = await bclient.signed("GET", "/fapi/v2/balance")
    assert (status, body["code"]) == (400, -1021)
    await bclient.control("/sim/clock", {"skew_ms": 0})
    status, _, _ = await bclient.signed("GET", "/fapi/v2/balance")
    assert status == 200


async def test_margin_call(bclient: Any, json_next: Any) -> None:
    _, ws = await user_socket(bclient)
    await market_buy(bclient)
    res = await bclient.control("/sim/margin-call", {})
    assert res == {"ok": True, "account": "default"}
    msg = await json_next(ws, lambda m: m["e"] == "MARGIN_CALL")
    assert set(msg) == {"e", "E", "cw", "p"}
    assert (
        set(msg["p"][0]) == {"s", "ps", "pa", "mt", "iw", "mp", "up", "mm"} and msg["p"][0]["mt"] == "CROSSED"
    )
    await ws.close()


async def test_reset_faults_and_state(bclient: Any, binance_sim: SimVenue) -> None:
    await bclient.control("/sim/fail", {"path": "/fapi/v1/*", "count": 5})
    await bclient.control("/sim/latency", {"rest_ms": 5})
    await bclient.control("/sim/user-events", {"duplicate": True, "reorder": True})
    state = await bclient.control("/sim/state", method="GET")
    assert len(state["faults"]["fail_rules"]) == 1 and state["faults"]["rest_latency_ms"] == 5
    assert await bclient.control("/sim/reset-faults") == {"ok": True}
    state = await bclient.control("/sim/state", method="GET")
    f = state["faults"]
    assert (f["fail_rules"], f["rest_latency_ms"], f["duplicate_user_events"], f["reorder_user_events"]) == (
        [],
        0,
        False,
        False,
    )
    assert {"accounts", "orders", "trades", "listen_keys", "connections", "faults"} <= set(state)
    bad = await bclient.session.post(f"{binance_sim.rest_url}/sim/streams/drop?kind=nope")
    assert bad.status == 400


async def test_python_api_mirrors_routes(binance_sim: SimVenue) -> None:
    f = binance_sim.faults
    rule = f.fail("GET", "/fapi/v1/ping", count=1, status=502)
    assert (
        f.take_fail_rule("GET", "/fapi/v1/ping") is rule and f.take_fail_rule("GET", "/fapi/v1/ping") is None
    )
    f.set_latency(rest_ms=1, ws_ms=2)
    f.set_user_events(duplicate=True)
    f.set_clock_skew(10)
    assert (f.rest_latency_ms, f.ws_latency_ms, f.duplicate_user_events, f.clock_skew_ms) == (1, 2, True, 10)
    assert f.drop_streams("all") == 0 and f.stall_streams("market", 1) == 0 and f.expire_connections() == 0
    assert f.expire_listen_keys() == 0
    f.reset()
    assert (f.rest_latency_ms, f.ws_latency_ms, f.duplicate_user_events, f.clock_skew_ms) == (0, 0, False, 0)
