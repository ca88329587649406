"""The shared budget's Lua scripts against a real redis-server (never a fake: the atomicity of the
scripts is what is tested).

Most tests drive a fake venue clock (windows are keyed by the callers' venue time, so a fake clock
is honest here) and each ``FleetBudget`` is one node with its own connection; the concurrency and
starvation tests run on the real clock with short windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.core.net.fleet_budget import (
    ACQUIRE_LUA,
    FleetBudget,
    FleetBudgetExhausted,
    FleetBudgetSettings,
    Grant,
    account_scope,
    settings_from_config,
)
from adapters.testkit.redis_server import RedisServer

MINUTE = 60_000
# A venue time 20 s into a minute.
T0 = 1_900_000_000_000 - 1_900_000_000_000 % MINUTE + 20_000


class FakeClock:
    """Venue time in ms; sleeping advances it (and yields, so other nodes' tasks run)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now
        self.slept: list[float] = []

    def ms(self) -> int:
        return self.now

    async def sleep(self, secs: float) -> None:
        self.slept.append(secs)
        self.now += round(secs * 1000)
        await asyncio.sleep(0)


def real_ms() -> int:
    return time.time_ns() // 1_000_000


def node(
    server: RedisServer,
    prefix: str,
    *,
    clock: FakeClock | None = None,
    share: float = 0.9,
    limit: int | None = None,
    max_wait: float = 65.0,
    name: str = "n",
    **kwargs: Any,
) -> FleetBudget:
    settings = FleetBudgetSettings(
        host=server.host,
        port=server.port,
        key_prefix=prefix,
        share=share,
        limit=limit,
        max_wait_secs=max_wait,
    )
    if clock is not None:
        kwargs.setdefault("sleep", clock.sleep)
    return FleetBudget(settings, "binance:test", node_id=f"{name}-{uuid.uuid4().hex[:4]}", **kwargs)


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def nodes(*budgets: FleetBudget) -> Any:
    try:
        yield budgets
    finally:
        for b in budgets:
            await b.close()


# ----------------------------------------------------------------------------------- the window


async def test_window_fills_then_the_next_request_waits_for_the_roll(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = FakeClock()
    async with nodes(node(redis_server, prefix, clock=clock)) as (a,):
        assert a.cap(100) == 90  # the share is the safety margin
        g1 = await a.acquire("weight", 40, 100, MINUTE, clock.ms)
        g2 = await a.acquire("weight", 40, 100, MINUTE, clock.ms)
        assert g1 is not None and g2 is not None
        assert (g1.used_after, g2.used_after) == (40, 80)
        g3 = await a.acquire("weight", 40, 100, MINUTE, clock.ms)  # 120 > 90: waits for the roll
        assert g3 is not None
        roll = T0 - T0 % MINUTE + MINUTE
        assert clock.now == roll + a.roll_margin_ms  # one sleep, exactly to the roll (no polling)
        assert len(clock.slept) == 1
        assert g3.window_start_ms == roll and g3.used_after == 40
        assert a.metrics.grants == 3 and a.metrics.waits == 1
        assert await a.used("weight", MINUTE, T0) == 80


async def test_a_grant_at_the_end_of_a_window_is_charged_to_the_next_too(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = FakeClock(T0 - 20_000 + MINUTE - 100)  # 100 ms before the roll, inside edge_ms (200)
    async with nodes(node(redis_server, prefix, clock=clock)) as (a,):
        await a.acquire("weight", 30, 100, MINUTE, clock.ms)
        assert await a.used("weight", MINUTE, clock.now) == 30
        assert await a.used("weight", MINUTE, clock.now + 200) == 30  # it may arrive after the roll


async def test_a_weightless_request_passes_a_full_window_but_not_a_block(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = FakeClock()
    async with nodes(node(redis_server, prefix, clock=clock)) as (a,):
        await a.acquire("weight", 90, 100, MINUTE, clock.ms)
        assert await a.acquire("weight", 0, 100, MINUTE, clock.ms) is not None  # e.g. a new algo order
        assert clock.now == T0
        await a.block(a.global_block_key, T0 + 2_000, T0)
        assert await a.acquire("weight", 0, 100, MINUTE, clock.ms) is not None
        assert clock.now == T0 + 2_000 + a.roll_margin_ms


async def test_a_request_heavier_than_the_cap_waits_for_an_empty_window(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = FakeClock()
    async with nodes(node(redis_server, prefix, clock=clock)) as (a,):
        await a.acquire("weight", 1, 10, MINUTE, clock.ms)
        grant = await a.acquire("weight", 50, 10, MINUTE, clock.ms)  # clamped to the cap (9)
        assert grant is not None and grant.used_after == 9
        assert grant.window_start_ms == T0 - 20_000 + MINUTE


# ------------------------------------------------------------------------------- venue truth


async def test_venue_reported_weight_raises_the_count_never_lowers_it(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = FakeClock()
    async with nodes(node(redis_server, prefix, clock=clock)) as (a,):
        grant = await a.acquire("weight", 10, 100, MINUTE, clock.ms)
        assert grant is not None
        await a.observe(grant, 70, clock.now)  # someone outside the fleet used 60
        assert await a.used("weight", MINUTE, clock.now) == 70
        assert a.metrics.header_raises == 1
        await a.observe(grant, 50, clock.now)  # a late, lower report changes nothing
        assert await a.used("weight", MINUTE, clock.now) == 70
        # Across a roll a report is ambiguous (which window?): ignored.
        await a.observe(grant, 85, clock.now + MINUTE)
        assert await a.used("weight", MINUTE, clock.now) == 70
        assert await a.used("weight", MINUTE, clock.now + MINUTE) == 0
        # The raised count is what the next request is judged on: 70 + 25 > 90 waits.
        await a.acquire("weight", 25, 100, MINUTE, clock.ms)
        assert a.metrics.waits == 1


# -------------------------------------------------------------------------------- Retry-After


async def test_retry_after_seen_by_one_node_blocks_every_node(redis_server: RedisServer, prefix: str) -> None:
    clock = FakeClock()
    async with nodes(
        node(redis_server, prefix, clock=clock, name="a"), node(redis_server, prefix, clock=clock)
    ) as (
        a,
        b,
    ):
        await a.block(a.global_block_key, T0 + 7_000, T0)  # a got 429 with Retry-After: 7
        assert await b.blocked_until_ms() == T0 + 7_000
        grant = await b.acquire("weight", 1, 2400, MINUTE, clock.ms)
        assert grant is not None
        assert clock.now == T0 + 7_000 + b.roll_margin_ms  # slept once, to the end of the block
        assert b.metrics.waits == 1
        # A block only ever grows: a shorter Retry-After seen later does not shorten it.
        await b.block(b.global_block_key, clock.now + 60_000, clock.now)
        await a.block(a.global_block_key, clock.now + 1_000, clock.now)
        assert await a.blocked_until_ms() == clock.now + 60_000


async def test_a_block_longer_than_max_wait_fails_the_request_without_sending(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = FakeClock()
    async with nodes(node(redis_server, prefix, clock=clock, max_wait=5.0)) as (a,):
        await a.block(a.global_block_key, T0 + 3_600_000, T0)  # a 418 ban for an hour
        with pytest.raises(FleetBudgetExhausted) as info:
            await a.acquire("weight", 1, 2400, MINUTE, clock.ms)
        assert info.value.wait_secs > 3000
        assert clock.slept == []  # never waited: the wait was known to exceed the bound
        assert a.metrics.exhausted == 1
        await asyncio.sleep(0.05)  # the ticket's release runs in the background
        assert await queue_len(a, "weight") == 0


async def test_an_endpoint_block_blocks_only_that_bucket(redis_server: RedisServer, prefix: str) -> None:
    clock = FakeClock()
    async with nodes(node(redis_server, prefix, clock=clock)) as (a,):
        await a.block(a.block_key("acct:GET:/x"), T0 + 400, T0)
        await a.acquire("acct:GET:/y", 1, 5, 1_000, clock.ms, (a.block_key("acct:GET:/y"),))
        assert clock.now == T0
        await a.acquire("acct:GET:/x", 1, 5, 1_000, clock.ms, (a.block_key("acct:GET:/x"),))
        assert clock.now == T0 + 400 + a.roll_margin_ms


# ---------------------------------------------------------------------------- many nodes at once


async def test_concurrent_takers_never_exceed_the_cap(redis_server: RedisServer, prefix: str) -> None:
    """Four nodes, three tasks each, 1-3 weight per request on 250 ms windows of cap 20: every window's
    grants stay within the cap and every request is granted once."""
    window, cap = 250, 20
    budgets = [node(redis_server, prefix, share=1.0, name=f"n{i}", edge_ms=0) for i in range(4)]
    granted: list[Grant] = []

    async def taker(b: FleetBudget, seed: int) -> int:
        total = 0
        for i in range(6):
            w = 1 + (seed + i) % 3
            grant = await b.acquire("weight", w, cap, window, real_ms)
            assert grant is not None
            granted.append(Grant(grant.bucket, window, grant.window_start_ms, w))
            total += w
        return total

    async with nodes(*budgets):
        asked = await asyncio.gather(*(taker(b, i * 3 + j) for i, b in enumerate(budgets) for j in range(3)))
    per_window = Counter[int]()
    for g in granted:
        per_window[g.window_start_ms] += g.used_after  # here: the grant's own weight
    assert sum(per_window.values()) == sum(asked) == 144
    assert max(per_window.values()) <= cap, per_window
    assert len(per_window) >= 144 // cap  # the demand really was spread over windows


async def test_a_heavy_request_is_not_starved_by_a_stream_of_small_ones(
    redis_server: RedisServer, prefix: str
) -> None:
    """Without the queue, two nodes taking weight 1 as fast as they get it would keep a request of 8
    (cap 10) out of every window. With it, the 8 is served within two windows of asking."""
    window, cap = 500, 10
    small = [node(redis_server, prefix, share=1.0, name=f"s{i}", edge_ms=0) for i in range(2)]
    heavy = node(redis_server, prefix, share=1.0, name="heavy", edge_ms=0)
    stop = asyncio.Event()
    served = Counter[str]()

    async def hammer(b: FleetBudget) -> None:
        while not stop.is_set():
            await b.acquire("weight", 1, cap, window, real_ms)
            served[b.node_id] += 1

    async with nodes(*small, heavy):
        tasks = [asyncio.create_task(hammer(b)) for b in small for _ in range(4)]
        try:
            await asyncio.sleep(window * 2 / 1000)  # the small ones saturate the windows
            asked = real_ms()
            grant = await heavy.acquire("weight", 8, cap, window, real_ms)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    assert grant is not None
    # At most 8 small requests were queued before it (one per task): 8 + 8 > 10, so it goes in the
    # second window after asking at the latest.
    windows_later = (grant.window_start_ms - (asked - asked % window)) // window
    assert windows_later <= 2, windows_later
    assert all(n > 0 for n in served.values())  # and the small ones were served too


async def _queued_or_served(budget: FleetBudget, key: str, served: list[int]) -> int:
    return int(await budget._client().zcard(key)) + len(served)


async def _until(count: Callable[[], Awaitable[int]], want: int, within: float = 10.0) -> None:
    """Wait (with a deadline) until ``count()`` reaches ``want``."""
    deadline = asyncio.get_running_loop().time() + within
    while await count() < want:
        assert asyncio.get_running_loop().time() < deadline, f"never reached {want}"
        await asyncio.sleep(0.005)


async def test_five_nodes_queued_together_are_served_in_arrival_order(
    redis_server: RedisServer, prefix: str
) -> None:
    """Five nodes each need 40 of a cap of 90 in a spent window: each window serves the two that
    queued first, so every node is through within three windows and none is skipped."""
    clock = FakeClock()
    budgets = [node(redis_server, prefix, clock=clock, name=f"n{i}") for i in range(5)]
    order: list[int] = []

    async def recover(i: int) -> None:
        grant = await budgets[i].acquire("weight", 40, 100, MINUTE, clock.ms)
        assert grant is not None
        order.append(i)

    async with nodes(*budgets):
        await budgets[0].acquire("weight", 90, 100, MINUTE, clock.ms)  # the window is spent
        order.clear()
        tasks = []
        queue_key = budgets[0]._queue_keys("weight")[0]
        for i in range(5):
            tasks.append(asyncio.create_task(recover(i)))
            # Queued in this order: the next node starts once this one holds a ticket (or was served).
            await _until(lambda: _queued_or_served(budgets[0], queue_key, order), i + 1)
        await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    # Two per window: 0 and 1 after the first roll, 2 and 3 after the second, 4 after the third.
    assert clock.now < T0 - 20_000 + 4 * MINUTE


async def test_a_node_that_dies_while_queued_holds_nobody_back_for_long(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = FakeClock()
    async with nodes(
        node(redis_server, prefix, clock=clock, name="ghost"), node(redis_server, prefix, clock=clock)
    ) as (
        ghost,
        b,
    ):
        await b.acquire("weight", 90, 100, MINUTE, clock.ms)  # spent
        # The ghost queues for 80 and never comes back (no release: the process died).
        now = clock.now
        start = now - now % MINUTE
        keys = [ghost.used_key("weight", MINUTE, start), ghost.used_key("weight", MINUTE, start + MINUTE)]
        keys += [*ghost._queue_keys("weight"), ghost.global_block_key]
        args = [now, 80, 90, MINUTE, "ghost:1", 50, 200, 3000]
        granted, *_ = await ghost._run("acquire", ACQUIRE_LUA, keys, args)
        assert granted == 0
        grant = await b.acquire("weight", 20, 100, MINUTE, clock.ms)
        assert grant is not None
        # Behind the ghost for one roll at most: its ticket expired (deadline = its wake + grace).
        assert clock.now <= start + 2 * MINUTE + b.roll_margin_ms
        assert await queue_len(b, "weight") == 0


async def test_a_cancelled_wait_leaves_the_queue(redis_server: RedisServer, prefix: str) -> None:
    async with nodes(node(redis_server, prefix), node(redis_server, prefix)) as (a, b):
        now = real_ms()
        await a.acquire("weight", 90, 100, MINUTE, lambda: now)
        task = asyncio.create_task(b.acquire("weight", 10, 100, MINUTE, lambda: now))
        for _ in range(200):
            if await queue_len(a, "weight") == 1:
                break
            await asyncio.sleep(0.005)
        assert await queue_len(a, "weight") == 1
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for _ in range(200):
            if await queue_len(a, "weight") == 0:
                break
            await asyncio.sleep(0.005)
        assert await queue_len(a, "weight") == 0


# ------------------------------------------------------------------------------ Redis unavailable


async def test_redis_stopping_falls_back_to_the_local_limiter_and_reconnects(caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="adapters.core.fleet_budget")
    server = RedisServer().start()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    budget = node(server, prefix, retry_secs=0.2, socket_timeout=0.3)
    try:
        assert await budget.acquire("weight", 1, 2400, MINUTE, real_ms) is not None
        server.stop()
        t0 = time.monotonic()
        assert await budget.acquire("weight", 1, 2400, MINUTE, real_ms) is None  # local limiter decides
        assert time.monotonic() - t0 < 1.5
        assert await budget.acquire("weight", 1, 2400, MINUTE, real_ms) is None  # not retried yet
        assert not budget.available
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "falls back to its local rate limiter" in warnings[0].getMessage()
        assert (budget.metrics.outages, budget.metrics.fallbacks) == (1, 2)

        server = RedisServer(port=server.port).start()  # back (empty: the scripts must be reloaded)
        await asyncio.sleep(0.25)
        grant = await budget.acquire("weight", 3, 2400, MINUTE, real_ms)
        assert grant is not None and grant.used_after == 3
        assert budget.available
        assert any("is back" in r.getMessage() for r in caplog.records)
        assert budget.metrics.outages == 1
    finally:
        await budget.close()
        server.stop()


async def test_a_hung_redis_costs_one_timeout_then_the_local_limiter(caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.core.fleet_budget")
    server = RedisServer().start()
    budget = node(server, f"test-{uuid.uuid4().hex[:8]}", retry_secs=30.0, socket_timeout=0.3)
    assert server._proc is not None
    pid = server._proc.pid
    try:
        assert await budget.acquire("weight", 1, 2400, MINUTE, real_ms) is not None
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        assert await budget.acquire("weight", 1, 2400, MINUTE, real_ms) is None
        assert time.monotonic() - t0 < 1.0
        t1 = time.monotonic()
        for _ in range(10):  # no further timeouts: Redis is not asked again before retry_secs
            assert await budget.acquire("weight", 1, 2400, MINUTE, real_ms) is None
        assert time.monotonic() - t1 < 0.1
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    finally:
        os.kill(pid, signal.SIGCONT)
        await budget.close()
        server.stop()


# ------------------------------------------------------------------------------------ settings


def test_settings_validate_and_hide_the_password() -> None:
    s = FleetBudgetSettings(password="hunter2")
    assert "hunter2" not in repr(s)
    hash(s)
    for bad in ({"share": 0.0}, {"share": 1.5}, {"limit": 0}, {"max_wait_secs": 0}, {"key_prefix": "a{b}"}):
        with pytest.raises(ValueError):
            FleetBudgetSettings(**bad)  # type: ignore[arg-type]


def test_settings_from_config_default_to_nautilus_cache_defaults() -> None:
    from nautilus_trader.config import DatabaseConfig

    from adapters.binance_futures.config import BinanceFuturesExecClientConfig

    assert settings_from_config(BinanceFuturesExecClientConfig()) is None  # off by default
    cfg = BinanceFuturesExecClientConfig(fleet_budget_redis=DatabaseConfig(), fleet_budget_limit=1200)
    s = settings_from_config(cfg)
    assert s is not None
    assert (s.host, s.port, s.limit, s.share) == ("127.0.0.1", 6379, 1200, 0.9)
    with pytest.raises(ValueError):
        BinanceFuturesExecClientConfig(fleet_budget_redis=DatabaseConfig(), fleet_budget_share=2.0)


def test_account_scope_is_stable_and_does_not_reveal_the_key() -> None:
    key = "A" * 64
    assert account_scope(key) == account_scope(key) != account_scope("B" * 64)
    assert key[:8] not in account_scope(key)
    assert account_scope(None) == "ip"


async def queue_len(budget: FleetBudget, bucket: str) -> int:
    q, *_ = budget._queue_keys(bucket)
    return int(await budget._client().zcard(q))
