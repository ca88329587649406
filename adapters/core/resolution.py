"""Resolving what a command's outcome left open, by querying the venue: never by guessing or re-sending.

Both venues' execution clients run the same side-task loops; only the query (and its error type)
is the venue's:

* :meth:`AmbiguityResolver.resolve_submit` — an ambiguous submit (timeout, 5xx, a lost response):
  query with backoff until the venue gives a definite answer; an order it does not know is only
  declared rejected after it stayed unknown ``not_found_limit`` times in a row (it may still execute);
* :meth:`AmbiguityResolver.resolve_cancel` — an ambiguous or refused cancel: query until the final
  state is known; a refused cancel whose order is not final (or not found) is reported rejected;
* :func:`fetch_held_fills` — a terminal status held back because its fills have not arrived: fetch
  them by REST until the hold is released.

``resolutions`` counts, per command kind, how many outcomes were resolved by querying.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable

from adapters.core.backoff import Backoff
from adapters.core.order_facts import OrderFacts
from adapters.core.order_tracking import TrackedOrder

ErrorTypes = type[Exception] | tuple[type[Exception], ...]
OrderQuery = Callable[[TrackedOrder], Awaitable[bool]]
RetryLog = Callable[[TrackedOrder, Exception], None]


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
        not_found_limit: int = 3,
    ) -> None:
        """``query(order)`` applies the venue's state of the order and returns False when the venue
        does not know it; it raises ``errors`` on transport/ambiguous failures (retried)."""
        self._facts = facts
        self._clock_ns = clock_ns
        self._query = query
        self._errors = errors
        self._cancel_rejected = cancel_rejected
        self._not_found_limit = not_found_limit
        self.resolutions: collections.Counter[str] = collections.Counter()

    async def resolve_submit(self, tracked: TrackedOrder, retry_failed: RetryLog) -> None:
        backoff = _resolve_backoff()
        not_found = 0
        self.resolutions["submit"] += 1
        while tracked.ambiguous and tracked.terminal is None:
            await asyncio.sleep(backoff.next_delay())
            try:
                found = await self._query(tracked)
            except self._errors as exc:
                retry_failed(tracked, exc)
                continue
            if found:
                tracked.ambiguous = False
                return
            not_found += 1
            if not_found >= self._not_found_limit:
                self._facts.rejected(
                    tracked, "order not found on venue after an ambiguous submit", self._clock_ns()
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


async def fetch_held_fills(
    order: TrackedOrder,
    fetch: Callable[[TrackedOrder], Awaitable[object]],
    *,
    errors: ErrorTypes,
    backoff: Backoff,
    retry_failed: RetryLog,
) -> None:
    """Run ``fetch(order)`` (with ``backoff`` between attempts) until the order's held terminal
    status is released; a failed attempt (``errors``) is reported and retried."""
    while order.pending_terminal is not None:
        try:
            await fetch(order)
        except errors as exc:
            retry_failed(order, exc)
        if order.pending_terminal is None:
            return
        await asyncio.sleep(backoff.next_delay())
