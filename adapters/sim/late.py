"""Late execution: a request answered with a failure now that the venue executes later.

This is the outcome a client must not mistake for a rejection: Binance documents 5xx / ``-1007``
as "execution status unknown" and a cut connection tells nothing either, while the matching
engine may still act on the request. A fail rule with ``execute_after_ms`` (``adapters.sim.faults``)
answers the request with its failure and hands the request here; ``execute_after_ms`` later the
dialect runs it as if it had just reached the matching engine. Until then the order does not
exist (queries answer the venue's unknown-order error).

Venue rule honoured: both venues reject a request that the engine sees after its
``timestamp + recvWindow`` (Binance "Timing security": the server checks
``serverTime - timestamp <= recvWindow``; recvWindow default 5000 ms, max 60000; BingX the same
default of 5000 ms per its authentication docs). So an execution that would happen after that
deadline is *dropped*: the order never exists. Every execution, rejection and drop is recorded
for ``/sim/state`` (``faults.late_executions``) and counted (``late_executed``,
``late_rejected``, ``late_dropped``).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
MAX_DELAY_MS = 3_600_000  # an hour: longer than any recvWindow, so anything later is a drop anyway
KEEP_RECORDS = 1000  # /sim/state keeps the most recent ones

PENDING = "pending"
EXECUTED = "executed"  # the venue accepted it (order placed / cancelled / ...)
REJECTED = "rejected"  # it reached the engine in time and was refused (e.g. duplicate client id)
DROPPED = "dropped"  # too late for its recvWindow: never executed
CANCELLED = "cancelled"  # the simulator stopped first

# What a late run reports: (accepted by the venue, the venue's answer body).
Outcome = tuple[bool, Any]


def request_deadline_ms(
    params: Mapping[str, str], default_window_ms: int = DEFAULT_RECV_WINDOW_MS
) -> int | None:
    """``timestamp + recvWindow`` of a signed request, or None when it carries no usable timestamp
    (the venue then refuses it when it runs, which is recorded as a rejection)."""
    try:
        ts = int(params.get("timestamp") or "")
    except ValueError:
        return None
    window = default_window_ms
    raw = params.get("recvWindow")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return None
        if not math.isfinite(value) or value <= 0:
            return None
        window = int(min(value, MAX_RECV_WINDOW_MS))
    return ts + window


@dataclass(slots=True)
class LateExecution:
    id: int
    request: str  # "POST /fapi/v1/order", "WS order.place"
    received_ms: int
    due_ms: int  # when the engine sees it
    deadline_ms: int | None  # timestamp + recvWindow of the request
    status: str = PENDING
    executed_ms: int | None = None
    answer: Any = None  # the venue's answer at execution (never sent to the client)


class LateExecutions:
    def __init__(self, clock: Callable[[], int], count: Callable[[str], None]) -> None:
        self._clock = clock
        self._count = count
        self._ids = itertools.count(1)
        self.records: collections.deque[LateExecution] = collections.deque(maxlen=KEEP_RECORDS)
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(
        self,
        request: str,
        delay_ms: int,
        deadline_ms: int | None,
        run: Callable[[], Awaitable[Outcome]],
    ) -> LateExecution:
        now = self._clock()
        rec = LateExecution(next(self._ids), request, now, now + delay_ms, deadline_ms)
        self.records.append(rec)
        task = asyncio.get_running_loop().create_task(
            self._run(rec, delay_ms, run), name=f"sim-late-{rec.id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return rec

    async def _run(self, rec: LateExecution, delay_ms: int, run: Callable[[], Awaitable[Outcome]]) -> None:
        try:
            await asyncio.sleep(delay_ms / 1000)
        except asyncio.CancelledError:
            rec.status = CANCELLED
            raise
        now = self._clock()
        rec.executed_ms = now
        if rec.deadline_ms is not None and now > rec.deadline_ms:
            rec.status = DROPPED
            self._count("late_dropped")
            log.info(
                "late %s #%d dropped: %d ms past its recvWindow", rec.request, rec.id, now - rec.deadline_ms
            )
            return
        try:
            ok, answer = await run()
        except Exception:
            # A bug in a dialect's late path must not kill the loop's task silently.
            log.exception("late %s #%d failed", rec.request, rec.id)
            rec.status = REJECTED
            self._count("late_rejected")
            return
        rec.answer = answer
        rec.status = EXECUTED if ok else REJECTED
        self._count("late_executed" if ok else "late_rejected")
        log.info("late %s #%d %s", rec.request, rec.id, rec.status)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def snapshot(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.records]
