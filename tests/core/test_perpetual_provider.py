"""core.perpetual_provider: the shared asset filters (the load flow is covered through both venues' tests)."""

from __future__ import annotations

from adapters.core.market.perpetual_provider import passes_asset_filters


def _passes(filters: dict[str, object] | None) -> bool:
    return passes_asset_filters(filters, symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT")


def test_no_filters_pass() -> None:
    assert _passes(None)
    assert _passes({})


def test_single_and_plural_asset_filters() -> None:
    assert _passes({"quote_asset": "USDT", "base_asset": "BTC"})
    assert not _passes({"quote_asset": "USDC"})
    assert _passes({"base_assets": ["ETH", "BTC"]})
    assert not _passes({"base_assets": ["ETH"]})


def test_symbols_filter() -> None:
    assert _passes({"symbols": {"BTCUSDT"}})
    assert not _passes({"symbols": {"ETHUSDT"}, "quote_asset": "USDT"})
