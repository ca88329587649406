"""AmbiguityResolver and FillRepairs: the query loops both execution clients share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId

from adapters.core.base.backoff import Backoff
from adapters.core.base.tasks import OwnedTasks
from adapters.core.orders import resolution
from adapters.core.orders.order_tracking import PendingTerminal, Terminal, TrackedOrder
from adapters.core.orders.resolution import AmbiguityResolver, FillRepairs


class VenueDown(Exception):
    pass


class Facts:
    def __init__(self) -> None:
        self.rejected_with: list[str] = []

    def rejected(self, order: TrackedOrder, reason: str, ts_event: int) -> None:
        order.terminal = Terminal.REJECTED
        self.rejected_with.append(reason)


class FakeTime:
    """The resolver's monotonic clock, advanced by its (patched) sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    t = FakeTime()

    async def sleep(delay: float) -> None:
        t.slept.append(round(delay, 3))
        t.now += delay

    monkeypatch.setattr(resolution.asyncio, "sleep", sleep)
    return t


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


def _scripted(
    answers: list[Any], on_query: Callable[[], None] | None = None
) -> Callable[[TrackedOrder], Awaitable[bool]]:
    async def query(order: TrackedOrder) -> bool:
        if on_query is not None:
            on_query()
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    return query


def _resolver(
    answers: list[Any],
    facts: Facts,
    clock: FakeTime,
    cancel_rejected: list[str] | None = None,
    window: float = 7.0,
    on_query: Callable[[], None] | None = None,
) -> AmbiguityResolver:
    rejected = cancel_rejected if cancel_rejected is not None else []
    return AmbiguityResolver(
        facts=facts,  # type: ignore[arg-type]
        clock_ns=lambda: 7,
        query=_scripted(answers, on_query),
        errors=VenueDown,
        cancel_rejected=lambda order, reason: rejected.append(reason),
        accept_window_secs=window,
        monotonic=clock,
    )


async def test_submit_found_after_a_failed_query_clears_ambiguity(fake_time: FakeTime) -> None:
    facts, errors = Facts(), []
    order = _order()
    order.ambiguous = True
    r = _resolver([VenueDown("503"), True], facts, fake_time)
    await r.resolve_submit(order, lambda o, exc: errors.append(repr(exc)))
    assert not order.ambiguous and order.terminal is None
    assert errors == ["VenueDown('503')"] and not facts.rejected_with
    assert r.resolutions == {"submit": 1}


async def test_not_found_is_final_only_once_the_venue_can_no_longer_accept(fake_time: FakeTime) -> None:
    """Three "not found" answers within 1.75 s used to reject the order; a venue that accepts it
    4 s later (inside its recvWindow) then had a live order the node thought dead."""
    facts = Facts()
    order = _order()
    order.ambiguous = True
    start = fake_time.now
    answers = [False] * 50
    r = _resolver(answers, facts, fake_time, window=7.0)
    await r.resolve_submit(order, lambda o, exc: None)
    assert facts.rejected_with == [
        "order not found on venue after an ambiguous submit (its recvWindow has passed)"
    ]
    assert fake_time.now - start >= 7.0  # never before the window closed
    assert fake_time.now - start < 7.0 + 5.0  # and promptly after it (one backoff step at most)
    assert max(fake_time.slept) <= 5.0


async def test_a_late_acceptance_inside_the_window_is_the_truth(fake_time: FakeTime) -> None:
    facts = Facts()
    order = _order()
    order.ambiguous = True
    # Unknown three times in a row (which used to be final after 1.75 s), then the venue executes
    # it (as the simulator's delayed execution does) and the fourth query, at 3.75 s, finds it.
    answers = [False] * 3 + [True]
    await _resolver(answers, facts, fake_time).resolve_submit(order, lambda o, exc: None)
    assert not facts.rejected_with and not order.ambiguous and order.terminal is None
    assert fake_time.slept == [0.25, 0.5, 1.0, 2.0]


async def test_the_stream_resolving_it_meanwhile_stops_the_queries(fake_time: FakeTime) -> None:
    order = _order()
    order.ambiguous = True
    calls: list[int] = []

    def on_query() -> None:
        calls.append(1)
        order.ambiguous = False  # the stream's NEW arrived while this query was in flight

    await _resolver([False], Facts(), fake_time, on_query=on_query).resolve_submit(order, lambda o, e: None)
    assert calls == [1] and order.terminal is None


async def test_submit_stops_once_the_order_is_final_elsewhere(fake_time: FakeTime) -> None:
    order = _order()
    order.ambiguous = True
    order.terminal = Terminal.FILLED
    await _resolver([], Facts(), fake_time).resolve_submit(order, lambda o, exc: None)  # no query


@pytest.mark.parametrize(
    ("found", "terminal", "expect"),
    [(False, None, ["-2011: Unknown"]), (True, None, ["-2011: Unknown"]), (True, Terminal.FILLED, [])],
)
async def test_refused_cancel_is_rejected_unless_the_order_is_final(
    found: bool, terminal: Terminal | None, expect: list[str], fake_time: FakeTime
) -> None:
    order = _order()
    order.terminal = terminal
    rejected: list[str] = []
    r = _resolver([found], Facts(), fake_time, rejected)
    await r.resolve_cancel(order, "-2011: Unknown", lambda o, exc: None)
    assert rejected == expect and r.resolutions == {"cancel": 1}


async def test_ambiguous_cancel_retries_then_emits_nothing(fake_time: FakeTime) -> None:
    rejected: list[str] = []
    errors: list[str] = []
    await _resolver([VenueDown("x"), VenueDown("y"), False], Facts(), fake_time, rejected).resolve_cancel(
        _order(), None, lambda o, exc: errors.append(str(exc))
    )
    assert errors == ["x", "y"] and not rejected and fake_time.slept == [0.25, 0.5]


async def test_repairs_fetch_until_the_order_needs_nothing(fake_time: FakeTime) -> None:
    order = _order()
    order.pending_terminal = PendingTerminal(Terminal.CANCELED, Decimal(1), VenueOrderId("1"), 0)
    order.venue_filled = Decimal(1)
    calls: list[int] = []

    async def fetch(o: TrackedOrder) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise VenueDown("down")
        if len(calls) == 3:
            o.filled = Decimal(1)
            o.pending_terminal = None

    tasks = OwnedTasks("t")
    repairs = FillRepairs(fetch, tasks=tasks, errors=VenueDown, backoff=lambda: Backoff(0.5, 2.0, 10.0))
    repairs.request(order)
    repairs.request(order)  # one task per order, however often it is asked for
    await tasks.join()
    assert len(calls) == 3 and fake_time.slept == [0.5, 1.0]
    assert repairs.requested == 1 and repairs.repaired == 1 and repairs.active == 0


async def test_repairs_do_nothing_when_the_fill_arrived_before_the_task_ran() -> None:
    order = _order()
    order.venue_filled = Decimal("0.5")  # the stream said z=0.5 before the fill itself arrived

    async def fetch(o: TrackedOrder) -> None:
        raise AssertionError("not called: nothing is missing any more")

    tasks = OwnedTasks("t")
    FillRepairs(fetch, tasks=tasks, errors=VenueDown).request(order)
    order.filled = Decimal("0.5")  # the reordered fill, dispatched before the task got to run
    await tasks.join()


async def test_repairs_reread_an_order_whose_fill_would_have_overfilled_it() -> None:
    order = _order()
    order.resync = True  # set by OrderFacts on an overfill; no quantity is known to be missing
    calls: list[int] = []

    async def fetch(o: TrackedOrder) -> None:
        calls.append(1)

    tasks = OwnedTasks("t")
    FillRepairs(fetch, tasks=tasks, errors=VenueDown).request(order)
    await tasks.join()
    assert calls == [1] and not order.resync
