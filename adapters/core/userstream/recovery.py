"""User-stream recovery driver: rotate the listen key and re-sync without losing or reordering events.

One long-lived driver task (:func:`run_recovery_driver`) waits on a
:class:`~adapters.core.base.trigger.TriggerChannel`.  Triggers come from ``listenKeyExpired`` seen by the
dispatcher, a failed keepalive, and any incident end of the user socket (server close such as the
24-hour disconnect, abrupt drop, stall, missed pong).  A burst of triggers becomes one *run*; runs
are serialized by ``ctx.lock``; a failed run is retried forever with backoff 1 s -> 30 s until the
driver is cancelled.

The backoff belongs to the ctx, not to one run: a run that "succeeds" with a socket that dies at
once is followed by the next run only after the next delay. It resets only once a run's stream has
stayed up for ``RecoveryOptions.backoff_reset_after`` (30 s): a venue that accepts and immediately
drops the socket must not be hammered with full rotations (each costs a listen key, a snapshot and
a backfill of request weight).

A run (:func:`recover_once`), in this order and for these reasons:

1. ``create_listen_key()`` - a fresh (or, on Binance, extended) key.
2. ``snapshot()`` - emit REST reports for open orders *before touching any socket*.  If every query
   fails the attempt fails with nothing changed: no orphaned socket without a dispatcher, and the
   old stream keeps dispatching meanwhile.  Partial success proceeds.  A retry within
   ``RecoveryOptions.snapshot_reuse_secs`` of a failed attempt's snapshot reuses it: while the
   venue refuses sockets, a snapshot per retry only burned the IP's request weight until the
   recovery itself waited on the rate limit (Binance chaos seed 137). Nothing depends on the
   snapshot being fresh: step 4 lists the open orders again after the connect.
3. ``connect_stream(new_key)`` - connected but not yet dispatching; its frames wait in its queue.
   Connected *before* the backfill: the venue keeps no events for a key nobody is connected to,
   so anything published between a backfill and a later connect would be lost (found by the
   chaos runner).
4. ``post_snapshot()`` - venue second phase: backfill fills since the last seen trade id, resolve
   orders that are no longer open and list the open orders again (the gap the reference design
   leaves to periodic reconciliation; see :mod:`adapters.core.userstream.gap_sync`); it covers everything up
   to the connect, the new socket everything after.
   Stricter than the snapshot: the attempt fails if every query fails *or any required one
   does* (a symbol's fills, a closed order's final state — chaos seed 23 lost a fill when one
   symbol's trade query failed and the rotation completed anyway); the new socket, still ours,
   is closed and the attempt retried: a rotation that skipped part of the backfill would leave a
   known gap, while retrying costs only a repeated (idempotent) backfill.
5. Overlap mode only: ``wait_healthy()`` - the new socket must prove itself (a frame or a pong)
   before the old one is closed; if it cannot, it is closed and the attempt fails with the old
   stream untouched.  Events seen on both sockets are de-duplicated downstream.
6. Swap the stream into the ctx and publish the key (keepalive reads it on its next tick).
7. Close the old stream, then *await* the old dispatcher: every event the old socket delivered is
   dispatched before any event of the new socket (per-stream ordering).
8. Start the new dispatcher; it fires the same trigger channel, so the cycle can repeat.
9. If the key changed and the venue has ``retire_listen_key`` (optional): retire the old key
   (BingX mints a new key per POST; the old one would otherwise stay valid for an hour). A key
   minted by an attempt that then failed is retired too, before the retry mints another.

Steps 6-8 are one unit even under cancellation (a shutdown): once the new stream is swapped in, its
queued frames are dispatched after the old stream drained, never dropped.

Triggers fired while a run is in flight cause at most one more run (the run cannot know whether
they were already covered); triggers fired during a backoff sleep are absorbed by the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.core.base.backoff import Backoff, SleepFn
from adapters.core.base.trigger import TriggerChannel, TriggerClosed
from adapters.core.net.dispatch import Dispatcher, FrameHandler
from adapters.core.net.stream import StreamEnded, StreamHandle, StreamSignal

_log = logging.getLogger("adapters.core.recovery")


# --------------------------------------------------------------------------- outcomes and errors


@dataclass(frozen=True, slots=True)
class QueryResult:
    name: str
    ok: bool
    emitted: int = 0
    error: str | None = None
    # A required query's failure fails the whole attempt (retried with backoff): e.g. a symbol's
    # fill backfill — completing the rotation without it would leave a known gap nobody refetches.
    required: bool = False
    # Failed for good (the venue refuses the symbol): logged, never retried, not a failed attempt.
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class SnapshotOutcome:
    """Per-query results of a snapshot phase.  Empty = nothing to do (counts as success)."""

    queries: tuple[QueryResult, ...] = ()

    @property
    def all_failed(self) -> bool:
        return bool(self.queries) and not any(q.ok or q.skipped for q in self.queries)

    @property
    def required_failed(self) -> list[str]:
        return [q.name for q in self.queries if q.required and not q.ok]

    @property
    def emitted(self) -> int:
        return sum(q.emitted for q in self.queries)

    def describe(self) -> str:
        return (
            ", ".join(
                f"{q.name}={'ok' if q.ok else 'skipped' if q.skipped else q.error or 'failed'}"
                for q in self.queries
            )
            or "no queries"
        )


class RecoveryAttemptError(Exception):
    """An attempt failed at a named phase; the driver retries after a backoff delay."""

    def __init__(self, phase: str, detail: str) -> None:
        super().__init__(f"{phase}: {detail}")
        self.phase = phase


# --------------------------------------------------------------------------- venue interface


class RecoveryVenue(Protocol):
    """Venue-specific operations the driver needs.  All may raise; the driver retries."""

    async def create_listen_key(self) -> str:
        """POST a listen key (may return the still-valid current key)."""
        ...

    async def snapshot(self) -> SnapshotOutcome:
        """Query open orders (and e.g. open algo orders) via REST and emit status reports."""
        ...

    async def post_snapshot(self) -> SnapshotOutcome:
        """Backfill fills since the last seen trade id and resolve orders no longer open.

        Return ``SnapshotOutcome()`` if the venue has nothing to do here.
        """
        ...

    async def connect_stream(self, listen_key: str) -> StreamHandle:
        """Connect the user stream for ``listen_key``; return it connected, not yet dispatched."""
        ...

    def handle_frame(self, frame: bytes | str) -> None:
        """Synchronous per-frame handler run by the dispatcher (the hot path)."""
        ...


# --------------------------------------------------------------------------- context and metrics


@dataclass(frozen=True, slots=True)
class RecoveryOptions:
    retry_initial: float = 1.0
    retry_factor: float = 2.0
    retry_cap: float = 30.0
    op_timeout: float = 30.0  # per venue call: a hung REST/WS call must not wedge the driver
    overlap: bool = False  # BingX-style rotation: new socket proven healthy before old closes
    healthy_timeout: float = 10.0
    drain_timeout: float = 30.0  # bound on awaiting the old dispatcher
    # A run's stream must stay up this long before the run backoff starts again from its initial
    # delay; a trigger sooner means the new stream died, and the next run waits the next delay.
    backoff_reset_after: float = 30.0
    # Each retry delay is scaled by a random factor in [1 - retry_jitter, 1]: nodes whose streams
    # died together (one network blip) do not retry in lockstep against a shared rate limit.
    retry_jitter: float = 0.0
    # A retry within this long of a failed attempt's snapshot reuses it instead of reading every
    # open order again: while the venue refuses sockets, a snapshot per retry only burns the IP's
    # request weight (2,400 per minute on Binance, ~80 per snapshot) until the recovery itself
    # waits on the rate limit. Safe because the post-snapshot phase, run after the connect, lists
    # the open orders again (see adapters.core.userstream.gap_sync, step 3b). 0: a snapshot every attempt.
    snapshot_reuse_secs: float = 5.0


@dataclass(slots=True)
class RunTiming:
    """Seconds spent in each phase of the last successful run."""

    create_key: float = 0.0
    snapshot: float = 0.0
    post_snapshot: float = 0.0
    connect: float = 0.0
    healthy: float = 0.0
    close_old: float = 0.0
    drain: float = 0.0
    total: float = 0.0


@dataclass(slots=True)
class RecoveryMetrics:
    runs: int = 0  # successful runs
    attempts: int = 0  # attempts including failed ones
    failures: int = 0
    triggers: int = 0  # triggers fired so far (coalesced into far fewer runs)
    in_progress: bool = False
    last_duration: float | None = None
    last_reasons: list[str] = field(default_factory=list)
    last_error: str | None = None
    last_timing: RunTiming | None = None
    history: list[RunTiming] = field(default_factory=list)  # bounded to the last 32 runs
    paced: int = 0  # runs delayed because the previous run's stream died within backoff_reset_after
    keys_retired_after_failure: int = 0
    # For health views (UserStreamService.health, the Prometheus exporter): ``ctx.clock()`` when the
    # driver took the last burst of triggers, and of the first failed attempt since the last
    # successful run (None once a run succeeds).
    last_trigger_at: float | None = None
    failing_since: float | None = None


@dataclass(eq=False)
class RecoveryCtx:
    """Cheap handles shared by the driver, the dispatcher callbacks and the keepalive loop."""

    venue: RecoveryVenue
    trigger: TriggerChannel = field(default_factory=TriggerChannel)
    options: RecoveryOptions = field(default_factory=RecoveryOptions)
    listen_key: str | None = None
    stream: StreamHandle | None = None
    dispatcher: Dispatcher | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    metrics: RecoveryMetrics = field(default_factory=RecoveryMetrics)
    sleep: SleepFn = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    logger: logging.Logger = _log
    name: str = "user-stream"
    on_run: Callable[[RunTiming], None] | None = None  # observer called after each successful run
    # Shared by every run and retry (see module docstring); built from ``options`` on first use.
    backoff: Backoff | None = None
    # Cleared while the stream is *held*: connected and queueing, but nothing dispatched and no
    # recovery run, until the owner releases it (NautilusTrader's startup reconciliation first).
    released: asyncio.Event = field(default_factory=asyncio.Event)
    last_success: float | None = None  # clock() when the last run completed
    # clock() of the last snapshot taken by an attempt that then failed (None after a success).
    failed_attempt_snapshot: float | None = None

    def current_key(self) -> str | None:
        """For :class:`~adapters.core.userstream.listen_key.ListenKeyKeeper`: always the published key."""
        return self.listen_key


# --------------------------------------------------------------------------- dispatcher wiring


def start_dispatcher(
    ctx: RecoveryCtx, stream: StreamHandle, handler: FrameHandler | None = None
) -> Dispatcher:
    """Start a dispatcher for ``stream`` whose incident end fires ``ctx.trigger``.

    An end is only a trigger while ``stream`` is still the ctx's current stream: the old stream
    that recovery itself retires must not cause another rotation.
    """

    def on_signal(signal: StreamSignal) -> None:
        if ctx.stream is not stream:
            return
        if isinstance(signal, StreamEnded):
            if signal.kind.is_incident:
                ctx.trigger.fire(f"stream ended: {signal.kind.value} code={signal.close_code}")
        else:
            ctx.trigger.fire(f"stream reconnected after {signal.cause.value}")

    dispatcher = Dispatcher(
        stream.queue,
        handler or ctx.venue.handle_frame,
        on_signal,
        name=f"{ctx.name}-dispatch",
        logger=ctx.logger,
    )
    dispatcher.start()
    return dispatcher


async def open_stream(ctx: RecoveryCtx, *, hold: bool = False) -> None:
    """Initial connect: create a key, connect and start dispatching (no snapshot: the engine's
    startup reconciliation covers it).  Raises on failure, leaving the ctx untouched.

    ``hold``: connect (so nothing published from now on is lost: the venue keeps no events for a
    key nobody is connected to) but dispatch nothing and run no recovery until :func:`release`."""
    async with ctx.lock:
        timeout = ctx.options.op_timeout
        async with asyncio.timeout(timeout):
            key = await ctx.venue.create_listen_key()
        async with asyncio.timeout(timeout):
            stream = await ctx.venue.connect_stream(key)
        ctx.listen_key = key
        ctx.stream = stream
        if hold:
            ctx.released.clear()
        else:
            ctx.released.set()
            ctx.dispatcher = start_dispatcher(ctx, stream)


def release(ctx: RecoveryCtx) -> None:
    """End a hold: the stream's queued frames are dispatched from now on, and recovery runs."""
    ctx.released.set()
    if ctx.stream is not None and ctx.dispatcher is None:
        ctx.dispatcher = start_dispatcher(ctx, ctx.stream)


async def close_stream(ctx: RecoveryCtx) -> None:
    """Close the current stream and let its dispatcher drain (bounded), then forget both."""
    stream, dispatcher = ctx.stream, ctx.dispatcher
    ctx.stream = None
    ctx.dispatcher = None
    if stream is not None:
        await stream.close()
    if dispatcher is not None:
        await _drain(ctx, dispatcher)


async def _drain(ctx: RecoveryCtx, dispatcher: Dispatcher) -> None:
    """Await a dispatcher whose stream was closed, so its queued events are all handled.

    Bounded: a stream that never queues its end marker (a broken StreamHandle) must not wedge the
    caller; past ``drain_timeout`` the dispatcher is cancelled with an error log.
    """
    timeout = ctx.options.drain_timeout
    try:
        async with asyncio.timeout(timeout):
            await dispatcher.join()
    except TimeoutError:
        ctx.logger.error("%s: dispatcher did not drain within %.1fs; cancelled", ctx.name, timeout)
        await dispatcher.cancel()


async def _hand_over(
    ctx: RecoveryCtx,
    old_stream: StreamHandle | None,
    old_dispatcher: Dispatcher | None,
    new_stream: StreamHandle,
    timing: RunTiming,
) -> None:
    """Steps 7-8: close the old stream, drain its dispatcher (every event the old socket delivered
    is dispatched before any of the new one's), then start the new stream's dispatcher."""
    mark = ctx.clock()
    try:
        if old_stream is not None:
            await old_stream.close()
        timing.close_old, mark = ctx.clock() - mark, ctx.clock()
        if old_dispatcher is not None:
            await _drain(ctx, old_dispatcher)
        timing.drain = ctx.clock() - mark
    finally:
        if ctx.stream is new_stream and ctx.dispatcher is None and ctx.released.is_set():
            ctx.dispatcher = start_dispatcher(ctx, new_stream)


async def _uncancellable(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion even if the caller is cancelled meanwhile; then re-raise the
    cancellation. Only for bounded work (every await inside has its own timeout)."""
    task = asyncio.ensure_future(coro)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True  # recorded first: a cancel landing as the task finishes is not swallowed
            if task.done():
                break
    if cancelled:
        task.result()
        raise asyncio.CancelledError
    task.result()


async def _retire_failed_key(ctx: RecoveryCtx, key: str) -> None:
    """A key this attempt minted and will never use (it failed after creating it)."""
    if getattr(ctx.venue, "retire_listen_key", None) is None:
        return
    await _retire_key(ctx, key)
    ctx.metrics.keys_retired_after_failure += 1


async def _retire_key(ctx: RecoveryCtx, key: str) -> None:
    """Optional venue hook ``retire_listen_key(old_key)``, called once a rotation replaced the key
    with a *different* one (BingX mints a new key per POST and would keep the old one alive).
    Bounded; a failure is logged, never raised: the rotation itself has succeeded."""
    retire = getattr(ctx.venue, "retire_listen_key", None)
    if retire is None:
        return
    try:
        async with asyncio.timeout(ctx.options.op_timeout):
            await retire(key)
    except Exception as exc:
        ctx.logger.warning("%s: retiring the previous listen key failed: %r", ctx.name, exc)


# --------------------------------------------------------------------------- the driver


def _backoff(ctx: RecoveryCtx) -> Backoff:
    if ctx.backoff is None:
        opts = ctx.options
        ctx.backoff = Backoff(opts.retry_initial, opts.retry_factor, opts.retry_cap, jitter=opts.retry_jitter)
    return ctx.backoff


async def run_recovery_driver(ctx: RecoveryCtx) -> None:
    """Long-lived driver: one recovery run per burst of triggers, until cancelled or the trigger
    channel is closed."""
    log = ctx.logger
    while True:
        try:
            reasons = await ctx.trigger.wait()
        except TriggerClosed:
            log.debug("%s: trigger channel closed; recovery driver exiting", ctx.name)
            return
        ctx.metrics.triggers = ctx.trigger.fired_total
        ctx.metrics.last_trigger_at = ctx.clock()
        # A held stream (startup reconciliation in progress) is recovered once released: a run now
        # would emit events into a reconciliation that is still comparing reports.
        await ctx.released.wait()
        await _pace(ctx, reasons)
        await recover_with_retry(ctx, reasons)


async def _pace(ctx: RecoveryCtx, reasons: list[str]) -> None:
    """Wait before a run whose predecessor's stream did not stay up (see module docstring)."""
    backoff = _backoff(ctx)
    if ctx.last_success is None or ctx.clock() - ctx.last_success >= ctx.options.backoff_reset_after:
        backoff.reset()
        return
    delay = backoff.next_delay()
    ctx.metrics.paced += 1
    ctx.logger.warning(
        "%s: the stream of the last recovery ended %.1fs after it (%s); next run in %.1fs",
        ctx.name,
        ctx.clock() - ctx.last_success,
        "; ".join(reasons) or "-",
        delay,
    )
    await ctx.sleep(delay)


async def recover_with_retry(ctx: RecoveryCtx, reasons: list[str]) -> None:
    """Retry :func:`recover_once` forever with backoff.

    Why forever: giving up would leave the user stream blind until some later trigger (up to the
    next keepalive, 30 min away); a persistent error log on a permanent failure is the lesser evil.
    Cancellation (shutdown) is the only way out besides success, and it is honoured both while
    sleeping and inside venue I/O.
    """
    backoff = _backoff(ctx)
    log = ctx.logger
    while True:
        # Triggers fired during the backoff sleep are covered by the attempt about to start.
        reasons = reasons + ctx.trigger.drain()
        ctx.metrics.triggers = ctx.trigger.fired_total
        try:
            await recover_once(ctx, reasons)
            return
        except Exception as exc:  # CancelledError is a BaseException: shutdown passes through
            ctx.metrics.failures += 1
            ctx.metrics.last_error = repr(exc)
            if ctx.metrics.failing_since is None:
                ctx.metrics.failing_since = ctx.clock()
            delay = backoff.next_delay()
            log.error(
                "%s: recovery attempt %d failed (%r); retrying in %.1fs",
                ctx.name,
                backoff.attempts,
                exc,
                delay,
            )
        await ctx.sleep(delay)


async def recover_once(ctx: RecoveryCtx, reasons: list[str]) -> None:
    """One recovery attempt (see module docstring for the phases and their order)."""
    venue, opts, log, clock = ctx.venue, ctx.options, ctx.logger, ctx.clock
    async with ctx.lock:
        ctx.metrics.attempts += 1
        ctx.metrics.in_progress = True
        ctx.metrics.last_reasons = list(reasons)
        timing = RunTiming()
        started = mark = clock()
        try:
            log.warning("%s: rotating listen key (reasons: %s)", ctx.name, "; ".join(reasons) or "-")

            async with asyncio.timeout(opts.op_timeout):
                new_key = await venue.create_listen_key()
            timing.create_key, mark = clock() - mark, clock()
            minted = new_key if new_key != ctx.listen_key else None

            # Snapshot before any socket exists: a failure here leaves nothing to clean up and the
            # old stream/dispatcher untouched.
            previous = ctx.failed_attempt_snapshot
            if previous is not None and clock() - previous < opts.snapshot_reuse_secs:
                log.info("%s: reusing the snapshot of %.1fs ago", ctx.name, clock() - previous)
            else:
                try:
                    async with asyncio.timeout(opts.op_timeout):
                        outcome = await venue.snapshot()
                    timing.snapshot, mark = clock() - mark, clock()
                    if outcome.all_failed:
                        raise RecoveryAttemptError("snapshot", f"every query failed ({outcome.describe()})")
                except Exception:
                    if minted is not None:
                        await _retire_failed_key(ctx, minted)
                    raise
                ctx.failed_attempt_snapshot = clock()  # until this attempt succeeds
                log.info(
                    "%s: snapshot emitted %d report(s) (%s)", ctx.name, outcome.emitted, outcome.describe()
                )

            # Connect before the backfill: the venue does not buffer events for a key nobody is
            # connected to, so a fill published between a backfill and a later connect would reach
            # neither. Connected first, the new socket queues (does not dispatch) everything from
            # here on, and the backfill covers everything before: together, no gap. Duplicates
            # across the seam are removed downstream (fills are keyed by venue trade id).
            try:
                async with asyncio.timeout(opts.op_timeout):
                    new_stream = await venue.connect_stream(new_key)
            except Exception:
                if minted is not None:
                    await _retire_failed_key(ctx, minted)
                raise
            timing.connect, mark = clock() - mark, clock()

            try:
                async with asyncio.timeout(opts.op_timeout):
                    post = await venue.post_snapshot()
                timing.post_snapshot, mark = clock() - mark, clock()
                if post.all_failed or post.required_failed:
                    raise RecoveryAttemptError("post_snapshot", f"backfill incomplete ({post.describe()})")

                if opts.overlap:
                    try:
                        async with asyncio.timeout(opts.healthy_timeout):
                            await new_stream.wait_healthy()
                    except TimeoutError as exc:
                        raise RecoveryAttemptError("healthy", "new stream not healthy in time") from exc
                    except ConnectionError as exc:
                        raise RecoveryAttemptError("healthy", str(exc)) from exc
                    timing.healthy, mark = clock() - mark, clock()
            except BaseException as exc:
                # Not swapped in yet: we still own the new socket and must close it (also on
                # cancel), leaving the old stream and its dispatcher untouched.
                await new_stream.close()
                if minted is not None and isinstance(exc, Exception):
                    await _retire_failed_key(ctx, minted)
                raise

            # Swap: from here on the new stream is the ctx's, and keepalive follows the new key.
            old_stream, old_dispatcher, old_key = ctx.stream, ctx.dispatcher, ctx.listen_key
            ctx.stream = new_stream
            ctx.listen_key = new_key
            ctx.dispatcher = None

            # Close old -> drain old -> start new, as one unit: a cancel (shutdown) arriving in the
            # middle must not leave the new stream without a dispatcher (its queued frames would
            # be dropped by the shutdown's close) nor start it before the old one drained.
            await _uncancellable(_hand_over(ctx, old_stream, old_dispatcher, new_stream, timing))
            if old_key is not None and old_key != new_key:
                await _retire_key(ctx, old_key)
        finally:
            ctx.metrics.in_progress = False

        timing.total = clock() - started
        ctx.failed_attempt_snapshot = None
        m = ctx.metrics
        m.runs += 1
        m.last_duration = timing.total
        m.last_timing = timing
        m.last_error = None
        m.failing_since = None
        m.history.append(timing)
        del m.history[:-32]
        ctx.last_success = clock()
        if ctx.on_run is not None:
            ctx.on_run(timing)
        log.warning("%s: recovery complete in %.3fs", ctx.name, timing.total)
