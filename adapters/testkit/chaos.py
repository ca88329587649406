"""The chaos runner: a TradingNode with our clients trades against the simulator while a seeded random
schedule fires any mix of the simulator's faults and an adversarial workload; afterwards the node is
checked against the venue's ground truth (``/sim/state``). Both venues: Binance USD-M (``--venue
binance``) and BingX (``--venue bingx``, with BingX's own faults: keepalive 404s, events lost on a
healthy socket (``drop_ratio``), forced overlap rotations); ``--venue both`` (the default) runs every
seed on each.

Each step of a schedule is one fault plus a seeded mix of workload inside the gap it opens: orders
larger than the best book level (partial fills that stay open), several orders on several symbols,
orders placed on the venue behind the node's back (external), modifies and cancels, conditional
orders that trigger while the socket is down, a submit answered with a failure and executed late
(inside the recvWindow, or past it: then it must end REJECTED), market walks that partially fill
resting orders, gaps held open past a keepalive; some schedules trade in hedge mode. Faults hit every
phase of a recovery: the snapshot, between the new socket's connect and the backfill, the swap while
the old dispatcher still drains, right after a successful run, sockets that die on connect.

Invariants checked after each schedule (``adapters.sim.oracle.check`` with every option on):

* every venue trade appears exactly once as a fill, on the right order (none lost, duplicated,
  phantom or misattributed); every venue order that was open or filled is known to the node;
* every order's final status, filled quantity and average price match the venue's;
* positions (per side in hedge mode) and the wallet balance match the venue's;
* liveness: every fault that must cause a recovery does, and the node converges within a deadline.

The summary counts how often each fault kind and each workload kind *actually happened* (from the
venue's state, the simulator's counters and the recovery's phases, never from the plan) and flags a
kind that never fired; one that was planned often enough and still never fired fails the run.

A schedule is a pure function of its seed (:func:`make_plan`), and the simulator is seeded with it
too, so a failing seed replays with ``python -m adapters.testkit.chaos --venue V --seed S -v``.

    python -m adapters.testkit.chaos --seeds 200          # seeds 1..200 on both venues
    python -m adapters.testkit.chaos --venue bingx --seeds 100
    python -m adapters.testkit.chaos --venue bingx --seed 17 -v   # replay one schedule, step by step
    python -m adapters.testkit.chaos --venue binance --user-stream-via-ws-api --seeds 50
    python -m adapters.testkit.chaos --seeds 1000 --jobs 6   # six schedules at a time, one summary

``--jobs J`` runs the seeds in J child processes (seed i goes to child i mod J) and merges their
results into one summary. A schedule spends most of its wall time waiting on the venue's and the
recovery's timers (about a tenth of a core each), so several fit on a small machine; each child has
its own simulator on its own ports, and a schedule's outcome depends only on its seed.

``--user-stream-via-ws-api`` runs Binance with the listen key over the WS API
(``user_stream_via_ws_api``: ``userDataStream.start/ping/stop`` on the trading socket): keepalive
failures hit ``userDataStream.ping``, and two faults of the trading socket join the schedule
(``trading_socket_drop``; ``cut_key_request``, the socket cut while a recovery asks it for the key).
    python -m adapters.testkit.chaos --soak [--days 7]     # time-scaled soak (adapters.testkit.soak)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import pickle
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from nautilus_trader.model.enums import OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import ClientOrderId

from adapters.core.userstream.recovery import RunTiming
from adapters.sim.model import OrderRequest, PositionSide, Side, VenueReject
from adapters.sim.model import OrderType as VenueOrderType
from adapters.sim.oracle import OracleReport, check
from adapters.testkit.chaos_probe import (
    EXTERNAL_PREFIX,
    PhaseProbe,
    gap_workload,
    hedge_both_sides,
    partially_filled_open,
)
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
    # The backoff persists across runs and resets only after a stream stayed up this long: at the
    # production 30 s every schedule after its first fault would crawl through paced runs.
    "recovery_backoff_reset_secs": 1.0,
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
    # Faults timed at one phase of a recovery (adapters.testkit.chaos_probe.PhaseProbe):
    "snapshot_fault": True,  # open-orders queries fail or crawl while the snapshot runs
    "backfill_fault": True,  # fill-history queries fail after the new socket connected
    "drain_latency": True,  # frame latency: the old dispatcher still drains during the swap
    "drop_after_run": True,  # the new socket is dropped the moment a run succeeded
    "die_on_connect": True,  # new sockets die right after the handshake
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
    "snapshot_fault": True,
    "backfill_fault": True,
    "drain_latency": True,
    "drop_after_run": True,
    "die_on_connect": True,
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

# Faults after which the user stream is down (or deaf) at once: the step's workload then happens
# inside a gap, and the step may hold that gap open (new user sockets refused) until it is done.
GAP_FAULTS = frozenset(
    {
        "listen_key_expiry",
        "socket_drop",
        "socket_stall",
        "day_close",
        "rest_failures",  # only with and_drop
        "snapshot_fault",
        "backfill_fault",
        "drop_after_run",
        "die_on_connect",
        "cut_key_request",  # WS-API mode: the user socket is dropped as the key request is cut
    }
)

# Workload kinds, each counted when the venue shows it happened (adapters.testkit.chaos_probe):
WORKLOAD_KINDS = (
    "partial_fill_open_across_gap",  # an order filled in a gap and still open (venue) at its end
    "partial_and_close_in_one_gap",  # that, and another order closed, in the same gap
    "several_orders_several_symbols",  # >= 2 orders changed on each of >= 2 symbols in one gap
    "external_order_filled",  # an order placed behind the node's back filled in a gap
    "modify_in_gap",  # an order's price/quantity changed (BingX: replaced) in a gap
    "cancel_in_gap",  # an order of the node cancelled on the venue in a gap
    "algo_triggered_in_gap",  # a conditional order triggered in a gap
    "hedge_both_sides",  # hedge mode: LONG and SHORT positions on one symbol at once
    "late_accept_in_window",  # a submit answered with a failure, executed later inside recvWindow
    "late_dropped_rejected",  # ... past recvWindow: dropped by the venue, the node's order REJECTED
    "gap_past_keepalive",  # a gap held open across a keepalive of the listen key
)
# A kind planned at least this often in one run and never fired fails the run (exit code 1).
EXPECT_FIRED_WHEN_PLANNED = 3


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """What differs between venues for the runner: simulator, symbols, faults, REST paths."""

    name: str  # "binance" | "bingx" | "binance-ws-api" (the --venue value, or its WS-API mode)
    sim_venue: str  # SimNode(venue=...)
    oracle_venue: str | None  # adapters.sim.oracle.check(venue=...)
    symbols: dict[str, tuple[str, tuple[int, int], Decimal]]
    qty_step: dict[str, Decimal]
    faults: dict[str, bool]
    exec_config: dict[str, Any]
    listen_key_path: str
    order_path: str
    open_orders_path: str  # what the recovery's snapshot queries
    fills_path: str  # what the recovery's backfill queries (after the connect)
    rest_paths: tuple[str, ...]  # GET paths a recovery / query uses ("*": every request)
    # How the listen key is kept alive, as the simulator's request log names the requests.
    keepalive_requests: tuple[str, ...] = ()
    # The user stream's listen key over the WS API (user_stream_via_ws_api): keepalive faults hit
    # userDataStream.ping, and the trading socket's own faults join the schedule.
    ws_api_user_stream: bool = False

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return tuple(self.faults)

    @property
    def venue_option(self) -> str:
        """The command-line options that select this profile."""
        if self.ws_api_user_stream:
            return "--venue binance --user-stream-via-ws-api"
        return f"--venue {self.name}"

    def keepalives(self, requests: Counter[str]) -> int:
        return sum(requests[k] for k in self.keepalive_requests)


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
    open_orders_path="/fapi/v1/openOrders",
    fills_path="/fapi/v1/userTrades",
    rest_paths=("/fapi/v1/openOrders", "/fapi/v1/userTrades", "/fapi/v1/listenKey", "/fapi/v1/order", "*"),
    keepalive_requests=("PUT /fapi/v1/listenKey",),
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
    open_orders_path=f"{_BX}/trade/openOrders",
    fills_path=f"{_BX}/trade/fillHistory",
    rest_paths=(
        f"{_BX}/trade/openOrders",
        f"{_BX}/trade/fillHistory",
        "/openApi/swap/v3/user/balance",
        f"{_BX}/user/positions",
        BINGX_LISTEN_KEY_PATH,
        f"{_BX}/trade/order",
        "*",
    ),
    keepalive_requests=(f"PUT {BINGX_LISTEN_KEY_PATH}",),
)
# Binance with the listen key over the WS API (``--user-stream-via-ws-api``): userDataStream.start/
# ping/stop on the trading socket (orders stay on REST). Its own faults: the trading socket dropped
# (nothing may break; keepalives continue, over REST while it is down) and the socket cut while a
# recovery asks for the key (userDataStream.start, executed or not: the recovery must still
# complete, the key asked again over REST).
WS_API_FAULTS: dict[str, bool] = {
    **FAULTS,
    "trading_socket_drop": False,
    "cut_key_request": True,
}
WS_API_CHAOS_EXEC_CONFIG: dict[str, Any] = {
    **CHAOS_EXEC_CONFIG,
    "user_stream_via_ws_api": True,
    "ws_trading_ping_interval_secs": 0.2,
    "ws_trading_pong_timeout_secs": 0.6,
    "ws_trading_app_ping_interval_secs": 0.2,
    "ws_trading_request_timeout_secs": 1.5,
    "ws_trading_connect_timeout_secs": 2.0,
    "ws_trading_backoff_initial_secs": 0.05,
    "ws_trading_backoff_cap_secs": 0.2,
    "ws_trading_max_reconnect_attempts": 3,
    "ws_trading_backoff_reset_after_secs": 1.0,
}
BINANCE_WS_API = dataclasses.replace(
    BINANCE,
    name="binance-ws-api",
    faults=WS_API_FAULTS,
    exec_config=WS_API_CHAOS_EXEC_CONFIG,
    # The REST listen-key path is only the fallback here: its failures rarely meet a request.
    rest_paths=("/fapi/v1/openOrders", "/fapi/v1/userTrades", "/fapi/v1/order", "*"),
    keepalive_requests=("WS userDataStream.ping", "PUT /fapi/v1/listenKey"),
    ws_api_user_stream=True,
)
WS_API_FAULT_KINDS = tuple(WS_API_FAULTS)
VENUES: dict[str, VenueProfile] = {"binance": BINANCE, "bingx": BINGX, "binance-ws-api": BINANCE_WS_API}


def profile(venue: str | VenueProfile) -> VenueProfile:
    if isinstance(venue, VenueProfile):
        return venue
    try:
        return VENUES[venue]
    except KeyError:
        raise ValueError(f"unknown venue {venue!r}; expected one of {sorted(VENUES)}") from None


RECOVERY_DEADLINE = 20.0
CONVERGE_DEADLINE = 10.0
SCHEDULE_DEADLINE = 150.0
HOLD_DEADLINE = 5.0  # how long a held gap waits for the workload to reach the venue
# A late execution inside the recvWindow (5 s) and one past it; the client resolves an ambiguous
# submit only once the venue can no longer accept it (recvWindow + 2 s), so "beyond" costs ~7 s.
LATE_INSIDE_MS = (200, 2500)
LATE_BEYOND_MS = 6500
# Big orders: this many times the best level's quantity, and never more notional than this.
BIG_FACTOR = (1.3, 2.2)
BIG_MAX_NOTIONAL = Decimal(120_000)


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
    big: int = 0  # limits at the best level for more than it holds: partial fills that stay open
    multi: bool = False  # a resting and a market order on every symbol
    external: int = 0  # orders placed on the venue directly, for the same account
    modify: int = 0  # modifies of resting orders
    stops: int = 0  # stop market / stop limit placed before the gap, triggered by its move
    walk: int = 0  # seeded market steps in the gap: resting orders take limited liquidity
    late: str = ""  # "inside" | "beyond": one submit answered with a failure, executed late
    hold: bool = False  # keep the gap open (user sockets refused) until the workload is on the venue
    long_gap: bool = False  # ... and past a keepalive of the listen key

    def p(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    @property
    def opens_gap(self) -> bool:
        return self.fault in GAP_FAULTS and (self.fault != "rest_failures" or bool(self.p("and_drop")))

    def planned_workload(self, hedge: bool) -> list[str]:
        """The workload kinds this step tries to produce (what the summary compares fired with)."""
        kinds: list[str] = []
        if self.opens_gap:
            if self.big or self.walk:
                kinds.append("partial_fill_open_across_gap")
            if (self.big or self.walk) and (self.market or self.multi or self.move != "0"):
                kinds.append("partial_and_close_in_one_gap")
            if self.multi:
                kinds.append("several_orders_several_symbols")
            if self.external:
                kinds.append("external_order_filled")
            if self.modify:
                kinds.append("modify_in_gap")
            if self.cancel:
                kinds.append("cancel_in_gap")
            if self.stops:
                kinds.append("algo_triggered_in_gap")
            if self.long_gap:
                kinds.append("gap_past_keepalive")
        if self.late == "inside":
            kinds.append("late_accept_in_window")
        elif self.late == "beyond":
            kinds.append("late_dropped_rejected")
        if hedge:
            kinds.append("hedge_both_sides")
        return kinds

    def describe(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in self.params)
        actions = f"place={self.place} market={self.market} cancel={self.cancel} move={self.move}"
        extra = [
            f"{name}={value}"
            for name, value in (
                ("big", self.big),
                ("multi", self.multi),
                ("external", self.external),
                ("modify", self.modify),
                ("stops", self.stops),
                ("walk", self.walk),
                ("late", self.late),
                ("hold", self.hold),
                ("long_gap", self.long_gap),
            )
            if value
        ]
        return f"{self.fault}({params}) {actions} {' '.join(extra)}".rstrip()


@dataclass(frozen=True, slots=True)
class Plan:
    """One schedule: its steps, and whether the account trades in hedge (dual-side) mode."""

    steps: tuple[Step, ...]
    hedge: bool = False


def make_plan(seed: int, steps: int | None = None, venue: str = "binance") -> Plan:
    """The schedule of ``seed`` on ``venue``: a pure function of both."""
    prof = profile(venue)
    rng = random.Random(seed if prof.name == "binance" else f"{prof.name}-{seed}")
    n = steps if steps is not None else rng.randint(3, 6)
    hedge = rng.random() < 0.25
    return Plan(tuple(_make_step(rng, prof) for _ in range(n)), hedge)


def make_schedule(seed: int, steps: int | None = None, venue: str = "binance") -> list[Step]:
    """The steps of :func:`make_plan`."""
    return list(make_plan(seed, steps, venue).steps)


def _fault_params(rng: random.Random, fault: str, prof: VenueProfile) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if fault == "keepalive_failure":
        if prof.name == "bingx":
            params["status"] = rng.choice([404, 404, 0])  # key gone (must rotate), or a cut (retried)
        else:
            params["code"] = rng.choice([-1125, 0])  # listen key gone, or a cut connection
    elif fault == "socket_stall":
        params["mode"] = rng.choice(["drop", "queue"])
    elif fault == "rest_failures":
        params["path"] = rng.choice(prof.rest_paths)
        params["method"] = "*" if params["path"] in (prof.listen_key_path, "*") else "GET"
        params["status"] = rng.choice([0, 500, 503, 429])
        params["count"] = rng.randint(1, 3)
        params["and_drop"] = rng.random() < 0.7  # force a recovery through the failures
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
    elif fault == "snapshot_fault":
        params["mode"] = rng.choice(["fail", "fail", "latency"])
        params["status"] = rng.choice([0, 500, 503, 429])
        params["count"] = rng.randint(1, 3)
        params["rest_ms"] = rng.choice([100, 300])
    elif fault == "backfill_fault":
        params["status"] = rng.choice([0, 500, 503, 429])
        # At least two: the REST client retries a 429 once by itself, and a fault one retry absorbs
        # never reaches the backfill (it fired 0 of 5 times in the WS-API run of seeds 1..30).
        params["count"] = rng.randint(2, 3)
    elif fault == "drain_latency":
        # Events made the moment the new socket connected reach the old one a frame latency later:
        # twice the REST latency, so inside the backfill (~4 REST calls), the swap and the drain.
        rest_ms = rng.choice([20, 40, 60])
        params["rest_ms"], params["ws_ms"] = rest_ms, 2 * rest_ms
    elif fault == "die_on_connect":
        params["count"] = rng.randint(1, 3)
    elif fault == "cut_key_request":
        params["after_execute"] = rng.random() < 0.5
    return params


def _make_step(rng: random.Random, prof: VenueProfile) -> Step:
    fault = rng.choice(prof.fault_kinds)
    params = _fault_params(rng, fault, prof)
    move = rng.choice(["0", "0", f"{rng.uniform(-0.008, 0.008):.4f}"])
    stops = rng.choice([0, 0, 0, 1, 2])
    if stops and move == "0":
        move = rng.choice(["0.004", "-0.004"])  # a stop needs a move through its trigger
    late = rng.choice(["", "", "", "", "", "", "", "", "inside", "inside", "inside", "beyond"])
    if fault == "cut_submit":
        late = ""  # both arm the next POST of an order: one rule per step keeps the outcome clear
    # (The draw is made for every GAP_FAULTS kind, so a schedule's later steps do not depend on
    # whether a REST failure also dropped the socket.)
    drawn = fault in GAP_FAULTS and rng.random() < 0.75
    hold = drawn and (fault != "rest_failures" or bool(params["and_drop"]))
    return Step(
        fault=fault,
        params=tuple(sorted(params.items())),
        place=rng.randint(0, 4) + (1 if fault in ("cut_cancel", "overlap_rotation") else 0),
        market=rng.randint(0, 2) + (1 if fault == "cut_submit" else 0),
        cancel=rng.randint(0, 2) + (1 if fault == "cut_cancel" else 0),
        move=move,
        big=rng.choice([0, 0, 1, 1, 2]),
        multi=rng.random() < 0.4,
        external=rng.choice([0, 0, 1, 2]),
        modify=rng.choice([0, 0, 1, 2]),
        stops=stops,
        walk=rng.choice([0, 0, 2, 5]),
        late=late,
        hold=hold,
        long_gap=drawn and rng.random() < 0.3 and hold,
    )


# ------------------------------------------------------------------------------------------------
# Running one schedule
# ------------------------------------------------------------------------------------------------
@dataclass
class ScheduleResult:
    seed: int
    steps: list[Step]
    venue: str = "binance"
    hedge: bool = False
    faults: Counter[str] = field(default_factory=Counter)  # planned
    faults_fired: Counter[str] = field(default_factory=Counter)
    workload: Counter[str] = field(default_factory=Counter)  # planned
    workload_fired: Counter[str] = field(default_factory=Counter)
    recoveries: int = 0
    recovery_times: list[float] = field(default_factory=list)
    orders: int = 0
    external_orders: int = 0
    venue_trades: int = 0
    partial_fills: int = 0  # venue orders seen open with part of their quantity filled
    violations: list[str] = field(default_factory=list)
    report: OracleReport | None = None
    seconds: float = 0.0
    # ERROR lines our adapters logged, by message template, the expected ones excluded (a fault makes
    # recovery attempts fail on purpose): not a violation by itself, but where a hidden race shows.
    error_lines: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.violations

    def replay(self) -> str:
        return f"python -m adapters.testkit.chaos {profile(self.venue).venue_option} --seed {self.seed} -v"


@dataclass
class StepObservation:
    """Counters read before a step fires, to tell afterwards what the step really did."""

    state: dict[str, Any]
    counters: Counter[str]
    runs: int
    attempts: int
    requests: int
    keepalives: int
    started: float
    late_records: int


class Chaos:
    """Drives one schedule on a running :class:`SimNode`."""

    def __init__(
        self,
        env: SimNode,
        rng: random.Random,
        log: Callable[[str], None],
        venue: VenueProfile = BINANCE,
        *,
        seed: int = 0,
        hedge: bool = False,
        probe: PhaseProbe | None = None,
    ) -> None:
        self.env = env
        self.rng = rng
        self.log = log
        self.venue = venue
        self.seed = seed
        self.hedge = hedge
        self.probe = probe
        self.orders: list[ClientOrderId] = []
        self.late_orders: set[ClientOrderId] = set()  # SUBMITTED until recvWindow + margin: by design
        self.external_orders = 0
        self.partial_seen: set[int] = set()  # venue order ids seen partially filled and open
        self.fired_faults: Counter[str] = Counter()
        self.fired_workload: Counter[str] = Counter()

    @property
    def client(self) -> Any:
        return exec_client(self.env)

    @property
    def metrics(self) -> Any:
        return self.client.user_stream.ctx.metrics

    # --- trading ---------------------------------------------------------------------------------
    def _symbol(self) -> str:
        return self.rng.choice(list(self.venue.symbols))

    def _qty(self, symbol: str) -> str:
        lo, hi = self.venue.symbols[symbol][1]
        return str(Decimal(self.rng.randint(lo, hi)) * self.venue.qty_step[symbol])

    def _side(self) -> OrderSide:
        return self.rng.choice([OrderSide.BUY, OrderSide.SELL])

    def _resting_price(self, symbol: str, side: OrderSide) -> Decimal:
        tick = self.venue.symbols[symbol][2]
        last = self.env.sim.engine.last_price(symbol)
        offset = Decimal(str(round(self.rng.uniform(0.0005, 0.006), 4)))
        factor = Decimal(1) - offset if side == OrderSide.BUY else Decimal(1) + offset
        return (last * factor).quantize(tick)

    def place(self, n: int, symbol: str | None = None) -> None:
        strat = self.env.strategy
        for _ in range(n):
            sym = symbol or self._symbol()
            side = self._side()
            price = self._resting_price(sym, side)
            self.orders.append(strat.limit(self.venue.symbols[sym][0], side, self._qty(sym), str(price)))

    def market(self, n: int, symbol: str | None = None) -> None:
        for _ in range(n):
            sym = symbol or self._symbol()
            self.orders.append(
                self.env.strategy.market(self.venue.symbols[sym][0], self._side(), self._qty(sym))
            )

    def _big_order(self, symbol: str, side: OrderSide) -> tuple[Decimal, Decimal] | None:
        """(price, quantity) of a limit at the best opposite level for more than that level holds,
        or None when it would be too large for the account."""
        book = self.env.sim.engine.book(symbol, 3)
        levels = book.asks if side == OrderSide.BUY else book.bids
        if not levels:
            return None
        price, level_qty = levels[0]
        step = self.venue.qty_step[symbol]
        factor = Decimal(str(round(self.rng.uniform(*BIG_FACTOR), 3)))
        qty = (level_qty * factor).quantize(step, rounding=ROUND_DOWN)
        if qty * price > BIG_MAX_NOTIONAL or qty <= level_qty:
            return None
        return price, qty

    def big(self, n: int) -> None:
        for _ in range(n):
            symbol, side = self._symbol(), self._side()
            order = self._big_order(symbol, side)
            if order is None:
                continue
            price, qty = order
            self.orders.append(
                self.env.strategy.limit(self.venue.symbols[symbol][0], side, str(qty), str(price))
            )

    def external(self, kinds: list[str]) -> None:
        """Orders for the node's account placed on the venue directly (a second app, the web UI):
        the node must adopt them and see each of their fills exactly once. Each kind is "market",
        "limit" (resting) or "big" (larger than the best level: a partial fill that stays open)."""
        engine, account = self.env.sim.engine, self.env.sim.account_id
        for kind in kinds:
            symbol, side = self._symbol(), self._side()
            qty = Decimal(self._qty(symbol))
            price: Decimal | None = None
            if kind == "big":
                sized = self._big_order(symbol, side)
                if sized is None:
                    continue
                price, qty = sized
            elif kind == "limit":
                price = self._resting_price(symbol, side)
            position_side = PositionSide.BOTH
            if self.hedge:
                position_side = PositionSide.LONG if side == OrderSide.BUY else PositionSide.SHORT
            self.external_orders += 1
            request = OrderRequest(
                symbol,
                Side.BUY if side == OrderSide.BUY else Side.SELL,
                VenueOrderType.MARKET if price is None else VenueOrderType.LIMIT,
                qty,
                price,
                position_side=position_side,
                client_order_id=f"{EXTERNAL_PREFIX}{self.seed}-{self.external_orders}",
            )
            try:
                engine.place_order(account, request)
            except VenueReject as exc:
                self.log(f"    external order refused by the venue: {exc}")

    def _open_orders(self, *, limit_only: bool = False, unfilled: bool = False) -> list[ClientOrderId]:
        node = self.env.node
        assert node is not None
        out = []
        for cid in self.orders:
            o = node.cache.order(cid)
            if o is None or o.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                continue
            if limit_only and o.order_type != OrderType.LIMIT:
                continue
            if unfilled and o.filled_qty.as_decimal() > 0:
                continue
            out.append(cid)
        return out

    def cancel(self, n: int) -> None:
        for cid in self.rng.sample(open_ids := self._open_orders(), min(n, len(open_ids))):
            self.env.strategy.cancel(cid)

    def modify(self, n: int) -> None:
        """Move resting limits away from the market (they stay resting); sometimes more quantity."""
        node = self.env.node
        assert node is not None
        candidates = self._open_orders(limit_only=True, unfilled=True)
        for cid in self.rng.sample(candidates, min(n, len(candidates))):
            order = node.cache.order(cid)
            assert order is not None
            symbol = order.instrument_id.symbol.value.removesuffix("-PERP")
            tick = self.venue.symbols[symbol][2]
            away = Decimal(str(round(self.rng.uniform(0.0003, 0.002), 4)))
            factor = Decimal(1) - away if order.side == OrderSide.BUY else Decimal(1) + away
            price = (order.price.as_decimal() * factor).quantize(tick)
            quantity = None
            if self.rng.random() < 0.3:
                quantity = str(order.quantity.as_decimal() + self.venue.qty_step[symbol])
            self.env.strategy.modify(cid, price=str(price), quantity=quantity)

    def stops(self, n: int, move: str) -> None:
        """Conditional orders whose trigger lies between now and where ``move`` takes the price."""
        rel = Decimal(move)
        if rel == 0:
            return
        side = OrderSide.BUY if rel > 0 else OrderSide.SELL  # stop buys trigger at or above
        for _ in range(n):
            symbol = self._symbol()
            iid, _, tick = self.venue.symbols[symbol]
            last = self.env.sim.engine.last_price(symbol)
            frac = Decimal(str(round(self.rng.uniform(0.2, 0.6), 2)))
            trigger = (last * (Decimal(1) + rel * frac)).quantize(tick)
            qty = self._qty(symbol)
            if self.rng.random() < 0.5:
                self.orders.append(self.env.strategy.stop_market(iid, side, qty, str(trigger)))
            else:
                # A limit through the trigger: it takes liquidity once triggered.
                price = (trigger * (Decimal(1) + rel * Decimal("0.5"))).quantize(tick)
                self.orders.append(self.env.strategy.stop_limit(iid, side, qty, str(price), str(trigger)))

    async def late(self, where: str) -> None:
        """Arm the next order POST to fail now and execute later (inside / past the recvWindow),
        then submit one order to meet it; returns once it did (nothing else of the step is sent
        before, so the late order is this one)."""
        if not where:
            return
        delay = self.rng.randint(*LATE_INSIDE_MS) if where == "inside" else LATE_BEYOND_MS
        rule = self.env.sim.faults.fail(
            "POST", self.venue.order_path, count=1, status=self.rng.choice([0, 503]), execute_after_ms=delay
        )
        symbol = self._symbol()
        before = len(self.orders)
        if self.rng.random() < 0.5:
            self.market(1, symbol)
        else:
            self.place(1, symbol)
        self.late_orders.update(self.orders[before:])
        with contextlib.suppress(TimeoutError):
            await self.env.wait_until(lambda: rule.matched > 0, within=HOLD_DEADLINE, what="the late submit")

    def move(self, rel: str) -> None:
        if Decimal(rel) == 0:
            return
        for symbol, (_, _, tick) in self.venue.symbols.items():
            last = self.env.sim.engine.last_price(symbol)
            self.env.sim.engine.set_price(symbol, (last * (Decimal(1) + Decimal(rel))).quantize(tick))

    async def act(self, step: Step) -> None:
        """The step's workload, in an order that makes it land as planned: commands first (they
        reach the venue asynchronously, so they are settled before the market moves), then the
        market walk and move (fills and closes resting orders), then the orders larger than a
        level, priced off the book as it is now, so they partially fill and stay open."""
        await self.late(step.late)  # first, alone: the armed failure must meet this order's POST
        external = [self.rng.choice(["market", "limit", "big"]) for _ in range(step.external)]
        if step.multi:
            for symbol in self.venue.symbols:
                self.place(1, symbol)
                self.market(1, symbol)
        self.place(step.place)
        self.market(step.market)
        self.external([k for k in external if k != "big"])
        self.modify(step.modify)
        self.cancel(step.cancel)
        await self.settle(within=HOLD_DEADLINE, skip=self.late_orders)
        if step.walk:
            self.env.sim.faults.step(step.walk)
        self.move(step.move)
        self.big(step.big)
        self.external([k for k in external if k == "big"])

    # --- one step --------------------------------------------------------------------------------
    def observe(self) -> StepObservation:
        sim = self.env.sim
        requests = sim.dialect.requests.requests
        return StepObservation(
            state=sim.state(),
            counters=Counter(sim.faults.counters),
            runs=self.metrics.runs,
            attempts=len(self.probe.attempts) if self.probe is not None else 0,
            requests=sum(requests.values()),
            keepalives=self.venue.keepalives(requests),
            started=asyncio.get_running_loop().time(),
            late_records=len(sim.faults.late.records),
        )

    async def prepare(self, step: Step) -> None:
        """What must rest on the venue before the gap opens."""
        if step.stops:
            self.stops(step.stops, step.move)
        if step.modify and not self._open_orders(limit_only=True, unfilled=True):
            self.place(step.modify)
        if step.fault in ("cut_cancel", "overlap_rotation"):
            self.place(step.place)  # the cut must meet a cancel; the rotation a fill: rest first
        await self.settle()

    async def run_step(self, step: Step) -> None:
        await self.prepare(step)
        seen = self.observe()
        faults = self.env.sim.faults
        if step.hold:
            faults.refuse_streams("user", True)
        try:
            rules = await self.fire(step, seen)
        finally:
            faults.refuse_streams("user", False)
        await self.settle()
        await self.account_for(step, seen, rules)
        # Non-sticky faults end with their step; rest latency and duplicates stay until the end of
        # the step so that recoveries and commands of *this* step run through them. A rule no
        # request met is withdrawn: a later step's outcome must be that step's own.
        faults.set_latency(rest_ms=0, ws_ms=0)
        faults.set_user_events(duplicate=False, reorder=False, drop_ratio=0.0)
        faults.die_on_connect("user", on=False)
        faults.fail_rules.clear()
        if self.probe is not None:
            self.probe.before_snapshot.clear()
            self.probe.after_snapshot.clear()
            self.probe.after_connect.clear()
            self.probe.after_run.clear()

    async def fire(self, step: Step, seen: StepObservation) -> list[Any]:
        """Fire ``step``'s fault, run its workload in the gap, wait for the recovery it must cause.
        Returns the fail rules it armed (whether a request met them tells whether it fired)."""
        env, faults, venue, metrics = self.env, self.env.sim.faults, self.venue, self.metrics
        probe = self.probe
        kind = step.fault
        rules: list[Any] = []
        if kind == "listen_key_expiry":
            faults.expire_listen_keys()
        elif kind == "keepalive_failure":
            if venue.name == "bingx":
                rules.append(faults.fail("PUT", venue.listen_key_path, count=1, status=step.p("status")))
            elif venue.ws_api_user_stream:
                # -1125 (the key is gone: rotate) or a cut socket (the ping asked again over REST).
                code = step.p("code")
                rules.append(
                    faults.fail(
                        "WS", "userDataStream.ping", count=1, status=400 if code else 0, code=code or None
                    )
                )
            else:
                code = step.p("code")
                rules.append(
                    faults.fail(
                        "PUT", venue.listen_key_path, count=1, status=400 if code else 0, code=code or None
                    )
                )
        elif kind == "socket_drop":
            faults.drop_streams("user")
        elif kind == "socket_stall":
            faults.stall_streams("user", seconds=30, mode=step.p("mode", "drop"))
        elif kind == "day_close":
            faults.expire_connections("user")
        elif kind == "overlap_rotation":
            self.client.user_stream.trigger.fire("scheduled rotation")
            await env.wait_until(
                lambda: metrics.in_progress or metrics.runs > seen.runs, what="rotation start"
            )
        elif kind == "rest_failures":
            rules.append(
                faults.fail(step.p("method"), step.p("path"), count=step.p("count"), status=step.p("status"))
            )
            if step.p("and_drop"):
                faults.drop_streams("user")
        elif kind == "rest_latency":
            faults.set_latency(rest_ms=step.p("rest_ms"), ws_ms=step.p("ws_ms"))
        elif kind == "duplicate_reorder":
            faults.set_user_events(duplicate=step.p("duplicate"), reorder=step.p("reorder"))
        elif kind == "drop_events":
            faults.set_user_events(drop_ratio=step.p("ratio"))
        elif kind in ("cut_submit", "cut_cancel"):
            method = "POST" if kind == "cut_submit" else "DELETE"
            rules.append(
                faults.fail(
                    method,
                    venue.order_path,
                    count=1,
                    status=step.p("status"),
                    after_execute=step.p("after_execute"),
                )
            )
        elif kind == "snapshot_fault":
            assert probe is not None

            def arm_snapshot() -> None:
                # Armed as the snapshot starts, so the snapshot's own open-orders queries meet it
                # (BingX's audit poll queries open orders too, at any time).
                if step.p("mode") == "latency":
                    faults.set_latency(rest_ms=step.p("rest_ms"))
                else:
                    rules.append(
                        faults.fail(
                            "GET", venue.open_orders_path, count=step.p("count"), status=step.p("status")
                        )
                    )

            probe.before_snapshot.append(arm_snapshot)
            faults.drop_streams("user")
        elif kind == "backfill_fault":
            assert probe is not None

            def arm_backfill() -> None:
                # Between the new socket's connect and the backfill's fill-history queries.
                rules.append(
                    faults.fail("GET", venue.fills_path, count=step.p("count"), status=step.p("status"))
                )

            probe.after_connect.append(arm_backfill)
            faults.drop_streams("user")
        elif kind == "drain_latency":
            # The old socket stays up (a rotation, not a drop) and its frames arrive late: events
            # made as the new socket connects (an order behind the node's back) are still in flight
            # to the old dispatcher during the backfill, the swap and the drain.
            assert probe is not None
            faults.set_latency(rest_ms=step.p("rest_ms"), ws_ms=step.p("ws_ms"))
            await self.act(step)
            probe.after_connect.append(lambda: self.external(["market"]))
            self.client.user_stream.trigger.fire("chaos: rotation under frame latency")
        elif kind == "drop_after_run":
            assert probe is not None
            dropped: list[int] = []
            probe.after_run.append(lambda: dropped.append(faults.drop_streams("user")))
            rules.append(dropped)
            faults.drop_streams("user")
        elif kind == "die_on_connect":
            faults.die_on_connect("user", count=step.p("count"))
            faults.drop_streams("user")
        elif kind == "trading_socket_drop":
            await self.trading_socket_ready()  # the fault is for a live socket
            faults.drop_streams("api")
        elif kind == "cut_key_request":
            await self.trading_socket_ready()  # else the key is asked over REST and nothing is cut
            # The trading socket is cut when the recovery's userDataStream.start reaches it
            # (executed first or not): the recovery must still get the key and complete.
            rules.append(
                faults.fail(
                    "WS",
                    "userDataStream.start",
                    count=1,
                    status=0,
                    after_execute=bool(step.p("after_execute")),
                )
            )
            faults.drop_streams("user")
        else:  # pragma: no cover - make_plan only emits known kinds
            raise ValueError(kind)
        if kind != "drain_latency":
            await self.act(step)
        if step.hold:
            await self.hold_gap(step, seen)
            self.env.sim.faults.refuse_streams("user", False)
        if self.must_recover(step):
            need = seen.runs + (2 if kind == "drop_after_run" else 1)
            probe = self.probe
            await env.wait_until(
                # A run already in flight when the fault was armed completes first and counts; the
                # attempt the fault fired (the last one the probe saw) must complete too.
                lambda: (
                    metrics.runs >= need
                    and not metrics.in_progress
                    and (probe is None or not probe.attempts or probe.attempts[-1].completed)
                ),
                within=RECOVERY_DEADLINE,
                what=f"recovery after {kind}",
            )
        if kind == "keepalive_failure":
            # The keepalive runs every keepalive_interval: let it meet the armed failure.
            with contextlib.suppress(TimeoutError):
                await env.wait_until(lambda: rules[0].matched > 0, within=3.0, what="keepalive failure")
        return rules

    async def trading_socket_ready(self, within: float = 5.0) -> None:
        """Wait (bounded) for the trading socket a previous step may have cut to be READY again."""
        ws = getattr(self.client, "ws_trading", None)
        if ws is None:
            return
        with contextlib.suppress(TimeoutError):
            await self.env.wait_until(lambda: ws.is_ready, within=within, what="trading socket ready")

    async def hold_gap(self, step: Step, seen: StepObservation) -> None:
        """Keep the gap open (new user sockets refused) until this step's workload reached the
        venue and, for a long gap, until a keepalive of the listen key happened inside it."""
        await self.settle(within=HOLD_DEADLINE, skip=self.late_orders)
        if step.long_gap:
            loop = asyncio.get_running_loop()
            interval = float(self.venue.exec_config["keepalive_interval_secs"])
            requests = self.env.sim.dialect.requests.requests
            with contextlib.suppress(TimeoutError):
                await self.env.wait_until(
                    lambda: (
                        self.venue.keepalives(requests) > seen.keepalives
                        and loop.time() - seen.started > interval * 1.2
                    ),
                    within=HOLD_DEADLINE,
                    what="a keepalive inside the gap",
                )

    async def account_for(self, step: Step, seen: StepObservation, rules: list[Any]) -> None:
        """Count what the step's fault and workload really did (see the module docstring)."""
        sim = self.env.sim
        counters = Counter(sim.faults.counters) - seen.counters
        attempts = self.probe.attempts[seen.attempts :] if self.probe is not None else []
        runs = self.metrics.runs - seen.runs
        requests = sim.dialect.requests.requests
        kind = step.fault
        fired = False
        if kind == "listen_key_expiry":
            fired = counters["listen_keys_expired"] > 0 and runs > 0
        elif kind in ("keepalive_failure", "rest_failures", "cut_submit", "cut_cancel"):
            fired = any(r.matched > 0 for r in rules)
        elif kind == "cut_key_request":
            fired = any(r.matched > 0 for r in rules) and runs > 0
        elif kind == "trading_socket_drop":
            fired = counters["streams_dropped"] > 0
        elif kind == "socket_drop":
            fired = counters["streams_dropped"] > 0 and runs > 0
        elif kind == "socket_stall":
            fired = counters["streams_stalled"] > 0 and runs > 0
        elif kind == "day_close":
            fired = counters["connections_expired"] > 0 and runs > 0
        elif kind == "overlap_rotation":
            fired = runs > 0
        elif kind == "rest_latency":
            fired = sum(requests.values()) > seen.requests
        elif kind == "duplicate_reorder":
            fired = counters["user_events_duplicated"] + counters["user_events_reordered"] > 0
        elif kind == "drop_events":
            fired = counters["user_events_dropped"] > 0
        elif kind == "snapshot_fault":
            if step.p("mode") == "latency":
                fired = any(a.snapshot_secs >= step.p("rest_ms") / 1000 * 0.8 for a in attempts)
            else:
                fired = any(a.snapshot_failed for a in attempts)
        elif kind == "backfill_fault":
            fired = any(a.connected and a.post_failed for a in attempts)
        elif kind == "drain_latency":
            fired = any(a.completed and a.drained_frames > 0 for a in attempts)
        elif kind == "drop_after_run":
            fired = bool(rules and rules[0] and rules[0][0] > 0) and runs >= 2
        elif kind == "die_on_connect":
            fired = counters["connections_died_on_connect"] > 0 and runs > 0
        if fired:
            self.fired_faults[kind] += 1
        for a in attempts:
            self.log(
                f"    recovery attempt: snapshot failed={a.snapshot_failed} "
                f"({a.snapshot_secs * 1000:.0f} ms) connected={a.connected} "
                f"backfill failed={a.post_failed} drained={a.drained_frames} completed={a.completed}"
            )

        after = sim.state()
        if step.opens_gap and runs > 0:
            workload = gap_workload(seen.state, after, bingx=self.venue.name == "bingx")
            if step.long_gap and self.venue.keepalives(requests) > seen.keepalives:
                # Held across a keepalive, and longer than its interval (hold_gap waited for both).
                interval = float(self.venue.exec_config["keepalive_interval_secs"])
                if asyncio.get_running_loop().time() - seen.started > interval:
                    workload["gap_past_keepalive"] += 1
            self.fired_workload.update(workload)
        node = self.env.node
        assert node is not None
        late_status = [(o.status_string() if (o := node.cache.order(c)) else "-") for c in self.late_orders]
        for rec in list(sim.faults.late.records)[seen.late_records :]:
            self.log(f"    late {rec.request}: {rec.status} (node's late orders: {late_status})")
            if rec.status == "executed":
                self.fired_workload["late_accept_in_window"] += 1
            elif rec.status == "dropped" and self._late_rejected():
                self.fired_workload["late_dropped_rejected"] += 1
        self.note_partials(after)
        if self.hedge and hedge_both_sides(after):
            self.fired_workload["hedge_both_sides"] += 1

    def _late_rejected(self) -> bool:
        node = self.env.node
        assert node is not None
        return any(
            (o := node.cache.order(c)) is not None and o.status == OrderStatus.REJECTED
            for c in self.late_orders
        )

    def note_partials(self, state: dict[str, Any]) -> None:
        for o in state["orders"]:
            if partially_filled_open(o) or (
                o["status"] not in ("NEW", "PARTIALLY_FILLED", "FILLED")
                and 0 < Decimal(o["executed_qty"]) < Decimal(o["qty"])
            ):
                self.partial_seen.add(o["order_id"])

    def must_recover(self, step: Step) -> bool:
        """Whether ``step`` must end in a (successful) recovery run. A keepalive cut (no answer) is
        retried, not proof the key is gone: only Binance's -1125 / BingX's 404 must rotate."""
        kind = step.fault
        if kind == "keepalive_failure":
            return bool(step.p("status") == 404 if self.venue.name == "bingx" else step.p("code"))
        if kind == "rest_failures":
            return bool(step.p("and_drop"))
        return self.venue.faults[kind]

    async def settle(self, within: float = 10.0, skip: set[ClientOrderId] | None = None) -> None:
        """Wait until no order of ours is still in flight (not yet through the engine's queue,
        submitted, pending cancel or update); ``skip`` those expected to stay in flight."""
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
                if skip and cid in skip:
                    continue
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
        orders_known=True,
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
    plan = make_plan(seed, steps, prof.name)
    result = ScheduleResult(seed, list(plan.steps), prof.name, plan.hedge)
    started = time.monotonic()

    def vlog(msg: str) -> None:
        if verbose:
            log(msg)

    try:
        with ErrorLineCounter(result.error_lines).installed():
            await asyncio.wait_for(_run(seed, plan, result, vlog, prof), timeout=SCHEDULE_DEADLINE)
    except TimeoutError:
        result.violations.append(f"schedule did not finish within {SCHEDULE_DEADLINE:.0f}s")
    except Exception as exc:
        result.violations.append(f"run crashed: {exc!r}")
    result.seconds = time.monotonic() - started
    return result


# ERROR templates a fault produces by design: a recovery attempt that the fault made fail is retried.
EXPECTED_ERROR_TEMPLATES = ("%s: recovery attempt %d failed (%r); retrying in %.1fs",)


class ErrorLineCounter(logging.Handler):
    """Counts the ERROR records of the ``adapters`` loggers by message template while installed."""

    def __init__(self, into: Counter[str]) -> None:
        super().__init__(level=logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        template = str(record.msg)
        if template not in EXPECTED_ERROR_TEMPLATES:
            self.into[template] += 1

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        root = logging.getLogger("adapters")
        root.addHandler(self)
        try:
            yield
        finally:
            root.removeHandler(self)


async def _run(
    seed: int,
    plan: Plan,
    result: ScheduleResult,
    vlog: Callable[[str], None],
    venue: VenueProfile = BINANCE,
) -> None:
    async with SimNode(
        venue=venue.sim_venue,
        seed=seed,
        step_interval=3600.0,
        exec_config=venue.exec_config,
        log_level=os.environ.get(
            "CHAOS_LOG_LEVEL", "ERROR"
        ),  # CHAOS_LOG_LEVEL=INFO to replay a seed in detail
        hedge_mode=plan.hedge,
    ) as env:
        ctx = exec_client(env).user_stream.ctx
        timings: list[RunTiming] = []
        probe = PhaseProbe(ctx, on_run=timings.append).install()
        chaos = Chaos(
            env, random.Random(seed * 7919 + 1), vlog, venue, seed=seed, hedge=plan.hedge, probe=probe
        )
        if plan.hedge:
            vlog("  hedge mode")
        chaos.place(4)
        await chaos.settle()
        for i, step in enumerate(plan.steps, 1):
            vlog(f"  step {i}: {step.describe()}")
            result.faults[step.fault] += 1
            result.workload.update(step.planned_workload(plan.hedge))
            faults_before, workload_before = Counter(chaos.fired_faults), Counter(chaos.fired_workload)
            try:
                await chaos.run_step(step)
            except TimeoutError as exc:
                result.violations.append(f"step {i} {step.fault}: {exc}")
                break
            fired = chaos.fired_faults - faults_before
            work = chaos.fired_workload - workload_before
            vlog(
                f"    fired: {', '.join(sorted(fired)) or '-'} | "
                f"{', '.join(f'{k}={v}' for k, v in sorted(work.items())) or '-'}"
            )
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
        final = env.sim.state()
        chaos.note_partials(final)
        result.report = report
        result.faults_fired = chaos.fired_faults
        result.workload_fired = chaos.fired_workload
        result.recoveries = metrics.runs
        result.recovery_times = [t.total for t in timings]
        result.orders = len(chaos.orders)
        result.external_orders = chaos.external_orders
        result.venue_trades = report.venue_trades
        result.partial_fills = len(chaos.partial_seen)
        if not report.ok:
            result.violations.append(report.details())


# ------------------------------------------------------------------------------------------------
# Many schedules and the summary
# ------------------------------------------------------------------------------------------------
@dataclass
class Summary:
    results: list[ScheduleResult] = field(default_factory=list)
    venue: str = "binance"

    def _totals(self) -> tuple[Counter[str], Counter[str], Counter[str], Counter[str]]:
        planned_f: Counter[str] = Counter()
        fired_f: Counter[str] = Counter()
        planned_w: Counter[str] = Counter()
        fired_w: Counter[str] = Counter()
        for r in self.results:
            planned_f.update(r.faults)
            fired_f.update(r.faults_fired)
            planned_w.update(r.workload)
            fired_w.update(r.workload_fired)
        return planned_f, fired_f, planned_w, fired_w

    def never_fired(self) -> list[tuple[str, str, int]]:
        """(fault|workload, kind, times planned) for every kind that never fired in the run."""
        planned_f, fired_f, planned_w, fired_w = self._totals()
        out = [("fault", k, planned_f[k]) for k in profile(self.venue).fault_kinds if not fired_f[k]]
        out += [("workload", k, planned_w[k]) for k in WORKLOAD_KINDS if not fired_w[k]]
        return out

    def coverage_failures(self) -> list[str]:
        """Kinds planned often enough that they should have fired at this N, and never did."""
        return [k for _, k, planned in self.never_fired() if planned >= EXPECT_FIRED_WHEN_PLANNED]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not self.coverage_failures()

    def render(self) -> str:
        planned_f, fired_f, planned_w, fired_w = self._totals()
        times = [t for r in self.results for t in r.recovery_times]
        failing = [r for r in self.results if not r.ok]
        violations: Counter[str] = Counter()
        for r in failing:
            if r.report is not None and not r.report.ok:
                violations.update(r.report.violations())
            for v in r.violations:
                if r.report is None or v != r.report.details():
                    violations[v.split(":")[0]] += 1
        hedge = sum(1 for r in self.results if r.hedge)
        lines = [
            "",
            f"== chaos summary: {self.venue} ==",
            f"schedules               {len(self.results)} "
            f"({len(self.results) - len(failing)} ok, {len(failing)} failing; {hedge} in hedge mode)",
            f"orders submitted        {sum(r.orders for r in self.results)} "
            f"(+{sum(r.external_orders for r in self.results)} external)",
            f"venue trades checked    {sum(r.venue_trades for r in self.results)}",
            f"partial fills           {sum(r.partial_fills for r in self.results)} (orders seen part-filled)",
            f"recoveries              {sum(r.recoveries for r in self.results)}",
            f"max recovery time       {max(times) * 1000:.0f} ms" if times else "max recovery time       -",
            f"wall time               {sum(r.seconds for r in self.results):.0f} s",
            "faults by kind          fired / planned",
        ]
        lines += [f"  {k:<32}{fired_f[k]:>5} / {planned_f[k]}" for k in profile(self.venue).fault_kinds]
        lines.append("workload by kind        fired / planned")
        lines += [f"  {k:<32}{fired_w[k]:>5} / {planned_w[k]}" for k in WORKLOAD_KINDS]
        lines.append(f"violations              {sum(violations.values())}")
        lines += [f"  {k:<32}{v}" for k, v in sorted(violations.items())]
        expected = set(self.coverage_failures())
        for what, kind, planned in self.never_fired():
            verdict = "FAIL" if kind in expected else "warning"
            lines.append(f"WARNING: {what} kind {kind} never fired (planned {planned}x) [{verdict}]")
        lines += self._error_lines()
        for r in failing:
            lines.append(f"FAILING seed {r.seed}: {r.violations[0].splitlines()[0]}")
            lines.append(f"  replay: {r.replay()}")
        return "\n".join(lines)

    def _error_lines(self) -> list[str]:
        """ERROR lines by message (the fault-made recovery-attempt failures excluded), with the seeds
        that logged them: each is a place to look even when every check passed."""
        by_template: dict[str, list[int]] = {}
        count: Counter[str] = Counter()
        for r in self.results:
            for template, n in r.error_lines.items():
                by_template.setdefault(template, []).append(r.seed)
                count[template] += n
        lines = [f"other ERROR log lines    {sum(count.values())} (recovery attempts excluded)"]
        for template, n in count.most_common():
            seeds = by_template[template]
            shown = ", ".join(map(str, seeds[:8])) + (f", … ({len(seeds)} seeds)" if len(seeds) > 8 else "")
            lines.append(f"  {n:>5}  {template[:100]!r}  seeds {shown}")
        return lines


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
            f"[{venue} {n}/{len(seeds)}] seed {seed:<6} {mark:<4} faults={sum(result.faults_fired.values())}"
            f"/{sum(result.faults.values())} workload={sum(result.workload_fired.values())} "
            f"recoveries={result.recoveries} trades={result.venue_trades} partial={result.partial_fills} "
            f"{result.seconds:.1f}s",
            flush=True,
        )
        if not result.ok:
            for v in result.violations:
                print("    " + v.replace("\n", "\n    "))
            print(f"    replay: {result.replay()}", flush=True)
    return summary


def run_in_children(seeds: list[int], jobs: int, child_args: list[str], venues: list[str]) -> list[Summary]:
    """Run ``seeds`` in ``jobs`` child processes and merge their results, one summary per venue.

    Children print their per-seed lines as they go (each line is flushed whole, so lines of different
    children interleave but never mix); the results travel back pickled through a file per child.
    """
    shards = [seeds[i::jobs] for i in range(jobs) if seeds[i::jobs]]
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        children: list[tuple[subprocess.Popen[bytes], str]] = []
        for n, shard in enumerate(shards):
            out = os.path.join(tmp, f"shard-{n}.pickle")
            cmd = [sys.executable, "-m", "adapters.testkit.chaos", *child_args, "--results-file", out]
            for seed in shard:
                cmd += ["--seed", str(seed)]
            children.append((subprocess.Popen(cmd), out))
        failed_children = []
        try:
            for proc, _ in children:
                if proc.wait() not in (0, 1):
                    failed_children.append(proc.args)
        finally:
            # Interrupted (Ctrl-C, a kill of the runner): no child outlives its parent.
            for proc, _ in children:
                if proc.poll() is None:
                    proc.terminate()
            for proc, _ in children:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()  # the node inside may hold SIGTERM for its own shutdown
                    proc.wait()
        if failed_children:
            raise RuntimeError(f"chaos child processes crashed: {failed_children}")
        merged = {v: Summary(venue=profile(v).name) for v in venues}
        for _, out in children:
            with open(out, "rb") as f:
                shard_results: dict[str, list[ScheduleResult]] = pickle.load(f)
            for venue, results in shard_results.items():
                merged[venue].results.extend(results)
    for summary in merged.values():
        summary.results.sort(key=lambda r: r.seed)
    return list(merged.values())


def _terminate_on_sigterm() -> None:
    """SIGTERM ends the runner like Ctrl-C does, so its children are stopped too."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


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
    parser.add_argument(
        "--user-stream-via-ws-api",
        action="store_true",
        help="Binance: the listen key over the WS API (userDataStream.*), with the trading socket's faults",
    )
    parser.add_argument("--steps", type=int, default=None, help="faults per schedule (default: 3-6 by seed)")
    parser.add_argument("--jobs", type=int, default=1, help="schedules run at once, in child processes")
    parser.add_argument("--results-file", default=None, help=argparse.SUPPRESS)  # a child's results
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
    if args.user_stream_via_ws_api:
        venues = ["binance-ws-api" if v == "binance" else v for v in venues]

    async def run_all() -> list[Summary]:
        return [await run_many(seeds, steps=args.steps, verbose=args.verbose, venue=v) for v in venues]

    if args.jobs > 1 and len(seeds) > 1:
        child_args = ["--venue", args.venue]
        if args.user_stream_via_ws_api:
            child_args.append("--user-stream-via-ws-api")
        if args.steps is not None:
            child_args += ["--steps", str(args.steps)]
        if args.verbose:
            child_args.append("-v")
        started = time.monotonic()
        _terminate_on_sigterm()
        try:
            summaries = run_in_children(seeds, args.jobs, child_args, venues)
        except KeyboardInterrupt:
            print("chaos: interrupted; every child process stopped", file=sys.stderr)
            return 130
        print(f"\n{len(seeds)} seeds in {args.jobs} processes: {time.monotonic() - started:.0f} s wall time")
    else:
        summaries = asyncio.run(run_all())
    if args.results_file:
        with open(args.results_file, "wb") as f:
            pickle.dump({v: s.results for v, s in zip(venues, summaries, strict=True)}, f)
        return 0 if all(s.ok for s in summaries) else 1
    for summary in summaries:
        print(summary.render())
    return 0 if all(s.ok for s in summaries) else 1


if __name__ == "__main__":
    # Run through the importable module, not ``__main__``: a child's pickled results name their
    # classes by module, and the parent must find them under ``adapters.testkit.chaos``.
    from adapters.testkit import chaos as _chaos

    sys.exit(_chaos.main())
