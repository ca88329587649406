"""Read-only venue queries retried on transient errors: startup reconciliation must not fail on one 503.

NautilusTrader awaits the execution client's report generators at startup and, if one raises, logs
"Execution state could not be reconciled" and never starts the trader — a whole trading day lost to
one cut connection. A read changes nothing on the venue, so repeating it is always safe: transient
failures (5xx, timeouts, cut connections, rate limits with a short Retry-After) are retried a few
times with backoff; a definite rejection is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapters.core.base.backoff import Backoff, SleepFn
from adapters.core.net.http_errors import (
    FillsNotPublished,
    VenueAmbiguous,
    VenueRateLimited,
    VenueTransportError,
)

T = TypeVar("T")

_log = logging.getLogger("adapters.core.read_retry")

# A rate limit that asks us to wait longer than this is not waited out inside a report.
MAX_RETRY_AFTER_SECS = 5.0


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, VenueRateLimited):
        return not exc.is_ip_ban and (exc.retry_after_secs or 1.0) <= MAX_RETRY_AFTER_SECS
    return isinstance(exc, VenueAmbiguous | VenueTransportError | FillsNotPublished | TimeoutError)


async def read_with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    attempts: int = 4,
    backoff: Backoff | None = None,
    sleep: SleepFn = asyncio.sleep,
    logger: logging.Logger | None = None,
) -> T:
    """``await call()``, retried up to ``attempts`` times in all on a transient error."""
    log = logger or _log
    delays = backoff or Backoff(0.5, 2.0, 4.0)
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            delay = delays.next_delay()
            if isinstance(exc, VenueRateLimited) and exc.retry_after_secs:
                delay = max(delay, exc.retry_after_secs)
            log.warning("%s failed (%r); retrying in %.1fs (%d/%d)", what, exc, delay, attempt, attempts)
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
