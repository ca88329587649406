"""A venue-neutral pool of market-data sockets carrying subscribed streams (topics).

Extracted from the Binance USD-M market connections; the venue supplies only a
:class:`StreamCodec` (how a subscribe/unsubscribe request is written, how a frame is classified).

* **Per-connection capacity.** A socket carries at most ``capacity`` streams (Binance 1024/200,
  BingX 200); a subscription that does not fit opens another socket. A socket left without
  streams is closed: unsubscribing really unsubscribes.
* **Message-rate limit.** Control requests are throttled to ``max_messages_per_sec`` per socket
  (Binance drops a socket above 10/s; BingX asks for at most 10 subscribe requests a second).
* **Resubscription.** Each socket is a :class:`~adapters.core.net.ws_connection.WsConnection` with
  reconnect + backoff; its ``on_connected`` hook re-sends the subscribe requests for the socket's
  current stream set before the new socket's first frame is read, so every subscription survives
  every reconnect. The sink then gets :meth:`MarketSink.on_reconnected` (in order with the frames)
  to resync what cannot simply continue (order books).
* **Acknowledged requests.** ``subscribe`` returns once the venue answered, so data produced after
  it returns is delivered. :meth:`MarketStreamPool.refresh` unsubscribes and re-subscribes one
  stream on its socket (venues whose subscription starts with a full snapshot resync that way).
* **Reference counting.** Each stream has a set of *owners* (one venue stream can feed several
  Nautilus subscriptions); the venue is unsubscribed when the last owner leaves.

Structured concurrency: the pool owns one dispatcher task per socket (draining its queue until the
``StreamEnded`` marker) and every socket; :meth:`MarketStreamPool.close` closes and awaits all.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.core.net.stream import Frame, Reconnected, StreamEnded
from adapters.core.net.ws_connection import WsConfig, WsConnection
from adapters.core.parse.wire_values import redact

_log = logging.getLogger("adapters.core.stream_pool")

SUBSCRIBE = "SUBSCRIBE"
UNSUBSCRIBE = "UNSUBSCRIBE"


@dataclass(frozen=True, slots=True)
class Ack:
    """The venue's answer to a control request: ``error`` None means accepted."""

    id: int | None
    error: str | None = None


class StreamCodec(Protocol):
    """The venue's wire dialect for the pool.

    ``decode`` returns ``(stream, event)`` for a data frame (handed to the sink), an :class:`Ack`
    for a control answer, or None for a frame the pool should ignore (heartbeats, unknown or
    malformed frames: the codec logs those itself).
    """

    max_streams_per_request: int

    def encode(self, method: str, streams: Sequence[str], req_id: int) -> Frame: ...

    def decode(self, frame: Frame) -> tuple[str | None, Any] | Ack | None: ...


class MarketSink(Protocol):
    def on_market_event(self, stream: str | None, event: Any) -> None: ...

    def on_reconnected(self, streams: frozenset[str]) -> None: ...


class SubscribeFailed(Exception):
    """The venue refused a subscribe / unsubscribe request."""


class StreamConnection:
    """One socket and the set of streams it should carry."""

    def __init__(
        self,
        pool: MarketStreamPool,
        name: str,
        url: str,
        path: str,
        ws_config: WsConfig,
    ) -> None:
        self.pool = pool
        self.name = name
        self.path = path
        self.streams: set[str] = set()
        self.ws = WsConnection(
            url, config=ws_config, on_connected=self._on_connected, name=name, logger=pool.log
        )
        self.dispatcher: asyncio.Task[None] | None = None
        self._acks: dict[int, asyncio.Future[str | None]] = {}
        self._sent_at: collections.deque[float] = collections.deque()
        self._send_lock = asyncio.Lock()
        self.subscribe_requests = 0
        self.frame_errors = 0  # frames that failed to decode or to handle (logged, skipped)

    # -- control requests ---------------------------------------------------------------------
    def _chunks(self, streams: list[str]) -> Iterable[list[str]]:
        size = max(1, self.pool.codec.max_streams_per_request)
        for i in range(0, len(streams), size):
            yield streams[i : i + size]

    async def _on_connected(self, ws: WsConnection) -> None:
        """Runs on every (re)connect before frames are read: restore the whole stream set."""
        codec = self.pool.codec
        for chunk in self._chunks(sorted(self.streams)):
            self.subscribe_requests += 1
            await ws.send(codec.encode(SUBSCRIBE, chunk, self.pool.next_id()))

    async def request(self, method: str, streams: list[str], wait_secs: float) -> None:
        """Send ``method`` for ``streams`` and wait for the venue's answer.

        A socket that is down (reconnecting) gets nothing: its ``on_connected`` hook sends the
        current set when it is back. An answer lost with a dying socket is not waited for.
        """
        if not streams:
            return
        codec = self.pool.codec
        for chunk in self._chunks(streams):
            req_id = self.pool.next_id()
            fut: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            self._acks[req_id] = fut
            try:
                await self._throttle()
                if method == SUBSCRIBE:
                    self.subscribe_requests += 1
                try:
                    await self.ws.send(codec.encode(method, chunk, req_id))
                except ConnectionError:
                    return  # down: restored by on_connected
                async with asyncio.timeout(wait_secs):
                    error = await fut
            finally:
                self._acks.pop(req_id, None)
            if error is not None:
                raise SubscribeFailed(f"{method} {chunk}: {error}")

    async def _throttle(self) -> None:
        limit = self.pool.max_messages_per_sec
        async with self._send_lock:
            now = time.monotonic()
            while self._sent_at and now - self._sent_at[0] >= 1.0:
                self._sent_at.popleft()
            if len(self._sent_at) >= limit:
                # Rate limiting, not synchronisation: the venue disconnects a chatty socket.
                await asyncio.sleep(1.0 - (now - self._sent_at[0]))
                self._sent_at.popleft()
            self._sent_at.append(time.monotonic())

    def _fail_pending(self, reason: str | None) -> None:
        for fut in self._acks.values():
            if not fut.done():
                fut.set_result(reason)
        self._acks.clear()

    def _on_ack(self, ack: Ack) -> None:
        fut = self._acks.get(ack.id) if ack.id is not None else None
        if fut is not None and not fut.done():
            fut.set_result(ack.error)
        elif ack.error is not None:
            self.pool.log.error("%s: venue refused a request: %s", self.name, ack.error)

    # -- dispatch -------------------------------------------------------------------------------
    async def run_dispatcher(self) -> None:
        """Dispatch this socket's frames until its end marker. Nothing a frame contains may end this
        task: a frame that fails to decode or to handle is logged, counted and skipped (a lost
        book diff is then seen as a sequence gap and the book resyncs)."""
        queue = self.ws.queue
        sink = self.pool.sink
        decode = self.pool.codec.decode
        log = self.pool.log
        while True:
            item = await queue.get()
            if isinstance(item, bytes | str):
                try:
                    decoded = decode(item)
                    if type(decoded) is tuple:
                        sink.on_market_event(decoded[0], decoded[1])
                    elif isinstance(decoded, Ack):
                        self._on_ack(decoded)
                except Exception:
                    self.frame_errors += 1
                    log.exception("%s: market frame skipped: %s", self.name, redact(item[:200]))
            elif isinstance(item, Reconnected):
                # Requests in flight on the old socket will never be answered; the hook already
                # re-sent the whole set on the new one.
                self._fail_pending(None)
                log.warning(
                    "%s: reconnected (%s); %d streams restored",
                    self.name,
                    item.cause.value,
                    len(self.streams),
                )
                try:
                    sink.on_reconnected(frozenset(self.streams))
                except Exception:
                    log.exception("%s: reconnect handling failed", self.name)
            elif isinstance(item, StreamEnded):
                self._fail_pending(None)  # closed by its owner, or gave up: nothing to wait for
                if item.kind.is_incident:
                    log.error("%s: stream ended: %s %s", self.name, item.kind.value, item.detail)
                return


class MarketStreamPool:
    """Streams spread over as many sockets as the per-connection limit needs (see module doc)."""

    def __init__(
        self,
        base_url: str,
        sink: MarketSink,
        codec: StreamCodec,
        *,
        capacity: int = 200,
        path_for: Callable[[str], str] = lambda stream: "",
        ws_config: WsConfig | None = None,
        max_messages_per_sec: int = 8,
        request_timeout: float = 10.0,
        name: str = "market",
        logger: logging.Logger | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.sink = sink
        self.codec = codec
        self.capacity = capacity
        self.path_for = path_for
        self.ws_config = ws_config or WsConfig(reconnect=True)
        self.max_messages_per_sec = max(1, max_messages_per_sec)
        self.request_timeout = request_timeout
        self.name = name
        self.log = logger or _log
        self.connections: list[StreamConnection] = []
        self._where: dict[str, StreamConnection] = {}
        self._owners: dict[str, set[str]] = {}
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._conn_ids = itertools.count(1)
        self._closed = False
        self.dispatcher_restarts = 0

    def next_id(self) -> int:
        return next(self._ids)

    @property
    def streams(self) -> frozenset[str]:
        return frozenset(self._where)

    def connection_of(self, stream: str) -> StreamConnection | None:
        return self._where.get(stream)

    def owners(self, stream: str) -> frozenset[str]:
        return frozenset(self._owners.get(stream, ()))

    async def subscribe(self, streams: Iterable[str], owner: str) -> None:
        """Add ``owner`` to each stream; streams new to the pool are subscribed (acknowledged)."""
        todo: dict[StreamConnection, list[str]] = {}
        async with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: closed")
            for stream in streams:
                owners = self._owners.setdefault(stream, set())
                owners.add(owner)
                if stream in self._where:
                    continue
                conn = await self._connection_with_room(self.path_for(stream))
                conn.streams.add(stream)
                self._where[stream] = conn
                todo.setdefault(conn, []).append(stream)
        for conn, names in todo.items():
            try:
                await conn.request(SUBSCRIBE, names, self.request_timeout)
            except BaseException:
                async with self._lock:
                    for stream in names:
                        self._forget(stream, owner)
                    await self._close_if_empty(conn)
                raise

    async def unsubscribe(self, streams: Iterable[str], owner: str) -> None:
        """Remove ``owner``; streams left without owners are unsubscribed at the venue."""
        todo: dict[StreamConnection, list[str]] = {}
        closing: list[StreamConnection] = []
        async with self._lock:
            for stream in streams:
                conn = self._forget(stream, owner)
                if conn is not None:
                    todo.setdefault(conn, []).append(stream)
            for conn in list(todo):
                if not conn.streams:
                    closing.append(conn)
                    del todo[conn]
                    self.connections.remove(conn)
        for conn in closing:
            await self._close_connection(conn)
        for conn, names in todo.items():
            try:
                await conn.request(UNSUBSCRIBE, names, self.request_timeout)
            except (SubscribeFailed, TimeoutError) as exc:
                self.log.warning("%s: %s", conn.name, exc)

    async def refresh(self, stream: str) -> bool:
        """Unsubscribe and re-subscribe ``stream`` on its socket (both acknowledged).

        Returns False when the pool does not carry the stream (unsubscribed meanwhile). A socket
        that is down restores the stream itself when it reconnects.
        """
        conn = self._where.get(stream)
        if conn is None:
            return False
        await conn.request(UNSUBSCRIBE, [stream], self.request_timeout)
        if self._where.get(stream) is not conn:
            return False
        await conn.request(SUBSCRIBE, [stream], self.request_timeout)
        return True

    def _forget(self, stream: str, owner: str) -> StreamConnection | None:
        """Drop ``owner`` of ``stream``; return the connection if the stream lost its last owner."""
        owners = self._owners.get(stream)
        if owners is None:
            return None
        owners.discard(owner)
        if owners:
            return None
        del self._owners[stream]
        conn = self._where.pop(stream, None)
        if conn is not None:
            conn.streams.discard(stream)
        return conn

    async def _connection_with_room(self, path: str) -> StreamConnection:
        for conn in self.connections:
            if conn.path == path and len(conn.streams) < self.capacity:
                return conn
        conn = StreamConnection(
            self,
            f"{self.name}-{next(self._conn_ids)}",
            f"{self.base_url}{path}",
            path,
            self.ws_config,
        )
        await conn.ws.start()
        self._start_dispatcher(conn)
        self.connections.append(conn)
        return conn

    def _start_dispatcher(self, conn: StreamConnection) -> None:
        conn.dispatcher = asyncio.get_running_loop().create_task(
            conn.run_dispatcher(), name=f"{conn.name}-dispatcher"
        )
        conn.dispatcher.add_done_callback(lambda task: self._dispatcher_done(conn, task))

    def _dispatcher_done(self, conn: StreamConnection, task: asyncio.Task[None]) -> None:
        """A dispatcher must only end at its socket's end marker. One that died otherwise is an
        incident: it is restarted at once (the socket's queued frames are still there) and the
        books resync, since the frame it died on is lost. Never silent."""
        if task.cancelled() or task.exception() is None or conn not in self.connections or self._closed:
            return
        self.dispatcher_restarts += 1
        self.log.error(
            "%s: market dispatcher died (%r); restarting it and resyncing its streams",
            conn.name,
            task.exception(),
        )
        self._start_dispatcher(conn)
        try:
            self.sink.on_reconnected(frozenset(conn.streams))
        except Exception:
            self.log.exception("%s: resync after a dispatcher failure failed", conn.name)

    async def _close_if_empty(self, conn: StreamConnection) -> None:
        if not conn.streams and conn in self.connections:
            self.connections.remove(conn)
            await self._close_connection(conn)

    async def _close_connection(self, conn: StreamConnection) -> None:
        await conn.ws.close()
        if conn.dispatcher is not None:
            try:
                async with asyncio.timeout(5.0):
                    await asyncio.shield(conn.dispatcher)
            except TimeoutError:
                conn.dispatcher.cancel()
                await asyncio.wait({conn.dispatcher})

    async def close(self) -> None:
        """Close every socket and await every dispatcher (idempotent)."""
        async with self._lock:
            self._closed = True
            conns, self.connections = self.connections, []
            self._where.clear()
            self._owners.clear()
        for conn in conns:
            await self._close_connection(conn)
