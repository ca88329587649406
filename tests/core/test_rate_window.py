from __future__ import annotations

from adapters.binance_futures.rate_limit import _Window
from adapters.binance_futures.rate_limit import parse_retry_after as binance_parse_retry_after
from adapters.core.base.rate_window import FixedWindow, parse_retry_after


def test_counted_window_blocks_until_roll() -> None:
    w = FixedWindow(limit=2, interval_ms=1000)
    w.add(1, 10_100)
    assert w.delay_ms(10_200) == 0
    w.add(1, 10_200)
    assert w.delay_ms(10_300) == 700
    assert w.delay_ms(10_300, roll_margin_ms=20) == 720
    assert w.current(11_000) == 0  # rolled
    assert w.delay_ms(11_000) == 0


def test_reported_window_ignores_stale_lower_value() -> None:
    w = FixedWindow(limit=10, interval_ms=60_000)
    w.record(5, 60_000)
    w.record(3, 60_001)
    assert w.current(60_002) == 5
    w.record(1, 120_000)
    assert w.current(120_000) == 1


def test_retry_after_and_binance_aliases() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("x") is None
    assert parse_retry_after("-1") is None
    assert binance_parse_retry_after is parse_retry_after
    assert _Window is FixedWindow
