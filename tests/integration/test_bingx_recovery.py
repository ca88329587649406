"""End to end: a TradingNode with our BingX execution client against the BingX simulator, one test
per fault, each ending with the same oracle as Binance (``GET /sim/state``: every venue trade exactly
once as a fill in the node's cache, every order's final status and filled quantity match).

Fills are forced *inside* the fault window (key expired, socket dropped/stalled/aged out, REST
failing, events dropped, both sockets of an overlap rotation open), so a client that merely
reconnects - without backfilling fills and orders - fails these tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.core.net.stream import StreamHandle
from adapters.core.net.ws_connection import WsConnection
from adapters.testkit.node import SimNode

BTC = "BTC-USDT-PERP.BINGX"
SYMBOL = "BTC-USDT"

# Fast liveness and recovery so faults resolve in well under a second of real time.
FAST: dict[str, Any] = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
    "poll_interval_secs": 0.2,
    "healthy_timeout_secs": 2.0,
}


@pytest.fixture
async def env(request: Any) -> AsyncIterator[SimNode]:
    overrides = dict(FAST)
    overrides.update(getattr(request, "param", {}))
    async with SimNode(venue="bingx", seed=5, exec_config=overrides) as node:
        yield node


async def resting_buy(env: SimNode, qty: str = "0.0100", below: str = "0.95") -> Any:
    last = env.sim.engine.last_price(SYMBOL)
    price = (last * Decimal(below)).quantize(Decimal("0.1"))
    cid = env.strategy.limit(BTC, OrderSide.BUY, qty, str(price))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    return cid, price


def fill_resting(env: SimNode, price: Decimal) -> None:
    """Move the market through the resting buy: the venue fills it now."""
    env.sim.engine.set_price(SYMBOL, price - Decimal("10"))


def assert_oracle(report: Any) -> None:
    assert report.ok, report.details()
    assert report.venue_trades > 0


async def test_round_trip_place_cancel_and_market_fill(env: SimNode) -> None:
    cid, _price = await resting_buy(env)
    env.strategy.cancel(cid)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.CANCELED, what="canceled")
    market = env.strategy.market(BTC, OrderSide.BUY, "0.0150")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="market filled")
    assert_oracle(await env.wait_converged())
    client = env.bingx_client
    assert client.user_stream.ctx.metrics.runs == 0  # no fault, no recovery
    assert client.stream_handler.missing_last_fill == 0


async def test_listen_key_expiry_with_fill_during_rotation(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    # Slow REST so the rotation takes a while, then expire the key and fill while it rotates: the
    # fill is published on the expired key (lost to the stream) and must come from the backfill.
    env.sim.faults.set_latency(rest_ms=150)
    env.sim.faults.expire_listen_keys()
    await env.wait_until(lambda: env.bingx_client.user_stream.ctx.metrics.in_progress, what="rotation start")
    fill_resting(env, price)
    await env.wait_recoveries(1)
    env.sim.faults.set_latency(rest_ms=0)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
    assert_oracle(await env.wait_converged())
    keys = env.sim.state()["listen_keys"]
    assert [k["status"] for k in keys].count("active") == 1  # the new key; the old one expired


async def test_overlap_rotation_with_fill_while_both_sockets_are_open(env: SimNode) -> None:
    """A rotation's new socket is connected and healthy while the old one still runs: a fill made
    exactly then is pushed on *both* sockets and must reach the engine once."""
    client = env.bingx_client
    cid, price = await resting_buy(env)
    ops = client.stream_ops
    original = ops.connect_stream
    filled_in_window: list[bool] = []

    async def connect_then_fill(listen_key: str) -> StreamHandle:
        stream = await original(listen_key)
        await stream.wait_healthy()  # the venue has bound the new socket to the new key
        old = client.user_stream.ctx.stream
        assert isinstance(old, WsConnection) and isinstance(stream, WsConnection)
        assert old is not stream  # the old socket is still the live one
        before = (old.metrics.frames_in, stream.metrics.frames_in)
        fill_resting(env, price)
        # Both sockets receive the fill's frames before the rotation may close the old one.
        await env.wait_until(
            lambda: old.metrics.frames_in > before[0] and stream.metrics.frames_in > before[1],
            what="fill pushed on both sockets",
        )
        filled_in_window.append(True)
        return stream

    ops.connect_stream = connect_then_fill  # type: ignore[method-assign]
    client.user_stream.trigger.fire("scheduled rotation")
    await env.wait_recoveries(1)
    ops.connect_stream = original  # type: ignore[method-assign]
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="filled")
    assert filled_in_window == [True]
    assert_oracle(await env.wait_converged())
    assert client.facts.duplicates_dropped >= 1  # the same fill arrived on both sockets
    timing = client.user_stream.ctx.metrics.last_timing
    assert timing is not None and timing.healthy < 2.0
    assert ops.keys_retired == 1
    keys = env.sim.state()["listen_keys"]
    assert [k["status"] for k in keys].count("active") == 1  # the old key was deleted


@pytest.mark.parametrize("env", [{"keepalive_interval_secs": 0.1, "rotate_after_secs": 0.25}], indirect=True)
async def test_scheduled_overlap_rotations_with_fills_throughout(env: SimNode) -> None:
    client = env.bingx_client
    metrics = client.user_stream.ctx.metrics
    orders = []
    for i in range(4):
        cid, price = await resting_buy(env, below=f"0.9{5 - i}")
        orders.append((cid, price))
        await env.wait_recoveries(metrics.runs + 1)
        fill_resting(env, price)
    await env.wait_until(
        lambda: all(env.order(c).status == OrderStatus.FILLED for c, _ in orders), what="all filled"
    )
    assert metrics.runs >= 4
    assert all(t.healthy < 2.0 for t in metrics.history)
    assert_oracle(await env.wait_converged())


@pytest.mark.parametrize("env", [{"keepalive_interval_secs": 0.3}], indirect=True)
async def test_keepalive_failure_rotates(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    env.sim.faults.fail("PUT", "/openApi/user/auth/userDataStream", count=1, status=404)
    await env.wait_recoveries(1)
    fill_resting(env, price)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="filled")
    assert_oracle(await env.wait_converged())


async def test_abrupt_user_socket_drop_with_fill_in_gap(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    env.sim.faults.set_latency(rest_ms=100)
    env.sim.faults.drop_streams("user")
    fill_resting(env, price)  # published while no user socket exists
    await env.wait_recoveries(1)
    env.sim.faults.set_latency(rest_ms=0)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
    assert_oracle(await env.wait_converged())


async def test_connection_age_close(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    assert env.sim.faults.expire_connections("user") == 1
    fill_resting(env, price)
    await env.wait_recoveries(1)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="filled")
    assert_oracle(await env.wait_converged())


async def test_stalled_stream_is_detected_and_gap_backfilled(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    env.sim.faults.stall_streams("user", seconds=30)
    fill_resting(env, price)  # the stalled socket swallows this event
    await env.wait_recoveries(1)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
    assert_oracle(await env.wait_converged())


async def test_rest_failures_during_recovery_back_off_and_lose_nothing(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    env.sim.faults.fail("GET", "/openApi/swap/v2/trade/openOrders", count=2, status=500)
    env.sim.faults.fail("GET", "/openApi/swap/v3/user/balance", count=2, status=502)
    env.sim.faults.fail("GET", "/openApi/swap/v2/user/positions", count=2, status=503)
    env.sim.faults.fail("GET", "/openApi/swap/v2/trade/fillHistory", count=1, status=0)
    env.sim.faults.drop_streams("user")
    fill_resting(env, price)
    await env.wait_recoveries(1, within=20)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
    assert_oracle(await env.wait_converged())


async def test_duplicated_and_reordered_events(env: SimNode) -> None:
    env.sim.faults.set_user_events(duplicate=True, reorder=True)
    orders = []
    for _ in range(3):
        cid, price = await resting_buy(env, below="0.99")
        orders.append((cid, price))
    fill_resting(env, min(p for _, p in orders))
    market = env.strategy.market(BTC, OrderSide.SELL, "0.0050")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="market filled")
    await env.wait_until(
        lambda: all(env.order(c).status == OrderStatus.FILLED for c, _ in orders), what="all filled"
    )
    assert_oracle(await env.wait_converged())
    assert env.bingx_client.facts.duplicates_dropped > 0


@pytest.mark.parametrize("env", [{"audit_interval_secs": 0.3}], indirect=True)
async def test_dropped_events_on_a_healthy_stream_are_found_by_the_audit_poll(env: SimNode) -> None:
    """BingX loses events without any disconnect (and pushes nothing for some triggered stops):
    first every other event, then every event is lost for good; the socket stays healthy."""
    env.sim.faults.set_user_events(drop_ratio=0.5)
    orders = []
    for i in range(4):
        last = env.sim.engine.last_price(SYMBOL)
        price = (last * Decimal(f"0.9{8 - i}")).quantize(Decimal("0.1"))
        orders.append((env.strategy.limit(BTC, OrderSide.BUY, "0.0100", str(price)), price))
    await env.wait_until(
        lambda: all(env.order(c).status == OrderStatus.ACCEPTED for c, _ in orders), what="accepted"
    )
    env.sim.faults.set_user_events(drop_ratio=1.0)
    fill_resting(env, min(p for _, p in orders))
    market = env.strategy.market(BTC, OrderSide.SELL, "0.0200")
    await env.wait_until(
        lambda: all(env.order(c).status == OrderStatus.FILLED for c, _ in [*orders, (market, 0)]),
        what="all filled",
    )
    client = env.bingx_client
    assert env.sim.state()["faults"]["counters"].get("user_events_dropped", 0) > 0
    assert client.poller is not None
    # The poll's counter moves when a poll completes, after the fills it found were emitted: wait for
    # it rather than expect it at the moment the last fill lands.
    await env.wait_until(lambda: client.poller.polls > 0, what="an audit poll to complete")
    assert client.user_stream.ctx.metrics.runs == 0  # no reconnect involved
    assert_oracle(await env.wait_converged())


@pytest.mark.parametrize(
    "env", [{"recovery_backoff_initial_secs": 1.5, "recovery_backoff_cap_secs": 1.5}], indirect=True
)
async def test_rest_poll_failover_while_the_stream_cannot_reconnect(env: SimNode) -> None:
    """Reconnects are refused; between the (slow) recovery retries the poll keeps the node in sync."""
    client = env.bingx_client
    assert client.poller is not None
    cid, price = await resting_buy(env)
    env.sim.faults.refuse_streams("user")
    env.sim.faults.drop_streams("user")
    await env.wait_until(lambda: client.user_stream.ctx.metrics.failures >= 1, what="reconnect failing")
    polls = client.poller.polls
    fill_resting(env, price)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="filled by poll")
    assert client.user_stream.ctx.metrics.runs == 0  # the stream is still down: the poll did it
    await env.wait_until(lambda: client.poller is not None and client.poller.polls > polls, what="poll done")
    market = env.strategy.market(BTC, OrderSide.SELL, "0.0100")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="market filled")
    env.sim.faults.refuse_streams("user", on=False)
    await env.wait_recoveries(1)
    assert_oracle(await env.wait_converged())


async def test_ambiguous_submit_is_resolved_by_query_not_resent(env: SimNode) -> None:
    env.sim.faults.fail("POST", "/openApi/swap/v2/trade/order", count=1, status=503, after_execute=True)
    env.sim.faults.drop_streams("user")  # and the stream does not tell it either, for a moment
    cid = env.strategy.market(BTC, OrderSide.BUY, "0.0100")
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="resolved")
    venue_orders = [o for o in env.sim.state()["orders"] if o["client_order_id"] == cid.value.lower()]
    assert len(venue_orders) == 1  # never re-sent
    assert_oracle(await env.wait_converged())


async def test_rejection_carries_venue_reason(env: SimNode) -> None:
    last = env.sim.engine.last_price(SYMBOL)
    cid = env.strategy.limit(BTC, OrderSide.BUY, "0.0100", str(last * Decimal("1.02")), post_only=True)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.REJECTED, what="rejected")
    rejected = [e for e in env.strategy.received if type(e).__name__ == "OrderRejected"]
    assert rejected and "101215" in rejected[-1].reason
    assert rejected[-1].due_post_only
