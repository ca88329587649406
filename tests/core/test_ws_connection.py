"""WsConnection against a local aiohttp server on 127.0.0.1 (ephemeral port)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from adapters.core.net.stream import CloseKind, Reconnected, StreamEnded, StreamItem
from adapters.core.net.ws_connection import AppPing, WsConfig, WsConnectError, WsConnection, WsState
from tests.core.fakes import RecordingSleep, other_tasks

TIMEOUT = 3.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    def __init__(self) -> None:
        self.app = web.Application()
        self.connections: dict[str, int] = {}
        self.received: list[str] = []
        self.runner: web.AppRunner | None = None
        self.base = ""

    def route(self, path: str, handler: Handler) -> None:
        async def counted(request: web.Request) -> web.StreamResponse:
            self.connections[path] = self.connections.get(path, 0) + 1
            return await handler(request)

        self.app.router.add_get(path, counted)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def ws_open(request: web.Request, **kwargs: object) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(**kwargs)  # type: ignore[arg-type]
    await ws.prepare(request)
    return ws


async def hold(ws: web.WebSocketResponse, received: list[str] | None = None) -> web.WebSocketResponse:
    """Read until the client closes (answering pings unless autoping=False)."""
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT and received is not None:
            received.append(msg.data)
    return ws


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()

    async def hello(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        await ws.send_str("hello")
        await ws.send_bytes(b"\x01\x02")
        return await hold(ws, srv.received)

    async def close_1001(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        await ws.send_str("last words")
        await ws.close(code=1001, message=b"24h limit")
        return ws

    async def abort(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        await ws.send_str("before drop")
        assert request.transport is not None
        request.transport.abort()
        return ws

    async def no_pong(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request, autoping=False)
        return await hold(ws)

    async def flaky(request: web.Request) -> web.StreamResponse:
        n = srv.connections["/flaky"]
        ws = await ws_open(request)
        await ws.send_str(f"conn-{n}")
        if n == 1:
            assert request.transport is not None
            request.transport.abort()
            return ws
        return await hold(ws)

    async def once_then_refuse(request: web.Request) -> web.StreamResponse:
        if srv.connections["/once"] > 1:
            return web.Response(status=403)
        ws = await ws_open(request)
        await ws.send_str("only")
        assert request.transport is not None
        request.transport.abort()
        return ws

    async def bingx_ping(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        await ws.send_str("Ping")
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                srv.received.append(msg.data)
                if msg.data == "Pong":
                    await ws.send_str("data-after-pong")
        return ws

    async def app_pong(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT and msg.data == '{"ping":1}':
                await ws.send_str('{"pong":1}')
        return ws

    async def burst_on_request(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT and msg.data == "burst":
                for i in range(200):
                    await ws.send_str(f"b{i}")
        return ws

    async def late(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        # aiohttp answers pings only while someone reads, so keep reading while we stay silent.
        reader = asyncio.get_running_loop().create_task(hold(ws))
        await asyncio.sleep(0.3)
        await ws.send_str("late")
        await reader
        return ws

    async def deaf(request: web.Request) -> web.StreamResponse:
        ws = await ws_open(request)
        await asyncio.Event().wait()  # never reads: no pong, no close echo
        return ws

    srv.route("/deaf", deaf)
    srv.route("/late", late)
    srv.route("/hello", hello)
    srv.route("/close1001", close_1001)
    srv.route("/abort", abort)
    srv.route("/nopong", no_pong)
    srv.route("/flaky", flaky)
    srv.route("/once", once_then_refuse)
    srv.route("/bingx", bingx_ping)
    srv.route("/apppong", app_pong)
    srv.route("/burst", burst_on_request)
    await srv.start()
    yield srv
    await srv.stop()


async def drain(conn: WsConnection) -> list[StreamItem]:
    """Collect queue items up to and including the end marker."""
    items: list[StreamItem] = []
    while True:
        item = await asyncio.wait_for(conn.queue.get(), TIMEOUT)
        items.append(item)
        if isinstance(item, StreamEnded):
            return items


async def next_item(conn: WsConnection) -> StreamItem:
    return await asyncio.wait_for(conn.queue.get(), TIMEOUT)


QUIET = WsConfig(ping_interval=None, connect_timeout=2.0, close_timeout=1.0)


async def test_frames_received_metrics_and_owner_close(server: Server) -> None:
    before = other_tasks()
    states: list[WsState] = []
    conn = WsConnection(
        server.url("/hello"), config=QUIET, headers={"X-MBX-APIKEY": "k"}, on_state=states.append
    )
    await conn.start()
    assert conn.state is WsState.OPEN and conn.metrics.connected_since is not None
    assert await next_item(conn) == "hello"
    assert await next_item(conn) == b"\x01\x02"
    await conn.send("client says hi")
    await conn.close()
    items = await drain(conn)
    assert items == [StreamEnded(CloseKind.OWNER, 1000, "closed by owner")]
    m = conn.metrics
    assert (m.frames_in, m.frames_out, m.reconnects) == (2, 1, 0)
    assert m.last_frame_at is not None
    assert m.state is WsState.CLOSED and m.connected_since is None
    assert states == [WsState.CONNECTING, WsState.OPEN, WsState.CLOSED]
    assert server.received == ["client says hi"]
    await conn.close()  # idempotent: no second end marker
    assert conn.queue.empty()
    assert other_tasks() == before


async def test_server_close_1001_is_reported_distinctly(server: Server) -> None:
    conn = WsConnection(server.url("/close1001"), config=QUIET)
    await conn.start()
    items = await drain(conn)
    assert items[0] == "last words"
    end = items[-1]
    assert isinstance(end, StreamEnded)
    assert (end.kind, end.close_code) == (CloseKind.SERVER_CLOSE, 1001)
    assert end.kind.is_incident
    assert conn.state is WsState.CLOSED
    await conn.close()
    assert conn.queue.empty()


async def test_abrupt_drop_is_reported_as_aborted(server: Server) -> None:
    conn = WsConnection(server.url("/abort"), config=QUIET)
    await conn.start()
    items = await drain(conn)
    end = items[-1]
    assert isinstance(end, StreamEnded)
    assert end.kind is CloseKind.ABORTED
    assert end.close_code != 1001
    await conn.close()


async def test_pong_deadline_marks_socket_dead(server: Server) -> None:
    cfg = WsConfig(ping_interval=0.05, pong_timeout=0.15, close_timeout=0.5)
    conn = WsConnection(server.url("/nopong"), config=cfg)
    await conn.start()
    end = (await drain(conn))[-1]
    assert isinstance(end, StreamEnded) and end.kind is CloseKind.PONG_TIMEOUT
    assert conn.metrics.pings_sent >= 1 and conn.metrics.pongs_received == 0
    await conn.close()


async def test_pongs_keep_a_quiet_socket_alive_and_measure_rtt(server: Server) -> None:
    # The server is silent for 0.3 s (scenario, not synchronisation): far past the pong and stall
    # deadlines, so only answered pings can keep the socket alive until "late" arrives.
    cfg = WsConfig(ping_interval=0.02, pong_timeout=0.1, stall_timeout=0.15, close_timeout=0.5)
    conn = WsConnection(server.url("/late"), config=cfg)
    await conn.start()
    assert await next_item(conn) == "late"
    assert conn.state is WsState.OPEN
    assert conn.metrics.pings_sent >= 3 and conn.metrics.pongs_received >= 3
    assert conn.metrics.last_pong_rtt is not None and 0 <= conn.metrics.last_pong_rtt < 0.1
    await conn.close()


async def test_stall_detection_without_frames_or_pongs(server: Server) -> None:
    cfg = WsConfig(ping_interval=None, stall_timeout=0.15, close_timeout=0.5)
    states: list[WsState] = []
    conn = WsConnection(server.url("/nopong"), config=cfg, on_state=states.append)
    await conn.start()
    end = (await drain(conn))[-1]
    assert isinstance(end, StreamEnded) and end.kind is CloseKind.STALLED
    assert WsState.STALLED in states and states[-1] is WsState.CLOSED
    await conn.close()


async def test_reconnect_with_backoff_queues_reconnected_marker(server: Server) -> None:
    sleep = RecordingSleep()
    cfg = WsConfig(ping_interval=None, reconnect=True, backoff_initial=1.0, close_timeout=0.5)
    conn = WsConnection(server.url("/flaky"), config=cfg, sleep=sleep)
    await conn.start()
    assert await next_item(conn) == "conn-1"
    marker = await next_item(conn)
    assert isinstance(marker, Reconnected)
    assert (marker.cause, marker.attempts) == (CloseKind.ABORTED, 1)
    assert await next_item(conn) == "conn-2"
    assert sleep.delays == [1.0]
    assert conn.metrics.reconnects == 1 and conn.metrics.consecutive_failures == 0
    assert conn.state is WsState.OPEN
    await conn.close()
    assert (await drain(conn))[-1] == StreamEnded(CloseKind.OWNER, 1000, "closed by owner")


async def test_reconnect_gives_up_after_max_attempts(server: Server) -> None:
    sleep = RecordingSleep()
    cfg = WsConfig(ping_interval=None, reconnect=True, max_reconnect_attempts=3, close_timeout=0.5)
    conn = WsConnection(server.url("/once"), config=cfg, sleep=sleep)
    await conn.start()
    items = await drain(conn)
    assert items[0] == "only"
    end = items[-1]
    assert isinstance(end, StreamEnded) and end.kind is CloseKind.CONNECT_FAILED
    assert sleep.delays == [1.0, 2.0, 4.0]
    assert conn.metrics.consecutive_failures == 3
    assert server.connections["/once"] == 4
    await conn.close()


async def test_initial_connect_failure_raises(server: Server) -> None:
    server.connections["/once"] = 1  # the next request is refused
    conn = WsConnection(server.url("/once"), config=QUIET)
    # Raised as our sanitized error (aiohttp's would carry the URL, query and all).
    with pytest.raises(WsConnectError, match="HTTP"):
        await conn.start()
    assert conn.state is WsState.CLOSED


async def test_server_text_ping_is_answered_and_not_queued(server: Server) -> None:
    cfg = WsConfig(ping_interval=None, server_ping_reply=lambda f: "Pong" if f == "Ping" else None)
    conn = WsConnection(server.url("/bingx"), config=cfg)
    await conn.start()
    assert await next_item(conn) == "data-after-pong"
    assert server.received == ["Pong"]
    await conn.close()


async def test_application_ping_pong(server: Server) -> None:
    app_ping = AppPing(make=lambda: '{"ping":1}', is_pong=lambda f: f == '{"pong":1}', interval=0.02)
    cfg = WsConfig(ping_interval=None, app_ping=app_ping, close_timeout=0.5)
    conn = WsConnection(server.url("/apppong"), config=cfg)
    await conn.start()
    await asyncio.wait_for(conn.wait_healthy(), TIMEOUT)  # the first app pong proves health
    assert conn.metrics.pongs_received >= 1
    assert conn.metrics.frames_out >= 1
    await conn.close()
    assert await drain(conn) == [StreamEnded(CloseKind.OWNER, 1000, "closed by owner")]  # pongs not queued


async def test_wait_healthy_probes_a_quiet_server(server: Server) -> None:
    conn = WsConnection(server.url("/apppong"), config=QUIET)  # server sends nothing on its own
    await conn.start()
    await asyncio.wait_for(conn.wait_healthy(), TIMEOUT)  # probe ping answered by autoping
    assert conn.metrics.last_pong_rtt is not None
    await conn.close()


async def test_close_drains_frames_in_flight(server: Server) -> None:
    conn = WsConnection(server.url("/burst"), config=QUIET)
    await conn.start()
    await conn.send("burst")
    await conn.close()  # right away: the 200 frames are still in flight
    items = await drain(conn)
    assert items[:-1] == [f"b{i}" for i in range(200)]
    assert items[-1] == StreamEnded(CloseKind.OWNER, 1000, "closed by owner")


def owned_tasks(prefix: str) -> set[asyncio.Task[object]]:
    return {t for t in other_tasks() if t.get_name().startswith(f"{prefix}-")}


async def test_close_is_bounded_on_an_unresponsive_peer(server: Server) -> None:
    conn = WsConnection(
        server.url("/deaf"), config=WsConfig(ping_interval=None, close_timeout=0.1), name="deaf"
    )
    await conn.start()
    await asyncio.wait_for(conn.close(), TIMEOUT)
    assert await drain(conn) == [StreamEnded(CloseKind.OWNER, 1000, "closed by owner")]
    assert not owned_tasks("deaf")  # the server handler is still alive, ours are not


async def test_cancelled_close_still_releases_everything(server: Server) -> None:
    conn = WsConnection(
        server.url("/deaf"), config=WsConfig(ping_interval=None, close_timeout=5.0), name="deaf"
    )
    await conn.start()
    closing = asyncio.get_running_loop().create_task(conn.close())
    await asyncio.sleep(0)  # let close() start its graceful wait
    closing.cancel()
    await asyncio.wait({closing}, timeout=TIMEOUT)
    assert closing.done()
    assert await drain(conn) == [StreamEnded(CloseKind.OWNER, 1000, "closed by owner")]
    assert conn.state is WsState.CLOSED
    assert not owned_tasks("deaf")  # the server handler is still alive, ours are not


async def test_failed_handshake_error_never_contains_the_listen_key() -> None:
    """aiohttp puts the full URL in its exception text; a listen key there would reach the logs."""
    from aiohttp import web

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)

    app = web.Application()
    app.router.add_get("/private/ws", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    conn = WsConnection(f"ws://127.0.0.1:{port}/private/ws?listenKey=SECRETKEY123")
    try:
        with pytest.raises(WsConnectError) as raised:
            await conn.start()
        text = f"{raised.value} {raised.value!r}"
        assert "SECRETKEY123" not in text
        assert "listenKey=***" in text and "400" in text
        assert raised.value.__cause__ is None and raised.value.__suppress_context__
    finally:
        await conn.close()
        await runner.cleanup()
