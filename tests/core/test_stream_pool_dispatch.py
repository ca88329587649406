"""The market dispatcher never stops silently: a frame that fails to decode or to handle is logged
and skipped, and a dispatcher that dies anyway is restarted with its streams resynced."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from adapters.core.net.stream import CloseKind, StreamEnded, StreamItem
from adapters.core.net.stream_pool import MarketStreamPool, StreamConnection


class Codec:
    max_streams_per_request = 10

    def encode(self, method: str, streams: Sequence[str], req_id: int) -> bytes:
        return b""

    def decode(self, frame: Any) -> Any:
        if frame == b"nested":
            raise RecursionError("maximum recursion depth exceeded while deserializing")
        if frame == b"not-utf8":
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
        return ("s@depth", frame)


class Sink:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.resyncs: list[frozenset[str]] = []
        self.resynced = asyncio.Event()

    def on_market_event(self, stream: str | None, event: Any) -> None:
        if event == b"boom":
            raise ValueError("a level NautilusTrader cannot hold")
        self.events.append(event)

    def on_reconnected(self, streams: frozenset[str]) -> None:
        self.resyncs.append(streams)
        self.resynced.set()


class FakeWs:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[StreamItem] = asyncio.Queue()


def _connection(sink: Sink) -> tuple[MarketStreamPool, StreamConnection, FakeWs]:
    pool = MarketStreamPool("ws://x", sink, Codec(), logger=logging.getLogger("test"))  # type: ignore[arg-type]
    conn = StreamConnection.__new__(StreamConnection)
    conn.pool = pool
    conn.name = "test-1"
    conn.streams = {"s@depth"}
    conn._acks = {}
    conn.frame_errors = 0
    ws = FakeWs()
    conn.ws = ws  # type: ignore[assignment]
    return pool, conn, ws


async def test_frames_that_fail_to_decode_or_handle_do_not_end_the_dispatcher() -> None:
    sink = Sink()
    _, conn, ws = _connection(sink)
    for frame in (b"a", b"nested", b"not-utf8", b"boom", b"b"):
        ws.queue.put_nowait(frame)
    ws.queue.put_nowait(StreamEnded(CloseKind.OWNER))
    await asyncio.wait_for(conn.run_dispatcher(), 2.0)
    assert sink.events == [b"a", b"b"] and conn.frame_errors == 3


async def test_a_dispatcher_that_dies_is_restarted_and_its_books_resynced() -> None:
    sink = Sink()
    pool, conn, ws = _connection(sink)
    pool.connections.append(conn)
    died = asyncio.Event()

    original = conn.run_dispatcher

    async def dies_once() -> None:
        if not died.is_set():
            died.set()
            raise RuntimeError("a bug")
        await original()

    conn.run_dispatcher = dies_once  # type: ignore[method-assign]
    pool._start_dispatcher(conn)
    await asyncio.wait_for(sink.resynced.wait(), 2.0)  # restarted, then resynced
    ws.queue.put_nowait(b"after")
    ws.queue.put_nowait(StreamEnded(CloseKind.OWNER))
    assert conn.dispatcher is not None
    await asyncio.wait_for(asyncio.shield(conn.dispatcher), 2.0)
    assert pool.dispatcher_restarts == 1 and sink.resyncs == [frozenset({"s@depth"})]
    assert sink.events == [b"after"]
