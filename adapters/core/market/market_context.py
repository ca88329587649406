"""Per-instrument conversion context for market data (venue-neutral; moved from the Binance adapter).

:class:`MarketContext` carries an instrument's id and precisions and bounded ``str -> Price/Quantity``
caches: book levels repeat the same few hundred price strings, so a hit is one dict lookup (~45 ns) and a
miss goes through the exact integer path of :mod:`adapters.core.parse.decimal_parse` (never float).
"""

from __future__ import annotations

from typing import Final, Protocol

from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from adapters.core.parse.decimal_parse import parse_price, parse_quantity, parse_rounded_price

DEFAULT_CACHE_SIZE: Final = 50_000


class InstrumentLike(Protocol):
    @property
    def id(self) -> InstrumentId: ...

    @property
    def price_precision(self) -> int: ...

    @property
    def size_precision(self) -> int: ...


class MarketContext:
    """Per-instrument conversion context: id, precisions and the bounded string -> value caches.

    The caches are plain dicts cleared when they reach ``cache_size`` (cheaper than LRU bookkeeping on every
    hit; a refill costs one exact parse per distinct string).
    """

    __slots__ = ("_prices", "_sizes", "cache_size", "instrument_id", "price_precision", "size_precision")

    def __init__(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.instrument_id = instrument_id
        self.price_precision = price_precision
        self.size_precision = size_precision
        self.cache_size = cache_size
        self._prices: dict[str, Price] = {}
        self._sizes: dict[str, Quantity] = {}

    @classmethod
    def from_instrument(
        cls, instrument: InstrumentLike, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> MarketContext:
        return cls(instrument.id, instrument.price_precision, instrument.size_precision, cache_size)

    def price(self, s: str) -> Price:
        """A positive price (fills, book levels, quotes, trades); WireValueError otherwise."""
        p = self._prices.get(s)
        if p is None:
            p = parse_price(s, self.price_precision, positive=True)
            if len(self._prices) >= self.cache_size:
                self._prices.clear()
            self._prices[s] = p
        return p

    def size(self, s: str) -> Quantity:
        q = self._sizes.get(s)
        if q is None:
            q = parse_quantity(s, self.size_precision)
            if len(self._sizes) >= self.cache_size:
                self._sizes.clear()
            self._sizes[s] = q
        return q

    def rounded_price(self, s: str) -> Price:
        """Price rounded half-even to the instrument precision (for mark/index prices, not book levels).
        Exact integer path (:func:`adapters.core.parse.decimal_parse.parse_rounded_price`), no Decimal."""
        return parse_rounded_price(s, self.price_precision)
