"""Backoff, trigger channel, FIFO dedup and precision resolution."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

import pytest
from nautilus_trader.model.identifiers import InstrumentId

from adapters.core.base.backoff import Backoff, BackoffExhausted
from adapters.core.base.dedup import FifoDedup
from adapters.core.base.trigger import TriggerChannel, TriggerClosed
from adapters.core.parse.precision import PrecisionResolver, resolve_precision

# ------------------------------------------------------------------ backoff


def test_backoff_doubles_to_cap_and_resets() -> None:
    b = Backoff(1.0, 2.0, 30.0)
    assert [b.next_delay() for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert b.attempts == 8
    b.reset()
    assert b.attempts == 0
    assert b.next_delay() == 1.0


def test_backoff_max_attempts_ws_trading_profile() -> None:
    b = Backoff(1.0, 2.0, 60.0, max_attempts=10)
    assert [b.next_delay() for _ in range(10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert b.exhausted
    with pytest.raises(BackoffExhausted):
        b.next_delay()
    b.reset()
    assert not b.exhausted


def test_backoff_jitter_stays_within_bounds_and_is_seedable() -> None:
    a = Backoff(1.0, 2.0, 30.0, jitter=0.5, rng=random.Random(7))
    b = Backoff(1.0, 2.0, 30.0, jitter=0.5, rng=random.Random(7))
    delays = [a.next_delay() for _ in range(10)]
    assert delays == [b.next_delay() for _ in range(10)]
    nominal = [1, 2, 4, 8, 16, 30, 30, 30, 30, 30]
    assert all(n * 0.5 <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert delays != nominal


def test_backoff_survives_huge_attempt_counts() -> None:
    b = Backoff(1.0, 2.0, 30.0)
    for _ in range(5000):
        assert b.next_delay() <= 30.0


@pytest.mark.parametrize("args", [(0.0, 2.0, 30.0), (1.0, 0.5, 30.0), (5.0, 2.0, 1.0)])
def test_backoff_rejects_invalid_parameters(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(*args)


# ------------------------------------------------------------------ trigger


async def test_trigger_coalesces_burst_into_one_wakeup() -> None:
    t = TriggerChannel()
    for i in range(10):
        assert t.fire(f"r{i}")
    assert t.pending
    assert await asyncio.wait_for(t.wait(), 1.0) == [f"r{i}" for i in range(10)]
    assert not t.pending
    assert t.drain() == []
    assert t.fired_total == 10


async def test_trigger_wait_blocks_until_fire() -> None:
    t = TriggerChannel()
    waiter = asyncio.get_running_loop().create_task(t.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    t.fire("late")
    assert await asyncio.wait_for(waiter, 1.0) == ["late"]


async def test_trigger_close_wakes_waiter_and_rejects_fire() -> None:
    t = TriggerChannel()
    waiter = asyncio.get_running_loop().create_task(t.wait())
    await asyncio.sleep(0)
    t.close()
    with pytest.raises(TriggerClosed):
        await asyncio.wait_for(waiter, 1.0)
    assert not t.fire("after close")
    with pytest.raises(TriggerClosed):
        await t.wait()


async def test_trigger_bounds_retained_reasons() -> None:
    t = TriggerChannel(max_reasons=3)
    for i in range(100):
        t.fire(str(i))
    assert await t.wait() == ["0", "1", "2", "... and 97 more"]
    assert t.fired_total == 100


# ------------------------------------------------------------------ dedup


def test_dedup_detects_duplicates_and_evicts_fifo() -> None:
    d: FifoDedup[tuple[str, int]] = FifoDedup(capacity=3)
    assert d.add(("BTCUSDT", 1))
    assert not d.add(("BTCUSDT", 1))
    assert d.add(("BTCUSDT", 2))
    assert d.add(("ETHUSDT", 1))
    assert len(d) == 3
    assert not d.add(("BTCUSDT", 1))  # re-seeing must not refresh its age (FIFO, not LRU)
    assert d.add(("BTCUSDT", 3))  # evicts the oldest: (BTCUSDT, 1)
    assert ("BTCUSDT", 1) not in d
    assert ("BTCUSDT", 2) in d and ("BTCUSDT", 3) in d
    assert len(d) == 3


def test_dedup_large_capacity() -> None:
    d: FifoDedup[int] = FifoDedup(10_000)
    assert all(d.add(i) for i in range(25_000))
    assert len(d) == 10_000
    assert 14_999 not in d and 15_000 in d and 24_999 in d
    d.clear()
    assert len(d) == 0 and d.add(24_999)


# ------------------------------------------------------------------ precision


@dataclass
class FakeInstrument:
    id: InstrumentId
    price_precision: int
    size_precision: int


def _format(symbol: str) -> InstrumentId:
    return InstrumentId.from_str(f"{symbol}-PERP.BINANCE")


CACHE = {"BTCUSDT": FakeInstrument(InstrumentId.from_str("BTCUSDT-PERP.BINANCE"), 2, 3)}


def test_precision_cached_instrument_wins() -> None:
    r = resolve_precision("BTCUSDT", CACHE.get, _format)
    assert (str(r.instrument_id), r.price_precision, r.size_precision, r.cached) == (
        "BTCUSDT-PERP.BINANCE",
        2,
        3,
        True,
    )


def test_precision_uncached_falls_back_to_formatter_and_8(caplog: pytest.LogCaptureFixture) -> None:
    resolver = PrecisionResolver(CACHE.get, _format)
    with caplog.at_level(logging.WARNING):
        first = resolver.resolve("ETHUSDT")
        second = resolver.resolve("ETHUSDT")
        resolver.resolve("BTCUSDT")
    assert first == second
    assert str(first.instrument_id) == "ETHUSDT-PERP.BINANCE"
    assert (first.price_precision, first.size_precision, first.cached) == (8, 8, False)
    warnings = [r for r in caplog.records if "not cached" in r.getMessage()]
    assert len(warnings) == 1 and "ETHUSDT" in warnings[0].getMessage()


def test_dedup_contains_is_the_membership_test() -> None:
    d: FifoDedup[str] = FifoDedup(capacity=2)
    d.add("a")
    d.add("b")
    assert d.contains("a") and d.contains("b") and not d.contains("c")
    d.add("c")  # evicts "a"
    assert not d.contains("a") and ("a" in d) == d.contains("a")
    d.clear()
    assert not d.contains("b") and len(d) == 0
    d.add("b")
    assert d.contains("b")  # the same set after clear()
