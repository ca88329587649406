"""Shared fixtures. ``binance_sim`` is a simulated Binance USD-M venue whose market moves only
when a test steps it; ``bclient`` signs REST calls and opens websockets against it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
import pytest
import yarl

from adapters.sim.server import SimVenue


class BinanceTestClient:
    def __init__(self, sim: SimVenue, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session

    @staticmethod
    def hmac_sign(secret: str, payload: str) -> str:
        return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    def signed_query(self, params: dict[str, Any], secret: str | None = None) -> str:
        params = {"timestamp": int(time.time() * 1000), **params}
        query = urlencode(params)
        return query + "&signature=" + self.hmac_sign(secret or self.sim.api_secret, query)

    async def signed(
        self, method: str, path: str, *, api_key: str | None = None, secret: str | None = None, **params: Any
    ) -> tuple[int, Any, Any]:
        query = self.signed_query(params, secret)
        headers = {"X-MBX-APIKEY": api_key or self.sim.api_key}
        # encoded=True: send the query exactly as signed (yarl would otherwise re-quote it).
        url = yarl.URL(f"{self.sim.rest_url}{path}?{query}", encoded=True)
        async with self.session.request(method, url, headers=headers) as r:
            return r.status, r.headers, msgspec.json.decode(await r.read())

    async def public(self, path: str, **params: Any) -> tuple[int, Any, Any]:
        async with self.session.get(f"{self.sim.rest_url}{path}", params=params) as r:
            return r.status, r.headers, msgspec.json.decode(await r.read())

    async def control(self, path: str, body: Any = None, method: str = "POST") -> Any:
        async with self.session.request(method, f"{self.sim.rest_url}{path}", json=body) as r:
            data = msgspec.json.decode(await r.read())
            assert r.status == 200, data
            return data

    async def listen_key(self) -> str:
        status, _, body = await self.signed("POST", "/fapi/v1/listenKey")
        assert status == 200, body
        return str(body["listenKey"])

    async def ws(self, path: str, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        return await self.session.ws_connect(f"{self.sim.ws_url}{path}", **kwargs)

    async def wait_user_sockets(self, n: int = 1) -> None:
        await wait_until(lambda: sum(1 for c in self.sim.registry.select("user")) >= n)


async def next_json(
    ws: aiohttp.ClientWebSocketResponse,
    predicate: Callable[[Any], bool] = lambda m: True,
    within: float = 5.0,
) -> Any:
    """The next text frame matching ``predicate`` (others are skipped)."""
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket ended: {msg.type} {msg.data!r}")
            data = msgspec.json.decode(msg.data)
            if predicate(data):
                return data


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Yield to the loop until ``condition`` holds (a condition, not a fixed sleep): the
    conditions are plain venue state with no event to await."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


@pytest.fixture
async def binance_sim() -> AsyncIterator[SimVenue]:
    async with SimVenue(seed=5, step_interval=3600.0) as sim:
        yield sim


@pytest.fixture
async def bclient(binance_sim: SimVenue) -> AsyncIterator[BinanceTestClient]:
    async with aiohttp.ClientSession() as session:
        yield BinanceTestClient(binance_sim, session)


@pytest.fixture
def json_next() -> Callable[..., Any]:
    return next_json


@pytest.fixture
def until() -> Callable[..., Any]:
    return wait_until


@pytest.fixture(scope="session")
def redis_server() -> Any:
    """A real redis-server on a free loopback port (NautilusTrader's cache backend). A test that needs
    it fails - never skips - when it cannot start: restart safety is part of what we ship."""
    from adapters.testkit.redis_server import RedisServer, RedisUnavailable

    try:
        server = RedisServer().start()
    except RedisUnavailable as exc:
        pytest.fail(f"Redis is required for this test: {exc}")
    try:
        yield server
    finally:
        server.stop()
