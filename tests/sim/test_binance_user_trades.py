"""``GET /fapi/v1/userTrades`` history limits as the venue documents them (Account Trade List,
USDS-M): 7-day default window, 7-day maximum span, fromId paging, fromId not with times, limit
500/1000, and the retention horizon. ``faults.age_history`` makes the trades look older."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.sim.bingx.client import BingxTestClient
from adapters.sim.server import SimVenue

DAY = 86_400_000
PATH = "/fapi/v1/userTrades"


def now_ms() -> int:
    return int(time.time() * 1000)


async def make_trades(bclient: Any, n: int = 3) -> list[dict[str, Any]]:
    for _ in range(n):
        status, _, _ = await bclient.signed(
            "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010"
        )
        assert status == 200
    status, _, rows = await bclient.signed("GET", PATH, symbol="BTCUSDT")
    assert status == 200 and len(rows) >= n
    return list(rows)


async def trades(bclient: Any, **params: Any) -> list[int]:
    status, _, rows = await bclient.signed("GET", PATH, symbol="BTCUSDT", **params)
    assert status == 200, rows
    return [r["id"] for r in rows]


async def error(bclient: Any, **params: Any) -> tuple[int, int]:
    status, _, body = await bclient.signed("GET", PATH, symbol="BTCUSDT", **params)
    return status, body["code"]


async def test_windows_and_paging(bclient: Any, binance_sim: SimVenue) -> None:
    rows = await make_trades(bclient)
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and ids == [t["trade_id"] for t in binance_sim.state()["trades"]]
    now = now_ms()
    # startTime alone: the 7 days from it; endTime alone: the 7 days up to it.
    assert await trades(bclient, startTime=now - 60_000) == ids
    assert await trades(bclient, startTime=now - 7 * DAY - 3_600_000) == []
    assert await trades(bclient, endTime=now + 60_000) == ids
    assert await trades(bclient, endTime=now - 8 * DAY) == []
    assert await trades(bclient, startTime=now + 1000 - 7 * DAY, endTime=now + 1000) == ids  # exactly 7d
    # Newest first without a start: limit keeps the most recent trades.
    assert await trades(bclient, limit=1) == ids[-1:]
    assert await trades(bclient, startTime=now - 60_000, limit=1) == ids[:1]
    # fromId pages forward, ascending.
    assert await trades(bclient, fromId=ids[0], limit=2) == ids[:2]
    assert await trades(bclient, fromId=ids[2]) == ids[2:]
    assert await trades(bclient, limit=5000) == ids  # capped at 1000, not refused


async def test_documented_refusals(bclient: Any, binance_sim: SimVenue) -> None:
    now = now_ms()
    assert await error(bclient, startTime=now - 8 * DAY, endTime=now) == (400, -1127)
    assert await error(bclient, startTime=now, endTime=now - 1000) == (400, -1023)
    assert await error(bclient, fromId=1, startTime=now - 1000) == (400, -1128)
    assert await error(bclient, fromId=1, endTime=now) == (400, -1128)
    assert await error(bclient, limit=-1) == (400, -1130)
    assert await error(bclient, startTime="yesterday") == (400, -1100)


async def test_aged_trades_and_the_history_horizon(bclient: Any, binance_sim: SimVenue) -> None:
    ids = [r["id"] for r in await make_trades(bclient, 2)]
    res = await bclient.control("/sim/history/age", {"ms": 8 * DAY})
    assert res == {"ok": True, "ms": 8 * DAY}
    assert await trades(bclient) == []  # older than the default 7 days now
    now = now_ms()
    assert await trades(bclient, startTime=now - 60_000, endTime=now + 60_000) == ids
    assert await trades(bclient, fromId=0) == ids  # within the 90-day horizon
    binance_sim.faults.age_history(91 * DAY)  # past the horizon: not served at all
    assert await trades(bclient, fromId=0) == []
    assert await trades(bclient, startTime=now - 60_000, endTime=now + 60_000) == []
    # The horizon is a setting; reset turns the ageing off.
    assert binance_sim.binance is not None
    binance_sim.binance.settings.trade_history_days = 100
    assert await trades(bclient, fromId=0) == ids
    binance_sim.faults.reset()
    assert binance_sim.faults.history_offset_ms == 0 and await trades(bclient) == ids
    async with bclient.session.post(f"{binance_sim.rest_url}/sim/history/age", json={"ms": -1}) as r:
        assert r.status == 400


@pytest.fixture
async def bingx() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=4, step_interval=3600.0) as venue:
        yield venue


async def test_bingx_fill_history_ages_too(bingx: SimVenue) -> None:
    path = "/openApi/swap/v2/trade/fillHistory"
    async with aiohttp.ClientSession() as session:
        client = BingxTestClient(
            bingx.rest_url, bingx.ws_market_url, bingx.api_key, bingx.api_secret, session
        )
        await client.ok(
            "POST",
            "/openApi/swap/v2/trade/order",
            symbol="ETH-USDT",
            side="BUY",
            positionSide="BOTH",
            type="MARKET",
            quantity="0.10",
        )
        fh = await client.ok("GET", path, symbol="ETH-USDT", endTs=now_ms() + 1000)
        assert fh["total"] >= 1
        bingx.faults.age_history(8 * DAY)
        fh = await client.ok("GET", path, symbol="ETH-USDT")
        assert fh == {"fill_history_orders": [], "total": 0}  # the venue keeps 7 days
