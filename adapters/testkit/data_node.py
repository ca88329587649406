"""A DataEngine wired to our data client (Binance or BingX, by the simulator's venue) against an
in-process simulator (tests, tools).

    async with SimVenue(seed=5, step_interval=3600.0) as sim:
        async with DataHarness(sim) as h:
            h.execute(SubscribeQuoteTicks(...))           # through the DataEngine, like a strategy
            await h.wait_venue_streams({"btcusdt@bookTicker"})
            sim.engine.step()
            await h.wait_until(lambda: h.of_type(QuoteTick))

Everything a strategy would receive is captured from the message bus (``data.*`` topics).
Requests go through ``msgbus.request("DataEngine.request", ...)`` (the only way a response
reaches its callback) and :meth:`DataHarness.request` awaits the response.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.data.engine import DataEngine
from nautilus_trader.model.identifiers import TraderId

from adapters.binance_futures.config import BinanceFuturesDataClientConfig
from adapters.binance_futures.data import BinanceFuturesDataClient
from adapters.binance_futures.factories import BINANCE, BinanceFuturesLiveDataClientFactory
from adapters.bingx.config import BingxDataClientConfig
from adapters.bingx.data import BingxDataClient
from adapters.bingx.factories import BINGX, BingxLiveDataClientFactory
from adapters.sim.server import SimVenue

T = TypeVar("T")


def sim_data_config(sim: SimVenue, **overrides: Any) -> BinanceFuturesDataClientConfig:
    settings: dict[str, Any] = {
        "api_key": sim.api_key,
        "api_secret": sim.api_secret,
        "base_url_http": sim.rest_url,
        "base_url_ws": sim.ws_url,
        "instrument_provider": InstrumentProviderConfig(load_all=True),
        "http_timeout_secs": 5.0,
        "ws_backoff_initial_secs": 0.05,
        "ws_backoff_cap_secs": 0.2,
        "depth_resync_backoff_secs": 0.02,
    }
    settings.update(overrides)
    return BinanceFuturesDataClientConfig(**settings)


def sim_bingx_data_config(sim: SimVenue, **overrides: Any) -> BingxDataClientConfig:
    settings: dict[str, Any] = {
        "base_url_http": sim.rest_url,
        "base_url_ws": sim.ws_market_url,
        "instrument_provider": InstrumentProviderConfig(load_all=True),
        "http_timeout_secs": 5.0,
        "ws_backoff_initial_secs": 0.05,
        "ws_backoff_cap_secs": 0.2,
        "book_resync_backoff_secs": 0.02,
        "subscribe_timeout_secs": 5.0,
    }
    settings.update(overrides)
    return BingxDataClientConfig(**settings)


class DataHarness:
    def __init__(self, sim: SimVenue, **config: Any) -> None:
        self.sim = sim
        self.config: BinanceFuturesDataClientConfig | BingxDataClientConfig = (
            sim_bingx_data_config(sim, **config) if sim.bingx is not None else sim_data_config(sim, **config)
        )
        self.clock = LiveClock()
        self.msgbus = MessageBus(TraderId("TESTER-001"), self.clock)
        self.cache = Cache(database=None)
        self.engine = DataEngine(msgbus=self.msgbus, cache=self.cache, clock=self.clock)
        self.received: list[Any] = []
        self.msgbus.subscribe("data.*", self.received.append)
        self.client: Any = None

    async def __aenter__(self) -> DataHarness:
        loop = asyncio.get_running_loop()
        client: BinanceFuturesDataClient | BingxDataClient
        if isinstance(self.config, BingxDataClientConfig):
            client = BingxLiveDataClientFactory.create(
                loop, BINGX, self.config, self.msgbus, self.cache, self.clock
            )
        else:
            client = BinanceFuturesLiveDataClientFactory.create(
                loop, BINANCE, self.config, self.msgbus, self.cache, self.clock
            )
        self.client = client
        self.engine.register_client(client)
        self.engine.start()
        await client._connect()
        client._set_connected(True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        client = self.client
        await client._disconnect()
        await client.cancel_pending_tasks(timeout_secs=2.0)
        self.engine.stop()

    @property
    def c(self) -> BinanceFuturesDataClient:
        assert isinstance(self.client, BinanceFuturesDataClient), "a Binance simulator"
        return self.client

    @property
    def bx(self) -> BingxDataClient:
        assert isinstance(self.client, BingxDataClient), "a BingX simulator"
        return self.client

    # --- commands ----------------------------------------------------------------------------
    def execute(self, command: Any) -> None:
        """A subscribe/unsubscribe command through the DataEngine (as a strategy sends it)."""
        self.engine.execute(command)

    async def request(self, build: Callable[[Callable[[Any], None]], Any], within: float = 10.0) -> Any:
        """``build(callback)`` makes the request; it goes through the bus and its response is returned."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(response: Any) -> None:
            if not fut.done():
                fut.set_result(response)

        self.msgbus.request(endpoint="DataEngine.request", request=build(done))
        async with asyncio.timeout(within):
            return await fut

    # --- observation -------------------------------------------------------------------------
    def of_type(self, tp: type[T]) -> list[T]:
        return [x for x in self.received if isinstance(x, tp)]

    def venue_streams(self) -> set[str]:
        bingx = self.sim.bingx
        if bingx is not None:
            return {t for conn in self.sim.registry.select("market") for t in bingx.market.topics_of(conn)}
        binance = self.sim.binance
        assert binance is not None, "a Binance simulator"
        market = binance.market
        out: set[str] = set()
        for conn in self.sim.registry.select("market"):
            out.update(market.streams_of(conn))
        return out

    async def wait_venue_streams(self, streams: set[str], within: float = 5.0) -> None:
        await self.wait_until(lambda: streams <= self.venue_streams(), within, f"venue streams {streams}")

    async def wait_until(self, condition: Callable[[], Any], within: float = 5.0, what: str = "") -> None:
        """Poll a cheap condition on the loop (a condition, not a fixed sleep)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {within}s waiting for {what or condition}")
            await asyncio.sleep(0.005)
