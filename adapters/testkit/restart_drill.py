"""The restart drill: a node killed with SIGKILL in the middle of fills, restarted from Redis, checked
against the venue's ground truth - the way an operator's deploy, OOM or reboot goes.

Per seed and venue, three processes: the simulator from its command line (``python -m adapters.sim``,
its market moved only by the drill), a real ``redis-server`` (:class:`RedisServer`) and the node
(:mod:`adapters.testkit.drill_node`: a ``TradingNode`` with NautilusTrader's Redis-backed cache and
our execution client). The drill:

1. starts the node; its strategy places a ladder: limit orders that rest on both sides, limit orders
   larger than the best book level (they fill in part at once and rest), market orders;
2. makes fills happen (another participant trading against the resting orders: ``POST /sim/trade``,
   partial fills of a chosen size; market orders of the node) and, while they happen, SIGKILLs the
   node - with an order in flight when the seed says so (the venue holds the submit with REST latency,
   so the node dies with the request sent and no answer: the venue executes it after the death);
3. makes more fills happen while the node is down (external trades, a price move through the best
   resting order);
4. restarts the node with the same trader id and Redis, and keeps trading against its resting orders
   while it starts: fills land during its connect, NautilusTrader's reconciliation and our client's
   startup sync;
5. waits (condition with a deadline) until the node agrees with the venue, and checks with the
   oracle (:func:`adapters.sim.oracle.check`, every option on, as the chaos runner does): every
   venue trade exactly once as a fill (none lost, duplicated, phantom), no inferred fill
   (``INTERNAL-DIFF``), every order's status, filled quantity and average price, the net position
   and the wallet balance.

Counts per seed and in total: trades checked, fills while down, fills during startup, phantom, lost,
order mismatches, position mismatches. Exit 1 on any violation, and when a seed exercised nothing
(no fill while the node was down).

    python -m adapters.testkit.restart_drill --seeds 50 --venue both     # make restart-drill
    python -m adapters.testkit.restart_drill --venue bingx --seed 7 -v   # replay one drill
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import aiohttp

import adapters
from adapters.sim.oracle import symbol_of
from adapters.testkit.drill_node import INSTRUMENT, MARK
from adapters.testkit.redis_server import RedisServer

VENUES = ("binance", "bingx")
SIM_DIALECT = {"binance": "binance-futures", "bingx": "bingx"}
DEPTH_PATH = {"binance": "/fapi/v1/depth", "bingx": "/openApi/swap/v2/quote/depth"}
SUBMIT_REQUEST = {"binance": "POST /fapi/v1/order", "bingx": "POST /openApi/swap/v2/trade/order"}
QTY_STEP = Decimal("0.001")
TICK = Decimal("0.1")
IN_FLIGHT_LATENCY_MS = 1500  # the venue holds the submit this long: the node dies before the answer
STARTUP_PUMP_MAX = 8  # external trades fired at most while the node starts
CONVERGE_SECS = 25.0


@dataclass(slots=True)
class DrillResult:
    venue: str
    seed: int
    trades_checked: int = 0
    fills_before_kill: int = 0
    fills_while_down: int = 0
    fills_during_startup: int = 0
    phantom: int = 0
    lost: int = 0
    duplicated: int = 0
    inferred: int = 0
    order_mismatches: int = 0
    position_mismatches: int = 0
    other_violations: dict[str, int] = field(default_factory=dict)
    in_flight: str = "-"  # the order in flight at the kill: what the venue did with it
    resolved_by_query: int = 0  # orders the restarted node's startup sync resolved by querying the venue
    restored_orders: int = 0
    write_gaps_repaired: int = 0  # fills the restored positions lacked (NautilusTrader's write gap)
    # Orders of the strategy the node ended up knowing under another strategy (EXTERNAL): they were not
    # in Redis at the restart, so NautilusTrader adopted them from the venue's reports. Correct, but the
    # strategy no longer owns them - what losing writes costs (see docs/operations.md).
    orders_adopted_external: int = 0
    seconds: float = 0.0
    error: str | None = None
    details: str = ""

    @property
    def violations(self) -> int:
        return (
            self.phantom
            + self.lost
            + self.duplicated
            + self.inferred
            + self.order_mismatches
            + self.position_mismatches
            + sum(self.other_violations.values())
        )

    @property
    def exercised(self) -> bool:
        return self.trades_checked > 0 and self.fills_while_down > 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.violations == 0 and self.exercised

    def line(self) -> str:
        mark = "ok" if self.ok else "FAIL"
        return (
            f"[{self.venue:<7}] seed {self.seed:<5} {mark:<4} trades={self.trades_checked} "
            f"before-kill={self.fills_before_kill} while-down={self.fills_while_down} "
            f"during-startup={self.fills_during_startup} phantom={self.phantom} lost={self.lost} "
            f"dup={self.duplicated} inferred={self.inferred} order-mismatch={self.order_mismatches} "
            f"position-mismatch={self.position_mismatches} in-flight={self.in_flight} "
            f"resolved-by-query={self.resolved_by_query} "
            f"restored={self.restored_orders} write-gap-repaired={self.write_gaps_repaired} "
            f"adopted-external={self.orders_adopted_external} "
            f"{self.seconds:.1f}s"
            + (f" other={self.other_violations}" if self.other_violations else "")
            + (f" ERROR {self.error}" if self.error else "")
        )


# --------------------------------------------------------------------------- processes


def _child_env() -> dict[str, str]:
    """The children import this very ``adapters`` package (a worktree, a checkout), whatever the cwd."""
    root = str(Path(adapters.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


async def _read_json_line(stream: asyncio.StreamReader, within: float) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            line = await stream.readline()
            if not line:
                raise RuntimeError("the process ended before printing its JSON line")
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict):
                    return data


class SimProcess:
    """The simulator from its command line, its market still unless the drill moves it."""

    def __init__(self, venue: str, seed: int) -> None:
        self.venue = venue
        self.seed = seed
        self.proc: asyncio.subprocess.Process | None = None
        self.info: dict[str, Any] = {}

    async def start(self) -> SimProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.sim", SIM_DIALECT[self.venue], "--port", "0",
            "--seed", str(self.seed), "--step-interval", "3600",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=_child_env(),
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.info = await _read_json_line(self.proc.stdout, 30.0)
        return self

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class NodeProcess:
    """One life of the node: started, told what to do, killed or stopped."""

    def __init__(
        self,
        venue: str,
        sim: dict[str, Any],
        redis: RedisServer,
        log_dir: Path | None,
        buffer_interval_ms: int | None = None,
    ) -> None:
        self.venue = venue
        self.buffer_interval_ms = buffer_interval_ms
        self.sim = sim
        self.redis = redis
        self.log_dir = log_dir
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self.other: deque[str] = deque(maxlen=40)  # NautilusTrader's console lines: for a failure
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        args = [
            sys.executable, "-m", "adapters.testkit.drill_node", "--venue", self.venue,
            "--sim", json.dumps(self.sim), "--redis-host", self.redis.host,
            "--redis-port", str(self.redis.port), "--trader-id", "DRILL-001",
        ]  # fmt: skip
        if self.log_dir is not None:
            args += ["--log-dir", str(self.log_dir)]
        if self.buffer_interval_ms is not None:
            args += ["--buffer-interval-ms", str(self.buffer_interval_ms)]
        self.proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=16 * 1024 * 1024,  # a check answer carries the node's view
            env=_child_env(),
        )
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="drill-node-reader")

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            text = line.decode(errors="replace").rstrip()
            if text.startswith(MARK):
                self.events.append(json.loads(text[len(MARK) :]))
            elif text:
                self.other.append(text)
            self._changed.set()
        self._changed.set()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and not self._ended()

    def _ended(self) -> bool:
        return self._reader is not None and self._reader.done()

    def seen(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    async def wait_event(
        self, predicate: Callable[[dict[str, Any]], bool], within: float, what: str, start: int = 0
    ) -> dict[str, Any]:
        """The first event from index ``start`` on that matches; woken by each line the node prints."""
        async with asyncio.timeout(within):
            while True:
                for e in self.events[start:]:
                    if predicate(e):
                        return e
                if self._ended():
                    tail = "\n".join(self.other)
                    raise RuntimeError(f"the node exited while waiting for {what}:\n{tail}")
                self._changed.clear()
                await self._changed.wait()

    async def send(self, cmd: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()

    async def check(self, within: float = 10.0) -> dict[str, Any]:
        start = len(self.events)
        await self.send({"cmd": "check"})
        return await self.wait_event(lambda e: e["event"] == "check", within, "a check", start)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no flush - what NautilusTrader had not written to Redis is lost."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ConnectionError):
            await self.send({"cmd": "stop"})
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            await self.kill()
        if self._reader is not None:
            await self._reader


# --------------------------------------------------------------------------- the venue, directly


class Venue:
    """The drill's hand on the simulator: ground truth, external trades, price, faults."""

    def __init__(self, venue: str, info: dict[str, Any], session: aiohttp.ClientSession) -> None:
        self.venue = venue
        self.rest = info["rest"]
        self.session = session
        self.symbol = symbol_of(INSTRUMENT[venue])

    async def state(self) -> dict[str, Any]:
        async with self.session.get(f"{self.rest}/sim/state") as r:
            return dict(await r.json())

    async def trades(self) -> int:
        return len((await self.state())["trades"])

    async def control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.session.post(f"{self.rest}{path}", json=body or {}) as r:
            data = dict(await r.json())
            if r.status != 200:
                raise RuntimeError(f"{path}: {data}")
            return data

    async def trade(self, side: str, qty: Decimal) -> Decimal:
        """Another participant's taker order against our resting orders (partial fills)."""
        res = await self.control("/sim/trade", {"symbol": self.symbol, "side": side, "qty": str(qty)})
        return Decimal(res["traded"])

    async def book(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        async with self.session.get(
            f"{self.rest}{DEPTH_PATH[self.venue]}", params={"symbol": self.symbol, "limit": "5"}
        ) as r:
            body = await r.json()
        data = body.get("data", body)

        def levels(rows: list[Any]) -> list[tuple[Decimal, Decimal]]:
            return [(Decimal(str(p)), Decimal(str(q))) for p, q in rows]

        return levels(data["bids"]), levels(data["asks"])

    async def requests(self, key: str) -> int:
        by = (await self.state())["requests"]["by_endpoint"]
        return int(by.get(key, {}).get("requests", 0))


async def wait_for(condition: Callable[[], Any], within: float, what: str, interval: float = 0.02) -> None:
    """Poll an async condition on the venue (HTTP: there is no event to await) until it holds."""
    try:
        async with asyncio.timeout(within):
            while not await condition():  # noqa: ASYNC110 - venue state over HTTP, no event to await
                await asyncio.sleep(interval)
    except TimeoutError:
        raise TimeoutError(f"timed out after {within}s waiting for {what}") from None


# --------------------------------------------------------------------------- the drill


def _qty(rng: random.Random, lo: int, hi: int) -> Decimal:
    return QTY_STEP * rng.randint(lo, hi)


def _px(value: Decimal) -> str:
    return str(value.quantize(TICK, rounding=ROUND_DOWN))


def ladder(
    rng: random.Random, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]
) -> list[dict[str, Any]]:
    """Limit orders resting on both sides, a limit larger than the best opposite level (fills in
    part at once, the rest rests) and market orders."""
    best_bid, best_ask = bids[0][0], asks[0][0]
    orders: list[dict[str, Any]] = []
    for k in range(1, rng.randint(3, 5) + 1):
        orders.append({"type": "LIMIT", "side": "BUY", "qty": str(_qty(rng, 10, 30)),
                       "price": _px(best_bid * (1 - Decimal("0.0002") * k))})  # fmt: skip
        orders.append({"type": "LIMIT", "side": "SELL", "qty": str(_qty(rng, 10, 30)),
                       "price": _px(best_ask * (1 + Decimal("0.0002") * k) + TICK)})  # fmt: skip
    side = rng.choice(["BUY", "SELL"])
    price, level_qty = (asks if side == "BUY" else bids)[0]
    big = (level_qty * Decimal("1.5")).quantize(QTY_STEP, rounding=ROUND_DOWN)
    orders.append({"type": "LIMIT", "side": side, "qty": str(big), "price": str(price)})
    for _ in range(rng.randint(1, 3)):
        orders.append({"type": "MARKET", "side": rng.choice(["BUY", "SELL"]), "qty": str(_qty(rng, 2, 8))})
    rng.shuffle(orders)
    return orders


async def run_drill(
    venue: str,
    seed: int,
    redis: RedisServer,
    *,
    verbose: bool = False,
    log_dir: Path | None = None,
    buffer_interval_ms: int | None = None,
) -> DrillResult:
    result = DrillResult(venue=venue, seed=seed)
    t0 = time.monotonic()
    rng = random.Random(f"restart-drill:{venue}:{seed}")

    def vlog(msg: str) -> None:
        if verbose:
            print(f"  {time.monotonic() - t0:6.2f}s {msg}", flush=True)

    redis.flush()  # a fresh trader: nothing of an earlier seed in the cache
    sim = await SimProcess(venue, seed).start()
    nodes: list[NodeProcess] = []
    try:
        async with aiohttp.ClientSession() as session:
            v = Venue(venue, sim.info, session)
            await _drill(v, sim, redis, rng, result, nodes, vlog, log_dir, buffer_interval_ms)
    except Exception as exc:  # a drill that cannot finish is a failed drill, with its reason
        result.error = f"{type(exc).__name__}: {exc}"
        if nodes:
            result.details = "\n".join(nodes[-1].other)
    finally:
        for node in nodes:
            await node.stop()
        await sim.stop()
        result.seconds = time.monotonic() - t0
    return result


async def _drill(
    v: Venue,
    sim: SimProcess,
    redis: RedisServer,
    rng: random.Random,
    result: DrillResult,
    nodes: list[NodeProcess],
    vlog: Callable[[str], None],
    log_dir: Path | None,
    buffer_interval_ms: int | None,
) -> None:
    venue = v.venue
    # 1. First life: start, place the ladder.
    first = NodeProcess(venue, sim.info, redis, log_dir, buffer_interval_ms)
    nodes.append(first)
    await first.start()
    await first.wait_event(lambda e: e["event"] == "ready", 60, "the first node to be ready")
    vlog("node 1 ready")
    bids, asks = await v.book()
    orders = ladder(rng, bids, asks)
    await first.send({"cmd": "orders", "orders": orders})
    await wait_for(lambda: _venue_orders_at_least(v, len(orders)), 15, "the ladder on the venue")
    await first.wait_event(
        lambda e: e["event"] == "filled", 15, "a first fill in the node"
    )  # the big limit and market orders fill at once
    vlog(f"ladder placed: {len(orders)} orders")

    # 2. Fills while the node runs, then the kill in the middle of a burst.
    for _ in range(rng.randint(1, 3)):
        await v.trade(rng.choice(["BUY", "SELL"]), _qty(rng, 2, 6))
    in_flight = rng.random() < 0.6
    in_flight_cid: str | None = None
    # Its own stream of draws, so that the seeds of the other choices stay as they were.
    never_executed = in_flight and random.Random(f"restart-drill:{venue}:{result.seed}:never").random() < 0.3
    if in_flight:
        await v.control("/sim/latency", {"rest_ms": IN_FLIGHT_LATENCY_MS})
        if never_executed:
            # The held submit is then answered 503 without being executed - to a dead node: the
            # order never exists on the venue, and the restarted node must find that out.
            method, path = SUBMIT_REQUEST[venue].split(" ")
            await v.control("/sim/fail", {"method": method, "path": path, "count": 1, "status": 503})
        before = await v.requests(SUBMIT_REQUEST[venue])
        side = rng.choice(["BUY", "SELL"])
        bids, asks = await v.book()
        # Marketable (fills when the venue executes it, the node dead) or resting.
        marketable = rng.random() < 0.5
        if marketable:
            price = asks[0][0] if side == "BUY" else bids[0][0]
        else:
            price = bids[0][0] * Decimal("0.999") if side == "BUY" else asks[0][0] * Decimal("1.001")
        mark = len(first.events)
        order = {"type": "LIMIT", "side": side, "qty": str(_qty(rng, 2, 5)), "price": _px(price)}
        await first.send({"cmd": "orders", "orders": [order]})
        sub = await first.wait_event(lambda e: e["event"] == "submitted", 10, "the in-flight submit", mark)
        in_flight_cid = sub["cid"]
        await wait_for(
            lambda: _requests_above(v, SUBMIT_REQUEST[venue], before), 10, "the submit to reach the venue"
        )
        result.in_flight = "never-executed" if never_executed else "marketable" if marketable else "resting"
    burst = rng.randint(2, 4)
    kill_after = rng.randint(0, 1)  # node fills of the burst to see before the kill
    mark = len(first.events)
    for _ in range(burst):
        await v.trade(rng.choice(["BUY", "SELL"]), _qty(rng, 1, 4))
    if kill_after:
        with contextlib.suppress(TimeoutError):
            await first.wait_event(lambda e: e["event"] == "filled", 2, "a fill of the burst", mark)
    await first.kill()
    if in_flight:
        await v.control("/sim/latency", {"rest_ms": 0})  # the held submit still runs, late
    result.fills_before_kill = await v.trades()
    vlog(
        f"node 1 killed after {result.fills_before_kill} trades "
        f"(burst {burst}, in flight: {result.in_flight})"
    )

    # 3. While the node is down.
    if in_flight_cid is not None and never_executed:
        await wait_for(lambda: _fail_rules_spent(v), 10, "the in-flight submit to be answered 503")
    elif in_flight_cid is not None:
        cid = in_flight_cid.lower()
        await wait_for(lambda: _venue_knows(v, cid), 10, "the in-flight order to execute on the venue")
    for _ in range(rng.randint(2, 4)):
        await v.trade(rng.choice(["BUY", "SELL"]), _qty(rng, 1, 5))
    if rng.random() < 0.5:
        await _cross_best_resting(v, rng)

    # 4. Second life, with fills landing while it connects, reconciles and syncs.
    second = NodeProcess(venue, sim.info, redis, log_dir, buffer_interval_ms)
    nodes.append(second)
    await second.start()
    built = await second.wait_event(lambda e: e["event"] == "built", 60, "the second node to build")
    result.restored_orders = int(built["restored_orders"])
    restored_view = built.get("restored", {})
    at_built = await v.trades()
    result.fills_while_down = at_built - result.fills_before_kill
    pumped = 0
    # From "built" on, the node connects, NautilusTrader reconciles, our client syncs: trade now.
    while not second.seen("ready") and pumped < STARTUP_PUMP_MAX:
        if await v.trade(rng.choice(["BUY", "SELL"]), _qty(rng, 1, 3)) > 0:
            pumped += 1
        with contextlib.suppress(TimeoutError):
            await second.wait_event(lambda e: e["event"] == "ready", rng.uniform(0.02, 0.15), "ready")
    ready = await second.wait_event(lambda e: e["event"] == "ready", 60, "the second node to be ready")
    result.fills_during_startup = await v.trades() - at_built
    result.write_gaps_repaired = int(ready.get("position_repairs", 0))
    result.resolved_by_query = int(ready.get("in_flight", 0))
    vlog(
        f"node 2 ready: restored {result.restored_orders} orders, adopted {ready['adopted']}, in flight "
        f"{ready['in_flight']}; while down {result.fills_while_down}, during startup "
        f"{result.fills_during_startup}"
    )

    # 5. Converged? The oracle, on the node's view against the venue's ground truth.
    report = await second.check()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONVERGE_SECS
    while not (report["ok"] and not report["inferred"]) and loop.time() < deadline:
        await asyncio.sleep(0.1)  # pacing the checks; each answer is the condition
        report = await second.check()
    violations: dict[str, int] = dict(report["violations"])
    result.trades_checked = int(report["venue_trades"])
    result.phantom = violations.pop("phantom", 0)
    result.lost = violations.pop("lost", 0)
    result.duplicated = violations.pop("duplicated", 0)
    result.order_mismatches = sum(
        violations.pop(k, 0) for k in ("status_mismatches", "filled_mismatches", "avg_price_mismatches")
    )
    result.position_mismatches = violations.pop("position_mismatches", 0)
    result.inferred = len(report["inferred"])
    result.orders_adopted_external = sum(1 for o in report["view"]["orders"] if o["strategy"] == "EXTERNAL")
    result.other_violations = violations
    if not (report["ok"] and not report["inferred"]):
        result.details = report["details"] + (
            f"\ninferred: {report['inferred']}" if report["inferred"] else ""
        )
        result.details += f"\nrestored from Redis: {json.dumps(restored_view)}"
        if log_dir is not None:
            result.details += f"\nnode logs in {log_dir}"
    if in_flight_cid is not None:
        state = await v.state()
        venue_order = next(
            (
                o
                for o in state["orders"]
                if str(o.get("client_order_id", "")).lower() == in_flight_cid.lower()
            ),
            None,
        )
        result.in_flight += f":{venue_order['status'] if venue_order else 'unknown'}"
    await second.stop()


async def _venue_orders_at_least(v: Venue, n: int) -> bool:
    return len((await v.state())["orders"]) >= n


async def _requests_above(v: Venue, key: str, n: int) -> bool:
    return await v.requests(key) > n


async def _fail_rules_spent(v: Venue) -> bool:
    return not (await v.state())["faults"]["fail_rules"]


async def _venue_knows(v: Venue, cid: str) -> bool:
    return any(str(o.get("client_order_id", "")).lower() == cid for o in (await v.state())["orders"])


async def _cross_best_resting(v: Venue, rng: random.Random) -> None:
    """Move the price through the best resting order of one side: it fills in full."""
    state = await v.state()
    side = rng.choice(["BUY", "SELL"])
    open_orders = [
        o for o in state["orders"]
        if o["status"] in ("NEW", "PARTIALLY_FILLED") and o["side"] == side and o.get("price")
    ]  # fmt: skip
    if not open_orders:
        return
    prices = [Decimal(str(o["price"])) for o in open_orders]
    target = max(prices) - TICK if side == "BUY" else min(prices) + TICK
    await v.control("/sim/price", {"symbol": v.symbol, "price": str(target)})


# --------------------------------------------------------------------------- many seeds


@dataclass(slots=True)
class Summary:
    results: list[DrillResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def render(self) -> str:
        lines = ["", "restart drill                    " + "  ".join(f"{v:>10}" for v in VENUES)]
        rows = [
            ("drills", lambda rs: len(rs)),
            ("trades checked", lambda rs: sum(r.trades_checked for r in rs)),
            ("fills while down", lambda rs: sum(r.fills_while_down for r in rs)),
            ("fills during startup", lambda rs: sum(r.fills_during_startup for r in rs)),
            ("orders in flight at the kill", lambda rs: sum(r.in_flight != "-" for r in rs)),
            ("in flight, resolved by query", lambda rs: sum(r.resolved_by_query for r in rs)),
            ("write gaps repaired at restart", lambda rs: sum(r.write_gaps_repaired for r in rs)),
            ("orders adopted as EXTERNAL", lambda rs: sum(r.orders_adopted_external for r in rs)),
            ("phantom", lambda rs: sum(r.phantom for r in rs)),
            ("lost", lambda rs: sum(r.lost for r in rs)),
            ("duplicated", lambda rs: sum(r.duplicated for r in rs)),
            ("inferred fills", lambda rs: sum(r.inferred for r in rs)),
            ("order mismatches", lambda rs: sum(r.order_mismatches for r in rs)),
            ("position mismatches", lambda rs: sum(r.position_mismatches for r in rs)),
            ("other violations", lambda rs: sum(sum(r.other_violations.values()) for r in rs)),
            ("errors", lambda rs: sum(r.error is not None for r in rs)),
            ("not exercised", lambda rs: sum(not r.exercised for r in rs)),
        ]
        for name, fn in rows:
            cells = []
            for venue in VENUES:
                rs = [r for r in self.results if r.venue == venue]
                cells.append(f"{fn(rs):>10}" if rs else f"{'-':>10}")
            lines.append(f"{name:<33}" + "  ".join(cells))
        failed = [r for r in self.results if not r.ok]
        lines.append(
            f"RESULT: {'OK' if self.ok else 'FAIL'} - "
            f"{len(self.results) - len(failed)}/{len(self.results)} drills clean"
        )
        for r in failed:
            lines.append(
                f"  replay: python -m adapters.testkit.restart_drill --venue {r.venue} --seed {r.seed} -v"
            )
        return "\n".join(lines)


async def run_many(
    venues: list[str],
    seeds: list[int],
    *,
    verbose: bool = False,
    log_dir: Path | None = None,
    buffer_interval_ms: int | None = None,
) -> Summary:
    summary = Summary()
    with RedisServer() as redis:
        for venue in venues:
            for seed in seeds:
                result = await run_drill(
                    venue,
                    seed,
                    redis,
                    verbose=verbose,
                    log_dir=log_dir,
                    buffer_interval_ms=buffer_interval_ms,
                )
                summary.results.append(result)
                print(result.line(), flush=True)
                if not result.ok and result.details:
                    print("    " + result.details.replace("\n", "\n    "), flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10, help="run seeds FIRST..FIRST+N-1")
    parser.add_argument("--first", type=int, default=1, help="first seed (with --seeds)")
    parser.add_argument("--seed", type=int, action="append", help="run exactly this seed (repeatable)")
    parser.add_argument("--venue", choices=["binance", "bingx", "both"], default="both")
    parser.add_argument("--log-dir", default=None, help="keep NautilusTrader's log files of each node here")
    parser.add_argument(
        "--buffer-interval-ms",
        type=int,
        default=None,
        help="the node's CacheConfig.buffer_interval_ms (default: none, every write at once)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each phase")
    args = parser.parse_args(argv)
    seeds = args.seed or list(range(args.first, args.first + args.seeds))
    venues = list(VENUES) if args.venue == "both" else [args.venue]
    log_dir = Path(args.log_dir) if args.log_dir else None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(
        run_many(
            venues, seeds, verbose=args.verbose, log_dir=log_dir, buffer_interval_ms=args.buffer_interval_ms
        )
    )
    print(summary.render())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
