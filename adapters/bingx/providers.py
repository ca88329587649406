"""Instrument provider for BingX USDT-M perpetuals (from ``GET /openApi/swap/v2/quote/contracts``)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Final

from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId, Venue

from adapters.bingx.errors import BingxError
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.parsing import BINGX_VENUE, contract_to_perpetual, venue_symbol
from adapters.bingx.schemas_rest import Contract
from adapters.core.market.perpetual_provider import PerpetualInstrumentProvider, passes_asset_filters

# 1 online, 25 opening forbidden (closing still possible: keep it so positions reconcile),
# 5 pre-online and 0 offline are skipped.
TRADABLE_STATUSES: Final = frozenset({1, 25})


class BingxInstrumentProvider(PerpetualInstrumentProvider):
    """
    Loads perpetual contracts as ``CryptoPerpetual`` and caches them by venue symbol (``BTC-USDT``).

    Fees: the contract's ``makerFeeRate``/``takerFeeRate`` (standard tier). With ``query_commission_rate``
    and credentials, ``GET /openApi/swap/v2/user/commissionRate`` (one account-wide call) overrides them; a
    failed query falls back to the contract fields.
    """

    MISSING_HINT = "offline or unknown?"

    def __init__(
        self,
        client: BingxHttpClient,
        config: InstrumentProviderConfig | None = None,
        venue: Venue = BINGX_VENUE,
        query_commission_rate: bool = False,
        statuses: frozenset[int] = TRADABLE_STATUSES,
    ) -> None:
        super().__init__(config, venue)
        self._client = client
        self._query_commission_rate = query_commission_rate
        self._statuses = statuses
        self.contracts: dict[str, Contract] = {}

    def _venue_symbol(self, instrument_id: InstrumentId) -> str:
        return venue_symbol(instrument_id)

    async def _load(self, wanted: set[str] | None, filters: dict[str, Any] | None) -> None:
        contracts = await self._client.contracts()
        ts_init = time.time_ns()
        fees = await self._account_fees() if self._query_commission_rate else (None, None)
        for c in contracts:
            if wanted is not None and c.symbol not in wanted:
                continue
            if c.status not in self._statuses or not _passes(c, filters):
                continue
            try:
                inst = contract_to_perpetual(c, ts_init, fees[0], fees[1], self._venue)
            except (ValueError, ArithmeticError) as exc:
                self._log.warning(f"Skipping {c.symbol}: {exc}")
                continue
            self.contracts[c.symbol] = c
            self._register(c.symbol, inst)
        self._warn_missing(wanted)

    async def _account_fees(self) -> tuple[Decimal | None, Decimal | None]:
        try:
            rate = await self._client.commission_rate()
            maker, taker = rate.makerCommissionRate, rate.takerCommissionRate
            return (Decimal(maker) if maker else None, Decimal(taker) if taker else None)
        except (BingxError, ArithmeticError) as exc:
            self._log.warning(f"commissionRate unavailable ({type(exc).__name__}); using contract fees")
            return None, None


def _passes(c: Contract, filters: dict[str, Any] | None) -> bool:
    """``quote_asset(s)`` match the contract's ``currency``, ``base_asset(s)`` its ``asset``."""
    return passes_asset_filters(filters, symbol=c.symbol, base_asset=c.asset, quote_asset=c.currency)
