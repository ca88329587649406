"""BalanceClock's stale-update hook and the coalesced account re-read it drives."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.objects import AccountBalance, Money

from adapters.core.orders.balance_clock import AccountReread, BalanceClock


def usdt(total: int) -> list[AccountBalance]:
    return [AccountBalance(Money(total, USDT), Money(0, USDT), Money(total, USDT))]


def test_a_stream_update_older_than_a_rest_read_is_dropped_and_asks_for_a_reread() -> None:
    clock = BalanceClock()
    stale: list[int] = []
    clock.on_stale = lambda: stale.append(1)
    assert clock.fresh(usdt(2000), 1_000) == usdt(2000)  # the REST read, stamped ahead
    assert clock.fresh(usdt(1990), 999, stream=True) == []  # a fill's update, 1 ms "older"
    assert (clock.stale_dropped, stale) == (1, [1])
    # A REST read that loses against a newer stream update asks for nothing: it is simply older.
    assert clock.fresh(usdt(2000), 998) == []
    assert stale == [1]
    # The re-read is authoritative: taken whatever the stamps, and its stamp replaces the old one,
    # so updates after it apply again.
    assert clock.fresh(usdt(1990), 900, authoritative=True) == usdt(1990)
    assert clock.fresh(usdt(1980), 950, stream=True) == usdt(1980)


async def test_rereads_are_coalesced_and_one_more_runs_after_a_request_during_a_read() -> None:
    gate, started = asyncio.Event(), asyncio.Event()
    reads: list[int] = []

    async def read() -> None:
        reads.append(1)
        started.set()
        await gate.wait()

    tasks: list[asyncio.Task[Any]] = []

    def spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.append(task)
        return task

    reread = AccountReread(read, spawn)
    reread()
    await started.wait()
    reread()
    reread()  # two more while it runs: one more read after it, not two
    assert len(tasks) == 1 and reads == [1]
    gate.set()
    await tasks[0]
    assert reread.reads == 2 and len(reads) == 2
