"""The main job (`make demo`): ONE TradingNode trades on two venues at once - Binance USD-M and BingX,
each an embedded simulator - taking its market data from our data clients and trading through our
execution clients, while every fault we claim to survive is fired at both venues. Then the node is
checked against each venue's ground truth.

What you see: a live progress line while it runs, then a summary table per venue - orders, venue
trades vs fills in the node, lost / duplicated / phantom (must be 0), every recovery with its trigger
and duration, market data received - and where the run's artifacts are: ``runs/<timestamp>/`` holds
the node's log (``node.log``) and a timeline picture of the run (``timeline.html``, ``timeline.svg``:
connection states, faults injected, recoveries, venue trades and fills). Exit status 1 if the node
and a venue disagree.

    python -m examples.demo [--seed N] [--quiet] [--out DIR] [--metrics-port PORT]

``--metrics-port PORT`` enables the Prometheus endpoint of every client (``metrics_port`` in their configs;
0 picks a free port): the demo prints its URL when the node is up - scrape it while the run goes on - and,
at the end, a digest of one scrape taken before the node stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId

from adapters.core.client import metrics
from adapters.core.market.book_sync import SyncState
from adapters.core.net.stream import StreamHandle
from adapters.core.net.ws_connection import WsConnection, WsState
from adapters.core.userstream.recovery import RunTiming
from adapters.sim.oracle import OracleReport
from adapters.testkit.node import MarketWatchStrategy, MultiVenueNode
from adapters.testkit.timeline import StateSampler, Timeline

BINANCE, BINGX = "BINANCE", "BINGX"

# Fast liveness so each fault resolves within a second; production defaults are minutes.
BINANCE_EXEC: dict[str, Any] = {
    "ws_ping_interval_secs": 0.25,
    "ws_pong_timeout_secs": 0.75,
    "ws_stall_timeout_secs": 2.0,
    "keepalive_interval_secs": 1.0,
    "recovery_backoff_initial_secs": 0.1,
    "recovery_backoff_cap_secs": 1.0,
}
BINGX_EXEC: dict[str, Any] = {
    "ws_ping_interval_secs": 0.25,
    "ws_pong_timeout_secs": 0.75,
    "ws_stall_timeout_secs": 2.0,
    "keepalive_interval_secs": 0.5,
    "recovery_backoff_initial_secs": 0.1,
    "recovery_backoff_cap_secs": 1.0,
    "poll_interval_secs": 0.25,
    "audit_interval_secs": 0.4,
    "healthy_timeout_secs": 3.0,
}
STEP_INTERVAL = 0.2  # the simulators' price process: quotes, book diffs and public trades flow
WS_LABELS = {
    WsState.OPEN: "open",
    WsState.CONNECTING: "connecting",
    WsState.RECONNECTING: "reconnecting",
    WsState.STALLED: "stalled",
    WsState.CLOSED: "down",
}


@dataclass
class Recovery:
    venue: str
    at: float
    reasons: list[str]
    timing: RunTiming
    since_trigger: float  # first trigger -> new stream dispatching (waits and failed attempts included)


@dataclass
class VenueRun:
    """One venue's side of the run: its fault script's progress and what was observed."""

    key: str
    env: MultiVenueNode
    timeline: Timeline
    qty: str  # the smallest order size used on this venue
    phase: str = "starting"
    step: int = 0
    steps: int = 0
    orders: list[ClientOrderId] = field(default_factory=list)
    faults: list[tuple[float, str]] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    user_conns: list[WsConnection] = field(default_factory=list)
    error: BaseException | None = None
    triggers_seen: int = 0
    triggered_at: float | None = None  # first trigger of the recovery not yet completed

    @property
    def user_lane(self) -> str:
        return f"{self.key} user stream"

    @property
    def market_lane(self) -> str:
        return f"{self.key} market data"

    @property
    def sim(self) -> Any:
        return self.env.sims[self.key]

    @property
    def client(self) -> Any:
        return self.env.exec_client(self.key)

    @property
    def instrument(self) -> str:
        return self.env.instrument(self.key)

    @property
    def symbol(self) -> str:
        return self.env.symbol(self.key)

    def size(self, multiple: int) -> str:
        return str(Decimal(self.qty) * multiple)

    def fault(self, name: str, market: bool = False) -> None:
        lane = self.market_lane if market else self.user_lane
        mark = self.timeline.mark("fault", lane, name)
        self.faults.append((mark.at, name))

    # --- instrumentation ---------------------------------------------------------------------
    def instrument_streams(self) -> None:
        """Hooks for the timeline: recovery runs (``RecoveryCtx.on_run``) and each user socket
        the client connects (wrapping ``stream_ops.connect_stream``)."""
        ctx = self.client.user_stream.ctx
        ops = self.client.stream_ops
        original = ops.connect_stream

        def on_run(timing: RunTiming) -> None:
            at = self.timeline.now()
            self.user_state()  # the trigger of a run shorter than a sampling interval
            start = at - timing.total
            if self.triggered_at is not None:
                start = min(start, self.triggered_at)
            self.triggered_at = None
            reasons = list(dict.fromkeys(ctx.metrics.last_reasons))
            self.recoveries.append(Recovery(self.key, at, reasons, timing, at - start))
            self.timeline.span("recovery", self.user_lane, start, at, "; ".join(reasons))

        async def connect_stream(listen_key: str) -> StreamHandle:
            stream = await original(listen_key)
            if isinstance(stream, WsConnection):
                self.user_conns.append(stream)
            return stream

        ctx.on_run = on_run
        ops.connect_stream = connect_stream

    def user_state(self) -> str:
        """The user stream's state for the timeline (sampled); also notes when a recovery was
        triggered, so its span starts there rather than at its last, successful attempt."""
        ctx = self.client.user_stream.ctx
        fired = ctx.trigger.fired_total
        if fired != self.triggers_seen:
            self.triggers_seen = fired
            if self.triggered_at is None:
                self.triggered_at = self.timeline.now()
        if sum(c.state is WsState.OPEN for c in self.user_conns[-3:]) >= 2:
            return "overlap"
        stream = ctx.stream
        if not isinstance(stream, WsConnection):
            return "down"
        return WS_LABELS[stream.state]

    def market_state(self) -> str:
        data = self.env.data_client(self.key)
        conns = data.pool.connections
        if not conns:
            return "down"
        states = {c.ws.state for c in conns}
        for state in (WsState.STALLED, WsState.RECONNECTING, WsState.CONNECTING, WsState.CLOSED):
            if state in states:
                return WS_LABELS[state]
        if any(book.sync.state is not SyncState.SYNCED for book in data.books.values()):
            return "resyncing"
        return "open"

    # --- fault-script helpers ----------------------------------------------------------------
    async def ladder(self, n: int, below: bool, spacing: str = "0.002") -> list[ClientOrderId]:
        """Resting limit orders a little below (buys) or above (sells) the market."""
        env = self.env
        last = self.sim.engine.last_price(self.symbol)
        cids = []
        for i in range(n):
            step = Decimal(spacing) * (i + 1)
            price = (last * (1 - step if below else 1 + step)).quantize(Decimal("0.1"))
            side = OrderSide.BUY if below else OrderSide.SELL
            cids.append(env.strategy.limit(self.instrument, side, self.qty, str(price)))
        self.orders.extend(cids)
        await env.wait_until(
            lambda: all(env.order(c).status != OrderStatus.SUBMITTED for c in cids),
            what=f"{self.key} ladder accepted",
        )
        return cids

    def market(self, side: OrderSide, multiple: int) -> ClientOrderId:
        cid = self.env.strategy.market(self.instrument, side, self.size(multiple))
        self.orders.append(cid)
        return cid

    def move(self, factor: str) -> None:
        """Move the market through part of the ladder: the venue fills those orders now."""
        last = self.sim.engine.last_price(self.symbol)
        self.sim.engine.set_price(self.symbol, (last * Decimal(factor)).quantize(Decimal("0.1")))

    async def closed(self, cid: ClientOrderId, what: str) -> None:
        await self.env.wait_until(lambda: self.env.order(cid).is_closed, what=f"{self.key} {what}")

    def runs(self) -> int:
        return int(self.client.user_stream.ctx.metrics.runs)

    async def recovered(self, before: int, within: float = 15.0) -> None:
        await self.env.wait_recoveries(self.key, before + 1, within=within)


# --------------------------------------------------------------------------- fault scripts

Step = tuple[str, Callable[[], Awaitable[None]]]


def market_steps(run: VenueRun) -> list[Step]:
    """Market-data faults (the same on both venues): the node's books must resynchronise."""
    env, faults = run.env, run.sim.faults

    async def book_gap() -> None:
        before = env.book_resyncs(run.key)
        run.fault("order-book diff lost (sequence gap)", market=True)
        faults.market_gap(run.symbol)
        await env.wait_until(lambda: env.book_resyncs(run.key) > before, what=f"{run.key} book resync")
        await env.wait_until(lambda: run.market_state() == "open", what=f"{run.key} book synced")

    async def market_drop() -> None:
        data = env.data_client(run.key)
        before = data.metrics.reconnects
        run.fault("market-data socket dropped", market=True)
        faults.drop_streams("market")
        await env.wait_until(lambda: data.metrics.reconnects > before, what=f"{run.key} market reconnect")
        await env.wait_until(lambda: run.market_state() == "open", what=f"{run.key} market resynced")

    return [("book sequence gap", book_gap), ("market socket drop", market_drop)]


def binance_steps(run: VenueRun) -> list[Step]:
    faults = run.sim.faults

    async def baseline() -> None:
        await run.ladder(4, below=True)
        await run.ladder(4, below=False)
        await run.closed(run.market(OrderSide.BUY, 2), "market buy")

    async def key_expiry() -> None:
        before = run.runs()
        run.fault("listen key expired + fill during rotation")
        faults.set_latency(rest_ms=150)
        faults.expire_listen_keys()
        run.move("0.997")  # fills on the expired key: only the backfill can find them
        await run.recovered(before)
        faults.set_latency(rest_ms=0)

    async def socket_drop() -> None:
        await run.ladder(2, below=True)
        before = run.runs()
        run.fault("user socket dropped + fill in the gap")
        faults.drop_streams("user")
        run.move("0.996")
        await run.recovered(before)

    async def day_close() -> None:
        before = run.runs()
        run.fault("24-hour close + fill")
        faults.expire_connections("user")
        run.move("1.006")
        await run.recovered(before)

    async def stall() -> None:
        await run.ladder(2, below=False)
        before = run.runs()
        run.fault("stalled stream (pongs withheld) + fill")
        faults.stall_streams("user", seconds=30)
        run.move("1.005")
        await run.recovered(before)

    async def keepalive_failure() -> None:
        before = run.runs()
        run.fault("keepalive rejected (-1125)")
        faults.fail("PUT", "/fapi/v1/listenKey", count=1, status=400, code=-1125)
        await run.recovered(before)

    async def rest_failures() -> None:
        await run.ladder(2, below=True)
        before = run.runs()
        run.fault("REST 5xx + cut connection during recovery")
        faults.fail("GET", "/fapi/v1/openOrders", count=2, status=503)
        faults.fail("GET", "/fapi/v1/openAlgoOrders", count=2, status=500)
        faults.fail("GET", "/fapi/v1/userTrades", count=1, status=0)
        faults.drop_streams("user")
        run.move("0.99")
        await run.recovered(before, within=20)

    async def duplicates() -> None:
        run.fault("duplicated + reordered user events")
        faults.set_user_events(duplicate=True, reorder=True)
        await run.ladder(3, below=False)
        run.move("1.012")
        await run.closed(run.market(OrderSide.SELL, 3), "market sell")
        faults.set_user_events(duplicate=False, reorder=False)

    async def ambiguous() -> None:
        run.fault("submit answered 503 after executing")
        faults.fail("POST", "/fapi/v1/order", count=1, status=503, after_execute=True)
        await run.closed(run.market(OrderSide.BUY, 1), "ambiguous submit resolved")

    return [
        ("placing orders", baseline),
        ("listen-key expiry", key_expiry),
        ("user socket drop", socket_drop),
        ("24-hour close", day_close),
        *market_steps(run)[:1],
        ("stall", stall),
        ("keepalive failure", keepalive_failure),
        ("REST failures in recovery", rest_failures),
        *market_steps(run)[1:],
        ("duplicated/reordered", duplicates),
        ("ambiguous submit", ambiguous),
    ]


def bingx_steps(run: VenueRun) -> list[Step]:
    env, faults = run.env, run.sim.faults
    client = run.client

    async def baseline() -> None:
        await run.ladder(3, below=True)
        await run.ladder(3, below=False)
        await run.closed(run.market(OrderSide.BUY, 2), "market buy")

    async def overlap_rotation() -> None:
        """A rotation's new socket is healthy while the old one still runs: a fill made exactly
        then is pushed on both sockets and must reach the node once."""
        ops = client.stream_ops
        original = ops.connect_stream
        filled: list[ClientOrderId] = []

        async def connect_then_fill(listen_key: str) -> StreamHandle:
            stream = await original(listen_key)
            await stream.wait_healthy()
            old = client.user_stream.ctx.stream
            assert isinstance(old, WsConnection) and isinstance(stream, WsConnection)
            before = (old.metrics.frames_in, stream.metrics.frames_in)
            run.fault("overlap rotation + fill while both sockets are open")
            filled.append(run.market(OrderSide.BUY, 1))
            await env.wait_until(
                lambda: old.metrics.frames_in > before[0] and stream.metrics.frames_in > before[1],
                what="BINGX fill pushed on both sockets",
            )
            return stream

        before = run.runs()
        ops.connect_stream = connect_then_fill
        try:
            client.user_stream.trigger.fire("scheduled rotation")
            await run.recovered(before)
        finally:
            ops.connect_stream = original
        await run.closed(filled[0], "fill during overlap")

    async def dropped_events() -> None:
        """BingX loses events without any disconnect: the fills must reach the node all the same
        (nothing on the socket tells the client)."""
        cids = await run.ladder(2, below=True, spacing="0.01")
        run.fault("every user event dropped, socket healthy")
        faults.set_user_events(drop_ratio=1.0)
        run.move("0.975")
        await env.wait_until(
            lambda: all(env.order(c).is_closed for c in cids),
            within=15,
            what="BINGX fills without events",
        )
        faults.set_user_events(drop_ratio=0.0)

    async def socket_drop() -> None:
        await run.ladder(2, below=True)
        before = run.runs()
        run.fault("user socket dropped + fill in the gap")
        faults.set_latency(rest_ms=100)
        faults.drop_streams("user")
        run.move("0.996")
        await run.recovered(before)
        faults.set_latency(rest_ms=0)

    async def keepalive_404() -> None:
        before = run.runs()
        run.fault("keepalive answered 404")
        faults.fail("PUT", "/openApi/user/auth/userDataStream", count=1, status=404)
        await run.recovered(before)

    async def stall() -> None:
        await run.ladder(2, below=False)
        before = run.runs()
        run.fault("stalled stream + fill")
        faults.stall_streams("user", seconds=30)
        run.move("1.005")
        await run.recovered(before)

    async def day_close() -> None:
        before = run.runs()
        run.fault("24-hour close + fill")
        faults.expire_connections("user")
        run.move("1.004")
        await run.recovered(before)

    async def rest_failures() -> None:
        await run.ladder(2, below=True)
        before = run.runs()
        run.fault("REST 5xx + cut connection during recovery")
        faults.fail("GET", "/openApi/swap/v2/trade/openOrders", count=2, status=500)
        faults.fail("GET", "/openApi/swap/v3/user/balance", count=2, status=502)
        faults.fail("GET", "/openApi/swap/v2/user/positions", count=2, status=503)
        faults.fail("GET", "/openApi/swap/v2/trade/fillHistory", count=1, status=0)
        faults.drop_streams("user")
        run.move("0.99")
        await run.recovered(before, within=20)

    async def duplicates() -> None:
        run.fault("duplicated + reordered user events")
        faults.set_user_events(duplicate=True, reorder=True)
        await run.ladder(3, below=False)
        run.move("1.012")
        await run.closed(run.market(OrderSide.SELL, 1), "market sell")
        faults.set_user_events(duplicate=False, reorder=False)

    async def ambiguous() -> None:
        before = run.runs()
        run.fault("submit answered 503 after executing, stream cut")
        faults.fail("POST", "/openApi/swap/v2/trade/order", count=1, status=503, after_execute=True)
        faults.drop_streams("user")
        await run.closed(run.market(OrderSide.BUY, 1), "ambiguous submit resolved")
        await run.recovered(before)

    return [
        ("placing orders", baseline),
        ("overlap rotation", overlap_rotation),
        ("dropped events", dropped_events),
        ("user socket drop", socket_drop),
        *market_steps(run)[:1],
        ("keepalive 404", keepalive_404),
        ("stall", stall),
        ("24-hour close", day_close),
        ("REST failures in recovery", rest_failures),
        *market_steps(run)[1:],
        ("duplicated/reordered", duplicates),
        ("ambiguous submit", ambiguous),
    ]


async def script(run: VenueRun, steps: list[Step]) -> None:
    run.steps = len(steps)
    try:
        for i, (phase, step) in enumerate(steps, 1):
            run.step, run.phase = i, phase
            await step()
        run.phase = "converging"
    except Exception as exc:  # reported in the summary; the other venue carries on
        run.error = exc
        run.phase = f"FAILED: {phase}"


# --------------------------------------------------------------------------- output


class Progress:
    """A single status line rewritten with ``\\r`` while the run goes on."""

    def __init__(self, runs: list[VenueRun], enabled: bool, started: float) -> None:
        self.runs = runs
        self.enabled = enabled
        self.started = started
        self.done = asyncio.Event()

    def line(self) -> str:
        parts = [f"[{time.monotonic() - self.started:5.1f}s]"]
        for r in self.runs:
            fills = sum(isinstance(e, OrderFilled) for o in r.env.orders(r.key) for e in o.events)
            parts.append(
                f"{r.key} {r.step}/{r.steps} {r.phase[:26]:<26} fills={fills:<3} "
                f"rec={len(r.recoveries):<2} quotes={r.env.quotes(r.key):<4}"
            )
        return " | ".join(parts)

    def show(self) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size((160, 20)).columns - 1
        sys.stdout.write("\r" + self.line()[:width].ljust(width))
        sys.stdout.flush()

    async def run(self) -> None:
        while not self.done.is_set():
            self.show()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=0.1)
        self.show()
        if self.enabled:
            sys.stdout.write("\n")


def summary(runs: list[VenueRun], reports: dict[str, OracleReport], elapsed: float) -> str:
    keys = [r.key for r in runs]
    col = 22
    lines = [
        "== nautilus-perp-adapters demo: one TradingNode, Binance USD-M + BingX, embedded simulators ==",
        "",
        f"{'':<30}" + "".join(f"{k:<{col}}" for k in keys),
    ]

    def row(label: str, values: list[object]) -> None:
        lines.append(f"{label:<30}" + "".join(f"{v!s:<{col}}" for v in values))

    def by_status(r: VenueRun) -> str:
        counts: dict[str, int] = {}
        for o in r.env.orders(r.key):
            counts[o.status_string()] = counts.get(o.status_string(), 0) + 1
        return " ".join(f"{k.lower()} {v}" for k, v in sorted(counts.items()))

    row("orders submitted", [len(r.env.orders(r.key)) for r in runs])
    row("  final status", [by_status(r) for r in runs])
    row("trades on the venue", [reports[k].venue_trades for k in keys])
    row("fills in the node", [reports[k].node_fills for k in keys])
    row("lost", [len(reports[k].lost) for k in keys])
    row("duplicated", [len(reports[k].duplicated) for k in keys])
    row("phantom", [len(reports[k].phantom) for k in keys])
    row(
        "status/filled mismatches",
        [len(reports[k].status_mismatches) + len(reports[k].filled_mismatches) for k in keys],
    )
    row("faults injected", [len(r.faults) for r in runs])
    row("recoveries", [len(r.recoveries) for r in runs])
    row("  failed attempts, retried", [r.client.user_stream.ctx.metrics.failures for r in runs])
    row("  duplicate events dropped", [r.client.facts.duplicates_dropped for r in runs])
    row(
        "REST polls (audit/failover)",
        [r.client.poller.polls if getattr(r.client, "poller", None) else "-" for r in runs],
    )
    row("quotes received", [r.env.quotes(r.key) for r in runs])
    row("book resyncs", [r.env.book_resyncs(r.key) for r in runs])
    row("market socket reconnects", [r.env.data_client(r.key).metrics.reconnects for r in runs])
    lines += ["", "faults injected:"]
    faults = sorted((at, r.key, name) for r in runs for at, name in r.faults)
    for at, key, name in faults:
        lines.append(f"  {at:6.2f}s  {key:<8} {name}")
    lines += ["", "recoveries (user stream):"]
    lines.append(
        f"  {'at':<7} {'venue':<8} {'trigger':<42} {'trigger->ok':>11} {'last run':>11} "
        f"{'snapshot':>10} {'backfill':>10}"
    )
    recs = sorted((rec for r in runs for rec in r.recoveries), key=lambda rec: rec.at)
    for rec in recs:
        t = rec.timing
        reason = "; ".join(rec.reasons)[:42]
        lines.append(
            f"  {rec.at:6.2f}s {rec.venue:<8} {reason:<42} {rec.since_trigger * 1000:9.0f}ms "
            f"{t.total * 1000:9.0f}ms {t.snapshot * 1000:8.0f}ms {t.post_snapshot * 1000:8.0f}ms"
        )
    lines.append("")
    for r in runs:
        if r.error is not None:
            lines.append(f"{r.key}: fault script failed: {r.error!r}")
    ok = all(reports[k].ok for k in keys) and all(r.error is None for r in runs)
    verdict = "OK - every venue trade is in the node exactly once, on both venues" if ok else "MISMATCH"
    lines.append(f"RESULT: {verdict}  ({elapsed:.1f}s)")
    for k in keys:
        if not reports[k].ok:
            lines.append(f"{k}: {reports[k].details()}")
    return "\n".join(lines)


def record_venue_trades(run: VenueRun) -> None:
    """The venue's trades on the timeline (from its ground truth), beside the node's fills."""
    for trade in run.sim.state()["trades"]:
        at_ms = trade.get("time") or trade.get("time_ms")
        if at_ms:
            label = f"{trade.get('side', '')} {trade.get('qty', '')} @ {trade.get('price', '')}"
            run.timeline.mark(
                "trade",
                run.user_lane,
                f"{label} (trade {trade.get('trade_id')})",
                at=run.timeline.from_wall_ms(at_ms),
            )


# --------------------------------------------------------------------------- main


async def main(
    seed: int = 7, quiet: bool = False, out: str | Path = "runs", metrics_port: int | None = None
) -> int:
    started = time.monotonic()
    run_dir = Path(out) / datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    run_dir.mkdir(parents=True, exist_ok=True)
    timeline = Timeline("make demo - one TradingNode, Binance USD-M + BingX, faults on both venues")
    for key in (BINANCE, BINGX):
        timeline.add_lane(f"{key} user stream", group=key)
        timeline.add_lane(f"{key} market data", group=key)
    exec_config = {BINANCE: BINANCE_EXEC, BINGX: BINGX_EXEC}
    data_config: dict[str, dict[str, Any]] = {}
    if metrics_port is not None:  # every client on one endpoint (the server is process-wide)
        exec_config = {key: {**over, "metrics_port": metrics_port} for key, over in exec_config.items()}
        data_config = {key: {"metrics_port": metrics_port} for key in (BINANCE, BINGX)}
    env = MultiVenueNode(
        seed=seed,
        step_interval=STEP_INTERVAL,
        exec_config=exec_config,
        data_config=data_config,
        log_level="OFF",
        log_directory=run_dir,
        log_file_name="node",
        log_level_file="INFO",
    )
    with stderr_to(run_dir / "stderr.log"):
        runs, reports, text = await run_demo(env, timeline, quiet, started, metrics_port)
    html_path, svg_path = timeline.write(run_dir, summary=text)
    print(text)
    print(f"\nrun artifacts: {run_dir}/  node.log  {html_path.name}  {svg_path.name}")
    ok = all(rep.ok for rep in reports.values()) and all(r.error is None for r in runs)
    return 0 if ok else 1


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 to ``path`` while the node lives: the node's logger writes its ERROR
    lines (expected here: the faults provoke them) to stderr whatever its stdout level, which would
    break the progress line. Everything is in the node's log file as well."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with path.open("wb") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


async def run_demo(
    env: MultiVenueNode,
    timeline: Timeline,
    quiet: bool,
    started: float,
    metrics_port: int | None = None,
) -> tuple[list[VenueRun], dict[str, OracleReport], str]:
    async with env:
        metrics_url = None
        if metrics_port is not None:
            port = metrics.served_port(metrics.DEFAULT_HOST, metrics_port)
            metrics_url = metrics.url(metrics.DEFAULT_HOST, port or metrics_port)
            print(f"metrics: {metrics_url}  (Prometheus text format, while the node runs)", flush=True)
        runs = [
            VenueRun(BINANCE, env, timeline, qty="0.010"),
            VenueRun(BINGX, env, timeline, qty="0.0100"),
        ]
        by_key = {r.key: r for r in runs}
        for r in runs:
            r.instrument_streams()
        strategy = env.strategy
        assert isinstance(strategy, MarketWatchStrategy)

        def on_fill(fill: OrderFilled) -> None:
            r = by_key[fill.instrument_id.venue.value]
            timeline.mark("fill", r.user_lane, f"{fill.order_side.name} {fill.last_qty} @ {fill.last_px}")

        strategy.fill_listeners.append(on_fill)
        probes: dict[str, Callable[[], str]] = {}
        for r in runs:
            probes[r.user_lane] = r.user_state
            probes[r.market_lane] = r.market_state
        progress = Progress(runs, enabled=not quiet and sys.stdout.isatty(), started=started)
        async with StateSampler(timeline, probes), asyncio.TaskGroup() as tg:
            tg.create_task(progress.run(), name="demo-progress")
            async with asyncio.TaskGroup() as scripts:
                scripts.create_task(script(by_key[BINANCE], binance_steps(by_key[BINANCE])))
                scripts.create_task(script(by_key[BINGX], bingx_steps(by_key[BINGX])))
            reports = await env.wait_converged(within=20)
            progress.done.set()
        timeline.finish()
        for r in runs:
            record_venue_trades(r)
        text = summary(runs, reports, time.monotonic() - started)
        if metrics_url is not None:
            text += "\n\n" + await metrics_digest(metrics_url, [r.key for r in runs])
    return runs, reports, text


# The lines of the digest: (label, metric, labels the sample must have).
DIGEST: list[tuple[str, str, dict[str, str]]] = [
    ("user stream state", "perp_adapter_user_stream_state", {}),
    ("  recoveries", "perp_adapter_user_stream_recoveries_total", {}),
    ("  failed attempts", "perp_adapter_user_stream_recovery_failures_total", {}),
    ("fills via stream", "perp_adapter_fills_total", {"source": "stream"}),
    ("fills via REST (gaps)", "perp_adapter_fills_total", {"source": "rest"}),
    ("REST weight used (1m)", "perp_adapter_rest_weight_used", {"bucket": "request_weight"}),
    ("book resyncs", "perp_adapter_book_resyncs_total", {}),
    ("market socket reconnects", "perp_adapter_ws_reconnects_total", {"socket": "market"}),
]


async def metrics_digest(url: str, keys: list[str]) -> str:
    """A few values of one scrape of the endpoint, per client id (what an operator's dashboard shows)."""
    import aiohttp
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        body = await resp.text()
    samples = [s for family in text_string_to_metric_families(body) for s in family.samples]
    col = 22
    lines = [f"metrics endpoint {url}: {len(samples)} series; a scrape before the node stopped:"]
    for label, name, want in DIGEST:
        values = []
        for key in keys:
            found = [
                s
                for s in samples
                if s.name == name
                and s.labels.get("client_id") == key
                and all(s.labels.get(k) == v for k, v in want.items())
            ]
            if name == "perp_adapter_user_stream_state":
                values.append(next((s.labels["state"] for s in found if s.value == 1), "-"))
            else:
                values.append(f"{sum(s.value for s in found):g}" if found else "-")
        lines.append(f"{label:<30}" + "".join(f"{v:<{col}}" for v in values))
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--out", default="runs", help="directory for the run's artifacts (default: runs)")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve the clients' Prometheus metrics on 127.0.0.1:PORT (0: a free port); off by default",
    )
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.seed, args.quiet, args.out, args.metrics_port)))
