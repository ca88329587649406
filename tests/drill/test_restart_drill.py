"""The short restart drill, in the default suite: one seeded drill per venue (``make restart-drill``
runs fifty). A node process with NautilusTrader's Redis cache is SIGKILLed during fills, more fills
land while it is down and while the restarted node reconciles, and the node must end exactly as the
venue's ground truth says (``adapters.testkit.restart_drill``). Needs a real redis-server: the
``redis_server`` fixture fails the test, never skips it, when Redis cannot start."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.testkit.restart_drill import run_drill

# Seeds whose drill kills the node with an order in flight and fires fills while it is down and while
# it starts up: the venue executes the held submit while the node is down (binance 1: it rests; bingx
# 10: it fills), or never does (binance 2: the restarted node must find out by querying).
CASES = [("binance", 1), ("binance", 2), ("bingx", 10)]


@pytest.mark.parametrize(("venue", "seed"), CASES)
async def test_restart_drill(redis_server: Any, venue: str, seed: int) -> None:
    async with asyncio.timeout(90):
        result = await run_drill(venue, seed, redis_server)
    assert result.error is None, f"{result.error}\n{result.details}"
    assert result.trades_checked > 0
    assert result.fills_while_down > 0
    assert result.in_flight.split(":")[0] in ("marketable", "resting", "never-executed"), result.in_flight
    if result.in_flight.startswith("never-executed"):
        assert result.resolved_by_query >= 1  # the startup sync asked the venue, which never had it
    assert (result.lost, result.phantom, result.duplicated, result.inferred) == (0, 0, 0, 0), result.details
    assert (result.order_mismatches, result.position_mismatches) == (0, 0), result.details
    assert result.other_violations == {}, result.details
    assert result.ok, result.line()
