"""What the execution hot path needs of an instrument, and the instruments loaded into the cache.

* :class:`InstrumentInfo`, :class:`InstrumentInfoCache` — a symbol's instrument id, precisions and
  quote currency, cached once the instrument is known (an uncached symbol is resolved again next
  time, with the fallback);
* :func:`load_instruments` — the provider's instruments and currencies into the cache on connect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from nautilus_trader.model.identifiers import AccountId, InstrumentId
from nautilus_trader.model.objects import Currency

from adapters.core.parse.precision import PrecisionResolver

I = TypeVar("I")  # noqa: E741 - a venue's InstrumentInfo


class InstrumentInfo(NamedTuple):
    """What the user-stream hot path needs of an instrument (both venues)."""

    instrument_id: InstrumentId
    price_precision: int
    size_precision: int
    quote_currency: Currency

    def report_head(
        self, account_id: AccountId, ts_init: int
    ) -> tuple[AccountId, InstrumentId, int, int, int]:
        """The leading arguments every venue's report parser takes after the venue's item."""
        return account_id, self.instrument_id, self.price_precision, self.size_precision, ts_init


def default_quote() -> Currency:
    """The quote currency assumed for a symbol whose instrument is not loaded (USDT-margined)."""
    from nautilus_trader.model.currencies import USDT

    return USDT


class InstrumentInfoCache(Generic[I]):
    """``symbol -> info`` for the hot path, built by ``make(instrument_id, price_precision,
    size_precision, quote_currency)``. Cached only when the instrument is known."""

    def __init__(
        self,
        precision: PrecisionResolver,
        find_by_symbol: Callable[[str], Any],
        make: Callable[[InstrumentId, int, int, Currency], I],
    ) -> None:
        self._precision = precision
        self._find = find_by_symbol
        self._make = make
        self.infos: dict[str, I] = {}

    def get(self, symbol: str) -> I:
        info = self.infos.get(symbol)
        if info is None:
            resolved = self._precision.resolve(symbol)
            instrument = self._find(symbol)
            quote = instrument.quote_currency if instrument is not None else default_quote()
            info = self._make(
                resolved.instrument_id, resolved.price_precision, resolved.size_precision, quote
            )
            if resolved.cached:
                self.infos[symbol] = info
        return info


async def load_instruments(provider: Any, cache: Any) -> None:
    """Load the provider and put its instruments (those the cache lacks) and currencies into the cache."""
    await provider.initialize()
    for instrument in provider.list_all():
        if cache.instrument(instrument.id) is None:
            cache.add_instrument(instrument)
    for currency in provider.currencies().values():
        cache.add_currency(currency)
