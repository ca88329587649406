"""End to end: a TradingNode with our Binance execution client against the simulator, one test per
fault. Each ends with the oracle against ``GET /sim/state``: every venue trade appears exactly once
as a fill in the node's cache, and every order's final status and filled quantity match the venue's.

Fills are forced *inside* the fault window (while the key is expired, the socket is down or stalled,
the venue is failing REST calls), so a client that merely reconnects — without backfilling the gap —
fails these tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.testkit.node import SimNode

BTC = "BTCUSDT-PERP.BINANCE"

# Fast liveness and recovery so faults resolve in well under a second of real time.
FAST = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
}


@pytest.fixture
async def env(request: Any) -> AsyncIterator[SimNode]:
    overrides = dict(FAST)
    overrides.update(getattr(request, "param", {}))
    async with SimNode(seed=5, exec_config=overrides) as node:
        yield node


async def resting_buy(env: SimNode, qty: str = "0.010", below: str = "0.95") -> Any:
    last = env.sim.engine.last_price("BTCUSDT")
    price = (last * Decimal(below)).quantize(Decimal("0.1"))
    cid = env.strategy.limit(BTC, OrderSide.BUY, qty, str(price))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    return cid, price


def fill_resting(env: SimNode, price: Decimal) -> None:
    """Move the market through the resting buy: the venue fills it now."""
    env.sim.engine.set_price("BTCUSDT", price - Decimal("10"))


def assert_oracle(report: Any) -> None:
    assert report.ok, report.details()
    assert report.venue_trades > 0


async def test_round_trip_place_modify_cancel_and_fill(env: SimNode) -> None:
    cid, _price = await resting_buy(env)
    env.strategy.modify(cid, quantity="0.020")
    await env.wait_until(lambda: env.order(cid).quantity.as_decimal() == Decimal("0.020"), what="modified")
    env.strategy.cancel(cid)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.CANCELED, what="canceled")
    market = env.strategy.market(BTC, OrderSide.BUY, "0.015")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="market filled")
    assert_oracle(await env.wait_converged())
    assert env.exec_client.user_stream.ctx.metrics.runs == 0  # no fault, no recovery


async def test_batch_cancel(env: SimNode) -> None:
    cids = [(await resting_buy(env, below=b))[0] for b in ("0.95", "0.94", "0.93")]
    env.strategy.cancel_many(cids)
    await env.wait_until(
        lambda: all(env.order(c).status == OrderStatus.CANCELED for c in cids), what="batch canceled"
    )
    venue = {o["client_order_id"]: o["status"] for o in env.sim.state()["orders"]}
    assert [venue[c.value] for c in cids] == ["CANCELED"] * 3
    assert_oracle_statuses(await env.wait_converged())


def assert_oracle_statuses(report: Any) -> None:
    assert report.ok, report.details()


async def test_listen_key_expiry_with_fill_during_rotation(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    # Slow REST so the rotation takes a while, then expire the key and fill while it rotates: the
    # fill is published on the expired key (lost to the stream) and must come from the backfill.
    env.sim.faults.set_latency(rest_ms=150)
    env.sim.faults.expire_listen_keys()
    await env.wait_until(lambda: env.exec_client.user_stream.ctx.metrics.in_progress, what="rotation start")
    fill_resting(env, price)
    await env.wait_recoveries(1)
    env.sim.faults.set_latency(rest_ms=0)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
    assert_oracle(await env.wait_converged())
    keys = env.sim.state()["listen_keys"]
    assert [k["status"] for k in keys].count("active") == 1  # the rotated key, in use


async def test_listen_key_expired_event_with_string_time_and_repeats(env: SimNode) -> None:
    """Binance has sent ``E`` as a string, and repeated the event: one rotation, no crash."""
    handler = env.exec_client.stream_handler
    before = env.exec_client.user_stream.ctx.metrics.runs
    frame = b'{"e":"listenKeyExpired","E":"1693427319838","listenKey":"abc"}'
    handler.handle_frame(frame)
    handler.handle_frame(frame)
    handler.handle_frame(frame)
    await env.wait_recoveries(before + 1)
    cid, price = await resting_buy(env)
    fill_resting(env, price)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="filled after rotation")
    assert env.exec_client.user_stream.ctx.metrics.runs <= before + 2


@pytest.mark.parametrize("env", [{"keepalive_interval_secs": 0.3}], indirect=True)
async def test_keepalive_failure_rotates(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    env.sim.faults.fail("PUT", "/fapi/v1/listenKey", count=1, status=400, code=-1125)
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


async def test_24_hour_close(env: SimNode) -> None:
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


async def test_rest_failures_and_cut_connections_during_recovery(env: SimNode) -> None:
    cid, price = await resting_buy(env)
    # Every snapshot query fails twice, and the first trade backfill is cut without a response:
    # the driver must back off and retry until the venue answers, losing nothing.
    env.sim.faults.fail("GET", "/fapi/v1/openOrders", count=2, status=500)
    env.sim.faults.fail("GET", "/fapi/v1/openAlgoOrders", count=2, status=502)
    env.sim.faults.fail("GET", "/fapi/v1/userTrades", count=1, status=0)
    env.sim.faults.drop_streams("user")
    fill_resting(env, price)
    await env.wait_recoveries(1, within=20)
    metrics = env.exec_client.user_stream.ctx.metrics
    assert metrics.failures >= 2
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
    assert_oracle(await env.wait_converged())


async def test_one_symbols_fill_backfill_failing_is_retried_not_skipped(env: SimNode) -> None:
    """Chaos seed 23: the socket drops, an order fills in the gap, and the symbol's trade query fails
    during the recovery while the other backfill queries succeed. The rotation must not complete
    without that symbol's fills (nothing would fetch them again)."""
    cid, price = await resting_buy(env)
    env.sim.faults.fail("GET", "/fapi/v1/userTrades", count=3, status=500)
    env.sim.faults.drop_streams("user")
    fill_resting(env, price)
    await env.wait_recoveries(1, within=20)
    assert env.exec_client.user_stream.ctx.metrics.failures >= 1
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
    assert_oracle(await env.wait_converged())


async def test_duplicated_and_reordered_events(env: SimNode) -> None:
    env.sim.faults.set_user_events(duplicate=True, reorder=True)
    orders = []
    for _ in range(3):
        cid, price = await resting_buy(env, qty="0.010", below="0.99")
        orders.append((cid, price))
    fill_resting(env, min(p for _, p in orders))
    market = env.strategy.market(BTC, OrderSide.SELL, "0.005")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="market filled")
    await env.wait_until(
        lambda: all(env.order(c).status == OrderStatus.FILLED for c, _ in orders), what="all filled"
    )
    report = await env.wait_converged()
    assert_oracle(report)
    assert env.exec_client.facts.duplicates_dropped > 0


async def test_ambiguous_submit_is_resolved_by_query_not_resent(env: SimNode) -> None:
    # The venue executes the order but the response is a 503: the outcome is unknown to the client.
    env.sim.faults.fail("POST", "/fapi/v1/order", count=1, status=503, after_execute=True)
    env.sim.faults.drop_streams("user")  # and the stream does not tell it either, for a moment
    cid = env.strategy.market(BTC, OrderSide.BUY, "0.010")
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="resolved")
    venue_orders = [o for o in env.sim.state()["orders"] if o["client_order_id"] == cid.value]
    assert len(venue_orders) == 1  # never re-sent
    assert_oracle(await env.wait_converged())


async def test_rejection_carries_venue_reason(env: SimNode) -> None:
    last = env.sim.engine.last_price("BTCUSDT")
    # A post-only buy above the market would take: -5022, flagged as post-only.
    cid = env.strategy.limit(BTC, OrderSide.BUY, "0.010", str(last * Decimal("1.02")), post_only=True)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.REJECTED, what="rejected")
    rejected = [e for e in env.strategy.received if type(e).__name__ == "OrderRejected"]
    assert rejected and "-5022" in rejected[-1].reason
    assert rejected[-1].due_post_only


def _events(env: SimNode, kind: type, cid: Any) -> int:
    return sum(1 for e in env.strategy.received if isinstance(e, kind) and e.client_order_id == cid)


# Chaos Binance seed 966 (under load): a modify whose answer was lost and that the venue never
# executed left the engine's order PENDING_UPDATE; after its in-flight retries NautilusTrader resolved
# it as CANCELED while it still rested on the venue (venue NEW, node CANCELED: a live order the
# strategy no longer sees). The resolution now waits out the recvWindow, then rejects the modify.
@pytest.mark.timeout(60)
@pytest.mark.parametrize("env", [{"recv_window_ms": 1000}], indirect=True)
@pytest.mark.parametrize("executed", [False, True])
async def test_a_modify_whose_answer_was_lost_leaves_pending_update_either_way(
    env: SimNode, executed: bool
) -> None:
    from nautilus_trader.model.events import OrderModifyRejected, OrderUpdated

    cid, _price = await resting_buy(env)
    env.sim.faults.fail("PUT", "/fapi/v1/order", count=1, status=503, after_execute=executed)
    env.strategy.modify(cid, quantity="0.020")
    await env.wait_until(lambda: env.exec_client.resolutions["modify"] == 1, what="ambiguous modify")
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="modify resolved")
    await env.exec_client._side_tasks.join()
    venue = {o["client_order_id"]: o for o in env.sim.state()["orders"]}[cid.value]
    assert venue["status"] == "NEW"
    want = Decimal("0.020") if executed else Decimal("0.010")
    assert Decimal(venue["qty"]) == want and env.order(cid).quantity.as_decimal() == want
    assert _events(env, OrderUpdated, cid) == int(executed)
    assert _events(env, OrderModifyRejected, cid) == int(not executed)
