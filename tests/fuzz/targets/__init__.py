"""The fuzz targets, by name."""

from __future__ import annotations

from tests.fuzz.base import Target

TARGET_NAMES: tuple[str, ...] = (
    "binance-user",
    "bingx-user",
    "binance-market",
    "bingx-market",
    "binance-http",
    "bingx-http",
    "sim",
)


def make_target(name: str) -> Target:
    if name == "binance-user":
        from tests.fuzz.targets.user_streams import BinanceUserTarget

        return BinanceUserTarget()
    if name == "bingx-user":
        from tests.fuzz.targets.user_streams import BingxUserTarget

        return BingxUserTarget()
    if name == "binance-market":
        from tests.fuzz.targets.market import BinanceMarketTarget

        return BinanceMarketTarget()
    if name == "bingx-market":
        from tests.fuzz.targets.market import BingxMarketTarget

        return BingxMarketTarget()
    if name == "binance-http":
        from tests.fuzz.targets.http import BinanceHttpTarget

        return BinanceHttpTarget()
    if name == "bingx-http":
        from tests.fuzz.targets.http import BingxHttpTarget

        return BingxHttpTarget()
    if name == "sim":
        from tests.fuzz.targets.sim import SimTarget

        return SimTarget()
    raise KeyError(f"unknown fuzz target {name!r} (known: {', '.join(TARGET_NAMES)})")
