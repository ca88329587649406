"""Per-instrument conversion context for market data (venue-neutral; moved from the Binance adapter).

:class:`MarketContext` carries an instrument's id and precisions and bounded ``str -> Price/Quantity``
caches: book levels repeat the same few hundred price strings, so a hit is one dict lookup (~45 ns) and a
miss goes through the exact integer path of :mod:`adapters.core.parse.decimal_parse` (never float).

Mark and index prices (:meth:`MarketContext.rounded_price`) arrive with eight decimals and almost never
repeat, but their value *at the instrument's precision* does: the string is cut at the precision (the
head, a cache key) and the digits after it (the tail) only decide the direction of the half-even
rounding, which a string comparison tells exactly. A hit is a slice, a digit check and a dict lookup;
a miss or anything unusual takes the full exact parse, which also validates.
"""

from __future__ import annotations

from typing import Final, Protocol

from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from adapters.core.parse.decimal_parse import parse_price, parse_quantity, parse_rounded_price
from adapters.core.parse.wire_values import MAX_DECIMAL_TEXT

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

    __slots__ = (
        "_rounded_down",
        "_rounded_tie",
        "_rounded_up",
        "cache_size",
        "instrument_id",
        "price_precision",
        "prices",
        "size_precision",
        "sizes",
    )

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
        # Read by the hot loops of :mod:`adapters.core.market.market_parsing` directly (a hit without a
        # method call); only :meth:`price` / :meth:`size` write them.
        self.prices: dict[str, Price] = {}
        self.sizes: dict[str, Quantity] = {}
        # Head (the string cut at the price precision) -> the price rounded from it when the rest is
        # below half / above half / exactly half of the last digit (each a function of the head alone).
        self._rounded_down: dict[str, Price] = {}
        self._rounded_up: dict[str, Price] = {}
        self._rounded_tie: dict[str, Price] = {}

    @classmethod
    def from_instrument(
        cls, instrument: InstrumentLike, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> MarketContext:
        return cls(instrument.id, instrument.price_precision, instrument.size_precision, cache_size)

    def price(self, s: str) -> Price:
        """A positive price (fills, book levels, quotes, trades); WireValueError otherwise."""
        p = self.prices.get(s)
        if p is None:
            p = parse_price(s, self.price_precision, positive=True)
            if len(self.prices) >= self.cache_size:
                self.prices.clear()
            self.prices[s] = p
        return p

    def size(self, s: str) -> Quantity:
        q = self.sizes.get(s)
        if q is None:
            q = parse_quantity(s, self.size_precision)
            if len(self.sizes) >= self.cache_size:
                self.sizes.clear()
            self.sizes[s] = q
        return q

    def rounded_price(self, s: str) -> Price:
        """Price rounded half-even to the instrument precision (for mark/index prices, not book levels).

        Exact: the same result as :func:`adapters.core.parse.decimal_parse.parse_rounded_price`, which
        every miss and every unusual string goes through and which rejects what is not a positive
        decimal. A hit needs the head to have been parsed before, in the same one of three cases, and
        the tail to be plain ASCII digits: then the head's digits fix the value and the tail fixes the
        case: below half when its first digit is below 5, above half when it is above 5 or when a
        non-zero digit follows a 5, exactly half (the tie, which the head's last digit settles) for a 5
        followed by zeros only.
        """
        dot = s.find(".")
        cut = dot + 1 + self.price_precision
        if dot <= 0 or len(s) <= cut:
            # An integer, or no digit beyond the precision: nothing to round, the value is the string's
            # at the instrument's precision, as a book level's (the same rules and rejections).
            return self.price(s) if s else parse_rounded_price(s, self.price_precision)
        tail = s[cut:]
        if len(s) > MAX_DECIMAL_TEXT or not (tail.isdigit() and tail.isascii()):
            return parse_rounded_price(s, self.price_precision)  # rejects it, naming why
        first = tail[0]
        if first < "5":
            cache = self._rounded_down
        elif first > "5" or tail.rstrip("0") != "5":
            cache = self._rounded_up
        else:
            cache = self._rounded_tie  # exactly half: the head's last digit decides (half-even)
        head = s[:cut]
        p = cache.get(head)
        if p is None:
            p = parse_rounded_price(s, self.price_precision)
            if len(cache) >= self.cache_size:
                cache.clear()
            cache[head] = p
        return p
