"""``POST /sim/bench/storm`` (``adapters.sim.bench_storm``, the end-to-end benchmark's feed): each
frame is named by the one value the storm varies, the stamps come back in order, and depth storms
continue the venue's update-id chain so a later REST snapshot agrees with the diffs sent."""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal
from typing import Any

import aiohttp

from adapters.sim.server import SimVenue


async def _subscribed(sim: SimVenue, name: str) -> None:
    assert sim.binance is not None
    for _ in range(400):
        if sim.binance.market._subs.get(name):
            return
        await asyncio.sleep(0.005)
    raise TimeoutError(name)


async def _storm(session: aiohttp.ClientSession, sim: SimVenue, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(sim.rest_url + "/sim/bench/storm", json=body) as resp:
        return dict(await resp.json())


async def test_quote_storm_names_every_frame_by_its_bid_size() -> None:
    async with SimVenue(seed=5, step_interval=3600.0) as sim, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{sim.ws_url}/public/stream?streams=btcusdt@bookTicker")
        await _subscribed(sim, "btcusdt@bookTicker")
        res = await _storm(
            session, sim, {"kind": "quotes", "symbol": "BTCUSDT", "rate": 1000, "seconds": 0.03}
        )
        assert res["ok"] and res["sent"] == 30 and res["first_key"] == 1
        assert len(res["stamps"]) == 30 and res["stamps"] == sorted(res["stamps"])
        sizes = [Decimal(json.loads((await ws.receive(timeout=5)).data)["data"]["B"]) for _ in range(30)]
        assert sizes == [Decimal("0.001") * i for i in range(1, 31)]
        await ws.close()


async def test_depth_storm_continues_the_chain_and_the_snapshot_agrees() -> None:
    async with SimVenue(seed=5, step_interval=3600.0) as sim, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{sim.ws_url}/public/stream?streams=btcusdt@depth@100ms")
        await _subscribed(sim, "btcusdt@depth@100ms")
        async with session.get(sim.rest_url + "/fapi/v1/depth?symbol=BTCUSDT&limit=1000") as resp:
            before = await resp.json()
        res = await _storm(
            session, sim, {"kind": "depth", "symbol": "BTCUSDT", "rate": 1000, "seconds": 0.02}
        )
        assert res["ok"] and res["sent"] == 20
        diffs = [json.loads((await ws.receive(timeout=5)).data)["data"] for _ in range(20)]
        assert diffs[0]["pu"] == before["lastUpdateId"]
        assert all(b["pu"] == a["u"] for a, b in itertools.pairwise(diffs))
        async with session.get(sim.rest_url + "/fapi/v1/depth?symbol=BTCUSDT&limit=1000") as resp:
            after = await resp.json()
        assert after["lastUpdateId"] == diffs[-1]["u"]
        price, qty = diffs[-1]["b"][0]
        assert [price, qty] in after["bids"]
        await ws.close()


async def test_a_storm_without_subscribers_says_so() -> None:
    async with SimVenue(seed=5, step_interval=3600.0) as sim, aiohttp.ClientSession() as session:
        res = await _storm(session, sim, {"kind": "trades", "symbol": "BTCUSDT", "rate": 100, "seconds": 0.1})
        assert res["ok"] is False and "no socket" in res["error"]
