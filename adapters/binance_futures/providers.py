"""Instrument provider for Binance USD-M Futures perpetuals (from ``GET /fapi/v1/exchangeInfo``)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId, Venue

from adapters.binance_futures.errors import BinanceError
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.parsing import (
    BINANCE_VENUE,
    DEFAULT_MAKER_FEE,
    DEFAULT_TAKER_FEE,
    symbol_to_perpetual,
    venue_symbol,
)
from adapters.binance_futures.schemas_rest import SymbolInfo
from adapters.core.market.perpetual_provider import PerpetualInstrumentProvider, passes_asset_filters


class BinanceFuturesInstrumentProvider(PerpetualInstrumentProvider):
    """
    Loads TRADING PERPETUAL symbols as ``CryptoPerpetual`` and caches them by venue symbol.

    Fees: ``GET /fapi/v1/commissionRate`` per symbol when ``query_commission_rates`` is True and the client
    has credentials (one signed call per symbol, weight 20, so only for ``load_ids``/``load`` or small
    universes); otherwise ``default_maker_fee`` / ``default_taker_fee`` (USD-M VIP0: 0.02% / 0.05%).
    A failed commission query falls back to the defaults.
    """

    MISSING_HINT = "not TRADING PERPETUAL?"

    def __init__(
        self,
        client: BinanceFuturesHttpClient,
        config: InstrumentProviderConfig | None = None,
        venue: Venue = BINANCE_VENUE,
        query_commission_rates: bool = True,
        default_maker_fee: Decimal = DEFAULT_MAKER_FEE,
        default_taker_fee: Decimal = DEFAULT_TAKER_FEE,
        max_commission_queries: int = 20,
    ) -> None:
        super().__init__(config, venue)
        self._client = client
        self._query_commission_rates = query_commission_rates
        self._default_fees = (default_maker_fee, default_taker_fee)
        self._max_commission_queries = max_commission_queries
        self.symbol_infos: dict[str, SymbolInfo] = {}

    def _venue_symbol(self, instrument_id: InstrumentId) -> str:
        return venue_symbol(instrument_id)

    async def _load(self, wanted: set[str] | None, filters: dict[str, Any] | None) -> None:
        info = await self._client.exchange_info()
        ts_init = time.time_ns()
        rate_limits = [(r.rateLimitType, r.interval, r.intervalNum, r.limit) for r in info.rateLimits]
        if rate_limits:
            self._client.rate_limiter.set_limits_from_exchange_info(rate_limits)
        symbols = [
            s
            for s in info.symbols
            if s.contractType == "PERPETUAL"
            and s.status == "TRADING"
            and (wanted is None or s.symbol in wanted)
            and _passes(s, filters)
        ]
        query_fees = self._query_commission_rates and len(symbols) <= self._max_commission_queries
        for sym in symbols:
            maker, taker = self._default_fees
            if query_fees:
                maker, taker = await self._commission(sym.symbol)
            try:
                inst = symbol_to_perpetual(sym, ts_init, maker, taker, self._venue)
            except ValueError as exc:
                self._log.warning(f"Skipping {sym.symbol}: {exc}")
                continue
            self.symbol_infos[sym.symbol] = sym
            self._register(sym.symbol, inst)
        self._warn_missing(wanted)

    async def _commission(self, symbol: str) -> tuple[Decimal, Decimal]:
        try:
            rate = await self._client.commission_rate(symbol)
            return Decimal(rate.makerCommissionRate), Decimal(rate.takerCommissionRate)
        except (BinanceError, ArithmeticError) as exc:
            self._log.warning(
                f"commissionRate for {symbol} unavailable ({type(exc).__name__}); using defaults"
            )
            return self._default_fees


def _passes(sym: SymbolInfo, filters: dict[str, Any] | None) -> bool:
    return passes_asset_filters(
        filters, symbol=sym.symbol, base_asset=sym.baseAsset, quote_asset=sym.quoteAsset
    )
