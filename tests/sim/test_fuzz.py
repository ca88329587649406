"""A small seeded fuzz of both dialects: real requests (REST, the Binance WS trading API, market
and user streams, BingX's websocket, the /sim routes) mutated with ``random`` and thrown at the
simulator. Asserted: no 5xx with a body that is not JSON, no exception logged at ERROR (aiohttp's
"Error handling request" or the simulator's own safety nets), every socket still answers after
the garbage, and the venue still serves a valid request at the end.

Deterministic: each test uses a fixed seed, so a failure replays exactly."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
import pytest
import yarl

from adapters.sim.binance.signing import hmac_sha256_hex, ws_sign_payload
from adapters.sim.server import SimVenue

N_REST = 300
N_WS = 150

GARBAGE_STRINGS = [
    "",
    " ",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "0",
    "-1",
    "9" * 25,
    "9" * 5000,
    "1_000",
    "0x10",
    "1.5",
    "true",
    "null",
    "[]",
    "{}",
    "[" * 1200 + "]" * 1200,
    '{"a":' * 1200 + "1" + "}" * 1200,
    '[{"symbol":"BTCUSDT"',
    '[{"a": [1, {"b": null}]}]',
    "%",
    "%zz",
    "é",
    "\x00",
    "😀",
    "a" * 3000,
    "<script>",
    "'; DROP TABLE",
    "../../etc/passwd",
]
GARBAGE_JSON: list[Any] = [
    None,
    True,
    -1,
    0,
    2**70,
    1.5e308,
    "",
    "NaN",
    [],
    {},
    [[[[]]]],
    {"a": {"b": [1, 2, {"c": None}]}},
    "x" * 2000,
]


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.ERROR)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors[:5]]


def mutate_params(rng: random.Random, params: dict[str, Any], json_values: bool = False) -> dict[str, Any]:
    out = dict(params)
    if rng.random() < 0.25:
        return out  # some valid requests too, so orders exist for the garbage to act on
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.random()
        names = list(out) or ["x"]
        pool: list[Any] = GARBAGE_JSON + GARBAGE_STRINGS if json_values else GARBAGE_STRINGS
        if op < 0.6:
            out[rng.choice(names)] = rng.choice(pool)
        elif op < 0.75:
            out.pop(rng.choice(names), None)
        elif op < 0.9:
            out[rng.choice(["recvWindow", "limit", "fromId", "startTime", "orderId", "zzz"])] = rng.choice(
                pool
            )
        else:
            name = rng.choice(names)
            out[name] = str(out.get(name, "")) * rng.randint(2, 50)
    return out


def assert_envelope(status: int, content_type: str, body: bytes, what: str) -> None:
    if status >= 500:
        assert content_type == "application/json", (status, what, body[:200])
    if content_type == "application/json" and body:
        msgspec.json.decode(body)  # must be valid JSON


# ------------------------------------------------------------------------------------------------
# REST
# ------------------------------------------------------------------------------------------------

BINANCE_REQUESTS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("GET", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "5"}, False),
    ("GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "3"}, False),
    ("GET", "/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "limit": "3"}, False),
    ("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, False),
    ("GET", "/fapi/v1/ticker/24hr", {"symbol": "BTCUSDT"}, False),
    (
        "POST",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.010",
            "price": "PX",
            "newClientOrderId": "fz",
        },
        True,
    ),
    (
        "POST",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"},
        True,
    ),
    (
        "PUT",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "orderId": "1", "side": "BUY", "quantity": "0.010", "price": "PX"},
        True,
    ),
    ("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "1"}, True),
    ("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "fz"}, True),
    (
        "POST",
        "/fapi/v1/batchOrders",
        {
            "batchOrders": '[{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC",'
            '"quantity":"0.010","price":"PX"}]'
        },
        True,
    ),
    ("DELETE", "/fapi/v1/batchOrders", {"symbol": "BTCUSDT", "orderIdList": "[1,2]"}, True),
    ("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}, True),
    ("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}, True),
    ("GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT", "limit": "10"}, True),
    ("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "fromId": "1", "limit": "10"}, True),
    ("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "startTime": "1", "endTime": "2"}, True),
    (
        "POST",
        "/fapi/v1/algoOrder",
        {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "STOP_MARKET",
            "quantity": "0.010",
            "triggerPrice": "999999.0",
        },
        True,
    ),
    ("GET", "/fapi/v1/algoOrder", {"algoId": "1"}, True),
    ("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": "10"}, True),
    ("POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"}, True),
    ("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}, True),
    ("GET", "/fapi/v3/account", {}, True),
    ("GET", "/fapi/v1/commissionRate", {"symbol": "BTCUSDT"}, True),
    ("POST", "/fapi/v1/listenKey", {}, True),
    ("PUT", "/fapi/v1/listenKey", {}, True),
]

BINGX_REQUESTS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("GET", "/openApi/swap/v2/quote/depth", {"symbol": "BTC-USDT", "limit": "5"}, False),
    ("GET", "/openApi/swap/v3/quote/klines", {"symbol": "BTC-USDT", "interval": "1m", "limit": "3"}, False),
    ("GET", "/openApi/swap/v2/quote/premiumIndex", {"symbol": "BTC-USDT"}, False),
    ("GET", "/openApi/swap/v2/quote/ticker", {"symbol": "BTC-USDT"}, False),
    (
        "POST",
        "/openApi/swap/v2/trade/order",
        {
            "symbol": "BTC-USDT",
            "side": "BUY",
            "positionSide": "BOTH",
            "type": "LIMIT",
            "quantity": "0.0100",
            "price": "PX",
            "clientOrderID": "fz",
        },
        True,
    ),
    (
        "POST",
        "/openApi/swap/v2/trade/order",
        {
            "symbol": "BTC-USDT",
            "side": "BUY",
            "type": "STOP_MARKET",
            "quantity": "0.01",
            "stopPrice": "99999",
        },
        True,
    ),
    (
        "POST",
        "/openApi/swap/v2/trade/batchOrders",
        {"batchOrders": '[{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","quantity":"0.01","price":"PX"}]'},
        True,
    ),
    ("DELETE", "/openApi/swap/v2/trade/order", {"symbol": "BTC-USDT", "orderId": "1"}, True),
    ("DELETE", "/openApi/swap/v2/trade/batchOrders", {"symbol": "BTC-USDT", "orderIdList": "[1]"}, True),
    ("GET", "/openApi/swap/v2/trade/order", {"symbol": "BTC-USDT", "clientOrderId": "fz"}, True),
    ("GET", "/openApi/swap/v2/trade/openOrders", {"symbol": "BTC-USDT"}, True),
    ("GET", "/openApi/swap/v2/trade/allOrders", {"symbol": "BTC-USDT", "limit": "5"}, True),
    ("GET", "/openApi/swap/v2/trade/fillHistory", {"symbol": "BTC-USDT", "endTs": "1"}, True),
    (
        "GET",
        "/openApi/swap/v2/trade/allFillOrders",
        {"symbol": "BTC-USDT", "startTs": "1", "endTs": "2"},
        True,
    ),
    (
        "POST",
        "/openApi/swap/v2/trade/leverage",
        {"symbol": "BTC-USDT", "side": "LONG", "leverage": "5"},
        True,
    ),
    ("GET", "/openApi/swap/v2/user/positions", {"symbol": "BTC-USDT"}, True),
    ("GET", "/openApi/swap/v3/user/balance", {}, True),
    ("POST", "/openApi/user/auth/userDataStream", {}, True),
]


def with_price(params: dict[str, Any], price: str) -> dict[str, Any]:
    """Fill the "PX" placeholders with a resting price near the market (so orders are accepted)."""
    return {k: v.replace("PX", price) if isinstance(v, str) else v for k, v in params.items()}


async def fuzz_rest(
    rng: random.Random,
    session: aiohttp.ClientSession,
    sim: SimVenue,
    symbol: str,
    requests: list[tuple[str, str, dict[str, Any], bool]],
    sign: Callable[[str], str],
    key_header: tuple[str, str],
    n: int = N_REST,
) -> None:
    base_url = sim.rest_url
    price = str((sim.engine.last_price(symbol) * Decimal("0.95")).quantize(Decimal("0.1")))
    for i in range(n):
        method, path, params, signed = rng.choice(requests)
        params = with_price(params, price)
        if rng.random() < 0.1:
            method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
        if rng.random() < 0.05:
            path = path + rng.choice(["/", "x", "/../v1", "%20"])
        params = mutate_params(rng, params)
        fields = {"timestamp": str(int(time.time() * 1000)), **params} if signed else params
        encoded = urlencode({k: str(v) for k, v in fields.items()})
        if signed and rng.random() < 0.9:
            encoded += "&signature=" + sign(encoded)
        headers = {key_header[0]: key_header[1]}
        data: str | None = None
        url = f"{base_url}{path}"
        where = rng.random()
        if method in ("POST", "PUT", "DELETE") and where < 0.4:
            data = encoded
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif where < 0.5:
            data = rng.choice(GARBAGE_STRINGS[19:23])  # a JSON body, possibly nested too deep
            headers["Content-Type"] = "application/json"
            url += "?" + encoded
        else:
            url += "?" + encoded
        async with session.request(method, yarl.URL(url, encoded=True), data=data, headers=headers) as r:
            body = await r.read()
            assert_envelope(r.status, r.content_type, body, f"#{i} {method} {path} {params!r:.300}")


async def test_fuzz_binance_rest() -> None:
    await run_binance_rest(20261202)


# The bodies below take the seed and the request count, so tests.fuzz (make fuzz) runs them with
# fresh seeds for as long as it is given; the tests above pin the seeds.
async def run_binance_rest(seed: int, n: int = N_REST) -> None:
    rng = random.Random(seed)
    async with SimVenue(seed=11, step_interval=3600.0, rate_limit_weight=10**9) as sim:
        assert sim.binance is not None
        sim.binance.limiter.orders_10s = sim.binance.limiter.orders_1m = 10**9
        async with aiohttp.ClientSession() as session:
            await fuzz_rest(
                rng,
                session,
                sim,
                "BTCUSDT",
                BINANCE_REQUESTS,
                lambda payload: hmac_sha256_hex(sim.api_secret, payload),
                ("X-MBX-APIKEY", sim.api_key),
                n,
            )
            async with session.get(f"{sim.rest_url}/fapi/v1/time") as r:
                assert r.status == 200 and "serverTime" in await r.json()
        # Most reached the routes (the rest the HTTP parser refused: request line too long).
        assert sim.state()["requests"]["total_requests"] > n // 2


async def test_fuzz_bingx_rest() -> None:
    await run_bingx_rest(4242)


async def run_bingx_rest(seed: int, n: int = N_REST) -> None:
    rng = random.Random(seed)
    async with SimVenue("bingx", seed=11, step_interval=3600.0) as sim:
        assert sim.bingx is not None
        sim.bingx.limiter.scale = 10_000.0  # let the garbage through to the routes

        def sign(payload: str) -> str:
            return hmac.new(sim.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

        async with aiohttp.ClientSession() as session:
            key_header = ("X-BX-APIKEY", sim.api_key)
            await fuzz_rest(rng, session, sim, "BTC-USDT", BINGX_REQUESTS, sign, key_header, n)
            async with session.get(f"{sim.rest_url}/openApi/swap/v2/server/time") as r:
                assert r.status == 200 and (await r.json())["code"] == 0


async def test_fuzz_sim_routes() -> None:
    await run_sim_routes(99)


async def run_sim_routes(seed: int, n: int = N_REST) -> None:
    rng = random.Random(seed)
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("/sim/price", {"symbol": "BTCUSDT", "price": "50000"}),
        ("/sim/market/gap?symbol=BTCUSDT", {}),
        ("/sim/history/age", {"ms": 1000}),
        ("/sim/user-events", {"duplicate": False, "drop_ratio": 0.5}),
        ("/sim/margin-call", {"account": "default"}),
        ("/sim/fail", {"path": "/fapi/v1/ping", "count": 1, "status": 503, "execute_after_ms": 5}),
        ("/sim/clock", {"skew_ms": 0}),
        ("/sim/streams/die-on-connect?kind=user&count=1", {}),
    ]
    async with SimVenue(seed=11, step_interval=3600.0) as sim, aiohttp.ClientSession() as session:
        for i in range(n):
            path, body = rng.choice(bodies)
            payload: Any = mutate_params(rng, body, json_values=True)
            if rng.random() < 0.1:
                payload = rng.choice(GARBAGE_JSON)
            async with session.post(f"{sim.rest_url}{path}", json=payload) as r:
                raw = await r.read()
                assert r.status in (200, 400), (i, path, payload, raw[:200])
                assert msgspec.json.decode(raw)["ok"] is (r.status == 200)
        async with session.post(f"{sim.rest_url}/sim/reset-faults") as r:
            assert r.status == 200
        async with session.get(f"{sim.rest_url}/fapi/v1/ping") as r:
            assert r.status == 200


# ------------------------------------------------------------------------------------------------
# Websockets
# ------------------------------------------------------------------------------------------------


async def next_text(ws: aiohttp.ClientWebSocketResponse, pred: Callable[[Any], bool]) -> Any:
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data)
            data = msgspec.json.decode(msg.data)
            if pred(data):
                return data


# The simulator closes a socket on a frame over 1 MiB with 1009 (message too big), as a venue does:
# that is the defined outcome for it (test_an_oversized_frame_closes_only_its_own_socket), so the
# fuzz loops, which probe that every socket stays up, keep their frames under it.
MAX_FRAME = 1 << 20


def garbage_frame(rng: random.Random, base: dict[str, Any]) -> str:
    text = _garbage_frame(rng, base)
    return text if len(text) <= MAX_FRAME else text[:1000]


def _garbage_frame(rng: random.Random, base: dict[str, Any]) -> str:
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(GARBAGE_STRINGS)
    frame: dict[str, Any] = dict(base)
    if roll < 0.3:
        frame[rng.choice(["id", "method", "params", "reqType", "dataType"])] = rng.choice(GARBAGE_JSON)
    elif isinstance(frame.get("params"), dict):
        frame["params"] = mutate_params(rng, frame["params"], json_values=True)
    elif isinstance(frame.get("params"), list):
        frame["params"] = [rng.choice(GARBAGE_JSON + GARBAGE_STRINGS) for _ in range(rng.randint(0, 4))]
    else:
        frame = mutate_params(rng, frame, json_values=True)
    return msgspec.json.encode(frame).decode()


async def test_an_oversized_frame_closes_only_its_own_socket() -> None:
    async with SimVenue(seed=11, step_interval=3600.0) as sim, aiohttp.ClientSession() as session:
        big = await session.ws_connect(f"{sim.ws_url}/stream?streams=btcusdt@aggTrade")
        other = await session.ws_connect(f"{sim.ws_url}/stream?streams=btcusdt@aggTrade")
        await big.send_str("x" * (MAX_FRAME + 1))
        msg = await asyncio.wait_for(big.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        assert big.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        await other.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
        assert (await next_text(other, lambda m: m.get("id") == 1))["id"] == 1
        await other.close()


async def test_fuzz_binance_websockets() -> None:
    await run_binance_websockets(7)


async def run_binance_websockets(seed: int, n: int = N_WS) -> None:
    rng = random.Random(seed)
    async with SimVenue(seed=11, step_interval=3600.0, rate_limit_weight=10**9) as sim:
        assert sim.binance is not None
        sim.binance.limiter.orders_10s = sim.binance.limiter.orders_1m = 10**9
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{sim.rest_url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": sim.api_key}
            ) as r:
                key = (await r.json())["listenKey"]
            api = await session.ws_connect(sim.ws_api_url)
            market = await session.ws_connect(f"{sim.ws_url}/market/stream?streams=btcusdt@aggTrade")
            user = await session.ws_connect(f"{sim.ws_url}/private/ws?listenKey={key}")

            def signed(**params: Any) -> dict[str, Any]:
                params = {"apiKey": sim.api_key, "timestamp": int(time.time() * 1000), **params}
                params["signature"] = hmac_sha256_hex(sim.api_secret, ws_sign_payload(params))
                return params

            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
            price = str((sim.engine.last_price("BTCUSDT") * Decimal("0.95")).quantize(Decimal("0.1")))
            api_bases: list[dict[str, Any]] = [
                {"id": 1, "method": "order.place", "params": {**order, "quantity": "0.010", "price": price}},
                {"id": 2, "method": "order.status", "params": {"symbol": "BTCUSDT", "orderId": 1}},
                {"id": 3, "method": "order.cancel", "params": {"symbol": "BTCUSDT", "orderId": 1}},
                {"id": 4, "method": "ping", "params": {}},
                {"id": 5, "method": "session.status"},
                {"id": 6, "method": "userDataStream.start", "params": {}},
            ]
            stream_bases: list[dict[str, Any]] = [
                {"method": "SUBSCRIBE", "params": ["btcusdt@markPrice"], "id": 1},
                {"method": "UNSUBSCRIBE", "params": ["btcusdt@markPrice"], "id": 2},
                {"method": "LIST_SUBSCRIPTIONS", "id": 3},
                {"method": "SET_PROPERTY", "params": ["combined", True], "id": 4},
            ]
            for i in range(n):
                base = rng.choice(api_bases)
                frame = dict(base)
                if "params" in frame and rng.random() < 0.7:
                    # Sign after mutating, so garbage reaches the order code, not just the signature check.
                    frame["params"] = signed(**mutate_params(rng, frame["params"], json_values=True))
                    text = msgspec.json.encode(frame).decode()
                else:
                    text = garbage_frame(rng, frame)
                await api.send_str(text)
                await api.send_json({"id": f"probe-{i}", "method": "ping"})
                await next_text(api, lambda m, i=i: m.get("id") == f"probe-{i}")
                for ws in (market, user):
                    await ws.send_str(garbage_frame(rng, rng.choice(stream_bases)))
                    await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 10_000 + i})
                    await next_text(ws, lambda m, i=i: m.get("id") == 10_000 + i)
            for ws in (api, market, user):
                assert not ws.closed
                await ws.close()


async def test_fuzz_bingx_websocket() -> None:
    await run_bingx_websocket(8)


async def run_bingx_websocket(seed: int, n: int = N_WS) -> None:
    rng = random.Random(seed)
    async with SimVenue("bingx", seed=11, step_interval=3600.0) as sim, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.ws_market_url)
        bases: list[dict[str, Any]] = [
            {"id": "a", "reqType": "sub", "dataType": "BTC-USDT@trade"},
            {"id": "b", "reqType": "unsub", "dataType": "BTC-USDT@depth5"},
            {"id": "c", "reqType": "sub", "dataType": "BTC-USDT@kline_1m"},
        ]
        for i in range(n):
            await ws.send_str(garbage_frame(rng, rng.choice(bases)))
            probe = f"probe-{i}"
            await ws.send_json({"id": probe, "reqType": "unsub", "dataType": "BTC-USDT@trade"})
            async with asyncio.timeout(5):
                while True:
                    msg = await ws.receive()
                    assert msg.type is aiohttp.WSMsgType.BINARY, (msg.type, msg.data)
                    text = gzip.decompress(msg.data).decode()
                    if text == "Ping":
                        await ws.send_str("Pong")
                        continue
                    if msgspec.json.decode(text).get("id") == probe:
                        break
        assert not ws.closed
        await ws.close()
