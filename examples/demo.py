"""The main job (`make demo`): a TradingNode trades on the embedded simulator while every user-stream
fault we claim to survive is fired at it, then the node is checked against the venue's ground truth.

What you see: a progress line while it runs, then a summary table — orders, venue trades vs fills in
the node, each recovery with its trigger and duration, and lost / duplicated counts that must be 0.
Exit status 1 if the node and the venue disagree.

    python -m examples.demo [--seed N] [--quiet]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.core.recovery import RunTiming
from adapters.sim.oracle import OracleReport
from adapters.testkit.node import SimNode

BTC = "BTCUSDT-PERP.BINANCE"
SYMBOL = "BTCUSDT"

# Fast liveness so each fault resolves within a second; production defaults are minutes.
EXEC_CONFIG = {
    "ws_ping_interval_secs": 0.25,
    "ws_pong_timeout_secs": 0.75,
    "ws_stall_timeout_secs": 2.0,
    "keepalive_interval_secs": 1.0,
    "recovery_backoff_initial_secs": 0.1,
    "recovery_backoff_cap_secs": 1.0,
}


@dataclass
class Recovery:
    reasons: list[str]
    timing: RunTiming


@dataclass
class Run:
    env: SimNode
    started: float = field(default_factory=time.monotonic)
    faults: list[tuple[float, str]] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    orders: list[object] = field(default_factory=list)
    quiet: bool = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def fault(self, name: str) -> None:
        self.faults.append((self.elapsed(), name))

    def progress(self, phase: str) -> None:
        if self.quiet:
            return
        node = self.env.node
        fills = sum(o.filled_qty.as_decimal() > 0 for o in node.cache.orders()) if node else 0
        line = (
            f"\r[{self.elapsed():5.1f}s] {phase:<42} orders={len(self.orders):<3} "
            f"filled={fills:<3} venue trades={len(self.env.sim.state()['trades']):<3} "
            f"recoveries={len(self.recoveries):<2}"
        )
        sys.stdout.write(line)
        sys.stdout.flush()


async def ladder(run: Run, n: int, below: bool) -> list[object]:
    """Resting limit orders a little below (buys) or above (sells) the market."""
    env = run.env
    last = env.sim.engine.last_price(SYMBOL)
    cids = []
    for i in range(n):
        offset = (
            Decimal("1") - Decimal("0.002") * (i + 1) if below else Decimal("1") + Decimal("0.002") * (i + 1)
        )
        price = (last * offset).quantize(Decimal("0.1"))
        side = OrderSide.BUY if below else OrderSide.SELL
        cids.append(env.strategy.limit(BTC, side, "0.010", str(price)))
    run.orders.extend(cids)
    await env.wait_until(
        lambda: all(env.order(c).status != OrderStatus.SUBMITTED for c in cids), what="ladder accepted"
    )
    return cids


def move(run: Run, factor: str) -> None:
    """Move the market through part of the ladder: the venue fills those orders now."""
    last = run.env.sim.engine.last_price(SYMBOL)
    run.env.sim.engine.set_price(SYMBOL, (last * Decimal(factor)).quantize(Decimal("0.1")))


async def scenario(run: Run) -> None:
    env = run.env
    faults = env.sim.faults
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []

    async def baseline() -> None:
        await ladder(run, 4, below=True)
        await ladder(run, 4, below=False)
        cid = env.strategy.market(BTC, OrderSide.BUY, "0.020")
        run.orders.append(cid)

    async def key_expiry() -> None:
        run.fault("listen key expired + fill during rotation")
        faults.set_latency(rest_ms=150)
        faults.expire_listen_keys()
        move(run, "0.997")  # fills on the expired key: only the backfill can find them
        await env.wait_recoveries(len(run.recoveries) + 1)
        faults.set_latency(rest_ms=0)

    async def socket_drop() -> None:
        await ladder(run, 2, below=True)
        run.fault("user socket dropped + fill in the gap")
        faults.drop_streams("user")
        move(run, "0.996")
        await env.wait_recoveries(len(run.recoveries) + 1)

    async def day_close() -> None:
        run.fault("24-hour close")
        faults.expire_connections("user")
        move(run, "1.006")
        await env.wait_recoveries(len(run.recoveries) + 1)

    async def stall() -> None:
        await ladder(run, 2, below=False)
        run.fault("stalled stream (pongs withheld) + fill")
        faults.stall_streams("user", seconds=30)
        move(run, "1.005")
        await env.wait_recoveries(len(run.recoveries) + 1)

    async def keepalive_failure() -> None:
        run.fault("keepalive rejected (-1125)")
        faults.fail("PUT", "/fapi/v1/listenKey", count=1, status=400, code=-1125)
        await env.wait_recoveries(len(run.recoveries) + 1)

    async def rest_failures() -> None:
        await ladder(run, 2, below=True)
        run.fault("REST 5xx + cut connection during recovery")
        faults.fail("GET", "/fapi/v1/openOrders", count=2, status=503)
        faults.fail("GET", "/fapi/v1/openAlgoOrders", count=2, status=500)
        faults.fail("GET", "/fapi/v1/userTrades", count=1, status=0)
        faults.drop_streams("user")
        move(run, "0.99")
        await env.wait_recoveries(len(run.recoveries) + 1, within=20)

    async def duplicates() -> None:
        run.fault("duplicated + reordered user events")
        faults.set_user_events(duplicate=True, reorder=True)
        await ladder(run, 3, below=False)
        move(run, "1.012")
        cid = env.strategy.market(BTC, OrderSide.SELL, "0.030")
        run.orders.append(cid)
        await env.wait_until(lambda: env.order(cid).is_closed, what="market sell closed")
        faults.set_user_events(duplicate=False, reorder=False)

    async def ambiguous() -> None:
        run.fault("submit answered 503 after executing")
        faults.fail("POST", "/fapi/v1/order", count=1, status=503, after_execute=True)
        cid = env.strategy.market(BTC, OrderSide.BUY, "0.010")
        run.orders.append(cid)
        await env.wait_until(lambda: env.order(cid).is_closed, what="ambiguous submit resolved")

    steps = [
        ("placing orders", baseline),
        ("listen-key expiry", key_expiry),
        ("socket drop", socket_drop),
        ("24-hour close", day_close),
        ("stall", stall),
        ("keepalive failure", keepalive_failure),
        ("REST failures during recovery", rest_failures),
        ("duplicated/reordered events", duplicates),
        ("ambiguous submit", ambiguous),
    ]
    for phase, step in steps:
        run.progress(phase)
        await step()
        run.progress(phase)
    run.progress("converging")


def table(run: Run, report: OracleReport) -> str:
    node = run.env.node
    assert node is not None
    orders = node.cache.orders()
    by_status: dict[str, int] = {}
    for o in orders:
        by_status[o.status_string()] = by_status.get(o.status_string(), 0) + 1
    lines = ["", "", "== nautilus-perp-adapters demo: Binance USD-M on the embedded simulator ==", ""]
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
    lines.append(f"orders submitted        {len(orders)}  ({statuses})")
    lines.append(f"trades on the venue     {report.venue_trades}")
    lines.append(f"fills in the node       {report.node_fills}")
    lines.append(f"lost                    {len(report.lost)}")
    lines.append(f"duplicated              {len(report.duplicated)}")
    lines.append(f"phantom                 {len(report.phantom)}")
    lines.append(f"status mismatches       {len(report.status_mismatches) + len(report.filled_mismatches)}")
    lines.append("")
    lines.append("faults injected:")
    for at, name in run.faults:
        lines.append(f"  {at:6.2f}s  {name}")
    lines.append("")
    lines.append(f"recoveries: {len(run.recoveries)}")
    lines.append(
        "  #  trigger                                        total    snapshot  backfill  connect  drain"
    )
    for i, rec in enumerate(run.recoveries, 1):
        t = rec.timing
        reason = "; ".join(dict.fromkeys(rec.reasons))[:46]
        lines.append(
            f"  {i:<2} {reason:<46} {t.total * 1000:6.0f}ms {t.snapshot * 1000:7.0f}ms "
            f"{t.post_snapshot * 1000:7.0f}ms {t.connect * 1000:6.0f}ms {t.drain * 1000:5.0f}ms"
        )
    metrics = run.env.exec_client.user_stream.ctx.metrics
    lines.append(f"  failed attempts retried with backoff: {metrics.failures}")
    lines.append("")
    lines.append(
        "RESULT: " + ("OK — every venue trade is in the node exactly once" if report.ok else "MISMATCH")
    )
    if not report.ok:
        lines.append(report.details())
    return "\n".join(lines)


async def main(seed: int, quiet: bool) -> int:
    async with SimNode(seed=seed, step_interval=3600.0, exec_config=EXEC_CONFIG, log_level="ERROR") as env:
        run = Run(env, quiet=quiet)
        ctx = env.exec_client.user_stream.ctx
        ctx.on_run = lambda timing: run.recoveries.append(Recovery(list(ctx.metrics.last_reasons), timing))
        await scenario(run)
        report = await env.wait_converged(within=20)
        print(table(run, report))
        return 0 if report.ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.seed, args.quiet)))
