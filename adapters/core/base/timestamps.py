"""Time units and epoch-millisecond to nanosecond conversion (venues send ms; NautilusTrader wants ns).

The one home of the time constants (``NANOS_PER_MS`` and its kin): every client module imports them
from here. The simulator (:mod:`adapters.sim`) is its own program and keeps its own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final

NANOS_PER_US: Final = 1_000
NANOS_PER_MS: Final = 1_000_000
NANOS_PER_SECOND: Final = 1_000_000_000
SECONDS_PER_DAY: Final = 86_400
MILLIS_PER_DAY: Final = 86_400_000


def wall_clock_ms() -> int:
    """The wall clock in epoch milliseconds (what the venues' ``timestamp`` parameters carry)."""
    return time.time_ns() // NANOS_PER_MS


def ms_to_ns(ms: int | None, default: int) -> int:
    """``ms`` in ns; ``default`` when the venue left the time out (None or 0)."""
    return ms * NANOS_PER_MS if ms else default


def format_ms(ms: int) -> str:
    """An epoch-millisecond time as ISO-8601 UTC, for log lines."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")
