"""Coalescing trigger channel: many ``fire()`` calls, one pending wake-up.

This replaces the reference design's unbounded ``()`` channel plus ``try_recv`` drain loop.
Producers (the dispatcher seeing ``listenKeyExpired``, the keepalive loop, a dead socket) call
the synchronous :meth:`TriggerChannel.fire` from any callback running on the event loop.  The
single consumer (the recovery driver) awaits :meth:`TriggerChannel.wait`, which returns the whole
burst of reasons fired since the previous wait, so a storm of triggers becomes one recovery run.
Reasons are kept only for logging/metrics; at most ``max_reasons`` per burst are retained
(``fired_total`` still counts all of them) so a trigger storm cannot grow memory.
"""

from __future__ import annotations

import asyncio


class TriggerClosed(Exception):
    """Raised by :meth:`TriggerChannel.wait` once the channel is closed."""


class TriggerChannel:
    """Single-consumer coalescing trigger.  Not thread-safe: use from the event loop only."""

    __slots__ = ("_closed", "_dropped", "_event", "_fired_total", "_max_reasons", "_pending")

    def __init__(self, max_reasons: int = 64) -> None:
        self._pending: list[str] = []
        self._event = asyncio.Event()
        self._closed = False
        self._max_reasons = max_reasons
        self._fired_total = 0
        self._dropped = 0

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> bool:
        """True if a trigger is waiting to be consumed."""
        return self._event.is_set() and not self._closed

    @property
    def fired_total(self) -> int:
        return self._fired_total

    def fire(self, reason: str) -> bool:
        """Request a run.  Returns False (and does nothing) if the channel is closed."""
        if self._closed:
            return False
        self._fired_total += 1
        if len(self._pending) < self._max_reasons:
            self._pending.append(reason)
        else:
            self._dropped += 1
        self._event.set()
        return True

    def drain(self) -> list[str]:
        """Take whatever is pending without waiting (empty list if nothing is)."""
        if not self._event.is_set():
            return []
        reasons = self._pending
        if self._dropped:
            reasons.append(f"... and {self._dropped} more")
        self._pending = []
        self._dropped = 0
        self._event.clear()
        return reasons

    async def wait(self) -> list[str]:
        """Wait for at least one trigger and return the drained burst of reasons.

        Raises :class:`TriggerClosed` when the channel is (or becomes) closed; pending triggers
        are discarded then, because closing means the owner is shutting the driver down.
        """
        while True:
            if self._closed:
                raise TriggerClosed
            if self._event.is_set():
                return self.drain()
            await self._event.wait()

    def close(self) -> None:
        """Make current and future waiters exit with :class:`TriggerClosed`."""
        self._closed = True
        self._pending = []
        self._event.set()  # wake the waiter so it observes the closed flag
