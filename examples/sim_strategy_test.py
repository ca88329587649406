"""Template for your own strategy tests: a TradingNode with our execution client against the simulator,
a fault fired between two awaits, and the oracle checking the node against the venue's ground truth.

Copy this file into your test suite (pytest with ``pytest-asyncio``, ``asyncio_mode = "auto"``).
The docs' simulator guide shows it; ``tests/docs`` runs it.
"""

from __future__ import annotations

# --8<-- [start:test]
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.testkit.node import SimNode

BTC = "BTCUSDT-PERP.BINANCE"

# Liveness and recovery deadlines in fractions of a second, so faults resolve quickly in tests.
FAST = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
}


async def test_fill_while_listen_key_expired_is_not_lost() -> None:
    async with SimNode(seed=7, exec_config=FAST) as env:
        # A resting buy 5 % below the market (the simulator's market moves only when told to).
        last = env.sim.engine.last_price("BTCUSDT")
        price = (last * Decimal("0.95")).quantize(Decimal("0.1"))
        cid = env.strategy.limit(BTC, OrderSide.BUY, "0.010", str(price))
        await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")

        # The fault: the listen key expires, and the order fills while the stream is blind.
        env.sim.faults.expire_listen_keys()
        env.sim.faults.set_price("BTCUSDT", price - Decimal("10"))

        # The client rotates the key and backfills the fill it could not see.
        await env.wait_recoveries(1)
        await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="filled")

        # Ground truth: every venue trade is in the node exactly once, statuses match.
        report = await env.wait_converged()
        assert report.ok, report.details()
        assert report.venue_trades == 1


# --8<-- [end:test]
