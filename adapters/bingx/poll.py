"""REST-poll failover: while the user stream is down, the account is kept in sync by polling REST.

BingX's user stream drops events and disconnects without warning (notes §5.4). The core recovery
driver reconnects with backoff (and backfills on every attempt), but while it cannot get a healthy
stream - the socket is refused, a rotation keeps failing - nothing would reach the engine for up to
the backoff cap. :class:`RestPollFailover` closes that gap: every ``interval`` it checks the stream,
and while it is down it runs :meth:`BingxVenueSync.poll_once` (balance, positions, open orders,
closed orders' final states, fills since the last seen trade id). ``always=True`` is the REST-poll
*mode* (no stream at all), the path the mode-parity tests compare with the WebSocket path.

``audit_every`` adds a periodic poll while the stream is *up*: BingX loses events on a healthy
socket (notes §5.4: missed events, triggered SL/TP without any push), and nothing else would ever
notice an order that filled without its event.

A poll takes the recovery ctx's lock, so it never interleaves with a recovery run (both use the
same snapshot state) - it runs in the driver's backoff pauses. What both report goes through
``OrderFacts``: a fill polled here and later also seen on the restored stream reaches the engine once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from adapters.bingx.errors import BingxError
from adapters.bingx.venue_sync import BingxVenueSync
from adapters.core.base.backoff import SleepFn


class RestPollFailover:
    def __init__(
        self,
        sync: BingxVenueSync,
        *,
        started: asyncio.Event | None = None,
        lock: asyncio.Lock,
        stream_down: Callable[[], bool],
        interval: float,
        always: bool = False,
        audit_every: float | None = None,
        timeout: float = 30.0,
        sleep: SleepFn = asyncio.sleep,
        name: str = "bingx-poll",
        logger: logging.Logger | None = None,
    ) -> None:
        self._sync = sync
        # Nothing is polled into the engine before the startup sync is done (the engine is still
        # reconciling its reports until then; see adapters.core.userstream.startup).
        self._started = started
        self._lock = lock
        self._stream_down = stream_down
        self._interval = interval
        self._always = always
        self._audit_every = audit_every
        self._timeout = timeout
        self._sleep = sleep
        self._name = name
        self._log = logger or logging.getLogger(__name__)
        self._task: asyncio.Task[None] | None = None
        self.polls = 0
        self.failures = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self._name}: already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    async def poll(self) -> bool:
        """One poll now (under the lock); True on success. Failures are logged and counted."""
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):
                    outcome = await self._sync.poll_once()
            except (BingxError, TimeoutError) as exc:
                self.failures += 1
                self._log.warning("%s: poll failed: %r", self._name, exc)
                return False
        self.polls += 1
        if outcome.all_failed:
            self.failures += 1
            self._log.warning("%s: every poll query failed (%s)", self._name, outcome.describe())
            return False
        return True

    async def _run(self) -> None:
        if self._started is not None:
            await self._started.wait()
        loop = asyncio.get_running_loop()
        was_down = False
        last_poll = loop.time()
        while True:
            await self._sleep(self._interval)
            down = self._always or self._stream_down()
            audit = self._audit_every is not None and loop.time() - last_poll >= self._audit_every
            if down and not was_down and not self._always:
                self._log.warning(
                    "%s: user stream down; polling REST every %.1fs", self._name, self._interval
                )
            elif was_down and not down:
                self._log.info("%s: user stream back; polling stopped", self._name)
            was_down = down
            if down or audit:
                await self.poll()
                last_poll = loop.time()
