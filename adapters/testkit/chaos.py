"""The chaos runner: a TradingNode with our clients trades against the simulator while a seeded random
schedule fires any mix of the simulator's faults; afterwards the node is checked against the venue's
ground truth (``/sim/state``). Both venues: Binance USD-M (``--venue binance``) and BingX
(``--venue bingx``, with BingX's own faults: keepalive 404s, events lost on a healthy socket
(``drop_ratio``), forced overlap rotations); ``--venue both`` (the default) runs every seed on each.

Invariants checked after each schedule (``adapters.sim.oracle.check`` with every option on):

* every venue trade appears exactly once as a fill in the node (none lost, duplicated or phantom);
* every order's final status, filled quantity and average price match the venue's;
* net positions and the wallet balance match the venue's;
* liveness: every fault that must cause a recovery does, and the node converges within a deadline.

A schedule is a pure function of its seed (:func:`make_schedule`), and the simulator is seeded with
it too, so a failing seed replays with ``python -m adapters.testkit.chaos --venue V --seed S -v``.

    python -m adapters.testkit.chaos --seeds 200          # seeds 1..200 on both venues
    python -m adapters.testkit.chaos --venue bingx --seeds 100
    python -m adapters.testkit.chaos --venue bingx --seed 17 -v   # replay one schedule, step by step
    python -m adapters.testkit.chaos --soak [--days 7]     # time-scaled soak (adapters.testkit.soak)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.identifiers import ClientOrderId

from adapters.core.recovery import RunTiming
from adapters.sim.oracle import OracleReport, check
from adapters.testkit.node import SimNode

# Symbol -> (NautilusTrader instrument id, quantity range in steps of 0.001, price decimals).
SYMBOLS: dict[str, tuple[str, tuple[int, int], Decimal]] = {
    "BTCUSDT": ("BTCUSDT-PERP.BINANCE", (2, 10), Decimal("0.1")),
    "ETHUSDT": ("ETHUSDT-PERP.BINANCE", (10, 40), Decimal("0.01")),
}

# Fast liveness so each fault resolves well within a second; production defaults are minutes.
CHAOS_EXEC_CONFIG: dict[str, Any] = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "keepalive_interval_secs": 0.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
    "http_timeout_secs": 2.0,
}

# Fault kinds, and whether each one must end in a (successful) recovery run.
FAULTS: dict[str, bool] = {
    "listen_key_expiry": True,
    "keepalive_failure": True,
    "socket_drop": True,
    "socket_stall": True,
    "day_close": True,
    "rest_failures": False,  # REST 5xx / cut connections on the recovery and query endpoints
    "rest_latency": False,
    "duplicate_reorder": False,
    "cut_submit": False,  # connection cut (or 503) during a submit, executed or not
    "cut_cancel": False,  # connection cut during a cancel, executed or not
}
FAULT_KINDS = tuple(FAULTS)

# BingX: the same user-stream and REST faults in BingX's terms, plus its own quirks.
BINGX_SYMBOLS: dict[str, tuple[str, tuple[int, int], Decimal]] = {
    "BTC-USDT": ("BTC-USDT-PERP.BINGX", (20, 100), Decimal("0.1")),  # x 0.0001
    "ETH-USDT": ("ETH-USDT-PERP.BINGX", (1, 4), Decimal("0.01")),  # x 0.01
}
BINGX_QTY_STEP = {"BTC-USDT": Decimal("0.0001"), "ETH-USDT": Decimal("0.01")}
BINGX_FAULTS: dict[str, bool] = {
    "listen_key_expiry": True,
    "keepalive_failure": True,  # 404 (the key is gone: must rotate) or a cut connection (retried)
    "socket_drop": True,
    "socket_stall": True,
    "day_close": True,  # the venue closes the socket (1001)
    "overlap_rotation": True,  # a forced rotation: both sockets open while the market moves
    "rest_failures": False,
    "rest_latency": False,
    "duplicate_reorder": False,
    "drop_events": False,  # events lost for good on a healthy socket (drop_ratio): the audit poll
    "cut_submit": False,
    "cut_cancel": False,
}
BINGX_FAULT_KINDS = tuple(BINGX_FAULTS)
BINGX_CHAOS_EXEC_CONFIG: dict[str, Any] = {
    **CHAOS_EXEC_CONFIG,
    "poll_interval_secs": 0.2,
    "healthy_timeout_secs": 2.0,
    "audit_interval_secs": 0.5,
}
_BX = "/openApi/swap/v2"
BINGX_LISTEN_KEY_PATH = "/openApi/user/auth/userDataStream"


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """What differs between venues for the runner: simulator, symbols, faults, REST paths."""

    name: str  # "binance" | "bingx" (the --venue value)
    sim_venue: str  # SimNode(venue=...)
    oracle_venue: str | None  # adapters.sim.oracle.check(venue=...)
    symbols: dict[str, tuple[str, tuple[int, int], Decimal]]
    qty_step: dict[str, Decimal]
    faults: dict[str, bool]
    exec_config: dict[str, Any]
    listen_key_path: str
    order_path: str
    rest_paths: tuple[str, ...]  # GET paths a recovery / query uses ("*": every request)

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return tuple(self.faults)


BINANCE = VenueProfile(
    name="binance",
    sim_venue="binance-futures",
    oracle_venue=None,
    symbols=SYMBOLS,
    qty_step={s: Decimal("0.001") for s in SYMBOLS},
    faults=FAULTS,
    exec_config=CHAOS_EXEC_CONFIG,
    listen_key_path="/fapi/v1/listenKey",
    order_path="/fapi/v1/order",
    rest_paths=("/fapi/v1/openOrders", "/fapi/v1/userTrades", "/fapi/v1/listenKey", "/fapi/v1/order", "*"),
)
BINGX = VenueProfile(
    name="bingx",
    sim_venue="bingx",
    oracle_venue="bingx",
    symbols=BINGX_SYMBOLS,
    qty_step=BINGX_QTY_STEP,
    faults=BINGX_FAULTS,
    exec_config=BINGX_CHAOS_EXEC_CONFIG,
    listen_key_path=BINGX_LISTEN_KEY_PATH,
    order_path=f"{_BX}/trade/order",
    rest_paths=(
        f"{_BX}/trade/openOrders",
        f"{_BX}/trade/fillHistory",
        "/openApi/swap/v3/user/balance",
        f"{_BX}/user/positions",
        BINGX_LISTEN_KEY_PATH,
        f"{_BX}/trade/order",
        "*",
    ),
)
VENUES: dict[str, VenueProfile] = {"binance": BINANCE, "bingx": BINGX}


def profile(venue: str | VenueProfile) -> VenueProfile:
    if isinstance(venue, VenueProfile):
        return venue
    try:
        return VENUES[venue]
    except KeyError:
        raise ValueError(f"unknown venue {venue!r}; expected one of {sorted(VENUES)}") from None


RECOVERY_DEADLINE = 20.0
CONVERGE_DEADLINE = 10.0
SCHEDULE_DEADLINE = 120.0


# ------------------------------------------------------------------------------------------------
# Schedules: pure functions of the seed
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Step:
    fault: str
    params: tuple[tuple[str, Any], ...] = ()
    # What the market/strategy does inside the fault window.
    place: int = 0  # new resting limit orders
    market: int = 0  # market orders
    cancel: int = 0  # cancels of open orders
    move: str = "0"  # relative price move, e.g. "-0.004" (fills resting orders on the way)

    def p(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def describe(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in self.params)
        actions = f"place={self.place} market={self.market} cancel={self.cancel} move={self.move}"
        return f"{self.fault}({params}) {actions}"


def make_schedule(seed: int, steps: int | None = None, venue: str = "binance") -> list[Step]:
    """The schedule of ``seed`` on ``venue`` (Binance's schedules are unchanged by BingX's arrival)."""
    if profile(venue).name == "bingx":
        return _make_bingx_schedule(seed, steps)
    rng = random.Random(seed)
    n = steps if steps is not None else rng.randint(3, 6)
    out: list[Step] = []
    for _ in range(n):
        fault = rng.choice(FAULT_KINDS)
        params: dict[str, Any] = {}
        if fault == "keepalive_failure":
            params["code"] = rng.choice([-1125, 0])  # listen key gone, or a cut connection
        elif fault == "socket_stall":
            params["mode"] = rng.choice(["drop", "queue"])
        elif fault == "rest_failures":
            params["path"] = rng.choice(
                ["/fapi/v1/openOrders", "/fapi/v1/userTrades", "/fapi/v1/listenKey", "/fapi/v1/order", "*"]
            )
            params["method"] = "GET" if params["path"] not in ("/fapi/v1/listenKey", "*") else "*"
            params["status"] = rng.choice([0, 500, 503, 429])
            params["count"] = rng.randint(1, 3)
            params["and_drop"] = rng.random() < 0.7  # force a recovery through the failures
        elif fault == "rest_latency":
            params["rest_ms"] = rng.choice([50, 150, 400])
            params["ws_ms"] = rng.choice([0, 20, 80])
        elif fault == "duplicate_reorder":
            params["duplicate"] = rng.random() < 0.7
            params["reorder"] = rng.random() < 0.7
        elif fault in ("cut_submit", "cut_cancel"):
            params["status"] = rng.choice([0, 0, 503])
            params["after_execute"] = rng.random() < 0.6
        move = rng.choice(["0", "0", f"{rng.uniform(-0.008, 0.008):.4f}"])
        out.append(
            Step(
                fault=fault,
                params=tuple(sorted(params.items())),
                place=rng.randint(0, 4) + (1 if fault == "cut_cancel" else 0),
                market=rng.randint(0, 2) + (1 if fault == "cut_submit" else 0),
                cancel=rng.randint(0, 2) + (1 if fault == "cut_cancel" else 0),
                move=move,
            )
        )
    return out


def _make_bingx_schedule(seed: int, steps: int | None) -> list[Step]:
    rng = random.Random(f"bingx-{seed}")
    n = steps if steps is not None else rng.randint(3, 6)
    out: list[Step] = []
    for _ in range(n):
        fault = rng.choice(BINGX_FAULT_KINDS)
        params: dict[str, Any] = {}
        if fault == "keepalive_failure":
            params["status"] = rng.choice([404, 404, 0])  # key gone (must rotate), or a cut (retried)
        elif fault == "socket_stall":
            params["mode"] = rng.choice(["drop", "queue"])
        elif fault == "rest_failures":
            params["path"] = rng.choice(BINGX.rest_paths)
            params["method"] = "*" if params["path"] in (BINGX_LISTEN_KEY_PATH, "*") else "GET"
            params["status"] = rng.choice([0, 500, 503, 429])
            params["count"] = rng.randint(1, 3)
            params["and_drop"] = rng.random() < 0.7
        elif fault == "rest_latency":
            params["rest_ms"] = rng.choice([50, 150, 400])
            params["ws_ms"] = rng.choice([0, 20, 80])
        elif fault == "duplicate_reorder":
            params["duplicate"] = rng.random() < 0.7
            params["reorder"] = rng.random() < 0.7
        elif fault == "drop_events":
            params["ratio"] = rng.choice([0.25, 0.5, 1.0])
        elif fault in ("cut_submit", "cut_cancel"):
            params["status"] = rng.choice([0, 0, 503])
            params["after_execute"] = rng.random() < 0.6
        move = rng.choice(["0", "0", f"{rng.uniform(-0.008, 0.008):.4f}"])
        out.append(
            Step(
                fault=fault,
                params=tuple(sorted(params.items())),
                place=rng.randint(0, 4) + (1 if fault in ("cut_cancel", "overlap_rotation") else 0),
                market=rng.randint(0, 2) + (1 if fault == "cut_submit" else 0),
                cancel=rng.randint(0, 2) + (1 if fault == "cut_cancel" else 0),
                move=move,
            )
        )
    return out


# ------------------------------------------------------------------------------------------------
# Running one schedule
# ------------------------------------------------------------------------------------------------
@dataclass
class ScheduleResult:
    seed: int
    steps: list[Step]
    venue: str = "binance"
    faults: Counter[str] = field(default_factory=Counter)
    recoveries: int = 0
    recovery_times: list[float] = field(default_factory=list)
    orders: int = 0
    venue_trades: int = 0
    violations: list[str] = field(default_factory=list)
    report: OracleReport | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def replay(self) -> str:
        return f"python -m adapters.testkit.chaos --venue {self.venue} --seed {self.seed} -v"


class Chaos:
    """Drives one schedule on a running :class:`SimNode`."""

    def __init__(
        self,
        env: SimNode,
        rng: random.Random,
        log: Callable[[str], None],
        venue: VenueProfile = BINANCE,
    ) -> None:
        self.env = env
        self.rng = rng
        self.log = log
        self.venue = venue
        self.orders: list[ClientOrderId] = []

    @property
    def client(self) -> Any:
        return exec_client(self.env)

    # --- trading ---------------------------------------------------------------------------------
    def _symbol(self) -> str:
        return self.rng.choice(list(self.venue.symbols))

    def _qty(self, symbol: str) -> str:
        lo, hi = self.venue.symbols[symbol][1]
        return str(Decimal(self.rng.randint(lo, hi)) * self.venue.qty_step[symbol])

    def place(self, n: int) -> None:
        strat = self.env.strategy
        for _ in range(n):
            symbol = self._symbol()
            iid, _, tick = self.venue.symbols[symbol]
            last = self.env.sim.engine.last_price(symbol)
            side = self.rng.choice([OrderSide.BUY, OrderSide.SELL])
            offset = Decimal(str(round(self.rng.uniform(0.0005, 0.006), 4)))
            factor = Decimal(1) - offset if side == OrderSide.BUY else Decimal(1) + offset
            price = (last * factor).quantize(tick)
            self.orders.append(strat.limit(iid, side, self._qty(symbol), str(price)))

    def market(self, n: int) -> None:
        for _ in range(n):
            symbol = self._symbol()
            side = self.rng.choice([OrderSide.BUY, OrderSide.SELL])
            self.orders.append(
                self.env.strategy.market(self.venue.symbols[symbol][0], side, self._qty(symbol))
            )

    def cancel(self, n: int) -> None:
        cache = self.env.node.cache if self.env.node is not None else None
        if cache is None:
            return
        open_ids = [
            c
            for c in self.orders
            if (o := cache.order(c)) is not None and o.is_open and not o.is_pending_cancel
        ]
        open_ids = [c for c in open_ids if cache.order(c).status != OrderStatus.SUBMITTED]  # type: ignore[union-attr]
        for cid in self.rng.sample(open_ids, min(n, len(open_ids))):
            self.env.strategy.cancel(cid)

    def move(self, rel: str) -> None:
        if Decimal(rel) == 0:
            return
        for symbol, (_, _, tick) in self.venue.symbols.items():
            last = self.env.sim.engine.last_price(symbol)
            self.env.sim.engine.set_price(symbol, (last * (Decimal(1) + Decimal(rel))).quantize(tick))

    def act(self, step: Step) -> None:
        self.place(step.place)
        self.market(step.market)
        self.cancel(step.cancel)
        self.move(step.move)

    # --- faults ----------------------------------------------------------------------------------
    async def fire(self, step: Step) -> None:
        env, faults, venue = self.env, self.env.sim.faults, self.venue
        metrics = self.client.user_stream.ctx.metrics
        runs_before = metrics.runs
        kind = step.fault
        if kind == "listen_key_expiry":
            faults.expire_listen_keys()
            self.act(step)
        elif kind == "keepalive_failure":
            if venue.name == "bingx":
                status = step.p("status")
                faults.fail("PUT", venue.listen_key_path, count=1, status=status)
            else:
                code = step.p("code")
                faults.fail(
                    "PUT", venue.listen_key_path, count=1, status=400 if code else 0, code=code or None
                )
            self.act(step)
        elif kind == "socket_drop":
            faults.drop_streams("user")
            self.act(step)
        elif kind == "socket_stall":
            faults.stall_streams("user", seconds=30, mode=step.p("mode", "drop"))
            self.act(step)
        elif kind == "day_close":
            faults.expire_connections("user")
            self.act(step)
        elif kind == "overlap_rotation":
            # Rest this step's orders first, so the move can fill them while both sockets are open.
            self.place(step.place)
            await self.settle()
            self.client.user_stream.trigger.fire("scheduled rotation")
            await env.wait_until(
                lambda: metrics.in_progress or metrics.runs > runs_before, what="rotation start"
            )
            self.market(step.market)
            self.cancel(step.cancel)
            self.move(step.move)
        elif kind == "rest_failures":
            faults.fail(step.p("method"), step.p("path"), count=step.p("count"), status=step.p("status"))
            if step.p("and_drop"):
                faults.drop_streams("user")
            self.act(step)
        elif kind == "rest_latency":
            faults.set_latency(rest_ms=step.p("rest_ms"), ws_ms=step.p("ws_ms"))
            self.act(step)
        elif kind == "duplicate_reorder":
            faults.set_user_events(duplicate=step.p("duplicate"), reorder=step.p("reorder"))
            self.act(step)
        elif kind == "drop_events":
            faults.set_user_events(drop_ratio=step.p("ratio"))
            self.act(step)
        elif kind == "cut_submit":
            faults.fail(
                "POST",
                venue.order_path,
                count=1,
                status=step.p("status"),
                after_execute=step.p("after_execute"),
            )
            self.act(step)
        elif kind == "cut_cancel":
            faults.fail(
                "DELETE",
                venue.order_path,
                count=1,
                status=step.p("status"),
                after_execute=step.p("after_execute"),
            )
            # The cut must meet a cancel: let the orders placed in this step rest first.
            self.place(step.place)
            await self.settle()
            self.market(step.market)
            self.cancel(step.cancel)
            self.move(step.move)
        else:  # pragma: no cover - make_schedule only emits known kinds
            raise ValueError(kind)
        if self.must_recover(step):
            await env.wait_until(
                lambda: metrics.runs > runs_before and not metrics.in_progress,
                within=RECOVERY_DEADLINE,
                what=f"recovery after {kind}",
            )
        await self.settle()
        # Non-sticky faults end with their step; rest latency and duplicates stay until the end of
        # the step so that recoveries and commands of *this* step run through them.
        faults.set_latency(rest_ms=0, ws_ms=0)
        faults.set_user_events(duplicate=False, reorder=False)
        if kind == "drop_events":
            faults.set_user_events(drop_ratio=0.0)

    def must_recover(self, step: Step) -> bool:
        """Whether ``step`` must end in a (successful) recovery run. A keepalive cut (no answer) is
        retried, not proof the key is gone: only Binance's -1125 / BingX's 404 must rotate."""
        kind = step.fault
        if kind == "keepalive_failure":
            return bool(step.p("code") if self.venue.name == "binance" else step.p("status") == 404)
        if kind == "rest_failures":
            return bool(step.p("and_drop"))
        return self.venue.faults[kind]

    async def settle(self, within: float = 10.0) -> None:
        """Wait until no order of ours is still in flight (not yet through the engine's queue,
        submitted, pending cancel or update)."""
        node = self.env.node
        assert node is not None
        in_flight = (
            OrderStatus.INITIALIZED,
            OrderStatus.SUBMITTED,
            OrderStatus.PENDING_CANCEL,
            OrderStatus.PENDING_UPDATE,
        )

        def quiet() -> bool:
            for cid in self.orders:
                o = node.cache.order(cid)
                if o is None or o.status in in_flight:
                    return False
            return True

        try:
            await self.env.wait_until(quiet, within=within, what="orders settled")
        except TimeoutError:
            self.log("  (orders still in flight after settle deadline; the oracle will judge)")


def exec_client(env: SimNode) -> Any:
    """The node's execution client, whichever venue it trades."""
    return env.bingx_client if env.is_bingx else env.exec_client


def full_check(env: SimNode) -> OracleReport:
    """Every oracle invariant, the venue's state in the oracle's terms (``venue="bingx"``)."""
    assert env.node is not None
    return check(
        env.sim.state(),
        env.node.cache,
        avg_price=True,
        positions=True,
        balances=True,
        venue="bingx" if env.is_bingx else None,
    )


async def run_schedule(
    seed: int,
    *,
    steps: int | None = None,
    verbose: bool = False,
    log: Callable[[str], None] = print,
    venue: str = "binance",
) -> ScheduleResult:
    prof = profile(venue)
    schedule = make_schedule(seed, steps, prof.name)
    result = ScheduleResult(seed, schedule, prof.name)
    started = time.monotonic()

    def vlog(msg: str) -> None:
        if verbose:
            log(msg)

    try:
        await asyncio.wait_for(_run(seed, schedule, result, vlog, prof), timeout=SCHEDULE_DEADLINE)
    except TimeoutError:
        result.violations.append(f"schedule did not finish within {SCHEDULE_DEADLINE:.0f}s")
    except Exception as exc:
        result.violations.append(f"run crashed: {exc!r}")
    result.seconds = time.monotonic() - started
    return result


async def _run(
    seed: int,
    schedule: list[Step],
    result: ScheduleResult,
    vlog: Callable[[str], None],
    venue: VenueProfile = BINANCE,
) -> None:
    async with SimNode(
        venue=venue.sim_venue,
        seed=seed,
        step_interval=3600.0,
        exec_config=venue.exec_config,
        log_level="ERROR",
    ) as env:
        ctx = exec_client(env).user_stream.ctx
        timings: list[RunTiming] = []
        ctx.on_run = timings.append
        chaos = Chaos(env, random.Random(seed * 7919 + 1), vlog, venue)
        chaos.place(4)
        await chaos.settle()
        for i, step in enumerate(schedule, 1):
            vlog(f"  step {i}: {step.describe()}")
            result.faults[step.fault] += 1
            try:
                await chaos.fire(step)
            except TimeoutError as exc:
                result.violations.append(f"step {i} {step.fault}: {exc}")
                break
        env.sim.faults.reset()
        await chaos.settle()
        metrics = ctx.metrics
        with contextlib.suppress(TimeoutError):  # the report below says what did not converge
            await env.wait_until(
                lambda: not metrics.in_progress and full_check(env).ok,
                within=CONVERGE_DEADLINE,
                what="node to match the venue",
            )
        report = full_check(env)
        result.report = report
        result.recoveries = metrics.runs
        result.recovery_times = [t.total for t in timings]
        result.orders = len(chaos.orders)
        result.venue_trades = report.venue_trades
        if not report.ok:
            result.violations.append(report.details())


# ------------------------------------------------------------------------------------------------
# Many schedules and the summary
# ------------------------------------------------------------------------------------------------
@dataclass
class Summary:
    results: list[ScheduleResult] = field(default_factory=list)
    venue: str = "binance"

    def render(self) -> str:
        faults: Counter[str] = Counter()
        for r in self.results:
            faults.update(r.faults)
        times = [t for r in self.results for t in r.recovery_times]
        failing = [r for r in self.results if not r.ok]
        violations: Counter[str] = Counter()
        for r in failing:
            if r.report is not None and not r.report.ok:
                violations.update(r.report.violations())
            for v in r.violations:
                if r.report is None or v != r.report.details():
                    violations[v.split(":")[0]] += 1
        lines = [
            "",
            f"== chaos summary: {self.venue} ==",
            f"schedules               {len(self.results)} "
            f"({len(self.results) - len(failing)} ok, {len(failing)} failing)",
            f"orders submitted        {sum(r.orders for r in self.results)}",
            f"venue trades checked    {sum(r.venue_trades for r in self.results)}",
            f"recoveries              {sum(r.recoveries for r in self.results)}",
            f"max recovery time       {max(times) * 1000:.0f} ms" if times else "max recovery time       -",
            f"wall time               {sum(r.seconds for r in self.results):.0f} s",
            "faults fired by kind:",
        ]
        lines += [f"  {k:<22}{faults[k]}" for k in profile(self.venue).fault_kinds]
        lines.append(f"violations              {sum(violations.values())}")
        lines += [f"  {k:<22}{v}" for k, v in sorted(violations.items())]
        for r in failing:
            lines.append(f"FAILING seed {r.seed}: {r.violations[0].splitlines()[0]}")
            lines.append(f"  replay: {r.replay()}")
        return "\n".join(lines)


async def run_many(
    seeds: list[int], *, steps: int | None = None, verbose: bool = False, venue: str = "binance"
) -> Summary:
    summary = Summary(venue=profile(venue).name)
    for n, seed in enumerate(seeds, 1):
        if verbose:
            print(f"{venue} seed {seed}:")
        result = await run_schedule(seed, steps=steps, verbose=verbose, venue=venue)
        summary.results.append(result)
        mark = "ok" if result.ok else "FAIL"
        print(
            f"[{venue} {n}/{len(seeds)}] seed {seed:<6} {mark:<4} faults={sum(result.faults.values())} "
            f"recoveries={result.recoveries} trades={result.venue_trades} {result.seconds:.1f}s",
            flush=True,
        )
        if not result.ok:
            for v in result.violations:
                print("    " + v.replace("\n", "\n    "))
            print(f"    replay: {result.replay()}", flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20, help="run seeds FIRST..FIRST+N-1")
    parser.add_argument("--first", type=int, default=1, help="first seed (with --seeds)")
    parser.add_argument("--seed", type=int, action="append", help="run exactly this seed (repeatable)")
    parser.add_argument(
        "--venue", choices=["binance", "bingx", "both"], default="both", help="venue(s) to run each seed on"
    )
    parser.add_argument("--steps", type=int, default=None, help="faults per schedule (default: 3-6 by seed)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each step")
    parser.add_argument("--soak", action="store_true", help="run the time-scaled soak instead")
    parser.add_argument("--days", type=float, default=7.0, help="soak: simulated days")
    parser.add_argument("--hour-secs", type=float, default=2.0, help="soak: real seconds per simulated hour")
    args = parser.parse_args(argv)
    if args.soak:
        from adapters.testkit.soak import main as soak_main

        return soak_main(days=args.days, hour_secs=args.hour_secs)
    seeds = args.seed or list(range(args.first, args.first + args.seeds))
    venues = ["binance", "bingx"] if args.venue == "both" else [args.venue]

    async def run_all() -> list[Summary]:
        return [await run_many(seeds, steps=args.steps, verbose=args.verbose, venue=v) for v in venues]

    summaries = asyncio.run(run_all())
    for summary in summaries:
        print(summary.render())
    return 0 if all(r.ok for s in summaries for r in s.results) else 1


if __name__ == "__main__":
    sys.exit(main())
