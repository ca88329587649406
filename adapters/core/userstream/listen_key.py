"""Listen-key lifecycle: periodic keepalive that follows rotations, and DELETE on shutdown.

:class:`ListenKeyKeeper` owns one keepalive task.  Every ``interval`` (30 min by default - the
key lives 60 min) it reads the *current* key through ``current_key()`` - never a copy taken at
start - so after the recovery driver publishes a rotated key the next keepalive extends the new
key, not the dead one.  A failed keepalive (error or timeout) fires the recovery trigger: waiting
for the next tick would risk the key expiring and the stream going blind.  A failure for a key
that was rotated away *while* the request was in flight is ignored (the new key is fine).

``close()`` stops the loop and DELETEs the current key, bounded by a timeout; failures are logged,
never raised, because shutdown must proceed even when the venue is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from adapters.core.base.backoff import SleepFn
from adapters.core.base.trigger import TriggerChannel

_log = logging.getLogger("adapters.core.listen_key")


class ListenKeyOps(Protocol):
    """Venue operations on an existing listen key (what the keeper calls)."""

    async def keepalive(self, key: str) -> None: ...

    async def delete(self, key: str) -> None: ...


class ListenKeyEndpoints(ListenKeyOps, Protocol):
    """Where a venue's listen keys come from: create (or extend), keep alive, delete.

    The plug-in point for *how* the key is asked for: REST (``POST/PUT/DELETE`` of a listen-key
    endpoint) or a venue's WebSocket API (Binance ``userDataStream.start/ping/stop``). The venue's
    :class:`~adapters.core.userstream.recovery.RecoveryVenue` delegates ``create_listen_key`` and its
    :class:`ListenKeyOps` to one of these, so the recovery driver, its triggers and the keeper are
    the same whichever transport carries the key."""

    async def create(self) -> str: ...


@dataclass(slots=True)
class KeepaliveMetrics:
    sent: int = 0
    ok: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None


class ListenKeyKeeper:
    """Owns the keepalive task for whichever listen key is current."""

    def __init__(
        self,
        ops: ListenKeyOps,
        current_key: Callable[[], str | None],
        trigger: TriggerChannel,
        *,
        interval: float = 30 * 60,
        request_timeout: float = 10.0,
        delete_timeout: float = 5.0,
        max_failures: int = 1,
        keepalive_on_start: bool = False,
        sleep: SleepFn = asyncio.sleep,
        name: str = "listen-key",
        logger: logging.Logger | None = None,
    ) -> None:
        self._ops = ops
        self._current_key = current_key
        self._trigger = trigger
        self._interval = interval
        self._request_timeout = request_timeout
        self._delete_timeout = delete_timeout
        self._max_failures = max_failures
        self._keepalive_on_start = keepalive_on_start
        self._sleep = sleep
        self._name = name
        self._log = logger or _log
        self._task: asyncio.Task[None] | None = None
        self.metrics = KeepaliveMetrics()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self._name}: keepalive already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self._name}-keepalive")

    async def stop(self) -> None:
        """Cancel the keepalive loop and await it (an in-flight PUT is abandoned)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task})

    async def close(self) -> None:
        """Stop the loop, then DELETE the current key (bounded; errors logged, not raised)."""
        await self.stop()
        key = self._current_key()
        if key is None:
            return
        try:
            async with asyncio.timeout(self._delete_timeout):
                await self._ops.delete(key)
        except Exception as exc:
            self._log.warning("%s: listen key DELETE failed (ignored at shutdown): %r", self._name, exc)

    async def keepalive_once(self) -> bool:
        """Send one keepalive for the current key; True on success.  Fires the trigger on failure."""
        key = self._current_key()
        if key is None:
            return True  # nothing to keep alive (recovery will publish one)
        self.metrics.sent += 1
        try:
            async with asyncio.timeout(self._request_timeout):
                await self._ops.keepalive(key)
        except Exception as exc:
            if self._current_key() != key:
                # Rotated while the PUT was in flight; the old key's fate no longer matters.
                self._log.info("%s: keepalive for a rotated-away key failed: %r", self._name, exc)
                return True
            m = self.metrics
            m.failures += 1
            m.consecutive_failures += 1
            m.last_error = repr(exc)
            self._log.warning(
                "%s: keepalive failed (%d/%d): %r",
                self._name,
                m.consecutive_failures,
                self._max_failures,
                exc,
            )
            if m.consecutive_failures >= self._max_failures:
                self._trigger.fire("keepalive failed")
            return False
        self.metrics.ok += 1
        self.metrics.consecutive_failures = 0
        return True

    async def _run(self) -> None:
        if not self._keepalive_on_start:
            await self._sleep(self._interval)
        while True:
            await self.keepalive_once()
            await self._sleep(self._interval)
