"""Recovery time — trigger → new stream dispatching — with 10, 100 and 1000 open orders.

A TradingNode with our client rests N limit orders on the simulator, then the user stream is cut
(socket drop) or its listen key expired, several times each. Reported per N: the median and max of
the time from firing the fault to the recovery run completing (new dispatcher started, from the
``ctx.on_run`` hook), the run's own phases (snapshot of open orders, backfill, connect), and how the
total grows with N. One run, the Ns measured in sequence on one node (orders are added between).

    python -m benchmarks.bench_recovery [--sizes 10,100,1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.core.userstream.recovery import RunTiming
from adapters.testkit.node import SimNode
from benchmarks.common import Section, median, quiet_logging

BTC = "BTCUSDT-PERP.BINANCE"
FAST = {
    "ws_ping_interval_secs": 0.5,
    "ws_pong_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
}
PACE_S = 0.036  # below Binance's 300 orders / 10 s
RECOVERY_WEIGHT = 60  # what one recovery's requests weigh at most here (listen key, snapshot, backfill)
window_waits: list[float] = []


async def measure(sizes: list[int], repeats: int) -> dict[int, list[tuple[float, RunTiming]]]:
    out: dict[int, list[tuple[float, RunTiming]]] = {}
    async with SimNode(seed=11, exec_config=FAST, log_level="ERROR", step_interval=3600.0) as env:
        ctx = env.exec_client.user_stream.ctx
        http = env.exec_client._http
        done: list[tuple[float, RunTiming]] = []
        ctx.on_run = lambda timing: done.append((time.perf_counter(), timing))
        last = env.sim.engine.last_price("BTCUSDT")
        cids = []
        for n in sorted(sizes):
            while len(cids) < n:
                price = (last * Decimal("0.9") - Decimal(len(cids) % 500) / 10).quantize(Decimal("0.1"))
                cids.append(env.strategy.limit(BTC, OrderSide.BUY, "0.002", str(price)))
                await asyncio.sleep(PACE_S)
            await env.wait_until(
                lambda: all(env.order(c).status == OrderStatus.ACCEPTED for c in cids),
                within=60,
                what="accepted",
            )
            samples: list[tuple[float, RunTiming]] = []
            for i in range(repeats * 2):
                # Back-to-back recoveries spend the minute's request weight (each snapshots the open
                # orders); the client then holds a recovery until the window rolls, as it must (a ban
                # is worse), which would time the window, not the recovery: wait it out untimed.
                delay = http.rate_limiter.delay_for(http.now_ms(), RECOVERY_WEIGHT)
                if delay > 0:
                    window_waits.append(delay)
                    await asyncio.sleep(delay)
                before = len(done)
                fired = time.perf_counter()
                if i % 2 == 0:
                    env.sim.faults.drop_streams("user")
                else:
                    env.sim.faults.expire_listen_keys()
                await env.wait_until(lambda b=before: len(done) > b, within=30, what="recovery")  # type: ignore[misc]
                finished, timing = done[-1]
                samples.append((finished - fired, timing))
            out[n] = samples
        report = env.oracle()
        if not report.ok:
            raise AssertionError(report.details())
    return out


def run(sizes: list[int] | None = None, repeats: int = 5) -> Section:
    quiet_logging()
    sizes = sizes or [10, 100, 1000]
    results = asyncio.run(measure(sizes, repeats))
    section = Section(
        title="Recovery time: trigger → new stream dispatching (ms)",
        headers=["open orders", "median", "max", "snapshot", "backfill", "connect", "÷ smallest N (median)"],
    )
    base = median([s[0] for s in results[min(results)]])
    for n, samples in sorted(results.items()):
        totals = [s[0] * 1000 for s in samples]
        section.rows.append(
            [
                str(n),
                f"{median(totals):.1f}",
                f"{max(totals):.1f}",
                f"{median([t.snapshot * 1000 for _, t in samples]):.1f}",
                f"{median([t.post_snapshot * 1000 for _, t in samples]):.1f}",
                f"{median([t.connect * 1000 for _, t in samples]):.1f}",
                f"{median(totals) / (base * 1000):.2f}x",
            ]
        )
    section.notes = [
        f"{2 * repeats} recoveries per size (socket drop and listen-key expiry alternating);"
        " oracle checked after.",
        f"before a fault, the run waited (untimed) {len(window_waits)} time(s) for the minute's request"
        f" weight to roll ({sum(window_waits):.1f} s in all): back to back, the recoveries spend it and"
        " the client's rate limiter then holds the next one for the window, by design.",
    ]
    section.data = {n: median([s[0] for s in samples]) for n, samples in results.items()}
    return section


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(run([int(x) for x in args.sizes.split(",")], args.repeats).console())


if __name__ == "__main__":
    main()
