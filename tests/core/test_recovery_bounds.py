"""The recovery driver's guarantees that a scripted happy path cannot show: the old dispatcher drains
before the new one starts even when its frames trickle in one loop turn at a time; every phase of a
run is bounded (a hung venue call, a stuck drain, a hung key retirement); keys minted by failed
attempts are retired; the pacing of runs; the metrics and timings a run reports.

Bounds are exercised with small timeouts in the options and venues that hang forever; a run that
is *not* bounded shows as a task still pending at the test's deadline (never a sleep).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import pytest

from adapters.core.net.stream import CloseKind, Reconnected, StreamEnded, StreamItem
from adapters.core.userstream.recovery import (
    RecoveryAttemptError,
    RecoveryCtx,
    RecoveryOptions,
    RunTiming,
    SnapshotOutcome,
    close_stream,
    open_stream,
    recover_once,
    recover_with_retry,
    run_recovery_driver,
    start_dispatcher,
)
from tests.core.fakes import NONE_OK, OK, FakeStream, RecordingSleep, ScriptedVenue

DEADLINE = 2.0  # a bounded run ends long before this; an unbounded one is still pending at it
SMALL = 0.02  # the timeouts under test


async def _finishes(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run ``coro`` as a task; assert it ended within the deadline; return the ended task."""
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=DEADLINE)
    if not done:
        task.cancel()
        await asyncio.wait({task})
        pytest.fail("the run was not bounded")
    return task


async def _handled(venue: ScriptedVenue, frame: str) -> None:
    """Wait (bounded) until ``frame`` was handled, whether or not it already was."""
    seen = venue.seen(frame)
    if frame not in venue.handled:
        await asyncio.wait_for(seen.wait(), DEADLINE)


def _ctx(venue: ScriptedVenue, **opts: object) -> RecoveryCtx:
    return RecoveryCtx(venue=venue, options=RecoveryOptions(**opts))  # type: ignore[arg-type]


async def _shutdown(ctx: RecoveryCtx) -> None:
    await close_stream(ctx)


# ------------------------------------------------------------------------------------------------
# The central ordering guarantee
# ------------------------------------------------------------------------------------------------


class TricklingQueue(asyncio.Queue[StreamItem]):
    """A socket's queue as a real reader fills it: each item costs the consumer a loop turn."""

    async def get(self) -> StreamItem:
        await asyncio.sleep(0)
        return await super().get()


class TricklingStream(FakeStream):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._queue = TricklingQueue()


async def test_the_new_dispatcher_starts_only_after_the_old_one_drained_every_frame() -> None:
    """The old dispatcher still has frames to go (one per loop turn) when the new stream is swapped
    in: not one new frame may be handled before the old stream's last one and its end."""
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    old = TricklingStream("old")

    async def connect_first(key: str) -> FakeStream:
        venue.log.append(f"connect:{key}")
        return old

    venue.connect_stream = connect_first  # type: ignore[method-assign,assignment]
    await open_stream(ctx)
    old_dispatcher = ctx.dispatcher
    assert old_dispatcher is not None
    del venue.connect_stream  # back to the scripted one for the rotation
    old_running_at_new_frame: list[bool] = []

    def on_connect(new: FakeStream) -> None:
        old.push(*(f"old-{i}" for i in range(20)))
        new.push("new-1", "new-2")

    def on_frame(frame: object) -> None:
        if str(frame).startswith("new") and not old_running_at_new_frame:
            old_running_at_new_frame.append(old_dispatcher.running)

    venue.on_connect = on_connect
    venue.on_frame = on_frame
    await recover_once(ctx, ["expired"])
    await _handled(venue, "new-2")
    assert venue.handled == [f"old-{i}" for i in range(20)] + ["new-1", "new-2"]
    assert old_running_at_new_frame == [False]
    assert old_dispatcher.ended == StreamEnded(CloseKind.OWNER, 1000)
    assert ctx.metrics.runs == 1
    await _shutdown(ctx)


async def test_a_cancel_before_the_swap_leaves_the_old_stream_dispatching() -> None:
    """Cancelled (a shutdown) while the backfill runs: the new socket, still ours, is closed and
    its key not retired as a failure; the old stream and dispatcher are untouched."""
    venue = RetiringVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)
    old_stream, old_dispatcher = ctx.stream, ctx.dispatcher
    entered = asyncio.Event()

    async def hang() -> SnapshotOutcome:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    venue.post_snapshot = hang  # type: ignore[method-assign]
    run = asyncio.ensure_future(recover_once(ctx, ["expired"]))
    await asyncio.wait_for(entered.wait(), DEADLINE)
    run.cancel()
    await asyncio.wait({run}, timeout=DEADLINE)
    assert run.cancelled()
    assert venue.streams[-1].closed
    assert venue.retired == [] and ctx.metrics.keys_retired_after_failure == 0
    assert ctx.stream is old_stream and ctx.dispatcher is old_dispatcher and ctx.listen_key == "key-1"
    assert old_dispatcher is not None and old_dispatcher.running
    assert not ctx.metrics.in_progress and not ctx.lock.locked()
    await _shutdown(ctx)


async def test_a_cancel_during_the_hand_over_is_reraised_after_it_completes() -> None:
    """The hand-over finishes (the new stream gets its dispatcher after the old one drained) and
    the cancellation still reaches the caller; the run is not counted as a success."""
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)
    old = ctx.stream
    assert isinstance(old, FakeStream)
    release = asyncio.Event()
    closing = asyncio.Event()
    real_close = old.close

    async def slow_close() -> None:
        closing.set()
        await release.wait()
        await real_close()

    old.close = slow_close  # type: ignore[method-assign]

    def on_connect(new: FakeStream) -> None:
        old.push("old-1")
        new.push("new-1")

    venue.on_connect = on_connect
    run = asyncio.ensure_future(recover_once(ctx, ["expired"]))
    await asyncio.wait_for(closing.wait(), DEADLINE)
    run.cancel()
    for _ in range(3):
        await asyncio.sleep(0)
    assert not run.done()  # still handing over, cancel or not
    run.cancel()  # a second cancel changes nothing either
    release.set()
    await asyncio.wait({run}, timeout=DEADLINE)
    assert run.cancelled()
    await _handled(venue, "new-1")
    assert venue.handled == ["old-1", "new-1"]
    assert ctx.stream is venue.streams[-1] and ctx.dispatcher is not None and ctx.dispatcher.running
    assert ctx.metrics.runs == 0 and ctx.last_success is None and not ctx.metrics.in_progress
    await _shutdown(ctx)


async def test_a_hand_over_that_fails_still_starts_the_new_dispatcher_and_raises() -> None:
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)
    old = ctx.stream
    assert isinstance(old, FakeStream)

    async def broken_close() -> None:
        raise RuntimeError("close failed")

    old.close = broken_close  # type: ignore[method-assign]
    venue.on_connect = lambda new: new.push("new-1")
    with pytest.raises(RuntimeError, match="close failed"):
        await recover_once(ctx, ["expired"])
    await _handled(venue, "new-1")
    assert ctx.stream is venue.streams[-1] and ctx.dispatcher is not None
    assert ctx.metrics.runs == 0 and ctx.metrics.last_timing is None
    old.die()  # let the old dispatcher end
    await _shutdown(ctx)


# ------------------------------------------------------------------------------------------------
# Every phase is bounded
# ------------------------------------------------------------------------------------------------


async def _forever() -> None:
    await asyncio.Event().wait()


class HangingVenue(ScriptedVenue):
    """A venue whose named call never answers (until the caller's timeout cancels it)."""

    def __init__(self, hang: str, *, after: int = 0) -> None:
        super().__init__()
        self.hang = hang
        self.after = after  # calls of ``hang`` that answer before it starts hanging
        self.cancelled: list[str] = []

    async def _maybe_hang(self, name: str) -> None:
        if name != self.hang:
            return
        if self.after:
            self.after -= 1
            return
        try:
            await _forever()
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise

    async def create_listen_key(self) -> str:
        key = await super().create_listen_key()
        await self._maybe_hang("create")
        return key

    async def snapshot(self) -> SnapshotOutcome:
        await self._maybe_hang("snapshot")
        return await super().snapshot()

    async def connect_stream(self, listen_key: str) -> FakeStream:
        await self._maybe_hang("connect")
        return await super().connect_stream(listen_key)

    async def post_snapshot(self) -> SnapshotOutcome:
        await self._maybe_hang("post_snapshot")
        return await super().post_snapshot()

    async def retire_listen_key(self, key: str) -> None:
        self.log.append(f"retire:{key}")
        await self._maybe_hang("retire")


@pytest.mark.parametrize(
    ("phase", "after"), [("create", 1), ("snapshot", 0), ("connect", 1), ("post_snapshot", 0)]
)
async def test_a_hung_venue_call_fails_the_attempt_within_op_timeout(phase: str, after: int) -> None:
    venue = HangingVenue(phase, after=after)  # ``after``: open_stream's own call answers
    ctx = _ctx(venue, op_timeout=SMALL)
    await open_stream(ctx)
    old_stream, old_dispatcher = ctx.stream, ctx.dispatcher
    task = await _finishes(recover_once(ctx, ["expired"]))
    assert isinstance(task.exception(), TimeoutError)
    assert venue.cancelled == [phase]
    assert ctx.stream is old_stream and ctx.dispatcher is old_dispatcher and ctx.listen_key == "key-1"
    assert all(s.closed for s in venue.streams[1:])  # a socket connected by the attempt: closed
    # The key the attempt minted is retired (the venue has the hook), and that too is bounded.
    assert venue.log[-1] == "retire:key-2" if phase != "create" else "retire:key-2" not in venue.log
    assert not ctx.metrics.in_progress
    await _shutdown(ctx)


@pytest.mark.parametrize("phase", ["create", "connect"])
async def test_opening_the_stream_is_bounded(phase: str) -> None:
    venue = HangingVenue(phase)
    ctx = _ctx(venue, op_timeout=SMALL)
    task = await _finishes(open_stream(ctx))
    assert isinstance(task.exception(), TimeoutError)
    assert venue.cancelled == [phase]
    assert ctx.stream is None and ctx.dispatcher is None and ctx.listen_key is None
    assert not ctx.lock.locked()


async def test_open_stream_publishes_key_stream_and_a_running_dispatcher() -> None:
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)
    assert ctx.listen_key == "key-1" and ctx.stream is venue.streams[0]
    assert ctx.dispatcher is not None and ctx.dispatcher.running
    assert ctx.dispatcher.name == "user-stream-dispatch"
    venue.streams[0].push("f")
    await _handled(venue, "f")
    await _shutdown(ctx)
    assert ctx.stream is None and ctx.dispatcher is None


async def test_a_stuck_drain_is_cut_at_drain_timeout_and_the_rotation_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An old stream that never queues its end marker: its dispatcher is cancelled after
    ``drain_timeout`` (logged), and the new stream dispatches."""
    venue = ScriptedVenue()
    ctx = _ctx(venue, drain_timeout=SMALL)
    await open_stream(ctx)
    old = ctx.stream
    old_dispatcher = ctx.dispatcher
    assert isinstance(old, FakeStream) and old_dispatcher is not None

    async def close_without_end() -> None:
        old.closed = True

    old.close = close_without_end  # type: ignore[method-assign]
    venue.on_connect = lambda new: new.push("new-1")
    with caplog.at_level(logging.ERROR):
        task = await _finishes(recover_once(ctx, ["expired"]))
    assert task.exception() is None
    assert not old_dispatcher.running and old_dispatcher.ended is None  # cancelled, not ended
    await _handled(venue, "new-1")
    assert ctx.dispatcher is not None and ctx.dispatcher.running
    assert "user-stream: dispatcher did not drain within 0.0s; cancelled" in caplog.messages
    await _shutdown(ctx)


async def test_closing_a_stream_whose_dispatcher_is_stuck_is_bounded() -> None:
    venue = ScriptedVenue()
    ctx = _ctx(venue, drain_timeout=SMALL)
    await open_stream(ctx)
    stream, dispatcher = ctx.stream, ctx.dispatcher
    assert isinstance(stream, FakeStream) and dispatcher is not None

    async def close_without_end() -> None:
        stream.closed = True

    stream.close = close_without_end  # type: ignore[method-assign]
    await _finishes(close_stream(ctx))
    assert stream.closed and not dispatcher.running
    assert ctx.stream is None and ctx.dispatcher is None


async def test_a_hung_retirement_of_the_old_key_does_not_hang_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    venue = HangingVenue("retire")
    ctx = _ctx(venue, op_timeout=SMALL)
    await open_stream(ctx)
    with caplog.at_level(logging.WARNING):
        task = await _finishes(recover_once(ctx, ["expired"]))
    assert task.exception() is None
    assert venue.cancelled == ["retire"] and venue.log[-1] == "retire:key-1"
    assert ctx.listen_key == "key-2" and ctx.metrics.runs == 1
    assert any("retiring the previous listen key failed: TimeoutError()" in m for m in caplog.messages)
    await _shutdown(ctx)


async def test_a_hung_retirement_of_a_failed_attempts_key_does_not_hang_the_retry() -> None:
    venue = HangingVenue("retire")
    venue.snapshots = [NONE_OK]
    sleep = RecordingSleep()
    ctx = RecoveryCtx(venue=venue, options=RecoveryOptions(op_timeout=SMALL), sleep=sleep)
    await open_stream(ctx)
    await _finishes(recover_with_retry(ctx, ["expired"]))
    assert venue.cancelled == ["retire", "retire"]  # key-2 (failed attempt), then key-1 (replaced)
    assert [e for e in venue.log if e.startswith("retire")] == ["retire:key-2", "retire:key-1"]
    assert ctx.listen_key == "key-3" and sleep.delays == [1.0]
    # A retirement that timed out still counts as attempted: the key is never used again.
    assert ctx.metrics.keys_retired_after_failure == 1
    await _shutdown(ctx)


async def test_a_new_stream_that_never_proves_healthy_is_bounded_by_healthy_timeout() -> None:
    venue = RetiringVenue()
    ctx = _ctx(venue, overlap=True, healthy_timeout=SMALL, op_timeout=DEADLINE * 10)
    await open_stream(ctx)
    old = ctx.stream
    task = await _finishes(recover_once(ctx, ["rotate"]))
    exc = task.exception()
    assert isinstance(exc, RecoveryAttemptError) and exc.phase == "healthy"
    assert str(exc) == "healthy: new stream not healthy in time"
    assert venue.streams[-1].closed and ctx.stream is old and venue.retired == ["key-2"]
    await _shutdown(ctx)


async def test_a_new_stream_that_dies_before_proving_healthy_fails_the_attempt_at_once() -> None:
    venue = RetiringVenue()
    ctx = _ctx(venue, overlap=True)

    def dies(stream: FakeStream) -> None:
        async def refused() -> None:
            raise ConnectionError("closed before healthy")

        stream.wait_healthy = refused  # type: ignore[method-assign]

    await open_stream(ctx)
    venue.on_connect = dies
    with pytest.raises(RecoveryAttemptError, match=r"^healthy: closed before healthy$") as err:
        await recover_once(ctx, ["rotate"])
    assert err.value.phase == "healthy"
    assert venue.streams[-1].closed and venue.retired == ["key-2"]
    assert ctx.metrics.keys_retired_after_failure == 1
    await _shutdown(ctx)


# ------------------------------------------------------------------------------------------------
# Keys minted by failed attempts
# ------------------------------------------------------------------------------------------------


class RetiringVenue(ScriptedVenue):
    def __init__(self) -> None:
        super().__init__()
        self.retired: list[str] = []

    async def retire_listen_key(self, key: str) -> None:
        self.retired.append(key)


class SameKeyVenue(RetiringVenue):
    """Binance: POST listenKey extends and returns the current key."""

    async def create_listen_key(self) -> str:
        await super().create_listen_key()
        return "the-key"


async def test_a_failed_connect_retires_the_key_the_attempt_minted() -> None:
    venue = RetiringVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)

    async def refuse(key: str) -> FakeStream:
        raise ConnectionError("connect refused")

    venue.connect_stream = refuse  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        await recover_once(ctx, ["expired"])
    assert venue.retired == ["key-2"] and ctx.metrics.keys_retired_after_failure == 1
    assert ctx.listen_key == "key-1"
    await _shutdown(ctx)


async def test_an_unchanged_key_is_never_retired_whatever_fails() -> None:
    venue = SameKeyVenue()
    venue.snapshots = [NONE_OK, RuntimeError("snapshot")]
    venue.post_snapshots = [RuntimeError("backfill")]
    ctx = RecoveryCtx(venue=venue, sleep=RecordingSleep())
    await open_stream(ctx)
    await _finishes(recover_with_retry(ctx, ["expired"]))
    assert venue.retired == [] and ctx.metrics.keys_retired_after_failure == 0
    assert ctx.metrics.failures == 3 and ctx.metrics.runs == 1 and ctx.listen_key == "the-key"
    await _shutdown(ctx)


async def test_without_the_hook_failed_keys_are_not_counted_as_retired() -> None:
    venue = ScriptedVenue()
    venue.snapshots = [NONE_OK]
    ctx = RecoveryCtx(venue=venue, sleep=RecordingSleep())
    await open_stream(ctx)
    await recover_with_retry(ctx, ["expired"])
    assert ctx.metrics.keys_retired_after_failure == 0 and ctx.metrics.failures == 1
    await _shutdown(ctx)


# ------------------------------------------------------------------------------------------------
# Pacing across runs, retries, metrics and timings
# ------------------------------------------------------------------------------------------------


class Clock:
    """A monotonic clock moved by the venue's calls and the driver's sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.delays: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        await asyncio.sleep(0)


class TimedVenue(ScriptedVenue):
    """Each phase takes a known time on the clock."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    async def create_listen_key(self) -> str:
        self.clock.now += 1.0
        return await super().create_listen_key()

    async def snapshot(self) -> SnapshotOutcome:
        self.clock.now += 2.0
        return await super().snapshot()

    async def connect_stream(self, listen_key: str) -> FakeStream:
        self.clock.now += 4.0
        stream = await super().connect_stream(listen_key)
        clock = self.clock

        async def healthy_after_32s() -> None:
            clock.now += 32.0

        stream.wait_healthy = healthy_after_32s  # type: ignore[method-assign]
        return stream

    async def post_snapshot(self) -> SnapshotOutcome:
        self.clock.now += 8.0
        return await super().post_snapshot()


async def test_a_run_reports_the_time_of_each_phase() -> None:
    clock = Clock()
    venue = TimedVenue(clock)
    timings: list[RunTiming] = []
    ctx = RecoveryCtx(venue=venue, options=RecoveryOptions(overlap=True), clock=clock, on_run=timings.append)
    await open_stream(ctx)
    old = ctx.stream
    assert isinstance(old, FakeStream)
    real_close = old.close

    async def slow_close() -> None:
        clock.now += 16.0
        await real_close()

    old.close = slow_close  # type: ignore[method-assign]
    await recover_once(ctx, ["a", "b"])
    (timing,) = timings
    assert timing == RunTiming(
        create_key=1.0,
        snapshot=2.0,
        post_snapshot=8.0,
        connect=4.0,
        healthy=32.0,
        close_old=16.0,
        drain=0.0,
        total=63.0,
    )
    m = ctx.metrics
    assert m.last_timing is timing and m.history == [timing] and m.last_duration == 63.0
    assert m.runs == 1 and m.attempts == 1 and m.last_reasons == ["a", "b"] and m.last_error is None
    assert ctx.last_success == clock.now == 1000.0 + 1 + 4 + 63  # open_stream: key 1 s, connect 4 s
    await _shutdown(ctx)


async def test_the_history_keeps_the_last_32_runs() -> None:
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)
    for i in range(34):
        await recover_once(ctx, [f"run {i}"])
    assert ctx.metrics.runs == 34 and len(ctx.metrics.history) == 32
    assert ctx.metrics.history[-1] is ctx.metrics.last_timing
    await _shutdown(ctx)


async def test_a_failed_attempt_is_recorded_and_cleared_by_the_next_success(
    caplog: pytest.LogCaptureFixture,
) -> None:
    venue = ScriptedVenue()
    venue.snapshots = [RuntimeError("boom"), NONE_OK]
    sleep = RecordingSleep()
    ctx = RecoveryCtx(venue=venue, sleep=sleep, name="bingx-user")
    await open_stream(ctx)
    errors: list[str | None] = []
    real_sleep = ctx.sleep

    async def observing_sleep(delay: float) -> None:
        errors.append(ctx.metrics.last_error)
        await real_sleep(delay)

    ctx.sleep = observing_sleep
    with caplog.at_level(logging.ERROR):
        await recover_with_retry(ctx, ["expired"])
    assert errors == [
        "RuntimeError('boom')",
        "RecoveryAttemptError('snapshot: every query failed (open_orders=500, open_algo_orders=500)')",
    ]
    assert ctx.metrics.last_error is None and ctx.metrics.failures == 2 and ctx.metrics.attempts == 3
    assert caplog.messages[0] == (
        "bingx-user: recovery attempt 1 failed (RuntimeError('boom')); retrying in 1.0s"
    )
    assert caplog.messages[1].startswith("bingx-user: recovery attempt 2 failed")
    await _shutdown(ctx)


async def test_triggers_fired_during_a_backoff_sleep_join_the_next_attempt() -> None:
    venue = ScriptedVenue()
    venue.snapshots = [NONE_OK]
    ctx = RecoveryCtx(venue=venue)

    async def sleep(delay: float) -> None:
        ctx.trigger.fire("during the sleep")

    ctx.sleep = sleep
    await open_stream(ctx)
    await recover_with_retry(ctx, ["first"])
    assert ctx.metrics.last_reasons == ["first", "during the sleep"]
    assert ctx.metrics.triggers == 1 and not ctx.trigger.pending
    await _shutdown(ctx)


async def _drive(ctx: RecoveryCtx, venue: ScriptedVenue, runs: int) -> None:
    done: asyncio.Queue[RunTiming] = asyncio.Queue()
    ctx.on_run = done.put_nowait
    driver = asyncio.ensure_future(run_recovery_driver(ctx))
    try:
        for _ in range(runs):
            await asyncio.wait_for(done.get(), DEADLINE)
    finally:
        driver.cancel()
        await asyncio.wait({driver})


@pytest.mark.parametrize(("up_for", "paced"), [(29.9, True), (30.0, False)])
async def test_pacing_starts_exactly_at_backoff_reset_after(up_for: float, paced: bool) -> None:
    clock = Clock()
    venue = ScriptedVenue()
    ctx = RecoveryCtx(venue=venue, clock=clock, sleep=clock.sleep)
    await open_stream(ctx)
    ctx.trigger.fire("first")
    await _drive(ctx, venue, 1)
    assert clock.delays == [] and ctx.metrics.paced == 0  # the first run is never paced
    clock.now += up_for
    ctx.trigger.fire("second")
    await _drive(ctx, venue, 1)
    assert clock.delays == ([1.0] if paced else [])
    assert ctx.metrics.paced == (1 if paced else 0)
    await _shutdown(ctx)


async def test_pacing_honours_a_configured_reset_period_and_logs_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    venue = ScriptedVenue()
    ctx = RecoveryCtx(
        venue=venue,
        clock=clock,
        sleep=clock.sleep,
        options=RecoveryOptions(backoff_reset_after=100.0, retry_initial=3.0, retry_factor=3.0),
    )
    await open_stream(ctx)
    ctx.trigger.fire("first")
    await _drive(ctx, venue, 1)
    for _ in range(2):
        clock.now += 50.0  # up for 50 s: less than the configured 100 s
        ctx.trigger.fire("died")
        with caplog.at_level(logging.WARNING):
            await _drive(ctx, venue, 1)
    assert clock.delays == [3.0, 9.0]  # the backoff carries on across runs
    assert ctx.metrics.paced == 2
    assert "user-stream: the stream of the last recovery ended 50.0s after it (died); next run in 3.0s" in (
        caplog.messages
    )
    clock.now += 100.0
    ctx.trigger.fire("later")
    await _drive(ctx, venue, 1)
    assert clock.delays == [3.0, 9.0]  # up for the full period: reset, not paced
    venue.snapshots = [NONE_OK]
    clock.now += 100.0
    ctx.trigger.fire("fails once")
    await _drive(ctx, venue, 1)
    assert clock.delays == [3.0, 9.0, 3.0]  # the retry starts from the initial delay again
    await _shutdown(ctx)


async def test_the_driver_counts_triggers_and_exits_when_the_channel_closes() -> None:
    venue = ScriptedVenue()
    ctx = RecoveryCtx(venue=venue, sleep=RecordingSleep())
    await open_stream(ctx)
    for i in range(3):
        ctx.trigger.fire(f"t{i}")
    ran = asyncio.Event()
    ctx.on_run = lambda timing: ran.set()
    driver = asyncio.ensure_future(run_recovery_driver(ctx))
    await asyncio.wait_for(ran.wait(), DEADLINE)
    assert ctx.metrics.runs == 1
    assert ctx.metrics.triggers == 3
    ctx.trigger.close()
    await asyncio.wait_for(driver, DEADLINE)
    assert driver.result() is None
    await _shutdown(ctx)


# ------------------------------------------------------------------------------------------------
# Dispatcher signals, the snapshot outcome vocabulary
# ------------------------------------------------------------------------------------------------


async def test_stream_signals_trigger_only_for_the_current_stream() -> None:
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    stream = FakeStream("s")
    ctx.stream = stream
    dispatcher = start_dispatcher(ctx, stream, handler=venue.handle_frame)
    stream.push("x")
    stream._queue.put_nowait(Reconnected(CloseKind.STALLED, None, 1, 0.5))
    stream.die(CloseKind.PONG_TIMEOUT)
    await asyncio.wait_for(dispatcher.join(), DEADLINE)
    assert ctx.trigger.drain() == [
        "stream reconnected after stalled",
        "stream ended: pong_timeout code=1006",
    ]
    other = FakeStream("retired")
    retired = start_dispatcher(ctx, other)
    other.die(CloseKind.ABORTED)
    await asyncio.wait_for(retired.join(), DEADLINE)
    assert not ctx.trigger.pending and venue.handled == ["x"]
    owned = FakeStream("closed by its owner")
    ctx.stream = owned
    closing = start_dispatcher(ctx, owned)
    await owned.close()
    await asyncio.wait_for(closing.join(), DEADLINE)
    assert not ctx.trigger.pending


def test_snapshot_outcome_vocabulary() -> None:
    from adapters.core.userstream.recovery import QueryResult

    empty = SnapshotOutcome()
    assert not empty.all_failed and empty.required_failed == [] and empty.describe() == "no queries"
    skipped = SnapshotOutcome((QueryResult("a", False, skipped=True), QueryResult("b", False)))
    assert not skipped.all_failed
    assert skipped.describe() == "a=skipped, b=failed"
    mixed = SnapshotOutcome(
        (
            QueryResult("a", True, 2),
            QueryResult("b", False, error="HTTP 500", required=True),
            QueryResult("c", True, 3, required=True),
        )
    )
    assert mixed.emitted == 5 and mixed.required_failed == ["b"] and not mixed.all_failed
    assert mixed.describe() == "a=ok, b=HTTP 500, c=ok"
    assert NONE_OK.all_failed and not OK.all_failed
    err = RecoveryAttemptError("snapshot", "x")
    assert err.phase == "snapshot" and str(err) == "snapshot: x"
    assert RecoveryCtx(venue=ScriptedVenue(), listen_key="k").current_key() == "k"


# ------------------------------------------------------------------------------------------------
# Follow-ups from the mutation run
# ------------------------------------------------------------------------------------------------


async def test_the_retry_cap_is_the_configured_one() -> None:
    venue = ScriptedVenue()
    venue.snapshots = [NONE_OK] * 4
    sleep = RecordingSleep()
    ctx = RecoveryCtx(venue=venue, sleep=sleep, options=RecoveryOptions(retry_cap=5.0))
    await open_stream(ctx)
    await recover_with_retry(ctx, ["expired"])
    assert sleep.delays == [1.0, 2.0, 4.0, 5.0]
    await _shutdown(ctx)


async def test_a_failed_retirement_is_logged_naming_the_stream_and_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    venue = HangingVenue("retire")
    ctx = RecoveryCtx(venue=venue, options=RecoveryOptions(op_timeout=SMALL), name="bingx-user")
    await open_stream(ctx)
    with caplog.at_level(logging.WARNING):
        await recover_once(ctx, ["expired"])
    assert "bingx-user: retiring the previous listen key failed: TimeoutError()" in caplog.messages
    await _shutdown(ctx)


async def test_a_paced_run_names_every_reason(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    venue = ScriptedVenue()
    ctx = RecoveryCtx(venue=venue, clock=clock, sleep=clock.sleep)
    await open_stream(ctx)
    ctx.trigger.fire("first")
    await _drive(ctx, venue, 1)
    ctx.trigger.fire("socket died")
    ctx.trigger.fire("keepalive failed")
    with caplog.at_level(logging.WARNING):
        await _drive(ctx, venue, 1)
    assert (
        "user-stream: the stream of the last recovery ended 0.0s after it (socket died; keepalive failed); "
        "next run in 1.0s"
    ) in caplog.messages
    await _shutdown(ctx)


async def test_the_trigger_count_is_current_while_a_run_is_paced() -> None:
    clock = Clock()
    venue = ScriptedVenue()
    ctx = RecoveryCtx(venue=venue, clock=clock)
    seen: list[int] = []

    async def sleep(delay: float) -> None:
        seen.append(ctx.metrics.triggers)
        await clock.sleep(delay)

    ctx.sleep = sleep
    await open_stream(ctx)
    ctx.trigger.fire("first")
    await _drive(ctx, venue, 1)
    ctx.trigger.fire("died")
    await _drive(ctx, venue, 1)
    assert seen == [2]
    await _shutdown(ctx)


async def test_the_driver_says_why_it_exits(caplog: pytest.LogCaptureFixture) -> None:
    ctx = RecoveryCtx(venue=ScriptedVenue(), name="bingx-user")
    ctx.trigger.close()
    with caplog.at_level(logging.DEBUG, logger="adapters.core.recovery"):
        await asyncio.wait_for(run_recovery_driver(ctx), DEADLINE)
    assert caplog.messages == ["bingx-user: trigger channel closed; recovery driver exiting"]


async def test_a_stream_closed_during_the_hand_over_gets_no_dispatcher() -> None:
    """A shutdown's ``close_stream`` lands while the old stream drains: the new stream, already
    closed and forgotten by the ctx, must not get a dispatcher the ctx would then hold."""
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)
    old = ctx.stream
    assert isinstance(old, FakeStream)
    release = asyncio.Event()
    closing = asyncio.Event()
    real_close = old.close

    async def slow_close() -> None:
        closing.set()
        await release.wait()
        await real_close()

    old.close = slow_close  # type: ignore[method-assign]
    run = asyncio.ensure_future(recover_once(ctx, ["expired"]))
    await asyncio.wait_for(closing.wait(), DEADLINE)
    shutdown = asyncio.ensure_future(close_stream(ctx))  # closes the new stream, swapped in already
    await asyncio.wait_for(shutdown, DEADLINE)
    release.set()
    await asyncio.wait_for(run, DEADLINE)
    assert ctx.stream is None and ctx.dispatcher is None
    assert venue.streams[-1].closed


async def test_a_cancel_landing_as_the_hand_over_finishes_is_not_swallowed() -> None:
    venue = ScriptedVenue()
    ctx = _ctx(venue)
    await open_stream(ctx)
    old_dispatcher = ctx.dispatcher
    assert old_dispatcher is not None
    run: asyncio.Future[None] | None = None
    cancels: list[bool] = []

    def clock() -> float:
        # Called once right after the old dispatcher drained, inside the hand-over: cancel there.
        if run is not None and not cancels and not old_dispatcher.running and ctx.dispatcher is None:
            cancels.append(run.cancel())
        return 0.0

    ctx.clock = clock
    run = asyncio.ensure_future(recover_once(ctx, ["expired"]))
    await asyncio.wait({run}, timeout=DEADLINE)
    assert cancels == [True]
    assert ctx.dispatcher is not None  # the hand-over completed
    assert run.cancelled()  # ... and the shutdown's cancel still reached the caller
    await _shutdown(ctx)


async def test_a_run_logs_its_reasons_its_snapshot_and_its_duration(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    venue = TimedVenue(clock)
    in_progress: list[bool] = []
    real_snapshot = venue.snapshot

    async def snapshot() -> SnapshotOutcome:
        in_progress.append(ctx.metrics.in_progress)
        return await real_snapshot()

    venue.snapshot = snapshot  # type: ignore[method-assign]
    ctx = RecoveryCtx(venue=venue, clock=clock, name="binance-user")
    await open_stream(ctx)
    with caplog.at_level(logging.INFO, logger="adapters.core.recovery"):
        await recover_once(ctx, ["listenKeyExpired", "keepalive failed"])
        await recover_once(ctx, [])
    assert caplog.messages == [
        "binance-user: rotating listen key (reasons: listenKeyExpired; keepalive failed)",
        "binance-user: snapshot emitted 3 report(s) (open_orders=ok, open_algo_orders=ok)",
        "binance-user: recovery complete in 15.000s",
        "binance-user: rotating listen key (reasons: -)",
        "binance-user: snapshot emitted 3 report(s) (open_orders=ok, open_algo_orders=ok)",
        "binance-user: recovery complete in 15.000s",
    ]
    assert in_progress == [True, True] and ctx.metrics.in_progress is False
    await _shutdown(ctx)


async def test_an_incomplete_backfill_names_its_phase_and_the_failed_queries() -> None:
    from adapters.core.userstream.recovery import QueryResult

    venue = ScriptedVenue()
    venue.post_snapshots = [
        SnapshotOutcome(
            (QueryResult("userTrades:A", True, 1), QueryResult("userTrades:B", False, required=True))
        )
    ]
    ctx = _ctx(venue)
    await open_stream(ctx)
    with pytest.raises(RecoveryAttemptError) as err:
        await recover_once(ctx, ["expired"])
    assert err.value.phase == "post_snapshot"
    assert str(err.value) == "post_snapshot: backfill incomplete (userTrades:A=ok, userTrades:B=failed)"
    await _shutdown(ctx)


async def test_the_dispatcher_logs_to_the_ctx_logger(caplog: pytest.LogCaptureFixture) -> None:
    venue = ScriptedVenue()
    ctx = RecoveryCtx(venue=venue, logger=logging.getLogger("tests.recovery.ctx"), name="bingx-user")

    def broken(frame: object) -> None:
        raise ValueError("bad frame")

    stream = FakeStream("s")
    ctx.stream = stream
    dispatcher = start_dispatcher(ctx, stream, handler=broken)
    stream.push("x")
    with caplog.at_level(logging.ERROR, logger="tests.recovery.ctx"):
        await stream.close()
        await asyncio.wait_for(dispatcher.join(), DEADLINE)
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("tests.recovery.ctx", "bingx-user-dispatch: frame handler failed; frame skipped")
    ]
