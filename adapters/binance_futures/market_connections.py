"""Binance USD-M market-stream connections: a pool of combined-stream sockets.

* **Combined streams.** Every socket is ``<ws base><path>`` (``/stream`` by default) and carries
  streams added with ``SUBSCRIBE`` requests; frames arrive wrapped as ``{"stream", "data"}`` so one
  socket can carry any mix of streams and symbols.
* **The per-connection stream limit.** A socket carries at most ``capacity`` streams (Binance's
  limit is 1024, NautilusTrader uses 200); a subscription that does not fit opens another socket.
  A socket left without streams is closed: unsubscribing really unsubscribes.
* **The message-rate limit.** Binance drops a socket that sends more than 10 messages a second;
  control requests are throttled to ``max_messages_per_sec`` per socket.
* **Resubscription.** Each socket is a :class:`~adapters.core.ws_connection.WsConnection` with
  reconnect + backoff; its ``on_connected`` hook re-sends ``SUBSCRIBE`` for the socket's current
  stream set before the new socket's first frame is read, so every subscription survives every
  reconnect. The sink then gets :meth:`MarketSink.on_reconnected` (in order with the frames) to
  resync what cannot simply continue (order books).
* **Acknowledged subscriptions.** ``subscribe`` returns once the venue answered the ``SUBSCRIBE``
  (``{"result": null, "id": n}``), so data produced after it returns is delivered.

Structured concurrency: the pool owns one dispatcher task per socket (draining its queue until the
``StreamEnded`` marker) and every socket; :meth:`MarketStreamPool.close` closes and awaits all.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec

from adapters.binance_futures.schemas_market import (
    ControlResponse,
    MalformedFrame,
    MarketDecoded,
    StreamError,
    SubscriptionError,
    UnknownEvent,
    decode_market_frame,
)
from adapters.core.stream import Reconnected, StreamEnded
from adapters.core.ws_connection import WsConfig, WsConnection

_log = logging.getLogger(__name__)

MAX_PARAMS_PER_REQUEST = 200


class MarketSink(Protocol):
    def on_market_event(self, stream: str | None, event: MarketDecoded) -> None: ...

    def on_reconnected(self, streams: frozenset[str]) -> None: ...


class SubscribeFailed(Exception):
    """The venue refused a SUBSCRIBE / UNSUBSCRIBE request."""


class StreamConnection:
    """One combined-stream socket and the set of streams it should carry."""

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

    # -- control requests ---------------------------------------------------------------------
    async def _on_connected(self, ws: WsConnection) -> None:
        """Runs on every (re)connect before frames are read: restore the whole stream set."""
        streams = sorted(self.streams)
        for i in range(0, len(streams), MAX_PARAMS_PER_REQUEST):
            chunk = streams[i : i + MAX_PARAMS_PER_REQUEST]
            self.subscribe_requests += 1
            await ws.send(_encode("SUBSCRIBE", chunk, self.pool.next_id()))

    async def request(self, method: str, streams: list[str], wait_secs: float) -> None:
        """Send ``method`` for ``streams`` and wait for the venue's answer.

        A socket that is down (reconnecting) gets nothing: its ``on_connected`` hook sends the
        current set when it is back. An answer lost with a dying socket is not waited for.
        """
        if not streams:
            return
        for i in range(0, len(streams), MAX_PARAMS_PER_REQUEST):
            chunk = streams[i : i + MAX_PARAMS_PER_REQUEST]
            req_id = self.pool.next_id()
            fut: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            self._acks[req_id] = fut
            try:
                await self._throttle()
                if method == "SUBSCRIBE":
                    self.subscribe_requests += 1
                try:
                    await self.ws.send(_encode(method, chunk, req_id))
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

    # -- dispatch -------------------------------------------------------------------------------
    async def run_dispatcher(self) -> None:
        queue = self.ws.queue
        sink = self.pool.sink
        log = self.pool.log
        while True:
            item = await queue.get()
            if isinstance(item, bytes | str):
                frame = decode_market_frame(item)
                event = frame.event
                if isinstance(event, ControlResponse):
                    fut = self._acks.get(event.id) if isinstance(event.id, int) else None
                    if fut is not None and not fut.done():
                        fut.set_result(None)
                elif isinstance(event, SubscriptionError):
                    fut = self._acks.get(event.id) if isinstance(event.id, int) else None
                    if fut is not None and not fut.done():
                        fut.set_result(f"code={event.code} msg={event.msg}")
                    else:
                        log.error("%s: venue refused a request: %s %s", self.name, event.code, event.msg)
                elif isinstance(event, MalformedFrame | StreamError):
                    log.warning("%s: %r", self.name, event)
                elif isinstance(event, UnknownEvent):
                    log.debug("%s: unknown event %s", self.name, event.event_type)
                else:
                    try:
                        sink.on_market_event(frame.stream, event)
                    except Exception:
                        log.exception("%s: handling %s failed", self.name, frame.stream)
            elif isinstance(item, Reconnected):
                # Requests in flight on the old socket will never be answered; the hook already
                # re-sent the whole set on the new one.
                self._fail_pending(None)
                log.warning("%s: reconnected (%s); %d streams restored", self.name, item.cause.value,
                            len(self.streams))
                try:
                    sink.on_reconnected(frozenset(self.streams))
                except Exception:
                    log.exception("%s: reconnect handling failed", self.name)
            elif isinstance(item, StreamEnded):
                self._fail_pending(None)  # closed by its owner, or gave up: nothing to wait for
                if item.kind.is_incident:
                    log.error("%s: stream ended: %s %s", self.name, item.kind.value, item.detail)
                return


def _encode(method: str, params: list[str], req_id: int) -> str:
    return msgspec.json.encode({"method": method, "params": params, "id": req_id}).decode()


class MarketStreamPool:
    """Streams spread over as many combined-stream sockets as the per-connection limit needs.

    Each stream has a set of *owners* (the same ``<sym>@markPrice@1s`` feeds mark prices, index
    prices and funding rates): the venue is unsubscribed when the last owner leaves.
    """

    def __init__(
        self,
        base_url: str,
        sink: MarketSink,
        *,
        capacity: int = 200,
        path_for: Callable[[str], str] = lambda stream: "/stream",
        ws_config: WsConfig | None = None,
        max_messages_per_sec: int = 8,
        request_timeout: float = 10.0,
        name: str = "binance-market",
        logger: logging.Logger | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.sink = sink
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
                await conn.request("SUBSCRIBE", names, self.request_timeout)
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
                await conn.request("UNSUBSCRIBE", names, self.request_timeout)
            except (SubscribeFailed, TimeoutError) as exc:
                self.log.warning("%s: %s", conn.name, exc)

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
        conn.dispatcher = asyncio.get_running_loop().create_task(
            conn.run_dispatcher(), name=f"{conn.name}-dispatcher"
        )
        self.connections.append(conn)
        return conn

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
