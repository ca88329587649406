"""The venue-neutral instrument-provider flow for perpetuals: load all / by ids, filters, cache by symbol.

A venue subclass fetches its instrument list and builds ``CryptoPerpetual`` values
(:meth:`PerpetualInstrumentProvider._load`), and says how an ``InstrumentId`` maps back to its venue symbol
(:meth:`PerpetualInstrumentProvider._venue_symbol`); everything around that (the three NautilusTrader load
entry points, the by-symbol cache, currency registration, the "not found" warning and the asset filters) is
the same for every venue and lives here.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import CryptoPerpetual


def passes_asset_filters(
    filters: dict[str, Any] | None, *, symbol: str, base_asset: str, quote_asset: str
) -> bool:
    """Supported filters: ``quote_asset``/``quote_assets``, ``base_asset``/``base_assets``, ``symbols``."""
    if not filters:
        return True
    for key, value in (("quote_asset", quote_asset), ("base_asset", base_asset)):
        wanted = filters.get(key)
        if wanted is not None and value != wanted:
            return False
        wanted_any: Container[str] | None = filters.get(key + "s")
        if wanted_any is not None and value not in wanted_any:
            return False
    symbols = filters.get("symbols")
    return symbols is None or symbol in symbols


class PerpetualInstrumentProvider(InstrumentProvider):
    """Loads a venue's perpetuals as ``CryptoPerpetual`` and caches them by venue symbol."""

    # Appended to the "not found" warning: why a requested symbol may be missing on this venue.
    MISSING_HINT: str = "unknown?"

    def __init__(self, config: InstrumentProviderConfig | None, venue: Venue) -> None:
        super().__init__(config=config)
        self._venue = venue
        self._by_symbol: dict[str, CryptoPerpetual] = {}

    # -- lookups ---------------------------------------------------------------------------------

    def find_by_symbol(self, symbol: str) -> CryptoPerpetual | None:
        """Instrument by venue symbol."""
        return self._by_symbol.get(symbol)

    @property
    def instruments_by_symbol(self) -> dict[str, CryptoPerpetual]:
        return self._by_symbol

    # -- loading ---------------------------------------------------------------------------------

    async def load_all_async(self, filters: dict[str, Any] | None = None) -> None:
        await self._load(None, filters)

    async def load_ids_async(
        self, instrument_ids: list[InstrumentId], filters: dict[str, Any] | None = None
    ) -> None:
        wanted = {self._venue_symbol(iid) for iid in instrument_ids if iid.venue == self._venue}
        await self._load(wanted, filters)

    async def load_async(self, instrument_id: InstrumentId, filters: dict[str, Any] | None = None) -> None:
        await self.load_ids_async([instrument_id], filters)

    def _venue_symbol(self, instrument_id: InstrumentId) -> str:
        raise NotImplementedError

    async def _load(self, wanted: set[str] | None, filters: dict[str, Any] | None) -> None:
        """Fetch, build and :meth:`_register` the instruments (``wanted``: venue symbols, None = all)."""
        raise NotImplementedError

    def _register(self, symbol: str, inst: CryptoPerpetual) -> None:
        self._by_symbol[symbol] = inst
        # add_currency is idempotent, so a settlement currency equal to the quote costs nothing.
        self.add_currency(inst.base_currency)
        self.add_currency(inst.quote_currency)
        self.add_currency(inst.settlement_currency)
        self.add(inst)

    def _warn_missing(self, wanted: set[str] | None) -> None:
        if wanted:
            missing = wanted - set(self._by_symbol)
            if missing:
                self._log.warning(f"Instruments not found ({self.MISSING_HINT}): {sorted(missing)}")
