"""Malformed requests get the venue's error envelope, never aiohttp's plain-text 500, and a bad
websocket frame is answered and leaves the socket open (regressions from a fuzzing report)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest
import yarl

from adapters.sim.bingx.client import BingxTestClient, next_frame
from adapters.sim.server import SimVenue
from tests.sim.binance_ws_calls import call

DEEP_LIST = "[" * 1200 + "]" * 1200  # deeper than msgspec decodes (RecursionError, not DecodeError)
DEEP_OBJECT = '{"a":' * 1200 + "1" + "}" * 1200


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.ERROR)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_binance_recv_window_overflow_and_nan(bclient: Any) -> None:
    status, _, body = await bclient.signed("GET", "/fapi/v2/balance", recvWindow="1e400")
    assert (status, body["code"]) == (400, -1131)
    status, _, body = await bclient.signed("GET", "/fapi/v2/balance", recvWindow="nan")
    assert (status, body["code"]) == (400, -1130)
    status, _, body = await bclient.signed("GET", "/fapi/v2/balance", recvWindow="-inf")
    assert (status, body["code"]) == (400, -1131)


async def test_binance_nested_json_parameters_and_bodies(bclient: Any, binance_sim: SimVenue) -> None:
    status, _, body = await bclient.signed("POST", "/fapi/v1/batchOrders", batchOrders=DEEP_LIST)
    assert (status, body["code"]) == (400, -1130)
    status, _, body = await bclient.signed(
        "DELETE", "/fapi/v1/batchOrders", symbol="BTCUSDT", orderIdList='[[1], {"a": 2}]'
    )
    assert (status, body["code"]) == (400, -1130)
    async with bclient.session.post(
        f"{binance_sim.rest_url}/fapi/v1/order",
        data=DEEP_OBJECT,
        headers={"Content-Type": "application/json", "X-MBX-APIKEY": binance_sim.api_key},
    ) as r:
        assert r.status == 400 and (await r.json())["code"] == -1102  # JSON bodies are not read
    for bad in ("NaN", "Infinity", "1e999999", "9" * 30, "1_000"):
        status, _, body = await bclient.signed(
            "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity=bad
        )
        assert (status, body["code"]) == (400, -1100), bad
        status, _, body = await bclient.signed("GET", "/fapi/v1/order", symbol="BTCUSDT", orderId=bad)
        assert (status, body["code"]) == (400, -1100), bad
    assert binance_sim.state()["orders"] == []


async def test_sim_routes_validate_their_input(bclient: Any, binance_sim: SimVenue) -> None:
    url = binance_sim.rest_url
    bad_bodies: list[tuple[str, Any]] = [
        ("/sim/price", {"symbol": "BTCUSDT", "price": "NaN"}),
        ("/sim/price", {"symbol": "BTCUSDT", "price": "Infinity"}),
        ("/sim/price", {"symbol": "BTCUSDT", "price": "abc"}),
        ("/sim/price", {"symbol": "BTCUSDT", "price": "-5"}),
        ("/sim/price", {"symbol": ["BTCUSDT"], "price": "5"}),
        ("/sim/clock", {"skew_ms": 10**30}),
        ("/sim/fail", {"status": 12345}),
        ("/sim/user-events", {"drop_ratio": 2}),
    ]
    for path, body in bad_bodies:
        async with bclient.session.post(f"{url}{path}", json=body) as r:
            assert r.status == 400 and (await r.json())["ok"] is False, (path, body)
    for path in ("/sim/price", "/sim/fail", "/sim/latency", "/sim/clock"):
        for raw in (DEEP_LIST, DEEP_OBJECT, "{", "[]", "null"):
            async with bclient.session.post(f"{url}{path}", data=raw) as r:
                assert r.status == 400 and (await r.json())["ok"] is False, (path, raw[:10])
    for query in (
        "step?n=1e9",
        "step?n=10000000",
        "streams/stall?seconds=nan",
        "streams/stall?seconds=1e400",
    ):
        async with bclient.session.post(f"{url}/sim/{query}") as r:
            assert r.status == 400 and (await r.json())["ok"] is False, query
    state = await bclient.control("/sim/state", method="GET")
    assert state["faults"]["clock_skew_ms"] == 0 and state["faults"]["fail_rules"] == []


async def test_binance_websockets_answer_nested_json_and_stay_open(
    bclient: Any, binance_sim: SimVenue, json_next: Any
) -> None:
    api = await bclient.ws("/ws-fapi/v1")
    for frame in (DEEP_LIST, DEEP_OBJECT, '{"id": [1, 2], "method": "ping"}', "nope"):
        await api.send_str(frame)
        answer = await json_next(api)
        assert answer["id"] is None and answer["status"] == 400 and answer["error"]["code"] == -1102
    assert (await call(api, json_next, "ping"))["status"] == 200
    market = await bclient.ws("/market/ws/btcusdt@aggTrade")
    for frame, code in ((DEEP_OBJECT, 3), ('{"method": "SUBSCRIBE", "params": [[1]], "id": 7}', 2)):
        await market.send_str(frame)
        answer = await json_next(market)
        assert answer["error"]["code"] == code
    await market.send_str('{"method": "SUBSCRIBE", "params": ["x"], "id": {"a": 1}}')
    assert (await json_next(market))["error"]["code"] == 2
    await market.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 9})
    assert await json_next(market) == {"result": ["btcusdt@aggTrade"], "id": 9}
    key = await bclient.listen_key()
    user = await bclient.ws(f"/private/ws?listenKey={key}")
    await user.send_str(DEEP_LIST)
    assert (await json_next(user))["error"]["code"] == 3
    await user.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
    assert (await json_next(user))["id"] == 1
    for ws in (api, market, user):
        assert not ws.closed
        await ws.close()


@pytest.fixture
async def bingx() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=4, step_interval=3600.0) as venue:
        yield venue


async def test_bingx_malformed_rest_and_ws(bingx: SimVenue) -> None:
    async with aiohttp.ClientSession() as session:
        client = BingxTestClient(
            bingx.rest_url, bingx.ws_market_url, bingx.api_key, bingx.api_secret, session
        )
        _, _, body = await client.signed("GET", "/openApi/swap/v2/user/balance", recvWindow="1e400")
        assert body["code"] == 0  # clamped to the 60 s maximum, as the venue does
        _, _, body = await client.signed("GET", "/openApi/swap/v2/user/balance", recvWindow="nan")
        assert body["code"] == 80014
        status, _, body = await client.signed(
            "DELETE", "/openApi/swap/v2/trade/batchOrders", symbol="BTC-USDT", orderIdList="[[1]]"
        )
        assert (status, body["code"]) == (200, 80014)
        status, _, body = await client.signed(
            "POST", "/openApi/swap/v2/trade/batchOrders", batchOrders=DEEP_LIST
        )
        assert (status, body["code"]) == (200, 80014)
        url = yarl.URL(
            f"{bingx.rest_url}/openApi/swap/v2/trade/order?{client.signed_query({})}", encoded=True
        )
        async with session.post(
            url, data=DEEP_OBJECT, headers={"Content-Type": "application/json", "X-BX-APIKEY": bingx.api_key}
        ) as r:
            assert r.status == 200 and msgspec.json.decode(await r.read())["code"] == 80014
        for bad in ("NaN", "1e999999", "9" * 30):
            _, _, body = await client.signed(
                "POST",
                "/openApi/swap/v2/trade/order",
                symbol="BTC-USDT",
                side="BUY",
                positionSide="BOTH",
                type="MARKET",
                quantity=bad,
            )
            assert body["code"] == 80014, bad
            _, _, body = await client.signed(
                "GET", "/openApi/swap/v2/trade/order", symbol="BTC-USDT", orderId=bad
            )
            assert body["code"] == 80014, bad
        ws = await client.ws()
        for frame in (DEEP_LIST, DEEP_OBJECT, '{"id": {"x": 1}, "reqType": "sub", "dataType": 5}'):
            await ws.send_str(frame)
            ack = await next_frame(ws, lambda m: isinstance(m, dict) and "code" in m)
            assert ack["code"] == 80014 and ack["id"] == ""
        await ws.send_str('{"id":"ok-1","reqType":"sub","dataType":"BTC-USDT@trade"}')
        assert (await next_frame(ws, lambda m: isinstance(m, dict) and m.get("id") == "ok-1"))["code"] == 0
        assert not ws.closed
        await ws.close()
