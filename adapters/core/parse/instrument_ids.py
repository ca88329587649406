"""Venue symbol <-> ``InstrumentId`` for perpetuals (``<symbol>-PERP.<VENUE>``) and venue position ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from nautilus_trader.model.identifiers import InstrumentId, PositionId, Symbol, Venue

PERP_SUFFIX: Final = "-PERP"


def perp_symbol(symbol: str) -> str:
    return f"{symbol}{PERP_SUFFIX}"


class PerpInstrumentIds:
    """``symbol -> InstrumentId``, cached for the venue's default ``Venue`` (the hot path parses one per
    frame; building an ``InstrumentId`` costs more than a dict hit). Other venues are built each time."""

    def __init__(self, default_venue: Venue, name: Callable[[str], str] = perp_symbol) -> None:
        self._default_venue = default_venue
        self._name = name
        self._cache: dict[str, InstrumentId] = {}

    def get(self, symbol: str, venue: Venue) -> InstrumentId:
        if venue is not self._default_venue:
            return InstrumentId(Symbol(self._name(symbol)), venue)
        iid = self._cache.get(symbol)
        if iid is None:
            iid = InstrumentId(Symbol(self._name(symbol)), venue)
            self._cache[symbol] = iid
        return iid


def strip_perp_suffix(instrument_id: InstrumentId) -> str:
    """The venue symbol of ``<symbol>-PERP.<VENUE>`` (a symbol without the suffix is returned as is)."""
    value = instrument_id.symbol.value
    return value[: -len(PERP_SUFFIX)] if value.endswith(PERP_SUFFIX) else value


def make_position_id(instrument_id: InstrumentId, position_side: str | None) -> PositionId:
    """Venue position id ``<instrument_id>-<LONG|SHORT|BOTH>`` (one-way mode uses ``BOTH``)."""
    return PositionId(f"{instrument_id}-{position_side or 'BOTH'}")
