"""End to end: recovery driver + real WsConnection user streams against a local server.

The first user socket is closed by the server with 1001 (the 24-hour disconnect).  The stream's
incident end fires the trigger, recovery snapshots, rotates the key and connects a new socket;
every event is dispatched exactly once and in per-stream order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from adapters.core.net.stream import Frame, StreamHandle
from adapters.core.net.ws_connection import WsConfig, WsConnection
from adapters.core.userstream.recovery import RecoveryOptions, RunTiming, SnapshotOutcome
from adapters.core.userstream.user_stream import UserStreamService
from tests.core.fakes import OK, other_tasks

TIMEOUT = 3.0


class LocalVenue:
    """RecoveryVenue + ListenKeyOps backed by a local aiohttp WebSocket server."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self.base = base
        self.session = session
        self.keys = 0
        self.handled: list[str] = []
        self.log: list[str] = []
        self.deleted: list[str] = []
        self.seen: dict[str, asyncio.Event] = {}

    async def create_listen_key(self) -> str:
        self.keys += 1
        return f"key{self.keys}"

    async def snapshot(self) -> SnapshotOutcome:
        self.log.append("snapshot")
        return OK

    async def post_snapshot(self) -> SnapshotOutcome:
        self.log.append("post_snapshot")
        return SnapshotOutcome()

    async def connect_stream(self, listen_key: str) -> StreamHandle:
        conn = WsConnection(
            f"{self.base}/ws?listenKey={listen_key}",
            config=WsConfig(ping_interval=5.0, close_timeout=1.0),
            session=self.session,
            name=f"user-{listen_key}",
        )
        await conn.start()
        return conn

    def handle_frame(self, frame: Frame) -> None:
        text = frame if isinstance(frame, str) else frame.decode()
        self.handled.append(text)
        self.log.append(text)
        self.event(text).set()

    def event(self, text: str) -> asyncio.Event:
        return self.seen.setdefault(text, asyncio.Event())

    async def keepalive(self, key: str) -> None:
        return None

    async def delete(self, key: str) -> None:
        self.deleted.append(key)


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async def ws_handler(request: web.Request) -> web.StreamResponse:
        key = request.query["listenKey"]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for i in range(3):
            await ws.send_str(f"{key}-e{i}")
        if key == "key1":
            await ws.close(code=1001, message=b"24h")  # the 24-hour disconnect
            return ws
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_server_close_triggers_rotation_without_loss_or_duplicates(base_url: str) -> None:
    before = other_tasks()
    async with aiohttp.ClientSession() as session:
        venue = LocalVenue(base_url, session)
        service = UserStreamService(venue, venue, options=RecoveryOptions(op_timeout=5.0))
        runs: asyncio.Queue[RunTiming] = asyncio.Queue()
        service.ctx.on_run = runs.put_nowait
        await service.start()
        await asyncio.wait_for(runs.get(), TIMEOUT)
        await asyncio.wait_for(venue.event("key2-e2").wait(), TIMEOUT)
        assert venue.handled == [f"key1-e{i}" for i in range(3)] + [f"key2-e{i}" for i in range(3)]
        assert service.ctx.metrics.last_reasons == ["stream ended: server_close code=1001"]
        assert service.ctx.listen_key == "key2"
        assert venue.log.index("snapshot") < venue.log.index("key2-e0")
        await service.stop()
        assert venue.deleted == ["key2"]
        assert service.ctx.metrics.runs == 1
    assert other_tasks() == before
