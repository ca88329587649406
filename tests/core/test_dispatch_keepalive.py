"""Dispatcher, listen-key keepalive and the composed user-stream service."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.core.base.trigger import TriggerChannel
from adapters.core.net.dispatch import Dispatcher
from adapters.core.net.stream import CloseKind, Frame, Reconnected, StreamEnded, StreamItem, StreamSignal
from adapters.core.userstream.listen_key import ListenKeyKeeper
from adapters.core.userstream.recovery import RecoveryOptions
from adapters.core.userstream.user_stream import UserStreamService
from tests.core.fakes import FakeStream, ManualSleep, ScriptedVenue, other_tasks

TIMEOUT = 2.0

# ------------------------------------------------------------------ dispatcher


async def test_dispatcher_survives_handler_errors_and_stops_at_end_marker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue: asyncio.Queue[StreamItem] = asyncio.Queue()
    handled: list[Frame] = []
    signals: list[StreamSignal] = []

    def handler(frame: Frame) -> None:
        if frame == "bad":
            raise ValueError("malformed")
        handled.append(frame)

    reconnected = Reconnected(CloseKind.ABORTED, 1006, 1, 0.5)
    ended = StreamEnded(CloseKind.OWNER, 1000)
    for item in ("a", "bad", b"b", reconnected, "c", ended, "after-end"):
        queue.put_nowait(item)
    d = Dispatcher(queue, handler, signals.append, name="t")
    d.start()
    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(d.join(), TIMEOUT)
    assert handled == ["a", b"b", "c"]
    assert signals == [reconnected, ended]
    assert d.ended is ended
    assert (d.metrics.frames, d.metrics.errors, d.metrics.signals) == (4, 1, 2)
    assert d.metrics.handle_ns_total >= d.metrics.handle_ns_max > 0
    assert queue.get_nowait() == "after-end"  # nothing consumed past the end marker
    assert any("frame skipped" in r.getMessage() for r in caplog.records)


async def test_dispatcher_cancel_is_awaited() -> None:
    queue: asyncio.Queue[StreamItem] = asyncio.Queue()
    d = Dispatcher(queue, lambda f: None)
    d.start()
    assert d.running
    await d.cancel()
    assert not d.running
    with pytest.raises(RuntimeError):
        d.start()


# ------------------------------------------------------------------ keepalive


class FakeKeyOps:
    def __init__(self) -> None:
        self.keepalives: list[str] = []
        self.deleted: list[str] = []
        self.fail_keepalive: Exception | None = None
        self.fail_delete: Exception | None = None
        self.hang_delete = False
        self.keepalive_hook: object = None
        self.called = asyncio.Event()

    async def keepalive(self, key: str) -> None:
        self.keepalives.append(key)
        self.called.set()
        if callable(self.keepalive_hook):
            self.keepalive_hook()
        if self.fail_keepalive is not None:
            raise self.fail_keepalive

    async def delete(self, key: str) -> None:
        self.deleted.append(key)
        if self.hang_delete:
            await asyncio.Event().wait()
        if self.fail_delete is not None:
            raise self.fail_delete


class KeyBox:
    def __init__(self, key: str | None) -> None:
        self.key = key

    def __call__(self) -> str | None:
        return self.key


async def test_keepalive_loop_follows_key_rotation() -> None:
    ops, box, sleep, trigger = FakeKeyOps(), KeyBox("k1"), ManualSleep(), TriggerChannel()
    keeper = ListenKeyKeeper(ops, box, trigger, interval=1800, sleep=sleep)
    keeper.start()
    await sleep.release()  # first interval elapses
    await asyncio.wait_for(ops.called.wait(), TIMEOUT)
    assert ops.keepalives == ["k1"]
    box.key = "k2"  # recovery published a new key
    ops.called.clear()
    await sleep.release()
    await asyncio.wait_for(ops.called.wait(), TIMEOUT)
    assert ops.keepalives == ["k1", "k2"]
    assert sleep.delays[:2] == [1800, 1800]
    assert not trigger.pending
    await keeper.stop()
    assert not keeper.running


async def test_keepalive_failure_fires_trigger() -> None:
    ops, trigger = FakeKeyOps(), TriggerChannel()
    ops.fail_keepalive = ConnectionError("PUT listenKey 400")
    keeper = ListenKeyKeeper(ops, KeyBox("k1"), trigger)
    assert not await keeper.keepalive_once()
    assert trigger.pending
    assert await trigger.wait() == ["keepalive failed"]
    assert keeper.metrics.consecutive_failures == 1
    ops.fail_keepalive = None
    assert await keeper.keepalive_once()
    assert keeper.metrics.consecutive_failures == 0 and keeper.metrics.ok == 1


async def test_keepalive_timeout_counts_as_failure() -> None:
    ops, trigger = FakeKeyOps(), TriggerChannel()

    async def hang(key: str) -> None:
        await asyncio.Event().wait()

    ops.keepalive = hang  # type: ignore[method-assign]
    keeper = ListenKeyKeeper(ops, KeyBox("k1"), trigger, request_timeout=0.01)
    assert not await keeper.keepalive_once()
    assert trigger.pending


async def test_keepalive_failure_for_rotated_away_key_is_ignored() -> None:
    ops, box, trigger = FakeKeyOps(), KeyBox("k1"), TriggerChannel()
    ops.fail_keepalive = ConnectionError("unknown key")

    def rotate() -> None:
        box.key = "k2"  # rotation lands while the PUT for k1 is in flight

    ops.keepalive_hook = rotate
    keeper = ListenKeyKeeper(ops, box, trigger)
    assert await keeper.keepalive_once()
    assert not trigger.pending


async def test_keepalive_close_deletes_current_key_and_swallows_errors() -> None:
    ops, box = FakeKeyOps(), KeyBox("k2")
    keeper = ListenKeyKeeper(ops, box, TriggerChannel(), delete_timeout=0.01)
    keeper.start()
    ops.fail_delete = ConnectionError("DELETE failed")
    await keeper.close()  # must not raise
    assert ops.deleted == ["k2"]
    assert not keeper.running
    ops.fail_delete, ops.hang_delete = None, True
    await asyncio.wait_for(keeper.close(), TIMEOUT)  # bounded by delete_timeout
    assert ops.deleted == ["k2", "k2"]


# ------------------------------------------------------------------ composed service


async def test_user_stream_service_start_recover_stop() -> None:
    before = other_tasks()
    venue, ops = ScriptedVenue(), FakeKeyOps()
    service = UserStreamService(venue, ops, options=RecoveryOptions())
    runs: asyncio.Queue[object] = asyncio.Queue()
    service.ctx.on_run = runs.put_nowait
    await service.start()
    assert service.ctx.listen_key == "key-1"
    first = service.ctx.stream
    assert isinstance(first, FakeStream)
    first.push("e1")
    service.trigger.fire("listenKeyExpired")
    await asyncio.wait_for(runs.get(), TIMEOUT)
    assert service.ctx.listen_key == "key-2" and first.closed
    last = service.ctx.stream
    assert isinstance(last, FakeStream)
    last.push("e2")
    await service.stop()
    assert venue.handled == ["e1", "e2"]  # drained on stop
    assert last.closed
    assert ops.deleted == ["key-2"]
    assert service.ctx.listen_key is None
    assert not service.trigger.fire("after stop")
    assert other_tasks() == before


async def test_user_stream_service_scheduled_overlap_rotation() -> None:
    before = other_tasks()
    venue, ops, sleep = ScriptedVenue(), FakeKeyOps(), ManualSleep()
    venue.on_connect = lambda stream: stream.healthy.set()
    service = UserStreamService(
        venue, ops, options=RecoveryOptions(overlap=True), rotate_every=23 * 3600, sleep=sleep
    )
    runs: asyncio.Queue[object] = asyncio.Queue()
    service.ctx.on_run = runs.put_nowait
    await service.start()
    await sleep.release()  # 23 h elapse
    await asyncio.wait_for(runs.get(), TIMEOUT)
    assert service.ctx.metrics.last_reasons == ["scheduled rotation"]
    assert service.ctx.listen_key == "key-2"
    assert sleep.delays == [23 * 3600, 23 * 3600]  # timer re-armed
    await service.stop()
    assert other_tasks() == before
