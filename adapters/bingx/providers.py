"""Instrument provider for BingX USDT-M perpetuals (from ``GET /openApi/swap/v2/quote/contracts``)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Final

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import CryptoPerpetual

from adapters.bingx.errors import BingxError
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.parsing import BINGX_VENUE, contract_to_perpetual, venue_symbol
from adapters.bingx.schemas import Contract, num

# 1 online, 25 opening forbidden (closing still possible: keep it so positions reconcile),
# 5 pre-online and 0 offline are skipped.
TRADABLE_STATUSES: Final = frozenset({1, 25})


class BingxInstrumentProvider(InstrumentProvider):
    """
    Loads perpetual contracts as ``CryptoPerpetual`` and caches them by venue symbol (``BTC-USDT``).

    Fees: the contract's ``makerFeeRate``/``takerFeeRate`` (standard tier). With ``query_commission_rate``
    and credentials, ``GET /openApi/swap/v2/user/commissionRate`` (one account-wide call) overrides them; a
    failed query falls back to the contract fields.
    """

    def __init__(
        self,
        client: BingxHttpClient,
        config: InstrumentProviderConfig | None = None,
        venue: Venue = BINGX_VENUE,
        query_commission_rate: bool = False,
        statuses: frozenset[int] = TRADABLE_STATUSES,
    ) -> None:
        super().__init__(config=config)
        self._client = client
        self._venue = venue
        self._query_commission_rate = query_commission_rate
        self._statuses = statuses
        self._by_symbol: dict[str, CryptoPerpetual] = {}
        self.contracts: dict[str, Contract] = {}

    def find_by_symbol(self, symbol: str) -> CryptoPerpetual | None:
        """Instrument by venue symbol (``BTC-USDT``)."""
        return self._by_symbol.get(symbol)

    @property
    def instruments_by_symbol(self) -> dict[str, CryptoPerpetual]:
        return self._by_symbol

    async def load_all_async(self, filters: dict[str, Any] | None = None) -> None:
        await self._load(None, filters)

    async def load_ids_async(
        self, instrument_ids: list[InstrumentId], filters: dict[str, Any] | None = None
    ) -> None:
        wanted = {venue_symbol(iid) for iid in instrument_ids if iid.venue == self._venue}
        await self._load(wanted, filters)

    async def load_async(self, instrument_id: InstrumentId, filters: dict[str, Any] | None = None) -> None:
        await self.load_ids_async([instrument_id], filters)

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
            self._by_symbol[c.symbol] = inst
            self.add_currency(inst.base_currency)
            self.add_currency(inst.quote_currency)
            self.add(inst)
        if wanted:
            missing = wanted - set(self._by_symbol)
            if missing:
                self._log.warning(f"Instruments not found (offline or unknown?): {sorted(missing)}")

    async def _account_fees(self) -> tuple[Decimal | None, Decimal | None]:
        try:
            rate = await self._client.commission_rate()
            maker, taker = num(rate.makerCommissionRate), num(rate.takerCommissionRate)
            return (Decimal(maker) if maker else None, Decimal(taker) if taker else None)
        except (BingxError, ArithmeticError) as exc:
            self._log.warning(f"commissionRate unavailable ({type(exc).__name__}); using contract fees")
            return None, None


def _passes(c: Contract, filters: dict[str, Any] | None) -> bool:
    """Supported filters: ``quote_asset(s)`` (``currency``), ``base_asset(s)`` (``asset``), ``symbols``."""
    if not filters:
        return True
    for key, attr in (("quote_asset", "currency"), ("base_asset", "asset")):
        value = filters.get(key)
        if value is not None and getattr(c, attr) != value:
            return False
        values = filters.get(key + "s")
        if values is not None and getattr(c, attr) not in values:
            return False
    symbols = filters.get("symbols")
    return symbols is None or c.symbol in symbols
