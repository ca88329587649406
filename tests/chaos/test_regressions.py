"""Every invariant violation the chaos runner found, minimised, with its seed.

A test marked ``xfail(strict=True)`` documents a violation whose fix is in code owned elsewhere
(the marker says where); it turns into a failure (XPASS) the moment the fix lands, so the marker
is removed then and the test guards the fix.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide

from adapters.sim.oracle import check
from adapters.testkit.chaos import CHAOS_EXEC_CONFIG, run_schedule
from adapters.testkit.node import SimNode

BTC = "BTCUSDT-PERP.BINANCE"


def _node_wallet(env: SimNode) -> Decimal:
    assert env.node is not None
    account = env.node.cache.accounts()[0]
    usdt = next(c for c in account.currencies() if c.code == "USDT")
    return account.balance_total(usdt).as_decimal()


# Found by `python -m adapters.testkit.chaos --seeds 12`: seeds 1, 3, 4, 5, 7, 10, 11 (every other
# invariant held). A fill made while the user stream is down is backfilled by the recovery, but the
# ACCOUNT_UPDATE that carried the new wallet balance was not: the node's balance stayed stale until
# the next ACCOUNT_UPDATE, which might never come. Fixed: the recovery's post-snapshot phase re-reads
# GET /fapi/v2/account and emits the account state (adapters/binance_futures/venue_sync.py).


@pytest.mark.timeout(60)
async def test_balance_after_a_fill_in_a_stream_gap() -> None:
    """Minimal form: drop the user socket, a market order fills in the gap, the recovery backfills
    the fill — the wallet balance must follow."""
    async with SimNode(seed=4, step_interval=3600.0, exec_config=CHAOS_EXEC_CONFIG, log_level="ERROR") as env:
        metrics = env.exec_client.user_stream.ctx.metrics
        env.sim.faults.stall_streams("user", seconds=30)  # nothing reaches the node meanwhile
        cid = env.strategy.market(BTC, OrderSide.BUY, "0.005")
        await env.wait_until(
            lambda: metrics.runs >= 1 and not metrics.in_progress, within=15, what="recovery"
        )
        await env.wait_until(lambda: env.order(cid).is_closed, what="fill backfilled")
        venue = Decimal(env.sim.state()["accounts"]["default"]["wallet_balance"])
        assert venue < Decimal("100000")  # the fill paid a commission
        await env.wait_until(lambda: _node_wallet(env) == venue, within=5, what="balance to follow the venue")
        assert env.node is not None
        assert check(env.sim.state(), env.node.cache, avg_price=True, positions=True, balances=True).ok


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [4])
async def test_chaos_seed_stale_balance(seed: int) -> None:
    result = await run_schedule(seed)
    assert result.ok, "\n".join(result.violations)


# Found by `make chaos N=200` (seed 49, under load; the replay alone does not always hit it): a market
# order placed while the user socket was down filled on the venue, and the node kept it ACCEPTED with
# nothing filled — the fill was lost (lost=1, status/filled/position mismatches). Minimised to its
# race: recovery runs snapshot -> backfill -> connect (adapters/core/recovery.py, recover_once, lines
# ~336-355); an event the venue emits after the backfill's queries and before the new socket is
# connected reaches no socket and no query. Fix (adapters/core/recovery.py, owned elsewhere): connect
# the new stream (frames queued, not dispatched) *before* the backfill, or backfill again after the
# connect; the de-duplication in OrderFacts already makes the overlap harmless.
@pytest.mark.timeout(60)
async def test_fill_between_backfill_and_connect_is_not_lost() -> None:
    async with SimNode(
        seed=49, step_interval=3600.0, exec_config=CHAOS_EXEC_CONFIG, log_level="ERROR"
    ) as env:
        last = env.sim.engine.last_price("BTCUSDT")
        price = (last * Decimal("0.99")).quantize(Decimal("0.1"))
        cid = env.strategy.limit(BTC, OrderSide.BUY, "0.005", str(price))
        await env.wait_until(lambda: env.order(cid).is_open and env.order(cid).venue_order_id is not None)
        ops = env.exec_client.stream_ops
        connect = ops.connect_stream
        fired: list[bool] = []

        async def connect_after_a_fill(listen_key: str) -> object:
            if not fired:
                fired.append(True)  # the venue fills the order in the gap, deterministically
                env.sim.engine.set_price("BTCUSDT", price - Decimal("10"))
            return await connect(listen_key)

        ops.connect_stream = connect_after_a_fill  # type: ignore[method-assign]
        metrics = env.exec_client.user_stream.ctx.metrics
        env.sim.faults.drop_streams("user")
        await env.wait_until(
            lambda: metrics.runs >= 1 and not metrics.in_progress, within=15, what="recovery"
        )
        assert fired
        venue = {o["client_order_id"]: o["status"] for o in env.sim.state()["orders"]}
        assert venue[cid.value] == "FILLED"
        await env.wait_until(
            lambda: env.order(cid).is_closed, within=5, what="the gap's fill to reach the node"
        )
        assert env.node is not None
        assert check(env.sim.state(), env.node.cache).ok
