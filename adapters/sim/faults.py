"""Venue-neutral fault injection and live-connection bookkeeping for the simulator.

Every wire dialect (Binance now, BingX later) registers its websockets here as
``LiveConnection`` objects and consults ``Faults`` on each REST request; the ``/sim/...`` routes
(``adapters.sim.control``) and the ``sim.faults`` Python API both act on the same state.

Semantics chosen (see also the module docs of ``control``):

* **drop** aborts the TCP transport: no close frame, the client sees an abnormal closure (1006).
* **stall** models a dead link. For its duration the server sends nothing (no data, no pings),
  answers no pings, ignores pongs and ignores incoming frames. In the default ``"drop"`` mode
  frames produced meanwhile are *lost to that socket* (counted in ``stalled_frames_dropped``):
  that is what a client sees when the link died and the venue gave up on it, and it is the
  mode that exposes clients which do not detect silence and reconcile. ``mode="queue"`` instead
  holds them and delivers them late when the stall ends (a TCP link that recovered).
* **expire connections** is the venue's 24-hour close: a close frame (1001, with a reason).
* **refuse** makes new websocket handshakes of a kind fail with HTTP 503 (existing sockets stay):
  a venue that accepts no connections, so a client's reconnect attempts run out.
* **fail rules** make the next N matching REST requests fail (rules with ``method="WS"`` match
  WS trading API requests by method name instead, e.g. ``path="order.place"``). By default the
  request is *not* executed (a definite failure). With ``after_execute`` the venue executes it and then the
  response is replaced by the failure (or the connection is cut for ``status`` 0) — the
  ambiguous outcome a client must resolve by querying.
* **execute_after_ms** (a fail rule option, ``adapters.sim.late``): the request is answered with
  the failure now and executed ``execute_after_ms`` later — unless that is past the request's
  ``timestamp + recvWindow``, when the venue drops it. Until then the order does not exist.
* **die on connect** makes new websocket handshakes of a kind succeed (101) and the socket be
  aborted at once (no close frame), for the next ``count`` connections or until turned off: a
  venue whose sockets die before the first frame, so a client's reconnect loop spins.
* **history age** moves the clock that history queries (Binance ``userTrades``, BingX
  ``fillHistory``) measure their windows and retention horizon against: trades look older.
* **latency** delays each REST response by ``rest_ms`` and each websocket frame by ``ws_ms``
  (per-frame delivery time, so bursts are delayed but not throttled).
* **drop user events** (``drop_ratio``) loses that fraction of user-data events for good,
  deterministically and evenly spread (0.5 drops every 2nd event): BingX's missed-event quirk.
* **clock skew** shifts the server's wire clock (time endpoint, timestamp checks), not the
  engine's event times, which stay monotonic.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fnmatch
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, web

from adapters.sim.late import MAX_DELAY_MS, LateExecutions
from adapters.sim.model import Side

if TYPE_CHECKING:
    from adapters.sim.engine import VenueEngine

log = logging.getLogger(__name__)

KIND_USER = "user"
KIND_MARKET = "market"
KIND_API = "api"
KINDS = (KIND_USER, KIND_MARKET, KIND_API)

STALL_DROP = "drop"
STALL_QUEUE = "queue"

# A consumer that lets this many frames pile up is disconnected, as the venue does with slow
# consumers; it also bounds the memory one dead client can pin.
MAX_QUEUED_FRAMES = 50_000

# Bounds on control inputs: a typo (or a fuzzer) must get a 400, not wedge the venue.
MAX_SKEW_MS = 10 * 365 * 86_400_000
MAX_LATENCY_MS = 600_000
MAX_STEPS = 100_000
MAX_STALL_S = 86_400.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# ------------------------------------------------------------------------------------------------
# Live websocket connections
# ------------------------------------------------------------------------------------------------


class LiveConnection:
    """One server-side websocket. Producers call ``send`` synchronously (engine listeners);
    the connection's writer task — owned by the route handler — delivers frames, sends protocol
    pings, enforces the pong deadline and the maximum connection age."""

    def __init__(
        self,
        conn_id: int,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        *,
        kind: str,
        path: str,
        ping_interval: float,
        pong_timeout: float,
        max_age: float,
        latency_s: Callable[[], float],
        on_stalled_drop: Callable[[int], None] | None = None,
        app_ping: str | bytes | None = None,
    ) -> None:
        self.id = conn_id
        self.ws = ws
        self.kind = kind
        self.path = path
        self._transport = transport
        self._ping_interval = ping_interval
        self._pong_timeout = pong_timeout
        self._max_age = max_age
        self._latency_s = latency_s
        self._on_stalled_drop = on_stalled_drop
        # Venues with an application-level heartbeat (BingX's gzip "Ping") send this frame instead
        # of a protocol ping; the dialect calls ``on_pong`` when the client's answer arrives.
        self._app_ping = app_ping
        self._loop = asyncio.get_running_loop()
        self.opened_at = self._loop.time()
        self.opened_ms = now_ms()
        self._queue: collections.deque[tuple[float, str | bytes]] = collections.deque()
        self._wake = asyncio.Event()
        self._unstalled = asyncio.Event()
        self._unstalled.set()
        self.stall_until = 0.0
        self.stall_mode = STALL_DROP
        self._close_request: tuple[int, str] | None = None
        self._pong_deadline: float | None = None
        self.aborted = False
        self.frames_sent = 0
        self.frames_dropped = 0
        self.pings_sent = 0
        self.pongs_received = 0
        self.close_reason: str = ""
        # Dialect-specific description for /sim/state (bound listen keys, streams, ...).
        self.describe: Callable[[], dict[str, Any]] = dict

    # --- producers ---------------------------------------------------------------------------
    @property
    def open(self) -> bool:
        return not (self.aborted or self.ws.closed or self._close_request is not None)

    def send(self, text: str | bytes) -> None:
        """Queue one frame: ``str`` goes out as a text frame, ``bytes`` as a binary frame."""
        if not self.open:
            return
        if self.is_stalled() and self.stall_mode == STALL_DROP:
            self.frames_dropped += 1
            if self._on_stalled_drop is not None:
                self._on_stalled_drop(1)
            return
        if len(self._queue) >= MAX_QUEUED_FRAMES:
            log.warning("conn %d: send queue overflow, disconnecting slow consumer", self.id)
            self.abort("send queue overflow")
            return
        self._queue.append((self._loop.time() + self._latency_s(), text))
        self._wake.set()

    # --- faults ------------------------------------------------------------------------------
    def is_stalled(self, now: float | None = None) -> bool:
        if self.stall_until <= 0.0:
            return False
        if (now if now is not None else self._loop.time()) < self.stall_until:
            return True
        self.stall_until = 0.0
        self._unstalled.set()
        return False

    def stall(self, seconds: float, mode: str = STALL_DROP) -> None:
        self.stall_until = self._loop.time() + seconds
        self.stall_mode = mode
        self._unstalled.clear()
        self._wake.set()

    def unstall(self) -> None:
        self.stall_until = 0.0
        self._unstalled.set()
        self._wake.set()

    async def wait_unstalled(self) -> None:
        while self.is_stalled():
            remaining = self.stall_until - self._loop.time()
            try:
                await asyncio.wait_for(self._unstalled.wait(), timeout=max(remaining, 0.0))
            except TimeoutError:
                continue

    def abort(self, reason: str = "aborted") -> None:
        """Cut the TCP connection without a close frame."""
        if self.aborted:
            return
        self.aborted = True
        self.close_reason = reason
        if self._transport is not None:
            self._transport.abort()
        self._wake.set()

    def request_close(self, code: int, reason: str) -> None:
        """Ask the writer to send a close frame (after frames already queued)."""
        if self._close_request is None and not self.aborted:
            self._close_request = (code, reason)
            self.close_reason = reason
            self._wake.set()

    def on_ping_from_client(self) -> bool:
        """Whether the reader should answer a client ping (not during a stall)."""
        return not self.is_stalled()

    def on_pong(self) -> None:
        if self.is_stalled():
            return
        self.pongs_received += 1
        self._pong_deadline = None

    # --- writer ------------------------------------------------------------------------------
    async def run_writer(self) -> None:
        try:
            await self._write_loop()
        except (ConnectionError, RuntimeError) as exc:
            # The peer vanished mid-send: the reader notices the closed transport and exits.
            log.debug("conn %d: writer stopped: %r", self.id, exc)
            self.abort("send failed")

    async def _write_loop(self) -> None:
        loop = self._loop
        next_ping = loop.time() + self._ping_interval
        deadline = self.opened_at + self._max_age
        while not self.aborted and not self.ws.closed:
            now = loop.time()
            if self._close_request is not None:
                # Flush what was queued before the close was requested (e.g. listenKeyExpired).
                while self._queue and not self.is_stalled(now):
                    await self._send_frame(self._queue.popleft()[1])
                code, reason = self._close_request
                await self.ws.close(code=code, message=reason.encode())
                return
            if now >= deadline:
                self.close_reason = "max connection age"
                await self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"Connection max age reached")
                return
            wait_until = deadline
            if self.is_stalled(now):
                wait_until = min(wait_until, self.stall_until)
            else:
                if self._pong_deadline is not None and now >= self._pong_deadline:
                    log.info("conn %d: no pong within %.1fs, disconnecting", self.id, self._pong_timeout)
                    self.abort("pong timeout")
                    return
                if now >= next_ping:
                    if self._app_ping is not None:
                        await self._send_frame(self._app_ping)
                        self.frames_sent -= 1  # a heartbeat is not a data frame
                    else:
                        await self.ws.ping(b"")
                    self.pings_sent += 1
                    if self._pong_deadline is None:
                        self._pong_deadline = now + self._pong_timeout
                    next_ping = now + self._ping_interval
                    continue
                if self._queue and self._queue[0][0] <= now:
                    await self._send_frame(self._queue.popleft()[1])
                    continue
                wait_until = min(wait_until, next_ping)
                if self._pong_deadline is not None:
                    wait_until = min(wait_until, self._pong_deadline)
                if self._queue:
                    wait_until = min(wait_until, self._queue[0][0])
            # No await since the checks above, so a producer cannot slip in between.
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait_until - now, 0.0))

    async def _send_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)
        self.frames_sent += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "age_s": round(self._loop.time() - self.opened_at, 3),
            "opened_ms": self.opened_ms,
            "stalled": self.is_stalled(),
            "queued": len(self._queue),
            "frames_sent": self.frames_sent,
            "frames_dropped": self.frames_dropped,
            "pings_sent": self.pings_sent,
            "pongs_received": self.pongs_received,
            **self.describe(),
        }


class ConnectionRegistry:
    def __init__(self) -> None:
        self._conns: dict[int, LiveConnection] = {}
        self._ids = itertools.count(1)
        self._empty = asyncio.Event()
        self._empty.set()

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, conn: LiveConnection) -> None:
        self._conns[conn.id] = conn
        self._empty.clear()

    def remove(self, conn: LiveConnection) -> None:
        self._conns.pop(conn.id, None)
        if not self._conns:
            self._empty.set()

    def select(self, kind: str = "all") -> list[LiveConnection]:
        if kind not in (*KINDS, "all"):
            raise ValueError(f"unknown stream kind {kind!r}; expected user, market, api or all")
        return [c for c in self._conns.values() if kind == "all" or c.kind == kind]

    def __len__(self) -> int:
        return len(self._conns)

    def snapshot(self) -> list[dict[str, Any]]:
        return [c.snapshot() for c in self._conns.values()]

    async def close_all(self, grace: float = 2.0) -> None:
        """Server shutdown: ask every writer to close (1001), give handlers ``grace`` seconds to
        finish, then abort whatever is left."""
        for conn in list(self._conns.values()):
            conn.request_close(WSCloseCode.GOING_AWAY, "server shutdown")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._empty.wait(), timeout=grace)
        for conn in list(self._conns.values()):
            conn.abort("server shutdown")


# ------------------------------------------------------------------------------------------------
# Fault state
# ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class FailRule:
    method: str
    path: str
    count: int
    status: int
    code: int | None = None
    msg: str | None = None
    after_execute: bool = False
    execute_after_ms: int | None = None  # answer the failure now, execute this much later
    matched: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if any(ch in self.path for ch in "*?["):
            return fnmatch.fnmatchcase(path, self.path)
        return self.path == path


class Faults:
    """The simulator's fault state and its Python API (the ``/sim/...`` routes call these)."""

    def __init__(self, registry: ConnectionRegistry, engine: VenueEngine | None = None) -> None:
        self.registry = registry
        self._engine = engine
        self.fail_rules: list[FailRule] = []
        self.rest_latency_ms = 0
        self.ws_latency_ms = 0
        self.duplicate_user_events = False
        self.reorder_user_events = False
        self.user_event_drop_ratio = 0.0
        self._user_events_seen = 0
        self.clock_skew_ms = 0
        self.counters: collections.Counter[str] = collections.Counter()
        # Set by the venue dialect (listen keys are a dialect concept).
        self.expire_listen_keys_hook: Callable[[], int] | None = None
        self.default_account: str | None = None
        # Dialect state that "reset" also clears (e.g. rate-limit counters and IP bans).
        self.reset_hooks: list[Callable[[], None]] = []
        self.refused_kinds: set[str] = set()
        # Set by the venue dialect's market streams: lose the next depth diff(s) of a symbol.
        self.market_gap_hook: Callable[[str, int], None] | None = None
        # kind (or "all") -> connections still to kill on connect; None: until turned off.
        self.die_on_connect_kinds: dict[str, int | None] = {}
        self.history_offset_ms = 0
        self.late = LateExecutions(self.server_time_ms, self._count)

    def attach_engine(self, engine: VenueEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> VenueEngine:
        if self._engine is None:
            raise RuntimeError("no engine attached")
        return self._engine

    def _count(self, name: str) -> None:
        self.counters[name] += 1

    # --- clock -------------------------------------------------------------------------------
    def server_time_ms(self) -> int:
        return now_ms() + self.clock_skew_ms

    def set_clock_skew(self, skew_ms: int) -> None:
        skew = int(skew_ms)
        if abs(skew) > MAX_SKEW_MS:
            raise ValueError(f"skew_ms must be within +-{MAX_SKEW_MS}")
        self.clock_skew_ms = skew

    def history_now_ms(self) -> int:
        """ "Now" for history queries: the wire clock moved forward by :meth:`age_history`."""
        return self.server_time_ms() + self.history_offset_ms

    def age_history(self, ms: int) -> int:
        """History queries (Binance ``userTrades``, BingX ``fillHistory``) see the venue clock
        ``ms`` later, so every trade looks ``ms`` older: default windows, the 7-day span and the
        retention horizon can be tested without waiting days. Sets (does not add); 0 turns it off."""
        offset = int(ms)
        if not 0 <= offset <= MAX_SKEW_MS:
            raise ValueError(f"ms must be in [0, {MAX_SKEW_MS}]")
        self.history_offset_ms = offset
        return offset

    # --- streams -----------------------------------------------------------------------------
    def expire_listen_keys(self) -> int:
        if self.expire_listen_keys_hook is None:
            raise RuntimeError("this venue has no listen keys")
        n = self.expire_listen_keys_hook()
        self.counters["listen_keys_expired"] += n
        return n

    def drop_streams(self, kind: str = "all") -> int:
        conns = self.registry.select(kind)
        for conn in conns:
            conn.abort("fault: drop")
        self.counters["streams_dropped"] += len(conns)
        return len(conns)

    def stall_streams(self, kind: str = "all", seconds: float = 5.0, mode: str = STALL_DROP) -> int:
        if not (math.isfinite(float(seconds)) and 0 <= float(seconds) <= MAX_STALL_S):
            raise ValueError(f"seconds must be in [0, {MAX_STALL_S}]")
        if mode not in (STALL_DROP, STALL_QUEUE):
            raise ValueError(f"unknown stall mode {mode!r}; expected drop or queue")
        conns = self.registry.select(kind)
        for conn in conns:
            conn.stall(float(seconds), mode)
        self.counters["streams_stalled"] += len(conns)
        return len(conns)

    def expire_connections(self, kind: str = "all") -> int:
        conns = self.registry.select(kind)
        for conn in conns:
            conn.request_close(WSCloseCode.GOING_AWAY, "Connection max age reached")
        self.counters["connections_expired"] += len(conns)
        return len(conns)

    def refuse_streams(self, kind: str = "all", on: bool = True) -> list[str]:
        """New websocket handshakes of ``kind`` fail with HTTP 503 while on (existing sockets stay)."""
        if kind not in (*KINDS, "all"):
            raise ValueError(f"unknown stream kind {kind!r}; expected user, market, api or all")
        kinds = set(KINDS) if kind == "all" else {kind}
        if on:
            self.refused_kinds |= kinds
        else:
            self.refused_kinds -= kinds
        return sorted(self.refused_kinds)

    def die_on_connect(
        self, kind: str = "all", count: int | None = None, on: bool = True
    ) -> dict[str, int | None]:
        """New websocket handshakes of ``kind`` succeed and the socket is aborted at once (no close
        frame): for the next ``count`` such connections, or until turned off (``count`` None).
        ``on=False`` turns ``kind`` off (``all``: every kind)."""
        if kind not in (*KINDS, "all"):
            raise ValueError(f"unknown stream kind {kind!r}; expected user, market, api or all")
        if not on:
            if kind == "all":
                self.die_on_connect_kinds.clear()
            else:
                self.die_on_connect_kinds.pop(kind, None)
        else:
            if count is not None and int(count) < 1:
                raise ValueError(f"count must be >= 1, was {count}")
            self.die_on_connect_kinds[kind] = None if count is None else int(count)
        return dict(self.die_on_connect_kinds)

    def take_die_on_connect(self, kind: str) -> bool:
        """Whether this new ``kind`` connection dies now (consumes one shot of a counted fault)."""
        for key in (kind, "all"):
            if key not in self.die_on_connect_kinds:
                continue
            left = self.die_on_connect_kinds[key]
            if left is not None:
                if left <= 1:
                    del self.die_on_connect_kinds[key]
                else:
                    self.die_on_connect_kinds[key] = left - 1
            self.counters["connections_died_on_connect"] += 1
            return True
        return False

    def is_refused(self, kind: str) -> bool:
        if kind in self.refused_kinds:
            self.counters["handshakes_refused"] += 1
            return True
        return False

    def count_stalled_drop(self, n: int) -> None:
        self.counters["stalled_frames_dropped"] += n

    # --- market data -------------------------------------------------------------------------
    def market_gap(self, symbol: str, count: int = 1) -> str:
        """Break the order-book diff chain of ``symbol``: its next ``count`` depth diffs are lost to
        every diff-stream subscriber (the venue's book still changes), so the next diff a client
        sees has ``pu`` != the last ``u`` it applied. Snapshots and partial-depth streams are
        unaffected."""
        if self.market_gap_hook is None:
            raise RuntimeError("this venue has no market streams")
        if count < 1:
            raise ValueError(f"count must be >= 1, was {count}")
        self.market_gap_hook(symbol, int(count))
        self.counters["market_gaps"] += int(count)
        return symbol

    # --- REST failures -----------------------------------------------------------------------
    def fail(
        self,
        method: str = "*",
        path: str = "*",
        count: int = 1,
        status: int = 503,
        code: int | None = None,
        msg: str | None = None,
        after_execute: bool = False,
        execute_after_ms: int | None = None,
    ) -> FailRule:
        """``execute_after_ms``: answer the failure now and execute the request that much later
        (``adapters.sim.late``); the venue drops it if that is past its ``timestamp + recvWindow``."""
        status = int(status)
        if status != 0 and not 100 <= status <= 599:
            raise ValueError(f"status must be 0 (cut the connection) or an HTTP status, was {status}")
        if int(count) < 0:
            raise ValueError(f"count must be >= 0, was {count}")
        if execute_after_ms is not None:
            execute_after_ms = int(execute_after_ms)
            if not 0 <= execute_after_ms <= MAX_DELAY_MS:
                raise ValueError(f"execute_after_ms must be in [0, {MAX_DELAY_MS}]")
            if after_execute:
                raise ValueError("after_execute and execute_after_ms exclude each other")
        rule = FailRule(method, path, int(count), status, code, msg, bool(after_execute), execute_after_ms)
        self.fail_rules.append(rule)
        return rule

    def take_fail_rule(self, method: str, path: str) -> FailRule | None:
        """The first live rule matching this request, consuming one of its shots."""
        for rule in self.fail_rules:
            if rule.method.upper() == "WS":
                continue  # WS trading API rules: see take_ws_fail_rule
            if rule.count > 0 and rule.matches(method, path):
                rule.count -= 1
                rule.matched += 1
                self.counters["rest_failures_injected"] += 1
                if rule.count <= 0:
                    self.fail_rules.remove(rule)
                return rule
        return None

    def take_ws_fail_rule(self, ws_method: str) -> FailRule | None:
        """The first live ``method="WS"`` rule whose path matches this WS-API method name."""
        for rule in self.fail_rules:
            if rule.count > 0 and rule.method.upper() == "WS" and rule.matches("WS", ws_method):
                rule.count -= 1
                rule.matched += 1
                self.counters["ws_api_failures_injected"] += 1
                if rule.count <= 0:
                    self.fail_rules.remove(rule)
                return rule
        return None

    # --- latency / user events ---------------------------------------------------------------
    def set_latency(self, rest_ms: int | None = None, ws_ms: int | None = None) -> None:
        if rest_ms is not None:
            self.rest_latency_ms = min(max(0, int(rest_ms)), MAX_LATENCY_MS)
        if ws_ms is not None:
            self.ws_latency_ms = min(max(0, int(ws_ms)), MAX_LATENCY_MS)

    def ws_latency_s(self) -> float:
        return self.ws_latency_ms / 1000.0

    def set_user_events(
        self, duplicate: bool | None = None, reorder: bool | None = None, drop_ratio: float | None = None
    ) -> None:
        if duplicate is not None:
            self.duplicate_user_events = bool(duplicate)
        if reorder is not None:
            self.reorder_user_events = bool(reorder)
        if drop_ratio is not None:
            ratio = float(drop_ratio)
            if not 0.0 <= ratio <= 1.0:
                raise ValueError(f"drop_ratio {ratio} not in [0, 1]")
            self.user_event_drop_ratio = ratio
            self._user_events_seen = 0

    def drop_user_event(self) -> bool:
        """Whether the next user-data event is lost (``drop_ratio``), counting it. Deterministic:
        the n-th event is dropped when floor(n * ratio) grows, so drops are evenly spread."""
        ratio = self.user_event_drop_ratio
        if ratio <= 0.0:
            return False
        before = int(self._user_events_seen * ratio + 1e-9)
        self._user_events_seen += 1
        if int(self._user_events_seen * ratio + 1e-9) > before:
            self.counters["user_events_dropped"] += 1
            return True
        return False

    # --- market / account --------------------------------------------------------------------
    def set_price(self, symbol: str, price: Decimal | str | float) -> None:
        try:
            value = Decimal(str(price))
        except ArithmeticError:  # decimal.InvalidOperation: not a number at all
            raise ValueError(f"price {price!r} is not a number") from None
        if not value.is_finite() or value <= 0:
            raise ValueError(f"price {price!r} must be a finite positive number")
        self.engine.set_price(symbol, value)

    def external_trade(
        self, symbol: str, side: str, qty: Decimal | str | float, price: Decimal | str | float | None = None
    ) -> Decimal:
        """Another participant's taker order trades ``qty`` against the account's resting orders
        (``VenueEngine.external_trade``): a partial fill of a chosen size. ``side`` is the taker's."""
        try:
            taker = Side(str(side).upper())
            amount = Decimal(str(qty))
            limit = Decimal(str(price)) if price is not None else None
        except (ValueError, ArithmeticError):
            raise ValueError(f"bad external trade: side={side!r} qty={qty!r} price={price!r}") from None
        if not amount.is_finite() or amount <= 0:
            raise ValueError(f"qty {qty!r} must be a finite positive number")
        if limit is not None and (not limit.is_finite() or limit <= 0):
            raise ValueError(f"price {price!r} must be a finite positive number")
        self.counters["external_trades"] += 1
        return self.engine.external_trade(symbol, taker, amount, limit)

    def step(self, n: int = 1) -> None:
        n = int(n)
        if not 0 <= n <= MAX_STEPS:
            raise ValueError(f"n must be in [0, {MAX_STEPS}]")
        for _ in range(n):
            self.engine.step()

    def margin_call(self, account: str | None = None) -> str:
        account_id = account or self.default_account
        if account_id is None:
            raise RuntimeError("no account given and no default account")
        self.engine.emit_margin_call(account_id)
        return account_id

    def reset(self) -> None:
        self.fail_rules.clear()
        self.rest_latency_ms = 0
        self.ws_latency_ms = 0
        self.duplicate_user_events = False
        self.reorder_user_events = False
        self.user_event_drop_ratio = 0.0
        self._user_events_seen = 0
        self.clock_skew_ms = 0
        self.refused_kinds.clear()
        self.die_on_connect_kinds.clear()
        self.history_offset_ms = 0
        for conn in self.registry.select("all"):
            conn.unstall()
        for hook in self.reset_hooks:
            hook()

    def snapshot(self) -> dict[str, Any]:
        return {
            "fail_rules": [asdict(r) for r in self.fail_rules],
            "rest_latency_ms": self.rest_latency_ms,
            "ws_latency_ms": self.ws_latency_ms,
            "duplicate_user_events": self.duplicate_user_events,
            "reorder_user_events": self.reorder_user_events,
            "user_event_drop_ratio": self.user_event_drop_ratio,
            "clock_skew_ms": self.clock_skew_ms,
            "refused_kinds": sorted(self.refused_kinds),
            "die_on_connect": dict(self.die_on_connect_kinds),
            "history_offset_ms": self.history_offset_ms,
            "late_executions": self.late.snapshot(),
            "counters": dict(self.counters),
        }


# ------------------------------------------------------------------------------------------------
# Serving one websocket with the fault semantics above
# ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class WsSettings:
    ping_interval: float = 180.0  # Binance pings every 3 minutes
    pong_timeout: float = 600.0  # and disconnects if no pong within 10 minutes
    max_age: float = 86_400.0  # a connection is valid for 24 hours
    app_ping: str | bytes | None = None  # application-level heartbeat frame (BingX), else protocol pings


async def serve_ws(
    request: web.Request,
    registry: ConnectionRegistry,
    faults: Faults,
    *,
    kind: str,
    settings: WsSettings,
    on_open: Callable[[LiveConnection], None],
    on_text: Callable[[LiveConnection, str], Any],
    on_close: Callable[[LiveConnection], None],
) -> web.WebSocketResponse:
    """Run one websocket: the handler coroutine is the reader and owns the writer task.

    ``on_text`` is an ``async`` callable run in the reader (requests are handled in arrival
    order, like the venue's per-connection processing)."""
    if faults.is_refused(kind):
        raise web.HTTPServiceUnavailable(text="fault: handshakes refused")
    # autoping off: ping/pong handling must stop during a stall, so the reader does it.
    ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
    await ws.prepare(request)
    if faults.take_die_on_connect(kind):
        # The handshake succeeded; the socket dies before its first frame, without a close frame.
        if request.transport is not None:
            request.transport.abort()
        return ws
    conn = LiveConnection(
        registry.next_id(),
        ws,
        request.transport,
        kind=kind,
        path=request.path_qs,
        ping_interval=settings.ping_interval,
        pong_timeout=settings.pong_timeout,
        max_age=settings.max_age,
        latency_s=faults.ws_latency_s,
        on_stalled_drop=faults.count_stalled_drop,
        app_ping=settings.app_ping,
    )
    registry.add(conn)
    writer = asyncio.create_task(conn.run_writer(), name=f"sim-ws-writer-{conn.id}")
    try:
        on_open(conn)
        while True:
            msg = await ws.receive()
            if msg.type is web.WSMsgType.PING:
                if conn.on_ping_from_client():
                    await ws.pong(msg.data)
                continue
            if msg.type is web.WSMsgType.PONG:
                conn.on_pong()
                continue
            if msg.type is web.WSMsgType.TEXT:
                if conn.is_stalled():
                    if conn.stall_mode == STALL_DROP:
                        continue  # the dead link never delivered it
                    await conn.wait_unstalled()
                try:
                    await on_text(conn, msg.data)
                except Exception:
                    # Dialects answer malformed frames themselves; a bug there must not take the
                    # socket down (the venue keeps a connection open after a bad message).
                    log.exception("conn %d: frame handler failed", conn.id)
                continue
            if msg.type is web.WSMsgType.BINARY:
                continue
            break  # CLOSE / CLOSING / CLOSED / ERROR
    finally:
        registry.remove(conn)
        on_close(conn)
        writer.cancel()
        await asyncio.wait([writer])
    return ws
