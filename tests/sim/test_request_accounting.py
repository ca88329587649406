"""Request accounting in ``/sim/state`` (``requests``): per endpoint request counts and Binance
request weight since the venue started, never reset, so tests assert on deltas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.sim.bingx.client import BingxTestClient
from adapters.sim.server import SimVenue
from tests.sim.binance_ws_calls import call


def endpoint(state: dict[str, Any], key: str) -> dict[str, int]:
    return dict(state["requests"]["by_endpoint"].get(key, {"requests": 0, "weight": 0}))


async def test_binance_requests_and_weight_deltas(
    bclient: Any, binance_sim: SimVenue, json_next: Any
) -> None:
    before = await bclient.control("/sim/state", method="GET")
    for _ in range(2):
        status, _, _ = await bclient.signed("GET", "/fapi/v1/openOrders", symbol="BTCUSDT")  # weight 1
        assert status == 200
    await bclient.signed("GET", "/fapi/v1/openOrders")  # weight 40 without a symbol
    await bclient.signed("GET", "/fapi/v2/account")  # weight 5
    async with bclient.session.get(f"{binance_sim.rest_url}/fapi/v1/nope") as r:
        assert r.status == 404
    ws = await bclient.ws("/ws-fapi/v1")
    assert (await call(ws, json_next, "ping"))["status"] == 200
    await ws.close()
    await bclient.control("/sim/reset-faults")  # does not reset the accounting
    after = await bclient.control("/sim/state", method="GET")
    open_orders = endpoint(after, "GET /fapi/v1/openOrders")
    was = endpoint(before, "GET /fapi/v1/openOrders")
    assert (open_orders["requests"] - was["requests"], open_orders["weight"] - was["weight"]) == (3, 42)
    assert endpoint(after, "GET /fapi/v2/account")["weight"] == 5
    assert endpoint(after, "other")["requests"] == 1
    assert endpoint(after, "WS ping") == {"requests": 1, "weight": 1}
    req_after, req_before = after["requests"], before["requests"]
    assert req_after["total_requests"] - req_before["total_requests"] == 6
    assert req_after["total_weight"] - req_before["total_weight"] == 42 + 5 + 1
    # The minute window is the rate limiter's (reset-faults cleared it).
    assert req_after["used_weight_1m"] == after["rate_limits"]["used_weight_1m"]


@pytest.fixture
async def bingx() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=4, step_interval=3600.0) as venue:
        yield venue


async def test_bingx_requests_per_endpoint(bingx: SimVenue) -> None:
    async with aiohttp.ClientSession() as session:
        client = BingxTestClient(
            bingx.rest_url, bingx.ws_market_url, bingx.api_key, bingx.api_secret, session
        )
        before = bingx.state()
        await client.ok("GET", "/openApi/swap/v2/trade/openOrders", symbol="BTC-USDT")
        await client.ok("GET", "/openApi/swap/v2/trade/openOrders", symbol="BTC-USDT")
        await client.public("/openApi/swap/v2/quote/depth", symbol="BTC-USDT", limit="5")
        after = bingx.state()
    key = "GET /openApi/swap/v2/trade/openOrders"
    assert endpoint(after, key)["requests"] - endpoint(before, key)["requests"] == 2
    assert endpoint(after, "GET /openApi/swap/v2/quote/depth")["requests"] == 1
    assert after["requests"]["total_weight"] == 0  # BingX counts requests, not weight
    assert after["requests"]["total_requests"] - before["requests"]["total_requests"] == 3


async def test_binance_rate_limit_window_refusals_and_weight_per_window_are_reported() -> None:
    """A shorter weight window (time compressed for tests) is announced like Binance announces the
    minute: in exchangeInfo and in the used-weight header's name. Refusals are counted."""
    sim = SimVenue(seed=2, step_interval=3600.0, rate_limit_weight=3, rate_limit_interval_secs=10)
    async with sim, aiohttp.ClientSession() as session:
        while time.time() % 10 > 8:  # noqa: ASYNC110  # all requests in one window
            await asyncio.sleep(0.05)
        async with session.get(f"{sim.rest_url}/fapi/v1/exchangeInfo") as r:
            info = await r.json()
            assert r.headers["X-MBX-USED-WEIGHT-10S"] == "1"
        (weight,) = [x for x in info["rateLimits"] if x["rateLimitType"] == "REQUEST_WEIGHT"]
        assert (weight["interval"], weight["intervalNum"], weight["limit"]) == ("SECOND", 10, 3)
        statuses = []
        for _ in range(4):
            async with session.get(f"{sim.rest_url}/fapi/v1/time") as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert 1 <= int(r.headers["Retry-After"]) <= 10
    rate = sim.state()["rate_limits"]
    assert statuses.count(429) >= 1 and rate["answered_429"] == statuses.count(429)
    assert rate["answered_418"] == 0 and rate["weight_interval_ms"] == 10_000
    assert sum(w for _, w in rate["weight_by_window"]) >= 5  # each window's count, refused ones too
