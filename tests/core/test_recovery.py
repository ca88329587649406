"""Recovery driver semantics against a scripted fake venue (no sockets, no wall-clock sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from adapters.core.net.stream import CloseKind
from adapters.core.userstream.recovery import (
    QueryResult,
    RecoveryCtx,
    RecoveryOptions,
    RunTiming,
    SnapshotOutcome,
    open_stream,
    recover_once,
    run_recovery_driver,
)
from tests.core.fakes import (
    HALF,
    NONE_OK,
    OK,
    FakeStream,
    ManualSleep,
    RecordingSleep,
    ScriptedVenue,
    other_tasks,
)

TIMEOUT = 2.0


class Harness:
    """A ctx with an opened stream, a running driver task, and run-completion events."""

    def __init__(self, venue: ScriptedVenue, sleep: object = None, **opts: object) -> None:
        self.venue = venue
        self.runs: asyncio.Queue[RunTiming] = asyncio.Queue()
        self.ctx = RecoveryCtx(
            venue=venue,
            options=RecoveryOptions(**opts),  # type: ignore[arg-type]
            sleep=sleep or RecordingSleep(),  # type: ignore[arg-type]
            on_run=self.runs.put_nowait,
        )
        self.driver: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        await open_stream(self.ctx)
        self.driver = asyncio.get_running_loop().create_task(run_recovery_driver(self.ctx))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.driver is not None
        self.driver.cancel()
        await asyncio.wait({self.driver})
        if self.ctx.stream is not None:
            await self.ctx.stream.close()
        if self.ctx.dispatcher is not None:
            await self.ctx.dispatcher.cancel()

    async def next_run(self) -> RunTiming:
        return await asyncio.wait_for(self.runs.get(), TIMEOUT)

    @property
    def stream(self) -> FakeStream:
        assert isinstance(self.ctx.stream, FakeStream)
        return self.ctx.stream


async def test_burst_of_triggers_becomes_one_run() -> None:
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        for i in range(10):
            h.ctx.trigger.fire(f"t{i}")
        await h.next_run()
        assert h.ctx.metrics.runs == 1
        assert h.ctx.metrics.attempts == 1
        assert h.ctx.metrics.triggers == 10
        assert len(h.ctx.metrics.last_reasons) == 10
        assert not h.ctx.trigger.pending  # nothing left to cause a second run
        assert h.ctx.listen_key == "key-2"
        assert [s.name for s in venue.streams] == ["stream-key-1", "stream-key-2"]


async def test_runs_are_serialized_and_trigger_during_run_causes_one_more() -> None:
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        venue.create_gate = asyncio.Event()
        venue.create_entered.clear()
        h.ctx.trigger.fire("first")
        await asyncio.wait_for(venue.create_entered.wait(), TIMEOUT)
        # While run 1 is blocked in I/O: more triggers, and a direct concurrent recover_once.
        for _ in range(5):
            h.ctx.trigger.fire("during")
        direct = asyncio.get_running_loop().create_task(recover_once(h.ctx, ["direct"]))
        await asyncio.sleep(0)  # let `direct` reach the lock (a yield, not a timing assumption)
        assert h.ctx.lock.locked()
        venue.create_gate.set()
        await h.next_run()
        await h.next_run()
        await asyncio.wait_for(direct, TIMEOUT)
        await h.next_run()
        assert venue.max_active_runs == 1
        assert h.ctx.metrics.runs == 3  # driver run 1, the direct run, exactly one coalesced rerun
        assert not h.ctx.trigger.pending


async def test_retry_backoff_sequence_doubles_to_cap_then_succeeds() -> None:
    venue = ScriptedVenue()
    sleep = RecordingSleep()
    venue.snapshots = [NONE_OK] * 7 + [RuntimeError("boom")]
    async with Harness(venue, sleep) as h:
        h.ctx.trigger.fire("expired")
        await h.next_run()
        assert sleep.delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
        assert h.ctx.metrics.attempts == 9
        assert h.ctx.metrics.failures == 8
        assert h.ctx.metrics.runs == 1
        # Every attempt created a key but only the successful one connected a socket.
        assert sum(1 for entry in venue.log if entry.startswith("connect:")) == 2


class FakeTime:
    """A monotonic clock that only the driver's sleeps advance (and that yields on each sleep)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        await asyncio.sleep(0)


async def test_a_run_after_a_healthy_period_starts_backoff_from_initial_delay() -> None:
    venue = ScriptedVenue()
    t = FakeTime()
    venue.snapshots = [NONE_OK, NONE_OK, OK, NONE_OK]
    async with Harness(venue, t.sleep) as h:
        h.ctx.clock = t.clock
        h.ctx.trigger.fire("a")
        await h.next_run()
        t.now += 31.0  # the recovered stream stayed up longer than backoff_reset_after (30 s)
        h.ctx.trigger.fire("b")
        await h.next_run()
        assert t.delays == [1.0, 2.0, 1.0]
        assert h.ctx.metrics.paced == 0


async def test_a_stream_that_dies_right_after_a_run_paces_the_next_run() -> None:
    """The backoff belongs to the ctx: a "successful" run whose socket dies at once is not followed
    by an immediate full rotation (22 rotations in 3 s before this)."""
    venue = ScriptedVenue()
    t = FakeTime()
    venue.snapshots = [NONE_OK, OK, OK]
    async with Harness(venue, t.sleep) as h:
        h.ctx.clock = t.clock
        h.ctx.trigger.fire("a")
        await h.next_run()  # after one failure (1 s)
        h.ctx.trigger.fire("the new socket died")  # 0 s after the run
        await h.next_run()
        assert t.delays == [1.0, 2.0]  # the second run waited the next delay, not none
        assert h.ctx.metrics.paced == 1


async def test_every_new_socket_dying_at_once_keeps_the_run_rate_bounded() -> None:
    venue = ScriptedVenue()
    t = FakeTime()
    venue.on_connect = lambda stream: stream.die()  # accepted, then dropped at once, every time
    async with Harness(venue, t.sleep, retry_cap=30.0) as h:
        h.ctx.clock = t.clock
        h.stream.die()
        start = t.now
        while t.now - start < 600.0:  # ten minutes of venue time
            await h.next_run()
        runs = h.ctx.metrics.runs
        # 1+2+4+8+16 s, then one run per 30 s: ~24 runs in 10 min, not one per round trip.
        assert runs <= 26, runs
        assert t.delays[:6] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
        assert h.ctx.metrics.paced >= runs - 1  # every run after the first waited its delay
        # Request weight: each run costs a key, a snapshot and a backfill, so it is bounded by the
        # same count (the simulator test measures the weight itself).
        assert venue.log.count("snapshot") <= runs + 1  # (+1: the run in progress)


async def test_a_key_minted_by_a_failed_attempt_is_retired() -> None:
    """BingX mints a new key per POST: a failed attempt's key must not stay alive for an hour."""
    venue = RetiringVenue()
    sleep = RecordingSleep()
    venue.snapshots = [NONE_OK, RuntimeError("snapshot timed out"), OK]
    venue.post_snapshots = [RuntimeError("backfill failed"), SnapshotOutcome()]
    async with Harness(venue, sleep) as h:
        h.ctx.trigger.fire("expired")
        await h.next_run()
        # key-2: snapshot failed; key-3: snapshot raised; key-4: backfill failed; key-5 is used.
        # key-1 (the one replaced by the successful run) is retired too.
        assert venue.retired == ["key-2", "key-3", "key-4", "key-1"]
        assert h.ctx.listen_key == "key-5"
        assert h.ctx.metrics.keys_retired_after_failure == 3


class RetiringVenue(ScriptedVenue):
    def __init__(self) -> None:
        super().__init__()
        self.retired: list[str] = []

    async def retire_listen_key(self, key: str) -> None:
        self.retired.append(key)


async def test_cancel_between_the_swap_and_the_new_dispatcher_loses_no_frame() -> None:
    """A shutdown arriving while the old dispatcher drains must neither drop the new socket's
    queued frames nor dispatch them before the old socket's."""
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        old = h.stream
        release = asyncio.Event()
        blocker = asyncio.get_running_loop().create_future()

        def on_connect(new: FakeStream) -> None:
            old.push("old-1")
            new.push("new-1", "new-2")

        venue.on_connect = on_connect
        # Make the old stream's close slow: the drain is in progress when the cancel lands.
        real_close = old.close

        async def slow_close() -> None:
            blocker.set_result(None)
            await release.wait()
            await real_close()

        old.close = slow_close  # type: ignore[method-assign]
        last_new = venue.seen("new-2")
        h.ctx.trigger.fire("expired")
        await asyncio.wait_for(blocker, TIMEOUT)
        assert h.driver is not None
        h.driver.cancel()  # shutdown, mid hand-over
        await asyncio.sleep(0)
        release.set()
        done, _ = await asyncio.wait({h.driver}, timeout=TIMEOUT)
        assert done and h.driver.cancelled()
        # The hand-over completed: the new stream has its dispatcher and its frames are handled
        # after the old stream's.
        assert h.ctx.dispatcher is not None and h.ctx.stream is venue.streams[-1]
        await asyncio.wait_for(last_new.wait(), TIMEOUT)
        assert venue.handled == ["old-1", "new-1", "new-2"]


async def test_cancel_during_backoff_sleep_is_prompt_and_leaks_nothing() -> None:
    before = other_tasks()
    venue = ScriptedVenue()
    sleep = ManualSleep()
    venue.snapshots = [NONE_OK] * 100
    async with Harness(venue, sleep) as h:
        h.ctx.trigger.fire("expired")
        await sleep.sleeping()  # the driver is now inside its backoff sleep
        assert sleep.delays == [1.0]
        assert h.driver is not None
        h.driver.cancel()
        done, _ = await asyncio.wait({h.driver}, timeout=TIMEOUT)
        assert done and h.driver.cancelled()
    assert other_tasks() == before


async def test_cancel_during_venue_io_is_prompt_and_leaks_nothing() -> None:
    before = other_tasks()
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        old = h.stream
        venue.create_gate = asyncio.Event()  # never set: create_listen_key hangs
        venue.create_entered.clear()
        h.ctx.trigger.fire("expired")
        await asyncio.wait_for(venue.create_entered.wait(), TIMEOUT)
        assert h.driver is not None
        h.driver.cancel()
        done, _ = await asyncio.wait({h.driver}, timeout=TIMEOUT)
        assert done and h.driver.cancelled()
        assert h.ctx.stream is old and not old.closed
        assert not h.ctx.lock.locked()
        assert h.ctx.metrics.in_progress is False
    assert other_tasks() == before


async def test_snapshot_failure_leaves_old_stream_and_dispatcher_untouched() -> None:
    venue = ScriptedVenue()
    sleep = ManualSleep()
    venue.snapshots = [NONE_OK, NONE_OK]
    async with Harness(venue, sleep) as h:
        old_stream, old_dispatcher = h.stream, h.ctx.dispatcher
        h.ctx.trigger.fire("expired")
        await sleep.sleeping()  # first attempt failed, driver backing off
        assert h.ctx.stream is old_stream and not old_stream.closed
        assert h.ctx.dispatcher is old_dispatcher and old_dispatcher is not None
        assert old_dispatcher.running
        assert h.ctx.listen_key == "key-1"
        assert not any(entry == "connect:key-2" for entry in venue.log)
        # The old dispatcher is still dispatching while recovery retries.
        old_stream.push("during-backoff")
        await asyncio.wait_for(venue.seen("during-backoff").wait(), TIMEOUT)


async def test_one_of_two_snapshot_queries_failing_proceeds() -> None:
    venue = ScriptedVenue()
    sleep = RecordingSleep()
    venue.snapshots = [HALF]
    async with Harness(venue, sleep) as h:
        h.ctx.trigger.fire("expired")
        await h.next_run()
        assert sleep.delays == []
        assert h.ctx.metrics.attempts == 1
        assert h.ctx.listen_key == "key-2"


async def test_post_snapshot_failure_is_retried_like_snapshot_failure() -> None:
    venue = ScriptedVenue()
    sleep = RecordingSleep()
    venue.post_snapshots = [RuntimeError("fills backfill failed"), NONE_OK]
    async with Harness(venue, sleep) as h:
        h.ctx.trigger.fire("expired")
        await h.next_run()
        assert sleep.delays == [1.0, 2.0]
        assert venue.log.count("post_snapshot") == 3
        # Snapshot before any socket, once for the burst: the retries (within snapshot_reuse_secs
        # of it) reuse it; the new socket connected before the backfill (the venue keeps no events
        # for an unconnected key, so the backfill must cover up to the connect).
        assert venue.log.count("snapshot") == 1
        assert venue.log.index("snapshot") < venue.log.index("connect:key-2")
        last_connect = venue.log.index("connect:key-4")
        window = venue.log[last_connect - 1 : last_connect + 2]
        assert window == ["create:key-4", "connect:key-4", "post_snapshot"]
        # The sockets of the two failed attempts were ours (never swapped in): closed, not orphaned.
        new_streams = venue.streams[1:]
        assert [s.closed for s in new_streams] == [True, True, False]
        assert h.ctx.stream is new_streams[-1]


async def test_a_retry_takes_a_new_snapshot_once_the_last_one_is_older_than_the_reuse_window() -> None:
    """Reusing a failed attempt's snapshot saves the IP's request weight while sockets are refused;
    an older one is taken again, and after a successful run the next burst starts afresh."""
    venue = ScriptedVenue()
    now = [0.0]

    async def sleep(delay: float) -> None:
        now[0] += delay

    venue.post_snapshots = [RuntimeError("a"), RuntimeError("b"), RuntimeError("c"), OK, OK]
    async with Harness(venue, sleep, snapshot_reuse_secs=2.5) as h:
        h.ctx.clock = lambda: now[0]
        h.ctx.trigger.fire("expired")
        await h.next_run()
        # Retries after 1 s (reuse), 2 s (3 s after the snapshot: a new one), 4 s (a new one).
        assert venue.log.count("snapshot") == 3
        assert h.ctx.failed_attempt_snapshot is None
        h.ctx.trigger.fire("expired again")
        await h.next_run()
        assert venue.log.count("snapshot") == 4  # a new burst: a fresh snapshot


async def test_snapshot_reuse_zero_takes_a_snapshot_every_attempt() -> None:
    venue = ScriptedVenue()
    venue.post_snapshots = [RuntimeError("a"), RuntimeError("b"), OK]
    async with Harness(venue, RecordingSleep(), snapshot_reuse_secs=0.0) as h:
        h.ctx.trigger.fire("expired")
        await h.next_run()
        assert venue.log.count("snapshot") == 3


async def test_one_required_backfill_query_failing_fails_the_attempt() -> None:
    """Snapshot semantics (fail only if every query fails) are too lax for the backfill: one symbol's
    fills missing is a known gap. A required query's failure is retried; optional ones are not."""
    venue = ScriptedVenue()
    sleep = RecordingSleep()
    partial = SnapshotOutcome(
        (
            QueryResult("userTrades:AAA", True, 3, required=True),
            QueryResult("userTrades:BBB", False, error="HTTP 500", required=True),
            QueryResult("account", True, 1),
        )
    )
    optional_only = SnapshotOutcome(
        (QueryResult("userTrades:AAA", True, 1, required=True), QueryResult("account", False, error="x"))
    )
    venue.post_snapshots = [partial, optional_only]
    async with Harness(venue, sleep) as h:
        h.ctx.trigger.fire("expired")
        await h.next_run()
        assert sleep.delays == [1.0]  # the partial backfill was retried once; the optional miss was not
        assert venue.log.count("post_snapshot") == 2
        assert h.ctx.metrics.failures == 1
        assert [s.closed for s in venue.streams[1:]] == [True, False]


async def test_old_stream_events_drain_before_new_stream_events() -> None:
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        old = h.stream

        def on_connect(new: FakeStream) -> None:
            # Both queues filled before the swap, with no chance for either dispatcher to run.
            old.push("old-1", "old-2", "old-3")
            new.push("new-1", "new-2")

        venue.on_connect = on_connect
        h.ctx.trigger.fire("expired")
        await h.next_run()
        h.stream.push("new-3")
        await asyncio.wait_for(venue.seen("new-3").wait(), TIMEOUT)
        assert venue.handled == ["old-1", "old-2", "old-3", "new-1", "new-2", "new-3"]
        # The REST snapshot was emitted before any of the queued stream events were dispatched.
        assert venue.log.index("snapshot") < venue.log.index("frame:old-1")
        assert old.closed


async def test_new_dispatcher_can_trigger_again() -> None:
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        ctx = h.ctx

        def on_frame(frame: object) -> None:
            if frame == "listenKeyExpired":
                ctx.trigger.fire("listenKeyExpired")

        venue.on_frame = on_frame
        h.stream.push("listenKeyExpired")
        await h.next_run()
        h.stream.push("listenKeyExpired")  # on the NEW stream, dispatched by the new dispatcher
        await h.next_run()
        assert ctx.listen_key == "key-3"


async def test_incident_end_of_current_stream_triggers_but_retired_stream_does_not() -> None:
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        h.stream.die(CloseKind.SERVER_CLOSE)  # e.g. the 24-hour disconnect
        await h.next_run()
        assert h.ctx.metrics.last_reasons == ["stream ended: server_close code=1006"]
        # The retired stream ended with OWNER (closed by recovery): no further run is pending.
        assert not h.ctx.trigger.pending
        assert h.ctx.metrics.runs == 1


async def test_overlap_mode_waits_for_new_stream_health() -> None:
    venue = ScriptedVenue()
    sleep = ManualSleep()
    async with Harness(venue, sleep, overlap=True, healthy_timeout=0.05) as h:
        old = h.stream
        h.ctx.trigger.fire("rotate")
        sleeper = await sleep.sleeping()  # first new stream never became healthy
        unhealthy = venue.streams[-1]
        assert unhealthy.closed  # we owned it and closed it
        assert h.ctx.stream is old and not old.closed
        venue.on_connect = lambda s: s.healthy.set()
        sleeper.set_result(None)
        await h.next_run()
        assert h.ctx.stream is venue.streams[-1] and old.closed
        assert h.ctx.metrics.failures == 1


async def test_trigger_close_ends_driver() -> None:
    venue = ScriptedVenue()
    async with Harness(venue) as h:
        h.ctx.trigger.close()
        assert h.driver is not None
        await asyncio.wait_for(h.driver, TIMEOUT)
        assert h.ctx.metrics.runs == 0


@pytest.mark.parametrize("outcome", [NONE_OK])
async def test_recover_once_raises_with_phase(outcome: object) -> None:
    venue = ScriptedVenue()
    ctx = RecoveryCtx(venue=venue)
    venue.snapshots = [outcome]  # type: ignore[list-item]
    with pytest.raises(Exception, match="snapshot: every query failed"):
        await recover_once(ctx, ["manual"])
    assert ctx.stream is None and ctx.dispatcher is None and ctx.listen_key is None
