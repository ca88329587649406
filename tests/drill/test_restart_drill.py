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

# Seeds whose drill kills the node with an order in flight (the venue executes it while the node is
# down), and fires fills while it is down and while it starts up.
CASES = [("binance", 1), ("bingx", 10)]


@pytest.mark.parametrize(("venue", "seed"), CASES)
async def test_restart_drill(redis_server: Any, venue: str, seed: int) -> None:
    async with asyncio.timeout(90):
        result = await run_drill(venue, seed, redis_server)
    assert result.error is None, f"{result.error}\n{result.details}"
    assert result.trades_checked > 0
    assert result.fills_while_down > 0
    assert result.in_flight.split(":")[0] in ("marketable", "resting"), result.in_flight
    assert (result.lost, result.phantom, result.duplicated, result.inferred) == (0, 0, 0, 0), result.details
    assert (result.order_mismatches, result.position_mismatches) == (0, 0), result.details
    assert result.other_violations == {}, result.details
    assert result.ok, result.line()
