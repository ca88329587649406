"""Client-side rate-limit accounting for BingX: per-endpoint windows and the venue's exhaustion headers.

BingX limits per UID *per endpoint* (mostly 5/s; 10/s place order; 2/s position mode / margin type) and
reports ``X-RateLimit-Requests-Remain`` / ``X-RateLimit-Requests-Expire`` per response. Requests are
counted per endpoint in 1-second windows (:class:`~adapters.core.base.rate_window.FixedWindow`) so the
client waits for the window roll instead of collecting a ``100410``/429; ``Remain: 0`` blocks that endpoint
until ``Expire``; ``Retry-After`` on 429/418 blocks everything.

Pure bookkeeping, as Binance's :mod:`adapters.binance_futures.rate_limit`: the caller
(:class:`adapters.bingx.http.BingxHttpClient`) supplies timestamps (ms, venue-corrected) and does the
awaiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from adapters.core.base.rate_window import FixedWindow

__all__ = [
    "DEFAULT_LIMIT_PER_SEC",
    "ENDPOINT_LIMITS_PER_SEC",
    "HEADER_EXPIRE",
    "HEADER_REMAIN",
    "BingxRateLimiter",
    "parse_expire_ms",
]

HEADER_REMAIN: Final = "X-RateLimit-Requests-Remain"
HEADER_EXPIRE: Final = "X-RateLimit-Requests-Expire"

# Per-UID per-endpoint limits (requests per second), DOCS3 + support article (place order 10/s since
# 2025-10-16). Anything unlisted: 5/s.
ENDPOINT_LIMITS_PER_SEC: Final[dict[tuple[str, str], int]] = {
    ("POST", "/openApi/swap/v2/trade/order"): 10,
    ("GET", "/openApi/swap/v1/positionSide/dual"): 2,
    ("POST", "/openApi/swap/v1/positionSide/dual"): 2,
    ("GET", "/openApi/swap/v2/trade/marginType"): 2,
    ("POST", "/openApi/swap/v2/trade/marginType"): 2,
    ("POST", "/openApi/swap/v2/trade/cancelAllAfter"): 1,
}
DEFAULT_LIMIT_PER_SEC: Final = 5


def parse_expire_ms(value: str | None, now_ms: int) -> int | None:
    """``X-RateLimit-Requests-Expire`` -> absolute ms. BingX calls it "window expiration time" without a
    unit: >= 1e12 is read as epoch ms, >= 1e9 as epoch seconds, anything smaller as ms from now."""
    if value is None:
        return None
    try:
        n = int(Decimal(value.strip()))
    except (ArithmeticError, ValueError):  # garbage, NaN, infinity: no expiry we can believe
        return None
    if n < 0:
        return None
    if n >= 1_000_000_000_000:
        return n
    if n >= 1_000_000_000:
        return n * 1000
    return now_ms + n


class BingxRateLimiter:
    """Per-endpoint 1-second windows counted locally, plus venue-reported exhaustion and global blocks."""

    def __init__(
        self,
        limits: Mapping[tuple[str, str], int] | None = None,
        default_limit: int = DEFAULT_LIMIT_PER_SEC,
        safety: float = 1.0,
        roll_margin_ms: int = 20,
        max_block_ms: int = 300_000,
    ) -> None:
        self._limits = dict(ENDPOINT_LIMITS_PER_SEC if limits is None else limits)
        self._default = default_limit
        self.safety = safety
        self.roll_margin_ms = roll_margin_ms
        self.max_block_ms = max_block_ms
        self._windows: dict[tuple[str, str], FixedWindow] = {}
        self._blocked_until: dict[tuple[str, str], int] = {}
        self.blocked_until_ms: int = 0  # global (429/418 Retry-After)

    def limit(self, method: str, path: str) -> int:
        """Requests per second allowed on ``method path``."""
        return self._limits.get((method, path), self._default)

    def window(self, method: str, path: str) -> FixedWindow:
        key = (method, path)
        w = self._windows.get(key)
        if w is None:
            w = FixedWindow(self._limits.get(key, self._default), 1_000)
            self._windows[key] = w
        return w

    def delay_ms(self, method: str, path: str, now_ms: int) -> int:
        """How long to wait before sending (0 = now)."""
        wait_until = max(self.blocked_until_ms, self._blocked_until.get((method, path), 0))
        delay = max(0, wait_until - now_ms)
        return max(delay, self.window(method, path).delay_ms(now_ms, 1, self.safety, self.roll_margin_ms))

    def on_send(self, method: str, path: str, now_ms: int) -> None:
        self.window(method, path).add(1, now_ms)

    def update_from_headers(
        self, method: str, path: str, headers: Mapping[str, str], now_ms: int
    ) -> int | None:
        """Apply ``Remain``/``Expire``; returns until when the endpoint is now blocked (None: not)."""
        remain_s = headers.get(HEADER_REMAIN)
        if remain_s is None:
            return None
        try:
            remain = int(remain_s.strip())
        except ValueError:
            return None
        if remain > 0:
            return None
        expire = parse_expire_ms(headers.get(HEADER_EXPIRE), now_ms)
        until = min(expire, now_ms + self.max_block_ms) if expire is not None else now_ms + 1_000
        key = (method, path)
        self._blocked_until[key] = max(self._blocked_until.get(key, 0), until)
        return until

    def block_all(self, secs: float, now_ms: int) -> None:
        until = now_ms + min(int(secs * 1000), self.max_block_ms)
        self.blocked_until_ms = max(self.blocked_until_ms, until)
