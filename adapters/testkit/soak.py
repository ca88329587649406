"""Soak: a time-scaled week of user-stream rotations, checking that nothing accumulates.

Time is scaled so that one simulated hour lasts ``hour_secs`` real seconds (default 2 s): listen keys
live one "hour" and are kept alive every half "hour", connections are closed by the venue at 24
"hours", and every ``fault_every`` (30) "hours" a random user-stream fault (socket drop, listen-key
expiry, stall, keepalive rejection) forces an extra rotation — rarely enough that connections also
live to their 24-hour close in between. Meanwhile the strategy trades a little every "hour"
(rests two orders, cancels one, the market moves through some).

Every "hour" the process RSS and the number of live asyncio tasks are sampled. Required flat: after
the first simulated day (warm-up: caches, connection pools), RSS may not grow more than
``rss_budget_mib`` and the task count at the end may not exceed the day-1 maximum. The oracle is
checked at the end (every venue trade exactly once, statuses, positions, balances).

    python -m adapters.testkit.chaos --soak [--days 7] [--hour-secs 2]
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.sim.oracle import OracleReport
from adapters.testkit.chaos import SYMBOLS, full_check
from adapters.testkit.node import SimNode


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Sample:
    hour: int
    rss_mib: float
    tasks: int
    recoveries: int


@dataclass
class SoakResult:
    days: float
    hour_secs: float
    samples: list[Sample] = field(default_factory=list)
    faults: int = 0
    recoveries: int = 0
    report: OracleReport | None = None
    rss_budget_mib: float = 20.0
    seconds: float = 0.0

    def _day1(self) -> list[Sample]:
        return [s for s in self.samples if s.hour <= 24] or self.samples[:1]

    @property
    def rss_growth(self) -> float:
        if not self.samples:
            return 0.0
        return self.samples[-1].rss_mib - self._day1()[-1].rss_mib

    @property
    def task_growth(self) -> int:
        if not self.samples:
            return 0
        return self.samples[-1].tasks - max(s.tasks for s in self._day1())

    @property
    def ok(self) -> bool:
        return (
            self.report is not None
            and self.report.ok
            and self.rss_growth <= self.rss_budget_mib
            and self.task_growth <= 0
        )

    def render(self) -> str:
        lines = [
            "",
            f"== soak: {self.days:g} simulated days, 1 h = {self.hour_secs:g} s ==",
            "day  RSS MiB  live tasks  recoveries",
        ]
        for s in self.samples:
            if s.hour % 24 == 0 or s is self.samples[-1]:
                lines.append(f"{s.hour / 24:4.1f} {s.rss_mib:8.1f} {s.tasks:11d} {s.recoveries:11d}")
        tasks = [s.tasks for s in self.samples]
        lines += [
            f"faults fired            {self.faults}",
            f"recoveries              {self.recoveries}",
            f"RSS after day 1 -> end  {self.rss_growth:+.1f} MiB (budget {self.rss_budget_mib:g})",
            f"live tasks min/max/end  {min(tasks, default=0)}/{max(tasks, default=0)}/"
            f"{tasks[-1] if tasks else 0}"
            f" (end - day-1 max = {self.task_growth:+d})",
            f"oracle                  {self.report.summary() if self.report else 'not run'}",
            f"wall time               {self.seconds:.0f} s",
            "RESULT: " + ("OK — flat" if self.ok else "FAIL"),
        ]
        return "\n".join(lines)


async def soak(days: float = 7.0, hour_secs: float = 2.0, seed: int = 1, fault_every: int = 30) -> SoakResult:
    result = SoakResult(days, hour_secs)
    started = time.monotonic()
    exec_config = {
        "ws_ping_interval_secs": max(0.2, hour_secs / 4),
        "ws_pong_timeout_secs": max(0.6, hour_secs / 2),
        "ws_stall_timeout_secs": max(1.5, hour_secs),
        "keepalive_interval_secs": hour_secs / 2,
        "recovery_backoff_initial_secs": 0.05,
        "recovery_backoff_cap_secs": max(0.4, hour_secs / 4),
    }
    rng = random.Random(seed)
    async with SimNode(
        seed=seed,
        listen_key_ttl=hour_secs,
        max_connection_age=24 * hour_secs,
        step_interval=3600.0,
        exec_config=exec_config,
        log_level="ERROR",
    ) as env:
        metrics = env.exec_client.user_stream.ctx.metrics
        faults = env.sim.faults
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for hour in range(1, int(days * 24) + 1):
            # Trade a little: two resting orders, a cancel, a small move through some of them.
            symbol = rng.choice(list(SYMBOLS))
            iid, (lo, _hi), tick = SYMBOLS[symbol]
            last = env.sim.engine.last_price(symbol)
            qty = str(Decimal(lo) / 1000)
            buy = env.strategy.limit(iid, OrderSide.BUY, qty, str((last * Decimal("0.998")).quantize(tick)))
            env.strategy.limit(iid, OrderSide.SELL, qty, str((last * Decimal("1.002")).quantize(tick)))
            if hour % fault_every == 0:
                kind = rng.choice(["drop", "expire", "stall", "keepalive"])
                if kind == "drop":
                    faults.drop_streams("user")
                elif kind == "expire":
                    faults.expire_listen_keys()
                elif kind == "stall":
                    faults.stall_streams("user", seconds=hour_secs * 2)
                else:
                    faults.fail("PUT", "/fapi/v1/listenKey", count=1, status=400, code=-1125)
                result.faults += 1
            await env.wait_until(
                lambda c=buy: env.order(c).status not in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED),  # type: ignore[misc]
                within=max(10.0, 5 * hour_secs),
                what="order accepted",
            )
            if rng.random() < 0.5:
                env.strategy.cancel(buy)
            else:
                env.sim.engine.set_price(symbol, (last * Decimal("0.997")).quantize(tick))
            # Let the simulated hour pass (the venue's clocks run meanwhile: keys, connection age).
            await asyncio.sleep(max(0.0, t0 + hour * hour_secs - loop.time()))
            gc.collect()
            result.samples.append(Sample(hour, rss_mib(), len(asyncio.all_tasks()), metrics.runs))
        faults.reset()
        with contextlib.suppress(TimeoutError):  # the report below says what did not converge
            await env.wait_until(
                lambda: not metrics.in_progress and full_check(env).ok, within=20, what="convergence"
            )
        result.report = full_check(env)
        result.recoveries = metrics.runs
    result.seconds = time.monotonic() - started
    return result


def main(days: float = 7.0, hour_secs: float = 2.0) -> int:
    result = asyncio.run(soak(days, hour_secs))
    print(result.render())
    if result.report is not None and not result.report.ok:
        print(result.report.details())
    return 0 if result.ok else 1
