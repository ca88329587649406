"""WebSocket connection layer on aiohttp: one socket (re)connected, watched and drained.

A :class:`WsConnection` owns, for its whole life, exactly one *supervisor* task which in turn
owns a reader and a health-monitor task per underlying socket.  ``start()`` connects (raising on
failure) and spawns the supervisor; ``close()`` stops everything and awaits it.  Nothing is
fire-and-forget.

Received data frames go to an unbounded ``asyncio.Queue`` owned by the connection (see
:mod:`adapters.core.net.stream` for the contract), so a dispatcher can keep draining after the socket
is gone; the last item is always one :class:`~adapters.core.net.stream.StreamEnded`.

Liveness, in layers (all optional, see :class:`WsConfig`):

* protocol ping every ``ping_interval`` with a ``pong_timeout`` deadline (manual, not aiohttp's
  heartbeat, so the round-trip time is measured and the failure is reported as PONG_TIMEOUT);
* application ping (:class:`AppPing`): a text frame such as ``{"ping": 1}`` and a predicate that
  recognises the reply;
* server-initiated application pings (BingX sends ``Ping`` and expects ``Pong``):
  ``server_ping_reply`` maps a frame to a reply; such frames are answered and not queued;
* stall detection: no frame and no pong for ``stall_timeout`` -> the socket is treated as dead.

How a socket ended is reported as a :class:`~adapters.core.net.stream.CloseKind`; in particular a
server close frame (the 24-hour disconnect uses 1000/1001) is SERVER_CLOSE and distinct from an
abrupt drop (ABORTED).  With ``reconnect=True`` (market-data / trading sockets) the connection
reconnects with :class:`~adapters.core.base.backoff.Backoff` and queues a
:class:`~adapters.core.net.stream.Reconnected` marker before the new socket's first frame.  The user
stream runs with ``reconnect=False``: its death ends the stream with an incident ``StreamEnded``
and the owner fires a recovery trigger instead (a new listen key + REST snapshot, not a blind
reconnect to the same URL).

Closing is graceful: ``close()`` sends a close frame but keeps reading until the server's close
echo (bounded by ``close_timeout``), so frames the server sent before it saw our close are still
queued rather than thrown away by aiohttp's own ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import aiohttp

from adapters.core.base.backoff import Backoff, BackoffExhausted, SleepFn
from adapters.core.base.secrets import redact_url
from adapters.core.net.stream import CloseKind, Frame, Reconnected, StreamEnded, StreamItem

_log = logging.getLogger("adapters.core.ws_connection")

_CLOSE_NORMAL = struct.pack("!H", 1000)

# (kind, close code, detail) describing why one socket ended.
_SocketEnd: TypeAlias = tuple[CloseKind, int | None, str]


class WsState(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    STALLED = "stalled"  # liveness deadline missed; about to be torn down
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class AppPing:
    """Application-level ping: ``make()`` builds the frame, ``is_pong(frame)`` spots the reply."""

    make: Callable[[], Frame]
    is_pong: Callable[[Frame], bool]
    interval: float
    timeout: float = 10.0
    forward_pong: bool = False  # also queue the pong frame for the dispatcher


class WsConnectError(ConnectionError):
    """A WebSocket connect failed; the message never contains the URL's query values."""


def _describe_connect_error(exc: aiohttp.ClientError, url: str) -> str:
    status = getattr(exc, "status", None)
    message = getattr(exc, "message", None)
    detail = f"HTTP {status} {message}" if status is not None else type(exc).__name__
    return f"connect to {redact_url(url)} failed: {detail}"


@dataclass(frozen=True, slots=True)
class WsConfig:
    connect_timeout: float = 10.0
    ping_interval: float | None = 20.0  # protocol ping period; None disables
    pong_timeout: float = 10.0
    app_ping: AppPing | None = None
    stall_timeout: float | None = None  # no frame and no pong for this long -> dead
    server_ping_reply: Callable[[Frame], Frame | None] | None = None
    reconnect: bool = False
    backoff_initial: float = 1.0
    backoff_factor: float = 2.0
    backoff_cap: float = 60.0
    backoff_jitter: float = 0.0
    max_reconnect_attempts: int | None = None
    backoff_reset_after: float = 30.0  # uptime after which a connection counts as healthy
    close_timeout: float = 2.0
    max_msg_size: int = 16 * 1024 * 1024
    check_interval: float | None = None  # monitor tick; derived from the deadlines if None

    def monitor_tick(self) -> float:
        if self.check_interval is not None:
            return self.check_interval
        deadlines = [self.pong_timeout if self.ping_interval else None, self.stall_timeout]
        if self.ping_interval:
            deadlines.append(self.ping_interval)
        if self.app_ping is not None:
            deadlines += [self.app_ping.interval, self.app_ping.timeout]
        present = [d for d in deadlines if d]
        # A quarter of the tightest deadline keeps detection within 25 % of it, bounded to
        # avoid a busy loop and to keep detection under a second for long deadlines.
        return min(max(min(present) / 4, 0.005), 1.0) if present else 1.0


@dataclass(slots=True)
class WsMetrics:
    state: WsState = WsState.CLOSED
    connected_since: float | None = None  # clock() of the current socket's open
    last_frame_at: float | None = None
    frames_in: int = 0
    frames_out: int = 0
    reconnects: int = 0
    last_pong_rtt: float | None = None
    pings_sent: int = 0
    pongs_received: int = 0
    consecutive_failures: int = 0  # failed connect attempts since the last success
    last_close_kind: CloseKind | None = None
    last_close_code: int | None = None


OnConnected: TypeAlias = Callable[["WsConnection"], Awaitable[None]]
OnState: TypeAlias = Callable[[WsState], None]


class WsConnection:
    """One logical WebSocket stream; satisfies :class:`~adapters.core.net.stream.StreamHandle`."""

    def __init__(
        self,
        url: str,
        *,
        config: WsConfig | None = None,
        headers: dict[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        on_connected: OnConnected | None = None,
        on_state: OnState | None = None,
        name: str = "ws",
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self._url = url
        self._cfg = config or WsConfig()
        self._headers = headers or {}
        self._session = session
        self._owns_session = session is None
        self._on_connected = on_connected
        self._on_state = on_state
        self._name = name
        self._log = logger or _log
        self._clock = clock
        self._sleep = sleep
        self._queue: asyncio.Queue[StreamItem] = asyncio.Queue()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._ended = False
        self._healthy = asyncio.Event()
        self._ended_event = asyncio.Event()
        self._last_activity = 0.0
        self._ping_sent_at: float | None = None
        self._app_ping_sent_at: float | None = None
        self._backoff = Backoff(
            self._cfg.backoff_initial,
            self._cfg.backoff_factor,
            self._cfg.backoff_cap,
            self._cfg.backoff_jitter,
            max_attempts=self._cfg.max_reconnect_attempts,
        )
        self.metrics = WsMetrics()

    # ------------------------------------------------------------------ public API

    @property
    def queue(self) -> asyncio.Queue[StreamItem]:
        return self._queue

    @property
    def state(self) -> WsState:
        return self.metrics.state

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_open(self) -> bool:
        return self.metrics.state is WsState.OPEN

    async def start(self) -> None:
        """Connect (raising on failure) and start the supervisor task."""
        if self._task is not None:
            raise RuntimeError(f"{self._name}: already started")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            ws = await self._connect()
        except BaseException:
            self._set_state(WsState.CLOSED)
            await self._close_session()
            raise
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._supervise(ws), name=f"{self._name}-supervisor")

    async def close(self) -> None:
        """Close gracefully (drain in-flight frames up to ``close_timeout``); idempotent.

        Cancellation-safe: even if the caller is cancelled mid-close, the supervisor is cancelled
        and awaited, the socket released and the end marker queued before this returns.
        """
        self._closing = True
        task = self._task
        try:
            ws = self._ws
            if task is not None and not task.done() and ws is not None and not ws.closed:
                try:
                    # Send the close frame ourselves and let the reader run on until the server's
                    # echo: frames sent before the server saw our close still reach the queue.
                    await ws.send_frame(_CLOSE_NORMAL, aiohttp.WSMsgType.CLOSE)
                except (aiohttp.ClientError, OSError, RuntimeError) as exc:
                    self._log.debug("%s: sending close frame failed: %r", self._name, exc)
                else:
                    await asyncio.wait({task}, timeout=self._cfg.close_timeout)
        finally:
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task})
            await self._discard(self._ws)
            self._ws = None
            await self._close_session()
            self._finish(CloseKind.OWNER, 1000, "closed by owner")

    async def send(self, frame: Frame) -> None:
        """Send a text (``str``) or binary (``bytes``) frame on the current socket."""
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError(f"{self._name}: not connected")
        await self._send_on(ws, frame)

    async def wait_healthy(self) -> None:
        """Return once the current socket delivered a frame or a pong (bound with asyncio.timeout).

        A probe (the application ping if configured, else a protocol ping) is sent right away so
        a quiet but alive server (a user stream with no account activity) can prove itself
        within one round trip. Raises ``ConnectionError`` as soon as the stream has ended: a
        socket the venue dropped right after the handshake will never prove itself, and waiting
        out the caller's whole timeout for it would only delay the retry.
        """
        ws = self._ws
        if not self._healthy.is_set() and ws is not None and not ws.closed:
            # A failed probe is not an error here: the monitor reports the dead socket.
            with contextlib.suppress(aiohttp.ClientError, OSError, RuntimeError):
                await self._probe(ws)
        if self._healthy.is_set():
            return
        healthy = asyncio.ensure_future(self._healthy.wait())
        ended = asyncio.ensure_future(self._ended_event.wait())
        try:
            await asyncio.wait({healthy, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            healthy.cancel()
            ended.cancel()
        if not self._healthy.is_set():
            raise ConnectionError(f"{self._name}: stream ended before it proved healthy")

    async def _probe(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        app_ping = self._cfg.app_ping
        if app_ping is not None:
            # Prefer the application ping: it proves the venue's app layer, not just TCP.
            if self._app_ping_sent_at is None:
                self._app_ping_sent_at = self._clock()
                await self._send_on(ws, app_ping.make())
        elif self._ping_sent_at is None:
            await self._send_ping(ws)

    # ------------------------------------------------------------------ supervisor

    async def _supervise(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await self._supervise_sockets(ws)
        except Exception as exc:
            # Safety net for the stream contract: the consumer must always get an end marker,
            # otherwise a dispatcher (and a recovery waiting to drain it) would wait forever.
            self._log.exception("%s: supervisor failed", self._name)
            await self._discard(self._ws)
            self._ws = None
            self._finish(CloseKind.ABORTED, None, f"supervisor failed: {exc!r}")

    async def _supervise_sockets(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        current: aiohttp.ClientWebSocketResponse | None = ws
        while current is not None:
            kind, code, detail = await self._pump(current)
            uptime = self._clock() - (self.metrics.connected_since or self._clock())
            await self._discard(current)
            self._ws = None
            self.metrics.last_close_kind, self.metrics.last_close_code = kind, code
            if self._closing:
                return  # close() finishes the stream with OWNER
            self._log.warning("%s: socket ended: %s code=%s %s", self._name, kind.value, code, detail)
            if uptime >= self._cfg.backoff_reset_after:
                self._backoff.reset()
            if not self._cfg.reconnect:
                self._finish(kind, code, detail)
                return
            current = await self._reconnect(kind, code)

    async def _reconnect(self, cause: CloseKind, code: int | None) -> aiohttp.ClientWebSocketResponse | None:
        self._set_state(WsState.RECONNECTING)
        lost_at = self._clock()
        attempts = 0
        while True:
            try:
                delay = self._backoff.next_delay()
            except BackoffExhausted:
                self._finish(CloseKind.CONNECT_FAILED, code, f"gave up after {attempts} attempts")
                return None
            await self._sleep(delay)
            attempts += 1
            try:
                ws = await self._connect()
            except Exception as exc:  # any connect or on_connected failure is a failed attempt
                self.metrics.consecutive_failures += 1
                self._set_state(WsState.RECONNECTING)
                self._log.warning("%s: reconnect attempt %d failed: %r", self._name, attempts, exc)
                continue
            self.metrics.reconnects += 1
            # Queued before any frame of the new socket so the consumer sees the gap in order.
            self._queue.put_nowait(Reconnected(cause, code, attempts, self._clock() - lost_at))
            self._log.info("%s: reconnected after %d attempt(s)", self._name, attempts)
            return ws

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        assert self._session is not None
        self._set_state(WsState.CONNECTING)
        cfg = self._cfg
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                ws = await self._session.ws_connect(
                    self._url,
                    headers=self._headers,
                    autoping=False,  # we answer pings and consume pongs ourselves (RTT, deadlines)
                    autoclose=True,
                    heartbeat=None,
                    max_msg_size=cfg.max_msg_size,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=cfg.close_timeout),
                )
        except aiohttp.ClientError as exc:
            # aiohttp's messages embed the full URL, query included (a listen key is a credential
            # for the user stream): re-raise with the URL redacted, and without the original chained.
            raise WsConnectError(_describe_connect_error(exc, self._url)) from None
        self._ws = ws
        if self._on_connected is not None:
            try:
                await self._on_connected(self)
            except BaseException:
                await self._discard(ws)
                self._ws = None
                raise
        self.metrics.consecutive_failures = 0
        # Fresh liveness bookkeeping for the new socket; the reader starts right after.
        now = self._clock()
        self._healthy.clear()
        self._last_activity = now
        self._ping_sent_at = None
        self._app_ping_sent_at = None
        self._set_state(WsState.OPEN)
        self.metrics.connected_since = now
        return ws

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> _SocketEnd:
        loop = asyncio.get_running_loop()
        reader = loop.create_task(self._read(ws), name=f"{self._name}-reader")
        monitor = loop.create_task(self._monitor(ws), name=f"{self._name}-monitor")
        try:
            await asyncio.wait({reader, monitor}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            monitor.cancel()
            await asyncio.wait({reader, monitor})
        for task in (reader, monitor):
            if task.done() and not task.cancelled():
                exc = task.exception()
                if exc is not None:
                    return CloseKind.ABORTED, ws.close_code, f"{task.get_name()} failed: {exc!r}"
                return task.result()
        return CloseKind.ABORTED, ws.close_code, "reader and monitor cancelled"

    # ------------------------------------------------------------------ reader / monitor

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> _SocketEnd:
        cfg = self._cfg
        app_ping = cfg.app_ping
        server_ping_reply = cfg.server_ping_reply
        metrics = self.metrics
        queue = self._queue
        clock = self._clock
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        while True:
            msg = await ws.receive()
            mtype = msg.type
            if mtype is text or mtype is binary:
                data: Frame = msg.data
                now = clock()
                metrics.frames_in += 1
                metrics.last_frame_at = now
                self._last_activity = now
                if not self._healthy.is_set():
                    self._healthy.set()
                if app_ping is not None and app_ping.is_pong(data):
                    if self._app_ping_sent_at is not None:
                        metrics.last_pong_rtt = now - self._app_ping_sent_at
                        self._app_ping_sent_at = None
                    metrics.pongs_received += 1
                    if not app_ping.forward_pong:
                        continue
                if server_ping_reply is not None:
                    reply = server_ping_reply(data)
                    if reply is not None:
                        await self._send_on(ws, reply)
                        continue
                queue.put_nowait(data)
            elif mtype is aiohttp.WSMsgType.PING:
                self._last_activity = clock()
                await ws.pong(msg.data)
            elif mtype is aiohttp.WSMsgType.PONG:
                now = clock()
                self._last_activity = now
                metrics.pongs_received += 1
                if self._ping_sent_at is not None:
                    metrics.last_pong_rtt = now - self._ping_sent_at
                    self._ping_sent_at = None
                if not self._healthy.is_set():
                    self._healthy.set()
            elif mtype is aiohttp.WSMsgType.CLOSE:
                # A real close frame: deliberate server close (24 h limit: 1000/1001) or the echo
                # of our own close.  msg.data is the close code, msg.extra the reason.
                return CloseKind.SERVER_CLOSE, msg.data, str(msg.extra or "")
            elif mtype is aiohttp.WSMsgType.CLOSING:
                continue
            elif mtype is aiohttp.WSMsgType.CLOSED:
                return CloseKind.ABORTED, ws.close_code, "connection lost without a close frame"
            else:  # ERROR
                return CloseKind.ABORTED, ws.close_code, f"protocol error: {ws.exception() or msg.data!r}"

    async def _monitor(self, ws: aiohttp.ClientWebSocketResponse) -> _SocketEnd:
        cfg = self._cfg
        tick = cfg.monitor_tick()
        clock = self._clock
        last_ping = last_app_ping = clock()
        app_ping = cfg.app_ping
        while True:
            await asyncio.sleep(tick)
            now = clock()
            if cfg.ping_interval:
                if self._ping_sent_at is not None:
                    if now - self._ping_sent_at > cfg.pong_timeout:
                        return self._dead(CloseKind.PONG_TIMEOUT, f"no pong within {cfg.pong_timeout}s")
                elif now - last_ping >= cfg.ping_interval:
                    last_ping = now
                    await self._send_ping(ws)
            if app_ping is not None:
                if self._app_ping_sent_at is not None:
                    if now - self._app_ping_sent_at > app_ping.timeout:
                        return self._dead(CloseKind.PONG_TIMEOUT, f"no app pong within {app_ping.timeout}s")
                elif now - last_app_ping >= app_ping.interval:
                    last_app_ping = now
                    self._app_ping_sent_at = now
                    await self._send_on(ws, app_ping.make())
            if cfg.stall_timeout and now - self._last_activity > cfg.stall_timeout:
                return self._dead(CloseKind.STALLED, f"no frame or pong for {cfg.stall_timeout}s")

    def _dead(self, kind: CloseKind, detail: str) -> _SocketEnd:
        self._set_state(WsState.STALLED)
        return kind, None, detail

    # ------------------------------------------------------------------ helpers

    async def _send_ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ping_sent_at = self._clock()
        self.metrics.pings_sent += 1
        await ws.ping()

    async def _send_on(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> None:
        if isinstance(frame, str):
            await ws.send_str(frame)
        else:
            await ws.send_bytes(frame)
        self.metrics.frames_out += 1

    async def _discard(self, ws: aiohttp.ClientWebSocketResponse | None) -> None:
        """Close a socket without raising; bounded so a dead peer cannot hang us."""
        if ws is None or ws.closed:
            return
        try:
            async with asyncio.timeout(self._cfg.close_timeout):
                await ws.close()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._log.debug("%s: close failed: %r", self._name, exc)

    async def _close_session(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _finish(self, kind: CloseKind, code: int | None, detail: str) -> None:
        """Queue the single end marker and enter CLOSED (idempotent)."""
        if self._ended:
            return
        self._ended = True
        self._ended_event.set()
        self.metrics.last_close_kind = kind
        self.metrics.last_close_code = code
        self._queue.put_nowait(StreamEnded(kind, code, detail))
        self._set_state(WsState.CLOSED)

    def _set_state(self, state: WsState) -> None:
        if self.metrics.state is state:
            return
        self.metrics.state = state
        if state in (WsState.CONNECTING, WsState.RECONNECTING, WsState.CLOSED):
            self.metrics.connected_since = None
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                self._log.exception("%s: on_state callback failed", self._name)

    def __repr__(self) -> str:
        extra: dict[str, Any] = {"state": self.metrics.state.value, "frames_in": self.metrics.frames_in}
        return f"WsConnection({self._name!r}, {extra})"
