"""Client-side rate-limit accounting from Binance response headers.

Binance reports usage on every response: ``X-MBX-USED-WEIGHT-1M`` (IP weight in the current minute) and, on
order endpoints, ``X-MBX-ORDER-COUNT-10S`` / ``X-MBX-ORDER-COUNT-1M`` (account order counts). Windows are
fixed and aligned to the clock (a minute window resets at :00). The weight window is the
``REQUEST_WEIGHT`` entry of exchangeInfo (USD-M: 1 MINUTE); its header is named after it, as Binance
documents (``X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter)``). Before a request, :meth:`delay_for` returns
how long to wait so that the request would not push the counter past ``safety * limit``: the caller awaits
that long (until the window rolls) instead of collecting a 429. A 429/418 ``Retry-After`` blocks every
request until it passes.

Pure bookkeeping: the caller supplies timestamps (ms, venue-corrected) and does the awaiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from adapters.core.base.rate_window import FixedWindow
from adapters.core.base.rate_window import parse_retry_after as parse_retry_after  # re-export

_INTERVAL_MS: Final = {"S": 1_000, "M": 60_000, "H": 3_600_000, "D": 86_400_000}
WEIGHT_HEADER_1M: Final = "x-mbx-used-weight-1m"


# The window accounting is shared with BingX (adapters.core.base.rate_window); old name kept.
_Window = FixedWindow


class RateLimitTracker:
    """Tracks weight and order counts; limits default to USD-M's (2400 w/min, 300 orders/10s, 1200/min)."""

    def __init__(
        self,
        weight_limit_1m: int = 2400,
        orders_limit_10s: int = 300,
        orders_limit_1m: int = 1200,
        safety: float = 0.95,
        roll_margin_ms: int = 50,
    ) -> None:
        self.safety = safety
        self.roll_margin_ms = roll_margin_ms
        self.weight = _Window(weight_limit_1m, 60_000)
        self.orders_10s = _Window(orders_limit_10s, 10_000)
        self.orders_1m = _Window(orders_limit_1m, 60_000)
        self.blocked_until_ms: int = 0
        self.weight_header = WEIGHT_HEADER_1M  # lower case; follows the weight window's interval

    # -- updates ---------------------------------------------------------------------------------

    def update_from_headers(self, headers: Mapping[str, str], now_ms: int) -> None:
        for name, value in headers.items():
            lname = name.lower()
            if not lname.startswith("x-mbx-"):
                continue
            try:
                count = int(value)
            except ValueError:
                continue
            if lname == self.weight_header:
                self.weight.record(count, now_ms)
            elif lname == "x-mbx-order-count-10s":
                self.orders_10s.record(count, now_ms)
            elif lname == "x-mbx-order-count-1m":
                self.orders_1m.record(count, now_ms)

    def block_for(self, retry_after_secs: float, now_ms: int) -> None:
        until = now_ms + int(retry_after_secs * 1000)
        self.blocked_until_ms = max(self.blocked_until_ms, until)

    def reported_weight(self, headers: Mapping[str, str]) -> int | None:
        """The IP's weight in the current window as this response reports it (None: not reported)."""
        for name, value in headers.items():
            if name.lower() == self.weight_header:
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    def set_limits_from_exchange_info(self, rate_limits: list[tuple[str, str, int, int]]) -> None:
        """``(rateLimitType, interval, intervalNum, limit)`` tuples from exchangeInfo.

        The request-weight window is the one exchangeInfo lists (the one-minute window when it lists
        several); a window of another length replaces the current one and the header followed."""
        weights = [
            (limit, _INTERVAL_MS.get(interval[:1].upper(), 0) * num, f"{num}{interval[:1].lower()}")
            for kind, interval, num, limit in rate_limits
            if kind == "REQUEST_WEIGHT" and _INTERVAL_MS.get(interval[:1].upper(), 0) * num > 0
        ]
        if weights:
            limit, ms, suffix = next((w for w in weights if w[1] == 60_000), weights[0])
            if ms != self.weight.interval_ms:
                self.weight = _Window(limit, ms)
            self.weight.limit = limit
            self.weight_header = f"x-mbx-used-weight-{suffix}"
        for kind, interval, num, limit in rate_limits:
            ms = _INTERVAL_MS.get(interval[:1].upper(), 0) * num
            if kind == "ORDERS" and ms == 10_000:
                self.orders_10s.limit = limit
            elif kind == "ORDERS" and ms == 60_000:
                self.orders_1m.limit = limit

    # -- queries ---------------------------------------------------------------------------------

    @property
    def used_weight_1m(self) -> int:
        return self.weight.used

    def delay_for(self, now_ms: int, weight: int = 1, is_order: bool = False) -> float:
        """Seconds to wait before sending a request of ``weight`` (0.0 = go now)."""
        wait_until = self.blocked_until_ms if self.blocked_until_ms > now_ms else 0
        windows = [(self.weight, weight)]
        if is_order:
            windows += [(self.orders_10s, 1), (self.orders_1m, 1)]
        for window, cost in windows:
            if window.current(now_ms) + cost > window.limit * self.safety:
                wait_until = max(wait_until, window.next_roll_ms(now_ms) + self.roll_margin_ms)
        return max(0.0, (wait_until - now_ms) / 1000.0) if wait_until else 0.0
