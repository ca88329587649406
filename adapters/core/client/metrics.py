"""Prometheus metrics for the execution and market-data clients: one endpoint per process, read at scrape.

Off by default. A client config with ``metrics_port`` set (``metrics_host`` defaults to 127.0.0.1) makes its
factory call :func:`enable_exec_client` / :func:`enable_data_client`: the process-wide HTTP server is started
on that address (once; further clients and nodes asking for the same address share it) and the client is
registered as a *source*. All sources feed one collector on one :class:`~prometheus_client.CollectorRegistry`
(not the library's global one), so each metric family appears once with a series per client, labelled
``trader_id``, ``client_id`` and ``venue``.

Nothing here runs on the hot path. Every value is read when Prometheus scrapes, from objects the clients keep
anyway: :class:`~adapters.core.userstream.recovery.RecoveryMetrics`,
:class:`~adapters.core.userstream.listen_key.KeepaliveMetrics`,
:meth:`~adapters.core.userstream.user_stream.UserStreamService.health`, ``OrderFacts``, ``FillRepairs``, the
frame handler's counters, the HTTP client's rate limiter, :class:`~adapters.core.net.ws_connection.WsMetrics`
of every socket, :class:`~adapters.core.net.stream_pool.MarketStreamPool` and each book's
:class:`~adapters.core.market.book_sync.SyncMetrics`. The scrape runs in the server's thread: it only reads
attributes and copies containers (single C-level operations under the GIL); a section that still fails is
skipped for that scrape and counted in ``perp_adapter_metrics_collect_errors_total``.

Counters summed over objects that come and go (market sockets, order books, user sockets) stay monotonic: the
last value seen of an object that went away is kept in the total.

A source goes away when its client is disposed (or garbage-collected); a client registered again under the
same trader id, client id and kind (a node rebuilt in the same process) replaces the old one.

The metric names, types, labels and HELP texts are :data:`METRICS`; ``docs/operations.md`` documents each one
and ``examples/monitoring/alerts.yml`` alerts on them (both checked by tests against a real scrape).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.core.net.ws_connection import WsConnection
from adapters.core.userstream.user_stream import StreamState, UserStreamService

_log = logging.getLogger("adapters.core.metrics")

PREFIX = "perp_adapter_"
DEFAULT_HOST = "127.0.0.1"
BASE_LABELS = ("trader_id", "client_id", "venue")

Kind = Literal["counter", "gauge"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str  # full name; a counter's ends in ``_total``
    kind: Kind
    help: str  # what it means and what to do (shown by Prometheus and Grafana)
    labels: tuple[str, ...] = ()  # besides BASE_LABELS
    source: Literal["exec", "data", "both"] = "exec"


def _m(
    name: str, kind: Kind, help: str, *labels: str, source: Literal["exec", "data", "both"] = "exec"
) -> MetricSpec:
    return MetricSpec(PREFIX + name, kind, help, labels, source)


METRICS: tuple[MetricSpec, ...] = (
    _m(
        "client_connected",
        "gauge",
        "1 while the NautilusTrader client is connected, 0 otherwise (client_type: execution or data; the "
        "two clients of a venue usually share a client id). 0 on a running node: the client failed to "
        "connect or was disconnected; see the node log.",
        "client_type",
        source="both",
    ),
    # --- user stream ----------------------------------------------------------------------------------
    _m(
        "user_stream_state",
        "gauge",
        "1 for the user stream's current state (connected, recovering, down, stopped), 0 for the others. "
        "down = a recovery attempt failed and is being retried: fills reach the node only by REST backfill "
        "once it succeeds; check the node log for 'recovery attempt ... failed'.",
        "state",
    ),
    _m(
        "user_stream_state_seconds",
        "gauge",
        "Seconds the user stream has been in its current state (resets on every change). Long in recovering "
        "or down: the node may be blind to fills; check venue status, network and the node log.",
    ),
    _m(
        "user_stream_not_connected_seconds",
        "gauge",
        "Seconds since the user stream left connected (0 while connected or stopped). Page when it exceeds "
        "about a minute: the stream is recovering or down for longer than any normal rotation.",
    ),
    _m(
        "user_stream_recoveries_total",
        "counter",
        "Successful user-stream recovery runs (new listen key, REST snapshot and backfill, new socket). "
        "A few a day is normal (24 h close, rotations, network blips); a steady rate means the socket keeps "
        "dying.",
    ),
    _m(
        "user_stream_recovery_failures_total",
        "counter",
        "Failed recovery attempts (each retried with backoff, forever). Increasing: the venue's REST or WS "
        "is failing; the stream is blind until an attempt succeeds. Check the node log and the venue's "
        "status.",
    ),
    _m(
        "user_stream_recovery_triggers_total",
        "counter",
        "Recovery triggers fired (expired key, failed keepalive, socket end, rotation); bursts coalesce into "
        "one run. Informational.",
    ),
    _m(
        "user_stream_recoveries_paced_total",
        "counter",
        "Recovery runs delayed by backoff because the previous run's stream died within "
        "recovery_backoff_reset_secs. Increasing: the venue accepts and immediately drops new sockets.",
    ),
    _m(
        "user_stream_recovery_in_progress",
        "gauge",
        "1 while a recovery attempt is running. Stuck at 1: a venue call hangs (each is bounded by "
        "3 x http_timeout_secs).",
    ),
    _m(
        "user_stream_last_recovery_duration_seconds",
        "gauge",
        "Duration of the last successful recovery attempt (its start to the new stream dispatching; failed "
        "attempts and backoff before it excluded). Rising: slow REST (snapshot/backfill) or many symbols.",
    ),
    _m(
        "user_stream_keepalives_total",
        "counter",
        "Listen-key keepalive requests sent. Informational.",
    ),
    _m(
        "user_stream_keepalive_failures_total",
        "counter",
        "Failed listen-key keepalives; each one already triggered a recovery. Repeating: the venue rejects "
        "the key or REST is failing.",
    ),
    _m(
        "user_frames_total",
        "counter",
        "User-stream frames handled. Informational (flat is normal on a quiet account).",
    ),
    _m(
        "user_frames_dropped_total",
        "counter",
        "User-stream frames that could not be applied, by reason: rejected (a value failed validation), "
        "malformed (undecodable), error (handling raised). Any increase: an event may be missing until the "
        "next recovery or reconciliation; report it with the logged frame.",
        "reason",
    ),
    # --- fills and order outcomes ---------------------------------------------------------------------
    _m(
        "fills_total",
        "counter",
        "Fills sent to the engine, by source: stream (the user socket) or rest (backfill, repair, poll). "
        "rest fills are fills the stream lost: a steady rate means the stream is unreliable.",
        "source",
    ),
    _m(
        "fills_duplicate_dropped_total",
        "counter",
        "Fills seen again (overlapping sockets, backfill after a gap) and dropped. Informational: non-zero "
        "after faults is the de-duplication working.",
    ),
    _m(
        "overfills_total",
        "counter",
        "Fills that would have taken an order past its quantity; not emitted, reconciled against the venue. "
        "Any increase: inspect the order in the node log; the venue and node disagreed.",
    ),
    _m(
        "fill_repairs_requested_total",
        "counter",
        "Orders whose fills or final status had to be fetched by REST (the venue was ahead of the engine).",
    ),
    _m(
        "fill_repairs_completed_total",
        "counter",
        "Fill repairs that brought an order in line with the venue.",
    ),
    _m(
        "fill_repairs_active",
        "gauge",
        "Orders currently being repaired. Non-zero for minutes: their fills cannot be fetched (REST "
        "failing); those orders stay open in the node until it succeeds.",
    ),
    _m(
        "ambiguous_resolutions_total",
        "counter",
        "Ambiguous command outcomes (timeout, 5xx, cut connection) resolved by querying the venue, by "
        "command. A high rate: the venue times out or answers 5xx.",
        "command",
    ),
    _m(
        "rest_polls_total",
        "counter",
        "BingX REST polls (failover while the stream is down, and the periodic audit) that succeeded.",
    ),
    _m(
        "rest_poll_failures_total",
        "counter",
        "BingX REST polls that failed. Increasing while the user stream is down: the node is blind.",
    ),
    # --- REST rate limits -----------------------------------------------------------------------------
    _m(
        "rest_weight_used",
        "gauge",
        "Request weight (Binance) or request count (BingX, per endpoint) used in the current rate-limit "
        "window of a bucket, as the client accounts it.",
        "client_type",
        "bucket",
        "window",
        source="both",
    ),
    _m(
        "rest_weight_limit",
        "gauge",
        "The venue's limit of the bucket's window.",
        "client_type",
        "bucket",
        "window",
        source="both",
    ),
    _m(
        "rest_weight_remaining",
        "gauge",
        "Limit minus used in the current window. Near 0: requests are held back until the window rolls.",
        "client_type",
        "bucket",
        "window",
        source="both",
    ),
    _m(
        "rest_weight_used_ratio",
        "gauge",
        "used / limit of the current window (0-1). Above 0.8: the node is near the venue's limit (the client "
        "waits at 0.95 on Binance); reduce polling, reconciliation symbols or strategies on this account/IP.",
        "client_type",
        "bucket",
        "window",
        source="both",
    ),
    _m(
        "rest_blocked_seconds",
        "gauge",
        "Seconds left of a venue-imposed block (429/418 Retry-After): every request waits. Non-zero: the IP "
        "or account hit the limit; find what burned the weight before the block ends.",
        "client_type",
        source="both",
    ),
    # --- WebSockets -----------------------------------------------------------------------------------
    _m(
        "ws_sockets",
        "gauge",
        "Sockets the client should have open, by role: user (the user stream), trading (Binance WS trading "
        "API), market (market-data sockets).",
        "socket",
        source="both",
    ),
    _m(
        "ws_sockets_open",
        "gauge",
        "Sockets currently open (trading: ready for orders), by role. Below ws_sockets for more than a "
        "reconnect: that role is down (market data stale; trading falls back to REST).",
        "socket",
        source="both",
    ),
    _m(
        "ws_reconnects_total",
        "counter",
        "Sockets re-established after one was lost, by role (user: sockets recoveries opened or tried to "
        "open, refused handshakes included). A steady "
        "rate: the network or the venue drops connections.",
        "socket",
        source="both",
    ),
    _m(
        "ws_last_frame_age_seconds",
        "gauge",
        "Seconds since the last frame on the role's stalest open socket. Growing on market sockets: data is "
        "stale (the stall timeout should reconnect); on the user socket a quiet account is normal.",
        "socket",
        source="both",
    ),
    _m(
        "ws_pong_rtt_seconds",
        "gauge",
        "Last ping round trip on the role's slowest open socket. Rising: network or event-loop lag.",
        "socket",
        source="both",
    ),
    # --- market data ----------------------------------------------------------------------------------
    _m(
        "market_events_total",
        "counter",
        "Market-data events decoded and handed to the client. Flat while subscribed: no data is arriving.",
        source="data",
    ),
    _m(
        "market_streams",
        "gauge",
        "Venue streams (topics) subscribed on the client's market sockets.",
        source="data",
    ),
    _m(
        "market_frame_errors_total",
        "counter",
        "Market frames that failed to decode or handle (logged and skipped; a lost book diff resyncs the "
        "book). Any increase: report it with the logged frame.",
        source="data",
    ),
    _m(
        "market_dispatcher_restarts_total",
        "counter",
        "Market dispatchers that died and were restarted (their books resynced). Any increase is a bug: "
        "report it with the logged traceback.",
        source="data",
    ),
    _m(
        "books",
        "gauge",
        "Order books maintained (L2 subscriptions).",
        source="data",
    ),
    _m(
        "books_unsynced",
        "gauge",
        "Order books currently not in sync (cleared, waiting for a snapshot). Non-zero for long: snapshots "
        "fail or keep arriving too old; check REST errors and the market socket.",
        source="data",
    ),
    _m(
        "book_gaps_total",
        "counter",
        "Sequence gaps detected in book diffs (each clears and resyncs that book).",
        source="data",
    ),
    _m(
        "book_resyncs_total",
        "counter",
        "Fresh book snapshots requested after the initial one (gaps, reconnects, unusable snapshots). "
        "A storm: the market socket lags or drops frames; check CPU, event-loop lag and the network.",
        source="data",
    ),
    _m(
        "book_snapshots_rejected_total",
        "counter",
        "Book snapshots the buffered diffs could not bracket (too old); another is requested.",
        source="data",
    ),
    _m(
        "book_conversion_failures_total",
        "counter",
        "Book messages with a level NautilusTrader cannot hold; the book was resynced. Any increase: the "
        "venue sent an invalid level or an instrument's precision is stale (restart to reload instruments).",
        source="data",
    ),
    _m(
        "book_buffer_overflows_total",
        "counter",
        "Diff buffers that overflowed while waiting for a snapshot. Increasing: snapshots are far too slow.",
        source="data",
    ),
    # --- the exporter itself --------------------------------------------------------------------------
    _m(
        "metrics_collect_errors_total",
        "counter",
        "Sections of a scrape that failed to read a client's state (skipped for that scrape). Any increase: "
        "a bug in the exporter; the other metrics are still valid.",
        "client_type",
        "section",
        source="both",
    ),
)

SPECS: Mapping[str, MetricSpec] = {spec.name: spec for spec in METRICS}


# --------------------------------------------------------------------------- scrape output


class _Out:
    """The families of one scrape, built as samples are added; every family is yielded, even empty."""

    def __init__(self) -> None:
        self._families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}

    def add(self, name: str, base: tuple[str, ...], value: float | None, *extra: str) -> None:
        if value is None:
            return
        spec = SPECS[PREFIX + name]
        family = self._families.get(spec.name)
        if family is None:
            family = self._families[spec.name] = _family(spec)
        family.add_metric([*base, *extra], float(value))

    def families(self) -> Iterator[Metric]:
        for spec in METRICS:
            yield self._families.get(spec.name) or _family(spec)


def _family(spec: MetricSpec) -> CounterMetricFamily | GaugeMetricFamily:
    labels = [*BASE_LABELS, *spec.labels]
    if spec.kind == "counter":
        return CounterMetricFamily(spec.name, spec.help, labels=labels)
    return GaugeMetricFamily(spec.name, spec.help, labels=labels)


class _RetainedSum:
    """A counter summed over a changing set of objects, kept monotonic: when an object goes away, the last
    value seen of it stays in the total. Holds the objects until the next scrape (ids stay unique)."""

    __slots__ = ("_last", "_retired")

    def __init__(self) -> None:
        self._last: dict[int, tuple[object, float]] = {}
        self._retired = 0.0

    def total(self, items: Iterable[tuple[object, float]]) -> float:
        current = {id(obj): (obj, value) for obj, value in items}
        for key, (_, value) in self._last.items():
            if key not in current:
                self._retired += value
        self._last = current
        return self._retired + sum(value for _, value in current.values())


def _window_label(interval_ms: int) -> str:
    if interval_ms % 60_000 == 0:
        return f"{interval_ms // 60_000}m"
    if interval_ms % 1_000 == 0:
        return f"{interval_ms // 1_000}s"
    return f"{interval_ms}ms"


def _rate_buckets(limiter: Any) -> list[tuple[str, Any]]:
    """``(bucket, FixedWindow)`` of a venue rate limiter, by duck typing (core does not import venues):
    Binance's ``RateLimitTracker`` (``weight``, ``orders_10s``, ``orders_1m``), BingX's ``BingxRateLimiter``
    (one window per ``(method, path)``)."""
    out: list[tuple[str, Any]] = []
    for attr, bucket in (("weight", "request_weight"), ("orders_10s", "orders"), ("orders_1m", "orders")):
        window = getattr(limiter, attr, None)
        if window is not None and hasattr(window, "current"):
            out.append((bucket, window))
    windows = getattr(limiter, "_windows", None)
    if isinstance(windows, dict):
        for key, window in list(windows.items()):
            if isinstance(key, tuple) and len(key) == 2:
                out.append((f"{key[0]} {key[1]}", window))
    return out


# --------------------------------------------------------------------------- sources (one per client)


class _FrameCounters(Protocol):
    frames: int
    malformed: int
    errors: int
    rejected: int


class _Connections(Protocol):
    connections: int


class _Facts(Protocol):
    duplicates_dropped: int
    overfills: int

    @property
    def fills_by_source(self) -> Mapping[str, int]: ...


class _Repairs(Protocol):
    requested: int
    repaired: int

    @property
    def active(self) -> int: ...


class _RateLimited(Protocol):
    def now_ms(self) -> int: ...


class ExecClientLike(Protocol):
    """What the exporter reads from an execution client (both venues' clients have it)."""

    @property
    def user_stream(self) -> UserStreamService: ...
    @property
    def stream_ops(self) -> _Connections: ...
    @property
    def facts(self) -> _Facts: ...
    @property
    def repairs(self) -> _Repairs: ...
    @property
    def resolutions(self) -> Mapping[str, int]: ...
    @property
    def stream_handler(self) -> _FrameCounters: ...


class DataClientLike(Protocol):
    """What the exporter reads from a market-data client (``pool``, ``books``, ``metrics.events``)."""

    @property
    def pool(self) -> Any: ...
    @property
    def books(self) -> Mapping[str, Any]: ...
    @property
    def metrics(self) -> Any: ...


class _Source:
    kind: str = ""  # the client_type label: execution or data

    def __init__(self, client: Any, http: _RateLimited | None) -> None:
        self._ref = weakref.ref(client)
        self._http = http
        venue = getattr(client, "venue", None)
        self.labels = (
            str(getattr(getattr(client, "trader_id", None), "value", "")),
            str(client.id.value),
            str(getattr(venue, "value", venue or "")),
        )
        self._sums: dict[str, _RetainedSum] = {}

    @property
    def key(self) -> tuple[str, ...]:
        return (self.kind, *self.labels)

    def client(self) -> Any | None:
        client = self._ref()
        if client is None or getattr(client, "is_disposed", False):
            return None
        return client

    def retained(self, name: str, items: Iterable[tuple[object, float]]) -> float:
        acc = self._sums.get(name)
        if acc is None:
            acc = self._sums[name] = _RetainedSum()
        return acc.total(items)

    def sections(self, client: Any) -> list[tuple[str, Callable[[_Out, float], None]]]:
        raise NotImplementedError

    def collect_rest(self, out: _Out, seen: set[int]) -> None:
        http = self._http
        limiter = getattr(http, "rate_limiter", None)
        if http is None or limiter is None or id(limiter) in seen:
            return  # the data and exec clients of one account share their HTTP client: reported once,
            # by the execution client (sources are read execution first)
        seen.add(id(limiter))
        now_ms = http.now_ms()
        base = self.labels
        for bucket, window in _rate_buckets(limiter):
            used = window.current(now_ms)
            limit = window.limit
            label = _window_label(window.interval_ms)
            kind = self.kind
            out.add("rest_weight_used", base, used, kind, bucket, label)
            out.add("rest_weight_limit", base, limit, kind, bucket, label)
            out.add("rest_weight_remaining", base, max(0, limit - used), kind, bucket, label)
            out.add("rest_weight_used_ratio", base, used / limit if limit > 0 else 0.0, kind, bucket, label)
        blocked_until = getattr(limiter, "blocked_until_ms", 0) or 0
        out.add("rest_blocked_seconds", base, max(0.0, (blocked_until - now_ms) / 1000.0), self.kind)


def _ws_values(sockets: Iterable[WsConnection], now: float) -> tuple[float | None, float | None]:
    """(stalest last-frame age, slowest last pong RTT) over the open sockets."""
    ages: list[float] = []
    rtts: list[float] = []
    for ws in sockets:
        m = ws.metrics
        if not ws.is_open:
            continue
        if m.last_frame_at is not None:
            ages.append(max(0.0, now - m.last_frame_at))
        if m.last_pong_rtt is not None:
            rtts.append(m.last_pong_rtt)
    return (max(ages) if ages else None), (max(rtts) if rtts else None)


class ExecClientMetrics(_Source):
    kind = "execution"

    def __init__(
        self, client: ExecClientLike, http: _RateLimited | None, *, user_stream: bool = True
    ) -> None:
        super().__init__(client, http)
        self._user_stream = user_stream  # False for BingX poll_only: there is no user stream

    def sections(self, client: Any) -> list[tuple[str, Callable[[_Out, float], None]]]:
        sections: list[tuple[str, Callable[[_Out, float], None]]] = [
            ("fills", lambda out, now: self._fills(client, out)),
            ("frames", lambda out, now: self._frames(client, out)),
        ]
        if self._user_stream:
            sections.insert(0, ("user_stream", lambda out, now: self._stream(client, out, now)))
            sections.append(("ws_user", lambda out, now: self._ws_user(client, out, now)))
        if getattr(client, "ws_trading", None) is not None:
            sections.append(("ws_trading", lambda out, now: self._ws_trading(client, out)))
        if getattr(client, "poller", None) is not None:
            sections.append(("poll", lambda out, now: self._poll(client, out)))
        return sections

    def _stream(self, client: ExecClientLike, out: _Out, now: float) -> None:
        base = self.labels
        service = client.user_stream
        health = service.health()
        clock_now = service.ctx.clock()
        for state in StreamState:
            out.add("user_stream_state", base, 1.0 if health.state is state else 0.0, state.value)
        out.add("user_stream_state_seconds", base, max(0.0, clock_now - health.since))
        left = health.not_connected_since
        out.add(
            "user_stream_not_connected_seconds", base, 0.0 if left is None else max(0.0, clock_now - left)
        )
        m = service.ctx.metrics
        out.add("user_stream_recoveries_total", base, m.runs)
        out.add("user_stream_recovery_failures_total", base, m.failures)
        out.add("user_stream_recovery_triggers_total", base, m.triggers)
        out.add("user_stream_recoveries_paced_total", base, m.paced)
        out.add("user_stream_recovery_in_progress", base, 1.0 if m.in_progress else 0.0)
        out.add("user_stream_last_recovery_duration_seconds", base, m.last_duration)
        k = service.keeper.metrics
        out.add("user_stream_keepalives_total", base, k.sent)
        out.add("user_stream_keepalive_failures_total", base, k.failures)

    def _fills(self, client: ExecClientLike, out: _Out) -> None:
        base = self.labels
        facts = client.facts
        by_source = dict(facts.fills_by_source)
        for source in sorted({"stream", "rest", *by_source}):
            out.add("fills_total", base, by_source.get(source, 0), source)
        out.add("fills_duplicate_dropped_total", base, facts.duplicates_dropped)
        out.add("overfills_total", base, facts.overfills)
        repairs = client.repairs
        out.add("fill_repairs_requested_total", base, repairs.requested)
        out.add("fill_repairs_completed_total", base, repairs.repaired)
        out.add("fill_repairs_active", base, repairs.active)
        resolutions = dict(client.resolutions)
        for command in sorted({"submit", "cancel", *resolutions}):
            out.add("ambiguous_resolutions_total", base, resolutions.get(command, 0), command)

    def _frames(self, client: ExecClientLike, out: _Out) -> None:
        base = self.labels
        handler = client.stream_handler
        out.add("user_frames_total", base, handler.frames)
        out.add("user_frames_dropped_total", base, handler.rejected, "rejected")
        out.add("user_frames_dropped_total", base, handler.malformed, "malformed")
        out.add("user_frames_dropped_total", base, handler.errors, "error")

    def _ws_user(self, client: ExecClientLike, out: _Out, now: float) -> None:
        base = self.labels
        running = client.user_stream.health().state is not StreamState.STOPPED
        stream = client.user_stream.ctx.stream
        ws = stream if isinstance(stream, WsConnection) else None
        out.add("ws_sockets", base, 1.0 if running else 0.0, "user")
        out.add("ws_sockets_open", base, 1.0 if ws is not None and ws.is_open else 0.0, "user")
        # A recovery replaces the socket (no reconnect on the same URL): every socket after the first,
        # counted when it is attempted (a refused handshake too).
        out.add("ws_reconnects_total", base, max(0, client.stream_ops.connections - 1), "user")
        age, rtt = _ws_values([ws] if ws is not None else [], now)
        out.add("ws_last_frame_age_seconds", base, age, "user")
        out.add("ws_pong_rtt_seconds", base, rtt, "user")

    def _ws_trading(self, client: Any, out: _Out) -> None:
        base = self.labels
        trading = client.ws_trading
        health = trading.health()
        out.add("ws_sockets", base, 1.0, "trading")
        out.add("ws_sockets_open", base, 1.0 if health.is_healthy else 0.0, "trading")
        out.add("ws_reconnects_total", base, trading.metrics().reconnects, "trading")
        out.add("ws_pong_rtt_seconds", base, health.last_pong_rtt, "trading")

    def _poll(self, client: Any, out: _Out) -> None:
        base = self.labels
        out.add("rest_polls_total", base, client.poller.polls)
        out.add("rest_poll_failures_total", base, client.poller.failures)


class DataClientMetrics(_Source):
    kind = "data"

    def sections(self, client: Any) -> list[tuple[str, Callable[[_Out, float], None]]]:
        return [
            ("market", lambda out, now: self._market(client, out, now)),
            ("books", lambda out, now: self._books(client, out)),
        ]

    def _market(self, client: DataClientLike, out: _Out, now: float) -> None:
        base = self.labels
        pool = client.pool
        conns = list(pool.connections)
        sockets = [conn.ws for conn in conns]
        out.add("ws_sockets", base, len(conns), "market")
        out.add("ws_sockets_open", base, sum(1 for ws in sockets if ws.is_open), "market")
        out.add(
            "ws_reconnects_total",
            base,
            self.retained("ws_reconnects", ((ws, ws.metrics.reconnects) for ws in sockets)),
            "market",
        )
        age, rtt = _ws_values(sockets, now)
        out.add("ws_last_frame_age_seconds", base, age, "market")
        out.add("ws_pong_rtt_seconds", base, rtt, "market")
        out.add("market_events_total", base, getattr(client.metrics, "events", 0))
        out.add("market_streams", base, len(pool.streams))
        out.add(
            "market_frame_errors_total",
            base,
            self.retained("frame_errors", ((conn, conn.frame_errors) for conn in conns)),
        )
        out.add("market_dispatcher_restarts_total", base, pool.dispatcher_restarts)

    def _books(self, client: DataClientLike, out: _Out) -> None:
        base = self.labels
        syncs = [book.sync for book in list(client.books.values())]
        out.add("books", base, len(syncs))
        out.add("books_unsynced", base, sum(1 for sync in syncs if not sync.is_synced))
        for name, field in (
            ("book_gaps_total", "gaps_detected"),
            ("book_resyncs_total", "resyncs"),
            ("book_snapshots_rejected_total", "snapshots_rejected"),
            ("book_buffer_overflows_total", "buffer_overflows"),
        ):
            out.add(name, base, self.retained(name, ((s, getattr(s.metrics, field)) for s in syncs)))
        out.add(
            "book_conversion_failures_total",
            base,
            self.retained("conversions", ((s, s.conversion_failures) for s in syncs)),
        )


# --------------------------------------------------------------------------- the process-wide hub


class _Hub(Collector):
    """The one collector of the process: every registered source, read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # scrapes may run concurrently (threading server)
        self._sources: dict[tuple[str, ...], _Source] = {}
        self._errors: dict[tuple[str, ...], int] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self.servers: dict[tuple[str, int], Any] = {}  # (host, requested port) -> server

    def add(self, source: _Source) -> None:
        with self._lock:
            if source.key in self._sources:
                kind, _, client_id, _ = source.key
                _log.info("metrics: %s client %s registered again; the new one replaces it", kind, client_id)
            self._sources[source.key] = source

    def describe(self) -> list[Metric]:
        return []  # families are known only at scrape time; names cannot collide (one collector)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            out = _Out()
            seen_limiters: set[int] = set()
            now = time.monotonic()
            # Execution clients first: an HTTP client they share with a data client is reported by them.
            ordered = sorted(self._sources.items(), key=lambda item: item[1].kind != "execution")
            for key, source in ordered:
                client = source.client()
                if client is None:
                    del self._sources[key]
                    continue
                connected = 1.0 if getattr(client, "is_connected", False) else 0.0
                out.add("client_connected", source.labels, connected, source.kind)
                try:
                    sections = source.sections(client)
                except Exception:
                    sections = []
                    self._failed(source, "sections")
                sections.append(("rest", _rest_section(source, seen_limiters)))
                for section, read in sections:
                    try:
                        read(out, now)
                    except Exception:
                        self._failed(source, section)
            for (*labels, kind, section), count in self._errors.items():
                out.add("metrics_collect_errors_total", tuple(labels), count, kind, section)
        yield from out.families()

    def _failed(self, source: _Source, section: str) -> None:
        key = (*source.labels, source.kind, section)
        self._errors[key] = self._errors.get(key, 0) + 1
        _log.debug("metrics: reading %s of %s failed", section, source.labels, exc_info=True)


def _rest_section(source: _Source, seen: set[int]) -> Callable[[_Out, float], None]:
    return lambda out, now: source.collect_rest(out, seen)


_hub = _Hub()
_serve_lock = threading.Lock()


def registry() -> CollectorRegistry:
    """The registry the endpoint serves (for tests and for embedding it elsewhere)."""
    return _hub.registry


def register(source: ExecClientMetrics | DataClientMetrics) -> None:
    """Export a client (wrapped in :class:`ExecClientMetrics` / :class:`DataClientMetrics`) on the endpoint;
    the factories do it through :func:`enable_exec_client` / :func:`enable_data_client`."""
    _hub.add(source)


def serve(host: str = DEFAULT_HOST, port: int = 0) -> int:
    """Serve ``/metrics`` on ``host:port`` unless this process already does; return the bound port.

    ``port`` 0: any free port (the first port-0 server of ``host`` is reused by later port-0 requests).
    Raises ``ValueError`` for a port outside 0-65535 and ``OSError`` (with the address) when it cannot bind:
    an operator who enabled metrics relies on them for paging, so the node does not start without them.
    """
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"metrics_port must be an integer in 0-65535 (got {port!r})")
    with _serve_lock:
        server = _hub.servers.get((host, port))
        if server is None:
            try:
                server, _thread = start_http_server(port, addr=host, registry=_hub.registry)
            except OSError as exc:
                raise OSError(exc.errno, f"cannot serve Prometheus metrics on {host}:{port}: {exc}") from exc
            _hub.servers[(host, port)] = server
            bound = int(server.server_port)
            _hub.servers.setdefault((host, bound), server)
            _log.info("Prometheus metrics at %s", url(host, bound))
        return int(server.server_port)


def served_port(host: str, port: int) -> int | None:
    """The port actually bound for a ``(host, port)`` request (port 0: the free port chosen)."""
    server = _hub.servers.get((host, port))
    return None if server is None else int(server.server_port)


def url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/metrics"


def _config_address(config: Any) -> tuple[str, int] | None:
    port = getattr(config, "metrics_port", None)
    if port is None:
        return None
    return str(getattr(config, "metrics_host", DEFAULT_HOST) or DEFAULT_HOST), int(port)


def enable_exec_client(client: ExecClientLike, config: Any, http: _RateLimited | None) -> int | None:
    """Factory hook: with ``config.metrics_port`` set, serve the endpoint and export ``client``. Returns the
    bound port (None: metrics off)."""
    address = _config_address(config)
    if address is None:
        return None
    port = serve(*address)
    user_stream = not getattr(config, "poll_only", False)
    register(ExecClientMetrics(client, http, user_stream=user_stream))
    return port


def enable_data_client(client: DataClientLike, config: Any, http: _RateLimited | None) -> int | None:
    """Factory hook for market-data clients; see :func:`enable_exec_client`."""
    address = _config_address(config)
    if address is None:
        return None
    port = serve(*address)
    register(DataClientMetrics(client, http))
    return port
