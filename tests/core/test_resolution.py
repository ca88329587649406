"""AmbiguityResolver and fetch_held_fills: the query loops both execution clients share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId

from adapters.core import resolution
from adapters.core.backoff import Backoff
from adapters.core.order_tracking import PendingTerminal, Terminal, TrackedOrder
from adapters.core.resolution import AmbiguityResolver, fetch_held_fills


class VenueDown(Exception):
    pass


class Facts:
    def __init__(self) -> None:
        self.rejected_with: list[str] = []

    def rejected(self, order: TrackedOrder, reason: str, ts_event: int) -> None:
        order.terminal = Terminal.REJECTED
        self.rejected_with.append(reason)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(resolution.asyncio, "sleep", sleep)
    return slept


def _order() -> TrackedOrder:
    return TrackedOrder(
        client_order_id=ClientOrderId("O-1"),
        strategy_id=StrategyId("S-001"),
        instrument_id=InstrumentId.from_str("BTCUSDT-PERP.BINANCE"),
        symbol="BTCUSDT",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        is_algo=False,
        quantity=Decimal(1),
    )


def _scripted(answers: list[Any]) -> Callable[[TrackedOrder], Awaitable[bool]]:
    async def query(order: TrackedOrder) -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    return query


def _resolver(
    answers: list[Any], facts: Facts, cancel_rejected: list[str] | None = None
) -> AmbiguityResolver:
    rejected = cancel_rejected if cancel_rejected is not None else []
    return AmbiguityResolver(
        facts=facts,  # type: ignore[arg-type]
        clock_ns=lambda: 7,
        query=_scripted(answers),
        errors=VenueDown,
        cancel_rejected=lambda order, reason: rejected.append(reason),
    )


async def test_submit_found_after_a_failed_query_clears_ambiguity() -> None:
    facts, errors = Facts(), []
    order = _order()
    order.ambiguous = True
    r = _resolver([VenueDown("503"), True], facts)
    await r.resolve_submit(order, lambda o, exc: errors.append(repr(exc)))
    assert not order.ambiguous and order.terminal is None
    assert errors == ["VenueDown('503')"] and not facts.rejected_with
    assert r.resolutions == {"submit": 1}


async def test_submit_unknown_three_times_is_rejected(no_sleep: list[float]) -> None:
    facts = Facts()
    order = _order()
    order.ambiguous = True
    await _resolver([False, False, False], facts).resolve_submit(order, lambda o, exc: None)
    assert facts.rejected_with == ["order not found on venue after an ambiguous submit"]
    assert no_sleep == [0.25, 0.5, 1.0]  # a sleep before every query


async def test_submit_stops_once_the_order_is_final_elsewhere() -> None:
    order = _order()
    order.ambiguous = True
    order.terminal = Terminal.FILLED
    await _resolver([], Facts()).resolve_submit(order, lambda o, exc: None)  # no query at all


@pytest.mark.parametrize(
    ("found", "terminal", "expect"),
    [(False, None, ["-2011: Unknown"]), (True, None, ["-2011: Unknown"]), (True, Terminal.FILLED, [])],
)
async def test_refused_cancel_is_rejected_unless_the_order_is_final(
    found: bool, terminal: Terminal | None, expect: list[str]
) -> None:
    order = _order()
    order.terminal = terminal
    rejected: list[str] = []
    r = _resolver([found], Facts(), rejected)
    await r.resolve_cancel(order, "-2011: Unknown", lambda o, exc: None)
    assert rejected == expect and r.resolutions == {"cancel": 1}


async def test_ambiguous_cancel_retries_then_emits_nothing(no_sleep: list[float]) -> None:
    rejected: list[str] = []
    errors: list[str] = []
    await _resolver([VenueDown("x"), VenueDown("y"), False], Facts(), rejected).resolve_cancel(
        _order(), None, lambda o, exc: errors.append(str(exc))
    )
    assert errors == ["x", "y"] and not rejected and no_sleep == [0.25, 0.5]


async def test_fetch_held_fills_until_released(no_sleep: list[float]) -> None:
    order = _order()
    order.pending_terminal = PendingTerminal(Terminal.CANCELED, Decimal(1), VenueOrderId("1"), 0)
    calls: list[int] = []
    errors: list[str] = []

    async def fetch(o: TrackedOrder) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise VenueDown("down")
        if len(calls) == 3:
            o.pending_terminal = None

    await fetch_held_fills(
        order,
        fetch,
        errors=VenueDown,
        backoff=Backoff(0.5, 2.0, 10.0),
        retry_failed=lambda o, e: errors.append(str(e)),
    )
    assert len(calls) == 3 and errors == ["down"] and no_sleep == [0.5, 1.0]


async def test_fetch_held_fills_does_nothing_without_a_hold() -> None:
    async def fetch(o: TrackedOrder) -> None:
        raise AssertionError("not called")

    await fetch_held_fills(
        _order(), fetch, errors=VenueDown, backoff=Backoff(0.5, 2.0, 10.0), retry_failed=print
    )
