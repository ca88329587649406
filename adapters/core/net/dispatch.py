"""Dispatcher task: drains one stream's queue into a synchronous frame handler.

A :class:`Dispatcher` is the single consumer of a :class:`~adapters.core.net.stream.StreamHandle`'s
queue.  It calls ``handler(frame)`` for every data frame, in queue order, until it reads the
:class:`~adapters.core.net.stream.StreamEnded` marker (or is cancelled).  Stream signals
(:class:`~adapters.core.net.stream.Reconnected`, :class:`~adapters.core.net.stream.StreamEnded`) go to
``on_signal`` so the owner can fire a recovery trigger.

Why it ends on the end marker instead of running forever: the recovery driver closes the old
stream and then *awaits* its dispatcher; because the marker is queued after every frame the old
socket delivered, the await returns exactly when the old stream has fully drained, and only then
is the new stream's dispatcher started.  That is what preserves per-stream event ordering.

Hot path: no per-frame allocation beyond what the handler does; metrics are plain integer
counters and one ``perf_counter_ns`` pair per frame.  A handler exception is logged and the frame
skipped - one malformed event must never stop the user stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeAlias

from adapters.core.net.stream import Frame, StreamEnded, StreamItem, StreamSignal

FrameHandler: TypeAlias = Callable[[Frame], None]
SignalHandler: TypeAlias = Callable[[StreamSignal], None]

_log = logging.getLogger("adapters.core.dispatch")
_FRAME_TYPES = (bytes, str)


class DispatchMetrics:
    """Cheap counters updated by the dispatcher on every frame."""

    __slots__ = ("errors", "frames", "handle_ns_max", "handle_ns_total", "signals")

    def __init__(self) -> None:
        self.frames = 0
        self.errors = 0
        self.signals = 0
        self.handle_ns_total = 0
        self.handle_ns_max = 0

    @property
    def mean_handle_us(self) -> float:
        return self.handle_ns_total / self.frames / 1_000 if self.frames else 0.0


class Dispatcher:
    """Owns one dispatch task.  ``start()`` spawns it; ``join()``/``cancel()`` await it."""

    def __init__(
        self,
        queue: asyncio.Queue[StreamItem],
        handler: FrameHandler,
        on_signal: SignalHandler | None = None,
        *,
        name: str = "dispatch",
        logger: logging.Logger | None = None,
    ) -> None:
        self._queue = queue
        self._handler = handler
        self._on_signal = on_signal
        self._name = name
        self._log = logger or _log
        self._task: asyncio.Task[None] | None = None
        self.metrics = DispatchMetrics()
        self.ended: StreamEnded | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"dispatcher {self._name} already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def join(self) -> None:
        """Wait until the end marker was dispatched (bound it with ``asyncio.timeout``).

        A caller cancelled (or timed out) while joining does not kill the dispatcher:
        ``asyncio.wait`` never cancels what it waits for; the owner cancels via :meth:`cancel`.
        """
        if self._task is not None:
            await asyncio.wait({self._task})

    async def cancel(self) -> None:
        """Stop dispatching now (frames still queued are not handled) and await the task."""
        task = self._task
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # Re-raise only if *we* are being cancelled, not because the child was.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def _run(self) -> None:
        queue = self._queue
        handler = self._handler
        metrics = self.metrics
        perf = time.perf_counter_ns
        frame_types = _FRAME_TYPES
        while True:
            item = await queue.get()
            # Data frames first: the overwhelmingly common case.  The tuple is hoisted because
            # `bytes | str` would build a new union object on every frame.
            if isinstance(item, frame_types):
                start = perf()
                try:
                    handler(item)
                except Exception:
                    metrics.errors += 1
                    self._log.exception("%s: frame handler failed; frame skipped", self._name)
                elapsed = perf() - start
                metrics.frames += 1
                metrics.handle_ns_total += elapsed
                if elapsed > metrics.handle_ns_max:
                    metrics.handle_ns_max = elapsed
                continue
            metrics.signals += 1
            if self._on_signal is not None:
                try:
                    self._on_signal(item)
                except Exception:
                    self._log.exception("%s: signal handler failed for %r", self._name, item)
            if isinstance(item, StreamEnded):
                self.ended = item
                self._log.debug("%s: stream ended (%s); dispatcher exiting", self._name, item.kind.value)
                return
