"""Late execution (fail rules with ``execute_after_ms``): the client gets a failure now, the
venue executes the order later — or drops it when that is past the request's
``timestamp + recvWindow``. Asserted on wire answers, the user stream and ``/sim/state``; the
tests wait on conditions with deadlines, never on fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from adapters.sim.bingx.client import BingxTestClient, next_frame
from adapters.sim.server import SimVenue
from tests.conftest import BinanceTestClient
from tests.sim.binance_ws_calls import call, hmac_params

ORDER = "/fapi/v1/order"


def late_records(sim: SimVenue) -> list[dict[str, Any]]:
    return list(sim.state()["faults"]["late_executions"])


def settled(sim: SimVenue, n: int = 1) -> bool:
    """``n`` late executions have run (executed, rejected or dropped)."""
    return sum(r["status"] != "pending" for r in late_records(sim)) >= n


async def limit_buy(bclient: Any, sim: SimVenue, cid: str, **extra: Any) -> tuple[int, Any]:
    price = str((sim.engine.last_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1")))
    status, _, body = await bclient.signed(
        "POST",
        ORDER,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        price=price,
        newClientOrderId=cid,
        **extra,
    )
    return status, body


async def query(bclient: Any, cid: str) -> tuple[int, Any]:
    status, _, body = await bclient.signed("GET", ORDER, symbol="BTCUSDT", origClientOrderId=cid)
    return status, body


async def test_binance_rest_timeout_then_the_order_appears(
    bclient: Any, binance_sim: SimVenue, json_next: Any, until: Any
) -> None:
    key = await bclient.listen_key()
    user = await bclient.ws(f"/private/ws?listenKey={key}")
    await bclient.wait_user_sockets(1)
    res = await bclient.control(
        "/sim/fail",
        {"method": "POST", "path": ORDER, "status": 408, "code": -1007, "execute_after_ms": 300},
    )
    assert res["rule"]["execute_after_ms"] == 300
    status, body = await limit_buy(bclient, binance_sim, "late-1")
    assert (status, body["code"]) == (408, -1007) and "execution status unknown" in body["msg"]
    # Not executed yet: the venue does not know the order.
    status, body = await query(bclient, "late-1")
    assert (status, body["code"]) == (400, -2013)
    assert [r["status"] for r in late_records(binance_sim)] == ["pending"]
    new = await json_next(user, lambda m: m.get("e") == "ORDER_TRADE_UPDATE", within=5)
    assert new["o"]["c"] == "late-1" and new["o"]["x"] == "NEW"
    status, body = await query(bclient, "late-1")
    assert status == 200 and body["status"] == "NEW"
    await until(lambda: settled(binance_sim))
    (rec,) = late_records(binance_sim)
    assert rec["request"] == f"POST {ORDER}" and rec["status"] == "executed"
    assert rec["answer"]["clientOrderId"] == "late-1" and rec["executed_ms"] >= rec["due_ms"] - 5
    assert rec["deadline_ms"] is not None and rec["executed_ms"] <= rec["deadline_ms"]
    counters = binance_sim.state()["faults"]["counters"]
    assert counters["late_executed"] == 1 and "late_dropped" not in counters
    await user.close()


async def test_binance_late_past_recv_window_is_dropped(
    bclient: Any, binance_sim: SimVenue, until: Any
) -> None:
    binance_sim.faults.fail("POST", ORDER, status=503, execute_after_ms=400)
    status, body = await limit_buy(bclient, binance_sim, "late-drop", recvWindow=150)
    assert (status, body["code"]) == (503, -1007)
    await until(lambda: settled(binance_sim))
    (rec,) = late_records(binance_sim)
    assert rec["status"] == "dropped" and rec["executed_ms"] > rec["deadline_ms"]
    assert rec["answer"] is None
    status, body = await query(bclient, "late-drop")
    assert (status, body["code"]) == (400, -2013)  # it never existed
    assert binance_sim.state()["orders"] == []
    assert binance_sim.state()["faults"]["counters"]["late_dropped"] == 1


async def test_binance_cut_connection_then_late_fill_and_a_retry_loses(
    bclient: Any, binance_sim: SimVenue, until: Any
) -> None:
    """Status 0 cuts the connection; the order still executes later. A client that retried with
    the same client id meanwhile owns the order, so the late copy is refused (-4116)."""
    binance_sim.faults.fail("POST", ORDER, status=0, execute_after_ms=300)
    with pytest.raises(aiohttp.ClientError):
        await limit_buy(bclient, binance_sim, "late-cut")
    status, body = await limit_buy(bclient, binance_sim, "late-cut")  # the retry
    assert status == 200 and body["clientOrderId"] == "late-cut"
    await until(lambda: settled(binance_sim))
    (rec,) = late_records(binance_sim)
    assert rec["status"] == "rejected" and rec["answer"]["code"] == -4116
    assert len(binance_sim.state()["orders"]) == 1


async def test_binance_late_algo_order(bclient: Any, binance_sim: SimVenue, until: Any) -> None:
    binance_sim.faults.fail("POST", "/fapi/v1/algoOrder", status=503, execute_after_ms=200)
    trigger = str((binance_sim.engine.last_price("BTCUSDT") * Decimal("1.2")).quantize(Decimal("0.1")))
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/algoOrder",
        algoType="CONDITIONAL",
        symbol="BTCUSDT",
        side="BUY",
        type="STOP_MARKET",
        quantity="0.010",
        triggerPrice=trigger,
        clientAlgoId="late-algo",
    )
    assert status == 503 and body["code"] == -1007
    status, _, body = await bclient.signed("GET", "/fapi/v1/algoOrder", clientAlgoId="late-algo")
    assert status == 400 and body["code"] == -2013
    await until(lambda: settled(binance_sim))
    status, _, body = await bclient.signed("GET", "/fapi/v1/algoOrder", clientAlgoId="late-algo")
    assert status == 200 and body["algoStatus"] == "NEW"


async def test_binance_ws_api_late_order_place(
    bclient: Any, binance_sim: SimVenue, json_next: Any, until: Any
) -> None:
    binance_sim.faults.fail("WS", "order.place", status=408, code=-1007, execute_after_ms=200)
    price = str((binance_sim.engine.last_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1")))
    ws = await bclient.ws("/ws-fapi/v1")
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": price,
        "newClientOrderId": "ws-late",
    }
    answer = await call(ws, json_next, "order.place", hmac_params(binance_sim, **order))
    assert answer["status"] == 408 and answer["error"]["code"] == -1007
    status = await call(
        ws, json_next, "order.status", hmac_params(binance_sim, symbol="BTCUSDT", origClientOrderId="ws-late")
    )
    assert status["error"]["code"] == -2013
    await until(lambda: settled(binance_sim))
    (rec,) = late_records(binance_sim)
    assert rec["request"] == "WS order.place" and rec["status"] == "executed"
    status = await call(
        ws, json_next, "order.status", hmac_params(binance_sim, symbol="BTCUSDT", origClientOrderId="ws-late")
    )
    assert status["status"] == 200 and status["result"]["status"] == "NEW"
    # Dropped when too late for its recvWindow, as over REST.
    binance_sim.faults.fail("WS", "order.place", status=0, execute_after_ms=400)
    params = hmac_params(binance_sim, recvWindow=100, **{**order, "newClientOrderId": "ws-late-2"})
    await ws.send_json({"id": "cut", "method": "order.place", "params": params})
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)  # cut, no answer
    await until(lambda: settled(binance_sim, 2))
    assert [r["status"] for r in late_records(binance_sim)] == ["executed", "dropped"]
    assert [o["client_order_id"] for o in binance_sim.state()["orders"]] == ["ws-late"]


async def test_fail_rule_validation(bclient: Any, binance_sim: SimVenue) -> None:
    for body in (
        {"path": ORDER, "after_execute": True, "execute_after_ms": 10},
        {"path": ORDER, "execute_after_ms": -1},
        {"path": ORDER, "status": 1000},
        {"path": ORDER, "execute_after_ms": "soon"},
    ):
        async with bclient.session.post(f"{binance_sim.rest_url}/sim/fail", json=body) as r:
            assert r.status == 400 and (await r.json())["ok"] is False
    assert binance_sim.faults.fail_rules == []


@pytest.fixture
async def bingx() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=4, step_interval=3600.0) as venue:
        yield venue


@pytest.fixture
async def xclient(bingx: SimVenue) -> AsyncIterator[BingxTestClient]:
    async with aiohttp.ClientSession() as session:
        yield BingxTestClient(bingx.rest_url, bingx.ws_market_url, bingx.api_key, bingx.api_secret, session)


async def test_bingx_late_order(xclient: BingxTestClient, bingx: SimVenue, until: Any) -> None:
    path = "/openApi/swap/v2/trade/order"
    key = await xclient.listen_key()
    user = await xclient.ws(key)
    await until(lambda: len(bingx.registry.select("user")) == 1)
    await xclient.control(
        "/sim/fail", {"method": "POST", "path": path, "status": 504, "execute_after_ms": 300}
    )
    price = str(bingx.engine.book("BTC-USDT", 20).bids[-1][0] - Decimal(50))
    order = dict(
        symbol="BTC-USDT",
        side="BUY",
        positionSide="BOTH",
        type="LIMIT",
        quantity="0.0100",
        price=price,
        clientOrderID="bx-late",
    )
    status, _, body = await xclient.signed("POST", path, **order)
    assert status == 504 and body["code"] != 0
    _, _, got = await xclient.signed("GET", path, symbol="BTC-USDT", clientOrderId="bx-late")
    assert got["code"] == 80016  # order not exist, yet
    new = await next_frame(user, lambda m: isinstance(m, dict) and m.get("e") == "ORDER_TRADE_UPDATE")
    assert new["o"]["c"] == "bx-late" and new["o"]["X"] == "NEW"
    await until(lambda: settled(bingx))
    got = await xclient.ok("GET", path, symbol="BTC-USDT", clientOrderId="bx-late")
    assert got["order"]["status"] == "PENDING"  # BingX spells an open order PENDING
    # Too late for its recvWindow: dropped.
    bingx.faults.fail("POST", path, status=503, execute_after_ms=400)
    status, _, body = await xclient.signed(
        "POST", path, recvWindow=100, **{**order, "clientOrderID": "bx-late-2"}
    )
    assert status == 503
    await until(lambda: settled(bingx, 2))
    recs = late_records(bingx)
    assert [r["status"] for r in recs] == ["executed", "dropped"] and recs[0]["answer"]["code"] == 0
    _, _, got = await xclient.signed("GET", path, symbol="BTC-USDT", clientOrderId="bx-late-2")
    assert got["code"] == 80016
    await user.close()


async def test_pending_late_executions_are_cancelled_on_stop() -> None:
    async with SimVenue(seed=3, step_interval=3600.0) as sim:
        sim.faults.fail("POST", ORDER, status=503, execute_after_ms=60_000)
        async with aiohttp.ClientSession() as session:
            client = BinanceTestClient(sim, session)
            status, _ = await limit_buy(client, sim, "never", recvWindow=60_000)
            assert status == 503
        assert sim.faults.late.pending == 1
        started = time.perf_counter()
    assert sim.faults.late.pending == 0 and time.perf_counter() - started < 5
    assert late_records(sim)[0]["status"] == "cancelled"
