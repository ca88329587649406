"""End to end: the user data stream's listen key over the WebSocket API
(``user_stream_via_ws_api=True``): ``userDataStream.start/ping/stop`` on the trading socket instead of
``POST/PUT/DELETE /fapi/v1/listenKey``, with the same recovery driver, triggers and backfill.

The trading socket carries the key operations while it is READY; a request it could not send, or
whose answer it lost, goes over REST instead (the key is the account's one key whichever way it is
asked for, and start/ping are idempotent), so a dead trading socket never leaves the stream blind.
Each fault test checks what went over which path and ends with the oracle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.binance_futures.ws_trading import BinanceWsTradingClient, WsTradingState
from adapters.sim.server import SimVenue
from adapters.testkit.node import SimNode

BTC = "BTCUSDT-PERP.BINANCE"
SYMBOL = "BTCUSDT"

WS_API = {
    "user_stream_via_ws_api": True,
    "keepalive_interval_secs": 0.3,
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
    "recovery_backoff_reset_secs": 1.0,
    "ws_trading_ping_interval_secs": 0.1,
    "ws_trading_pong_timeout_secs": 0.3,
    "ws_trading_app_ping_interval_secs": 0.1,
    "ws_trading_request_timeout_secs": 2.0,
    "ws_trading_backoff_initial_secs": 0.02,
    "ws_trading_backoff_cap_secs": 0.1,
    "ws_trading_max_reconnect_attempts": 3,
}


@pytest.fixture
async def env(request: Any) -> AsyncIterator[SimNode]:
    overrides = dict(WS_API)
    overrides.update(getattr(request, "param", {}))
    async with SimNode(seed=21, exec_config=overrides) as node:
        yield node


def ws(env: SimNode) -> BinanceWsTradingClient:
    client = env.exec_client.ws_trading
    assert client is not None
    return client


def venue_requests(env: SimNode, key: str) -> int:
    return int(env.sim.dialect.requests.requests[key])


def rest_listen_key_calls(env: SimNode) -> int:
    return sum(venue_requests(env, f"{m} /fapi/v1/listenKey") for m in ("POST", "PUT", "DELETE"))


def runs(env: SimNode) -> int:
    return env.exec_client.user_stream.ctx.metrics.runs


def listen_key(env: SimNode) -> str | None:
    return env.exec_client.user_stream.ctx.listen_key


async def market_fill(env: SimNode, qty: str = "0.010") -> None:
    cid = env.strategy.market(BTC, OrderSide.BUY, qty)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="market filled")


async def test_the_listen_key_is_started_and_kept_alive_on_the_trading_socket(env: SimNode) -> None:
    assert venue_requests(env, "WS userDataStream.start") == 1
    await env.wait_until(lambda: venue_requests(env, "WS userDataStream.ping") >= 2, what="two keepalives")
    await market_fill(env)  # events reach the node on the key from the WS API
    assert rest_listen_key_calls(env) == 0
    assert env.exec_client.listen_key_ops.rest_fallbacks == 0
    assert not env.exec_client.route_orders_via_ws  # orders stay on REST unless use_ws_trading
    report = await env.wait_converged()
    assert report.ok, report.details()
    key = listen_key(env)
    await env.stop_node()
    assert venue_requests(env, "WS userDataStream.stop") == 1 and rest_listen_key_calls(env) == 0
    assert {k["status"] for k in env.sim.state()["listen_keys"]} == {"deleted"}
    assert key is not None


async def test_an_expired_key_is_rotated_over_the_ws_api_and_the_gap_backfilled(env: SimNode) -> None:
    metrics = env.exec_client.user_stream.ctx.metrics
    before = runs(env)
    env.sim.faults.refuse_streams("user")  # the gap stays open until the fill is on the venue
    env.sim.faults.expire_listen_keys()
    cid = env.strategy.market(BTC, OrderSide.BUY, "0.010")
    await env.wait_until(
        lambda: any(o["client_order_id"] == cid.value for o in env.sim.state()["orders"]), what="on venue"
    )
    env.sim.faults.refuse_streams("user", on=False)
    await env.wait_until(lambda: runs(env) > before and not metrics.in_progress, within=15, what="recovery")
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill backfilled")
    assert venue_requests(env, "WS userDataStream.start") >= 2 and rest_listen_key_calls(env) == 0
    await market_fill(env)  # and the new key's stream delivers
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_a_keepalive_refused_over_the_ws_api_triggers_the_recovery(env: SimNode) -> None:
    metrics = env.exec_client.user_stream.ctx.metrics
    before = runs(env)
    rule = env.sim.faults.fail("WS", "userDataStream.ping", count=1, status=400, code=-1125)
    await env.wait_until(lambda: rule.matched == 1, what="keepalive refused")
    await env.wait_until(lambda: runs(env) > before and not metrics.in_progress, within=15, what="recovery")
    assert "keepalive failed" in metrics.last_reasons
    assert env.exec_client.user_stream.keeper.metrics.failures >= 1
    assert rest_listen_key_calls(env) == 0
    await market_fill(env)
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_a_keepalive_whose_answer_the_cut_socket_lost_goes_over_rest_without_a_rotation(
    env: SimNode,
) -> None:
    before = runs(env)
    failures = env.exec_client.user_stream.keeper.metrics.failures
    rule = env.sim.faults.fail("WS", "userDataStream.ping", count=1, status=0)  # the socket is cut
    await env.wait_until(lambda: rule.matched == 1, what="ping cut")
    await env.wait_until(lambda: venue_requests(env, "PUT /fapi/v1/listenKey") == 1, what="REST keepalive")
    assert env.exec_client.listen_key_ops.rest_fallbacks == 1
    assert env.exec_client.user_stream.keeper.metrics.failures == failures  # the key was extended
    await env.wait_until(lambda: ws(env).is_ready, what="trading socket back")
    pings = venue_requests(env, "WS userDataStream.ping")
    await env.wait_until(lambda: venue_requests(env, "WS userDataStream.ping") > pings, what="WS again")
    assert runs(env) == before  # nothing to recover: the key never lapsed
    await market_fill(env)


async def test_the_trading_socket_dropping_during_user_data_stream_start_in_a_recovery(env: SimNode) -> None:
    metrics = env.exec_client.user_stream.ctx.metrics
    before = runs(env)
    rule = env.sim.faults.fail("WS", "userDataStream.start", count=1, status=0, after_execute=True)
    env.sim.faults.refuse_streams("user")
    env.sim.faults.drop_streams("user")
    cid = env.strategy.market(BTC, OrderSide.BUY, "0.010")
    await env.wait_until(
        lambda: any(o["client_order_id"] == cid.value for o in env.sim.state()["orders"]), what="on venue"
    )
    env.sim.faults.refuse_streams("user", on=False)
    await env.wait_until(lambda: runs(env) > before and not metrics.in_progress, within=15, what="recovery")
    assert rule.matched == 1
    assert venue_requests(env, "POST /fapi/v1/listenKey") == 1  # the lost answer was asked again on REST
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill backfilled")
    assert {k["status"] for k in env.sim.state()["listen_keys"]} == {"active"}  # still the one key
    await market_fill(env)
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_a_dead_trading_socket_never_leaves_the_stream_blind(env: SimNode) -> None:
    metrics = env.exec_client.user_stream.ctx.metrics
    env.sim.faults.refuse_streams("api")
    env.sim.faults.drop_streams("api")
    await env.wait_until(lambda: ws(env).state is WsTradingState.FALLBACK, what="trading socket gave up")
    puts = venue_requests(env, "PUT /fapi/v1/listenKey")
    await env.wait_until(lambda: venue_requests(env, "PUT /fapi/v1/listenKey") > puts, what="REST keepalive")
    before = runs(env)
    env.sim.faults.expire_listen_keys()
    await env.wait_until(lambda: runs(env) > before and not metrics.in_progress, within=15, what="recovery")
    assert venue_requests(env, "POST /fapi/v1/listenKey") >= 1
    await market_fill(env)
    env.sim.faults.refuse_streams("api", on=False)
    await env.wait_until(lambda: ws(env).is_ready, within=10, what="trading socket back")
    starts = venue_requests(env, "WS userDataStream.start")
    env.sim.faults.expire_listen_keys()
    await env.wait_until(
        lambda: venue_requests(env, "WS userDataStream.start") > starts and not metrics.in_progress,
        within=15,
        what="the next rotation over the WS API again",
    )
    report = await env.wait_converged()
    assert report.ok, report.details()


async def test_the_trading_socket_dropping_during_the_first_start_at_connect() -> None:
    async with SimVenue(seed=22, step_interval=3600.0) as sim:
        sim.faults.fail("WS", "userDataStream.start", count=1, status=0)
        async with SimNode(sim=sim, exec_config=WS_API) as env:
            assert listen_key(env) is not None
            assert venue_requests(env, "POST /fapi/v1/listenKey") == 1
            await market_fill(env)
            report = await env.wait_converged()
            assert report.ok, report.details()


@pytest.mark.parametrize("env", [{"use_ws_trading": True}], indirect=True)
async def test_with_ed25519_the_session_is_logged_on_and_orders_share_the_socket(env: SimNode) -> None:
    # SimNode's default credentials are HMAC: every request is signed; the Ed25519 variant below.
    assert env.exec_client.route_orders_via_ws
    cid = env.strategy.limit(
        BTC,
        OrderSide.BUY,
        "0.010",
        str((env.sim.engine.last_price(SYMBOL) * Decimal("0.9")).quantize(Decimal("0.1"))),
    )
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    methods = ws(env).metrics().requests_by_method
    assert methods["order.place"] == 1 and methods["userDataStream.start"] == 1
    assert rest_listen_key_calls(env) == 0


async def test_an_ed25519_key_logs_on_and_sends_the_key_requests_unsigned() -> None:
    async with SimVenue(seed=23, step_interval=3600.0) as sim:
        config = {**WS_API, "api_key": sim.ed25519_api_key, "api_secret": sim.ed25519_private_key_pem}
        async with SimNode(sim=sim, exec_config=config) as env:
            assert ws(env).logged_on
            assert venue_requests(env, "WS userDataStream.start") == 1 and rest_listen_key_calls(env) == 0
            await env.wait_until(lambda: venue_requests(env, "WS userDataStream.ping") >= 1, what="keepalive")
            await market_fill(env)
