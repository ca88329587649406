"""Five nodes on one IP recover from one network blip without a 429 (issue 13: several nodes per IP).

Five TradingNodes run in this process, each with its own account on ONE simulated Binance venue (one
IP: the simulator counts request weight for all of them together) and each with its own HTTP client,
fleet budget and Redis connection; the only things they share are the venue and the Redis, as nodes
on one host do. (Separate processes would add nothing the budget can see — it only ever talks to
Redis — but would hide the nodes' metrics and caches from the oracle and cost seconds of start-up.)

The simulator's weight window is 5 s instead of Binance's minute (its exchangeInfo says so and the
nodes take the window and its ``X-MBX-USED-WEIGHT-5S`` header from there, as they do the minute from
Binance), so that a storm straddles a window roll within the test's time. Just after a roll, other
software on the IP (``limiter.add_weight``) leaves less headroom than five recoveries need; then every
user stream is dropped and every node's resting order fills while it is blind.

Without the budget the same storm got HTTP 429s (answered_429 = 1-2 in the runs recorded in the
commit). With it: no 429/418, the window never exceeds the limit, the nodes learn the outside usage
from the venue's header, wait for the roll instead of sending, and every node recovers with its fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from decimal import Decimal
from typing import Any

from nautilus_trader.config import DatabaseConfig, StrategyConfig
from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.sim.oracle import check
from adapters.sim.server import SimVenue
from adapters.testkit.node import ScriptedStrategy, SimNode
from adapters.testkit.redis_server import RedisServer

NODES = 5
LIMIT = 2400  # the venue's weight limit per window (Binance USD-M's number)
WINDOW_SECS = 5
# Weight used by others on the IP when the storm starts: 400 of headroom is less than five
# recoveries need (about 110 each: listen key 1, open orders 40, open algo orders 40, trades 5 per
# symbol, the filled order 1, account 5), and the fleet's own cap (90%: 2160) leaves it 160.
OUTSIDE_WEIGHT = 2000
FAST = {"recovery_backoff_initial_secs": 0.05, "recovery_backoff_cap_secs": 0.5}
BTC = "BTCUSDT-PERP.BINANCE"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def test_five_nodes_recover_from_a_common_outage_within_the_shared_weight_budget(
    redis_server: RedisServer,
) -> None:
    fleet: dict[str, Any] = {
        "fleet_budget_redis": DatabaseConfig(host=redis_server.host, port=redis_server.port),
        "fleet_budget_key_prefix": f"storm-{uuid.uuid4().hex[:8]}",
    }
    async with SimVenue(
        seed=11, step_interval=3600.0, rate_limit_weight=LIMIT, rate_limit_interval_secs=WINDOW_SECS
    ) as sim:
        assert sim.binance is not None
        limiter = sim.binance.limiter
        accounts = [sim.add_account(f"node{i}") for i in range(NODES)]
        async with contextlib.AsyncExitStack() as stack:
            nodes: list[SimNode] = []
            for i, creds in enumerate(accounts):
                config = {**FAST, "api_key": creds.api_key, "api_secret": creds.api_secret, **fleet}
                strategy = ScriptedStrategy(StrategyConfig(strategy_id=f"NODE-{i:03d}"))
                nodes.append(
                    await stack.enter_async_context(SimNode(sim=sim, exec_config=config, strategy=strategy))
                )
            for env in nodes:
                http = env.exec_client._http
                assert http.fleet_budget is not None
                assert http.rate_limiter.weight.interval_ms == WINDOW_SECS * 1000  # from exchangeInfo

            price = (sim.engine.last_price("BTCUSDT") * Decimal("0.95")).quantize(Decimal("0.1"))
            orders = [env.strategy.limit(BTC, OrderSide.BUY, "0.010", str(price)) for env in nodes]
            for env, cid in zip(nodes, orders, strict=True):
                await env.wait_until(lambda env=env, cid=cid: env.order(cid).status == OrderStatus.ACCEPTED)
            runs = [env.exec_client.user_stream.ctx.metrics.runs for env in nodes]

            # Just after a roll: the storm and its wait for the next roll both happen in this test.
            async with asyncio.timeout(WINDOW_SECS + 1):
                while not 200 <= _now_ms() % limiter.interval_ms <= 1200:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            storm_window = _now_ms() - _now_ms() % limiter.interval_ms
            limiter.add_weight(max(0, OUTSIDE_WEIGHT - limiter.used_weight()))
            headroom = LIMIT - limiter.used_weight()
            before = sim.state()["requests"]["total_weight"]

            t0 = time.monotonic()
            assert sim.faults.drop_streams("user") == NODES
            sim.engine.set_price("BTCUSDT", price - Decimal("10"))  # every resting order fills, unseen
            recovered: dict[int, float] = {}

            async def recovery(i: int) -> None:
                await nodes[i].wait_recoveries(runs[i] + 1, within=3 * WINDOW_SECS + 10)
                recovered[i] = time.monotonic() - t0

            await asyncio.gather(*(recovery(i) for i in range(NODES)))

            state = sim.state()
            storm_weight = state["requests"]["total_weight"] - before
            rate = state["rate_limits"]
            windows = {start: used for start, used in rate["weight_by_window"] if start >= storm_window}
            budgets = [env.exec_client._http.fleet_budget.metrics for env in nodes]
            print(
                f"\nstorm: {storm_weight} weight for {NODES} recoveries, headroom {headroom} of {LIMIT}; "
                f"weight per {WINDOW_SECS}s window from the storm on: {list(windows.values())}; "
                f"recovered after {[round(recovered[i], 2) for i in range(NODES)]} s; "
                f"budget waits {[b.waits for b in budgets]} "
                f"header raises {[b.header_raises for b in budgets]}"
            )

            # The venue never refused anyone, and no window went over its limit.
            assert (rate["answered_429"], rate["answered_418"], rate["banned_until_ms"]) == (0, 0, 0)
            assert max(windows.values()) <= LIMIT, windows
            # The five recoveries together needed more than the window had left: the budget held
            # nodes back (it learnt the outside usage from the venue's header) until the roll.
            assert storm_weight > headroom
            assert sum(b.waits for b in budgets) >= 1
            assert sum(b.header_raises for b in budgets) >= 1
            assert all(b.fallbacks == 0 and b.exhausted == 0 for b in budgets)
            # Every node recovered, within the roll and a few seconds, and lost nothing.
            assert max(recovered.values()) < 2 * WINDOW_SECS + 5, recovered
            for env, creds, cid in zip(nodes, accounts, orders, strict=True):
                assert env.exec_client.user_stream.ctx.metrics.runs >= runs[nodes.index(env)] + 1
                await env.wait_until(lambda env=env, cid=cid: env.order(cid).status == OrderStatus.FILLED)
                assert env.node is not None
                report = check(sim.state(), env.node.cache, creds.account_id)
                assert report.ok and report.venue_trades == report.node_fills == 1, report.details()
