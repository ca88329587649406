"""End to end, both venues: every tracked order's filled quantity equals the venue's after a gap.

The scenario that broke the cursor-based backfill: the user socket is refused and dropped; during
the gap one buy takes more than the best ask holds (it partially fills and stays open, order A) and
a market buy fills and closes (order B, whose trade id is *later* than A's). The gap sync used to
resolve B first, move the symbol's trade cursor past A's trade, and never look at A again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
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
}

VENUES = [
    pytest.param(("binance-futures", "BTCUSDT-PERP.BINANCE", "BTCUSDT", Decimal("0.001")), id="binance"),
    pytest.param(("bingx", "BTC-USDT-PERP.BINGX", "BTC-USDT", Decimal("0.0001")), id="bingx"),
]


@pytest.fixture(params=VENUES)
async def env(request: Any) -> AsyncIterator[tuple[SimNode, str, str, Decimal]]:
    venue, iid, symbol, step = request.param
    async with SimNode(venue=venue, seed=5, exec_config=FAST) as node:
        yield node, iid, symbol, step


def _client(env: SimNode) -> Any:
    return env.bingx_client if env.is_bingx else env.exec_client


def _venue_order(env: SimNode, cid: Any) -> dict[str, Any]:
    """The venue's view of one order (``{}`` until the venue has it)."""
    orders = [o for o in env.sim.state()["orders"] if o["client_order_id"].lower() == cid.value.lower()]
    return orders[0] if orders else {}


async def _gap(env: SimNode) -> None:
    """Refuse and drop the user socket; wait until the client knows it is down."""
    metrics = _client(env).user_stream.ctx.metrics
    env.sim.faults.refuse_streams("user")
    env.sim.faults.drop_streams("user")
    await env.wait_until(lambda: metrics.failures >= 1, what="a failed reconnect")


async def test_partial_fill_of_an_open_order_and_a_later_fill_in_one_gap(
    env: tuple[SimNode, str, str, Decimal],
) -> None:
    node, iid, symbol, step = env
    best_ask, ask_qty = node.sim.engine.book(symbol, 5).asks[0]
    await _gap(node)
    a = node.strategy.limit(iid, OrderSide.BUY, str(ask_qty * 2), str(best_ask))
    await node.wait_until(
        lambda: _venue_order(node, a).get("status") == "PARTIALLY_FILLED",
        what="A partially filled on the venue",
    )
    b = node.strategy.market(iid, OrderSide.BUY, str(step * 20))
    await node.wait_until(
        lambda: _venue_order(node, b).get("status") == "FILLED", what="B filled on the venue"
    )
    node.sim.faults.refuse_streams("user", on=False)

    report = await node.wait_converged(within=10)
    assert report.ok, report.details()
    venue_a = Decimal(_venue_order(node, a)["executed_qty"])
    assert 0 < venue_a < ask_qty * 2
    assert node.order(a).status == OrderStatus.PARTIALLY_FILLED
    assert node.order(a).filled_qty.as_decimal() == venue_a
    assert node.order(b).status == OrderStatus.FILLED
    tracked = _client(node).tracker.get(a.value)
    assert tracked is not None and tracked.filled == tracked.venue_filled == venue_a
