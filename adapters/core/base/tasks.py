"""A set of side tasks with one owner: spawned, tracked, cancelled and awaited together.

Clients occasionally need work that must not block the caller (resolving an ambiguous submit by
querying the venue, fetching fills a held terminal status is waiting for). Fire-and-forget tasks leak
past shutdown and lose their exceptions; an ``OwnedTasks`` is closed by its owner on disconnect,
which cancels and awaits everything still running, and every failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

_log = logging.getLogger("adapters.core.tasks")


class OwnedTasks:
    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self._name = name
        self._log = logger or _log
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        """Start ``coro`` as an owned task; refused (and the coroutine closed) once closing."""
        if self._closed:
            coro.close()
            self._log.warning("%s: not starting %s: shutting down", self._name, name)
            return None
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._log.error("%s: task %s failed: %r", self._name, task.get_name(), exc, exc_info=exc)

    async def join(self) -> None:
        """Wait until every task spawned so far has finished (tests and orderly drains)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        """Cancel everything still running and await it, bounded by ``grace`` seconds."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                self._log.error("%s: %d task(s) did not stop within %.1fs", self._name, len(pending), grace)
