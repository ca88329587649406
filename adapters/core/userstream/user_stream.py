"""The user-data stream as one owned unit: stream + dispatcher + keepalive + recovery driver.

Venue execution clients create a :class:`UserStreamService` with their
:class:`~adapters.core.userstream.recovery.RecoveryVenue` and
:class:`~adapters.core.userstream.listen_key.ListenKeyOps`, ``await start()`` in ``_connect`` and
``await stop()`` in ``_disconnect``.  The service owns every task it starts and awaits them all on
stop, so nothing leaks into Nautilus' own task tracking.

``rotate_every`` (optional) adds a timer that fires the trigger periodically - the proactive
rotation for venues with an assumed connection lifetime (BingX, ~24 h): combined with
``RecoveryOptions(overlap=True)`` the new socket is proven healthy before the old one closes.

Stop ordering (why each step comes where it does):

1. stop the rotation timer and close the trigger channel - no new runs can be requested;
2. cancel and await the recovery driver - it must not swap a fresh stream in behind our back (an
   in-flight REST/WS call is abandoned rather than awaited: shutdown must not wait on the venue);
3. stop keepalive - nothing else touches the key;
4. close the stream and drain its dispatcher - events already received still reach the engine;
5. DELETE the listen key (bounded, failures logged).

:meth:`UserStreamService.health` says, for monitoring, which :class:`StreamState` the stream is in
and since when - derived on demand from timestamps the service and the recovery driver record, so
reading it costs the hot path nothing.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass

from adapters.core.base.backoff import Backoff, SleepFn
from adapters.core.base.trigger import TriggerChannel
from adapters.core.userstream.listen_key import ListenKeyKeeper, ListenKeyOps
from adapters.core.userstream.recovery import (
    RecoveryCtx,
    RecoveryOptions,
    RecoveryVenue,
    close_stream,
    open_stream,
    release,
    run_recovery_driver,
)

_log = logging.getLogger("adapters.core.user_stream")


class StreamState(enum.Enum):
    CONNECTED = "connected"  # dispatching (or held and queueing, see start); no recovery pending
    RECOVERING = "recovering"  # a recovery was triggered and none of its attempts has failed yet
    DOWN = "down"  # an attempt of the current recovery failed: retrying with backoff
    STOPPED = "stopped"  # not started, or stopped


@dataclass(frozen=True, slots=True)
class StreamHealth:
    state: StreamState
    since: float  # ``ctx.clock()`` when the stream entered ``state``
    not_connected_since: float | None  # when it left CONNECTED (None while connected or stopped)


class UserStreamService:
    def __init__(
        self,
        venue: RecoveryVenue,
        key_ops: ListenKeyOps,
        *,
        options: RecoveryOptions | None = None,
        keepalive_interval: float = 30 * 60,
        keepalive_on_start: bool = False,
        rotate_every: float | None = None,
        sleep: SleepFn = asyncio.sleep,
        name: str = "user-stream",
        logger: logging.Logger | None = None,
    ) -> None:
        log = logger or _log
        self.ctx = RecoveryCtx(
            venue=venue,
            trigger=TriggerChannel(),
            options=options or RecoveryOptions(),
            logger=log,
            name=name,
        )
        self.keeper = ListenKeyKeeper(
            key_ops,
            self.ctx.current_key,
            self.ctx.trigger,
            interval=keepalive_interval,
            keepalive_on_start=keepalive_on_start,
            name=name,
            logger=log,
        )
        self._rotate_every = rotate_every
        self._sleep = sleep
        self._driver: asyncio.Task[None] | None = None
        self._rotation: asyncio.Task[None] | None = None
        self._started_at: float | None = None  # ctx.clock() once the first stream is connected
        self._stopped_at = self.ctx.clock()

    @property
    def trigger(self) -> TriggerChannel:
        """Fire this (e.g. on ``listenKeyExpired``) to request a recovery run."""
        return self.ctx.trigger

    async def start(self, *, hold: bool = False) -> None:
        """Create the key, connect and dispatch, then start keepalive and the driver. ``hold``:
        dispatch nothing (and recover nothing) until :meth:`release` - the stream connects now so
        that no event is lost, while NautilusTrader's startup reconciliation compares reports."""
        if self._driver is not None:
            raise RuntimeError(f"{self.ctx.name}: already started")
        await open_stream(self.ctx, hold=hold)
        self.keeper.start()
        loop = asyncio.get_running_loop()
        self._driver = loop.create_task(run_recovery_driver(self.ctx), name=f"{self.ctx.name}-recovery")
        if self._rotate_every is not None:
            self._rotation = loop.create_task(
                self._rotate(self._rotate_every), name=f"{self.ctx.name}-rotation"
            )
        self._started_at = self.ctx.clock()

    async def stop(self, delete_key: bool = True) -> None:
        """Shut down in the order documented in the module docstring; idempotent."""
        for task in (self._rotation, self._driver):
            if task is not None:
                task.cancel()
        self.ctx.trigger.close()
        tasks = {t for t in (self._rotation, self._driver) if t is not None}
        self._rotation = self._driver = None
        if self._started_at is not None:
            self._started_at = None
            self._stopped_at = self.ctx.clock()
        if tasks:
            await asyncio.wait(tasks)
        await self.keeper.stop()
        await close_stream(self.ctx)
        if delete_key:
            await self.keeper.close()  # stop() already done; this DELETEs the current key
        self.ctx.listen_key = None

    @property
    def held(self) -> bool:
        return not self.ctx.released.is_set()

    def is_down(self) -> bool:
        """No stream is dispatching, or recovery is failing (what a REST poll failover waits for)."""
        dispatcher = self.ctx.dispatcher
        return dispatcher is None or not dispatcher.running or self.ctx.metrics.last_error is not None

    def release(self) -> None:
        """End the hold of :meth:`start`: queued events are dispatched in order from now on."""
        release(self.ctx)

    async def resync(self, reason: str) -> None:
        """One gap sync now (snapshot and backfill of the venue's state: what a recovery does
        besides rotating the key), retried with the recovery backoff until it succeeds. Serialized
        with recovery runs (the ctx lock)."""
        ctx = self.ctx
        backoff = Backoff(ctx.options.retry_initial, ctx.options.retry_factor, ctx.options.retry_cap)
        while True:
            try:
                async with ctx.lock:
                    async with asyncio.timeout(ctx.options.op_timeout):
                        first = await ctx.venue.snapshot()
                    async with asyncio.timeout(ctx.options.op_timeout):
                        second = await ctx.venue.post_snapshot()
                if not first.all_failed and not second.all_failed and not second.required_failed:
                    ctx.logger.info("%s: sync after %s complete", ctx.name, reason)
                    return
                problem = f"{first.describe()}; {second.describe()}"
            except Exception as exc:  # CancelledError passes: shutdown
                problem = repr(exc)
            delay = backoff.next_delay()
            ctx.logger.warning(
                "%s: sync after %s failed (%s); retrying in %.1fs", ctx.name, reason, problem, delay
            )
            await self._sleep(delay)

    def health(self) -> StreamHealth:
        """The stream's state and since when (``ctx.clock()`` time). Cheap, and safe to call from
        another thread (a metrics scrape): it only reads timestamps."""
        started = self._started_at
        if started is None or self._driver is None:
            return StreamHealth(StreamState.STOPPED, self._stopped_at, None)
        m = self.ctx.metrics
        last_success = self.ctx.last_success
        connected_at = started if last_success is None else max(started, last_success)
        trigger, failing = m.last_trigger_at, m.failing_since
        if failing is not None and failing >= connected_at:
            left = trigger if trigger is not None and connected_at <= trigger <= failing else failing
            return StreamHealth(StreamState.DOWN, failing, left)
        if trigger is not None and trigger >= connected_at:
            return StreamHealth(StreamState.RECOVERING, trigger, trigger)
        return StreamHealth(StreamState.CONNECTED, connected_at, None)

    async def _rotate(self, every: float) -> None:
        while True:
            await self._sleep(every)
            self.ctx.trigger.fire("scheduled rotation")
