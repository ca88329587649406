"""Epoch-millisecond to nanosecond conversion (venues send ms; NautilusTrader wants ns)."""

from __future__ import annotations

from typing import Final

NANOS_PER_MS: Final = 1_000_000


def ms_to_ns(ms: int | None, default: int) -> int:
    """``ms`` in ns; ``default`` when the venue left the time out (None or 0)."""
    return ms * NANOS_PER_MS if ms else default
