"""core.timestamps: ms -> ns with a default for missing times."""

from __future__ import annotations

from adapters.core.base.timestamps import ms_to_ns


def test_ms_to_ns() -> None:
    assert ms_to_ns(1_700_000_000_123, 5) == 1_700_000_000_123_000_000
    assert ms_to_ns(None, 5) == 5
    assert ms_to_ns(0, 5) == 5
