"""Instrument-id and precision resolution for venue reports.

Reports built from REST snapshots or stream events need an ``InstrumentId`` and price/size
precisions.  A cached instrument supplies its own.  An uncached symbol must not stop venue state
from propagating, so it falls back to the id built by the caller's formatter (e.g. Binance USD-M
``BTCUSDT`` -> ``BTCUSDT-PERP.BINANCE``) and a conservative precision of 8; a warning is logged
once per symbol so a missing instrument is visible without flooding the log on every event.

Venue-agnostic: the lookup and the formatter are parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple, Protocol

from nautilus_trader.model.identifiers import InstrumentId

from adapters.core.base.dedup import FifoDedup
from adapters.core.parse.wire_values import check_identifier

_log = logging.getLogger("adapters.core.precision")

FALLBACK_PRECISION = 8
MAX_SYMBOL_LEN = 40


class InstrumentLike(Protocol):
    """The three attributes we need from a Nautilus ``Instrument``."""

    @property
    def id(self) -> InstrumentId: ...

    @property
    def price_precision(self) -> int: ...

    @property
    def size_precision(self) -> int: ...


class ResolvedPrecision(NamedTuple):
    instrument_id: InstrumentId
    price_precision: int
    size_precision: int
    cached: bool


InstrumentLookup = Callable[[str], InstrumentLike | None]
SymbolFormatter = Callable[[str], InstrumentId]


def resolve_precision(
    symbol: str,
    lookup: InstrumentLookup,
    formatter: SymbolFormatter,
    fallback_precision: int = FALLBACK_PRECISION,
) -> ResolvedPrecision:
    """Pure resolution: the cached instrument's values, else the formatted id with the fallback.
    A symbol no instrument id can be built from (NUL, whitespace, non-ASCII: NautilusTrader would
    abort) raises ``WireValueError``."""
    instrument = lookup(symbol)
    if instrument is not None:
        return ResolvedPrecision(instrument.id, instrument.price_precision, instrument.size_precision, True)
    check_identifier(symbol, "symbol", MAX_SYMBOL_LEN)
    return ResolvedPrecision(formatter(symbol), fallback_precision, fallback_precision, False)


class PrecisionResolver:
    """:func:`resolve_precision` plus a once-per-symbol warning for uncached symbols."""

    __slots__ = ("_fallback", "_formatter", "_log", "_lookup", "_warned")

    def __init__(
        self,
        lookup: InstrumentLookup,
        formatter: SymbolFormatter,
        *,
        fallback_precision: int = FALLBACK_PRECISION,
        logger: logging.Logger | None = None,
    ) -> None:
        self._lookup = lookup
        self._formatter = formatter
        self._fallback = fallback_precision
        self._log = logger or _log
        # Bounded: a stream of made-up symbols must not grow memory.
        self._warned: FifoDedup[str] = FifoDedup(1_000)

    def resolve(self, symbol: str) -> ResolvedPrecision:
        resolved = resolve_precision(symbol, self._lookup, self._formatter, self._fallback)
        if not resolved.cached and self._warned.add(symbol):
            self._log.warning(
                "Instrument for %s not cached; using %s with precision %d",
                symbol,
                resolved.instrument_id,
                self._fallback,
            )
        return resolved
