"""Resolving what a command's outcome left open, by querying the venue: never by guessing or re-sending.

Both venues' execution clients run the same side-task loops; only the query (and its error type)
is the venue's:

* :meth:`AmbiguityResolver.resolve_submit` — an ambiguous submit (timeout, 5xx, -1006/-1007, a cut
  connection): query with backoff until the venue gives a definite answer. An order the venue does
  not know is declared rejected only once the venue can no longer accept it: its matching engine
  refuses a request seen after ``timestamp + recvWindow``, so past that (plus a margin for clock
  offset and transit) "not found" is final. Before it, a late NEW or fill is the truth.
* :meth:`AmbiguityResolver.resolve_cancel` — an ambiguous or refused cancel: query until the final
  state is known; a refused cancel whose order is not final (or not found) is reported rejected;
* :class:`FillRepairs` — one repair task per order whose venue state is ahead of what the engine was
  told (missing fills, a terminal status held for them, an overfill to reconcile): fetch the
  order's state and fills by its id until they agree.

``resolutions`` counts, per command kind, how many outcomes were resolved by querying.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable

from adapters.core.base.backoff import Backoff
from adapters.core.base.tasks import OwnedTasks
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import TrackedOrder
from adapters.core.parse.wire_values import WireValueError

ErrorTypes = type[Exception] | tuple[type[Exception], ...]
OrderQuery = Callable[[TrackedOrder], Awaitable[bool]]
RetryLog = Callable[[TrackedOrder, Exception], None]

# Added to the recvWindow before "not found" becomes final: our clock's offset from the venue's
# (kept within ~1 s by time sync) plus transit of a request still on its way.
ACCEPT_MARGIN_SECS = 2.0

_log = logging.getLogger("adapters.core.resolution")


def _resolve_backoff() -> Backoff:
    return Backoff(0.25, 2.0, 5.0)


class AmbiguityResolver:
    def __init__(
        self,
        *,
        facts: OrderFacts,
        clock_ns: Callable[[], int],
        query: OrderQuery,
        errors: ErrorTypes,
        cancel_rejected: Callable[[TrackedOrder, str], None],
        accept_window_secs: float = 5.0 + ACCEPT_MARGIN_SECS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``query(order)`` applies the venue's state of the order and returns False when the venue
        does not know it; it raises ``errors`` on transport/ambiguous failures (retried).
        ``accept_window_secs``: how long after an ambiguous answer the venue may still accept the
        order (the request's recvWindow plus :data:`ACCEPT_MARGIN_SECS`)."""
        self._facts = facts
        self._clock_ns = clock_ns
        self._query = query
        self._errors = errors
        self._cancel_rejected = cancel_rejected
        self._accept_window = accept_window_secs
        self._monotonic = monotonic
        self.resolutions: collections.Counter[str] = collections.Counter()

    async def resolve_submit(self, tracked: TrackedOrder, retry_failed: RetryLog) -> None:
        backoff = _resolve_backoff()
        final_after = self._monotonic() + self._accept_window
        self.resolutions["submit"] += 1
        while tracked.ambiguous and tracked.terminal is None:
            await asyncio.sleep(min(backoff.next_delay(), max(0.05, final_after - self._monotonic())))
            if not tracked.ambiguous or tracked.terminal is not None:
                return  # the stream said what happened meanwhile
            try:
                found = await self._query(tracked)
            except self._errors as exc:
                retry_failed(tracked, exc)
                continue
            if found:
                tracked.ambiguous = False
                return
            if self._monotonic() >= final_after:
                # The venue refuses the request from here on: "not found" is final.
                self._facts.rejected(
                    tracked,
                    "order not found on venue after an ambiguous submit (its recvWindow has passed)",
                    self._clock_ns(),
                )
                return

    async def resolve_cancel(
        self, tracked: TrackedOrder, rejection: str | None, retry_failed: RetryLog
    ) -> None:
        """``rejection``: the venue's refusal of the cancel (None: the outcome was ambiguous)."""
        backoff = _resolve_backoff()
        self.resolutions["cancel"] += 1
        while True:
            try:
                found = await self._query(tracked)
            except self._errors as exc:
                retry_failed(tracked, exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            if rejection is not None and (not found or tracked.terminal is None):
                self._cancel_rejected(tracked, rejection)
            elif rejection is None and found and tracked.terminal is None:
                # The cancel's answer was lost and the venue still has the order open: the cancel
                # did not take. Say so now — left alone, the order would sit in PENDING_CANCEL until
                # NautilusTrader's in-flight check (~10 s) while the strategy can do nothing. Should
                # the cancel land after all, the stream's CANCELED still applies.
                self._cancel_rejected(tracked, "cancel not confirmed: the order is still open on the venue")
            return


class FillRepairs:
    """At most one repair task per order: ``fetch(order)`` (the venue's state of the order and its
    fills, applied through ``OrderFacts``) with backoff until ``order.needs_repair`` is False.

    Forever, with the delay capped: an order whose fills cannot be fetched stays visibly open rather
    than being closed without them; an ERROR says so after ``alert_after`` attempts.
    """

    def __init__(
        self,
        fetch: Callable[[TrackedOrder], Awaitable[object]],
        *,
        tasks: OwnedTasks,
        errors: ErrorTypes,
        backoff: Callable[[], Backoff] = lambda: Backoff(0.25, 2.0, 10.0),
        alert_after: int = 6,
        logger: logging.Logger | None = None,
    ) -> None:
        self._fetch = fetch
        self._tasks = tasks
        self._errors = errors
        self._backoff = backoff
        self._alert_after = alert_after
        self._log = logger or _log
        self._active: set[str] = set()
        self.requested = 0
        self.repaired = 0

    def request(self, order: TrackedOrder) -> None:
        cid = order.client_order_id.value
        if cid in self._active:
            return
        self._active.add(cid)
        self.requested += 1
        if self._tasks.spawn(self._run(order), f"repair-{cid}") is None:
            self._active.discard(cid)

    @property
    def active(self) -> int:
        return len(self._active)

    async def _run(self, order: TrackedOrder) -> None:
        backoff = self._backoff()
        attempts = 0
        try:
            # Checked before the first fetch: a fill that was only out of order has usually
            # arrived by the time this task runs (the dispatcher drains its queue first).
            while order.needs_repair:
                order.resync = False  # this fetch covers the re-read
                try:
                    await self._fetch(order)
                except WireValueError as exc:
                    # The venue's own answer about the order cannot be believed; asking again gives
                    # the same answer. Said loudly; the next gap sync's checks see the order again.
                    self._log.error("the venue's state of %s was rejected: %s", order.client_order_id, exc)
                    return
                except self._errors as exc:
                    order.resync = True
                    self._log.warning(
                        "fetching the state of %s failed (%r); retrying", order.client_order_id, exc
                    )
                if not order.needs_repair:
                    self.repaired += 1
                    return
                attempts += 1
                if attempts == self._alert_after:
                    self._log.error(
                        "order %s: the venue reports %s filled, the engine was told %s; still fetching",
                        order.client_order_id,
                        order.venue_filled,
                        order.filled,
                    )
                await asyncio.sleep(backoff.next_delay())
        finally:
            self._active.discard(order.client_order_id.value)
