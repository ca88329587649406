"""The simulator's websocket routes are Binance USD-M's since the 2026 base-URL split
(``adapters/sim/binance/routes.py`` names the documents relied on):

* ``/public`` serves the public streams (bookTicker, depth, trade), ``/market`` the market ones
  (aggTrade, markPrice, kline, ...), ``/private`` user data of ``listenKey`` + ``events=`` (several
  keys and event lists on ``/private/stream``); SUBSCRIBE follows the same rules;
* a stream on the wrong route, and all but public streams on a legacy root URL (user data included),
  are accepted and then silent — the venue's "fails silently rather than erroring";
* ``legacy_urls`` (``SimVenue``, ``SimNode``, ``--legacy-urls``) brings the old behaviour back.

"Silent" is proven without waiting for nothing: an event is made to happen (a reference socket on the
right route receives it), then a ``LIST_SUBSCRIPTIONS`` request goes to the socket under test; frames
of one socket arrive in order, so every frame published to it before the event would arrive before
the answer.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.sim.binance.routes import private_subscriptions, route_of, stream_category
from adapters.sim.server import SimVenue
from tests.conftest import BinanceTestClient, next_json

ROOT = Path(__file__).resolve().parents[2]


async def frames_until_answer(ws: aiohttp.ClientWebSocketResponse, req_id: int = 99) -> list[Any]:
    """Ask ``LIST_SUBSCRIPTIONS`` and return every frame received before its answer."""
    await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": req_id})
    before: list[Any] = []
    while True:
        frame = await next_json(ws)
        if isinstance(frame, dict) and frame.get("id") == req_id and "result" in frame:
            return before
        before.append(frame)


def names(frames: list[Any]) -> set[str]:
    """Event types (``e``) of raw or combined frames."""
    return {(f.get("data") or f).get("e") for f in frames}


async def market_buy(
    bclient: BinanceTestClient, api_key: str | None = None, secret: str | None = None
) -> None:
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        api_key=api_key,
        secret=secret,
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        quantity="0.010",
    )
    assert status == 200, body


async def step_until(sim: SimVenue, ws: aiohttp.ClientWebSocketResponse, event: str) -> Any:
    """Step the market until ``ws`` receives an ``event`` frame."""
    for _ in range(200):
        sim.faults.step(1)
        try:
            return await next_json(ws, lambda m: (m.get("data") or m).get("e") == event, within=0.1)
        except TimeoutError:
            continue
    raise AssertionError(f"no {event} frame")


# ---------------------------------------------------------------------------------- pure rules


def test_stream_categories_follow_the_change_notice() -> None:
    public = [
        "btcusdt@bookTicker",
        "!bookTicker",
        "btcusdt@depth",
        "btcusdt@depth@100ms",
        "btcusdt@depth10@500ms",
    ]
    public += ["btcusdt@trade", "btcusdt@rpiDepth@500ms"]
    market = ["btcusdt@aggTrade", "btcusdt@markPrice", "btcusdt@markPrice@1s", "!markPrice@arr@1s"]
    market += [
        "btcusdt@kline_1m",
        "btcusdt_perpetual@continuousKline_1m",
        "btcusdt@miniTicker",
        "!ticker@arr",
    ]
    market += [
        "btcusdt@forceOrder",
        "!forceOrder@arr",
        "btcusdt@compositeIndex",
        "!contractInfo",
        "!assetIndex@arr",
    ]
    assert {n: stream_category(n) for n in public} == dict.fromkeys(public, "public")
    assert {n: stream_category(n) for n in market} == dict.fromkeys(market, "market")
    assert [route_of(p) for p in ("/ws/x", "/stream", "/public/ws", "/market/stream", "/private/ws/k")] == [
        "",
        "",
        "/public",
        "/market",
        "/private",
    ]


def test_private_query_pairs_keys_with_their_events() -> None:
    query = [("listenKey", "k1"), ("events", "ORDER_TRADE_UPDATE"), ("listenKey", "k2")]
    query += [("events", "ACCOUNT_UPDATE/listenKeyExpired"), ("listenKey", "k3")]
    assert private_subscriptions(query) == [
        ("k1", frozenset({"ORDER_TRADE_UPDATE"})),
        ("k2", frozenset({"ACCOUNT_UPDATE", "listenKeyExpired"})),
        ("k3", None),
    ]


# ------------------------------------------------------------------------------ market routes


async def test_public_and_market_routes_serve_their_category_only(
    bclient: BinanceTestClient, binance_sim: SimVenue
) -> None:
    market_ref = await bclient.ws("/market/ws/btcusdt@aggTrade")
    public = await bclient.ws("/public/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade")
    market = await bclient.ws("/market/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade")
    try:
        await step_until(binance_sim, market_ref, "aggTrade")
        on_public = await frames_until_answer(public)
        on_market = await frames_until_answer(market)
    finally:
        for ws in (market_ref, public, market):
            await ws.close()
    assert names(on_public) == {"depthUpdate"}  # the trade happened, its aggTrade was not sent here
    assert names(on_market) == {"aggTrade"}  # ... and the depth diffs were not sent here
    assert binance_sim.state()["ws_routes"]["silent_subscriptions"] == 2


async def test_subscribe_follows_the_route_rules(bclient: BinanceTestClient, binance_sim: SimVenue) -> None:
    ws = await bclient.ws("/market/ws")
    ref = await bclient.ws("/public/ws/btcusdt@bookTicker")
    try:
        await ws.send_json(
            {"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "btcusdt@aggTrade"], "id": 1}
        )
        # Acknowledged like any other subscription, and listed: nothing says the first never sends.
        assert await next_json(ws) == {"result": None, "id": 1}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await next_json(ws) == {"result": ["btcusdt@aggTrade", "btcusdt@bookTicker"], "id": 2}
        await step_until(binance_sim, ws, "aggTrade")
        await step_until(binance_sim, ref, "bookTicker")
        assert "bookTicker" not in names(await frames_until_answer(ws))
    finally:
        await ws.close()
        await ref.close()


async def test_legacy_root_urls_get_public_streams_only(
    bclient: BinanceTestClient, binance_sim: SimVenue
) -> None:
    # The notice's own example: /ws/btcusdt@depth keeps working, /ws/btcusdt@markPrice does not.
    depth = await bclient.ws("/ws/btcusdt@depth")
    mark = await bclient.ws("/ws/btcusdt@markPrice@1s")
    combined = await bclient.ws("/stream?streams=btcusdt@markPrice@1s/btcusdt@aggTrade/btcusdt@bookTicker")
    ref = await bclient.ws("/market/stream?streams=btcusdt@markPrice@1s/btcusdt@aggTrade")
    try:
        await step_until(binance_sim, depth, "depthUpdate")
        await step_until(binance_sim, ref, "markPriceUpdate")
        await step_until(binance_sim, ref, "aggTrade")
        await step_until(binance_sim, combined, "bookTicker")
        assert await frames_until_answer(mark) == []
        assert names(await frames_until_answer(combined)) <= {"bookTicker"}
    finally:
        for ws in (depth, mark, combined, ref):
            await ws.close()
    assert binance_sim.state()["ws_routes"]["unrouted_connections"] == 3


# ------------------------------------------------------------------------------------ user data


async def test_legacy_root_user_stream_is_refused_user_data(
    bclient: BinanceTestClient, binance_sim: SimVenue
) -> None:
    key = await bclient.listen_key()
    legacy = await bclient.ws(f"/ws/{key}")  # the handshake succeeds, as on the venue ...
    legacy_q = await bclient.ws(f"/ws?listenKey={key}")
    private = await bclient.ws(f"/private/ws?listenKey={key}")
    try:
        await market_buy(bclient)
        await next_json(private, lambda m: m["e"] == "ACCOUNT_UPDATE")
        assert await frames_until_answer(legacy) == []  # ... and no user data ever comes
        assert await frames_until_answer(legacy_q) == []
        kinds = {c["route"]: c["kind"] for c in binance_sim.state()["connections"]}
        assert kinds == {"/": "market", "/private": "user"}  # only /private carries the account
    finally:
        for ws in (legacy, legacy_q, private):
            await ws.close()


async def test_private_events_filter_is_an_allow_list(
    bclient: BinanceTestClient, binance_sim: SimVenue
) -> None:
    key = await bclient.listen_key()
    only_orders = await bclient.ws(f"/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE")
    everything = await bclient.ws(f"/private/ws?listenKey={key}")
    with_expiry = await bclient.ws(f"/private/ws?listenKey={key}&events=ACCOUNT_UPDATE/listenKeyExpired")
    try:
        await market_buy(bclient)
        await next_json(everything, lambda m: m["e"] == "ACCOUNT_UPDATE")
        binance_sim.faults.expire_listen_keys()
        await next_json(everything, lambda m: m["e"] == "listenKeyExpired")
        got_orders = await frames_until_answer(only_orders)
        got_expiry = await frames_until_answer(with_expiry)
    finally:
        for ws in (only_orders, everything, with_expiry):
            await ws.close()
    assert names(got_orders) == {"ORDER_TRADE_UPDATE"}  # no TRADE_LITE, ACCOUNT_UPDATE, listenKeyExpired
    assert [f["e"] for f in got_expiry] == ["ACCOUNT_UPDATE", "listenKeyExpired"]


async def test_private_stream_carries_several_keys_with_their_events(
    bclient: BinanceTestClient, binance_sim: SimVenue
) -> None:
    other = binance_sim.add_account("second")
    key1 = await bclient.listen_key()
    status, _, body = await bclient.signed(
        "POST", "/fapi/v1/listenKey", api_key=other.api_key, secret=other.api_secret
    )
    assert status == 200
    key2 = body["listenKey"]
    ws = await bclient.ws(
        f"/private/stream?listenKey={key1}&events=ORDER_TRADE_UPDATE&listenKey={key2}&events=ACCOUNT_UPDATE"
    )
    ref = await bclient.ws(f"/private/ws?listenKey={key2}")
    try:
        await market_buy(bclient)
        await market_buy(bclient, other.api_key, other.api_secret)
        await next_json(ref, lambda m: m["e"] == "ACCOUNT_UPDATE")
        got = await frames_until_answer(ws)
    finally:
        await ws.close()
        await ref.close()
    by_key = {(f["stream"], f["data"]["e"]) for f in got}
    assert by_key == {(key1, "ORDER_TRADE_UPDATE"), (key2, "ACCOUNT_UPDATE")}


async def test_private_route_carries_no_market_data(
    bclient: BinanceTestClient, binance_sim: SimVenue
) -> None:
    key = await bclient.listen_key()
    private = await bclient.ws(f"/private/ws?listenKey={key}")
    ref = await bclient.ws("/market/ws/btcusdt@aggTrade")
    try:
        await private.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 1})
        assert await next_json(private) == {"result": None, "id": 1}
        await step_until(binance_sim, ref, "aggTrade")
        assert "aggTrade" not in names(await frames_until_answer(private))
    finally:
        await private.close()
        await ref.close()


async def test_unknown_listen_key_on_private_route_is_refused(bclient: BinanceTestClient) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await bclient.ws("/private/ws?listenKey=notakey&events=ORDER_TRADE_UPDATE")
    assert err.value.status == 400


# ---------------------------------------------------------------------------------- legacy mode


@pytest.fixture
async def legacy() -> AsyncIterator[BinanceTestClient]:
    async with (
        SimVenue(seed=5, step_interval=3600.0, legacy_urls=True) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield BinanceTestClient(sim, session)


async def test_legacy_urls_option_serves_every_route(legacy: BinanceTestClient) -> None:
    sim = legacy.sim
    key = await legacy.listen_key()
    user = await legacy.ws(f"/ws/{key}")
    mark = await legacy.ws("/ws/btcusdt@markPrice@1s")
    public = await legacy.ws("/public/ws/btcusdt@aggTrade")
    try:
        await market_buy(legacy)
        assert (await next_json(user))["e"] == "ORDER_TRADE_UPDATE"
        await step_until(sim, mark, "markPriceUpdate")
        await step_until(sim, public, "aggTrade")
    finally:
        for ws in (user, mark, public):
            await ws.close()
    routes = sim.state()["ws_routes"]
    assert routes == {"legacy_urls": True, "unrouted_connections": 0, "silent_subscriptions": 0}


def test_cli_legacy_urls_flag() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.sim", "binance-futures", "--port", "0", "--legacy-urls"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        with urllib.request.urlopen(info["rest"] + "/sim/state", timeout=5) as r:
            assert json.loads(r.read())["ws_routes"]["legacy_urls"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
