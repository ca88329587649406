"""Shared data-client helpers (adapters.core.market.data_client)."""

from __future__ import annotations

from adapters.binance_futures.data import BinanceFuturesDataClient
from adapters.bingx.data import BingxDataClient
from adapters.core.market.data_client import PerpMarketDataClient, add_kind, discard_kind, resync_delay


def test_resync_delay_doubles_and_caps() -> None:
    assert [resync_delay(0.2, a) for a in (1, 2, 3)] == [0.2, 0.4, 0.8]
    assert resync_delay(0.5, 10) == 5.0


def test_kinds_bookkeeping() -> None:
    kinds: dict[str, set[str]] = {}
    add_kind(kinds, "BTC", "mark")
    add_kind(kinds, "BTC", "funding")
    discard_kind(kinds, "BTC", "mark")
    assert kinds == {"BTC": {"funding"}}
    discard_kind(kinds, "BTC", "funding")
    discard_kind(kinds, "ETH", "funding")  # unknown: no error
    assert kinds == {}


def test_both_venues_build_on_the_core_client() -> None:
    for cls, name in ((BinanceFuturesDataClient, "Binance"), (BingxDataClient, "BingX")):
        assert issubclass(cls, PerpMarketDataClient)
        assert cls.venue_name == name
