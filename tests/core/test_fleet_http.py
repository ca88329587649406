"""The venues' HTTP clients with a fleet budget, against the simulator and a real Redis: what one node
learns (a 429's Retry-After, the venue's weight count) holds for every node, and nodes sharing a BingX
account stay within its per-endpoint limit together."""

from __future__ import annotations

import asyncio
import time
import uuid

from adapters.binance_futures.errors import BinanceRateLimited
from adapters.binance_futures.factories import create_fleet_budget as binance_budget
from adapters.binance_futures.http import FLEET_WEIGHT_BUCKET, BinanceFuturesHttpClient
from adapters.bingx.factories import create_fleet_budget as bingx_budget
from adapters.bingx.http import BingxHttpClient
from adapters.core.client.exec_client import FLEET_RECOVERY_JITTER, user_stream_service
from adapters.core.net.fleet_budget import FleetBudgetSettings
from adapters.sim.server import SimVenue
from adapters.testkit.redis_server import RedisServer


def settings(server: RedisServer, **kwargs: object) -> FleetBudgetSettings:
    return FleetBudgetSettings(
        host=server.host, port=server.port, key_prefix=f"http-{uuid.uuid4().hex[:8]}", **kwargs
    )  # type: ignore[arg-type]


async def test_binance_retry_after_seen_by_one_node_holds_back_the_others(redis_server: RedisServer) -> None:
    async with SimVenue(seed=3, step_interval=3600.0) as sim:
        other = sim.add_account("other")
        shared = settings(redis_server)
        a = BinanceFuturesHttpClient(
            sim.rest_url, sim.api_key, sim.api_secret, max_retry_after_secs=0.0,
            fleet_budget=binance_budget(sim.rest_url, shared),
        )  # fmt: skip
        b = BinanceFuturesHttpClient(
            sim.rest_url, other.api_key, other.api_secret, fleet_budget=binance_budget(sim.rest_url, shared)
        )
        try:
            sim.faults.fail("GET", "/fapi/v2/account", count=1, status=429)  # Retry-After: 1
            t0 = time.monotonic()
            try:
                await a.account()
            except BinanceRateLimited as exc:
                assert exc.retry_after_secs == 1.0
            else:
                raise AssertionError("the 429 was not raised")
            sent = sim.state()["requests"]["by_endpoint"]["GET /fapi/v2/account"]["requests"]
            await b.account()  # another node: waits out the block instead of collecting a 429
            assert time.monotonic() - t0 >= 0.95
            assert b.fleet_budget is not None and b.fleet_budget.metrics.waits == 1
            assert sim.state()["requests"]["by_endpoint"]["GET /fapi/v2/account"]["requests"] == sent + 1
        finally:
            await a.close()
            await b.close()


async def test_binance_weight_window_and_outside_usage_come_from_the_venue(redis_server: RedisServer) -> None:
    async with SimVenue(seed=3, step_interval=3600.0, rate_limit_interval_secs=10) as sim:
        assert sim.binance is not None
        budget = binance_budget(sim.rest_url, settings(redis_server))
        http = BinanceFuturesHttpClient(sim.rest_url, sim.api_key, sim.api_secret, fleet_budget=budget)
        assert budget is not None
        try:
            info = await http.exchange_info()
            http.rate_limiter.set_limits_from_exchange_info(
                [(r.rateLimitType, r.interval, r.intervalNum, r.limit) for r in info.rateLimits]
            )
            assert http.rate_limiter.weight.interval_ms == 10_000
            assert http.rate_limiter.weight_header == "x-mbx-used-weight-10s"
            while time.time() % 10 > 7:  # noqa: ASYNC110  # not across a window roll
                await asyncio.sleep(0.05)
            sim.binance.limiter.add_weight(1000)  # another program on the IP
            await http.server_time()
            venue_used = sim.binance.limiter.used_weight()
            assert http.rate_limiter.used_weight_1m == venue_used  # the local tracker follows the header
            assert await budget.used(FLEET_WEIGHT_BUCKET, 10_000, http.now_ms()) == venue_used
            assert budget.metrics.header_raises == 1
        finally:
            await http.close()


async def test_bingx_nodes_on_one_account_share_its_endpoint_limit(redis_server: RedisServer) -> None:
    """Three nodes of one account, four balance queries each at once (BingX: 5/s per account and
    endpoint). Each node's own limiter allows five a second; together they are refused. With the
    fleet budget (4/s: 90% of 5) none is."""

    async def burst(fleet: FleetBudgetSettings | None) -> tuple[int, int]:
        async with SimVenue("bingx", seed=3, step_interval=3600.0) as sim:
            clients = [
                BingxHttpClient(
                    sim.rest_url,
                    sim.api_key,
                    sim.api_secret,
                    fleet_budget=bingx_budget(sim.rest_url, fleet) if fleet else None,
                )
                for _ in range(3)
            ]
            try:
                results = await asyncio.gather(
                    *(c.balance() for c in clients for _ in range(4)), return_exceptions=True
                )
            finally:
                for c in clients:
                    await c.close()
            failed = sum(isinstance(r, BaseException) for r in results)
            return sim.state()["rate_limits"]["refused"], failed

    refused, failed = await burst(None)
    assert refused > 0 and failed > 0  # the scenario has teeth
    assert await burst(settings(redis_server)) == (0, 0)


class _Config:
    recovery_backoff_initial_secs = 1.0
    recovery_backoff_cap_secs = 30.0
    recovery_backoff_reset_secs = 30.0
    http_timeout_secs = 5.0
    keepalive_interval_secs = 1800.0

    def __init__(self, fleet: bool, jitter: float | None = None, wait: float = 65.0) -> None:
        self.fleet_budget_redis = object() if fleet else None
        self.fleet_budget_max_wait_secs = wait
        self.recovery_backoff_jitter = jitter


def test_recovery_with_a_fleet_budget_waits_its_turn_and_retries_with_jitter() -> None:
    import logging

    def options(config: _Config) -> tuple[float, float]:
        service = user_stream_service(
            object(),  # type: ignore[arg-type]  # never called here
            config,  # type: ignore[arg-type]
            name="x",
            logger=logging.getLogger("tests.fleet"),
        )
        return service.ctx.options.op_timeout, service.ctx.options.retry_jitter

    assert options(_Config(fleet=False)) == (15.0, 0.0)  # a single node: as before
    assert options(_Config(fleet=True)) == (15.0 + 65.0, FLEET_RECOVERY_JITTER)
    assert options(_Config(fleet=True, jitter=0.0)) == (80.0, 0.0)
    assert options(_Config(fleet=False, jitter=0.3)) == (15.0, 0.3)


def test_the_shared_http_client_carries_the_fleet_budget_of_its_settings() -> None:
    from adapters.binance_futures.factories import get_cached_http_client as binance_http
    from adapters.bingx.factories import get_cached_http_client as bingx_http

    fleet = FleetBudgetSettings(key_prefix="factory-test")
    for get in (binance_http, bingx_http):
        url = f"http://127.0.0.1:{1 + (get is bingx_http)}"
        plain = get(url, "k", "s", 5.0, 5000)
        assert plain is get(url, "k", "s", 5.0, 5000, None)  # one cache key either way
        assert plain.fleet_budget is None  # off by default
        shared = get(url, "k", "s", 5.0, 5000, fleet)
        assert shared is get(url, "k", "s", 5.0, 5000, FleetBudgetSettings(key_prefix="factory-test"))
        assert shared.fleet_budget is not None and shared.fleet_budget.settings == fleet
        assert shared.fleet_budget.scope.endswith(url.removeprefix("http://"))


async def test_without_redis_requests_go_out_under_the_local_limiter(caplog: object) -> None:
    import logging

    from adapters.testkit.redis_server import _free_port

    caplog.set_level(logging.WARNING, logger="adapters.core.fleet_budget")  # type: ignore[attr-defined]
    nowhere = FleetBudgetSettings(host="127.0.0.1", port=_free_port(), key_prefix="nowhere")
    async with SimVenue(seed=3, step_interval=3600.0) as sim:
        http = BinanceFuturesHttpClient(
            sim.rest_url, sim.api_key, sim.api_secret, fleet_budget=binance_budget(sim.rest_url, nowhere)
        )
        try:
            t0 = time.monotonic()
            for _ in range(3):
                await http.server_time()
            assert time.monotonic() - t0 < 2.0  # never held up by the missing Redis
        finally:
            await http.close()
    assert http.fleet_budget is not None
    assert (http.fleet_budget.metrics.outages, http.fleet_budget.metrics.fallbacks) == (1, 3)
    records = caplog.records  # type: ignore[attr-defined]
    assert [r.levelname for r in records] == ["WARNING"]
    assert "falls back to its local rate limiter" in records[0].getMessage()
