"""Which balance update is newest: per asset, the venue time of the last balance applied.

Balances reach the engine from two sources that can cross: the user stream's account events and the
REST account read a recovery makes after a gap. During a recovery the old socket's dispatcher is
drained *after* the REST read (so per-stream order holds), and an overlap rotation delivers the same
events on two sockets: an account event older than the REST read would then revert the balance to
a stale value. Every source stamps its balances with the venue's time; an update older than the
newest one applied for that asset is dropped.
"""

from __future__ import annotations

from nautilus_trader.model.objects import AccountBalance


class BalanceClock:
    __slots__ = ("_applied_ms", "stale_dropped")

    def __init__(self) -> None:
        self._applied_ms: dict[str, int] = {}
        self.stale_dropped = 0

    def fresh(self, balances: list[AccountBalance], venue_ms: int) -> list[AccountBalance]:
        """The balances newer than (or as new as) what was applied per asset; records them as
        applied. ``venue_ms`` 0 (unknown) is treated as newest: a source without a time is taken."""
        out: list[AccountBalance] = []
        applied = self._applied_ms
        for balance in balances:
            code = balance.currency.code
            last = applied.get(code, 0)
            if venue_ms and venue_ms < last:
                self.stale_dropped += 1
                continue
            if venue_ms:
                applied[code] = venue_ms
            out.append(balance)
        return out
