"""End to end, both venues: defects found in review of the exactly-once guarantee, each against the
simulator's ground truth.

* An ambiguous submit (a cut connection) that the venue executes *later*, inside the request's
  recvWindow, is the truth: the order ends accepted, never rejected then filled. One that the venue
  can no longer execute (past its recvWindow) ends rejected with nothing on the venue.
* A venue that accepts every new user socket and drops it at once must not be hammered: recovery
  runs and request weight stay bounded (22 full rotations in 3 s before).
* Listen keys minted by failed recovery attempts are retired (BingX mints a new key per POST).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.testkit.node import SimNode

FAST = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
    # recvWindow 1 s: a late execution is possible for 1 s, "not found" is final 3 s after.
    "recv_window_ms": 1000,
}

BINANCE = ("binance-futures", "BTCUSDT-PERP.BINANCE", "BTCUSDT", "/fapi/v1/order", "0.010")
BINGX = ("bingx", "BTC-USDT-PERP.BINGX", "BTC-USDT", "/openApi/swap/v2/trade/order", "0.0100")
VENUES = [pytest.param(BINANCE, id="binance"), pytest.param(BINGX, id="bingx")]


@pytest.fixture(params=VENUES)
async def env(request: Any) -> AsyncIterator[tuple[SimNode, tuple[str, ...]]]:
    venue = request.param
    async with SimNode(venue=venue[0], seed=7, exec_config=FAST) as node:
        yield node, venue


def _client(env: SimNode) -> Any:
    return env.bingx_client if env.is_bingx else env.exec_client


def _venue_orders(env: SimNode, cid: Any) -> list[dict[str, Any]]:
    return [o for o in env.sim.state()["orders"] if o["client_order_id"].lower() == cid.value.lower()]


def _late(env: SimNode) -> list[dict[str, Any]]:
    return list(env.sim.state()["faults"]["late_executions"])


async def test_a_submit_the_venue_executes_late_is_accepted_not_rejected(
    env: tuple[SimNode, tuple[str, ...]],
) -> None:
    node, (_, iid, symbol, path, qty) = env
    node.sim.faults.fail("POST", path, count=1, status=0, execute_after_ms=600)  # cut, then executed
    price = node.sim.engine.last_price(symbol) * 9 / 10
    cid = node.strategy.limit(iid, OrderSide.BUY, qty, f"{price:.1f}")
    await node.wait_until(lambda: any(r["status"] == "executed" for r in _late(node)), what="late run")
    await node.wait_until(lambda: node.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    # Past the window in which the old resolver would have rejected it, it is still accepted.
    await node.wait_until(lambda: not _client(node).tracker.get(cid.value).ambiguous, what="resolved")
    assert node.order(cid).status == OrderStatus.ACCEPTED
    assert len(_venue_orders(node, cid)) == 1  # never re-sent
    assert not [e for e in node.order(cid).events if type(e).__name__ == "OrderRejected"]
    report = await node.wait_converged()
    assert report.ok, report.details()


async def test_a_submit_the_venue_can_no_longer_execute_is_rejected_with_nothing_live(
    env: tuple[SimNode, tuple[str, ...]],
) -> None:
    node, (_, iid, symbol, path, qty) = env
    node.sim.faults.fail("POST", path, count=1, status=0, execute_after_ms=2500)  # past recvWindow
    price = node.sim.engine.last_price(symbol) * 9 / 10
    cid = node.strategy.limit(iid, OrderSide.BUY, qty, f"{price:.1f}")
    await node.wait_until(lambda: node.order(cid).status == OrderStatus.REJECTED, within=15, what="rejected")
    await node.wait_until(lambda: any(r["status"] == "dropped" for r in _late(node)), what="dropped")
    assert _venue_orders(node, cid) == []


async def test_sockets_that_die_on_connect_do_not_make_recovery_spin(
    env: tuple[SimNode, tuple[str, ...]],
) -> None:
    node, _ = env
    ctx = _client(node).user_stream.ctx
    requests_before = node.sim.state()["requests"]["total_requests"]
    node.sim.faults.die_on_connect("user")
    node.sim.faults.drop_streams("user")
    loop_time = __import__("asyncio").get_running_loop().time
    start = loop_time()
    # Five seconds of every new user socket dying right after the handshake.
    await node.wait_until(lambda: loop_time() - start >= 5.0, within=10, what="5 s of dying sockets")
    # Binance completes runs whose socket then dies (paced by the kept backoff); BingX's overlap
    # rotation fails each attempt at once (the new socket never proves healthy) and retries with
    # the same backoff. Either way: attempts, not runs, are what cost a key, a snapshot, a backfill.
    attempts = ctx.metrics.attempts
    requests = node.sim.state()["requests"]["total_requests"] - requests_before
    node.sim.faults.die_on_connect("user", on=False)
    runs = ctx.metrics.runs
    await node.wait_until(lambda: ctx.metrics.runs > runs and not ctx.metrics.in_progress, what="recovered")
    # Backoff 0.05 s doubling to 0.4 s, kept across runs and attempts: ~15 attempts in 5 s at most.
    assert 2 <= attempts <= 18, attempts
    assert requests <= attempts * 12 + 12, (requests, attempts)  # a handful of REST calls each


async def test_keys_minted_by_failed_attempts_are_retired() -> None:
    async with SimNode(venue="bingx", seed=3, exec_config=FAST) as node:
        ctx = node.bingx_client.user_stream.ctx
        node.sim.faults.refuse_streams("user")
        node.sim.faults.drop_streams("user")
        await node.wait_until(lambda: ctx.metrics.failures >= 3, what="three failed attempts")
        node.sim.faults.refuse_streams("user", on=False)
        await node.wait_until(lambda: ctx.metrics.runs >= 1 and not ctx.metrics.in_progress, what="run")
        keys = node.sim.state()["listen_keys"]
        active = [k for k in keys if k["status"] == "active"]
        assert len(active) == 1, keys  # only the key in use: none left behind by failed attempts
        assert ctx.metrics.keys_retired_after_failure >= 3


@pytest.mark.parametrize(
    ("venue", "paths"),
    [
        ("binance-futures", ("/fapi/v1/openOrders", "/fapi/v2/positionRisk")),
        ("bingx", ("/openApi/swap/v2/trade/openOrders", "/openApi/swap/v2/user/positions")),
    ],
)
async def test_startup_reconciliation_survives_transient_failures(venue: str, paths: tuple[str, ...]) -> None:
    """One 503 on a report query used to fail the node's startup reconciliation (and the trader
    never started). Read-only queries are retried."""
    from adapters.sim.server import SimVenue

    async with SimVenue(venue, seed=3, step_interval=3600.0) as sim:
        for path in paths:
            sim.faults.fail("GET", path, count=1, status=503)
        async with SimNode(venue=venue, sim=sim, exec_config=FAST) as node:
            assert node.strategy.is_running
            by_endpoint = sim.state()["requests"]["by_endpoint"]
            for path in paths:  # each failed once, then answered on the retry
                assert by_endpoint[f"GET {path}"]["requests"] >= 2, by_endpoint
