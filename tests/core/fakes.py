"""In-memory fakes for the core layers: a stream, a scripted recovery venue, controllable sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.core.net.stream import CloseKind, Frame, StreamEnded, StreamItem
from adapters.core.userstream.recovery import QueryResult, SnapshotOutcome

OK = SnapshotOutcome((QueryResult("open_orders", True, 2), QueryResult("open_algo_orders", True, 1)))
HALF = SnapshotOutcome(
    (QueryResult("open_orders", True, 2), QueryResult("open_algo_orders", False, error="500"))
)
NONE_OK = SnapshotOutcome(
    (QueryResult("open_orders", False, error="500"), QueryResult("open_algo_orders", False, error="500"))
)


class FakeStream:
    """A StreamHandle whose frames are pushed by the test."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: asyncio.Queue[StreamItem] = asyncio.Queue()
        self.closed = False
        self.healthy = asyncio.Event()

    @property
    def queue(self) -> asyncio.Queue[StreamItem]:
        return self._queue

    def push(self, *frames: Frame) -> None:
        assert not self.closed, f"{self.name} is closed"
        for frame in frames:
            self._queue.put_nowait(frame)

    def die(self, kind: CloseKind = CloseKind.ABORTED) -> None:
        self.closed = True
        self._queue.put_nowait(StreamEnded(kind, 1006))

    async def wait_healthy(self) -> None:
        await self.healthy.wait()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(StreamEnded(CloseKind.OWNER, 1000))

    def __repr__(self) -> str:
        return f"FakeStream({self.name})"


class ScriptedVenue:
    """A RecoveryVenue whose results are scripted per call and whose calls are recorded."""

    def __init__(self) -> None:
        self.log: list[str] = []  # global order of venue calls and handled frames
        self.handled: list[Frame] = []
        self.streams: list[FakeStream] = []
        self.snapshots: list[SnapshotOutcome | Exception] = []  # consumed per call; default OK
        self.post_snapshots: list[SnapshotOutcome | Exception] = []
        self.create_gate: asyncio.Event | None = None  # if set, create_listen_key waits on it
        self.create_entered = asyncio.Event()
        self.on_connect: Callable[[FakeStream], None] | None = None
        self.on_frame: Callable[[Frame], None] | None = None
        self.frame_seen: dict[Frame, asyncio.Event] = {}
        self.active_runs = 0
        self.max_active_runs = 0
        self._keys = 0

    async def create_listen_key(self) -> str:
        self.active_runs += 1
        self.max_active_runs = max(self.max_active_runs, self.active_runs)
        self._keys += 1
        key = f"key-{self._keys}"
        self.log.append(f"create:{key}")
        self.create_entered.set()
        try:
            if self.create_gate is not None:
                await self.create_gate.wait()
        except BaseException:
            self.active_runs -= 1
            raise
        return key

    async def snapshot(self) -> SnapshotOutcome:
        self.log.append("snapshot")
        result = self.snapshots.pop(0) if self.snapshots else OK
        if isinstance(result, Exception):
            self.active_runs -= 1
            raise result
        if result.all_failed:
            self.active_runs -= 1
        return result

    async def post_snapshot(self) -> SnapshotOutcome:
        self.log.append("post_snapshot")
        result = self.post_snapshots.pop(0) if self.post_snapshots else SnapshotOutcome()
        if isinstance(result, Exception) or result.all_failed:
            self.active_runs -= 1
        if isinstance(result, Exception):
            raise result
        return result

    async def connect_stream(self, listen_key: str) -> FakeStream:
        stream = FakeStream(f"stream-{listen_key}")
        self.streams.append(stream)
        self.log.append(f"connect:{listen_key}")
        if self.on_connect is not None:
            self.on_connect(stream)
        self.active_runs -= 1
        return stream

    def handle_frame(self, frame: Frame) -> None:
        self.handled.append(frame)
        self.log.append(f"frame:{frame!s}")
        if self.on_frame is not None:
            self.on_frame(frame)
        event = self.frame_seen.get(frame)
        if event is not None:
            event.set()

    def seen(self, frame: Frame) -> asyncio.Event:
        return self.frame_seen.setdefault(frame, asyncio.Event())


class RecordingSleep:
    """Records delays and returns at once (a fake clock for backoff tests)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class ManualSleep:
    """Records delays and blocks until the test releases the sleeper (or cancels it)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._waiters: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.put_nowait(fut)
        await fut

    async def sleeping(self) -> asyncio.Future[None]:
        """Wait until someone is asleep; returns its future (set_result wakes it)."""
        return await asyncio.wait_for(self._waiters.get(), 2.0)

    async def release(self) -> None:
        (await self.sleeping()).set_result(None)


def other_tasks() -> set[asyncio.Task[object]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}
