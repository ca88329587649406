"""Epoch-millisecond to nanosecond conversion (venues send ms; NautilusTrader wants ns)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

NANOS_PER_MS: Final = 1_000_000
MILLIS_PER_DAY: Final = 86_400_000


def ms_to_ns(ms: int | None, default: int) -> int:
    """``ms`` in ns; ``default`` when the venue left the time out (None or 0)."""
    return ms * NANOS_PER_MS if ms else default


def format_ms(ms: int) -> str:
    """An epoch-millisecond time as ISO-8601 UTC, for log lines."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")
