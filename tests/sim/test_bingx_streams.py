"""BingX websockets: gzip binary frames, the Ping/Pong heartbeat, sub/unsub by dataType, the
market topics, the duplicate-public-trade quirk, listen keys (new key per POST, PUT/DELETE, 404),
the user events, listenKeyExpired, the connection age limit and the drop_ratio fault; plus the
CLI's JSON line for ``bingx``."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import adapters.sim.bingx.market_stream as ms
from adapters.sim.bingx.client import BingxTestClient, decode_frame, next_frame
from adapters.sim.server import SimVenue

V2 = "/openApi/swap/v2"
LK = "/openApi/user/auth/userDataStream"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def sim() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=6, step_interval=3600.0, listen_key_ttl=3600.0) as venue:
        yield venue


@pytest.fixture
async def client(sim: SimVenue) -> AsyncIterator[BingxTestClient]:
    async with aiohttp.ClientSession() as session:
        yield BingxTestClient(sim.rest_url, sim.ws_market_url, sim.api_key, sim.api_secret, session)


async def sub(ws: aiohttp.ClientWebSocketResponse, data_type: str, req: str = "sub") -> Any:
    req_id = f"{req}-{data_type}"
    await ws.send_str(json.dumps({"id": req_id, "reqType": req, "dataType": data_type}))
    return await next_frame(ws, lambda m: isinstance(m, dict) and m.get("id") == req_id)


async def market_order(client: BingxTestClient, side: str = "BUY", qty: str = "0.01", **kw: Any) -> Any:
    return (
        await client.ok(
            "POST",
            f"{V2}/trade/order",
            symbol="BTC-USDT",
            side=side,
            positionSide="BOTH",
            type="MARKET",
            quantity=qty,
            **kw,
        )
    )["order"]


async def test_market_topics_gzip_ack_and_payloads(client: BingxTestClient, sim: SimVenue) -> None:
    ws = await client.ws()
    await ws.send_str(json.dumps({"id": "a", "reqType": "sub", "dataType": "BTC-USDT@depth5@200ms"}))
    first = await ws.receive(timeout=5)
    assert first.type is aiohttp.WSMsgType.BINARY  # every server frame is gzip binary
    assert decode_frame(first) == {"id": "a", "code": 0, "msg": "", "dataType": "", "data": None}
    snap = await next_frame(ws)  # the ack comes before the first push
    bids, asks = snap["data"]["bids"], snap["data"]["asks"]
    assert snap["dataType"] == "BTC-USDT@depth5@200ms" and len(bids) == len(asks) == 5
    assert [Decimal(p) for p, _ in asks] == sorted((Decimal(p) for p, _ in asks), reverse=True)  # far → best
    assert Decimal(bids[0][0]) == sim.engine.book("BTC-USDT", 1).bids[0][0]
    assert (await sub(ws, "BTC-USDT@incrDepth"))["code"] == 0
    full = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@incrDepth")
    assert full["data"]["action"] == "all"
    for topic in (
        "BTC-USDT@trade",
        "BTC-USDT@bookTicker",
        "BTC-USDT@markPrice",
        "BTC-USDT@kline_1m",
        "BTC-USDT@lastPrice",
    ):
        assert (await sub(ws, topic))["code"] == 0
    await market_order(client)  # takes liquidity: book delta, public trade
    sim.engine.step()
    upd = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@incrDepth")
    assert (
        upd["data"]["action"] == "update" and upd["data"]["lastUpdateId"] == full["data"]["lastUpdateId"] + 1
    )
    trade = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@trade")  # after its book change
    assert isinstance(trade["data"], list) and set(trade["data"][0]) == {"q", "p", "T", "m", "s"}
    kline = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@kline_1m")
    assert kline["s"] == "BTC-USDT" and kline["data"][0]["T"] % 60_000 == 0
    upd2 = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@incrDepth")
    assert upd2["data"]["lastUpdateId"] == upd["data"]["lastUpdateId"] + 1
    mark = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@markPrice")
    assert mark["data"]["e"] == "markPriceUpdate" and mark["data"]["s"] == "BTC-USDT"
    # Errors: an empty frame, an unknown topic.
    await ws.send_str("{}")
    assert (await next_frame(ws, lambda m: m.get("code") == 80014))["msg"] == "invalid params"
    bad = await sub(ws, "NOPE-USDT@trade")
    assert bad["code"] == 80014
    assert (await sub(ws, "BTC-USDT@trade", "unsub"))["code"] == 0
    conn = sim.registry.select("market")[0]
    assert "BTC-USDT@trade" not in conn.snapshot()["streams"]
    await ws.close()


async def test_topic_limit_80403(client: BingxTestClient, sim: SimVenue) -> None:
    ws = await client.ws()
    conn_topics = [f"BTC-USDT@kline_{i}" for i in ("1m", "3m", "5m")]
    for t in conn_topics:
        await sub(ws, t)
    old, ms.MAX_TOPICS = ms.MAX_TOPICS, 3
    try:
        assert (await sub(ws, "ETH-USDT@trade"))["code"] == 80403
    finally:
        ms.MAX_TOPICS = old
    await ws.close()


async def test_duplicate_public_trades_quirk() -> None:
    async with (
        SimVenue("bingx", seed=8, step_interval=3600.0, duplicate_trade_every=1) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = BingxTestClient(sim.rest_url, sim.ws_market_url, sim.api_key, sim.api_secret, session)
        ws = await client.ws()
        await sub(ws, "BTC-USDT@trade")
        await market_order(client)
        a = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@trade")
        b = await next_frame(ws, lambda m: m.get("dataType") == "BTC-USDT@trade")
        assert a == b  # the same trade, twice, with no id to tell them apart
        assert sim.state()["market"]["public_trades_duplicated"] >= 1
        await ws.close()


async def test_ping_pong_heartbeat_and_connection_age() -> None:
    async with (
        SimVenue(
            "bingx",
            seed=9,
            step_interval=3600.0,
            ping_interval=0.1,
            pong_timeout=0.5,
            max_connection_age=30.0,
        ) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = BingxTestClient(sim.rest_url, sim.ws_market_url, sim.api_key, sim.api_secret, session)
        ws = await client.ws()
        msg = await ws.receive(timeout=5)
        assert decode_frame(msg) == "Ping"
        await ws.send_str("Pong")
        msg = await ws.receive(timeout=5)
        assert decode_frame(msg) == "Ping"
        await ws.send_str("Ping")  # a client's own Ping is answered
        assert await next_frame(ws, lambda m: m == "Pong", answer_pings=True) == "Pong"
        conn = sim.registry.select("market")[0]
        assert conn.pongs_received >= 1
        # Stop answering: the venue drops the connection after pong_timeout.
        async with asyncio.timeout(5):
            while True:
                m = await ws.receive()
                if m.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
        assert conn.close_reason == "pong timeout"
    async with (
        SimVenue("bingx", seed=9, step_interval=3600.0, max_connection_age=0.3) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = BingxTestClient(sim.rest_url, sim.ws_market_url, sim.api_key, sim.api_secret, session)
        ws = await client.ws()
        closed = await ws.receive(timeout=5)
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 1001


async def test_listen_key_lifecycle(client: BingxTestClient, sim: SimVenue) -> None:
    k1 = await client.listen_key()
    k2 = await client.listen_key()
    assert k1 != k2 and len(k1) == 64 and all(ch in "0123456789abcdef" for ch in k1)  # new key per POST
    async with client.session.put(f"{client.rest_url}{LK}", params={"listenKey": k1}) as r:
        assert r.status == 200
    async with client.session.put(f"{client.rest_url}{LK}", params={"listenKey": "f" * 64}) as r:
        assert r.status == 404
    async with client.session.post(f"{client.rest_url}{LK}") as r:
        assert (await r.json())["code"] == 100413  # the API key header is required
    ws = await client.ws(k1)
    async with client.session.delete(f"{client.rest_url}{LK}", params={"listenKey": k1}) as r:
        assert r.status == 200
    closed = await ws.receive(timeout=5)
    while closed.type is aiohttp.WSMsgType.BINARY:  # the on-connect config push comes first
        closed = await ws.receive(timeout=5)
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 1000
    async with client.session.delete(f"{client.rest_url}{LK}", params={"listenKey": k1}) as r:
        assert r.status == 404
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await client.ws(k1)
    assert exc.value.status == 400
    states = {s["status"] for s in sim.state()["listen_keys"]}
    assert states == {"deleted", "active"}


async def test_user_events(client: BingxTestClient, sim: SimVenue) -> None:
    key = await client.listen_key()
    ws = await client.ws(key)
    cfg = await next_frame(ws)
    assert cfg["e"] == "ACCOUNT_CONFIG_UPDATE" and cfg["ac"]["mt"] == "cross"  # the on-connect push
    order = await market_order(client, clientOrderId="UserEvt-1")
    not_cfg = lambda m: m.get("e") != "ACCOUNT_CONFIG_UPDATE"  # noqa: E731
    new = await next_frame(ws, not_cfg)
    assert new["e"] == "ORDER_TRADE_UPDATE" and new["o"]["x"] == "NEW" and new["o"]["X"] == "NEW"
    assert new["o"]["i"] == order["orderId"] and new["o"]["c"] == "userevt-1"
    trade = await next_frame(ws, not_cfg)
    trades = [t for t in sim.state()["trades"] if t["order_id"] == order["orderId"]]
    assert trade["o"]["x"] == "TRADE" and trade["o"]["td"] == trades[0]["trade_id"]
    assert Decimal(trade["o"]["l"]) == Decimal(trades[0]["qty"]) and Decimal(trade["o"]["n"]) < 0
    acct = await next_frame(ws, lambda m: m.get("e") == "ACCOUNT_UPDATE")
    assert acct["a"]["m"] == "ORDER" and acct["a"]["P"][0]["s"] == "BTC-USDT"
    await client.ok("POST", f"{V2}/trade/leverage", symbol="BTC-USDT", side="BOTH", leverage=9)
    lev = await next_frame(ws, lambda m: m.get("e") == "ACCOUNT_CONFIG_UPDATE" and m["ac"]["l"] == 9)
    assert lev["ac"]["s"] == "BTC-USDT"
    # A request frame on the user stream is an error (the stream pushes everything unasked).
    await ws.send_str("{}")
    assert (await next_frame(ws, lambda m: m.get("code") == 80014))["msg"] == "invalid params"
    # Canceled spelled with one L on the stream.
    bid = str(sim.engine.book("BTC-USDT", 20).bids[-1][0] - 50)
    placed = (
        await client.ok(
            "POST",
            f"{V2}/trade/order",
            symbol="BTC-USDT",
            side="BUY",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.01",
            price=bid,
        )
    )["order"]
    await client.ok("DELETE", f"{V2}/trade/order", symbol="BTC-USDT", orderId=placed["orderId"])
    cancel = await next_frame(ws, lambda m: m.get("e") == "ORDER_TRADE_UPDATE" and m["o"]["x"] == "CANCELED")
    assert cancel["o"]["X"] == "CANCELED" and cancel["o"]["c"] == ""
    await ws.close()


async def test_listen_key_expiry_pushes_listen_key_expired() -> None:
    async with (
        SimVenue("bingx", seed=10, step_interval=3600.0, listen_key_ttl=0.3) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = BingxTestClient(sim.rest_url, sim.ws_market_url, sim.api_key, sim.api_secret, session)
        key = await client.listen_key()
        ws = await client.ws(key)
        expired = await next_frame(ws, lambda m: m.get("e") == "listenKeyExpired")
        assert expired["listenKey"] == key
        async with session.put(f"{client.rest_url}{LK}", params={"listenKey": key}) as r:
            assert r.status == 404
        # The socket stays open but silent: an order produces nothing on it.
        await market_order(client)
        assert sim.registry.select("user")[0].open
        key2 = await client.listen_key()
        ws2 = await client.ws(key2)
        await client.control("/sim/listen-keys/expire")
        assert (await next_frame(ws2, lambda m: m.get("e") == "listenKeyExpired"))["listenKey"] == key2
        await ws.close()
        await ws2.close()


async def test_drop_ratio_fault_loses_user_events(client: BingxTestClient, sim: SimVenue) -> None:
    key = await client.listen_key()
    ws = await client.ws(key)
    await next_frame(ws)  # config push
    resp = await client.control("/sim/user-events", {"drop_ratio": 0.5})
    assert resp["drop_ratio"] == 0.5
    orders = [await market_order(client, qty="0.01") for _ in range(2)]
    # Every 2nd user event is lost (deterministically), so the stream carries half of them.
    await client.control("/sim/user-events", {"drop_ratio": 0.0})
    sentinel = await market_order(client, qty="0.01")
    frames: list[Any] = []
    async with asyncio.timeout(5):
        while True:
            m = await next_frame(ws)
            frames.append(m)
            if (
                m.get("e") == "ORDER_TRADE_UPDATE"
                and m["o"]["i"] == sentinel["orderId"]
                and m["o"]["x"] == "TRADE"
            ):
                break
    before = [f for f in frames if f.get("e") != "ORDER_TRADE_UPDATE" or f["o"]["i"] != sentinel["orderId"]]
    trades = sim.state()["trades"]
    # Per order: NEW, then ORDER_TRADE_UPDATE + ACCOUNT_UPDATE per fill.
    events_sent = sum(1 + 2 * len([t for t in trades if t["order_id"] == o["orderId"]]) for o in orders)
    dropped = sim.state()["faults"]["counters"]["user_events_dropped"]
    assert dropped >= 1
    seen = len([f for f in before if f.get("e") in ("ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE")])
    assert seen + dropped == events_sent and seen == events_sent - events_sent // 2
    # The truth is still there for a client that reconciles over REST.
    fills = await client.ok(
        "GET", f"{V2}/trade/fillHistory", symbol="BTC-USDT", endTs=sim.faults.server_time_ms() + 1
    )
    assert {r["orderId"] for r in fills["fill_history_orders"]} >= {str(o["orderId"]) for o in orders}
    await ws.close()


def test_cli_bingx_json_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.sim", "bingx", "--port", "0", "--seed", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert set(info) == {"venue", "rest", "ws_market", "ws_user", "api_key", "api_secret"}
        assert info["venue"] == "bingx" and info["ws_market"].endswith("/swap-market")
        with urllib.request.urlopen(info["rest"] + "/openApi/swap/v2/server/time", timeout=5) as r:
            assert json.loads(r.read())["code"] == 0
        with urllib.request.urlopen(info["rest"] + "/sim/state", timeout=5) as r:
            assert json.loads(r.read())["venue"] == "bingx"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio,json\nfrom adapters.sim.server import SimVenue\n"
            "async def m():\n async with SimVenue('bingx', seed=3) as s:\n"
            "  print(json.dumps([s.api_key, s.api_secret]))\n"
            "asyncio.run(m())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(again.stdout) == [info["api_key"], info["api_secret"]]  # seeded, deterministic keys
