"""Which balance update is newest: per asset, the venue time of the last balance applied.

Balances reach the engine from two sources that can cross: the user stream's account events and the
REST account read a recovery makes after a gap. During a recovery the old socket's dispatcher is
drained *after* the REST read (so per-stream order holds), and an overlap rotation delivers the same
events on two sockets: an account event older than the REST read would then revert the balance to
a stale value. Every source stamps its balances with the venue's time; an update older than the
newest one applied for that asset is dropped.

A REST read is stamped with the venue time it was asked at, as the client estimates it (local clock
plus the measured offset): an estimate a millisecond ahead of the venue's true time makes a stream
update that happened just *after* the read look older than it, and that update would be dropped with
the read's stale balance kept (the restart drill hit it: Binance seed 6, a fill landing during the
startup sync's account read). A dropped stream update therefore calls ``on_stale``: the execution
client reads the account again, and a read asked for after the update arrived certainly includes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from nautilus_trader.model.objects import AccountBalance


class BalanceClock:
    __slots__ = ("_applied_ms", "on_stale", "stale_dropped")

    def __init__(self) -> None:
        self._applied_ms: dict[str, int] = {}
        self.stale_dropped = 0
        # Called when a stream update is dropped as older than what was applied (see above).
        self.on_stale: Callable[[], None] | None = None

    def fresh(
        self,
        balances: list[AccountBalance],
        venue_ms: int,
        *,
        stream: bool = False,
        authoritative: bool = False,
    ) -> list[AccountBalance]:
        """The balances newer than (or as new as) what was applied per asset; records them as
        applied. ``venue_ms`` 0 (unknown) is treated as newest: a source without a time is taken.
        ``stream``: the balances come from a user-stream event (a drop then calls ``on_stale``).
        ``authoritative``: the re-read ``on_stale`` asked for - asked after the declined update
        arrived, it is taken whatever the stamps say, and its own stamp replaces theirs (a stamp
        that ran ahead of the venue's clock would otherwise keep declining every update after it)."""
        dropped_before = self.stale_dropped
        out: list[AccountBalance] = []
        applied = self._applied_ms
        for balance in balances:
            code = balance.currency.code
            last = applied.get(code, 0)
            if authoritative:
                applied[code] = venue_ms
                out.append(balance)
                continue
            if venue_ms and venue_ms < last:
                self.stale_dropped += 1
                continue
            if venue_ms:
                applied[code] = venue_ms
            out.append(balance)
        if stream and self.stale_dropped > dropped_before and self.on_stale is not None:
            self.on_stale()
        return out


class AccountReread:
    """``BalanceClock.on_stale`` for an execution client: read the account again by REST.

    Coalesced: while a read runs, further calls only ask for one more read after it (the running
    one may have been asked before the declined update happened, so it does not cover it)."""

    def __init__(
        self,
        read: Callable[[], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[Any] | None],
    ) -> None:
        self._read = read
        self._spawn = spawn
        self._wanted = False
        self._task: asyncio.Task[Any] | None = None
        self.reads = 0

    def __call__(self) -> None:
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = self._spawn(self._run(), "account-reread")

    async def _run(self) -> None:
        while self._wanted:
            self._wanted = False
            self.reads += 1
            await self._read()
