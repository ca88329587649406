"""Fixed, clock-aligned rate-limit windows and ``Retry-After`` parsing (venue-neutral, pure bookkeeping).

A :class:`FixedWindow` holds the usage of one window of ``interval_ms`` aligned to the epoch (a one-minute
window resets at :00). Usage is either *reported* by the venue (:meth:`FixedWindow.record`, e.g. Binance's
``X-MBX-USED-WEIGHT-1M``) or *counted* locally (:meth:`FixedWindow.add`, e.g. BingX's per-UID, per-endpoint
"5/second" limits, for which the venue reports nothing usable up front). :meth:`FixedWindow.delay_ms` says
how long to wait so a request of ``cost`` would not push usage past ``safety * limit``.

The caller supplies timestamps (ms, venue-corrected) and does the awaiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class FixedWindow:
    limit: int
    interval_ms: int
    used: int = 0
    window_start_ms: int = 0  # start of the window the `used` value belongs to

    def current(self, now_ms: int) -> int:
        start = now_ms - now_ms % self.interval_ms
        return self.used if start == self.window_start_ms else 0

    def record(self, used: int, now_ms: int) -> None:
        """Usage reported by the venue (monotonic within a window; a lower late report is ignored)."""
        start = now_ms - now_ms % self.interval_ms
        if start != self.window_start_ms or used >= self.used:
            self.used = used
        self.window_start_ms = start

    def add(self, cost: int, now_ms: int) -> None:
        """Count ``cost`` locally in the window containing ``now_ms``."""
        self.record(self.current(now_ms) + cost, now_ms)

    def next_roll_ms(self, now_ms: int) -> int:
        return now_ms - now_ms % self.interval_ms + self.interval_ms

    def delay_ms(self, now_ms: int, cost: int = 1, safety: float = 1.0, roll_margin_ms: int = 0) -> int:
        """Milliseconds to wait before spending ``cost`` (0 = go now)."""
        if self.current(now_ms) + cost > self.limit * safety:
            return self.next_roll_ms(now_ms) + roll_margin_ms - now_ms
        return 0


MAX_RETRY_AFTER_SECS = 86_400.0  # a ban is at most days; anything larger is not believed as such


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (integer or decimal seconds; HTTP-dates are not used by these venues).
    Not a finite, non-negative number (``inf``, ``NaN``, garbage): None. Capped at a day."""
    if value is None:
        return None
    try:
        secs = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(secs) or secs < 0:
        return None
    return min(secs, MAX_RETRY_AFTER_SECS)
